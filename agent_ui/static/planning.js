// Workforce planning (/planning): for a team and channel, the arrivals forecast per half
// hour for the coming days with its backtest error (MAPE) beside it, the agents required
// (Erlang C or A) and on the schedule after shrinkage, the last 7 days' required against
// signed-in agents, a table per day and the CSV. Data: GET /api/v1/reports/forecast
// (docs/workforce.md). The settings live in the address (#team_id=…&channel=…).
// Charts: Chart.js (vendor/chartjs, a classic script loaded before this module). Each
// canvas is role="img" with a summary; the numbers are in the table per day.
import { api, whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { errorText } from "./dialogs.js";
import { $, h, mount } from "./dom.js";
import { channelName } from "./format.js";
import { applyLang, getLang, initialLang, locale, setLang, t } from "./i18n.js";

const CHANNELS = ["voice", "webchat", "whatsapp", "sms", "telegram", "email", "loopback"];
const MODELS = ["erlang_c", "erlang_a"];
const COLORS = { forecast: "#2457d6", required: "#c0392b", scheduled: "#8e44ad", arrivals: "#7f8c8d", signed: "#1e8449" };

const state = { me: null, teams: [], plan: null, charts: new Map(), seq: 0 };

const num = (v, digits = 0) => new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(v);
const pct = (v) => `${num(v, 1)} %`;

function form() {
  return $("#plan-filters");
}

function settings() {
  const f = form().elements;
  const shrink = Math.min(90, Math.max(0, Number(f.shrinkage.value) || 0));
  return {
    team_id: f.team_id.value,
    channel: f.channel.value,
    days: f.days.value,
    shrinkage: String(Math.round(shrink) / 100),
    model: f.model.value,
  };
}

function fromHash() {
  const q = new URLSearchParams(window.location.hash.slice(1));
  return Object.fromEntries(q.entries());
}

function fillSelect(sel, options, value) {
  mount(sel, options.map(([v, label]) => h("option", { value: v }, label)));
  if (options.some(([v]) => v === value)) sel.value = value;
}

function fillForm(values = {}) {
  const f = form().elements;
  fillSelect(f.team_id, state.teams.map((tm) => [String(tm.id), tm.name]), values.team_id || f.team_id.value);
  fillSelect(f.channel, CHANNELS.map((c) => [c, channelName(c)]), values.channel || f.channel.value || "voice");
  fillSelect(f.model, MODELS.map((m) => [m, t(`wf_model_${m}`)]), values.model || f.model.value || "erlang_c");
  if (values.days) f.days.value = values.days;
  if (values.shrinkage !== undefined && values.shrinkage !== "") f.shrinkage.value = String(Math.round(Number(values.shrinkage) * 100));
}

function csvHref(q) {
  return `/api/v1/reports/forecast?${new URLSearchParams({ ...q, format: "csv" }).toString()}`;
}

async function load() {
  const q = settings();
  const seq = ++state.seq;
  const error = $("#plan-error");
  $("#plan-csv").setAttribute("href", csvHref(q));
  const hash = `#${new URLSearchParams(q).toString()}`;
  if (window.location.hash !== hash) history.replaceState(null, "", hash);
  $("#plan-status").textContent = t("wf_loading");
  document.body.setAttribute("aria-busy", "true");
  try {
    const plan = await api("/reports/forecast", { query: q });
    if (seq !== state.seq) return;
    error.hidden = true;
    state.plan = plan;
    render();
  } catch (err) {
    if (seq !== state.seq) return;
    error.textContent = errorText(err);
    error.hidden = false;
  } finally {
    if (seq === state.seq) {
      $("#plan-status").textContent = "";
      document.body.removeAttribute("aria-busy");
    }
  }
}

function timeLabel(iso) {
  // The interval's own offset (the plan's time zone), shown as written: "Thu 09:30".
  const [date, time] = iso.split("T");
  const d = new Date(`${date}T00:00:00Z`);
  const day = new Intl.DateTimeFormat(locale(), { weekday: "short", day: "numeric", timeZone: "UTC" }).format(d);
  return `${day} ${time.slice(0, 5)}`;
}

function dayLabel(date) {
  const d = new Date(`${date}T00:00:00Z`);
  return new Intl.DateTimeFormat(locale(), { weekday: "long", day: "numeric", month: "short", timeZone: "UTC" }).format(d);
}

function fact(label, value, sub = null, cls = null) {
  return h("div", { class: cls },
    h("dt", {}, label),
    h("dd", {}, h("span", { class: "fact-value" }, value), sub ? h("span", { class: "fact-sub" }, sub) : null));
}

function renderFacts() {
  const { backtest: bt, settings: s, method, intervals } = state.plan;
  const source = t(`wf_source_${s.handle_source}`);
  const peak = Math.max(0, ...intervals.map((i) => i.required_scheduled));
  mount($("#plan-facts"),
    bt.mape === null
      ? fact(t("wf_mape", { weeks: bt.weeks }), "—", t("wf_mape_none"), "mape")
      : fact(t("wf_mape", { weeks: bt.weeks }), pct(bt.mape),
        t("wf_mape_detail", { n: num(bt.intervals), zeros: num(bt.zero_intervals), wape: bt.wape === null ? "—" : pct(bt.wape) }), "mape"),
    fact(t("wf_peak"), num(peak), t(`wf_model_${s.model}`)),
    fact(t("wf_target"), `${num(s.service_level_target * 100)} %`, t("wf_target_value", { target: `${num(s.service_level_target * 100)} %`, seconds: num(s.threshold_seconds) })),
    fact(t("wf_handle"), t("dur_s", { n: num(s.handle_seconds) }), t("wf_handle_value", { seconds: num(s.handle_seconds), source })),
    fact(t("wf_patience"), s.patience_seconds === null ? "—" : t("dur_s", { n: num(s.patience_seconds) }),
      s.patience_seconds === null ? t("wf_not_measured") : null),
    fact(t("wf_method"), t(`wf_method_${method}`), null, "method"),
  );
  // The MAPE is announced with the forecast's heading for screen readers too.
  $("#chart-forecast").setAttribute("aria-describedby", "plan-facts");
}

function chartOptions(y2Label) {
  const rtl = getLang() === "ar";
  return {
    responsive: true,
    maintainAspectRatio: false,
    locale: locale(),
    animation: window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ? false : { duration: 250 },
    interaction: { mode: "index", intersect: false },
    scales: {
      x: { reverse: rtl, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 16 }, grid: { display: false } },
      y: { beginAtZero: true, position: rtl ? "right" : "left", ticks: { precision: 0 } },
      y2: { beginAtZero: true, position: rtl ? "left" : "right", grid: { drawOnChartArea: false }, ticks: { precision: 0 }, title: { display: true, text: y2Label } },
    },
    plugins: {
      legend: { position: "bottom", rtl, textDirection: rtl ? "rtl" : "ltr", labels: { boxWidth: 12 } },
      tooltip: { rtl, textDirection: rtl ? "rtl" : "ltr" },
    },
  };
}

