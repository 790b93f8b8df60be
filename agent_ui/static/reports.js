// Reports (/reports), for supervisors and admins: the headline figures of a period and
// their change against the previous period of the same length, volume, speed and
// service level over time, arrivals by day × hour, the channel mix, team and agent
// tables, satisfaction with what customers wrote, and complaints. A period preset or a
// custom range in a time zone, filters by team, channel and agent, all kept in the
// address (#range=last7&tz=…), so a report is a link. Any figure that counts
// conversations opens the list of them (GET /reports/conversations); every table
// downloads as CSV, every chart as PNG. Definitions: docs/reports.md.
//
// Charts: Chart.js (vendor/chartjs, a classic script loaded before this module: the
// global Chart). Each canvas is role="img" with a label, followed by a visually hidden
// table of the same numbers; in Arabic the x axes run right to left.
import { api, whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { errorText } from "./dialogs.js";
import { $, h, mount } from "./dom.js";
import { channelName, dateTime, number, percent } from "./format.js";
import { applyLang, getLang, hasString, initialLang, locale, setLang, t } from "./i18n.js";
import { channelIcon } from "./icons.js";
import { loadOptions, optionLabel, scoreText, surveyKindLabel } from "./care/common.js";

const SLOT_MS = 30 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;
const MAX_DAYS = 400;
const RANGES = ["today", "yesterday", "last7", "last30", "this_month", "last_month", "custom"];
const GROUPS = ["auto", "hour", "day", "week", "month"];
const KNOWN_CHANNELS = ["whatsapp", "sms", "email", "telegram", "webchat", "voice"];
const CATEGORIES = ["inquiry", "complaint", "suggestion", "order", "other"];
const BREAKDOWNS = ["category", "tier", "tag", "segment"];
const PRESENCE_TIME = ["available", "busy", "wrap_up", "away"];
const DRILL_PAGE = 50;
const VERBATIMS_PAGE = 30; // GET /reports/verbatims: comments per page (newest first), then "More"
const PALETTE = ["#2457d6", "#1b9e5a", "#e0a100", "#c0392b", "#7a5cd6", "#0f8b8d", "#d35400", "#5b6576"];

const state = {
  me: null,
  users: new Map(),
  teams: new Map(),
  data: null, // the last complete load (see load())
  seq: 0,
  charts: new Map(),
  verbatims: null,
};

// --- time zones without a library ---------------------------------------------------------
const partsFormats = new Map();

function zoneParts(ms, tz) {
  if (!partsFormats.has(tz)) {
    partsFormats.set(tz, new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", weekday: "short",
    }));
  }
  const p = Object.fromEntries(partsFormats.get(tz).formatToParts(ms).map((x) => [x.type, x.value]));
  return { y: +p.year, m: +p.month, d: +p.day, hh: +p.hour % 24, mm: +p.minute, ss: +p.second, wd: p.weekday };
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(ms, tz) {
  const p = zoneParts(ms, tz);
  return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss) - Math.floor(ms / 1000) * 1000;
}

/** The instant a local calendar day starts in `tz` (month and day may overflow: Date.UTC normalises). */
function midnight(y, m, d, tz) {
  const guess = Date.UTC(y, m - 1, d);
  const first = guess - offsetAt(guess, tz);
  return guess - offsetAt(first, tz); // again at the instant found: right across a DST change
}

function validZone(tz) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function isoDate(y, m, d) {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.toISOString().slice(0, 10);
}

function parseDate(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
  return m ? { y: +m[1], m: +m[2], d: +m[3] } : null;
}

// --- the period ------------------------------------------------------------------------------
/**
 * The period of the filters: [since, until) as instants (until is the nominal end),
 * `end` the part that has happened (until, or now rounded up to the half hour), and
 * the previous period of the same length, up to the same point.
 * Returns {error, field} when a custom range is not usable.
 */
function period(f, now = Date.now()) {
  const tz = f.tz;
  const today = zoneParts(now, tz);
  const { y, m, d } = today;
  let since;
  let until;
  switch (f.range) {
    case "today": [since, until] = [midnight(y, m, d, tz), midnight(y, m, d + 1, tz)]; break;
    case "yesterday": [since, until] = [midnight(y, m, d - 1, tz), midnight(y, m, d, tz)]; break;
    case "last30": [since, until] = [midnight(y, m, d - 29, tz), midnight(y, m, d + 1, tz)]; break;
    case "this_month": [since, until] = [midnight(y, m, 1, tz), midnight(y, m + 1, 1, tz)]; break;
    case "last_month": [since, until] = [midnight(y, m - 1, 1, tz), midnight(y, m, 1, tz)]; break;
    case "custom": {
      const from = parseDate(f.from);
      const to = parseDate(f.to);
      if (!from) return { error: "rp_err_from", field: "from" };
      if (!to) return { error: "rp_err_to", field: "to" };
      since = midnight(from.y, from.m, from.d, tz);
      until = midnight(to.y, to.m, to.d + 1, tz);
      if (until <= since) return { error: "rp_err_order", field: "to" };
      if (until - since > MAX_DAYS * DAY_MS) return { error: "rp_err_too_long", field: "to" };
      break;
    }
    default: [since, until] = [midnight(y, m, d - 6, tz), midnight(y, m, d + 1, tz)]; break; // last7
  }
  const nowSlot = Math.ceil(now / SLOT_MS) * SLOT_MS;
  const end = nowSlot > since && nowSlot < until ? nowSlot : until;
  const length = until - since;
  return { since, until, end, prevSince: since - length, prevEnd: end - length, tz };
}

function groupFor(f, p) {
  if (f.group_by !== "auto") return f.group_by;
  const span = p.until - p.since;
  if (span <= 2 * DAY_MS) return "hour";
  if (span <= 92 * DAY_MS) return "day";
  return "week";
}

const iso = (ms) => new Date(ms).toISOString();

// --- filters in the form and the address ------------------------------------------------
function form() {
  return $("#report-filters");
}

function filters() {
  const el = form().elements;
  return {
    range: el.range.value || "last7",
    from: el.from.value,
    to: el.to.value,
    tz: el.tz.value || browserZone(),
    team_id: el.team_id.value,
    channel: el.channel.value,
    agent_id: el.agent_id.value,
    category: el.category.value,
    group_by: el.group_by.value || "auto",
    business: el.business.checked,
  };
}

