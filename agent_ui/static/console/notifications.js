// The notification centre: a bell with the unread count in the top bar, a panel
// listing my notifications newest first (mark read, mark all read, open the
// conversation), kept live by the socket's notification.* events (they reach my own
// sockets only). Optional browser notifications for offers and mentions while the tab
// is hidden, asked for only after I opt in (here or on the profile page).
// Every text is built with dom.js: a note's excerpt is shown as text, never markup.
import { api } from "../api.js";
import { errorText, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";
import { icon } from "../icons.js";

const PAGE = 20;
const PROMPT_DISMISSED = "sb-notify-prompt-dismissed";

export function browserNotificationsSupported() {
  return typeof window !== "undefined" && "Notification" in window;
}

/** Ask the browser for permission (only ever after the user chose to turn it on). */
export async function askBrowserPermission() {
  if (!browserNotificationsSupported()) return "unsupported";
  if (Notification.permission !== "default") return Notification.permission;
  return Notification.requestPermission();
}

/** The line that says what happened, in the page's language. */
export function describe(n, nameOf = () => null) {
  const who = n.actor_id ? nameOf(n.actor_id) || t("nt_someone") : null;
  const d = n.data || {};
  switch (n.kind) {
    case "mention": return t("nt_mention", { who: who || t("nt_someone") });
    case "assigned": return who ? t("nt_assigned", { who }) : t("nt_assigned_routing");
    case "transferred": return who ? t("nt_transferred", { who }) : t("nt_transferred_routing");
    case "offer_missed": return t("nt_offer_missed");
    case "escalated":
      return String(d.stage || "").endsWith("_warning") ? t("nt_escalated_warning", { ref: d.reference || "" }) : t("nt_escalated", { ref: d.reference || "" });
    case "low_score": return t("nt_low_score", { score: d.score ?? "?" });
    case "task_due": return t("tk_nt_due", { title: d.title || "" }); // console/tasks.js
    case "rule": return t("ru_nt_rule", { rule: d.rule || "", text: d.text || "" }); // hub/rules (notify action)
    default: return n.kind;
  }
}

export class NotificationBell {
  /**
   * socket: the page's HubSocket; me: the signed-in user; nameOf(id): a colleague's
   * name; onOpen(notification): open what it is about (default: the console's #c=).
   */
  constructor({ socket, me, nameOf = () => null, onOpen = null }) {
    this.socket = socket;
    this.version = 0; // notification events seen (refresh() compares)
    this.me = me;
    this.nameOf = nameOf;
    this.onOpen = onOpen || defaultOpen;
    this.items = new Map(); // id -> notification, newest first by id
    this.unread = 0;
    this.nextCursor = null;
    this.loaded = false;
    this.browser = false; // the profile's browser_notifications
    this.badge = h("span", { class: "nt-badge", "aria-hidden": "true", hidden: true });
    this.button = h("button", {
      type: "button", class: "secondary nt-bell", id: "nt-bell", "aria-expanded": "false", "aria-controls": "nt-panel",
      on: { click: () => this.toggle() },
    });
    this.list = h("ul", { class: "nt-list", id: "nt-list" });
    this.panel = h("div", { class: "nt-panel", id: "nt-panel", role: "dialog", hidden: true, tabindex: "-1" });
    this.element = h("div", { class: "nt" }, this.button, this.panel);
    // Escape closes it wherever focus is (a re-render may have removed the focused button).
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !this.panel.hidden) {
        this.close();
        this.button.focus();
      }
    });
    document.addEventListener("click", (e) => {
      if (!this.panel.hidden && !this.element.contains(e.target)) this.close();
    });
    socket.addEventListener("event", (e) => this.onEvent(e.detail.event, e.detail.replayed));
    socket.addEventListener("hello", () => this.refresh());
    this.renderButton();
  }

  async start() {
    try {
      const profile = await api("/profile");
      this.browser = profile.browser_notifications;
    } catch {
      this.browser = false;
    }
    await this.refresh();
  }

  async refresh() {
    try {
      this.unread = (await this.fresh(() => api("/notifications/unread-count"))).unread;
      this.renderButton();
      if (!this.panel.hidden) await this.load();
      else this.loaded = false;
    } catch (err) {
      console.warn("notifications", err);
    }
  }

  /**
   * fetch()'s answer, asked again (up to three times) when a notification event of mine
   * (created, or read — my own click's too) landed while it was on its way: that event
   * is newer than the answer, which must not overwrite what it did.
   */
  async fresh(fetch) {
    let answer;
    for (let tries = 0; tries < 3; tries += 1) {
      const version = this.version;
      answer = await fetch();
      if (version === this.version) break;
    }
    return answer;
  }

  async load({ more = false } = {}) {
    const query = { limit: PAGE, ...(more && this.nextCursor ? { cursor: this.nextCursor } : {}) };
    const fetch = () => api("/notifications", { query });
    // A further page only adds older items; the first one replaces the list, so it must
    // be fresh. Read stays read: a page cannot take back a read this bell has seen.
    const page = more ? await fetch() : await this.fresh(fetch);
    const before = this.items;
    if (!more) this.items = new Map();
    for (const n of page.items) {
      const seen = before.get(n.id);
      if (seen?.read_at && !n.read_at) n.read_at = seen.read_at;
      this.items.set(n.id, n);
    }
    this.nextCursor = page.next_cursor;
    this.loaded = true;
    this.renderPanel();
  }

  toggle() {
    if (this.panel.hidden) this.open();
    else this.close();
  }

  async open() {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.renderPanel();
    this.panel.focus();
    if (!this.loaded) {
      try {
        await this.load();
      } catch (err) {
        toast(errorText(err), { kind: "error" });
      }
    }
  }

  close() {
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  onEvent(ev, replayed) {
    if (ev.type.startsWith("notification.") && ev.user_id === this.me.id) this.version += 1;
    if (ev.type === "notification.created" && ev.user_id === this.me.id) {
      const p = ev.payload;
      const n = {
        id: p.notification_id, kind: p.kind, conversation_id: p.conversation_id, complaint_id: p.complaint_id,
        actor_id: p.actor_id, data: p.data || {}, created_at: p.created_at, read_at: null,
      };
      this.items = new Map([[n.id, n], ...this.items]);
      this.unread = p.unread;
      this.renderButton();
      if (!this.panel.hidden) this.renderPanel();
      if (!replayed && n.kind === "mention") this.browserNotify(describe(n, this.nameOf), n.data.excerpt || "", `sb-n-${n.id}`, () => this.activate(n));
    } else if (ev.type === "notification.read" && ev.user_id === this.me.id) {
      const p = ev.payload;
      const now = ev.ts;
      for (const n of this.items.values()) {
        if (!n.read_at && (p.all || p.ids.includes(n.id))) n.read_at = now;
      }
      this.unread = p.unread;
      this.renderButton();
      if (!this.panel.hidden) this.renderPanel();
    } else if (ev.type === "offer.created" && ev.payload?.user_id === this.me.id && !replayed) {
      this.browserNotify(t("nt_browser_offer"), t("nt_browser_offer_body"), `sb-offer-${ev.payload.offer_id}`, () => window.focus());
    }
  }

  /** Only when I turned it on, the browser allows it and the tab is hidden. */
  browserNotify(title, body, tag, onClick) {
    if (!this.browser || !browserNotificationsSupported() || Notification.permission !== "granted") return;
    if (document.visibilityState !== "hidden") return;
    try {
      const note = new Notification(title, { body: String(body).slice(0, 200), tag, lang: document.documentElement.lang });
      note.onclick = () => {
        window.focus();
        onClick();
        note.close();
      };
    } catch (err) {
      console.warn("browser notification", err);
    }
  }

  async markRead(n) {
    if (n.read_at) return;
    try {
      const res = await api(`/notifications/${n.id}/read`, { method: "POST" });
      n.read_at = new Date().toISOString();
      this.unread = res.unread;
      this.renderButton();
      this.renderPanel();
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  async markAll() {
    try {
      const res = await api("/notifications/read-all", { method: "POST" });
      const now = new Date().toISOString();
      for (const n of this.items.values()) n.read_at = n.read_at || now;
      this.unread = res.unread;
      this.renderButton();
      this.renderPanel();
      this.panel.focus(); // the button is gone (disabled and re-rendered): keep focus in the panel
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  async activate(n) {
    await this.markRead(n);
    this.close();
    this.onOpen(n);
  }

  renderButton() {
    const n = this.unread;
    mount(this.button, icon("bell"), h("span", { class: "visually-hidden" }, n ? t("nt_bell_unread", { n }) : t("nt_bell")), this.badge);
    this.button.title = t("nt_bell");
    this.badge.textContent = n > 99 ? "99+" : String(n);
    this.badge.hidden = n === 0;
    this.button.dataset.unread = String(n);
  }

  renderPanel() {
    this.panel.setAttribute("aria-label", t("nt_title"));
    const items = [...this.items.values()].sort((a, b) => b.id - a.id);
    const rows = items.map((n) => {
      const target = n.conversation_id ? t("nt_conversation", { id: n.conversation_id }) : null;
      return h("li", { class: ["nt-item", n.read_at ? null : "unread"], "data-notification-id": n.id, "data-kind": n.kind },
        h("button", { type: "button", class: "nt-open", on: { click: () => this.activate(n) } },
          h("span", { class: "nt-what" }, n.read_at ? null : h("span", { class: "visually-hidden" }, `${t("nt_unread")}: `), describe(n, this.nameOf)),
          n.data?.excerpt ? h("bdi", { class: "nt-excerpt", dir: "auto" }, n.data.excerpt) : null,
          h("span", { class: "nt-meta muted" }, [target, dateTime(n.created_at)].filter(Boolean).join(" · "))),
        n.read_at ? null : h("button", {
          type: "button", class: "link nt-read", title: t("nt_mark_read"), "aria-label": t("nt_mark_read"),
          on: { click: (e) => { e.stopPropagation(); this.markRead(n); } },
        }, icon("check")));
    });
    mount(this.list, rows.length ? rows : h("li", { class: "nt-empty muted" }, t("nt_empty")));
    mount(this.panel,
      h("div", { class: "nt-head" },
        h("h2", { class: "nt-title" }, t("nt_title")),
        h("button", { type: "button", class: "link", id: "nt-mark-all", disabled: this.unread === 0, on: { click: () => this.markAll() } }, t("nt_mark_all")),
        h("button", { type: "button", class: "link nt-x", "aria-label": t("nt_close"), on: { click: () => { this.close(); this.button.focus(); } } }, icon("close"))),
      this.prompt(),
      this.list,
      this.nextCursor ? h("button", { type: "button", class: "secondary nt-more", on: { click: () => this.load({ more: true }) } }, t("nt_more")) : null);
  }

  /** The opt-in prompt: only while the browser has not been asked and I did not say no. */
  prompt() {
    if (this.browser || !browserNotificationsSupported() || Notification.permission !== "default") return null;
    if (localStorage.getItem(PROMPT_DISMISSED)) return null;
    const box = h("div", { class: "nt-prompt", role: "group" },
      h("p", {}, t("nt_browser_prompt")),
      h("button", { type: "button", class: "primary", id: "nt-enable", on: { click: async () => {
        const answer = await askBrowserPermission();
        if (answer === "granted") {
          await api("/profile", { method: "PATCH", body: { browser_notifications: true } }).catch((err) => toast(errorText(err), { kind: "error" }));
          this.browser = true;
        } else if (answer === "denied") {
          toast(t("nt_browser_denied"));
        }
        this.renderPanel();
      } } }, t("nt_browser_enable")),
      h("button", { type: "button", class: "link", on: { click: () => {
        localStorage.setItem(PROMPT_DISMISSED, "1");
        this.renderPanel();
      } } }, t("nt_browser_later")));
    return box;
  }
}

function defaultOpen(n) {
  if (n.conversation_id) window.location.assign(`/console#c=${n.conversation_id}`);
  else if (n.complaint_id) window.location.assign("/complaints");
}
