// The supervisor's live view: queue figures per team, the agent board and the open
// conversations, refreshed on socket events (debounced) — never by reloading the
// page. Any conversation opens read-only (watched, so its messages stream in) with
// take over, assign, transfer and priority. Escalated and overdue complaints and low
// satisfaction scores are listed live (complaint.* and survey.low_score events).
// The waiting column counts, for queued conversations, since they were queued and,
// for assigned ones, since the customer's first unanswered message
// (GET /live/awaiting-reply). The viewer has a whisper box: a private note to the
// assigned agent, marked as the supervisor's (never sent to the customer).
import { api, whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { ThreadView } from "./console/thread.js";
import { assignDialog, priorityDialog, takeOver, transferDialog } from "./console/actions.js";
import { errorText, toast } from "./dialogs.js";
import { $, debounce, h, mount, remount } from "./dom.js";
import { ageSeconds, channelName, clock, dateTime, number, percent, shortDuration, slaState } from "./format.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { channelIcon } from "./icons.js";
import { HubSocket } from "./socket.js";
import { overdueTasks } from "./supervisor/tasks.js";
import {
  dueText, escalatedMark, loadOptions, nextDue, overdueMark, ratingLine, scoreText, severityBadge, statusChip,
  surveyKindLabel,
} from "./care/common.js";
import { avatar } from "./avatar.js";

const REFRESH_MS = 250;
const OPEN_STATUSES = ["queued", "offered", "assigned", "waiting_on_customer", "snoozed"];
const PRESENCES = ["available", "busy", "away", "wrap_up", "offline"];

const state = {
  me: null,
  users: new Map(),
  teams: new Map(),
  queues: [],
  queuesAt: 0,
  agents: [],
  convs: [],
  viewing: null,
  careComplaints: [],
  lowScores: [],
  contactNames: new Map(),
  awaiting: new Map(), // conversation id -> since (ISO) of the first unanswered customer message
};
const socket = new HubSocket();
const viewer = new ThreadView($("#viewer-thread"), state);

// --- data --------------------------------------------------------------------------------
async function loadDirectory() {
  const [users, teams] = (await Promise.all([api("/users"), api("/teams")])).map((page) => page.items);
  state.users = new Map(users.map((u) => [u.id, u]));
  state.teams = new Map(teams.map((tm) => [tm.id, tm]));
}

async function refresh() {
  try {
    const [queues, agents, convs, awaiting] = await Promise.all([
      api("/queues"),
      api("/agents/live"),
      api("/conversations", { query: { status: OPEN_STATUSES, limit: 200 } }),
      api("/live/awaiting-reply"),
    ]);
    state.awaiting = new Map(awaiting.items.map((a) => [a.conversation_id, a.since]));
    state.queues = queues.items;
    state.queuesAt = Date.now();
    state.agents = agents.items;
    state.convs = convs.items;
    for (const a of state.agents) {
      const u = state.users.get(a.user_id);
      if (u) u.presence = a.presence;
    }
    render();
  } catch (err) {
    toast(errorText(err), { kind: "error" });
  }
}
const refreshSoon = debounce(refresh, REFRESH_MS);

/** The waiting column's data alone: on message events (a customer writes, an agent
 *  answers) and every AWAITING_MS, as the floor sees no message events of threads it
 *  does not watch. */
async function refreshAwaiting() {
  try {
    const awaiting = await api("/live/awaiting-reply");
    state.awaiting = new Map(awaiting.items.map((a) => [a.conversation_id, a.since]));
    renderConversations();
  } catch (err) {
    console.warn("awaiting-reply", err);
  }
}
const refreshAwaitingSoon = debounce(refreshAwaiting, REFRESH_MS);
const AWAITING_MS = 15000;

/** Escalated or overdue open complaints, and the latest low scores. */
async function refreshCare() {
  try {
    const [escalated, overdue, low] = await Promise.all([
      api("/complaints", { query: { status: "open", escalated: true, limit: 50 } }),
      api("/complaints", { query: { status: "open", overdue: true, limit: 50 } }),
      api("/surveys", { query: { low_score: true, limit: 20 } }),
    ]);
    const byId = new Map();
    for (const c of [...escalated.items, ...overdue.items]) byId.set(c.id, c);
    state.careComplaints = [...byId.values()].sort((a, b) => Number(Boolean(b.escalated_at)) - Number(Boolean(a.escalated_at)) || a.id - b.id);
    state.lowScores = low;
    await nameContacts(low.map((sv) => sv.contact_id));
    renderCare();
  } catch (err) {
    toast(errorText(err), { kind: "error" });
  }
}
const refreshCareSoon = debounce(refreshCare, REFRESH_MS);

/** Survey answers carry the customer's id only: look their names up once. */
async function nameContacts(ids) {
  const missing = [...new Set(ids)].filter((id) => !state.contactNames.has(id));
  await Promise.all(missing.map(async (id) => {
    try {
      state.contactNames.set(id, (await api(`/contacts/${id}`)).name || "");
    } catch {
      state.contactNames.set(id, "");
    }
  }));
}

// --- rendering -----------------------------------------------------------------------------
function render() {
  renderCare();
  renderQueues();
  renderAgents();
  renderConversations();
  if (state.viewing) renderViewerHeader();
}

function th(key) {
  return h("th", { scope: "col" }, t(key));
}

/** Longest wait keeps counting between refreshes. */
function longestWait(q) {
  if (!(q.waiting + q.offered)) return 0;
  return q.longest_wait_seconds + (Date.now() - state.queuesAt) / 1000;
}

function renderQueues() {
  const head = h("thead", {}, h("tr", {},
    th("team"), th("q_waiting"), th("q_longest"), th("q_offered"), th("q_in_progress"), th("q_service_level"),
    th("q_answered"), th("q_agents"), th("q_estimated")));
  const rows = state.queues.map((q) => h("tr", { "data-team-id": q.team_id },
    h("th", { scope: "row" }, h("bdi", {}, q.team_name)),
    h("td", { "data-col": "waiting", class: q.waiting ? "hot" : null }, number(q.waiting)),
    h("td", { "data-col": "longest", class: "num" }, longestWait(q) ? clock(longestWait(q)) : "—"),
    h("td", { "data-col": "offered" }, number(q.offered)),
    h("td", { "data-col": "in_progress" }, number(q.in_progress)),
    h("td", { "data-col": "service_level" },
      percent(q.service_level_today),
      q.service_level_today !== null ? h("meter", { min: 0, max: 1, low: 0.7, high: 0.8, optimum: 1, value: q.service_level_today, "aria-hidden": "true" }) : null),
    h("td", { "data-col": "answered" }, number(q.answered_today)),
    h("td", { "data-col": "agents" },
      h("span", { class: "presence-counts" },
        ["available", "busy", "away"].map((p) => h("span", { class: ["pc", `presence-${p}`], title: t(`presence_${p}`) },
          h("span", { class: "presence-dot", "aria-hidden": "true" }), `${t(`presence_${p}`)} ${number(q.agents[p] || 0)}`)))),
    h("td", { "data-col": "estimated" }, q.estimated_wait_seconds === null || q.estimated_wait_seconds === undefined ? "—" : shortDuration(q.estimated_wait_seconds))));
  remount($("#queues"), h("caption", { class: "visually-hidden" }, t("queues")), head,
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 9, class: "muted" }, t("no_teams")))));
}