function fromHash() {
  const q = new URLSearchParams(window.location.hash.slice(1));
  return {
    range: RANGES.includes(q.get("range")) ? q.get("range") : "last7",
    from: q.get("from") || "",
    to: q.get("to") || "",
    tz: q.get("tz") && validZone(q.get("tz")) ? q.get("tz") : browserZone(),
    team_id: q.get("team") || "",
    channel: q.get("channel") || "",
    agent_id: q.get("agent") || "",
    category: CATEGORIES.includes(q.get("cat")) ? q.get("cat") : "",
    by: BREAKDOWNS.includes(q.get("by")) ? q.get("by") : "category",
    group_by: GROUPS.includes(q.get("group")) ? q.get("group") : "auto",
    business: q.get("bh") === "1",
  };
}

function toHash(f) {
  const q = new URLSearchParams();
  q.set("range", f.range);
  if (f.range === "custom") {
    q.set("from", f.from);
    q.set("to", f.to);
  }
  q.set("tz", f.tz);
  if (f.team_id) q.set("team", f.team_id);
  if (f.channel) q.set("channel", f.channel);
  if (f.agent_id) q.set("agent", f.agent_id);
  if (f.category) q.set("cat", f.category);
  if ($("#breakdown-by").value && $("#breakdown-by").value !== "category") q.set("by", $("#breakdown-by").value);
  if (f.group_by !== "auto") q.set("group", f.group_by);
  if (f.business) q.set("bh", "1");
  return `#${q.toString()}`;
}

function fillSelect(sel, options, keep) {
  mount(sel, options.map(([value, label]) => h("option", { value }, label)));
  sel.value = options.some(([value]) => value === keep) ? keep : options[0][0];
}

function visibleTeams() {
  const teams = [...state.teams.values()].sort((a, b) => a.name.localeCompare(b.name));
  return state.me.role === "admin" ? teams : teams.filter((tm) => state.me.team_ids.includes(tm.id));
}

function fillFilters(f) {
  const el = form().elements;
  fillSelect(el.range, RANGES.map((r) => [r, t(`rp_range_${r}`)]), f.range);
  el.from.value = f.from;
  el.to.value = f.to;
  const zones = [[browserZone(), t("rp_tz_browser", { tz: browserZone() })]];
  for (const tm of visibleTeams()) {
    const tz = tm.business_hours?.timezone;
    if (tz && validZone(tz) && !zones.some(([z]) => z === tz)) zones.push([tz, t("rp_tz_business", { tz, team: tm.name })]);
  }
  if (!zones.some(([z]) => z === "UTC")) zones.push(["UTC", "UTC"]);
  if (!zones.some(([z]) => z === f.tz)) zones.push([f.tz, f.tz]);
  fillSelect(el.tz, zones, f.tz);
  fillSelect(el.team_id, [["", t("rp_all_teams")], ...visibleTeams().map((tm) => [String(tm.id), tm.name])], f.team_id);
  const seen = state.data?.channels?.map((r) => r.channel).filter(Boolean) || [];
  const channels = [...new Set([...KNOWN_CHANNELS, ...seen, ...(f.channel ? [f.channel] : [])])];
  fillSelect(el.channel, [["", t("all_channels")], ...channels.map((c) => [c, channelName(c)])], f.channel);
  const teamIds = f.team_id ? [Number(f.team_id)] : visibleTeams().map((tm) => tm.id);
  const agents = [...state.users.values()]
    .filter((u) => u.active && (state.me.role === "admin" && !f.team_id ? true : u.team_ids.some((id) => teamIds.includes(id))))
    .sort((a, b) => a.name.localeCompare(b.name));
  fillSelect(el.agent_id, [["", t("rp_all_agents")], ...agents.map((u) => [String(u.id), u.name])], f.agent_id);
  fillSelect(el.category, [["", t("rp_all_categories")], ...CATEGORIES.map((c) => [c, t(`cat_${c}`)])], f.category);
  fillSelect(el.group_by, GROUPS.map((g) => [g, t(`rp_group_${g}`)]), f.group_by);
  fillSelect($("#breakdown-by"), BREAKDOWNS.map((b) => [b, t(`rp_by_${b}`)]), f.by || $("#breakdown-by").value || "category");
  el.business.checked = f.business;
  for (const label of form().querySelectorAll(".custom-range")) label.hidden = f.range !== "custom";
}

function clearFieldErrors() {
  for (const el of form().querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form().querySelectorAll(".field-error")) el.remove();
}

function fieldError(name, key) {
  const input = form().elements[name];
  input.setAttribute("aria-invalid", "true");
  const id = `err-${name}`;
  input.setAttribute("aria-describedby", id);
  input.after(h("span", { class: "field-error", id, role: "alert" }, t(key)));
}

// --- loading ------------------------------------------------------------------------------
function scopeQuery(f, p, { previous = false } = {}) {
  return {
    since: iso(previous ? p.prevSince : p.since),
    until: iso(previous ? p.prevEnd : p.end),
    team_id: f.team_id,
    channel: f.channel,
    agent_id: f.agent_id,
    category: f.category,
  };
}

const SERIES = {
  volume: ["conversations", "inbound_messages", "outbound_messages", "resolved"],
  speed: ["first_response_avg", "resolution_avg"],
  sl: ["service_level", "csat_average"],
};

async function load() {
  const f = filters();
  clearFieldErrors();
  const p = period(f);
  if (p.error) {
    fieldError(p.field, p.error);
    return;
  }
  if (f.group_by === "hour" && p.until - p.since > 31 * DAY_MS) {
    fieldError("group_by", "rp_err_hours");
    return;
  }
  history.replaceState(null, "", toHash(f));
  const seq = ++state.seq;
  const main = $("#reports-main");
  main.setAttribute("aria-busy", "true");
  main.dataset.state = "loading";
  const group = groupFor(f, p);
  const scope = scopeQuery(f, p);
  const metrics = Object.values(SERIES).flat();
  try {
    const [summary, previous, series, heat, channels, teams, agents] = await Promise.all([
      api("/reports/summary", { query: scope }),
      api("/reports/summary", { query: scopeQuery(f, p, { previous: true }) }),
      // Every series in one request: one key per metric in each point.
      api("/reports/timeseries", { query: { ...scope, metric: metrics.join(","), group_by: group, timezone: p.tz } }),
      api("/reports/heatmap", { query: { ...scope, agent_id: undefined, category: undefined, timezone: p.tz } }),
      api("/reports/channels", { query: scope }),
      api("/reports/teams", { query: scope }),
      api("/reports/agents", { query: scope }),
    ]);
    if (seq !== state.seq) return;
    state.data = {
      f, p, group, summary, previous, heat, channels, teams, agents, breakdown: null, by: null,
      series: Object.fromEntries(metrics.map((m) => [m, series.map((pt) => ({ start: pt.start, value: pt[m] }))])),
    };
    $("#report-error").hidden = true;
    state.verbatims = null; // the new period's come next (loadVerbatims)
    mount($("#verbatims"), []);
    render();
    main.dataset.state = "ready";
  } catch (err) {
    if (seq !== state.seq) return;
    showError(err);
    main.dataset.state = "error";
  } finally {
    if (seq === state.seq) main.setAttribute("aria-busy", "false");
  }
  if (state.data?.f === f) {
    loadVerbatims(seq);
    loadBreakdown(seq);
  }
}

