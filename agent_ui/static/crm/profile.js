// A customer's full profile: who they are (editable: name, language, time zone, VIP,
// tags, notes, custom fields), how they reach us (identities), what the hub knows
// of their history (figures and tiers) and their conversations. Used by /contacts.
// Errors from the hub are shown next to the field they name, translated by code.
import { api } from "../api.js";
import { confirmDialog, errorText, modal, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { channelName, dateTime, number, shortDate } from "../format.js";
import { getLang, hasString, t } from "../i18n.js";
import { channelIcon } from "../icons.js";
import { tierBadges } from "./badges.js";
import { consentLine, consentSection } from "./consent.js";
import { outboundDialog } from "../console/outbound.js";
import {
  OPEN_STATUSES, escalatedMark, loadOptions, overdueMark, scoreText, severityBadge, statusChip, surveyKindLabel,
} from "../care/common.js";

const TIMEZONES = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

function label(field) {
  return getLang() === "ar" ? field.label_ar : field.label_en;
}

function identityLabel(kind) {
  return hasString(`id_${kind}`) ? t(`id_${kind}`) : kind;
}

/** A field error's text: the translated code when we have one, else the hub's words. */
export function fieldErrorText(f) {
  return f.code && hasString(`err_${f.code}`) ? t(`err_${f.code}`, { limit: f.limit ?? "" }) : f.message;
}

function fieldInput(field, value) {
  const name = `attr.${field.key}`;
  const common = { name, id: `f-${field.key}`, "aria-required": field.required ? "true" : null };
  if (field.type === "boolean") {
    const box = h("input", { type: "checkbox", ...common });
    box.checked = value === true;
    return box;
  }
  if (field.type === "choice") {
    const select = h("select", common,
      h("option", { value: "" }, "—"),
      field.options.map((o) => h("option", { value: o }, o)));
    select.value = value ?? "";
    return select;
  }
  if (field.type === "multi_choice") {
    const chosen = new Set(Array.isArray(value) ? value : []);
    return h("fieldset", { class: "multi", id: common.id, name },
      h("legend", { class: "visually-hidden" }, label(field)),
      field.options.map((o) => {
        const box = h("input", { type: "checkbox", value: o, "data-multi": field.key });
        box.checked = chosen.has(o);
        return h("label", { class: "inline" }, box, " ", h("bdi", {}, o));
      }));
  }
  const input = h("input", {
    ...common,
    type: { number: "number", date: "date" }[field.type] || "text",
    dir: field.type === "text" ? "auto" : null,
    step: field.type === "number" ? "any" : null,
  });
  input.value = value ?? "";
  return input;
}

function readField(form, field) {
  if (field.type === "multi_choice") {
    return [...form.querySelectorAll(`[data-multi="${CSS.escape(field.key)}"]`)].filter((b) => b.checked).map((b) => b.value);
  }
  const input = form.elements.namedItem(`attr.${field.key}`);
  if (!input) return undefined;
  if (field.type === "boolean") return input.checked;
  if (field.type === "number") return input.value === "" ? null : Number(input.value);
  return input.value === "" ? null : input.value;
}

/** A timeline (GET /contacts/{id}/timeline) as a list; `who(userId)` names people. */
export function timelineList(items, who, { id = "timeline" } = {}) {
  const text = (e) => {
    if (e.kind === "conversation") {
      const parts = [channelName(e.channel), t(`status_${e.status}`)];
      if (e.category) parts.push(t(`cat_${e.category}`));
      if (e.assignee_id) parts.push(who(e.assignee_id));
      return [h("a", { href: `/console#c=${e.conversation_id}` }, `#${e.conversation_id}`), " ", parts.join(" · ")];
    }
    if (e.kind === "satisfaction") return t("tl_satisfaction", { score: e.score, comment: e.comment || "" });
    if (e.kind === "note") return [t("tl_note", { who: who(e.author_id) }), " ", h("bdi", { dir: "auto" }, e.body)];
    if (e.kind === "updated") {
      const fields = Object.keys(e.changes || {}).map((k) => k.replace(/^attributes\./, "")).join(", ");
      return t(e.reason === "import" ? "tl_imported" : "tl_updated", { who: who(e.actor_id), fields });
    }
    if (e.kind === "merged") return t("tl_merged", { who: who(e.actor_id), id: e.source_id });
    if (e.kind === "consent_changed") return consentLine(e, who);
    if (e.kind === "created") return t("tl_created", { who: who(e.actor_id) });
    return t("tl_erased", { who: who(e.actor_id) });
  };
  if (!items.length) return h("p", { class: "muted" }, t("none"));
  return h("ol", { class: "timeline", id }, items.map((e) => h("li", { "data-kind": e.kind },
    h("time", { datetime: e.at, class: "muted" }, dateTime(e.at)), " ", text(e))));
}

export class ProfileView {
  /** @param {HTMLElement} root @param {{fields: Array, me: object, users: Map, onSaved?: Function}} opts */
  constructor(root, { fields, me, users = new Map(), orgs = [], onSaved = () => {} }) {
    this.root = root;
    this.orgs = orgs;
    this.fields = fields;
    this.me = me;
    this.users = users;
    this.onSaved = onSaved;
    this.contact = null;
    this.conversations = [];
    this.seq = 0;
  }

  async load(contactId) {
    const seq = ++this.seq;
    mount(this.root, h("p", { class: "muted pad" }, t("loading")));
    try {
      const [contact, convs, timeline, duplicates, complaints, surveys] = await Promise.all([
        api(`/contacts/${contactId}`),
        api(`/contacts/${contactId}/conversations`),
        api(`/contacts/${contactId}/timeline`, { query: { limit: 30 } }),
        api(`/contacts/${contactId}/duplicates`),
        api("/complaints", { query: { contact_id: contactId, limit: 50 } }).then((page) => page.items).catch(() => []),
        api("/surveys", { query: { contact_id: contactId, status: "answered", limit: 20 } }).catch(() => []),
        loadOptions(),
      ]);
      if (seq !== this.seq) return;
      this.complaints = complaints;
      this.surveys = surveys;
      this.contact = contact;
      this.conversations = convs.items;
      this.timelineItems = timeline.items;
      this.duplicates = duplicates;
      this.render();
    } catch (err) {
      if (seq !== this.seq) return;
      mount(this.root, h("p", { class: "error pad", role: "alert" }, errorText(err)));
    }
  }

  render() {
    const c = this.contact;
    const fig = c.figures;
    const form = this.form(c);
    mount(this.root,
      h("article", { class: "profile", "aria-labelledby": "profile-name" },
        h("header", { class: "profile-head" },
          h("h2", { id: "profile-name" }, h("bdi", {}, c.name || t("unknown_customer"))),
          tierBadges(c.tiers),
          h("button", {
            type: "button", id: "outbound-start", class: "secondary small",
            on: { click: () => outboundDialog(c, { onStarted: (conv) => { location.href = `/console#c=${conv.id}`; } }) },
          }, t("ob_start")),
          c.organization
            ? h("a", { href: `#org=${c.organization.id}`, class: "org-link", id: "profile-org" }, h("bdi", {}, c.organization.name))
            : null),
        fig ? this.figures(fig) : h("p", { class: "muted" }, t("crm_no_history")),
        this.identitiesSection(),
        consentSection(c.id),
        this.complaintsSection(),
        this.duplicatesSection(),
        form,
        this.timelineSection(),
        this.history(),
        this.privacySection()));
  }

  identitiesSection() {
    const c = this.contact;
    const box = h("p", { class: "error", role: "alert", hidden: true });
    const kind = h("select", { name: "kind", id: "id-kind", "aria-label": t("id_kind") },
      ["phone", "email", "telegram"].map((kd) => h("option", { value: kd }, identityLabel(kd))));
    const address = h("input", { name: "address", id: "id-address", dir: "ltr", maxlength: 320, "aria-label": t("id_address") });
    const add = h("form", {
      class: "identity-add", id: "identity-add", novalidate: true,
      on: {
        submit: async (e) => {
          e.preventDefault();
          clearErrors(add, box);
          try {
            await api(`/contacts/${c.id}/identities`, { method: "POST", body: { kind: kind.value, address: address.value.trim() } });
            await this.load(c.id);
          } catch (err) {
            showErrors(add, box, err);
          }
        },
      },
    }, kind, address, h("button", { type: "submit", class: "secondary small" }, t("id_add")), box);
    const act = (i, path, method, body) => async () => {
      try {
        await api(`/contacts/${c.id}/identities/${i.id}${path}`, { method, body });
        await this.load(c.id);
      } catch (err) {
        toast(errorText(err), { kind: "error" });
      }
    };
    return h("section", { "aria-labelledby": "identities-h" },
      h("h3", { id: "identities-h" }, t("identities")),
      c.identities.length
        ? h("ul", { class: "identities", id: "identities" }, c.identities.map((i) => h("li", { "data-identity": i.id },
          h("span", { class: "muted" }, identityLabel(i.kind)), " ",
          h("bdi", { dir: "ltr", class: "address" }, i.address), " ",
          h("span", { class: ["verified", i.verified_at && "yes"] }, t(i.verified_at ? "id_verified" : "id_unverified")), " ",
          i.verified_at ? null : h("button", { type: "button", class: "link small", on: { click: act(i, "/verify", "POST", { verified: true }) } }, t("id_verify")),
          h("button", { type: "button", class: "link small", "aria-label": t("id_remove", { address: i.address }), on: { click: act(i, "", "DELETE") } }, t("remove")))))
        : h("p", { class: "muted" }, t("none")),
      add);
  }

  /** The customer's complaints (open ones first) and their latest survey answers. */
  complaintsSection() {
    const all = this.complaints || [];
    const surveys = this.surveys || [];
    if (!all.length && !surveys.length) return null;
    const sorted = [...all].sort((a, b) => Number(OPEN_STATUSES.has(b.status)) - Number(OPEN_STATUSES.has(a.status)) || b.id - a.id);
    return h("section", { class: "profile-care", "aria-labelledby": "profile-complaints-h" },
      h("h3", { id: "profile-complaints-h" }, t("cmp_complaints")),
      sorted.length
        ? h("ul", { class: "history", id: "profile-complaints" }, sorted.map((c) => h("li", { "data-complaint-id": c.id, class: "history-item" },
          h("a", { href: `/complaints#complaint=${c.id}` }, h("bdi", { dir: "ltr" }, c.reference)), " ",
          statusChip(c.status), " ", severityBadge(c.severity), " ", escalatedMark(c), overdueMark(c),
          h("span", { class: "muted small" }, ` ${shortDate(c.created_at)}`))))
        : h("p", { class: "muted" }, t("none")),
      surveys.length
        ? [h("h3", { id: "profile-surveys-h" }, t("sv_answers")),
          h("ul", { class: "history", id: "profile-surveys" }, surveys.map((sv) => h("li", { "data-survey-id": sv.id, class: "history-item" },
            h("strong", {}, scoreText(sv.kind, sv.score)), " ", h("span", { class: "muted" }, surveyKindLabel(sv.kind)),
            sv.low_score ? h("span", { class: "care-mark low-score" }, ` ${t("sv_low")}`) : null,
            sv.conversation_id ? [" ", h("a", { href: `/console#c=${sv.conversation_id}` }, `#${sv.conversation_id}`)] : null,
            h("span", { class: "muted small" }, ` ${sv.answered_at ? shortDate(sv.answered_at) : ""}`),
            sv.comment ? h("bdi", { dir: "auto", class: "survey-comment" }, ` — ${sv.comment}`) : null)))]
        : null);
  }

  who(userId) {
    if (userId === null || userId === undefined) return t("system");
    return this.users.get(userId)?.name || `#${userId}`;
  }

  timelineSection() {
    return h("section", { "aria-labelledby": "timeline-h" },
      h("h3", { id: "timeline-h" }, t("tl_title")),
      timelineList(this.timelineItems || [], (id) => this.who(id)));
  }

  duplicatesSection() {
    const dups = this.duplicates || [];
    if (!dups.length) return null;
    const canMerge = ["supervisor", "admin"].includes(this.me?.role);
    return h("section", { class: "duplicates", "aria-labelledby": "dups-h" },
      h("h3", { id: "dups-h" }, t("dup_title")),
      h("ul", { id: "duplicates" }, dups.map((d) => h("li", { "data-duplicate": d.contact.id },
        h("a", { href: `#contact=${d.contact.id}` }, h("bdi", {}, d.contact.name || t("unknown_customer"))), " ",
        h("span", { class: "muted" }, d.reasons.map((r) => t(`dup_${r}`)).join(", ")), " ",
        canMerge ? h("button", { type: "button", class: "secondary small", on: { click: () => this.merge(d.contact) } }, t("dup_merge")) : null))));
  }

  async merge(source) {
    const c = this.contact;
    let preview;
    try {
      preview = await api(`/contacts/${c.id}/merge-preview`, { query: { source_id: source.id } });
    } catch (err) {
      toast(errorText(err), { kind: "error" });
      return;
    }
    const clashes = Object.entries(preview.attribute_clashes);
    const body = h("div", { class: "merge-preview" },
      h("p", {}, t("dup_merge_intro", { source: source.name || `#${source.id}`, target: c.name || `#${c.id}` })),
      h("ul", {},
        h("li", {}, t("dup_moves_identities", { list: preview.identities.map((i) => i.address).join(", ") || "—" })),
        h("li", {}, t("dup_moves_conversations", { n: preview.conversations })),
        h("li", {}, t("dup_tags", { list: preview.tags.join(", ") || "—" })),
        clashes.length ? h("li", {}, t("dup_clashes", { list: clashes.map(([k]) => k).join(", ") })) : null),
      preview.blocking_conversations.length
        ? h("p", { class: "error", role: "alert" }, t("err_thread_open")) : null);
    const ok = await modal({
      title: t("dup_merge"), body, id: "merge-dialog", danger: true, submitLabel: t("dup_merge"),
      onSubmit: async () => {
        await api(`/contacts/${c.id}/merge`, { method: "POST", body: { source_id: source.id } });
      },
    });
    if (ok) {
      toast(t("dup_merged"));
      await this.load(c.id);
      this.onSaved(this.contact);
    }
  }

  privacySection() {
    if (this.me?.role !== "admin") return null;
    const c = this.contact;
    return h("section", { class: "privacy", "aria-labelledby": "privacy-h" },
      h("h3", { id: "privacy-h" }, t("priv_title")),
      h("p", { class: "muted" }, t("priv_intro")),
      h("a", { class: "button-link", id: "privacy-export", href: `/api/v1/contacts/${c.id}/export`, download: `contact-${c.id}.json` }, t("priv_export")), " ",
      h("button", {
        type: "button", class: "danger", id: "privacy-erase",
        on: {
          click: async () => {
            if (!(await confirmDialog(t("priv_erase_title"), t("priv_erase_text", { name: c.name || `#${c.id}` }), { submitLabel: t("priv_erase"), danger: true }))) return;
            try {
              await api(`/contacts/${c.id}/erase`, { method: "POST" });
              toast(t("priv_erased"));
              await this.load(c.id);
              this.onSaved(this.contact);
            } catch (err) {
              toast(errorText(err), { kind: "error" });
            }
          },
        },
      }, t("priv_erase")));
  }

  figures(fig) {
    const avg = fig.csat_average === null ? "—" : `${number(fig.csat_average)} / 5 (${number(fig.csat_count)})`;
    const row = (key, value) => [h("dt", {}, t(key)), h("dd", {}, value)];
    return h("section", { class: "figures", "aria-labelledby": "figures-h" },
      h("h3", { id: "figures-h" }, t("crm_figures")),
      h("dl", { class: "figure-grid" },
        row("crm_conv_30", number(fig.conversations_30d)),
        row("crm_conv_90", number(fig.conversations_90d)),
        row("crm_conv_365", number(fig.conversations_365d)),
        row("crm_conv_total", number(fig.conversations_total)),
        row("crm_first_contact", fig.first_contact_at ? shortDate(fig.first_contact_at) : "—"),
        row("crm_last_contact", fig.last_contact_at ? dateTime(fig.last_contact_at) : "—"),
        row("crm_preferred", fig.preferred_channel ? channelName(fig.preferred_channel) : "—"),
        row("crm_channels", fig.channels.map(channelName).join(", ") || "—"),
        row("crm_csat", avg),
        row("crm_open_complaints", number(fig.open_complaints))));
  }

  form(c) {
    const box = h("p", { class: "error", role: "alert", hidden: true });
    const name = h("input", { name: "name", id: "p-name", dir: "auto", maxlength: 200 });
    name.value = c.name || "";
    const language = h("select", { name: "language", id: "p-language" },
      h("option", { value: "" }, "—"), h("option", { value: "en" }, "English"), h("option", { value: "ar" }, "العربية"));
    language.value = c.language || "";
    const tz = h("input", { name: "timezone", id: "p-timezone", list: "tz-list", dir: "ltr", maxlength: 64, placeholder: "Asia/Riyadh" });
    tz.value = c.timezone || "";
    const vip = h("input", { type: "checkbox", name: "vip", id: "p-vip" });
    vip.checked = c.vip;
    const tags = h("input", { name: "tags", id: "p-tags", dir: "auto", placeholder: t("crm_tags_hint") });
    tags.value = c.tags.join(", ");
    const notes = h("textarea", { name: "notes", id: "p-notes", rows: 3, dir: "auto" });
    notes.value = c.notes || "";
    const owner = h("select", { name: "owner_id", id: "p-owner" },
      h("option", { value: "" }, "—"),
      [...this.users.values()].filter((u) => u.active !== false).map((u) => h("option", { value: u.id }, u.name)));
    owner.value = c.owner_id ? String(c.owner_id) : "";
    const orgs = [...this.orgs];
    if (c.organization && !orgs.some((o) => o.id === c.organization.id)) orgs.push(c.organization);
    const org = h("select", { name: "organization_id", id: "p-org" },
      h("option", { value: "" }, "—"), orgs.map((o) => h("option", { value: o.id }, o.name)));
    org.value = c.organization_id ? String(c.organization_id) : "";
    const row = (id, key, control, required = false) => h("div", { class: "field" },
      h("label", { for: id }, t(key) + (required ? " *" : "")), control);
    const form = h("form", {
      class: "profile-form", id: "profile-form", novalidate: true,
      on: { submit: (e) => { e.preventDefault(); this.save(form, box); } },
    },
    h("h3", {}, t("crm_details")),
    row("p-name", "crm_name", name),
    row("p-language", "crm_language", language),
    row("p-timezone", "crm_timezone", tz),
    h("datalist", { id: "tz-list" }, TIMEZONES.map((z) => h("option", { value: z }))),
    h("div", { class: "field inline" }, vip, h("label", { for: "p-vip" }, t("vip"))),
    row("p-tags", "tags", tags),
    row("p-notes", "contact_notes", notes),
    row("p-owner", "crm_owner", owner),
    row("p-org", "crm_organization", org),
    this.fields.length ? h("h3", {}, t("crm_fields")) : null,
    this.fields.map((f) => h("div", { class: "field" },
      f.type === "multi_choice"
        ? h("span", { class: "label" }, h("bdi", {}, label(f)), f.required ? " *" : "")
        : h("label", { for: `f-${f.key}` }, h("bdi", {}, label(f)), f.required ? " *" : ""),
      fieldInput(f, c.attributes[f.key]))),
    this.otherAttributes(c),
    box,
    h("button", { type: "submit", id: "profile-save" }, t("save")));
    return form;
  }

  /** Data channels stored (pre-chat email, opt-outs) that no custom field describes. */
  otherAttributes(c) {
    const defined = new Set(this.fields.map((f) => f.key));
    const rest = Object.entries(c.attributes || {}).filter(([k]) => !defined.has(k));
    if (!rest.length) return null;
    return h("section", { class: "other-attributes" },
      h("h3", {}, t("crm_channel_data")),
      h("dl", { class: "figure-grid" }, rest.flatMap(([k, v]) => [
        h("dt", {}, h("bdi", {}, k)),
        h("dd", {}, h("bdi", { dir: "auto" }, typeof v === "string" ? v : JSON.stringify(v))),
      ])));
  }

  history() {
    return h("section", { "aria-labelledby": "history-h" },
      h("h3", { id: "history-h" }, t("previous_conversations")),
      this.conversations.length
        ? h("ul", { class: "history" }, this.conversations.map((conv) => h("li", {},
          h("a", { href: `/console#c=${conv.id}`, class: "history-item" },
            channelIcon(conv.channel), " ", `#${conv.id}`, " ",
            h("span", { class: "muted" }, shortDate(conv.created_at)), " ",
            h("span", { class: ["status-chip", `status-${conv.status}`] }, t(`status_${conv.status}`)),
            conv.category ? h("span", { class: "muted" }, ` · ${t(`cat_${conv.category}`)}`) : null,
            conv.subject ? h("span", { class: "subject-line", dir: "auto" }, ` ${conv.subject}`) : null))))
        : h("p", { class: "muted" }, t("none")));
  }

  async save(form, box) {
    const c = this.contact;
    clearErrors(form, box);
    const tags = form.elements.tags.value.split(/[,،]/).map((s) => s.trim()).filter(Boolean);
    const attributes = {};
    for (const f of this.fields) {
      const value = readField(form, f);
      const before = c.attributes[f.key] ?? null;
      if (JSON.stringify(value ?? null) !== JSON.stringify(before)) attributes[f.key] = value;
    }
    const body = {
      name: form.elements.name.value.trim(),
      language: form.elements.language.value || null,
      timezone: form.elements.timezone.value.trim() || null,
      vip: form.elements.vip.checked,
      tags,
      notes: form.elements.notes.value,
      owner_id: form.elements.owner_id.value ? Number(form.elements.owner_id.value) : null,
      organization_id: form.elements.organization_id.value ? Number(form.elements.organization_id.value) : null,
    };
    if (Object.keys(attributes).length) body.attributes = attributes;
    try {
      this.contact = await api(`/contacts/${c.id}`, { method: "PATCH", body });
      this.timelineItems = (await api(`/contacts/${c.id}/timeline`, { query: { limit: 30 } }).catch(() => ({ items: this.timelineItems }))).items;
      this.render();
      this.root.querySelector("#profile-save")?.after(h("span", { class: "saved muted", role: "status" }, t("crm_saved")));
      this.onSaved(this.contact);
    } catch (err) {
      showErrors(form, box, err);
    }
  }
}

function clearErrors(form, box) {
  box.hidden = true;
  box.replaceChildren();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.remove();
}

/** Each refused field's translated message under its input; the rest in the box. */
export function showErrors(form, box, err) {
  const loose = [];
  for (const f of err.fields || []) {
    const path = String(f.field || "").replace(/^body\./, "");
    const name = path.startsWith("attributes.") ? `attr.${path.slice(11)}` : path;
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) {
      loose.push(fieldErrorText(f));
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    const note = h("span", { class: "field-error", role: "alert" }, fieldErrorText(f));
    input.after(note);
  }
  if (loose.length || !(err.fields || []).length) {
    mount(box, loose.length ? loose.join(" ") : errorText(err));
    box.hidden = false;
  }
}
