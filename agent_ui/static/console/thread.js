// The conversation timeline: messages, private notes, call records and conversation
// events in one ordered list. Items are inserted in place (never re-rendered as a
// whole), so live updates keep the reader's scroll position and text selection.
// Shared by the agent console and the supervisor's read-only view.
import { allPages } from "../api.js";
import { h, linkify, mount } from "../dom.js";
import { channelName, dateTime, parseTime, timeOfDay } from "../format.js";
import { t } from "../i18n.js";
import { channelIcon, icon } from "../icons.js";
import { surveyItem, surveyTime } from "../care/surveys.js";
import { avatar } from "../avatar.js";
import { firedText } from "./macros.js";

const SHOWN_EVENTS = new Set([
  "conversation.assigned", "conversation.transferred", "conversation.resolved", "conversation.reopened",
  "conversation.updated", "conversation.abandoned", "rule.fired",
]);

/** A message from REST (MessageOut) or from an event payload, in one shape. */
export function normalizeMessage(m) {
  return {
    id: m.id ?? m.message_id,
    conversation_id: m.conversation_id,
    channel: m.channel,
    direction: m.direction,
    author_type: m.author_type,
    author_id: m.author_id ?? null,
    kind: m.kind || "text",
    subject: m.subject || "",
    body: m.body || "",
    attachments: m.attachments || [],
    delivery_status: m.delivery_status,
    error: m.error ?? null,
    // A supervisor's whisper: meta.whisper over REST, payload.whisper on the socket.
    meta: m.whisper ? { ...(m.meta || {}), whisper: true } : m.meta || {},
    created_at: m.created_at,
  };
}