/** The breakdown after the rest (it asks one question per group): the page does not wait for it. */
async function loadBreakdown(seq = state.seq) {
  const { f, p } = state.data;
  const by = $("#breakdown-by").value || "category";
  const table = $("#breakdown-table");
  table.setAttribute("aria-busy", "true");
  try {
    const rows = await api("/reports/breakdown", { query: { ...scopeQuery(f, p), category: undefined, by } });
    if (seq !== state.seq || state.data.f !== f) return;
    state.data.breakdown = rows;
    state.data.by = by;
    renderBreakdown();
  } catch (err) {
    if (seq === state.seq) mount(table, h("caption", { class: "error" }, reportErrorText(err)));
  } finally {
    table.setAttribute("aria-busy", "false");
  }
}

function reportErrorText(err) {
  const key = `rp_err_${err?.code}`;
  return hasString(key) ? t(key) : errorText(err);
}

function showError(err) {
  const box = $("#report-error");
  mount(box, reportErrorText(err));
  box.hidden = false;
}

/**
 * What customers wrote: the comments of the survey answers in the period, by the page's
 * filters (GET /reports/verbatims, filtered and paged by the hub), newest first.
 */
async function loadVerbatims(seq = state.seq, more = false) {
  const { f, p } = state.data;
  const cursor = more ? state.verbatims?.next_cursor : undefined;
  try {
    const page = await api("/reports/verbatims", { query: { ...scopeQuery(f, p), limit: VERBATIMS_PAGE, cursor } });
    if (seq !== state.seq || state.data.f !== f) return;
    state.verbatims = { items: [...(more ? state.verbatims?.items || [] : []), ...page.items], next_cursor: page.next_cursor };
  } catch (err) {
    if (seq === state.seq) mount($("#verbatims"), h("li", { class: "error" }, reportErrorText(err)));
    return;
  }
  const shown = more ? $("#verbatims").children.length : 0;
  renderVerbatims();
  if (more) $("#verbatims").children[shown]?.focus(); // the first new comment
}

// --- formatting -----------------------------------------------------------------------------
function num(n, digits = 0) {
  if (n === null || n === undefined) return "—";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, seconds);
  if (s < 90) return t("dur_s", { n: num(Math.round(s)) });
  if (s < 90 * 60) return t("dur_m", { n: num(s / 60, s < 600 ? 1 : 0) });
  if (s < 48 * 3600) return t("dur_h", { n: num(s / 3600, 1) });
  return t("dur_d", { n: num(s / 86400, 1) });
}

function durationOf(f, name, business) {
  const d = f?.[name];
  if (!d) return { avg: null, p50: null, p90: null, count: 0 };
  const sfx = business ? "_business" : "";
  return { avg: d[`avg${sfx}`], p50: d[`p50${sfx}`] ?? null, p90: d[`p90${sfx}`] ?? null, count: d.count };
}

function dateLabel(ms, tz, opts) {
  return new Intl.DateTimeFormat(locale(), { timeZone: tz, ...opts }).format(ms);
}

function rangeText(a, b, tz) {
  const opts = { day: "numeric", month: "short", year: "numeric" };
  const one = dateLabel(a, tz, opts);
  const two = dateLabel(b - 1, tz, opts);
  return one === two ? one : t("rp_range_text", { from: one, to: two });
}

function periodText(p) {
  return t("rp_period_text", {
    period: rangeText(p.since, p.until, p.tz), previous: rangeText(p.prevSince, p.prevSince + (p.until - p.since), p.tz), tz: p.tz,
  });
}

// --- tiles ---------------------------------------------------------------------------------
// better: which direction is good news (null: neither, e.g. volume).
const TILES = [
  { id: "conversations", drill: "conversations", get: (f) => f.conversations },
  { id: "inbound_messages", get: (f) => f.inbound_messages },
  { id: "outbound_messages", get: (f) => f.outbound_messages },
  { id: "answered", drill: "answered", get: (f) => f.answered },
  { id: "service_level", drill: "answered_late", drillLabel: "rp_drill_answered_late", kind: "share", better: "up", get: (f) => f.service_level,
    sub: (f) => t("rp_sl_sub", { in: num(f.answered_in_target ?? 0), n: num((f.answered ?? 0) + (f.abandoned_late ?? 0)) }) },
  { id: "resolved", drill: "resolved", get: (f) => f.resolved },
  { id: "reopened", drill: "reopened", better: "down", get: (f) => f.reopened,
    sub: (f) => (f.reopen_rate === null ? null : t("rp_reopen_sub", { rate: percent(f.reopen_rate) })) },
  { id: "transfers", drill: "transferred", better: "down", get: (f) => f.transfers,
    sub: (f) => (f.transfers_per_conversation === null || f.transfers_per_conversation === undefined ? null
      : t("rp_per_conversation", { n: num(f.transfers_per_conversation, 2) })) },
  { id: "abandoned", drill: "abandoned", better: "down", get: (f) => f.abandoned,
    sub: (f) => (f.abandon_rate === null || f.abandon_rate === undefined ? null : t("rp_abandon_sub", { rate: percent(f.abandon_rate) })) },
  { id: "first_contact_resolution", kind: "share", better: "up", get: (f) => f.first_contact_resolution ?? null },
  { id: "first_response", duration: "first_response_seconds", better: "down" },
  { id: "first_assignment", duration: "first_assignment_seconds", better: "down" },
  { id: "resolution", duration: "resolution_seconds", better: "down" },
  { id: "handle", duration: "handle_seconds", better: null },
  { id: "csat", kind: "score", better: "up", get: (f) => f.csat.average,
    sub: (f) => t("rp_csat_sub", { share: percent(f.csat.satisfied_share), n: num(f.csat.responses) }) },
  { id: "nps", kind: "points", better: "up", get: (f) => f.nps.score, sub: (f) => t("rp_responses", { n: num(f.nps.responses) }) },
  { id: "complaints", better: "down", get: (f) => f.complaints.opened,
    sub: (f) => t("rp_complaints_sub", { overdue: num(f.complaints.overdue) }) },
];

