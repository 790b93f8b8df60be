// The live wallboard (/wallboard): today's queue figures per team in large type for a
// wall TV — waiting, longest wait, agents available / busy / away, answered, service
// level and abandoned today. Live like the supervisor view: the same socket
// (HubSocket) and the same figures (GET /queues), refetched on the events that change
// them (debounced), never by reloading the page; the longest wait counts up between
// refreshes. "Today" is each team's local day (its business hours' time zone).
import { api, whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { errorText } from "./dialogs.js";
import { $, debounce, h, mount } from "./dom.js";
import { clock, number, percent, serverNow, timeOfDay } from "./format.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { HubSocket } from "./socket.js";

const REFRESH_MS = 250;
const PRESENCES = ["available", "busy", "away"];
// Service level colours (the supervisor view's meter uses the same bands).
const SL_GOOD = 0.8;
const SL_WARN = 0.7;

const state = { me: null, queues: [], queuesAt: 0 };
const socket = new HubSocket();

function longestWait(q) {
  if (!(q.waiting + q.offered)) return 0;
  return q.longest_wait_seconds + (Date.now() - state.queuesAt) / 1000;
}

async function refresh() {
  try {
    state.queues = (await api("/queues")).items;
    state.queuesAt = Date.now();
    $("#wall-error").hidden = true;
    render();
  } catch (err) {
    mount($("#wall-error"), errorText(err));
    $("#wall-error").hidden = false;
  }
}
const refreshSoon = debounce(refresh, REFRESH_MS);

function abandonedOf(q) {
  return q.abandoned_today ?? null;
}

function slTone(sl) {
  if (sl === null || sl === undefined) return "none";
  return sl >= SL_GOOD ? "good" : sl >= SL_WARN ? "warn" : "bad";
}

function figure(col, label, value, attrs = {}) {
  return h("div", { class: ["wall-figure", `wall-${col}`, attrs.class], "data-col": col, "data-tone": attrs.tone || null },
    h("span", { class: "wall-label" }, label),
    h("span", { class: "wall-value" }, value));
}

function card(q, { total = false } = {}) {
  const wait = longestWait(q);
  const abandoned = abandonedOf(q);
  const headingId = `wall-team-${total ? "all" : q.team_id}`;
  return h("section", { class: ["wall-team", total && "wall-total", q.waiting ? "has-waiting" : null], "data-team-id": total ? "all" : q.team_id, "aria-labelledby": headingId },
    h("h2", { id: headingId }, h("bdi", {}, total ? t("wb_all_teams") : q.team_name)),
    h("div", { class: "wall-figures" },
      figure("waiting", t("wb_waiting"), number(q.waiting + q.offered), { class: q.waiting + q.offered ? "hot" : null }),
      figure("longest", t("wb_longest"), wait ? clock(wait) : "—", { class: wait ? "hot" : null }),
      figure("answered", t("wb_answered"), number(q.answered_today)),
      figure("service_level", t("wb_service_level"), percent(q.service_level_today), { tone: slTone(q.service_level_today) }),
      figure("abandoned", t("wb_abandoned"), abandoned === null ? "—" : number(abandoned))),
    h("ul", { class: "wall-agents", "aria-label": t("wb_agents") },
      PRESENCES.map((p) => h("li", { class: ["wall-presence", `presence-${p}`], "data-presence": p },
        h("span", { class: "presence-dot", "aria-hidden": "true" }),
        h("span", { class: "wall-presence-label" }, t(`presence_${p}`)), " ",
        h("strong", { class: "wall-presence-n" }, number(q.agents?.[p] || 0))))));
}

function totals(queues) {
  const sum = (get) => queues.reduce((a, q) => a + (get(q) || 0), 0);
  // Service level over all teams: weighted by answered conversations (the figures
  // carry no abandoned-after-target count, so this is the best combination we have).
  const answered = sum((q) => q.answered_today);
  const weighted = queues.filter((q) => q.service_level_today !== null);
  const slBase = weighted.reduce((a, q) => a + q.answered_today, 0);
  const abandoned = queues.map(abandonedOf);
  return {
    team_id: "all", team_name: "",
    waiting: sum((q) => q.waiting), offered: sum((q) => q.offered),
    longest_wait_seconds: Math.max(0, ...queues.filter((q) => q.waiting + q.offered).map((q) => q.longest_wait_seconds)),
    answered_today: answered,
    service_level_today: slBase ? weighted.reduce((a, q) => a + q.service_level_today * q.answered_today, 0) / slBase : null,
    abandoned_today: abandoned.some((a) => a === null) ? null : abandoned.reduce((a, b) => a + b, 0),
    agents: Object.fromEntries(PRESENCES.map((p) => [p, sum((q) => q.agents?.[p])])),
  };
}

function render() {
  const box = $("#wall-teams");
  const cards = state.queues.map((q) => card(q));
  if (state.queues.length > 1) cards.unshift(card(totals(state.queues), { total: true }));
  mount(box, cards.length ? cards : h("p", { class: "muted wall-empty" }, t("no_teams")));
  box.setAttribute("aria-busy", "false");
  box.dataset.updated = String(state.queuesAt);
  mount($("#wall-note"), t("wb_note"));
}

/** Every second: the clock and the longest waits. */
function tick() {
  mount($("#wall-clock"), timeOfDay(new Date(serverNow()).toISOString()));
  for (const el of document.querySelectorAll(".wall-team[data-team-id]")) {
    const id = el.dataset.teamId;
    const q = id === "all" ? (state.queues.length > 1 ? totals(state.queues) : null) : state.queues.find((x) => String(x.team_id) === id);
    const cell = el.querySelector('[data-col="longest"] .wall-value');
    if (q && cell) cell.textContent = longestWait(q) ? clock(longestWait(q)) : "—";
  }
}

function setFull(on) {
  document.body.classList.toggle("wall-full", on);
  const button = $("#wall-full");
  button.setAttribute("aria-pressed", String(on));
  button.textContent = t(on ? "wb_exit_fullscreen" : "wb_fullscreen");
}

function onEvent({ event: e }) {
  const type = e.type;
  if (type.startsWith("conversation.") || type.startsWith("offer.") || type === "presence.changed" ||
      type === "agent.connected" || type === "agent.disconnected" || type === "queue.stats" || type === "team.updated") {
    refreshSoon();
  }
}

async function main() {
  state.me = await whoAmI();
  setLang(state.me.language || initialLang());
  applyLang();
  topbar({ user: state.me, page: "wallboard", socket, onLang: () => { applyLang(); setFull(document.body.classList.contains("wall-full")); render(); tick(); } });
  if (!hasRole(state.me, "supervisor")) {
    mount($("#wall"), h("p", { class: "error pad", role: "alert" }, t("err_role_required")));
    return;
  }
  $("#wall-full").addEventListener("click", async () => {
    const on = !document.body.classList.contains("wall-full");
    // The browser's full screen when it allows it; the page hides its bar either way.
    try {
      if (on && !document.fullscreenElement) await document.documentElement.requestFullscreen?.();
      if (!on && document.fullscreenElement) await document.exitFullscreen?.();
    } catch {
      // Not allowed here (an iframe, a kiosk browser): the page still goes full.
    }
    setFull(on);
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement) setFull(false);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("wall-full")) setFull(false);
  });
  socket.addEventListener("event", (e) => onEvent(e.detail));
  socket.addEventListener("hello", (e) => {
    // After a reconnect (or a resync), refetch: the figures are cheap.
    if (e.detail.resumed || e.detail.reload) refreshSoon();
  });
  socket.start();
  setFull(false);
  await refresh();
  tick();
  setInterval(tick, 1000);
}

main().catch((err) => {
  console.error(err);
  mount($("#wall-error"), errorText(err));
  $("#wall-error").hidden = false;
});
