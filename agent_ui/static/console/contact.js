// The customer panel: profile, identities on every channel, tags, VIP, notes and
// previous conversations (each opens in the thread pane).
import { api } from "../api.js";
import { errorText, fieldText } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { shortDate } from "../format.js";
import { getLang, hasString, t } from "../i18n.js";
import { channelIcon, icon } from "../icons.js";
import { tierBadges } from "../crm/badges.js";
import { timelineList } from "../crm/profile.js";
import { outboundDialog } from "./outbound.js";

export class ContactPanel {
  /**
   * @param {HTMLElement} root
   * @param {{onOpen(conv), onHistory(convs)}} hooks
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.contact = null;
    this.conversations = [];
    this.currentId = null;
    this.seq = 0;
    this.renderEmpty();
  }

  renderEmpty() {
    this.contact = null;
    mount(this.root, h("p", { class: "muted pad" }, t("contact_none")));
  }

  async load(contactId, currentConversationId) {
    const seq = ++this.seq;
    this.currentId = currentConversationId;
    try {
      const [contact, conversations, timeline] = await Promise.all([
        api(`/contacts/${contactId}`),
        api(`/contacts/${contactId}/conversations`),
        api(`/contacts/${contactId}/timeline`, { query: { limit: 10 } }).catch(() => ({ items: [] })),
      ]);
      if (seq !== this.seq) return;
      this.contact = contact;
      this.timeline = timeline.items;
      this.conversations = conversations.items;
      this.hooks.onHistory?.(conversations.items);
      this.render();
    } catch (err) {
      if (seq !== this.seq) return;
      mount(this.root, h("p", { class: "error pad" }, errorText(err)));
    }
  }

  historyItem(conv) {
    // The console's own copy (kept live from events) wins over the one loaded with the
    // panel, so the panel never says "Open" while the header says "Offered".
    const live = this.hooks.conversation?.(conv.id);
    const status = live?.status || conv.status;
    const category = live ? live.category : conv.category;
    return h("li", { class: conv.id === this.currentId ? "current" : null, "data-conversation-id": conv.id },
      h("button", {
        type: "button", class: "history-item", "aria-current": conv.id === this.currentId ? "true" : null,
        on: { click: () => this.hooks.onOpen(conv) },
      },
      channelIcon(conv.channel), " ",
      h("span", {}, `#${conv.id}`), " ",
      h("span", { class: "muted" }, shortDate(conv.created_at)), " ",
      h("span", { class: ["status-chip", `status-${status}`] }, t(`status_${status}`)),
      category ? h("span", { class: "muted" }, ` · ${t(`cat_${category}`)}`) : null,
      conv.subject ? h("span", { class: "subject-line", dir: "auto" }, conv.subject) : null));
  }

  /** A conversation event changed `conv` (status, category): redraw its row only. */
  syncConversation(conv) {
    const known = this.conversations.find((x) => x.id === conv.id);
    if (!known) return;
    known.status = conv.status;
    known.category = conv.category ?? null;
    const row = this.root.querySelector(`.history li[data-conversation-id="${conv.id}"]`);
    if (row) row.replaceWith(this.historyItem(known));
  }

  async save(changes) {
    const c = this.contact;
    if (!c) return;
    try {
      this.contact = await api(`/contacts/${c.id}`, { method: "PATCH", body: changes });
      this.render();
    } catch (err) {
      // A refused field (a tag too long) says what is wrong with it, not "check the fields".
      this.render(err.fields?.length ? err.fields.map(fieldText).join(" ") : errorText(err));
    }
  }

  /** Custom fields marked "shown in the customer panel", and data channels stored
   *  (a web-chat visitor's pre-chat email) so the agent sees what the customer typed. */
  fieldsShown(c) {
    const all = this.hooks.fields?.() || [];
    const fields = all.filter((f) => f.show_in_panel && c.attributes[f.key] !== undefined);
    const defined = new Set(all.map((f) => f.key));
    const extra = Object.entries(c.attributes || {}).filter(([k, v]) => !defined.has(k) && typeof v === "string");
    if (!fields.length && !extra.length) return null;
    const show = (v) => (Array.isArray(v) ? v.join(", ") : typeof v === "boolean" ? t(v ? "yes" : "no") : String(v));
    return h("dl", { class: "panel-fields" },
      fields.flatMap((f) => [
        h("dt", {}, h("bdi", {}, getLang() === "ar" ? f.label_ar : f.label_en)),
        h("dd", {}, h("bdi", { dir: "auto" }, show(c.attributes[f.key])))]),
      extra.flatMap(([k, v]) => [h("dt", {}, h("bdi", {}, k)), h("dd", {}, h("bdi", { dir: "auto" }, v))]));
  }

