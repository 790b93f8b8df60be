// Complaints and surveys, the parts every page shares: the admin's options (labels in
// the page's language, severity colours), complaint statuses and the changes the hub
// allows between them, badges and marks, and survey wording. Pages: /complaints, the
// console, the supervisor view and the admin.
import { api } from "../api.js";
import { h } from "../dom.js";
import { dateTime, parseTime, serverNow } from "../format.js";
import { getLang, hasString, locale, t } from "../i18n.js";
import { icon } from "../icons.js";

export const STATUSES = [
  "new", "acknowledged", "investigating", "waiting_on_customer", "waiting_on_third_party", "resolved", "closed", "reopened",
];
export const OPEN_STATUSES = new Set(STATUSES.filter((s) => s !== "resolved" && s !== "closed"));
export const OPTION_KINDS = ["category", "severity", "root_cause"];
export const SURVEY_KINDS = { csat: [1, 5], nps: [0, 10], ces: [1, 7] };

let options = [];
let loading = null;

/** Load the complaint options (once per page; force after an admin change). */
export function loadOptions({ force = false } = {}) {
  if (!loading || force) {
    loading = api("/complaint-options")
      .then((rows) => { options = rows; })
      .catch(() => { options = []; });
  }
  return loading;
}

export function allOptions() {
  return options;
}

function find(kind, key) {
  return options.find((o) => o.kind === kind && o.key === key) || null;
}

/** The options of a kind in the admin's order; inactive ones only when `keep` is one. */
export function optionsOf(kind, { parent, keep = null } = {}) {
  return options
    .filter((o) => o.kind === kind && (parent === undefined || (o.parent ?? null) === parent))
    .filter((o) => o.active || o.key === keep)
    .sort((a, b) => a.position - b.position || a.key.localeCompare(b.key));
}

export function optionText(o) {
  return getLang() === "ar" ? o.label_ar : o.label_en;
}

/** An option's label in the page's language (its key when the admin removed it). */
export function optionLabel(kind, key) {
  if (key === null || key === undefined || key === "") return "—";
  const o = find(kind, key);
  return o ? optionText(o) : key;
}

export function statusLabel(status) {
  return hasString(`cst_${status}`) ? t(`cst_${status}`) : status;
}

export function statusChip(status, attrs = {}) {
  return h("span", { class: ["status-chip", "cstatus", `cstatus-${status}`], "data-status": status, ...attrs }, statusLabel(status));
}

/** A severity as a badge in the admin's colour (set as a CSS variable, never markup). */
export function severityBadge(key) {
  if (!key) return h("span", { class: "muted" }, "—");
  const badge = h("span", { class: "severity-badge", "data-severity": key }, optionLabel("severity", key));
  const color = find("severity", key)?.color;
  if (color && /^#[0-9a-f]{6}$/i.test(color)) badge.style.setProperty("--sev", color);
  return badge;
}

export function escalatedMark(c) {
  if (!c.escalated_at) return null;
  return h("span", { class: "care-mark escalated", title: t("cmp_escalated_at", { time: dateTime(c.escalated_at) }) },
    icon("alert"), t("cmp_escalated"));
}

export function overdueMark(c) {
  return c.overdue ? h("span", { class: "care-mark overdue" }, icon("clock"), t("cmp_overdue")) : null;
}

/** The due date that matters now (response until answered, then resolution). */
export function nextDue(c) {
  if (!OPEN_STATUSES.has(c.status)) return null;
  if (c.response_due_at && !c.responded_at) return { key: "cmp_response_due", at: c.response_due_at };
  if (c.resolution_due_at) return { key: "cmp_resolution_due", at: c.resolution_due_at };
  return null;
}

export function isPast(iso) {
  const ms = parseTime(iso);
  return ms !== null && ms <= serverNow();
}

/** "Dec 3, 05:35 PM": a due time short enough for a table cell (the year is near). */
export function compactDateTime(iso) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  return new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(ms);
}

/** A due time; red when it has passed while the complaint is open. */
export function dueText(c, iso, { done = null } = {}) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const late = OPEN_STATUSES.has(c.status) && !done && isPast(iso);
  return h("time", { datetime: iso, title: dateTime(iso), class: ["due", late && "late"] }, compactDateTime(iso));
}

/**
 * The statuses the hub accepts from `c.status` (hub/services/complaints.py,
 * _check_transition): never back to new; a closed complaint only reopens; only a
 * resolved or closed one reopens, within its reopening period.
 */
export function allowedStatuses(c) {
  const now = c.status;
  const reopenable = (now === "resolved" || now === "closed") && !(c.reopen_until && isPast(c.reopen_until));
  if (now === "closed") return reopenable ? ["closed", "reopened"] : ["closed"];
  return STATUSES.filter((s) => s === now || (s !== "new" && (s !== "reopened" || reopenable)));
}

// --- surveys ---------------------------------------------------------------------------

export function surveyKindLabel(kind) {
  return hasString(`svk_${kind}`) ? t(`svk_${kind}`) : kind;
}

export function scoreText(kind, score) {
  const [, high] = SURVEY_KINDS[kind] || [1, 5];
  return t("sv_score", { score, max: high });
}

export function skipReason(reason) {
  return hasString(`svskip_${reason}`) ? t(`svskip_${reason}`) : reason || "";
}

export function answeredVia(via) {
  return hasString(`svvia_${via}`) ? t(`svvia_${via}`) : via || "";
}

/** "★ Rated 4 / 5 — comment": a conversation's stored rating, or null. */
export function ratingLine(conv, { id = "conv-rating" } = {}) {
  if (conv?.csat_score === null || conv?.csat_score === undefined) return null;
  const low = conv.csat_score <= 2;
  return h("p", { class: ["rating-line", low && "low"], id, "data-score": conv.csat_score },
    icon("star"),
    h("strong", {}, t("sv_rating", { score: conv.csat_score })),
    conv.csat_comment ? [" — ", h("bdi", { dir: "auto", class: "rating-comment" }, conv.csat_comment)] : null);
}