export class ThreadView {
  /**
   * @param {HTMLOListElement} list  the <ol> to fill
   * @param {{users: Map, teams: Map}} directory  names for authors and events
   */
  constructor(list, directory) {
    this.list = list;
    this.dir = directory;
    this.items = new Map(); // key -> {key, at, order, el}
    this.conv = null;
    this.messages = new Map();
    this.multiChannel = false;
    this.loadToken = 0;
    this.maxEventId = 0;
    // Pinned to the newest entry while the reader is there. When the pane changes size
    // (the header re-rendered after a transfer, the composer or a banner growing) the
    // newest entry stays in view instead of slipping under the fold.
    this.pinned = true;
    // Only the reader moving up unpins: a pane that shrinks (more header buttons) leaves
    // the newest entry further from the bottom without anyone scrolling.
    let lastTop = this.list.scrollTop;
    this.list.addEventListener("scroll", () => {
      const top = this.list.scrollTop;
      if (this.nearBottom()) this.pinned = true;
      else if (top < lastTop) this.pinned = false;
      lastTop = top;
    }, { passive: true });
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => { if (this.pinned) this.scrollToEnd(); }).observe(this.list);
    }
  }

  clear() {
    this.items.clear();
    this.messages.clear();
    this.maxEventId = 0;
    this.conv = null;
    this.list.replaceChildren();
  }

  /**
   * Load one conversation (or, with `history`, the contact's other conversations too,
   * merged by time: the customer's full thread across channels).
   */
  async load(conv, { history = [] } = {}) {
    const token = ++this.loadToken;
    this.clear();
    this.conv = conv;
    this.list.setAttribute("aria-busy", "true");
    const convs = [conv, ...history.filter((c) => c.id !== conv.id)];
    this.multiChannel = new Set(convs.map((c) => c.channel)).size > 1 || history.length > 0;
    const loaded = await Promise.all(
      convs.map(async (c) => {
        const [messages, events] = await Promise.all([
          allPages(`/conversations/${c.id}/messages`, { after: 0, limit: 500 }),
          allPages("/events", { conversation_id: c.id, after: 0, limit: 1000 }).catch(() => []),
        ]);
        return { c, messages, events };
      }),
    );
    if (token !== this.loadToken) return false; // another conversation was opened meanwhile
    for (const { c, messages, events } of loaded) {
      if (c.id !== conv.id) this.addSeparator(c);
      for (const m of messages) this.addMessage(m, { scroll: false });
      for (const e of events) this.addEvent(e, { scroll: false });
    }
    this.list.removeAttribute("aria-busy");
    this.scrollToEnd();
    return true;
  }

  /**
   * After a reconnect: re-read the open conversation over REST and merge by id (no
   * duplicates). The socket's replay already brought what the hub had logged; this
   * also covers events that became visible out of id order around the drop, and
   * delivery-status changes of older messages.
   */
  async catchUp() {
    const conv = this.conv;
    if (!conv) return;
    const [messages, events] = await Promise.all([
      allPages(`/conversations/${conv.id}/messages`, { after: 0, limit: 500 }),
      allPages("/events", { conversation_id: conv.id, after: this.maxEventId, limit: 1000 }).catch(() => []),
    ]);
    if (this.conv !== conv) return;
    for (const m of messages) this.addMessage(m);
    for (const e of events) this.addEvent(e);
  }

  lastInboundId() {
    let best = 0;
    for (const m of this.messages.values()) {
      if (m.direction === "inbound" && m.conversation_id === this.conv?.id && m.id > best) best = m.id;
    }
    return best;
  }

  lastCustomerMessage() {
    let best = null;
    for (const m of this.messages.values()) {
      if (m.direction === "inbound" && m.kind !== "event" && (!best || m.id > best.id)) best = m;
    }
    return best;
  }

  has(conversationId) {
    return this.conv !== null && (this.conv.id === conversationId || this.items.has(`sep-${conversationId}`));
  }

  nearBottom() {
    const el = this.list;
    return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
    this.pinned = true;
  }

  insert(key, at, order, el, { scroll = true } = {}) {
    const stick = scroll && (this.pinned || this.nearBottom());
    el.dataset.key = key;
    const existing = this.items.get(key);
    if (existing) {
      existing.el.replaceWith(el);
      existing.el = el;
      return;
    }
    const item = { key, at, order, el };
    this.items.set(key, item);
    // Usually the newest: walk back from the end to find the place.
    let after = this.list.lastElementChild;
    while (after) {
      const other = this.items.get(after.dataset.key);
      if (!other || other.at < at || (other.at === at && other.order <= order)) break;
      after = after.previousElementSibling;
    }
    if (after) after.after(el);
    else this.list.prepend(el);
    if (stick) this.scrollToEnd();
  }

  addSeparator(c) {
    const at = parseTime(c.created_at) ?? 0;
    const el = h("li", { class: "item separator" },
      h("span", {}, channelIcon(c.channel), " ", t("thread_other_conversation", { id: c.id, channel: channelName(c.channel) }),
        " · ", t(`status_${c.status}`), " · ", dateTime(c.created_at)));
    this.insert(`sep-${c.id}`, at, -1, el, { scroll: false });
  }

  addMessage(raw, opts = {}) {
    const m = normalizeMessage(raw);
    const previous = this.messages.get(m.id);
    if (previous) {
      // The REST answer and the live event describe the same message: keep the richer.
      m.meta = Object.keys(m.meta).length ? m.meta : previous.meta;
      m.error = m.error ?? previous.error;
      if (rank(previous.delivery_status) > rank(m.delivery_status)) m.delivery_status = previous.delivery_status;
    }
    this.messages.set(m.id, m);
    this.insert(`m-${m.id}`, parseTime(m.created_at) ?? 0, m.id, this.renderMessage(m), opts);
  }

  updateStatus(p) {
    const m = this.messages.get(p.message_id);
    if (!m) return;
    m.delivery_status = p.delivery_status;
    m.error = p.error ?? m.error;
    this.insert(`m-${m.id}`, 0, 0, this.renderMessage(m));
  }

  /**
   * The conversation's survey requests (GET /surveys?conversation_id=), each where it
   * happened: answered ones after the answer, others when asked. Called again after a
   * survey event; an item that moved in time is put back in its new place.
   */
  setSurveys(surveys) {
    for (const s of surveys) {
      if (s.conversation_id !== this.conv?.id) continue;
      const key = `sv-${s.id}`;
      const at = parseTime(surveyTime(s)) ?? 0;
      const existing = this.items.get(key);
      if (existing && existing.at !== at) {
        existing.el.remove();
        this.items.delete(key);
      }
      this.insert(key, at, 2e12 + s.id, surveyItem(s));
    }
  }

  addEvent(e, opts = {}) {
    if (e.id > this.maxEventId && e.conversation_id === this.conv?.id) this.maxEventId = e.id;
    if (!SHOWN_EVENTS.has(e.type)) return;
    const text = this.eventText(e);
    if (!text) return;
    const el = h("li", { class: "item event", "data-event-type": e.type },
      h("span", { class: "event-line" }, icon("event"), " ", text, " · ",
        h("time", { datetime: e.ts, title: dateTime(e.ts) }, timeOfDay(e.ts))));
    this.insert(`e-${e.id}`, parseTime(e.ts) ?? 0, 1e12 + e.id, el, opts);
  }

  userName(id) {
    return this.dir.users.get(id)?.name || t("someone");
  }

  eventText(e) {
    const p = e.payload || {};
    switch (e.type) {
      case "conversation.assigned":
        return p.reason === "offer_accepted"
          ? t("ev_accepted", { name: this.userName(p.assignee_id) })
          : t("ev_assigned", { name: this.userName(p.assignee_id) });
      case "conversation.transferred":
        if (p.assignee_id) return t("ev_transferred_agent", { name: this.userName(p.assignee_id) });
        return t("ev_transferred_team", { team: this.dir.teams.get(p.team_id)?.name || "?" });
      case "conversation.resolved": {
        // Who did it, when a person did (a rule or the hub itself has no actor).
        const name = e.actor_id ? this.userName(e.actor_id) : null;
        if (p.category) {
          const category = t(`cat_${p.category}`);
          return name ? t("ev_resolved_as_by", { category, name }) : t("ev_resolved_as", { category });
        }
        return name ? t("ev_resolved_by", { name }) : t("ev_resolved");
      }
      case "conversation.reopened":
        return e.actor_id ? t("ev_reopened_by", { name: this.userName(e.actor_id) }) : t("ev_reopened");
      case "conversation.abandoned":
        return ["caller_hung_up", "visitor_left", "no_reply_timeout"].includes(p.reason)
          ? t(`ev_abandoned_${p.reason}`) : null;
      case "rule.fired":
        return firedText(p, { teamName: (id) => this.dir.teams.get(id)?.name || "?", userName: (id) => this.userName(id) });
      case "conversation.updated":
        if (p.reason === "priority") return t("ev_priority", { n: p.priority });
        if (p.reason === "category" && p.category) return t("ru_ev_category", { category: t(`cat_${p.category}`) });
        if (p.reason === "snoozed") return e.actor_id ? t("ev_snoozed_by", { name: this.userName(e.actor_id) }) : t("ev_snoozed");
        if (p.reason === "snooze_ended") return t("ev_snooze_ended");
        if (p.reason === "labels") return t("ev_labels");
        return null;
      default:
        return null;
    }
  }

  authorName(m) {
    if (m.author_type === "contact") return this.conv?.contact_name || t("customer");
    if (m.author_type === "agent") return this.userName(m.author_id);
    if (m.author_type === "bot") return t("bot");
    return t("system");
  }

  renderMessage(m) {
    if (m.kind === "event") {
      return h("li", { class: "item event", "data-message-id": m.id },
        h("span", { class: "event-line", dir: "auto" }, icon("event"), " ", m.body, " · ",
          h("time", { datetime: m.created_at }, timeOfDay(m.created_at))));
    }
    const side = m.kind === "note" ? "note" : m.direction === "inbound" ? "inbound" : "outbound";
    const meta = h("div", { class: "meta" },
      this.multiChannel || m.kind === "call" ? channelIcon(m.channel) : null,
      m.kind === "note" ? h("span", { class: "tag note-tag" }, icon("note"), t("private_note")) : null,
      m.meta?.whisper ? h("span", { class: "tag whisper-tag" }, t("sup_whisper_tag")) : null,
      m.kind === "call" ? h("span", { class: "tag call-tag" }, icon("call"), t("call_record")) : null,
      careTag(m.meta),
      m.author_type === "agent" && this.dir.users.get(m.author_id) ? avatar(this.dir.users.get(m.author_id), { size: "xs", decorative: true }) : null,
      h("bdi", { class: "author" }, this.authorName(m)),
      h("time", { datetime: m.created_at, title: dateTime(m.created_at) }, timeOfDay(m.created_at)),
    );
    const body = h("div", { class: "body", dir: "auto" }, linkify(m.body, { mentions: m.kind === "note" }));
    const call = m.kind === "call" && m.meta?.call ? callDetails(m.meta.call) : null;
    return h("li", { class: ["item", "msg", side], "data-message-id": m.id, "data-kind": m.kind, "data-whisper": m.meta?.whisper ? "true" : null },
      h("div", { class: "bubble" },
        meta,
        m.subject && m.channel === "email" ? h("div", { class: "subject", dir: "auto" }, m.subject) : null,
        body,
        call,
        attachments(m),
        m.direction === "outbound" ? deliveryStatus(m) : null,
      ));
  }
}