function tileValue(tile, f, business) {
  if (tile.duration) return durationOf(f, tile.duration, business).avg;
  return tile.get(f);
}

function formatValue(tile, v) {
  if (v === null || v === undefined) return "—";
  if (tile.duration) return duration(v);
  if (tile.kind === "share") return percent(v);
  if (tile.kind === "score") return num(v, 2);
  if (tile.kind === "points") return num(v, 1);
  if (tile.kind === "seconds") return duration(v);
  return num(v);
}

/** The change against the previous period: {text, spoken, dir, tone} or null. */
function change(tile, cur, prev) {
  if (cur === null || cur === undefined || prev === null || prev === undefined) return null;
  const diff = cur - prev;
  const dir = diff > 0 ? "up" : diff < 0 ? "down" : "flat";
  const tone = dir === "flat" || !tile.better ? "neutral" : dir === tile.better ? "good" : "bad";
  let amount;
  if (tile.kind === "share") amount = t("rp_pts", { n: num(Math.abs(diff) * 100, 1) });
  else if (tile.kind === "score" || tile.kind === "points") amount = num(Math.abs(diff), tile.kind === "score" ? 2 : 1);
  else if (prev === 0) amount = tile.duration || tile.kind === "seconds" ? duration(Math.abs(diff)) : num(Math.abs(diff));
  else amount = new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(Math.abs(diff) / prev);
  const arrow = { up: "▲", down: "▼", flat: "=" }[dir];
  return {
    text: dir === "flat" ? t("rp_no_change") : `${arrow} ${amount}`,
    spoken: dir === "flat" ? t("rp_no_change") : t(`rp_change_${dir}`, { amount }),
    dir,
    tone,
  };
}

function tile(def, f, prevF, business, scope = {}) {
  const cur = tileValue(def, f, business);
  const prev = prevF ? tileValue(def, prevF, business) : null;
  const delta = prevF ? change(def, cur, prev) : null;
  const label = t(`rp_m_${def.id}`);
  let sub = def.sub ? def.sub(f) : null;
  if (def.duration) {
    const d = durationOf(f, def.duration, business);
    sub = t("rp_pcts", { p50: duration(d.p50), p90: duration(d.p90) });
  }
  const body = [
    h("span", { class: "tile-label" }, label),
    h("span", { class: "tile-value", "data-value": cur ?? "" }, formatValue(def, cur)),
    sub ? h("span", { class: "tile-sub" }, sub) : null,
    delta
      ? h("span", { class: ["tile-delta", `delta-${delta.dir}`, `tone-${delta.tone}`] },
        h("span", { "aria-hidden": "true" }, delta.text), h("span", { class: "visually-hidden" }, delta.spoken),
        h("span", { class: "tile-prev" }, ` ${t("rp_was", { value: formatValue(def, prev) })}`))
      : null,
  ];
  const attrs = { class: ["tile", `tile-${def.id}`, def.drill && "drillable"], "data-metric": def.id };
  if (!def.drill) return h("div", attrs, body);
  return h("button", {
    ...attrs, type: "button", "data-drill": def.drill,
    title: t("rp_drill_hint"),
    on: { click: () => drill(def.drill, scope, def.drillLabel ? t(def.drillLabel) : label) },
  }, body);
}

function renderTiles() {
  const { summary, previous, f } = state.data;
  mount($("#tiles"), TILES.map((def) => tile(def, summary, previous, f.business)));
  $("#tiles").setAttribute("aria-busy", "false");
  const c = summary;
  const sent = c.surveys_sent;
  const answers = c.csat.responses + c.nps.responses + c.ces.responses;
  const sat = [
    TILES.find((x) => x.id === "csat"),
    { id: "csat_share", kind: "share", better: "up", get: (x) => x.csat.satisfied_share, sub: (x) => t("rp_responses", { n: num(x.csat.responses) }) },
    TILES.find((x) => x.id === "nps"),
    { id: "ces", kind: "score", better: "down", get: (x) => x.ces.average, sub: (x) => t("rp_responses", { n: num(x.ces.responses) }) },
    { id: "response_rate", kind: "share", better: "up", get: (x) => (x.surveys_sent ? (x.csat.responses + x.nps.responses + x.ces.responses) / x.surveys_sent : null),
      sub: () => t("rp_response_rate_sub", { n: num(answers), sent: num(sent) }) },
  ];
  mount($("#sat-tiles"), sat.map((def) => tile(def, summary, previous, f.business)));
  const cmp = [
    { id: "cmp_opened", better: "down", get: (x) => x.complaints.opened },
    { id: "cmp_resolved", better: "up", get: (x) => x.complaints.resolved },
    { id: "cmp_open", better: "down", get: (x) => x.complaints.open },
    { id: "cmp_overdue", better: "down", get: (x) => x.complaints.overdue },
    { id: "cmp_ack", kind: "seconds", better: "down", get: (x) => x.complaints.acknowledge_seconds_avg },
    { id: "cmp_resolve", kind: "seconds", better: "down", get: (x) => x.complaints.resolve_seconds_avg },
  ];
  mount($("#cmp-tiles"), cmp.map((def) => tile(def, summary, previous, f.business)));
  const by = (kind, counts) => h("div", { class: "breakdown-table" },
    h("table", { class: "grid report-table small-table", "data-by": kind },
      h("caption", {}, t(`rp_cmp_by_${kind}`)),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t(`rp_cmp_${kind}`)), h("th", { scope: "col", class: "num" }, t("rp_m_cmp_opened")))),
      h("tbody", {}, Object.keys(counts).length
        ? Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([key, n]) => h("tr", {},
          h("th", { scope: "row" }, h("bdi", {}, key === "none" ? t("rp_unset") : optionLabel(kind, key))),
          h("td", { class: "num" }, num(n))))
        : h("tr", {}, h("td", { colspan: 2, class: "muted" }, t("rp_no_data"))))));
  mount($("#cmp-breakdown"),
    by("category", summary.complaints.by_category),
    by("severity", summary.complaints.by_severity),
    by("root_cause", summary.complaints.by_root_cause));
}