function loadCell(a) {
  const channels = new Set([...Object.keys(a.load), ...Object.keys(a.capacity || {}).filter((ch) => a.load[ch])]);
  if (!channels.size) return h("span", { class: "muted" }, "0");
  return h("span", { class: "loads" }, [...channels].map((ch) =>
    h("span", { class: "load", title: channelName(ch) }, channelIcon(ch), ` ${a.load[ch] || 0}${a.capacity?.[ch] !== undefined ? `/${a.capacity[ch]}` : ""}`)));
}

function renderAgents() {
  const head = h("thead", {}, h("tr", {}, th("agent"), th("presence"), th("a_connected"), th("a_load"), th("a_conversations")));
  const rows = state.agents.map((a) => {
    const total = Object.values(a.load).reduce((x, y) => x + y, 0);
    const presence = h("select", {
      "aria-label": t("presence_of", { name: a.name }), class: "presence-select",
      on: {
        change: async (e) => {
          try {
            await api(`/users/${a.user_id}/presence`, { method: "PUT", body: { presence: e.target.value } });
          } catch (err) {
            toast(errorText(err), { kind: "error" });
            refreshSoon();
          }
        },
      },
    }, PRESENCES.map((p) => h("option", { value: p, selected: p === a.presence }, t(`presence_${p}`))));
    return h("tr", { "data-agent-id": a.user_id, "data-presence": a.presence },
      h("th", { scope: "row" }, avatar({ id: a.user_id, name: a.name }, { size: "xs", decorative: true }), " ", h("bdi", {}, a.name), h("span", { class: "muted small" }, ` ${t(`role_${a.role}`)}`)),
      h("td", { "data-col": "presence", class: `presence-${a.presence}` }, h("span", { class: "presence-dot", "aria-hidden": "true" }), presence),
      h("td", { "data-col": "connected" }, a.connected ? t("yes") : t("no")),
      h("td", { "data-col": "load" }, h("span", { class: "load-total visually-hidden" }, String(total)), loadCell(a)),
      h("td", { "data-col": "conversations" },
        a.conversations.length
          ? h("ul", { class: "inline-list" }, a.conversations.map((c) => h("li", {},
            h("button", { type: "button", class: "link", "data-open": c.id, on: { click: () => openConversation(c.id) } },
              channelIcon(c.channel), " ", h("bdi", {}, c.contact_name || `#${c.id}`)))))
          : h("span", { class: "muted" }, "—")));
  });
  remount($("#agents"), h("caption", { class: "visually-hidden" }, t("agents")), head,
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("no_agents")))));
}

