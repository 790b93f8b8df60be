// The conversation list (my work, the team queue, recently closed): channel icon,
// contact name, last activity, waiting time, unread badge and SLA countdown.
import { h, mount, patch } from "../dom.js";
import { ageSeconds, clock, shortDuration, slaState, timeOfDay } from "../format.js";
import { t } from "../i18n.js";
import { channelIcon } from "../icons.js";
import { tierBadges } from "../crm/badges.js";
import { labelChips } from "./labels.js";
import { avatar } from "../avatar.js";

export const OPEN = new Set(["queued", "offered", "assigned", "waiting_on_customer", "snoozed"]);

/** Seconds the customer has been waiting for us, or null when the ball is in their court. */
export function waitingSeconds(conv) {
  if (conv.status === "queued" || conv.status === "offered") return ageSeconds(conv.queued_at || conv.created_at);
  if (conv.status === "snoozed" || conv.status === "resolved" || conv.status === "abandoned") return null;
  if (conv.last_inbound_at) {
    // Present when the hub sends it: exact.
    const answered = conv.last_outbound_at && conv.last_outbound_at >= conv.last_inbound_at;
    return answered ? null : ageSeconds(conv.last_inbound_at);
  }
  if (!conv.first_response_at) return ageSeconds(conv.queued_at || conv.created_at);
  return conv.unread_count > 0 ? ageSeconds(conv.last_message_at) : null;
}

export function lastActivity(conv) {
  return conv.last_message_at || conv.updated_at || conv.created_at;
}

function slaText(conv) {
  const sla = slaState(conv);
  if (!sla) return null;
  return { text: t(sla.breached ? "sla_breached" : "sla_left", { time: clock(Math.abs(sla.remaining)) }), sla };
}

/** Update only the clocks (called every second; keeps focus and hover intact). */
export function tickList(root, convs) {
  for (const el of root.querySelectorAll("[data-conversation-id]")) {
    const conv = convs.get(Number(el.dataset.conversationId));
    if (!conv) continue;
    const slaEl = el.querySelector(".sla");
    const s = slaText(conv);
    if (slaEl && s) {
      slaEl.textContent = s.text;
      slaEl.classList.toggle("breached", s.sla.breached);
      slaEl.classList.toggle("soon", s.sla.soon);
    }
    const waitEl = el.querySelector(".wait");
    const w = waitingSeconds(conv);
    if (waitEl && w !== null) waitEl.textContent = t("waiting_for", { time: shortDuration(w) });
  }
}

export function renderItem(conv, { current, teamName, assignee = null }) {
  const s = slaText(conv);
  const w = waitingSeconds(conv);
  const unread = conv.unread_count || 0;
  return h("li", {},
    h("button", {
      type: "button", class: ["conv-item", current && "current", unread && "has-unread"],
      "data-conversation-id": conv.id, "aria-current": current ? "true" : null,
    },
    channelIcon(conv.channel),
    h("span", { class: "conv-main" },
      h("span", { class: "row" },
        h("bdi", { class: "name", dir: "auto" }, conv.contact_name || conv.contact_address || t("unknown_customer")),
        tierBadges(conv.contact_tiers, { small: true }),
        h("time", { class: "when", datetime: lastActivity(conv) }, timeOfDay(lastActivity(conv)))),
      conv.subject ? h("span", { class: "row subject-line", dir: "auto" }, conv.subject) : null,
      h("span", { class: "row small" },
        h("span", { class: ["status-chip", `status-${conv.status}`] }, t(`status_${conv.status}`)),
        teamName ? h("span", { class: "muted" }, teamName) : null,
        assignee ? avatar(assignee, { size: "xs" }) : null,
        w !== null ? h("span", { class: "wait" }, t("waiting_for", { time: shortDuration(w) })) : null,
        s ? h("span", { class: ["sla", s.sla.breached && "breached", s.sla.soon && "soon"] }, s.text) : null,
        conv.priority > 0 ? h("span", { class: "prio" }, t("priority_n", { n: conv.priority })) : null),
      conv.tags?.length ? h("span", { class: "row labels-row" }, labelChips(conv.tags, { small: true })) : null),
    unread ? h("span", { class: "badge unread", "aria-label": t("unread_n", { n: unread }) }, String(unread)) : null));
}

export function renderList(root, items, { currentId, teams, emptyText, users = null }) {
  const focused = document.activeElement?.closest?.("[data-conversation-id]")?.dataset.conversationId;
  if (!items.length) {
    mount(root, h("li", { class: "empty muted" }, emptyText));
    return;
  }
  // patch: a row no event changed stays the same element (a click on it is not lost to
  // a redraw between mousedown and mouseup); rows are found again by conversation.
  patch(root, items.map((c) => renderItem(c, { current: c.id === currentId, teamName: teams.get(c.team_id)?.name, assignee: users?.get(c.assignee_id) })),
    { key: (li) => li.firstElementChild?.dataset.conversationId ?? null });
  if (focused) root.querySelector(`[data-conversation-id="${focused}"]`)?.focus();
}
