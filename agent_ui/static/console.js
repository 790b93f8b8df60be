// The agent console: my conversations and the team queue (left), the thread and
// composer (centre), the customer (right); offers pop up on top. State is loaded
// over REST once and then kept current by the socket's events; every event handler
// is idempotent because a reconnect may replay what a REST reload already showed.
import { api, whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { ThreadView, campaignChip, emptyThread } from "./console/thread.js";
import { Composer, renderComposerSkeleton } from "./console/composer.js";
import { ContactPanel } from "./console/contact.js";
import { OfferTray } from "./console/offers.js";
import { OPEN, lastActivity, renderList, tickList } from "./console/list.js";
import { reopen, resolveDialog, snoozeDialog, takeOver, transferDialog } from "./console/actions.js";
import { installShortcuts, showHelp } from "./console/shortcuts.js";
import { errorText, toast } from "./dialogs.js";
import { $, debounce, h, mount, patch } from "./dom.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { channelIcon, icon } from "./icons.js";
import { HubSocket } from "./socket.js";
import { greetingHint, loadTiers, tierBadges } from "./crm/badges.js";
import { CareBox } from "./console/complaints.js";
import { loadOptions, ratingLine, scoreText } from "./care/common.js";
import { labelAdder, labelChips, labelFilter, labelName, loadLabels } from "./console/labels.js";
import { SearchPanel } from "./console/search.js";
import { firstRunInto } from "./admin/checklist.js";
import { NotificationBell } from "./console/notifications.js";
import { ChatPanel } from "./console/chat.js";
import { TasksPanel } from "./console/tasks.js";
import { handoverDialog } from "./console/handover.js";
import { MacrosMenu } from "./console/macros.js";

const PRESENCES = ["available", "busy", "away", "offline"];

const state = {
  me: null,
  users: new Map(),
  teams: new Map(),
  convs: new Map(),
  tab: "mine",
  currentId: null,
  closedLoaded: false,
  ready: false,
  buffered: [],
  allChannels: false,
  contactConvs: [],
  contactShownFor: null,
  changes: new Map(), // conversation id -> events seen (to spot answers that predate one)
  typingTimer: null,
  label: null, // the list's label filter (a key), or null for all
};

const socket = new HubSocket();
const listEl = $("#conv-list");
const consoleEl = $("#console");
// Keep in step with console.css: a phone shows one pane; a tablet hides the customer.
const PHONE = window.matchMedia("(max-width: 640px)");
const TABLET = window.matchMedia("(max-width: 1100px)");
const thread = new ThreadView($("#thread"), state);
let composer;
let contact;
let offers;
let care;
let presenceSelect;
let search; // the search box, filters and saved views above the list (console/search.js)
let bell; // the notification centre
let tasks; // the tasks panel and the thread's "Add task" (console/tasks.js)
const macros = new MacrosMenu({ current: () => current(), canHandle: (c) => canHandle(c) }); // console/macros.js

// --- who may do what (the hub enforces it; the UI only avoids offering dead buttons) ---
function isMine(c) {
  return c.assignee_id === state.me.id;
}

function inMyTeams(c) {
  return state.me.role === "admin" || state.me.team_ids.includes(c.team_id);
}

function canHandle(c) {
  return OPEN.has(c.status) && c.status !== "queued" && c.status !== "offered" && (isMine(c) || hasRole(state.me, "supervisor"));
}

function teamAllowsPick(teamId) {
  return state.teams.get(teamId)?.routing?.allow_pick !== false;
}

function canPick(c) {
  return c.assignee_id === null && (c.status === "queued" || c.status === "offered") && inMyTeams(c) && teamAllowsPick(c.team_id);
}

function queueVisible() {
  if (hasRole(state.me, "supervisor")) return true;
  return state.me.team_ids.some((id) => teamAllowsPick(id));
}

function relevant(c) {
  if (isMine(c)) return true;
  return c.assignee_id === null && OPEN.has(c.status) && inMyTeams(c);
}

// --- narrow screens: which pane shows ----------------------------------------------------
/**
 * "list", "thread" or "contact": the pane a phone shows (a tablet shows the list and
 * the thread, or the customer in the thread's place). On a desktop all three show and
 * nothing changes. When the pane that had focus disappears, focus moves to the one
 * that appears, so keyboard and screen-reader users land where they went.
 */
function showView(view, { focus = true } = {}) {
  const before = consoleEl.dataset.view;
  consoleEl.dataset.view = view;
  const swapped = PHONE.matches || (TABLET.matches && (view === "contact" || before === "contact"));
  if (!focus || before === view || !swapped) return;
  if (view === "thread" && before === "contact") $("#show-contact").focus();
  else if (view === "thread") $("#thread-pane").focus();
  else if (view === "contact") $("#contact-pane").focus();
  else (listEl.querySelector(`[data-conversation-id="${state.currentId}"]`) || $(`#tab-${state.tab}`)).focus();
}

// --- lists ------------------------------------------------------------------------------
function listed(tab) {
  const all = [...state.convs.values()];
  if (tab === "mine") {
    return all.filter((c) => isMine(c) && OPEN.has(c.status))
      .sort((a, b) => String(lastActivity(b)).localeCompare(String(lastActivity(a))));
  }
  if (tab === "queue") {
    return all.filter((c) => c.assignee_id === null && (c.status === "queued" || c.status === "offered") && inMyTeams(c))
      .sort((a, b) => b.priority - a.priority || String(a.queued_at).localeCompare(String(b.queued_at)));
  }
  return all.filter((c) => isMine(c) && !OPEN.has(c.status))
    .sort((a, b) => String(b.resolved_at || b.updated_at).localeCompare(String(a.resolved_at || a.updated_at)));
}

function renderTabs() {
  for (const tab of ["mine", "queue", "closed"]) {
    const el = $(`#tab-${tab}`);
    const n = tab === "closed" ? null : listed(tab).length;
    el.replaceChildren(t(`tab_${tab}`));
    if (n !== null) el.append(" ", h("span", { class: "count" }, String(n)));
    el.setAttribute("aria-selected", String(state.tab === tab));
    el.tabIndex = state.tab === tab ? 0 : -1;
    el.hidden = tab === "queue" && !queueVisible();
  }
  listEl.setAttribute("aria-labelledby", `tab-${state.tab}`);
}

const renderLists = () => {
  if (search?.active) return search.render(); // results instead of the tabs
  renderTabs();
  const items = state.label ? listed(state.tab).filter((c) => (c.tags || []).includes(state.label)) : listed(state.tab);
  renderList(listEl, items, {
    currentId: state.currentId,
    teams: state.teams,
    users: state.users,
    emptyText: state.label ? t("lbl_filter_empty") : t(`empty_${state.tab}`),
  });
};

/** The label filter above the list (rebuilt when the language or the label list changes). */
function renderLabelFilter() {
  mount($("#list-filter"), labelFilter(state.label, (key) => {
    state.label = key;
    renderLists();
  }));
}

/** Add or remove a label on the open conversation; the answer is the conversation. */
async function changeLabel(c, key, add) {
  await act(async () => {
    const updated = await api(`/conversations/${c.id}/labels/${encodeURIComponent(key)}`, { method: add ? "PUT" : "DELETE" });
    const row = state.convs.get(c.id);
    if (row) row.tags = updated.tags;
    if (c.id === state.currentId) renderHeader();
    renderLists();
    // The name isolated (FSI…PDI): an English name in Arabic text keeps its punctuation.
    if (add) toast(t("lbl_added", { name: `\u2068${labelName(key)}\u2069` }));
    $("#label-add")?.focus();
  });
}

async function selectTab(tab) {
  state.tab = tab;
  renderLists();
  if (tab === "closed" && !state.closedLoaded) {
    state.closedLoaded = true;
    const page = await api("/conversations", {
      query: { assignee_id: state.me.id, status: ["resolved", "abandoned"], limit: 50 },
    });
    // Rows we already have are kept current by events; this answer may be older.
    for (const c of page.items) if (!state.convs.has(c.id)) state.convs.set(c.id, c);
    renderLists();
  }
}

// --- loading ------------------------------------------------------------------------------
async function loadDirectory() {
  const [users, teams] = (await Promise.all([api("/users"), api("/teams")])).map((page) => page.items);
  state.users = new Map(users.map((u) => [u.id, u]));
  state.teams = new Map(teams.map((tm) => [tm.id, tm]));
}

async function loadConversations() {
  const [mine, queue] = await Promise.all([
    api("/conversations", {
      query: { assignee_id: state.me.id, status: ["assigned", "waiting_on_customer", "snoozed"], limit: 200 },
    }),
    api("/conversations", { query: { unassigned: true, status: ["queued", "offered"], limit: 200 } }),
  ]);
  const keep = state.currentId !== null ? state.convs.get(state.currentId) : null;
  state.convs = new Map([...mine.items, ...queue.items].map((c) => [c.id, c]));
  if (keep && !state.convs.has(keep.id)) state.convs.set(keep.id, keep);
  state.closedLoaded = false;
  return queue.items.filter((c) => c.status === "offered");
}

/**
 * Offers still open for me (after a reload): the hub has no offer list, so read the
 * offered conversations' event log.
 */
async function recoverOffers(offered) {
  await Promise.all(offered.map(async (c) => {
    const events = await api("/events", { query: { conversation_id: c.id, after: 0, limit: 1000 } }).catch(() => null);
    let open = null;
    for (const e of events?.items || []) {
      if (e.type === "offer.created") open = e;
      if (e.type === "offer.updated" && open && e.payload.offer_id === open.payload.offer_id) open = null;
    }
    if (open && open.payload.user_id === state.me.id) offers.add(open.payload, open.ts, { quiet: true });
  }));
}

async function loadAll() {
  state.ready = false;
  await loadDirectory();
  const offered = await loadConversations();
  offers.clear();
  await recoverOffers(offered);
  flushBuffered();
  renderLists();
  if (state.tab === "closed") selectTab("closed");
  if (state.currentId !== null) await openConversation(state.currentId);
}

/**
 * After a resumed reconnect the replay has brought the missed events; a REST pass on
 * top (as docs/protocol.md asks of pages) also covers an event that committed out of
 * id order around the drop. Everything merges by id: nothing shows twice.
 */
async function catchUp() {
  state.ready = false; // events wait while the snapshot loads, then apply on top
  try {
    const offered = await loadConversations();
    await recoverOffers(offered);
    flushBuffered();
    renderLists();
    if (state.tab === "closed") selectTab("closed");
    if (current()) {
      refresh(state.currentId);
      await thread.catchUp();
    }
  } catch (err) {
    console.warn("catch-up after reconnect failed", err);
    flushBuffered();
  }
}

function flushBuffered() {
  state.ready = true;
  const buffered = state.buffered;
  state.buffered = [];
  for (const item of buffered) handle(item, { fromBuffer: true });
}

const refetching = new Map();
const refetchSeq = new Map();
/**
 * Fetch one conversation's row (debounced per id); drops it if we may no longer see
 * it. Only the newest request's answer is applied: an older one still in flight would
 * put back a state that a later event already changed.
 */
function refresh(id) {
  clearTimeout(refetching.get(id));
  refetching.set(id, setTimeout(async () => {
    refetching.delete(id);
    const seq = (refetchSeq.get(id) || 0) + 1;
    refetchSeq.set(id, seq);
    const stale = () => refetchSeq.get(id) !== seq || refetching.has(id);
    try {
      const c = await api(`/conversations/${id}`);
      if (stale()) return;
      if (relevant(c) || id === state.currentId || state.convs.has(id)) state.convs.set(id, c);
      contact.syncConversation(c);
      if (id === state.currentId) renderHeader();
    } catch (err) {
      if (stale()) return;
      if (err.status === 403 || err.status === 404) {
        state.convs.delete(id);
        if (id === state.currentId) {
          // Transferred away from my teams: it is no longer mine to see.
          state.currentId = null;
          thread.clear();
          renderEmpty();
          showView("list");
          toast(t("conversation_gone"), { kind: "warn" });
        }
      }
    }
    renderLists();
  }, 80));
}

// --- the open conversation ------------------------------------------------------------------
function current() {
  return state.currentId !== null ? state.convs.get(state.currentId) : null;
}

async function openConversation(id, { focusComposer = false } = {}) {
  const previous = state.currentId;
  if (previous !== null && previous !== id) socket.signal("unwatch", { conversation_id: previous });
  state.currentId = id;
  history.replaceState(null, "", `#c=${id}`);
  let conv;
  const changes = state.changes.get(id) || 0;
  try {
    conv = await api(`/conversations/${id}`);
  } catch (err) {
    toast(errorText(err), { kind: "error" });
    state.currentId = null;
    renderEmpty();
    return;
  }
  if (state.currentId !== id) return;
  state.convs.set(id, conv);
  // An event changed it while we were reading: read again (the answer may predate it).
  if ((state.changes.get(id) || 0) !== changes) refresh(id);
  // Messages of conversations that are not mine reach this socket only while watched.
  if (!isMine(conv)) socket.signal("watch", { conversation_id: id });
  renderLists();
  renderHeader();
  composer.setConversation(conv, { canReply: canHandle(conv) });
  $("#typing").textContent = "";
  if (state.contactShownFor !== id) {
    state.contactShownFor = id;
    state.contactConvs = [];
    contact.load(conv.contact_id, conv.id);
  }
  care.load(conv);
  const loaded = await thread.load(conv, { history: state.allChannels ? state.contactConvs.slice(0, 10) : [] });
  if (!loaded || state.currentId !== id) return;
  loadSurveys(id);
  markRead(conv);
  // Focus stays where the agent is (the list, a shortcut); accepting an offer goes
  // straight to the composer.
  if (focusComposer && !$("#composer").hidden) composer.focus();
}

function markRead(conv) {
  const upto = thread.lastInboundId();
  if (!upto || document.visibilityState !== "visible") return;
  if (conv.unread_count) {
    conv.unread_count = 0;
    renderLists();
  }
  api(`/conversations/${conv.id}/read`, { method: "POST", body: { message_id: upto } }).catch(() => {});
}

function renderEmpty() {
  mount($("#thread-header"), h("h1", { id: "thread-title", class: "muted" }, t("no_conversation")));
  $("#show-contact").hidden = true;
  if (consoleEl.dataset.view === "contact") showView("thread", { focus: false });
  $("#thread-banner").hidden = true;
  emptyThread($("#thread"), t("pick_conversation"));
  // An admin on a hub not yet set up sees the first-run checklist instead (issue 16).
  if (state.me.role === "admin") firstRunInto($("#thread"), socket);
  composer.setConversation(null);
  contact.renderEmpty();
  care.clear();
}

function actionButton(key, handler, { shortcut = null, disabled = false, cls = "secondary", id = null } = {}) {
  return h("button", {
    type: "button", class: cls, id, disabled, title: shortcut || null, "aria-keyshortcuts": shortcut,
    on: { click: handler },
  }, t(key));
}

function renderHeader() {
  const c = current();
  if (!c) {
    renderEmpty();
    return;
  }
  const team = state.teams.get(c.team_id);
  const offered = offers.offers.has(c.id);
  const closed = !OPEN.has(c.status);
  $("#show-contact").hidden = false;
  // A re-render (an event, a label added) keeps focus on the control that had it.
  const focusedId = $("#thread-header").contains(document.activeElement) ? document.activeElement.id : null;
  // patch, not mount: the many re-renders that change nothing (a refetch after each
  // message) keep the buttons, so a click between them is not lost.
  patch($("#thread-header"), [
    h("div", { class: "thread-title-row" },
      channelIcon(c.channel),
      h("h1", { id: "thread-title" }, h("bdi", { dir: "auto" }, c.contact_name || c.contact_address || t("unknown_customer")),
        h("span", { class: "muted" }, ` #${c.id}`)),
      tierBadges(c.contact_tiers),
      campaignChip(c.campaign),
      h("span", { class: ["status-chip", `status-${c.status}`], id: "conv-status" }, t(`status_${c.status}`)),
      team ? h("span", { class: "muted" }, team.name) : null,
      c.category ? h("span", { class: "muted" }, `· ${t(`cat_${c.category}`)}`) : null),
    c.subject ? h("p", { class: "thread-subject", dir: "auto" }, c.subject) : null,
    h("div", { class: "thread-labels", id: "thread-labels", role: "group", "aria-label": t("lbl_labels") },
      labelChips(c.tags, { onRemove: canHandle(c) ? (key) => changeLabel(c, key, false) : null }),
      canHandle(c) ? labelAdder(c, { onAdd: (key) => changeLabel(c, key, true) }) : null),
    greetingHint(c.contact_hint),
    ratingLine(c),
    h("div", { class: "thread-actions", role: "toolbar", "aria-label": t("actions") },
      offered ? actionButton("accept", () => offers.accept(c.id), { shortcut: "Alt+A", cls: "primary" }) : null,
      offered ? actionButton("reject", () => offers.reject(c.id), { shortcut: "Alt+D" }) : null,
      !offered && canPick(c) ? actionButton("take", () => pick(c), { cls: "primary", id: "take" }) : null,
      !closed ? actionButton("transfer", () => doTransfer(), { shortcut: "Alt+T", disabled: !canHandle(c), id: "transfer" }) : null,
      !closed ? actionButton("snooze", () => doSnooze(), { shortcut: "Alt+S", disabled: !canHandle(c) || c.status === "snoozed", id: "snooze" }) : null,
      !closed ? actionButton("resolve", () => doResolve(), { shortcut: "Alt+R", disabled: !canHandle(c), id: "resolve" }) : null,
      closed ? actionButton("reopen", () => doReopen(), { shortcut: "Alt+O", id: "reopen" }) : null,
      !offered ? actionButton("cmp_open", () => care.openNew(), { id: "thread-open-complaint" }) : null,
      !offered ? tasks.addButton(c) : null,
      !closed && !offered ? macros.button(c) : null,
      h("button", {
        type: "button", class: "toggle", id: "all-channels", "aria-pressed": String(state.allChannels),
        on: { click: toggleAllChannels },
      }, t("all_channels")))]);
  const banner = $("#thread-banner");
  let note = null;
  if (closed) note = t("banner_closed");
  else if (c.assignee_id && !isMine(c)) note = t("banner_other", { name: state.users.get(c.assignee_id)?.name || "?" });
  else if (!c.assignee_id) note = offered ? t("banner_offered") : t("banner_queue");
  else if (c.status === "snoozed") note = t("banner_snoozed");
  banner.hidden = !note;
  banner.textContent = note || "";
  composer.setConversation(c, { canReply: canHandle(c) });
  if (focusedId) document.getElementById(focusedId)?.focus();
}

async function act(fn) {
  try {
    await fn();
  } catch (err) {
    toast(errorText(err), { kind: "error" });
  }
}

async function pick(c) {
  await act(async () => {
    await takeOver(c, state.me);
    refresh(c.id);
    state.tab = "mine";
    renderLists();
  });
}

async function doTransfer() {
  const c = current();
  if (!c || !canHandle(c)) return;
  await loadDirectory().catch(() => {}); // fresh presence for the agent list
  if (await transferDialog(c, state)) toast(t("transferred"));
}

async function doResolve() {
  const c = current();
  if (!c || !canHandle(c)) return;
  // Resolving as a complaint offers to open one, unless the conversation has one open.
  let wantsComplaint = false;
  const resolved = await resolveDialog(c, {
    offerComplaint: !care.hasOpenComplaint(c.id),
    onResolved: ({ openComplaint }) => { wantsComplaint = openComplaint; },
  });
  if (!resolved) return;
  toast(t("resolved_toast"));
  if (wantsComplaint && state.currentId === c.id) await care.openNew();
}

// --- surveys in the thread ------------------------------------------------------------------------
/** The open conversation's survey requests and answers, placed in its timeline. */
async function loadSurveys(id) {
  try {
    const surveys = await api("/surveys", { query: { conversation_id: id, limit: 20 } });
    if (state.currentId === id && thread.conv?.id === id) thread.setSurveys(surveys);
  } catch (err) {
    console.warn("surveys", err);
  }
}

const surveysChanged = debounce(async (id) => {
  if (state.currentId !== id) return;
  await loadSurveys(id);
  // Re-read the messages too: the hub's own messages (a survey question, the answer,
  // a complaint's acknowledgement) carry their marks there, not in the live event.
  if (thread.conv?.id === id) await thread.catchUp().catch(() => {});
}, 150);

/** Complaint and survey events: the panel beside the thread, the thread, and (for
 *  supervisors) a word when a complaint is escalated or a customer rates low. */
function handleCare(e, replayed) {
  const p = e.payload || {};
  if (e.type.startsWith("complaint.")) {
    care.onEvent(p, { byMe: e.actor_id === state.me.id });
    // The hub's message to the customer (the acknowledgement) is marked in the thread.
    if (p.conversation_id === state.currentId) surveysChanged(p.conversation_id);
    if (e.type === "complaint.escalated" && !replayed) {
      toast(t("cmp_escalated_toast", { reference: p.reference, stage: t(`cmp_stage_${p.reason}`) }), { kind: "warn", ms: 10000 });
    }
    return;
  }
  if (p.conversation_id === state.currentId) surveysChanged(p.conversation_id);
  if (e.type === "survey.low_score" && !replayed) {
    toast(t("sv_low_toast", { score: scoreText(p.kind, p.score), id: p.conversation_id ?? "—" }), { kind: "warn", ms: 10000 });
  }
}

async function doSnooze() {
  const c = current();
  if (c && canHandle(c)) await snoozeDialog(c);
}

async function doReopen() {
  const c = current();
  if (c && !OPEN.has(c.status)) await act(() => reopen(c));
}

function toggleAllChannels() {
  state.allChannels = !state.allChannels;
  const c = current();
  if (c) openConversation(c.id);
}

function step(delta) {
  const items = search.active ? search.items() : listed(state.tab);
  if (!items.length) return;
  const at = items.findIndex((c) => c.id === state.currentId);
  const next = items[(at + delta + items.length) % items.length] || items[0];
  openConversation(next.id);
  if (PHONE.matches) showView("thread");
  else listEl.querySelector(`[data-conversation-id="${next.id}"]`)?.focus();
}

// --- events ------------------------------------------------------------------------------------
function onEvent(item) {
  if (!state.ready) {
    state.buffered.push(item);
    return;
  }
  handle(item);
}

function handle({ event: e, replayed }, { fromBuffer = false } = {}) {
  const p = e.payload || {};
  const id = e.conversation_id ?? p.conversation_id;
  if (e.type.startsWith("complaint.") || e.type.startsWith("survey.")) {
    handleCare(e, replayed || fromBuffer);
    return;
  }
  if (e.type.startsWith("conversation.")) {
    state.changes.set(id, (state.changes.get(id) || 0) + 1);
    const c = state.convs.get(id);
    if (c) {
      Object.assign(c, {
        status: p.status, team_id: p.team_id ?? null, assignee_id: p.assignee_id ?? null,
        priority: p.priority ?? c.priority, category: p.category ?? null, updated_at: e.ts,
      });
    }
    if (c || relevant({ ...p, assignee_id: p.assignee_id ?? null })) refresh(id);
    if (p.status) contact.syncConversation(c || { id, status: p.status, category: p.category ?? null });
    if (p.status !== "offered") offers.remove(id);
    if (thread.has(id)) thread.addEvent(e);
    if (id === state.currentId) renderHeader();
    renderLists();
    return;
  }
  if (e.type === "message.received" || e.type === "message.created") {
    const c = state.convs.get(id);
    if (!c) {
      refresh(id);
    } else {
      c.last_message_at = p.created_at;
      if (p.direction === "inbound") {
        c.last_inbound_at = p.created_at;
        const reading = id === state.currentId && document.visibilityState === "visible";
        // Buffered events may already be counted in the REST snapshot: re-read instead.
        if (fromBuffer) refresh(id);
        else if (!reading) c.unread_count = (c.unread_count || 0) + 1;
      } else if (p.direction === "outbound") {
        c.last_outbound_at = p.created_at;
      }
    }
    if (thread.has(id)) {
      thread.addMessage(p);
      if (id === state.currentId && p.direction === "inbound") markRead(state.convs.get(id) || { id });
      if (p.direction === "inbound") $("#typing").textContent = "";
    }
    renderLists();
    return;
  }
  if (e.type === "message.status") {
    if (thread.has(id)) thread.updateStatus(p);
    return;
  }
  if (e.type === "rule.fired") { // an automation rule acted (console/macros.js writes the line)
    if (thread.has(id)) thread.addEvent(e);
    return;
  }
  if (e.type === "offer.created") {
    if (p.user_id === state.me.id && p.status === "pending") {
      offers.add(p, e.ts, { quiet: replayed || fromBuffer }).then(() => id === state.currentId && renderHeader());
      refresh(id);
    }
    return;
  }
  if (e.type === "offer.updated") {
    if (p.status !== "pending") {
      offers.remove(id);
      if (id === state.currentId) renderHeader();
    }
    return;
  }
  if (e.type === "presence.changed") {
    const u = state.users.get(p.user_id);
    if (u) u.presence = p.presence;
    if (p.user_id === state.me.id) {
      state.me.presence = p.presence;
      renderPresence();
      if (!replayed && String(p.reason || "").includes("offer_missed")) toast(t("missed_offer_away"), { kind: "warn", ms: 10000 });
    }
    return;
  }
  if (e.type === "user.updated" || e.type === "team.updated") {
    reloadDirectory();
    return;
  }
  if (e.type === "typing" && id === state.currentId && p.user_id !== state.me.id) {
    const who = p.side === "agent" ? t("typing_agent", { name: state.users.get(p.user_id)?.name || "?" }) : t("typing_customer");
    $("#typing").textContent = who;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => ($("#typing").textContent = ""), 6000);
  }
}