/** What the hub itself said or heard about complaints and surveys, marked as such. */
function careTag(meta = {}) {
  if (meta.survey) return h("span", { class: "tag survey-tag" }, icon("star"), t("sv_question_tag"));
  if (meta.survey_id) return h("span", { class: "tag survey-tag" }, icon("star"), t("sv_answer_tag"));
  if (meta.survey_followup) return h("span", { class: "tag survey-tag" }, icon("star"), t("sv_followup_tag"));
  if (meta.status_answer) return h("span", { class: "tag complaint-tag" }, icon("alert"), t("cmp_status_answer_tag"));
  if (meta.complaint) {
    return h("span", { class: "tag complaint-tag" }, icon("alert"), t("cmp_message_tag"), " ", h("bdi", { dir: "ltr" }, String(meta.complaint)));
  }
  return null;
}

const STATUS_RANK = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4, received: 0 };
function rank(status) {
  return STATUS_RANK[status] ?? 0;
}

function callDetails(call) {
  const parts = [];
  if (call.status) parts.push(t("call_status", { status: call.status }));
  if (call.duration) parts.push(t("call_duration", { s: call.duration }));
  return parts.length ? h("div", { class: "call-details" }, parts.join(" · ")) : null;
}

function deliveryStatus(m) {
  const s = m.delivery_status;
  const iconName = { pending: "clock", sent: "check", delivered: "checks", read: "checks", failed: "alert" }[s] || "clock";
  return h("div", { class: ["delivery", `delivery-${s}`], "data-status": s },
    icon(iconName),
    h("span", {}, t(`delivery_${s}`), s === "failed" && m.error ? ": " : ""),
    s === "failed" && m.error ? h("span", { class: "delivery-error", dir: "auto" }, m.error) : null);
}