// --- charts --------------------------------------------------------------------------------
/** Bucket starts from since to end in the report's zone (the API leaves empty ones out). */
function buckets(p, group) {
  const out = [];
  if (group === "hour") {
    for (let ms = Math.floor(p.since / 3600000) * 3600000; ms < p.end; ms += 3600000) {
      const o = zoneParts(ms, p.tz);
      if (o.mm === 0 || out.length === 0) out.push(ms - o.mm * 60000);
    }
    return [...new Set(out)];
  }
  const start = zoneParts(p.since, p.tz);
  let { y, m, d } = start;
  if (group === "week") {
    const wd = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(start.wd);
    d -= wd;
  }
  if (group === "month") d = 1;
  for (let i = 0; i < 2000; i += 1) {
    const ms = midnight(y, m, d, p.tz);
    if (ms >= p.end) break;
    out.push(ms);
    if (group === "day") d += 1;
    else if (group === "week") d += 7;
    else m += 1;
  }
  return out;
}

function bucketLabel(ms, group, p) {
  const tz = p.tz;
  if (group === "hour") {
    const oneDay = p.until - p.since <= DAY_MS;
    return dateLabel(ms, tz, oneDay ? { hour: "2-digit", minute: "2-digit" } : { weekday: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  if (group === "month") return dateLabel(ms, tz, { month: "short", year: "numeric" });
  return dateLabel(ms, tz, { day: "numeric", month: "short" });
}

const COUNT_SERIES = new Set(["conversations", "inbound_messages", "outbound_messages", "resolved"]);

function seriesValues(metric, starts) {
  const by = new Map(state.data.series[metric].map((pt) => [Date.parse(pt.start), pt.value]));
  return starts.map((ms) => (by.has(ms) ? by.get(ms) : COUNT_SERIES.has(metric) ? 0 : null));
}

const whiteBackground = {
  id: "whiteBackground",
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = "destination-over";
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

function baseOptions({ yFormat = (v) => num(v), y2 = null } = {}) {
  const rtl = getLang() === "ar";
  const reduced = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
  const scales = {
    x: { reverse: rtl, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 }, grid: { display: false } },
    y: { beginAtZero: true, position: rtl ? "right" : "left", ticks: { callback: (v) => yFormat(v), precision: 0 } },
  };
  if (y2) scales.y2 = { beginAtZero: true, position: rtl ? "left" : "right", grid: { drawOnChartArea: false }, ticks: { callback: (v) => y2(v) }, ...(y2.max ? { max: y2.max } : {}) };
  return {
    responsive: true,
    maintainAspectRatio: false,
    locale: locale(),
    animation: reduced ? false : { duration: 250 },
    interaction: { mode: "index", intersect: false },
    scales,
    plugins: {
      legend: { position: "bottom", rtl, textDirection: rtl ? "rtl" : "ltr", labels: { boxWidth: 12 } },
      tooltip: { rtl, textDirection: rtl ? "rtl" : "ltr" },
    },
  };
}

function downloadPng(id, name) {
  const chart = state.charts.get(id);
  if (!chart) return;
  // A generated image of our own numbers; dom.h only makes same-origin and http(s) links.
  const link = document.createElement("a");
  link.href = chart.toBase64Image("image/png", 1);
  link.download = `${name}.png`;
  document.body.append(link);
  link.click();
  link.remove();
}

/** The hidden table read to screen readers instead of the canvas. */
function dataTable(id, title, labels, datasets, fmts) {
  return h("div", { class: "table-wrap chart-table" },
    h("table", { class: "visually-hidden", id: `${id}-data` },
      h("caption", {}, title),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("rp_when")), datasets.map((ds) => h("th", { scope: "col" }, ds.label)))),
      h("tbody", {}, labels.map((label, i) => h("tr", {}, h("th", { scope: "row" }, label),
        datasets.map((ds, j) => h("td", {}, ds.data[i] === null ? "—" : fmts[j](ds.data[i]))))))));
}

function csvHref(path, extra = {}) {
  const { f, p } = state.data;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...scopeQuery(f, p), ...extra, format: "csv" })) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  return `/api/v1/reports/${path}?${q.toString()}`;
}

function chartCard(el, { id, title, type, labels, datasets, fmts, options, csv = [], summary }) {
  const old = state.charts.get(id);
  if (old) old.destroy();
  const canvas = h("canvas", { id: `${id}-canvas`, role: "img", "aria-label": `${title}. ${summary}`, "aria-describedby": `${id}-data` });
  const png = h("button", {
    type: "button", class: "secondary small", "data-png": id, on: { click: () => downloadPng(id, `${id}-${state.data.f.range}`) },
  }, t("rp_png"));
  mount(el,
    h("figcaption", { class: "chart-head" },
      h("h3", { id: `${id}-title` }, title),
      h("span", { class: "chart-actions" }, png,
        csv.map(([href, label]) => h("a", { class: "button-link small", href, download: "", "data-csv": id }, label)))),
    h("div", { class: ["chart-box", type === "doughnut" && "chart-box-small"] }, canvas),
    dataTable(id, title, labels, datasets, fmts));
  if (typeof window.Chart !== "function") {
    el.append(h("p", { class: "error" }, t("rp_err_charts")));
    return;
  }
  const chart = new window.Chart(canvas, { type, data: { labels, datasets }, options, plugins: [whiteBackground] });
  state.charts.set(id, chart);
}