function renderConversations() {
  const head = h("thead", {}, h("tr", {}, th("customer"), th("channel"), th("team"), th("status"), th("assignee"), th("q_waiting_time"), th("sla"), th("priority")));
  const order = { queued: 0, offered: 1, assigned: 2, waiting_on_customer: 3, snoozed: 4 };
  const convs = [...state.convs].sort((a, b) => order[a.status] - order[b.status] || b.priority - a.priority || a.id - b.id);
  const rows = convs.map((c) => {
    const sla = slaState(c);
    const since = waitingSince(c);
    const waiting = since ? ageSeconds(since) : null;
    return h("tr", { "data-conversation-id": c.id, class: state.viewing?.id === c.id ? "current" : null },
      h("th", { scope: "row" }, h("button", { type: "button", class: "link", "data-open": c.id, on: { click: () => openConversation(c.id) } },
        h("bdi", {}, c.contact_name || c.contact_address || `#${c.id}`))),
      h("td", {}, channelIcon(c.channel)),
      h("td", {}, h("bdi", {}, state.teams.get(c.team_id)?.name || "—")),
      h("td", {}, h("span", { class: ["status-chip", `status-${c.status}`] }, t(`status_${c.status}`))),
      h("td", {}, h("bdi", {}, state.users.get(c.assignee_id)?.name || "—")),
      h("td", { class: "wait", "data-col": "waiting", "data-since": since || null, title: since ? t(queuedNow(c) ? "sup_wait_queued" : "sup_wait_reply") : null },
        waiting !== null ? shortDuration(waiting) : "—"),
      h("td", { class: ["sla-cell", sla?.breached && "breached"] }, sla ? clock(sla.remaining) : "—"),
      h("td", {}, String(c.priority)));
  });
  remount($("#open-convs"), h("caption", { class: "visually-hidden" }, t("open_conversations")), head,
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("none")))));
}

function queuedNow(c) {
  return c.status === "queued" || c.status === "offered";
}

/** Since when the customer waits: in the queue since queued; with an agent since their
 *  first message nobody has answered yet (null: not waiting on us). */
function waitingSince(c) {
  if (queuedNow(c)) return c.queued_at || c.created_at;
  return state.awaiting.get(c.id) || null;
}