function humanSize(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Attachments are always fetched from the hub (which checks access and serves them as
 * downloads with a sandbox CSP) — never from a provider URL the customer controls.
 * The hub sends `{index, filename, content_type, size, url}`; `url` is its download route.
 */
function attachments(m) {
  if (!m.attachments?.length || !m.id) return null;
  return h("ul", { class: "attachments" },
    m.attachments.map((a, i) => {
      const index = Number.isInteger(a.index) ? a.index : i;
      const url = /^\/api\/v1\/messages\/\d+\/attachments\/\d+$/.test(String(a.url || ""))
        ? a.url : `/api/v1/messages/${m.id}/attachments/${index}`;
      const name = a.filename || t("attachment_n", { n: index + 1 });
      const isImage = /^image\/(png|jpeg|gif|webp)$/.test(String(a.content_type || ""));
      const preview = isImage
        ? h("img", { src: url, alt: name, loading: "lazy", class: "thumb", on: { error: (e) => e.target.remove() } })
        : null;
      return h("li", {},
        preview,
        h("a", { href: url, download: name, class: "attachment" }, icon("clip"), h("bdi", {}, name)),
        a.size ? h("small", { class: "muted" }, " ", humanSize(a.size)) : null);
    }));
}

export function emptyThread(list, text) {
  mount(list, h("li", { class: "item empty" }, text));
}

/** "Campaign: <name>" on a conversation a reply to a campaign opened (docs/campaigns.md). */
export function campaignChip(campaign) {
  if (!campaign?.name) return null;
  return h("span", { class: "status-chip campaign-chip", "data-campaign-id": campaign.id, title: t("cp_chip_title", { name: campaign.name }) },
    t("cp_chip"), ": ", h("bdi", { dir: "auto" }, campaign.name));
}