function renderCharts() {
  const { p, group } = state.data;
  const starts = buckets(p, group);
  const labels = starts.map((ms) => bucketLabel(ms, group, p));
  const line = (metric, i, extra = {}) => ({
    label: t(`rp_s_${metric}`), data: seriesValues(metric, starts), borderColor: PALETTE[i], backgroundColor: `${PALETTE[i]}33`,
    pointRadius: starts.length > 60 ? 0 : 2, tension: 0, spanGaps: true, ...extra,
  });
  const total = (metric) => seriesValues(metric, starts).reduce((a, b) => a + (b || 0), 0);

  const volume = SERIES.volume.map((m, i) => (i === 0 ? { ...line(m, i), type: "bar", backgroundColor: `${PALETTE[i]}aa` } : line(m, i)));
  chartCard($("#chart-volume"), {
    id: "volume", title: t("rp_chart_volume"), type: "line", labels, datasets: volume, fmts: volume.map(() => (v) => num(v)),
    options: baseOptions(),
    csv: SERIES.volume.map((m) => [csvHref("timeseries", { metric: m, group_by: group, timezone: p.tz }), t("rp_csv_of", { what: t(`rp_s_${m}`) })]),
    summary: t("rp_chart_volume_summary", { conversations: num(total("conversations")), resolved: num(total("resolved")), n: labels.length }),
  });

  const toMinutes = (v) => (v === null ? null : Math.round((v / 60) * 10) / 10);
  const speed = SERIES.speed.map((m, i) => ({ ...line(m, i + 4), data: seriesValues(m, starts).map(toMinutes) }));
  chartCard($("#chart-speed"), {
    id: "speed", title: t("rp_chart_speed"), type: "line", labels, datasets: speed,
    fmts: speed.map(() => (v) => t("dur_m", { n: num(v, 1) })),
    options: baseOptions({ yFormat: (v) => t("dur_m", { n: num(v) }) }),
    csv: SERIES.speed.map((m) => [csvHref("timeseries", { metric: m, group_by: group, timezone: p.tz }), t("rp_csv_of", { what: t(`rp_s_${m}`) })]),
    summary: t("rp_chart_speed_summary", {
      frt: duration(state.data.summary.first_response_seconds?.avg ?? null),
      res: duration(state.data.summary.resolution_seconds?.avg ?? null),
    }),
  });

  const slFmt = (v) => percent(v);
  const y2 = (v) => num(v, 1);
  y2.max = 5;
  const sl = [
    { ...line("service_level", 1), yAxisID: "y" },
    { ...line("csat_average", 2), yAxisID: "y2" },
  ];
  const slOptions = baseOptions({ yFormat: slFmt, y2 });
  slOptions.scales.y.max = 1;
  slOptions.scales.y.ticks.precision = undefined;
  chartCard($("#chart-sl"), {
    id: "service-level", title: t("rp_chart_sl"), type: "line", labels, datasets: sl, fmts: [slFmt, (v) => num(v, 2)],
    options: slOptions,
    csv: SERIES.sl.map((m) => [csvHref("timeseries", { metric: m, group_by: group, timezone: p.tz }), t("rp_csv_of", { what: t(`rp_s_${m}`) })]),
    summary: t("rp_chart_sl_summary", { sl: percent(state.data.summary.service_level), csat: num(state.data.summary.csat.average, 2) }),
  });

  const rows = state.data.channels.filter((r) => r.conversations > 0);
  const mix = [{
    label: t("rp_m_conversations"), data: rows.map((r) => r.conversations),
    backgroundColor: rows.map((_, i) => PALETTE[i % PALETTE.length]), borderColor: "#fff",
  }];
  const mixOptions = baseOptions();
  delete mixOptions.scales;
  mixOptions.interaction = { mode: "nearest", intersect: true };
  const all = rows.reduce((a, r) => a + r.conversations, 0);
  chartCard($("#chart-channels"), {
    id: "channels", title: t("rp_chart_channels"), type: "doughnut", labels: rows.map((r) => channelName(r.channel)),
    datasets: mix, fmts: [(v) => num(v)], options: mixOptions,
    summary: rows.length
      ? rows.map((r) => t("rp_share_of", { name: channelName(r.channel), share: percent(r.conversations / all) })).join(", ")
      : t("rp_no_data"),
  });
}

// --- heat map ------------------------------------------------------------------------------
function weekdayNames() {
  // 2024-01-01 was a Monday.
  return [0, 1, 2, 3, 4, 5, 6].map((i) => new Intl.DateTimeFormat(locale(), { weekday: "short", timeZone: "UTC" }).format(Date.UTC(2024, 0, 1 + i)));
}

function renderHeatmap() {
  const rows = state.data.heat.rows;
  const max = Math.max(0, ...rows.flat());
  const days = weekdayNames();
  const hours = [...Array(24).keys()];
  const level = (n) => (n === 0 || max === 0 ? 0 : Math.max(1, Math.ceil((n / max) * 5)));
  mount($("#heatmap"),
    h("caption", { class: "visually-hidden" }, t("rp_heat_caption", { tz: state.data.p.tz, max: num(max) })),
    h("thead", {}, h("tr", {}, h("td", {}), hours.map((hh) => h("th", { scope: "col", class: "heat-hour" }, String(hh).padStart(2, "0"))))),
    h("tbody", {}, rows.map((row, d) => h("tr", {}, h("th", { scope: "row", class: "heat-day" }, days[d]),
      row.map((n, hh) => h("td", { class: ["heat", `heat-${level(n)}`], "data-day": d, "data-hour": hh, title: t("rp_heat_cell", { day: days[d], hour: String(hh).padStart(2, "0"), n: num(n) }) }, n ? num(n) : ""))))));
  $("#csv-heatmap").setAttribute("href", csvHref("heatmap", { timezone: state.data.p.tz, agent_id: "" }));
}

// --- tables -----------------------------------------------------------------------------------
function drillCell(n, metric, scope, label) {
  if (!n) return h("td", { class: "num" }, num(n));
  return h("td", { class: "num" }, h("button", {
    type: "button", class: "link drill-link", "data-drill": metric,
    "aria-label": t("rp_drill_cell", { n: num(n), what: label }),
    on: { click: () => drill(metric, scope, label) },
  }, num(n)));
}

function avgCell(row, name) {
  const d = durationOf(row, name, state.data.f.business);
  return h("td", { class: "num" }, duration(d.avg));
}

function reportTable(el, { caption, first, rows, cols }) {
  mount(el,
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, first), cols.map((c) => h("th", { scope: "col", class: "num" }, t(c.label))))),
    h("tbody", {}, rows.length ? rows.map((r) => h("tr", r.attrs, h("th", { scope: "row" }, r.name), cols.map((c) => c.cell(r.row, r.scope, r.plain))))
      : h("tr", {}, h("td", { colspan: cols.length + 1, class: "muted" }, t("rp_no_data")))));
}

const count = (key, drillMetric = null, labelKey = null) => ({
  label: labelKey || `rp_m_${key}`,
  cell: (row, scope, name) => (drillMetric && scope ? drillCell(row[key], drillMetric, scope, `${t(labelKey || `rp_m_${key}`)} — ${name}`) : h("td", { class: "num" }, num(row[key]))),
});
const avg = (name, label) => ({ label, cell: (row) => avgCell(row, name) });
const share = (get, label) => ({ label, cell: (row) => h("td", { class: "num" }, percent(get(row))) });
const score = (get, label) => ({ label, cell: (row) => h("td", { class: "num" }, num(get(row), 2)) });