function renderCare() {
  const owner = (c) => (c.assignee_id ? state.users.get(c.assignee_id)?.name || `#${c.assignee_id}` : state.teams.get(c.team_id)?.name || "—");
  const complaints = state.careComplaints.map((c) => {
    const due = nextDue(c);
    return h("tr", { "data-complaint-id": c.id, class: c.escalated_at ? "escalated" : null },
      h("th", { scope: "row" }, h("a", { href: `/complaints#complaint=${c.id}`, class: "complaint-link" }, h("bdi", { dir: "ltr" }, c.reference))),
      h("td", {}, h("bdi", { dir: "auto" }, c.contact_name || t("unknown_customer"))),
      h("td", {}, statusChip(c.status)),
      h("td", {}, severityBadge(c.severity)),
      h("td", {}, h("bdi", {}, owner(c))),
      h("td", {}, due ? dueText(c, due.at) : "—"),
      h("td", { class: "marks" }, escalatedMark(c), overdueMark(c)));
  });
  remount($("#care-complaints"),
    h("thead", {}, h("tr", {}, th("cmp_reference"), th("customer"), th("status"), th("cmp_f_severity"), th("cmp_owner"), th("cmp_due"), th("cmp_why"))),
    h("tbody", {}, complaints.length ? complaints : h("tr", {}, h("td", { colspan: 7, class: "muted" }, t("care_none_complaints")))));
  const scores = state.lowScores.map((sv) => {
    const name = state.contactNames.get(sv.contact_id) || t("unknown_customer");
    return h("tr", { "data-survey-id": sv.id },
      h("td", {}, sv.answered_at ? dateTime(sv.answered_at) : "—"),
      h("th", { scope: "row" }, sv.conversation_id
        ? h("button", { type: "button", class: "link", "data-open": sv.conversation_id, on: { click: () => openConversation(sv.conversation_id) } },
          channelIcon(sv.channel), " ", h("bdi", { dir: "auto" }, name))
        : h("bdi", { dir: "auto" }, name)),
      h("td", { class: "score-cell" }, h("strong", {}, scoreText(sv.kind, sv.score)), " ", h("span", { class: "muted small" }, surveyKindLabel(sv.kind))),
      h("td", {}, sv.comment ? h("bdi", { dir: "auto", class: "survey-comment" }, sv.comment) : "—"),
      h("td", {}, h("bdi", {}, state.users.get(sv.agent_id)?.name || "—")),
      h("td", {}, h("bdi", {}, state.teams.get(sv.team_id)?.name || "—")));
  });
  remount($("#low-scores"),
    h("thead", {}, h("tr", {}, th("sv_when"), th("customer"), th("sv_score_h"), th("sv_comment"), th("agent"), th("team"))),
    h("tbody", {}, scores.length ? scores : h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("care_none_scores")))));
}

// --- read-only conversation view ---------------------------------------------------------------
let openedFrom = null;
async function openConversation(id) {
  // Which table it was opened from, to give focus back there on close.
  openedFrom = document.activeElement?.closest?.("#floor table")?.id || null;
  if (state.viewing && state.viewing.id !== id) socket.signal("unwatch", { conversation_id: state.viewing.id });
  let conv;
  try {
    conv = await api(`/conversations/${id}`);
  } catch (err) {
    toast(errorText(err), { kind: "error" });
    return;
  }
  state.viewing = conv;
  socket.signal("watch", { conversation_id: id });
  $("#viewer").hidden = false;
  document.body.classList.add("viewing");
  renderViewerHeader();
  renderWhisper();
  renderConversations();
  await viewer.load(conv);
  loadViewerSurveys(id);
  $("#viewer-title")?.focus();
}

async function loadViewerSurveys(id) {
  try {
    const surveys = await api("/surveys", { query: { conversation_id: id, limit: 20 } });
    if (state.viewing?.id === id) viewer.setSurveys(surveys);
  } catch (err) {
    console.warn("surveys", err);
  }
}

function closeViewer() {
  const id = state.viewing?.id;
  if (state.viewing) socket.signal("unwatch", { conversation_id: state.viewing.id });
  state.viewing = null;
  viewer.clear();
  renderWhisper();
  $("#viewer").hidden = true;
  document.body.classList.remove("viewing");
  renderConversations();
  // Back where the conversation was opened from (on a narrow screen the floor was
  // hidden behind the viewer, so focus would otherwise fall to the page).
  const opener = id !== undefined &&
    (document.querySelector(`#${openedFrom || "open-convs"} [data-open="${id}"]`) || document.querySelector(`#floor [data-open="${id}"]`));
  if (opener) opener.focus();
}

async function reloadViewed() {
  if (!state.viewing) return;
  try {
    state.viewing = await api(`/conversations/${state.viewing.id}`);
    viewer.conv = state.viewing;
    renderViewerHeader();
  } catch (err) {
    if (err.status === 403 || err.status === 404) closeViewer();
  }
}

