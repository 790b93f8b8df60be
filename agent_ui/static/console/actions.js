// Conversation actions as small modal forms, shared by the console and the
// supervisor view. Each dialog performs its REST call and shows the hub's error
// inside the dialog when it refuses.
import { api } from "../api.js";
import { field, modal } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { serverNow } from "../format.js";
import { t } from "../i18n.js";

export const CATEGORIES = ["inquiry", "complaint", "suggestion", "order", "other"];

function presenceLabel(u) {
  return `${u.name} (${t(`presence_${u.presence}`)})`;
}

function agentOptions(users, { exclude = null, teamId = null } = {}) {
  // Available people first: a direct transfer needs someone who can take it now.
  const rank = { available: 0, busy: 1, wrap_up: 2, away: 3, offline: 4 };
  return [...users.values()]
    .filter((u) => u.active && u.id !== exclude && (teamId === null || u.team_ids.includes(teamId)))
    .sort((a, b) => (rank[a.presence] ?? 5) - (rank[b.presence] ?? 5) || a.name.localeCompare(b.name))
    .map((u) => h("option", { value: u.id }, presenceLabel(u)));
}

export function transferDialog(conv, { users, teams, me }) {
  const toTeam = h("input", { type: "radio", name: "target", value: "team", id: "tr-team", checked: true });
  const toAgent = h("input", { type: "radio", name: "target", value: "agent", id: "tr-agent" });
  const team = h("select", { name: "team_id", id: "tr-team-select" },
    [...teams.values()].map((tm) => h("option", { value: tm.id, selected: tm.id === conv.team_id }, tm.name)));
  // Only colleagues of the chosen team (the hub refuses others: agent_not_in_team);
  // picking another team and a colleague in it moves the conversation to that team.
  const agent = h("select", { name: "user_id", id: "tr-agent-select", disabled: true });
  const fillAgents = () => {
    const options = agentOptions(users, { exclude: me.id, teamId: Number(team.value) });
    mount(agent, options.length ? options : h("option", { value: "", disabled: true, selected: true }, t("transfer_no_agents")));
  };
  fillAgents();
  team.addEventListener("change", fillAgents);
  const sync = () => {
    agent.disabled = !toAgent.checked;
  };
  toTeam.addEventListener("change", sync);
  toAgent.addEventListener("change", sync);
  const note = h("textarea", { name: "note", rows: 2, dir: "auto" });
  const body = h("div", { class: "stack" },
    h("fieldset", {}, h("legend", {}, t("transfer_to")),
      h("label", { for: "tr-team" }, toTeam, " ", t("transfer_team")), " ",
      h("label", { for: "tr-agent" }, toAgent, " ", t("transfer_agent"))),
    field(t("team"), team),
    field(t("agent"), agent),
    field(t("transfer_note"), note));
  return modal({
    title: t("transfer_title", { id: conv.id }), body, submitLabel: t("transfer"), id: "transfer-dialog",
    onSubmit: async () => {
      const teamId = Number(team.value);
      const payload = toTeam.checked ? { team_id: teamId } : { user_id: Number(agent.value) };
      if (toAgent.checked && teamId !== conv.team_id) payload.team_id = teamId;
      if (note.value.trim()) payload.note = note.value.trim();
      await api(`/conversations/${conv.id}/transfer`, { method: "POST", body: payload });
    },
  });
}

/**
 * Resolve with a category. With `offerComplaint`, choosing *complaint* shows a box
 * to open a complaint for the conversation afterwards (an offer: unticked, so a plain
 * resolve stays one step); `onResolved` hears the choice once the hub has resolved it.
 */
export function resolveDialog(conv, { offerComplaint = false, onResolved = null } = {}) {
  const select = h("select", { name: "category", id: "resolve-category" },
    h("option", { value: "" }, t("cat_none")),
    CATEGORIES.map((c) => h("option", { value: c, selected: conv.category === c }, t(`cat_${c}`))));
  const offer = h("input", { type: "checkbox", name: "open_complaint", id: "resolve-open-complaint" });
  const offerRow = h("label", { class: "check", for: "resolve-open-complaint", id: "resolve-offer" }, offer, " ", t("cmp_offer_on_resolve"));
  const sync = () => { offerRow.hidden = !offerComplaint || select.value !== "complaint"; };
  select.addEventListener("change", sync);
  sync();
  return modal({
    title: t("resolve_title", { id: conv.id }), body: h("div", { class: "stack" }, field(t("category"), select), offerRow),
    submitLabel: t("resolve"), id: "resolve-dialog",
    onSubmit: async () => {
      await api(`/conversations/${conv.id}/resolve`, {
        method: "POST", body: select.value ? { category: select.value } : {},
      });
      onResolved?.({ category: select.value || null, openComplaint: !offerRow.hidden && offer.checked });
    },
  });
}