function renderTables() {
  const { teams, agents, channels } = state.data;
  const teamName = (id) => (id ? state.teams.get(id)?.name || `#${id}` : t("rp_no_team"));
  reportTable($("#teams-table"), {
    caption: t("rp_teams"), first: t("team"),
    rows: teams.map((row) => ({
      row, attrs: { "data-team-id": row.team_id ?? "" }, name: h("bdi", {}, teamName(row.team_id)), plain: teamName(row.team_id),
      scope: row.team_id ? { team_id: row.team_id } : null,
    })),
    cols: [count("conversations", "conversations"), count("answered", "answered"), count("abandoned", "abandoned"),
      share((r) => r.service_level, "rp_m_service_level"), count("resolved", "resolved"), count("transfers", "transferred"),
      avg("first_response_seconds", "rp_m_first_response"), avg("resolution_seconds", "rp_m_resolution"),
      score((r) => r.csat.average, "rp_m_csat")],
  });
  const agentName = (id) => (id ? state.users.get(id)?.name || `#${id}` : t("rp_no_agent"));
  reportTable($("#agents-table"), {
    caption: t("rp_agents"), first: t("agent"),
    rows: agents.map((row) => ({
      row, attrs: { "data-agent-id": row.agent_id ?? "" }, name: h("bdi", {}, agentName(row.agent_id)), plain: agentName(row.agent_id),
      scope: row.agent_id ? { agent_id: row.agent_id } : null,
    })),
    cols: [count("inbound_messages"), count("agent_replies"), count("answered", "answered"), count("resolved", "resolved"),
      count("transfers", "transferred"), count("offers_missed"), avg("first_response_seconds", "rp_m_first_response"),
      avg("handle_seconds", "rp_m_handle"), share((r) => r.occupancy, "rp_m_occupancy"),
      share((r) => r.utilisation, "rp_m_utilisation"), score((r) => r.csat.average, "rp_m_csat")],
  });
  const all = channels.reduce((a, r) => a + r.conversations, 0);
  reportTable($("#channels-table"), {
    caption: t("rp_channel_mix"), first: t("channel"),
    rows: channels.map((row) => ({
      row, attrs: { "data-channel": row.channel || "" },
      name: row.channel ? [channelIcon(row.channel), " ", channelName(row.channel)] : t("rp_no_channel"),
      plain: row.channel ? channelName(row.channel) : t("rp_no_channel"), scope: row.channel ? { channel: row.channel } : null,
    })),
    cols: [count("conversations", "conversations"), share((r) => (all ? r.conversations / all : null), "rp_share"),
      count("inbound_messages"), count("outbound_messages"), count("resolved", "resolved"), avg("first_response_seconds", "rp_m_first_response")],
  });
  if (state.data.breakdown) renderBreakdown();
  renderAgentTime();
  $("#csv-summary").setAttribute("href", csvHref("summary"));
  $("#csv-teams").setAttribute("href", csvHref("teams"));
  $("#csv-agents").setAttribute("href", csvHref("agents"));
  $("#csv-channels").setAttribute("href", csvHref("channels"));
}

/** Per category, tier, tag or segment (GET /reports/breakdown): each group's conversations. */
function renderBreakdown() {
  const { breakdown, by } = state.data;
  const param = { category: "category", tier: "tier", tag: "tag", segment: "segment_id" }[by];
  const label = (row) => (by === "category" ? t(`cat_${row.key}`) : row.label || row.key);
  reportTable($("#breakdown-table"), {
    caption: t("rp_breakdown"), first: t(`rp_by_${by}`),
    rows: breakdown.map((row) => ({
      row, attrs: { "data-key": row.key }, name: h("bdi", {}, label(row)), plain: label(row),
      scope: { [param]: row.key, category: by === "category" ? row.key : state.data.f.category },
    })),
    cols: [count("conversations", "conversations"), count("answered", "answered"), count("resolved", "resolved"),
      share((r) => r.first_contact_resolution, "rp_m_first_contact_resolution"),
      avg("first_response_seconds", "rp_m_first_response"), avg("resolution_seconds", "rp_m_resolution"),
      score((r) => r.csat.average, "rp_m_csat")],
  });
  $("#csv-breakdown").setAttribute("href", csvHref("breakdown", { by, category: "" }));
}

/** Time in each presence per agent, in hours: stacked bars. */
function renderAgentTime() {
  const rows = state.data.agents.filter((r) => r.agent_id && r.presence_seconds && r.signed_in_seconds > 0);
  const labels = rows.map((r) => state.users.get(r.agent_id)?.name || `#${r.agent_id}`);
  const colours = { available: "#1b9e5a", busy: "#c0392b", away: "#e0a100", wrap_up: "#7a5cd6" };
  const hours = (v) => Math.round(((v || 0) / 3600) * 100) / 100;
  const datasets = PRESENCE_TIME.map((p) => ({
    label: t(`presence_${p}`), data: rows.map((r) => hours(r.presence_seconds[p])), backgroundColor: colours[p],
  }));
  const options = baseOptions({ yFormat: (v) => v });
  const rtl = getLang() === "ar";
  options.indexAxis = "y";
  options.scales = {
    x: { stacked: true, reverse: rtl, beginAtZero: true, ticks: { callback: (v) => t("dur_h", { n: num(v, 1) }) } },
    y: { stacked: true, position: rtl ? "right" : "left" },
  };
  const total = rows.reduce((a, r) => a + r.signed_in_seconds, 0);
  chartCard($("#chart-agent-time"), {
    id: "agent-time", title: t("rp_chart_agent_time"), type: "bar", labels, datasets,
    fmts: datasets.map(() => (v) => t("dur_h", { n: num(v, 2) })), options,
    csv: [[csvHref("agents"), t("rp_csv_of", { what: t("rp_agents") })]],
    summary: rows.length ? t("rp_chart_agent_time_summary", { n: num(rows.length), hours: duration(total) }) : t("rp_no_data"),
  });
  $("#chart-agent-time .chart-box").classList.toggle("chart-box-tall", rows.length > 6);
}

// --- verbatims ----------------------------------------------------------------------------------
function renderVerbatims() {
  if (!state.data || !state.verbatims) return;
  const { items, next_cursor: next } = state.verbatims;
  mount($("#verbatims-note"), t("rp_verbatims_note"));
  mount($("#verbatims"), items.length
    ? items.map((sv) => h("li", { class: ["verbatim", sv.low_score && "low"], "data-survey-id": sv.id, tabindex: "-1" },
      h("div", { class: "verbatim-head" },
        h("strong", { class: "verbatim-score" }, scoreText(sv.kind, sv.score)), " ",
        h("span", { class: "muted small" }, surveyKindLabel(sv.kind)), " · ",
        h("bdi", { dir: "auto" }, sv.contact_name || t("unknown_customer")), " · ",
        h("span", { class: "muted small" }, dateTime(sv.answered_at))),
      h("p", { class: "verbatim-text", dir: "auto" }, sv.comment),
      h("div", { class: "muted small" },
        sv.agent_id ? h("bdi", {}, state.users.get(sv.agent_id)?.name || `#${sv.agent_id}`) : null,
        sv.conversation_id ? [sv.agent_id ? " · " : null, h("a", { href: `/console#c=${sv.conversation_id}` }, t("rp_conversation_n", { id: sv.conversation_id }))] : null)))
    : h("li", { class: "muted" }, t("rp_no_verbatims")));
  const more = $("#verbatims-more");
  if (more) more.hidden = !next;
}