function chart(el, { id, title, summary, labels, datasets, y2Label }) {
  const old = state.charts.get(id);
  if (old) old.destroy();
  const canvas = h("canvas", { id: `${id}-canvas`, role: "img", "aria-label": `${title}. ${summary}` });
  mount(el, h("figcaption", {}, h("h3", {}, title)), h("div", { class: "chart-box" }, canvas),
    h("p", { class: "visually-hidden" }, summary));
  if (typeof window.Chart !== "function") {
    el.append(h("p", { class: "error" }, t("wf_err_charts")));
    return;
  }
  state.charts.set(id, new window.Chart(canvas, { type: "line", data: { labels, datasets }, options: chartOptions(y2Label) }));
}

const line = (label, data, color, extra = {}) => ({
  label, data, borderColor: color, backgroundColor: `${color}33`, pointRadius: 0, borderWidth: 2, tension: 0, ...extra,
});

function renderCharts() {
  const { intervals, history } = state.plan;
  const arrivals = intervals.reduce((a, i) => a + i.forecast_arrivals, 0);
  chart($("#chart-forecast"), {
    id: "forecast",
    title: t("wf_chart_forecast"),
    summary: t("wf_chart_forecast_summary", {
      arrivals: num(arrivals), days: num(intervals.length / 48), peak: num(Math.max(0, ...intervals.map((i) => i.required_agents))),
    }),
    labels: intervals.map((i) => timeLabel(i.start)),
    y2Label: t("agents"),
    datasets: [
      line(t("wf_s_forecast"), intervals.map((i) => i.forecast_arrivals), COLORS.forecast, { fill: true }),
      line(t("wf_s_required"), intervals.map((i) => i.required_agents), COLORS.required, { yAxisID: "y2", stepped: true }),
      line(t("wf_s_scheduled"), intervals.map((i) => i.required_scheduled), COLORS.scheduled, { yAxisID: "y2", stepped: true, borderDash: [5, 4] }),
    ],
  });
  const signed = history.map((x) => x.signed_in_agents);
  chart($("#chart-history"), {
    id: "history",
    title: t("wf_chart_history"),
    summary: t("wf_chart_history_summary", {
      arrivals: num(history.reduce((a, x) => a + x.arrivals, 0)), peak: num(Math.max(0, ...history.map((x) => x.required_agents))),
    }),
    labels: history.map((x) => timeLabel(x.start)),
    y2Label: t("agents"),
    datasets: [
      line(t("wf_s_arrivals"), history.map((x) => x.arrivals), COLORS.arrivals, { fill: true }),
      line(t("wf_s_required"), history.map((x) => x.required_agents), COLORS.required, { yAxisID: "y2", stepped: true }),
      line(t("wf_s_signed_in"), signed, COLORS.signed, { yAxisID: "y2", stepped: true }),
    ],
  });
}

