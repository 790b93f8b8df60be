// One complaint: what it is about and whose it is, its due dates, the form to change
// it (status with only the changes the hub allows, category and sub-category,
// severity, root cause, product reference, description, resolution, remedy, owner
// team and agent, telling the customer), internal notes, the conversations about it
// and the full history of who changed what. Used by /complaints and beside the
// console's thread. The hub's refusals show next to the field they name, in the
// page's language. Everything a customer wrote stays text (dom.js).
import { api, upload } from "../api.js";
import { clearFormError, errorText, showFormError, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { channelName, dateTime, shortDate } from "../format.js";
import { getLang, hasString, t } from "../i18n.js";
import { channelIcon, icon } from "../icons.js";
import {
  allowedStatuses, dueText, escalatedMark, optionLabel, optionText, optionsOf, overdueMark, severityBadge,
  statusChip, statusLabel,
} from "./common.js";

const TEXT_FIELDS = ["product_ref", "description", "resolution", "remedy"];
const CHOICES = ["category", "subcategory", "severity", "root_cause"];

function isSupervisor(me) {
  return me?.role === "supervisor" || me?.role === "admin";
}

function fieldLabel(field) {
  return hasString(`cmp_f_${field}`) ? t(`cmp_f_${field}`) : field;
}

function fileSize(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function cut(text, n = 80) {
  const s = String(text ?? "");
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

export class ComplaintPanel {
  /**
   * @param {HTMLElement} root
   * @param {{dir: {me, users: Map, teams: Map}, onChanged?: Function, onOpenConversation?: Function}} opts
   *   `dir` is read on every render (the console replaces its maps when people change).
   */
  constructor(root, { dir, onChanged = () => {}, onOpenConversation = null }) {
    this.root = root;
    this.dir = dir;
    this.onChanged = onChanged;
    this.onOpenConversation = onOpenConversation;
    this.c = null;
    this.seq = 0;
    this.dirty = false;
    this.savedText = null; // "Saved." stays through live re-renders until the next edit
    this.contactConversations = [];
  }

  get me() {
    return this.dir.me;
  }

  who(userId) {
    if (userId === null || userId === undefined) return t("system");
    return this.dir.users.get(userId)?.name || `#${userId}`;
  }

  teamName(teamId) {
    if (teamId === null || teamId === undefined) return "—";
    return this.dir.teams.get(teamId)?.name || `#${teamId}`;
  }

  canEdit() {
    const c = this.c;
    return Boolean(c) && (isSupervisor(this.me) || c.assignee_id === null || c.assignee_id === this.me.id);
  }

  async load(id, { focus = false } = {}) {
    const seq = ++this.seq;
    if (this.c?.id !== id) mount(this.root, h("p", { class: "muted pad" }, t("loading")));
    try {
      const c = await api(`/complaints/${id}`);
      if (seq !== this.seq) return null;
      if (this.c?.id !== c.id) this.savedText = null;
      this.c = c;
      this.dirty = false;
      this.render();
      if (focus) this.root.querySelector("#complaint-ref")?.focus();
      this.loadContactConversations(c);
      return c;
    } catch (err) {
      if (seq !== this.seq) return null;
      this.c = null;
      mount(this.root, h("p", { class: "error pad", role: "alert" }, errorText(err)));
      return null;
    }
  }

  /**
   * A live change: reload, unless the form holds unsaved edits. Then a note or a link
   * of one's own only refreshes the lists below the form; someone else's change is
   * announced, and reloading is the user's choice.
   */
  refresh({ byMe = false } = {}) {
    if (!this.c) return;
    if (!this.dirty) {
      this.load(this.c.id);
    } else if (byMe) {
      this.reloadLists();
    } else {
      const notice = this.root.querySelector("#complaint-stale");
      if (notice) notice.hidden = false;
    }
  }

  /** Notes, linked conversations and history again, keeping the form as it is. */
  async reloadLists() {
    const id = this.c.id;
    const fresh = await api(`/complaints/${id}`).catch(() => null);
    if (!fresh || this.c?.id !== id) return;
    if (!this.dirty) {
      this.c = fresh;
      this.render();
      return;
    }
    this.c = { ...this.c, history: fresh.history, conversations: fresh.conversations, attachments: fresh.attachments };
    this.root.querySelector("#complaint-notes-section")?.replaceWith(this.notesSection());
    this.root.querySelector("#complaint-files-section")?.replaceWith(this.filesSection());
    this.root.querySelector("#complaint-convs-section")?.replaceWith(this.conversationsSection());
    this.root.querySelector("#complaint-history-section")?.replaceWith(this.historySection());
  }

  async loadContactConversations(c) {
    try {
      const page = await api(`/contacts/${c.contact_id}/conversations`);
      if (this.c?.id !== c.id) return;
      this.contactConversations = page.items;
      const slot = this.root.querySelector("#complaint-link-slot");
      if (slot) mount(slot, this.linkForm());
    } catch {
      this.contactConversations = [];
    }
  }

  render() {
    const c = this.c;
    if (!c) return;
    mount(this.root,
      h("article", { class: "complaint", id: "complaint-panel", "data-complaint-id": c.id, "aria-labelledby": "complaint-ref" },
        this.head(),
        this.dates(),
        h("p", { class: "banner stale", id: "complaint-stale", role: "status", hidden: true },
          t("cmp_stale"), " ",
          h("button", { type: "button", class: "secondary small", on: { click: () => this.load(c.id) } }, t("cmp_show_changes"))),
        this.form(),
        this.notesSection(),
        this.filesSection(),
        this.conversationsSection(),
        this.historySection()));
  }

  head() {
    const c = this.c;
    return [
      h("header", { class: "complaint-head" },
        h("h2", { id: "complaint-ref", tabindex: -1 }, h("bdi", { dir: "ltr" }, c.reference)),
        statusChip(c.status, { id: "complaint-status" }),
        severityBadge(c.severity),
        escalatedMark(c),
        overdueMark(c)),
      h("p", { class: "complaint-who" },
        h("a", { href: `/contacts#contact=${c.contact_id}`, id: "complaint-customer" }, h("bdi", { dir: "auto" }, c.contact_name || t("unknown_customer"))),
        " · ", channelIcon(c.channel), " ", channelName(c.channel),
        " · ", t("cmp_opened_on", { time: dateTime(c.created_at) }),
        " · ", hasString(`cmp_src_${c.source}`) ? t(`cmp_src_${c.source}`) : c.source),
    ];
  }

  dates() {
    const c = this.c;
    const row = (key, value, attrs = {}) => [h("dt", {}, t(key)), h("dd", attrs, value)];
    return h("dl", { class: "figure-grid complaint-dates", id: "complaint-dates" },
      row("cmp_response_due", [dueText(c, c.response_due_at, { done: c.responded_at }),
        c.responded_at ? h("span", { class: "muted small" }, " ", t("cmp_answered_on", { time: dateTime(c.responded_at) })) : null],
      { "data-due": "response" }),
      row("cmp_resolution_due", dueText(c, c.resolution_due_at, { done: c.resolved_at }), { "data-due": "resolution" }),
      row("cmp_acknowledged", c.acknowledged_at ? dateTime(c.acknowledged_at) : "—"),
      c.resolved_at ? row("cmp_resolved_on", dateTime(c.resolved_at)) : null,
      c.closed_at ? row("cmp_closed_on", dateTime(c.closed_at)) : null,
      c.reopen_until ? row("cmp_reopen_until", shortDate(c.reopen_until)) : null,
      c.satisfaction !== null && c.satisfaction !== undefined ? row("cmp_satisfaction", t("sv_score", { score: c.satisfaction, max: 5 })) : null);
  }

  choice(kind, name, id, value, { parent } = {}) {
    return h("select", { name, id },
      h("option", { value: "" }, "—"),
      optionsOf(kind, { parent, keep: value }).map((o) => h("option", { value: o.key, selected: o.key === value }, optionText(o))));
  }

  form() {
    const c = this.c;
    const me = this.me;
    const editable = this.canEdit();
    const sup = isSupervisor(me);
    const box = h("p", { class: "error", role: "alert", hidden: true });
    const status = h("select", { name: "status", id: "c-status" },
      allowedStatuses(c).map((s) => h("option", { value: s, selected: s === c.status }, statusLabel(s))));
    const category = this.choice("category", "category", "c-category", c.category, { parent: null });
    const subcategory = h("select", { name: "subcategory", id: "c-subcategory" });
    const fillSubs = (keep) => {
      const subs = category.value ? optionsOf("category", { parent: category.value, keep }) : [];
      mount(subcategory, h("option", { value: "" }, "—"),
        subs.map((o) => h("option", { value: o.key, selected: o.key === keep }, optionText(o))));
      subcategory.value = subs.some((o) => o.key === keep) ? keep : "";
      subcategory.disabled = !editable || !subs.length;
    };
    category.addEventListener("change", () => fillSubs(null));
    const severity = this.choice("severity", "severity", "c-severity", c.severity);
    const rootCause = this.choice("root_cause", "root_cause", "c-root-cause", c.root_cause);
    const text = (name, id, value, attrs) => {
      const el = attrs.rows
        ? h("textarea", { name, id, dir: "auto", ...attrs })
        : h("input", { name, id, dir: "auto", ...attrs });
      el.value = value || "";
      return el;
    };
    const users = [...this.dir.users.values()].filter((u) => u.active !== false);
    const members = users.filter((u) => c.team_id === null || (u.team_ids || []).includes(c.team_id) || u.id === c.assignee_id);
    const assigneeChoices = sup ? members : users.filter((u) => u.id === me.id || u.id === c.assignee_id);
    const assignee = h("select", { name: "assignee_id", id: "c-assignee" },
      h("option", { value: "" }, t("cmp_nobody")),
      assigneeChoices.map((u) => h("option", { value: u.id, selected: u.id === c.assignee_id }, u.id === me.id ? t("cmp_me", { name: u.name }) : u.name)));
    if (c.assignee_id !== null && !assigneeChoices.some((u) => u.id === c.assignee_id)) {
      assignee.append(h("option", { value: c.assignee_id, selected: true }, this.who(c.assignee_id)));
    }
    const team = h("select", { name: "team_id", id: "c-team", disabled: !sup },
      h("option", { value: "" }, "—"),
      [...this.dir.teams.values()].map((tm) => h("option", { value: tm.id, selected: tm.id === c.team_id }, tm.name)));
    if (c.team_id !== null && !this.dir.teams.has(c.team_id)) team.append(h("option", { value: c.team_id, selected: true }, `#${c.team_id}`));
    const notify = h("input", { type: "checkbox", name: "notify_customer", id: "c-notify", checked: c.notify_customer });
    const row = (id, key, control, hint = null) => h("div", { class: "field" },
      h("label", { for: id }, fieldLabel(key)), control, hint ? h("small", { class: "hint" }, hint) : null);
    const form = h("form", {
      class: "complaint-form", id: "complaint-form", novalidate: true,
      on: {
        submit: (e) => { e.preventDefault(); this.save(form, box); },
        input: () => this.edited(),
        change: () => this.edited(),
      },
    },
    editable ? null : h("p", { class: "banner", id: "complaint-readonly" }, t("cmp_read_only", { name: this.who(c.assignee_id) })),
    h("div", { class: "complaint-grid" },
      row("c-status", "status", status),
      row("c-severity", "severity", severity),
      row("c-category", "category", category),
      row("c-subcategory", "subcategory", subcategory),
      row("c-root-cause", "root_cause", rootCause),
      row("c-product-ref", "product_ref", text("product_ref", "c-product-ref", c.product_ref, { maxlength: 200 })),
      row("c-team", "team_id", team),
      row("c-assignee", "assignee_id", assignee)),
    row("c-description", "description", text("description", "c-description", c.description, { rows: 3, maxlength: 8000 })),
    row("c-resolution", "resolution", text("resolution", "c-resolution", c.resolution, { rows: 3, maxlength: 8000 }), t("cmp_resolution_hint")),
    row("c-remedy", "remedy", text("remedy", "c-remedy", c.remedy, { rows: 2, maxlength: 2000 })),
    h("div", { class: "field inline" }, notify, h("label", { for: "c-notify" }, t("cmp_f_notify_customer"))),
    box,
    h("div", { class: "form-actions" },
      h("button", { type: "submit", class: "primary", id: "complaint-save", disabled: !editable }, t("save")),
      this.savedText ? h("span", { class: "saved muted", role: "status", id: "complaint-saved" }, this.savedText) : null));
    fillSubs(c.subcategory);
    if (!editable) {
      for (const el of form.querySelectorAll("input, select, textarea")) el.disabled = true;
    }
    return form;
  }

  changes(form) {
    const c = this.c;
    const body = {};
    const value = (name) => form.elements.namedItem(name).value;
    if (value("status") !== c.status) body.status = value("status");
    for (const name of CHOICES) {
      const v = value(name) || null;
      if (v !== (c[name] ?? null)) body[name] = v;
    }
    for (const name of TEXT_FIELDS) {
      const v = value(name);
      if (v.trim() !== (c[name] || "")) body[name] = v;
    }
    for (const name of ["team_id", "assignee_id"]) {
      const el = form.elements.namedItem(name);
      if (el.disabled) continue;
      const v = el.value ? Number(el.value) : null;
      if (v !== (c[name] ?? null)) body[name] = v;
    }
    const notify = form.elements.namedItem("notify_customer").checked;
    if (notify !== c.notify_customer) body.notify_customer = notify;
    return body;
  }

  async save(form, box) {
    clearFormError(form, box);
    const body = this.changes(form);
    if (!Object.keys(body).length) {
      this.saved(t("cmp_no_changes"));
      return;
    }
    const button = form.querySelector("#complaint-save");
    button.disabled = true;
    try {
      const c = await api(`/complaints/${this.c.id}`, { method: "PATCH", body });
      this.dirty = false;
      await this.load(c.id);
      this.saved(t("crm_saved"));
      this.onChanged(this.c || c);
    } catch (err) {
      button.disabled = false;
      showFormError(form, box, err);
    }
  }

  edited() {
    this.dirty = true;
    this.savedText = null;
    this.root.querySelector("#complaint-saved")?.remove();
  }

  saved(text) {
    this.savedText = text;
    this.root.querySelector("#complaint-saved")?.remove();
    this.root.querySelector("#complaint-save")?.after(h("span", { class: "saved muted", role: "status", id: "complaint-saved" }, text));
  }

  notesSection() {
    const c = this.c;
    const notes = c.history.filter((e) => e.kind === "note").reverse();
    const box = h("p", { class: "error", role: "alert", hidden: true });
    const input = h("textarea", { name: "body", id: "c-note", rows: 2, dir: "auto", maxlength: 8000, "aria-label": t("cmp_note_add") });
    const form = h("form", {
      class: "complaint-note-form", id: "complaint-note-form", novalidate: true,
      on: {
        submit: async (e) => {
          e.preventDefault();
          clearFormError(form, box);
          try {
            await api(`/complaints/${c.id}/notes`, { method: "POST", body: { body: input.value } });
            await this.reloadLists();
            this.root.querySelector("#c-note")?.focus();
          } catch (err) {
            showFormError(form, box, err);
          }
        },
      },
    }, input, box, h("button", { type: "submit", class: "secondary small", id: "complaint-note-add" }, t("cmp_note_add")));
    return h("section", { class: "complaint-notes", id: "complaint-notes-section", "aria-labelledby": "complaint-notes-h" },
      h("h3", { id: "complaint-notes-h" }, t("cmp_notes")),
      notes.length
        ? h("ul", { class: "care-notes", id: "complaint-notes" }, notes.map((e) => h("li", { "data-entry-id": e.id },
          h("div", { class: "muted small" }, h("bdi", {}, this.who(e.actor_id)), " · ", h("time", { datetime: e.created_at }, dateTime(e.created_at))),
          h("p", { class: "note-body", dir: "auto" }, e.body))))
        : h("p", { class: "muted" }, t("cmp_no_notes")),
      form);
  }

  /** Files about the complaint: downloads from the hub only (never shown inline). */
  filesSection() {
    const c = this.c;
    const files = (c.attachments || []).filter((a) => /^\/api\/v1\/complaints\/\d+\/attachments\/\d+$/.test(String(a.url || "")));
    const box = h("p", { class: "error", role: "alert", hidden: true });
    // The same input across re-renders (a live update, a note added): a file the user
    // has picked and not yet sent stays picked.
    if (this.fileInputFor !== c.id) {
      this.fileInput = h("input", { type: "file", name: "file", id: "c-file", "aria-label": t("cmp_file_pick") });
      this.fileInputFor = c.id;
    }
    const input = this.fileInput;
    const form = h("form", {
      class: "inline-form", id: "complaint-file-form", novalidate: true,
      on: {
        submit: async (e) => {
          e.preventDefault();
          clearFormError(form, box);
          const file = input.files?.[0];
          if (!file) {
            showFormError(form, box, { code: "validation_error", fields: [{ field: "file", code: "required" }] });
            return;
          }
          try {
            await upload(`/complaints/${c.id}/attachments`, file, { query: { filename: file.name.slice(0, 255) } });
            input.value = "";
            await this.reloadLists();
          } catch (err) {
            showFormError(form, box, err);
          }
        },
      },
    }, input, h("button", { type: "submit", class: "secondary small", id: "complaint-file-add" }, t("cmp_file_add")), box);
    return h("section", { class: "complaint-files", id: "complaint-files-section", "aria-labelledby": "complaint-files-h" },
      h("h3", { id: "complaint-files-h" }, t("cmp_files")),
      files.length
        ? h("ul", { class: "attachments", id: "complaint-files" }, files.map((a) => h("li", {},
          h("a", { href: a.url, download: a.filename, class: "attachment" }, icon("clip"), h("bdi", {}, a.filename)),
          a.size ? h("small", { class: "muted" }, ` ${fileSize(a.size)}`) : null)))
        : h("p", { class: "muted" }, t("none")),
      form);
  }

  conversationLink(id) {
    const attrs = { href: `/console#c=${id}`, "data-conversation-id": id };
    if (this.onOpenConversation) {
      attrs.on = { click: (e) => { e.preventDefault(); this.onOpenConversation(id); } };
    }
    return h("a", attrs, `#${id}`);
  }

  conversationsSection() {
    const c = this.c;
    return h("section", { class: "complaint-conversations", id: "complaint-convs-section", "aria-labelledby": "complaint-convs-h" },
      h("h3", { id: "complaint-convs-h" }, t("cmp_conversations")),
      c.conversations.length
        ? h("ul", { class: "inline-list", id: "complaint-conversations" }, c.conversations.map((id) => h("li", {}, this.conversationLink(id))))
        : h("p", { class: "muted" }, t("none")),
      h("div", { id: "complaint-link-slot" }, this.linkForm()));
  }

  /** Link another conversation of the same customer (the hub refuses another's). */
  linkForm() {
    const c = this.c;
    const others = this.contactConversations.filter((conv) => !c.conversations.includes(conv.id));
    if (!others.length) return null;
    const select = h("select", { name: "conversation_id", id: "c-link", "aria-label": t("cmp_link_pick") },
      others.map((conv) => h("option", { value: conv.id },
        `#${conv.id} · ${channelName(conv.channel)} · ${shortDate(conv.created_at)}`)));
    const form = h("form", {
      class: "inline-form", id: "complaint-link-form", novalidate: true,
      on: {
        submit: async (e) => {
          e.preventDefault();
          try {
            await api(`/complaints/${c.id}/conversations`, { method: "POST", body: { conversation_id: Number(select.value) } });
            await this.reloadLists();
          } catch (err) {
            toast(errorText(err), { kind: "error" });
          }
        },
      },
    }, select, h("button", { type: "submit", class: "secondary small" }, t("cmp_link")));
    return form;
  }

  historySection() {
    const c = this.c;
    return h("section", { class: "complaint-history-section", id: "complaint-history-section", "aria-labelledby": "complaint-history-h" },
      h("h3", { id: "complaint-history-h" }, t("cmp_history")),
      h("ol", { class: "timeline complaint-history", id: "complaint-history" },
        [...c.history].reverse().map((e) => h("li", { "data-kind": e.kind, "data-entry-id": e.id },
          h("time", { datetime: e.created_at, class: "muted" }, dateTime(e.created_at)), " ", this.entryText(e)))));
  }

  value(field, v) {
    if (v === null || v === undefined || v === "") return h("span", { class: "muted" }, "—");
    let text;
    if (field === "status") text = statusLabel(v);
    else if (field === "category" || field === "subcategory") text = optionLabel("category", v);
    else if (field === "severity" || field === "root_cause") text = optionLabel(field, v);
    else if (field === "team_id") text = this.teamName(v);
    else if (field === "assignee_id") text = this.who(v);
    else if (typeof v === "boolean") text = t(v ? "yes" : "no");
    else text = cut(v);
    return h("bdi", { dir: "auto", class: "value" }, text);
  }

  entryText(e) {
    const who = this.who(e.actor_id);
    const ch = e.changes || {};
    const arrow = getLang() === "ar" ? " ← " : " → ";
    switch (e.kind) {
      case "opened":
        return t("cmp_h_opened", { who, source: hasString(`cmp_src_${ch.source}`) ? t(`cmp_src_${ch.source}`) : ch.source || "" });
      case "changed":
        return [t("cmp_h_changed", { who }), " ",
          h("span", { class: "changes" }, Object.entries(ch).map(([field, pair], i) => {
            const [before, after] = Array.isArray(pair) ? pair : [null, pair];
            return [i ? "; " : "", h("span", { "data-field": field }, fieldLabel(field), ": ", this.value(field, before), arrow, this.value(field, after))];
          })),
          e.body && !e.actor_id ? [" · ", t("cmp_h_auto_closed")] : null];
      case "note":
        return [t("cmp_h_note", { who }), " ", h("bdi", { dir: "auto", class: "note-body" }, cut(e.body, 160))];
      case "escalated": {
        const key = `cmp_h_esc_${ch.stage}`;
        return t(hasString(key) ? key : "cmp_h_esc_response", { team: this.teamName(ch.team_id ?? null) });
      }
      case "notified":
        return [t("cmp_h_notified", { what: hasString(`cmp_what_${ch.what}`) ? t(`cmp_what_${ch.what}`) : ch.what || "" }),
          e.body ? [" ", h("q", { dir: "auto", class: "sent-body" }, e.body)] : null];
      case "not_notified":
        return t("cmp_h_not_notified", {
          what: hasString(`cmp_what_${ch.what}`) ? t(`cmp_what_${ch.what}`) : ch.what || "",
          why: errorText({ code: ch.why, message: ch.why }),
        });
      case "linked":
        return [t("cmp_h_linked", { who }), " ", this.conversationLink(ch.conversation_id)];
      case "attachment":
        return [t("cmp_h_attachment", { who }), " ", h("bdi", { class: "value" }, String(ch.filename ?? ""))];
      default:
        return e.kind;
    }
  }
}