  render(error = null) {
    const c = this.contact;
    if (!c) {
      this.renderEmpty();
      return;
    }
    const tagInput = h("input", {
      type: "text", id: "tag-input", dir: "auto", placeholder: t("tag_add"), "aria-label": t("tag_add"),
      on: {
        keydown: (e) => {
          if (e.key !== "Enter") return;
          e.preventDefault();
          const tag = e.target.value.trim();
          if (tag && !c.tags.includes(tag)) this.save({ tags: [...c.tags, tag] });
        },
      },
    });
    const notes = h("textarea", { id: "contact-notes", rows: 3, dir: "auto", "aria-label": t("contact_notes") });
    notes.value = c.notes || "";
    const others = this.conversations;
    mount(this.root,
      h("section", { class: "contact-card", "aria-labelledby": "contact-name" },
        h("div", { class: "contact-head" },
          h("h2", { id: "contact-name" }, h("bdi", {}, c.name || t("unknown_customer"))),
          tierBadges(c.tiers),
          h("button", {
            type: "button", id: "vip-toggle", class: ["toggle", "vip", c.vip && "on"], "aria-pressed": String(c.vip),
            on: { click: () => this.save({ vip: !c.vip }) },
          }, icon("star"), " ", t("vip"))),
        c.language ? h("p", { class: "muted" }, t("contact_language", { lang: c.language })) : null,
        h("p", {}, h("a", { href: `/contacts#contact=${c.id}`, id: "open-profile" }, t("crm_open_profile"))),
        this.fieldsShown(c),
        error ? h("p", { class: "error", role: "alert" }, error) : null,

        h("h3", {}, t("identities")),
        h("button", {
          type: "button", id: "outbound-start", class: "secondary small",
          on: { click: () => outboundDialog(c, { onStarted: (conv) => this.hooks.onOpen(conv) }) },
        }, t("ob_start")),
        h("ul", { class: "identities" },
          c.identities.map((i) => h("li", {},
            channelIcon(identityChannel(i.kind)), " ",
            h("span", { class: "muted" }, identityLabel(i.kind)), " ",
            h("span", { dir: "ltr", class: "address" }, i.address)))),

        h("h3", {}, t("tags")),
        h("ul", { class: "tags", "aria-label": t("tags") },
          c.tags.map((tag) => h("li", { class: "chip" },
            h("bdi", { title: tag }, tag),
            h("button", {
              type: "button", class: "chip-remove", "aria-label": t("tag_remove", { tag }),
              on: { click: () => this.save({ tags: c.tags.filter((x) => x !== tag) }) },
            }, "×")))),
        tagInput,

        h("h3", {}, h("label", { for: "contact-notes" }, t("contact_notes"))),
        notes,
        h("button", { type: "button", class: "secondary small", on: { click: () => this.save({ notes: notes.value }) } }, t("save")),

        h("h3", {}, t("tl_title")),
        timelineList(this.timeline || [], (id) => (id == null ? t("system") : this.hooks.users?.()?.get(id)?.name || `#${id}`), { id: "panel-timeline" }),
        h("h3", {}, t("previous_conversations")),
        others.length
          ? h("ul", { class: "history" }, others.map((conv) => this.historyItem(conv)))
          : h("p", { class: "muted" }, t("none")),
      ));
  }
}

function identityLabel(kind) {
  const key = `id_${kind}`;
  return hasString(key) ? t(key) : kind;
}

function identityChannel(kind) {
  return { phone: "sms", email: "email", telegram: "telegram", webchat: "webchat", loopback: "loopback" }[kind] || kind;
}