function renderViewerHeader() {
  const c = state.viewing;
  if (!c) return;
  const open = OPEN_STATUSES.includes(c.status);
  const run = (fn) => async () => {
    try {
      if (await fn()) refreshSoon();
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  };
  // Live updates re-render the header: keep focus on the element that had it.
  const header = $("#viewer-header");
  const focused = header.contains(document.activeElement) ? document.activeElement.id : null;
  mount(header,
    h("div", { class: "thread-title-row" },
      channelIcon(c.channel),
      h("h2", { id: "viewer-title", tabindex: -1 }, h("bdi", {}, c.contact_name || c.contact_address), h("span", { class: "muted" }, ` #${c.id}`)),
      h("span", { class: ["status-chip", `status-${c.status}`] }, t(`status_${c.status}`)),
      h("span", { class: "muted" }, c.assignee_id ? t("assigned_to", { name: state.users.get(c.assignee_id)?.name || "?" }) : t("unassigned")),
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "secondary", id: "viewer-close", "aria-label": t("close"), on: { click: closeViewer } }, "×")),
    ratingLine(c, { id: "viewer-rating" }),
    h("div", { class: "thread-actions", role: "toolbar", "aria-label": t("actions") },
      h("button", { type: "button", class: "primary", id: "take-over", disabled: !open || c.assignee_id === state.me.id, on: { click: run(async () => takeOver(c, state.me)) } }, t("take_over")),
      h("button", { type: "button", class: "secondary", id: "assign", disabled: !open, on: { click: run(() => assignDialog(c, state)) } }, t("assign")),
      h("button", { type: "button", class: "secondary", id: "sv-transfer", disabled: !open, on: { click: run(() => transferDialog(c, state)) } }, t("transfer")),
      h("button", { type: "button", class: "secondary", id: "priority", disabled: !open, on: { click: run(() => priorityDialog(c)) } }, t("priority_n", { n: c.priority })),
      h("a", { href: `/console#c=${c.id}`, class: "button-link" }, t("open_in_console"))));
  if (focused) document.getElementById(focused)?.focus();
}

// --- whisper: a private note to the agent, from the watch view ----------------------------------
const WHISPER_MAX = 65536;

