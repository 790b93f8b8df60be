// The complaints board (/complaints): every complaint the user may see, filtered by
// status, severity, category, team, age, overdue and escalated — "My complaints" first
// for agents, everything for supervisors. A row opens the complaint's panel beside the
// table (#complaint=ID keeps it in the address). Live: complaint.* events refresh the
// table and the open complaint; the page never reloads.
import { api, whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { clearFormError, errorText, showFormError, toast } from "./dialogs.js";
import { $, debounce, h, mount } from "./dom.js";
import { ageSeconds, number, shortDate, shortDuration } from "./format.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { icon } from "./icons.js";
import { HubSocket } from "./socket.js";
import {
  STATUSES, dueText, escalatedMark, loadOptions, optionLabel, optionText, optionsOf, overdueMark, severityBadge,
  statusChip, statusLabel,
} from "./care/common.js";
import { ComplaintPanel } from "./care/panel.js";

const PAGE = 50;

const state = {
  me: null,
  users: new Map(),
  teams: new Map(),
  rows: [],
  cursor: null,
  seq: 0,
};
const socket = new HubSocket();
let panel;

async function loadDirectory() {
  const [users, teams] = (await Promise.all([api("/users"), api("/teams")])).map((page) => page.items);
  state.users = new Map(users.map((u) => [u.id, u]));
  state.teams = new Map(teams.map((tm) => [tm.id, tm]));
}

function form() {
  return $("#complaint-filters");
}

function query() {
  const f = form().elements;
  return {
    status: f.status.value,
    severity: f.severity.value,
    category: f.category.value,
    team_id: f.team_id.value,
    mine: f.mine.checked ? "true" : "",
    overdue: f.overdue.checked ? "true" : "",
    escalated: f.escalated.checked ? "true" : "",
    min_age_days: f.min_age_days.value.trim(),
  };
}

function fillFilters() {
  const fill = (sel, options) => {
    const keep = sel.options.length ? sel.value : options[0][0];
    mount(sel, options.map(([value, label]) => h("option", { value }, label)));
    sel.value = options.some(([value]) => value === keep) ? keep : options[0][0];
  };
  fill($("#f-status"), [["open", t("cmp_open_ones")], ["", t("crm_all")], ...STATUSES.map((s) => [s, statusLabel(s)])]);
  fill($("#f-severity"), [["", t("crm_all")], ...optionsOf("severity").map((o) => [o.key, optionText(o)])]);
  fill($("#f-category"), [["", t("crm_all")], ...optionsOf("category", { parent: null }).map((o) => [o.key, optionText(o)])]);
  fill($("#f-team"), [["", t("crm_all")], ...[...state.teams.values()].map((tm) => [String(tm.id), tm.name])]);
}

function owner(c) {
  if (c.assignee_id) return h("bdi", {}, state.users.get(c.assignee_id)?.name || `#${c.assignee_id}`);
  const team = state.teams.get(c.team_id)?.name;
  return team ? [h("bdi", {}, team), " ", h("span", { class: "muted small" }, t("cmp_unowned"))] : h("span", { class: "muted" }, t("cmp_unowned"));
}

function currentId() {
  return Number((window.location.hash.match(/^#complaint=(\d+)$/) || [])[1]) || null;
}

function renderTable() {
  const columns = ["cmp_reference", "customer", "status", "cmp_f_severity", "cmp_f_category", "cmp_owner",
    "cmp_response_due", "cmp_resolution_due", "cmp_opened"];
  const head = h("thead", {}, h("tr", {}, columns.map((k) => h("th", { scope: "col" }, t(k)))));
  const table = $("#complaint-table");
  if (!state.rows.length) {
    mount(table, head, h("tbody", {}, h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, t("cmp_none_found")))));
    return;
  }
  const open = currentId();
  const cell = (key, ...children) => h("td", { "data-label": t(key) }, ...children);
  mount(table, head, h("tbody", {}, state.rows.map((c) => h("tr", {
    "data-complaint-id": c.id,
    class: [c.id === open && "current", c.escalated_at && "escalated", c.overdue && "overdue"],
  },
  h("th", { scope: "row" },
    h("a", { href: `#complaint=${c.id}`, class: "complaint-link" }, h("bdi", { dir: "ltr" }, c.reference)), " ",
    escalatedMark(c)),
  cell("customer", h("bdi", { dir: "auto" }, c.contact_name || t("unknown_customer"))),
  cell("status", statusChip(c.status), " ", overdueMark(c)),
  cell("cmp_f_severity", severityBadge(c.severity)),
  cell("cmp_f_category", optionLabel("category", c.category),
    c.subcategory ? h("span", { class: "muted small" }, ` · ${optionLabel("category", c.subcategory)}`) : null),
  cell("cmp_owner", owner(c)),
  cell("cmp_response_due", c.responded_at
    ? h("span", { class: "muted small" }, icon("check"), t("cmp_answered"))
    : dueText(c, c.response_due_at)),
  cell("cmp_resolution_due", dueText(c, c.resolution_due_at, { done: c.resolved_at })),
  cell("cmp_opened", h("span", { class: "opened-on" }, shortDate(c.created_at)), " ",
    h("span", { class: "muted small age" }, t("cmp_age", { age: shortDuration(ageSeconds(c.created_at) ?? 0) }))),
  ))));
}

/** Load the list: the first page, more pages, or (live) as many rows as are shown. */
// The query the list shows (or is being fetched for). A field's change event fires
// when it loses focus, which a click on a row does: searching again for the same
// query would redraw the table between the click's mousedown and its mouseup and
// lose the click. So typing and change events search only for a new query.
let shown = null;

async function search({ more = false, keep = false, ifChanged = false } = {}) {
  const key = JSON.stringify(query());
  if (ifChanged && key === shown) return;
  shown = key;
  const mine = ++state.seq;
  const box = $("#complaint-count");
  clearFormError(form(), h("p"));
  box.classList.remove("error");
  const age = query().min_age_days;
  if (age && !(/^\d+$/.test(age) && Number(age) <= 3650)) {
    // Said here, in the page's language, before the hub would refuse it.
    showFormError(form(), box, { code: "validation_error", fields: [{ field: "min_age_days", code: "cmp_bad_age" }] });
    box.classList.add("error");
    return;
  }
  const limit = keep ? Math.min(200, Math.max(PAGE, state.rows.length)) : PAGE;
  try {
    const page = await api("/complaints", { query: { ...query(), limit, before: more ? state.cursor : null } });
    if (mine !== state.seq) return;
    state.rows = more ? [...state.rows, ...page.items] : page.items;
    state.cursor = page.next_cursor;
    const n = number(state.rows.length);
    box.textContent = t("cmp_count", { n: state.cursor ? `${n}+` : n });
    $("#more").hidden = !state.cursor;
    renderTable();
  } catch (err) {
    if (mine !== state.seq) return;
    // A refused filter (the age) is marked next to its input, in the page's language.
    showFormError(form(), box, err);
    box.classList.add("error");
  }
}

const reloadSoon = debounce(() => search({ keep: true }), 250);

function openFromHash() {
  const id = currentId();
  const pane = $("#complaints");
  for (const tr of document.querySelectorAll("#complaint-table [data-complaint-id]")) {
    tr.classList.toggle("current", Number(tr.dataset.complaintId) === id);
  }
  if (!id) {
    pane.dataset.view = "list";
    return;
  }
  pane.dataset.view = "complaint";
  panel.load(id).then(() => $("#complaint-pane").focus({ preventScroll: true }));
}

function onEvent({ event: e }) {
  if (!e.type.startsWith("complaint.")) {
    if (e.type === "user.updated" || e.type === "team.updated") loadDirectory().then(() => { fillFilters(); renderTable(); });
    return;
  }
  reloadSoon();
  if (panel.c && panel.c.id === e.payload?.complaint_id) panel.refresh({ byMe: e.actor_id === state.me.id });
}

function rerender() {
  applyLang();
  fillFilters();
  renderTable();
  const box = $("#complaint-count");
  if (!box.classList.contains("error")) box.textContent = t("cmp_count", { n: number(state.rows.length) + (state.cursor ? "+" : "") });
  panel.render();
}

async function main() {
  state.me = await whoAmI();
  setLang(state.me.language || initialLang());
  applyLang();
  topbar({ user: state.me, page: "complaints", socket, onLang: rerender });
  await Promise.all([loadDirectory(), loadOptions()]);
  panel = new ComplaintPanel($("#complaint"), { dir: state, onChanged: () => reloadSoon() });
  fillFilters();
  // Agents start with their own complaints; supervisors with everything they may see.
  $("#f-mine").checked = !hasRole(state.me, "supervisor");
  const f = form();
  f.addEventListener("submit", (e) => { e.preventDefault(); search(); });
  f.addEventListener("change", () => search({ ifChanged: true }));
  f.addEventListener("input", debounce((e) => { if (e.target.name === "min_age_days") search({ ifChanged: true }); }, 300));
  $("#more").addEventListener("click", () => search({ more: true }));
  $("#complaint-table").addEventListener("click", (e) => {
    // The whole row opens the complaint; its reference is the keyboard's link.
    const row = e.target.closest("tr[data-complaint-id]");
    if (!row || e.target.closest("a")) return;
    window.location.hash = `#complaint=${row.dataset.complaintId}`;
  });
  for (const back of document.querySelectorAll(".pane-bar .back")) back.prepend(icon("back"));
  $("#back-to-complaints").addEventListener("click", () => {
    const id = currentId();
    history.replaceState(null, "", window.location.pathname);
    $("#complaints").dataset.view = "list";
    (document.querySelector(`#complaint-table [data-complaint-id="${id}"] .complaint-link`) || $("#f-status")).focus();
  });
  window.addEventListener("hashchange", openFromHash);

  // Load after the socket's first hello: nothing falls between the list and the stream,
  // and due times are judged by the hub's clock.
  let firstHello;
  const helloSeen = new Promise((resolve) => (firstHello = resolve));
  socket.addEventListener("hello", (e) => {
    firstHello();
    if (e.detail.resumed || e.detail.reload) {
      reloadSoon();
      if (panel.c) panel.refresh();
    }
  });
  socket.addEventListener("event", (e) => onEvent(e.detail));
  socket.start();
  await Promise.race([helloSeen, new Promise((r) => setTimeout(r, 4000))]);
  await search();
  openFromHash();
}

main().catch((err) => {
  console.error(err);
  toast(errorText(err), { kind: "error", ms: 60000 });
});