const reloadDirectory = debounce(async () => {
  try {
    state.me = await whoAmI();
    renderCapacityWarning();
    await loadDirectory();
    renderLists();
    if (current()) renderHeader();
  } catch (err) {
    console.warn(err);
  }
}, 300);

// --- presence ---------------------------------------------------------------------------------------
function buildPresence() {
  presenceSelect = h("select", {
    id: "presence", "aria-label": t("presence"),
    on: {
      change: async () => {
        const value = presenceSelect.value;
        const open = listed("mine");
        if (value === "offline" && open.length) { // shift hand-over (console/handover.js)
          if (await handoverDialog({ me: state.me, convs: open, users: () => state.users })) state.me.presence = "offline";
          return void renderPresence();
        }
        try {
          const u = await api(`/users/${state.me.id}/presence`, { method: "PUT", body: { presence: value } });
          state.me.presence = u.presence;
        } catch (err) {
          toast(errorText(err), { kind: "error" });
        }
        renderPresence();
      },
    },
  });
  return h("label", { class: "presence-switch", for: "presence" },
    h("span", { class: "presence-dot", "aria-hidden": "true" }), h("span", { class: "visually-hidden" }, t("presence")), presenceSelect);
}

function renderPresence() {
  const now = state.me.presence;
  const options = now === "wrap_up" ? [...PRESENCES, "wrap_up"] : PRESENCES;
  mount(presenceSelect, options.map((p) => h("option", { value: p, selected: p === now, disabled: p === "wrap_up" }, t(`presence_${p}`))));
  presenceSelect.value = now;
  presenceSelect.setAttribute("aria-label", t("presence"));
  presenceSelect.parentElement.dataset.presence = now;
}