const SNOOZE_MAX_MS = 365 * 24 * 3600 * 1000; // the hub refuses more than a year (snooze_too_far)

/** A Date as the value of a datetime-local input, in the browser's (the agent's) zone. */
function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function snoozeDialog(conv) {
  const choices = [
    ["1h", 3600], ["4h", 4 * 3600], ["24h", 24 * 3600], ["week", 7 * 24 * 3600],
  ];
  const select = h("select", { name: "until", id: "snooze-choice" },
    choices.map(([key, secs]) => h("option", { value: secs }, t(`snooze_${key}`))),
    h("option", { value: "custom" }, t("sn_until")));
  // "Until…": a date and time in the agent's time zone, by the hub's clock.
  const now = new Date(serverNow());
  const when = h("input", {
    type: "datetime-local", name: "snooze_at", id: "snooze-at", step: 60,
    min: localInputValue(now), max: localInputValue(new Date(now.getTime() + SNOOZE_MAX_MS)),
    value: localInputValue(new Date(now.getTime() + 24 * 3600 * 1000)),
  });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const whenRow = field(t("sn_when"), when, t("sn_zone", { zone }));
  const sync = () => { whenRow.hidden = select.value !== "custom"; };
  select.addEventListener("change", sync);
  sync();
  return modal({
    title: t("snooze_title"), body: h("div", { class: "stack" }, field(t("snooze_for"), select), whenRow),
    submitLabel: t("snooze"), id: "snooze-dialog",
    onSubmit: async () => {
      let until;
      if (select.value === "custom") {
        const at = when.value ? new Date(when.value) : null; // datetime-local: local time
        const fieldError = (code) => Object.assign(new Error(code), { code: "validation_error", fields: [{ field: "snooze_at", code }] });
        if (!at || Number.isNaN(at.getTime())) throw fieldError("snooze_missing");
        if (at.getTime() <= serverNow()) throw fieldError("bad_snooze");
        if (at.getTime() > serverNow() + SNOOZE_MAX_MS) throw fieldError("snooze_too_far");
        until = at.toISOString();
      } else {
        // By the hub's clock: "in one hour" must be in the hub's future.
        until = new Date(serverNow() + Number(select.value) * 1000).toISOString();
      }
      try {
        await api(`/conversations/${conv.id}/snooze`, { method: "POST", body: { until } });
      } catch (err) {
        // The hub checks too (bad_snooze, snooze_too_far): shown next to the picker.
        if (["bad_snooze", "snooze_too_far"].includes(err.code) && select.value === "custom") {
          throw Object.assign(err, { code: "validation_error", fields: [{ field: "snooze_at", code: err.code }] });
        }
        throw err;
      }
    },
  });
}

export function assignDialog(conv, { users }) {
  const select = h("select", { name: "user_id", id: "assign-agent" }, agentOptions(users, { teamId: conv.team_id }));
  return modal({
    title: t("assign_title", { id: conv.id }), body: field(t("agent"), select), submitLabel: t("assign"),
    id: "assign-dialog",
    onSubmit: async () => {
      await api(`/conversations/${conv.id}/assign`, { method: "POST", body: { user_id: Number(select.value) } });
    },
  });
}

export function priorityDialog(conv) {
  const input = h("input", { type: "number", name: "priority", id: "priority-input", min: -100, max: 100, step: 1, value: conv.priority ?? 0 });
  return modal({
    title: t("priority_title", { id: conv.id }), body: field(t("priority"), input, t("priority_hint")),
    submitLabel: t("save"), id: "priority-dialog",
    onSubmit: async () => {
      await api(`/conversations/${conv.id}/priority`, { method: "POST", body: { priority: Number(input.value) } });
    },
  });
}

export async function reopen(conv) {
  return api(`/conversations/${conv.id}/reopen`, { method: "POST" });
}

export async function takeOver(conv, me) {
  return api(`/conversations/${conv.id}/assign`, { method: "POST", body: { user_id: me.id } });
}
