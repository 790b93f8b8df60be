// Audit log (admins): who changed what and when, newest first, from GET /audit —
// filtered by person, kind, what it concerns and a date range, paged; each entry's
// before → after details readable (values as text, never as HTML).
import { api } from "../api.js";
import { errorText } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { hasString, t } from "../i18n.js";
import { pager } from "./pager.js";

const KINDS = ["user", "team", "conversation", "message", "presence", "offer", "contact", "organization", "tiers", "complaint", "survey"];
const ENTITIES = ["user", "team", "conversation"];
const PAGE = 25;
const VALUE_CHARS = 160;

export async function auditSection(root) {
  const users = (await api("/users")).items;
  const teams = (await api("/teams")).items;
  const userName = new Map(users.map((u) => [u.id, u.name]));
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  const cursors = [null]; // cursor of each page shown so far (for "newer")
  let page = 0;

  const sel = (name, options, label) => {
    const el = h("select", { name, id: `audit-${name}` }, options.map(([v, text]) => h("option", { value: v }, text)));
    return h("div", { class: "field" }, h("label", { for: el.id }, label), el);
  };
  const dateField = (name, label) => h("div", { class: "field" },
    h("label", { for: `audit-${name}` }, label),
    h("input", { type: "date", name, id: `audit-${name}`, "aria-describedby": `audit-${name}-error` }),
    h("span", { class: "field-error", id: `audit-${name}-error`, role: "alert", hidden: true }));
  const form = h("form", { class: "audit-filters", id: "audit-filters", "aria-label": t("aud_filters") },
    sel("actor_id", [["", t("aud_anyone")], ...users.map((u) => [u.id, u.name])], t("aud_who")),
    sel("kind", [["", t("aud_any_kind")], ...KINDS.map((k) => [k, t(`aud_kind_${k}`)])], t("aud_kind")),
    sel("entity", [["", t("aud_any_entity")], ...ENTITIES.map((k) => [k, t(`aud_entity_${k}`)])], t("aud_entity")),
    h("div", { class: "field" },
      h("label", { for: "audit-entity_id" }, t("aud_entity_id")),
      h("input", { type: "number", name: "entity_id", id: "audit-entity_id", min: 1, max: 2147483647, inputmode: "numeric", dir: "ltr" })),
    dateField("since", t("aud_since")),
    dateField("until", t("aud_until")),
    h("div", { class: "audit-buttons" },
      h("button", { type: "submit", class: "primary", id: "audit-apply" }, t("aud_apply")),
      h("button", { type: "reset", class: "secondary", id: "audit-reset" }, t("aud_reset"))));
  const error = h("p", { class: "error", role: "alert", id: "audit-error", hidden: true });
  const tbody = h("tbody");
  const pages = pager("audit-pager", {
    onPrev: () => { page -= 1; load(); },
    onNext: () => { page += 1; load(); },
  });

  function query() {
    const el = form.elements;
    const q = { limit: PAGE };
    if (el.actor_id.value) q.actor_id = el.actor_id.value;
    if (el.kind.value) q.kind = el.kind.value;
    if (el.entity.value && el.entity_id.value) {
      q.entity = el.entity.value;
      q.entity_id = el.entity_id.value;
    }
    // Whole local days: from the start of "since" to the end of "until".
    if (el.since.value) q.since = new Date(`${el.since.value}T00:00`).toISOString();
    if (el.until.value) {
      const end = new Date(`${el.until.value}T00:00`);
      end.setDate(end.getDate() + 1);
      q.until = end.toISOString();
    }
    if (cursors[page]) q.cursor = cursors[page];
    return q;
  }

  function clearErrors() {
    error.hidden = true;
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const el of form.querySelectorAll(".field-error")) el.hidden = true;
  }

  function showError(err) {
    // A bad range belongs to the end date; anything else above the table.
    const name = err.code === "bad_audit_range" ? "until" : (err.fields || []).map((f) => String(f.field || "").split(".").pop()).find((n) => form.elements[n]);
    const input = name && form.elements[name];
    const note = name && form.querySelector(`#audit-${name}-error`);
    if (input && note) {
      input.setAttribute("aria-invalid", "true");
      mount(note, errorText(err));
      note.hidden = false;
      input.focus();
      return;
    }
    mount(error, errorText(err));
    error.hidden = false;
  }

  async function load() {
    clearErrors();
    let body;
    try {
      body = await api("/audit", { query: query() });
    } catch (err) {
      showError(err);
      return;
    }
    cursors[page + 1] = body.next_cursor;
    mount(tbody, body.items.length ? body.items.map(row) : h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("aud_none"))));
    pages.update({ from: page * PAGE, count: body.items.length, more: body.next_cursor !== null, hasPrev: page > 0 });
  }

  function subject(e) {
    if (e.user_id !== null && (e.type.startsWith("user.") || e.type.startsWith("presence."))) {
      return t("aud_on_user", { name: userName.get(e.user_id) || `#${e.user_id}` });
    }
    if (e.team_id !== null && e.type.startsWith("team.")) return t("aud_on_team", { name: teamName.get(e.team_id) || `#${e.team_id}` });
    if (e.conversation_id !== null) return t("aud_on_conversation", { id: e.conversation_id });
    if (e.payload?.contact_id) return t("aud_on_contact", { id: e.payload.contact_id });
    return "—";
  }

  function row(e) {
    const reason = e.payload?.reason;
    const reasonText = reason && hasString(`aud_reason_${reason}`) ? t(`aud_reason_${reason}`) : reason;
    return h("tr", { "data-entry-id": e.id, "data-type": e.type },
      h("td", { class: "nowrap" }, h("time", { datetime: e.ts }, dateTime(e.ts))),
      h("th", { scope: "row" }, h("bdi", {}, e.actor_id === null ? t("aud_system") : e.actor_name || `#${e.actor_id}`)),
      h("td", {}, h("code", { dir: "ltr" }, e.type), reasonText ? h("span", { class: "muted small" }, ` · ${reasonText}`) : null),
      h("td", {}, h("bdi", {}, subject(e))),
      h("td", { class: "audit-changes" }, changes(e)));
  }

  function changes(e) {
    const entries = Object.entries(e.changes || {});
    if (!entries.length) return h("span", { class: "muted" }, "—");
    return h("dl", { class: "changes" }, entries.flatMap(([field, [before, after]]) => [
      h("dt", {}, hasString(`aud_field_${field}`) ? t(`aud_field_${field}`) : field),
      h("dd", {},
        h("bdi", { class: "before", dir: "auto" }, valueText(before)),
        h("span", { "aria-label": t("aud_became") }, " → "),
        h("bdi", { class: "after", dir: "auto" }, valueText(after))),
    ]));
  }

  function valueText(v) {
    if (v === null || v === undefined || v === "") return t("aud_empty");
    const text = typeof v === "string" ? v : JSON.stringify(v);
    return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS)}…` : text;
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    page = 0;
    cursors.length = 1;
    load();
  });
  form.addEventListener("reset", () => setTimeout(() => form.requestSubmit(), 0));

  mount(root,
    h("div", { class: "section-head" }, h("h2", {}, t("aud_title"))),
    h("p", { class: "muted" }, t("aud_intro")),
    form,
    error,
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "audit-table" },
      h("caption", { class: "visually-hidden" }, t("aud_title")),
      h("thead", {}, h("tr", {}, ["aud_when", "aud_who", "aud_what", "aud_on", "aud_details"].map((k) => h("th", { scope: "col" }, t(k))))),
      tbody)),
    pages.el);
  await load();
}