// An agent with no capacity on any channel is never offered work: say so, instead of
// leaving them waiting for offers that cannot come.
function renderCapacityWarning() {
  const el = $("#capacity-warning");
  const capacity = Object.values(state.me.capacity || {});
  el.hidden = capacity.some((n) => Number(n) > 0);
  el.textContent = el.hidden ? "" : t("capacity_zero");
}

// --- language -------------------------------------------------------------------------------------------
function rerender() {
  applyLang();
  renderLabelFilter();
  search.relabel();
  renderPresence();
  renderCapacityWarning();
  renderLists();
  composer.relabel();
  composer.updateCounter();
  contact.render();
  care.relabel();
  tasks.relabel();
  offers.render();
  if (current()) openConversation(state.currentId);
  else renderEmpty();
}

// --- start -----------------------------------------------------------------------------------------------
async function main() {
  state.me = await whoAmI();
  setLang(state.me.language || initialLang());
  applyLang();
  await Promise.all([loadTiers(), loadOptions(), loadLabels()]);
  state.fields = await api("/contact-fields").catch(() => []);
  const presence = buildPresence();
  // The notification centre (console/notifications.js): the bell beside presence.
  bell = new NotificationBell({
    socket, me: state.me, nameOf: (id) => state.users.get(id)?.name,
    onOpen: (n) => {
      if (n.data?.room_id) return void chat.open(n.data.room_id); // a team chat @mention
      if (n.kind === "task_due" && !n.conversation_id) return void tasks.open();
      if (!n.conversation_id) return void window.location.assign("/complaints");
      openConversation(n.conversation_id);
      showView("thread");
    },
  });
  // Team chat (console/chat.js): its button beside the bell, its panel over the console.
  const chat = new ChatPanel({
    socket, me: () => state.me, users: () => state.users,
    onOpenConversation: (id) => { openConversation(id); showView("thread"); },
  });
  tasks = new TasksPanel({ socket, me: state.me, users: () => state.users, teams: () => state.teams,
    openConversation: (id) => { openConversation(id); showView("thread"); } });
  const slot = h("span", { class: "topbar-slot" }, presence, tasks.element, chat.button, bell.element);
  topbar({ user: state.me, page: "console", socket, slot, onLang: () => { rerender(); bell.renderButton(); chat.relabel(); if (!bell.panel.hidden) bell.renderPanel(); } });
  bell.start();
  chat.start();
  tasks.start();
  renderPresence();
  renderCapacityWarning();

  mount($("#composer"), renderComposerSkeleton());
  composer = new Composer($("#composer"), {
    // Getters: the directory is replaced when users or teams change.
    get me() { return state.me; },
    get users() { return state.users; },
    socket,
    currentThread: () => thread,
    onSent: (m) => {
      if (thread.has(m.conversation_id)) thread.addMessage(m);
      const c = state.convs.get(m.conversation_id);
      if (c && m.direction === "outbound" && !c.first_response_at) refresh(c.id);
    },
  });
  contact = new ContactPanel($("#contact"), {
    fields: () => state.fields || [],
    users: () => state.users,
    onOpen: (c) => {
      openConversation(c.id);
      if (PHONE.matches) showView("thread");
    },
    onHistory: (convs) => {
      state.contactConvs = convs;
    },
    conversation: (id) => state.convs.get(id),
  });
  care = new CareBox($("#care"), $("#contact"), {
    dir: state,
    onOpenConversation: (id) => {
      openConversation(id);
      showView("thread");
    },
    onShow: () => {
      if (TABLET.matches) showView("contact");
    },
  });
  offers = new OfferTray($("#offers"), {
    socket,
    onAccepted: (id) => {
      state.tab = "mine";
      showView("thread", { focus: false }); // the composer gets focus
      openConversation(id, { focusComposer: true });
    },
    describe: async (id) => {
      const [c, msgs] = await Promise.all([api(`/conversations/${id}`), api(`/conversations/${id}/messages`, { query: { limit: 5 } })]);
      const first = msgs.items.find((m) => m.direction === "inbound");
      return {
        name: c.contact_name || c.contact_address, channel: c.channel, tiers: c.contact_tiers, hint: c.contact_hint, campaign: c.campaign,
        preview: (first?.body || c.subject || "").slice(0, 160),
      };
    },
  });
  renderEmpty();
  document.querySelector(".list-pane .tabs").after(h("div", { class: "list-filter", id: "list-filter" }));
  renderLabelFilter();
  search = new SearchPanel({ state, listEl, renderList: renderLists, socket });

  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => selectTab(tab.dataset.tab));
    tab.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const tabs = [...document.querySelectorAll("[data-tab]:not([hidden])")];
      const dir = (e.key === "ArrowRight") === (document.documentElement.dir !== "rtl") ? 1 : -1;
      const next = tabs[(tabs.indexOf(tab) + dir + tabs.length) % tabs.length];
      next.focus();
      selectTab(next.dataset.tab);
    });
  }
  listEl.addEventListener("click", (e) => {
    const item = e.target.closest("[data-conversation-id]");
    if (!item) return;
    openConversation(Number(item.dataset.conversationId));
    showView("thread");
  });
  // Narrow screens: back and forth between the panes (console.css shows the bars).
  for (const back of document.querySelectorAll(".pane-bar .back")) back.prepend(icon("back"));
  $("#back-to-list").addEventListener("click", () => showView("list"));
  $("#show-contact").addEventListener("click", () => showView("contact"));
  $("#back-to-thread").addEventListener("click", () => showView("thread"));
  // Clocks tick locally; no request per second.
  setInterval(() => tickList(listEl, state.convs), 1000);
  document.addEventListener("visibilitychange", () => {
    const c = current();
    if (c && document.visibilityState === "visible") markRead(c);
  });

  installShortcuts({
    accept: () => offers.accept(),
    reject: () => offers.reject(),
    resolve: doResolve,
    reopen: doReopen,
    transfer: doTransfer,
    snooze: doSnooze,
    note: () => composer.toggleNote(),
    next: () => step(1),
    previous: () => step(-1),
    compose: () => composer.focus(),
    presence: () => presenceSelect.focus(),
    canned: () => composer.openCanned(),
    help: () => showHelp(),
    search: () => search.focus(),
    listNext: () => search.move(1),
    listPrevious: () => search.move(-1),
  });

  // The first hello fixes the event id we resume from, so load state after it:
  // nothing committed between the REST snapshot and the socket can fall in a gap.
  let firstHello;
  const helloSeen = new Promise((resolve) => (firstHello = resolve));
  socket.addEventListener("hello", (e) => {
    firstHello();
    if (e.detail.reload && state.ready) loadAll();
    else if (e.detail.resumed && state.ready) catchUp();
    // Watches belong to a socket: renew the open conversation's after a reconnect.
    const c = current();
    if (c && !isMine(c)) socket.signal("watch", { conversation_id: c.id });
  });
  socket.addEventListener("event", (e) => onEvent(e.detail));
  socket.start();
  await Promise.race([helloSeen, new Promise((r) => setTimeout(r, 4000))]);
  const wanted = Number((window.location.hash.match(/^#c=(\d+)$/) || [])[1]);
  if (wanted) {
    state.currentId = wanted;
    showView("thread", { focus: false });
  }
  await loadAll();
  if (!state.currentId) renderEmpty();
}

main().catch((err) => {
  console.error(err);
  toast(errorText(err), { kind: "error", ms: 60000 });
});

