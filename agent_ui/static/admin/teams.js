// Teams: name and description, the common routing-policy keys as a form (other keys
// in the team's routing JSON are kept untouched), business hours, and members.
import { api } from "../api.js";
import { confirmDialog, errorText, field, modal, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { channelNumbers, checkbox, checkboxGroup, checkedNumbers, input, select } from "./forms.js";

const STRATEGIES = ["longest_idle", "least_occupied", "round_robin"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export async function teamsSection(root, { me }) {
  const [teams, users] = (await Promise.all([api("/teams"), api("/users")])).map((page) => page.items);
  const reload = () => teamsSection(root, { me });
  const rows = teams.map((tm) => h("tr", { "data-team-id": tm.id },
    h("th", { scope: "row" }, h("bdi", {}, tm.name)),
    h("td", { dir: "auto" }, tm.description || "—"),
    h("td", {}, t(`strategy_${tm.routing.strategy || "longest_idle"}`)),
    h("td", {}, Object.keys(tm.business_hours || {}).length ? tm.business_hours.timezone || "UTC" : t("always_open")),
    h("td", {}, String(tm.member_ids.length)),
    h("td", { class: "actions" },
      h("button", { type: "button", class: "secondary small", "data-edit": tm.id, on: { click: async () => { if (await editTeam(tm, teams)) reload(); } } }, t("edit")),
      " ",
      h("button", { type: "button", class: "secondary small", "data-members": tm.id, on: { click: async () => { if (await editMembers(tm, users)) reload(); } } }, t("members")),
      " ",
      h("button", {
        type: "button", class: "danger small", "data-delete": tm.id,
        on: {
          click: async () => {
            if (!(await confirmDialog(t("delete_team_title"), t("delete_team", { name: tm.name }), { submitLabel: t("delete"), danger: true }))) return;
            try {
              await api(`/teams/${tm.id}`, { method: "DELETE" });
              reload();
            } catch (err) {
              toast(errorText(err), { kind: "error" });
            }
          },
        },
      }, t("delete")))));
  mount(root,
    h("div", { class: "section-head" },
      h("h2", {}, t("adm_teams")),
      h("button", { type: "button", class: "primary", id: "new-team", on: { click: async () => { if (await editTeam(null, teams)) reload(); } } }, t("new_team"))),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "teams-table" },
      h("thead", {}, h("tr", {}, ["name", "description", "strategy", "business_hours", "members", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      h("tbody", {}, rows))));
}

/** Business hours: time zone, open spans per weekday, closed dates, after-hours texts. */
function hoursEditor(hours) {
  const always = h("input", { type: "checkbox", name: "always_open", checked: !Object.keys(hours).length });
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const tz = input("timezone", hours.timezone || "UTC", { list: "tz-list", dir: "ltr" });
  const days = new Map();
  const dayRows = DAYS.map((day) => {
    const spans = h("div", { class: "spans" });
    const addSpan = (open = "09:00", close = "17:00") => {
      const row = h("span", { class: "span-edit" },
        h("input", { type: "time", class: "open", value: open, "aria-label": t("opens_at", { day: t(`day_${day}`) }) }),
        "–",
        h("input", { type: "time", class: "close", value: close, "aria-label": t("closes_at", { day: t(`day_${day}`) }) }),
        h("button", { type: "button", class: "secondary small", "aria-label": t("remove"), on: { click: () => row.remove() } }, "×"));
      spans.append(row);
    };
    for (const [open, close] of hours.days?.[day] || []) addSpan(open, close);
    days.set(day, spans);
    return h("div", { class: "day-row", "data-day": day },
      h("span", { class: "day-name" }, t(`day_${day}`)), spans,
      h("button", { type: "button", class: "secondary small", on: { click: () => addSpan() } }, t("add_hours")));
  });
  const closed = input("closed_dates", (hours.closed_dates || []).join(", "), { dir: "ltr", placeholder: "2026-12-25" });
  const msg = hours.after_hours_message || {};
  const msgEn = h("textarea", { name: "after_hours_en", rows: 2, dir: "ltr", lang: "en" });
  msgEn.value = msg.en || "";
  const msgAr = h("textarea", { name: "after_hours_ar", rows: 2, dir: "rtl", lang: "ar" });
  msgAr.value = msg.ar || "";
  const el = h("fieldset", { class: "hours", "data-field": "business_hours" }, h("legend", {}, t("business_hours")),
    h("label", { class: "check" }, always, " ", t("always_open")),
    field(t("timezone"), tz),
    h("datalist", { id: "tz-list" }, zones.map((z) => h("option", { value: z }))),
    h("div", { class: "days" }, dayRows),
    field(t("closed_dates"), closed, t("closed_dates_hint")),
    field(t("after_hours_en"), msgEn),
    field(t("after_hours_ar"), msgAr));
  const value = () => {
    const out = { ...hours };
    if (always.checked) return {};
    out.timezone = tz.value.trim() || "UTC";
    out.days = {};
    for (const [day, spans] of days) {
      const list = [...spans.children].map((row) => [row.querySelector(".open").value, row.querySelector(".close").value]).filter(([a, b]) => a && b);
      if (list.length) out.days[day] = list;
    }
    const dates = closed.value.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
    if (dates.length) out.closed_dates = dates;
    else delete out.closed_dates;
    const texts = {};
    if (msgEn.value.trim()) texts.en = msgEn.value.trim();
    if (msgAr.value.trim()) texts.ar = msgAr.value.trim();
    if (Object.keys(texts).length) out.after_hours_message = texts;
    else delete out.after_hours_message;
    return out;
  };
  return { el, value };
}

function numberOrNull(value) {
  return value === "" || value === null || value === undefined ? null : Number(value);
}

async function editTeam(team, teams) {
  const r = team?.routing || {};
  const overflow = r.overflow_team_id ?? r.overflow_team ?? "";
  const offerTimeout = channelNumbers(t("offer_timeout"), "routing.offer_timeout", r.offer_timeout || {}, { max: 3600, hint: t("offer_timeout_hint") });
  const sla = channelNumbers(t("sla_seconds"), "routing.sla_seconds", r.sla_seconds || {}, { max: 604800, hint: t("sla_hint") });
  const hours = hoursEditor(team?.business_hours || {});
  const body = h("div", { class: "form-grid" },
    field(t("name"), input("name", team?.name || "", { required: true })),
    field(t("description"), input("description", team?.description || "")),
    h("fieldset", { class: "routing", "data-field": "routing" }, h("legend", {}, t("routing_policy")),
      field(t("strategy"), select("strategy", STRATEGIES.map((s) => [s, t(`strategy_${s}`)]), r.strategy || "longest_idle")),
      checkbox("auto_accept", r.auto_accept === true, t("auto_accept")),
      checkbox("allow_pick", r.allow_pick !== false, t("allow_pick")),
      field(t("wrap_up_seconds"), h("input", { type: "number", name: "wrap_up_seconds", min: 0, max: 3600, value: r.wrap_up_seconds ?? "" })),
      field(t("overflow_team"), select("overflow_team", [["", t("none")], ...teams.filter((x) => x.id !== team?.id).map((x) => [x.id, x.name])], overflow)),
      field(t("overflow_after"), h("input", { type: "number", name: "overflow_after", min: 0, max: 86400, value: r.overflow_after ?? "" }))),
    offerTimeout.el,
    sla.el,
    hours.el);
  return modal({
    title: team ? t("edit_team", { name: team.name }) : t("new_team"), body, wide: true, id: "team-dialog",
    submitLabel: team ? t("save") : t("create"),
    onSubmit: async (form) => {
      // Start from the stored policy so keys this form does not show survive an edit.
      const routing = { ...r };
      const set = (key, value) => {
        if (value === null || value === undefined || (typeof value === "object" && !Object.keys(value).length)) delete routing[key];
        else routing[key] = value;
      };
      set("strategy", form.elements.strategy.value);
      set("auto_accept", form.elements.auto_accept.checked ? true : null);
      set("allow_pick", form.elements.allow_pick.checked ? null : false);
      set("wrap_up_seconds", numberOrNull(form.elements.wrap_up_seconds.value));
      delete routing.overflow_team;
      set("overflow_team_id", numberOrNull(form.elements.overflow_team.value));
      set("overflow_after", routing.overflow_team_id ? numberOrNull(form.elements.overflow_after.value) : null);
      set("offer_timeout", offerTimeout.value());
      set("sla_seconds", sla.value());
      const payload = {
        name: form.elements.name.value.trim(),
        description: form.elements.description.value.trim(),
        routing,
        business_hours: hours.value(),
      };
      if (team) await api(`/teams/${team.id}`, { method: "PATCH", body: payload });
      else await api("/teams", { method: "POST", body: payload });
    },
  });
}

function editMembers(team, users) {
  const group = checkboxGroup(t("members"), "user_ids",
    users.filter((u) => u.active).map((u) => ({ value: u.id, label: `${u.name} (${t(`role_${u.role}`)})`, checked: team.member_ids.includes(u.id) })));
  return modal({
    title: t("members_of", { name: team.name }), body: group, submitLabel: t("save"), id: "members-dialog",
    onSubmit: async (form) => {
      await api(`/teams/${team.id}/members`, { method: "PUT", body: { user_ids: checkedNumbers(form, "user_ids") } });
    },
  });
}