// --- drill-down -----------------------------------------------------------------------------
function drillDialog(title) {
  const titleId = "drill-title";
  const close = h("button", { type: "button", class: "secondary", id: "drill-close" }, t("close"));
  const more = h("button", { type: "button", class: "secondary", id: "drill-more", hidden: true }, t("crm_more"));
  const dialog = h("dialog", { class: "modal wide drill", id: "drill", "aria-labelledby": titleId },
    h("div", { class: "drill-body" },
      h("div", { class: "drill-head" }, h("h2", { id: titleId }, title), close),
      h("p", { class: "muted small", id: "drill-count", role: "status", "aria-live": "polite" }, t("loading")),
      h("p", { class: "error", id: "drill-error", role: "alert", hidden: true }),
      h("div", { class: "table-wrap" }, h("table", { class: "grid report-table", id: "drill-table" })),
      h("div", { class: "drill-foot" }, more)));
  return { dialog, close, more };
}

async function drill(metric, extra = {}, label = "") {
  if (!state.data) return;
  document.getElementById("drill")?.remove();
  const opener = document.activeElement;
  const { f, p } = state.data;
  const query = { ...scopeQuery(f, p), ...extra, metric, limit: DRILL_PAGE };
  const { dialog, close, more } = drillDialog(t("rp_drill_title", { what: label, period: rangeText(p.since, p.until, p.tz) }));
  document.body.append(dialog);
  const rows = [];
  let cursor = null;
  const finish = () => {
    dialog.close();
    dialog.remove();
    if (opener?.isConnected) opener.focus();
  };
  close.addEventListener("click", finish);
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    finish();
  });
  const teamName = (id) => (id ? state.teams.get(id)?.name || `#${id}` : "—");
  const userName = (id) => (id ? state.users.get(id)?.name || `#${id}` : "—");
  const render = () => {
    mount($("#drill-table", dialog),
      h("thead", {}, h("tr", {}, ["rp_col_conversation", "customer", "channel", "team", "assignee", "status", "rp_col_created", "rp_col_resolved"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, rows.length ? rows.map((c) => h("tr", { "data-conversation-id": c.id },
        h("th", { scope: "row" }, h("a", { href: `/console#c=${c.id}`, class: "conv-link" }, `#${c.id}`)),
        h("td", {}, h("bdi", { dir: "auto" }, c.contact_name || t("unknown_customer"))),
        h("td", {}, c.channel ? [channelIcon(c.channel), " ", channelName(c.channel)] : "—"),
        h("td", {}, h("bdi", {}, teamName(c.team_id))),
        h("td", {}, h("bdi", {}, userName(c.assignee_id))),
        h("td", {}, h("span", { class: ["status-chip", `status-${c.status}`] }, hasString(`status_${c.status}`) ? t(`status_${c.status}`) : c.status)),
        h("td", {}, dateTime(c.created_at)),
        h("td", {}, c.resolved_at ? dateTime(c.resolved_at) : "—")))
        : h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("rp_drill_none")))));
    mount($("#drill-count", dialog), t(cursor ? "rp_drill_count_more" : "rp_drill_count", { n: num(rows.length) }));
    more.hidden = !cursor;
  };
  const page = async () => {
    more.disabled = true;
    const err = $("#drill-error", dialog);
    try {
      const res = await api("/reports/conversations", { query: { ...query, cursor } });
      rows.push(...res.items);
      cursor = res.next_cursor ?? null;
      err.hidden = true;
      render();
    } catch (e) {
      mount(err, reportErrorText(e));
      err.hidden = false;
      mount($("#drill-count", dialog), "");
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", async () => {
    const before = rows.length;
    await page();
    // Keyboard users carry on from the first new row.
    dialog.querySelectorAll("#drill-table tbody tr")[before]?.querySelector("a")?.focus();
  });
  dialog.showModal();
  close.focus();
  await page();
}

// --- everything ---------------------------------------------------------------------------------
function render() {
  const { p } = state.data;
  mount($("#report-period"), periodText(p));
  renderTiles();
  renderCharts();
  renderHeatmap();
  renderTables();
  renderVerbatims();
}

async function loadDirectory() {
  const [users, teams] = (await Promise.all([api("/users"), api("/teams")])).map((page) => page.items);
  state.users = new Map(users.map((u) => [u.id, u]));
  state.teams = new Map(teams.map((tm) => [tm.id, tm]));
}

function onLang() {
  applyLang();
  fillFilters(state.data?.f || filters());
  if (state.data) render();
}

async function main() {
  state.me = await whoAmI();
  setLang(state.me.language || initialLang());
  applyLang();
  topbar({ user: state.me, page: "reports", onLang });
  if (!hasRole(state.me, "supervisor")) {
    mount($("#reports-main"), h("p", { class: "error pad", role: "alert" }, t("err_role_required")));
    return;
  }
  if (window.Chart) {
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#3b4557";
  }
  await Promise.all([loadDirectory(), loadOptions()]);
  fillFilters(fromHash());
  form().addEventListener("change", (e) => {
    if (e.target.name === "range") {
      const custom = e.target.value === "custom";
      for (const label of form().querySelectorAll(".custom-range")) label.hidden = !custom;
      const el = form().elements;
      if (custom && !el.from.value) {
        // Start from the period shown.
        const p = state.data?.p;
        if (p) {
          const a = zoneParts(p.since, p.tz);
          const b = zoneParts(p.until - 1, p.tz);
          el.from.value = isoDate(a.y, a.m, a.d);
          el.to.value = isoDate(b.y, b.m, b.d);
        }
      }
    }
    if (e.target.name === "team_id") fillFilters(filters());
    load();
  });
  $("#verbatims-more").addEventListener("click", () => loadVerbatims(state.seq, true));
  $("#breakdown-by").addEventListener("change", () => {
    history.replaceState(null, "", toHash(filters()));
    if (state.data) loadBreakdown();
  });
  form().addEventListener("submit", (e) => e.preventDefault());
  window.addEventListener("hashchange", () => {
    if (toHash(filters()) === window.location.hash) return;
    fillFilters(fromHash());
    load();
  });
  await load();
}

main().catch((err) => {
  console.error(err);
  showError(err);
});