function renderDays() {
  const days = new Map();
  for (const i of state.plan.intervals) {
    const date = i.start.slice(0, 10);
    const d = days.get(date) || { arrivals: 0, required: 0, scheduled: 0, hours: 0 };
    d.arrivals += i.forecast_arrivals;
    d.required = Math.max(d.required, i.required_agents);
    d.scheduled = Math.max(d.scheduled, i.required_scheduled);
    d.hours += i.required_scheduled / 2;
    days.set(date, d);
  }
  const th = (key) => h("th", { scope: "col" }, t(key));
  mount($("#plan-days"),
    h("thead", {}, h("tr", {}, th("wf_day"), th("wf_arrivals"), th("wf_peak_required"), th("wf_peak_scheduled"), th("wf_agent_hours"))),
    h("tbody", {}, [...days.entries()].map(([date, d]) => h("tr", { "data-day": date },
      h("th", { scope: "row" }, dayLabel(date)),
      h("td", {}, num(d.arrivals)), h("td", {}, num(d.required)), h("td", {}, num(d.scheduled)), h("td", {}, num(d.hours, 1))))));
}

function render() {
  if (!state.plan) return;
  renderFacts();
  renderCharts();
  renderDays();
}

function onLang() {
  applyLang();
  fillForm();
  render();
}

async function main() {
  state.me = await whoAmI();
  setLang(state.me.language || initialLang());
  applyLang();
  topbar({ user: state.me, page: "planning", onLang });
  if (!hasRole(state.me, "supervisor")) {
    mount($("#planning-main"), h("p", { class: "error pad", role: "alert" }, t("err_role_required")));
    return;
  }
  if (window.Chart) window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const teams = (await api("/teams")).items.sort((a, b) => a.name.localeCompare(b.name));
  state.teams = state.me.role === "admin" ? teams : teams.filter((tm) => state.me.team_ids.includes(tm.id));
  if (!state.teams.length) {
    mount($("#planning-main"), h("p", { class: "muted pad", role: "status" }, t("wf_no_teams")));
    return;
  }
  fillForm(fromHash());
  form().addEventListener("change", load);
  form().addEventListener("submit", (e) => e.preventDefault());
  await load();
}

main();