function renderWhisper() {
  const c = state.viewing;
  const box = $("#whisper");
  if (!c) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const text = h("textarea", {
    id: "whisper-body", name: "body", rows: 2, dir: "auto", maxlength: WHISPER_MAX, required: true,
    placeholder: t("sup_whisper_placeholder"), "aria-describedby": "whisper-hint whisper-error",
  });
  const error = h("p", { id: "whisper-error", class: "error", role: "alert", hidden: true });
  const send = h("button", { type: "submit", class: "primary", id: "whisper-send" }, t("sup_whisper_send"));
  // One translated message, under the box it is about (never the server's raw text twice).
  const fieldError = (err) => {
    if (!err) {
      text.removeAttribute("aria-invalid");
      error.hidden = true;
      return;
    }
    text.setAttribute("aria-invalid", "true");
    mount(error, errorText(err));
    error.hidden = false;
    text.focus();
  };
  const form = h("form", {
    class: "whisper-form", "aria-labelledby": "whisper-label", novalidate: true,
    on: {
      submit: async (e) => {
        e.preventDefault();
        fieldError(null);
        const body = text.value;
        if (!body.trim()) {
          fieldError({ code: "empty_body" });
          return;
        }
        send.disabled = true;
        try {
          const m = await api(`/conversations/${c.id}/whisper`, { method: "POST", body: { body } });
          text.value = "";
          if (state.viewing?.id === c.id) viewer.addMessage(m);
          toast(t("sup_whisper_sent", { name: state.users.get(c.assignee_id)?.name || t("unassigned") }));
        } catch (err) {
          fieldError(err);
        } finally {
          send.disabled = false;
        }
      },
    },
  },
  h("label", { for: "whisper-body", id: "whisper-label", class: "whisper-label" }, t("sup_whisper_label")),
  h("p", { id: "whisper-hint", class: "muted small" },
    c.assignee_id ? t("sup_whisper_hint", { name: state.users.get(c.assignee_id)?.name || "?" }) : t("sup_whisper_hint_team")),
  h("div", { class: "whisper-row" }, text, send),
  error);
  text.addEventListener("keydown", (e) => {
    // Ctrl/⌘+Enter sends, as in the console's composer.
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  mount(box, form);
}

// --- events ------------------------------------------------------------------------------------
function onEvent({ event: e, replayed }) {
  const type = e.type;
  if (type.startsWith("complaint.") || type.startsWith("survey.")) {
    const p = e.payload || {};
    if (type.startsWith("complaint.") || type === "survey.low_score") refreshCareSoon();
    if (type === "survey.low_score" && !replayed) {
      toast(t("sv_low_toast", { score: scoreText(p.kind, p.score), id: p.conversation_id ?? "—" }), { kind: "warn", ms: 10000 });
    }
    if (type === "complaint.escalated" && !replayed) {
      toast(t("cmp_escalated_toast", { reference: p.reference, stage: t(`cmp_stage_${p.reason}`) }), { kind: "warn", ms: 10000 });
    }
    if (type.startsWith("survey.") && state.viewing && p.conversation_id === state.viewing.id) loadViewerSurveys(state.viewing.id);
    return;
  }
  if (type.startsWith("conversation.") || type.startsWith("offer.") || type === "presence.changed" ||
      type === "agent.connected" || type === "agent.disconnected" || type === "queue.stats") {
    refreshSoon();
  }
  if (type === "user.updated" || type === "team.updated") loadDirectory().then(refreshSoon);
  if (type === "message.received" || type === "message.created") refreshAwaitingSoon();
  const v = state.viewing;
  if (!v || (e.conversation_id ?? e.payload?.conversation_id) !== v.id) return;
  if (type === "message.received" || type === "message.created") viewer.addMessage(e.payload);
  else if (type === "message.status") viewer.updateStatus(e.payload);
  else if (type.startsWith("conversation.")) {
    viewer.addEvent(e);
    reloadViewed();
  }
}

function tick() {
  for (const row of document.querySelectorAll("#queues tr[data-team-id]")) {
    const q = state.queues.find((x) => String(x.team_id) === row.dataset.teamId);
    const cell = row.querySelector('[data-col="longest"]');
    if (q && cell) cell.textContent = longestWait(q) ? clock(longestWait(q)) : "—";
  }
  for (const cell of document.querySelectorAll("#open-convs td.wait[data-since]")) {
    const row = cell.closest("tr");
    const c = state.convs.find((x) => String(x.id) === row.dataset.conversationId);
    if (c && waitingSince(c)) cell.textContent = shortDuration(ageSeconds(cell.dataset.since));
  }
}

function rerender() {
  applyLang();
  render();
  state.overdueTasks?.render();
  if (state.viewing) {
    const id = state.viewing.id;
    viewer.load(state.viewing).then(() => loadViewerSurveys(id));
  }
}

async function main() {
  state.me = await whoAmI();
  setLang(state.me.language || initialLang());
  applyLang();
  topbar({ user: state.me, page: "supervisor", socket, onLang: rerender });
  if (!hasRole(state.me, "supervisor")) {
    mount($("#floor"), h("p", { class: "error pad", role: "alert" }, t("err_role_required")));
    return;
  }
  socket.addEventListener("event", (e) => onEvent(e.detail));
  socket.addEventListener("hello", (e) => {
    // After a reconnect, refetch the figures (cheap) and renew the watch.
    if (e.detail.resumed || e.detail.reload) {
      refreshSoon();
      refreshCareSoon();
      if (state.viewing) viewer.catchUp();
    }
    if (state.viewing) socket.signal("watch", { conversation_id: state.viewing.id });
  });
  socket.start();
  await Promise.all([loadDirectory(), loadOptions()]);
  await Promise.all([refresh(), refreshCare()]);
  state.overdueTasks = overdueTasks($("#tk-overdue"), { socket, users: () => state.users, onOpen: openConversation });
  setInterval(tick, 1000);
  setInterval(refreshAwaiting, AWAITING_MS);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.viewing && !document.querySelector("dialog[open]")) closeViewer();
  });
}

main().catch((err) => {
  console.error(err);
  toast(errorText(err), { kind: "error", ms: 60000 });
});
