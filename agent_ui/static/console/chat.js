// Team chat: internal messages between staff (issue 18). A button in the top bar
// (with the unread count) opens a panel: rooms on one side — my teams' rooms and my
// direct messages, each with its unread badge — and the open room's messages with a
// composer on the other. On a phone the panel fills the screen and shows one side at
// a time. Live over the console socket: chat.message / chat.read events; sending is
// the chat.send command (its ack), reading chat.read. Every body is hostile text:
// built with dom.js (text nodes), dir="auto" so Arabic and English lines each run
// their own way. A message naming a conversation (#123) shows a card only when the
// hub resolves it for me (GET /chat/cards answers only for conversations I may see).
import { api } from "../api.js";
import { errorText, field, fieldText, modal, toast } from "../dialogs.js";
import { debounce, h, linkify, mount } from "../dom.js";
import { dateTime, timeOfDay } from "../format.js";
import { hasString, t } from "../i18n.js";
import { icon } from "../icons.js";
import { mentionHandle } from "./composer.js";

const MAX_BODY = 4000;
const PAGE = 50;
const MENTION_AT = /(^|\s)@([\p{L}\p{N}._-]*)$/u;

/** A chat error in the page's language (its own codes first, then the shared ones). */
function chatError(err) {
  const key = `ch_err_${err?.code}`;
  if (err?.code === "validation_error" && err.fields?.length) return fieldText(err.fields[0]);
  return hasString(key) ? t(key) : errorText(err);
}

export class ChatPanel {
  /**
   * socket: the page's HubSocket; me(): the signed-in user; users(): Map id -> user
   * (colleagues, for names and @mentions); onOpenConversation(id): open a card's
   * conversation in the console.
   */
  constructor({ socket, me, users, onOpenConversation }) {
    this.socket = socket;
    this.me = me;
    this.users = users;
    this.onOpenConversation = onOpenConversation;
    this.rooms = new Map(); // id -> room (as GET /chat/rooms lists it)
    this.roomId = null;
    this.messages = new Map(); // the open room's: id -> message
    this.olderCursor = null;
    this.cards = new Map(); // conversation id -> card (only those I may see)
    this.suggest = { items: [], index: 0, start: 0 };
    this.searching = false;

    this.badge = h("span", { class: "nt-badge ch-badge", "aria-hidden": "true", hidden: true });
    this.button = h("button", {
      type: "button", class: "secondary nt-bell ch-toggle", id: "ch-toggle", "aria-expanded": "false", "aria-controls": "ch-panel",
      on: { click: () => (this.panel.hidden ? this.open() : this.close()) },
    });
    this.title = h("h2", { id: "ch-title", class: "ch-title" });
    this.newButton = h("button", { type: "button", class: "secondary ch-new", id: "ch-new", on: { click: () => this.newDm() } });
    this.closeButton = h("button", { type: "button", class: "secondary ch-close", id: "ch-close", on: { click: () => this.close() } });
    this.searchInput = h("input", {
      type: "search", id: "ch-search", name: "q", dir: "auto", autocomplete: "off", maxlength: "200",
      on: { input: debounce(() => this.search(), 250) },
    });
    this.roomList = h("ul", { class: "ch-room-list", id: "ch-room-list" });
    this.backButton = h("button", { type: "button", class: "secondary back ch-back", id: "ch-back", on: { click: () => this.showSide("rooms") } });
    this.roomTitle = h("h3", { class: "ch-room-title", id: "ch-room-title", dir: "auto" });
    this.olderButton = h("button", { type: "button", class: "link ch-older", id: "ch-older", hidden: true, on: { click: () => this.loadOlder() } });
    this.list = h("ol", { class: "ch-messages", id: "ch-messages", "aria-live": "polite", "aria-labelledby": "ch-room-title" });
    this.text = h("textarea", {
      id: "ch-text", name: "body", rows: 2, dir: "auto", maxlength: String(MAX_BODY), "aria-autocomplete": "list",
      "aria-controls": "ch-suggest", "aria-expanded": "false",
      on: { input: () => this.updateSuggest(), keydown: (e) => this.onKey(e), click: () => this.updateSuggest() },
    });
    this.suggestList = h("ul", { class: "suggestions ch-suggest", id: "ch-suggest", role: "listbox", hidden: true });
    this.error = h("p", { class: "error ch-error", id: "ch-error", role: "alert", hidden: true });
    this.sendButton = h("button", { type: "submit", class: "primary ch-send", id: "ch-send" });
    this.textLabel = h("label", { for: "ch-text", class: "visually-hidden" });
    this.form = h("form", { class: "ch-composer", id: "ch-composer", novalidate: true, hidden: true, on: { submit: (e) => { e.preventDefault(); this.send(); } } },
      this.textLabel, h("div", { class: "ch-box" }, this.text, this.suggestList), this.error,
      h("div", { class: "ch-bar" }, h("span", { class: "spacer" }), this.sendButton));
    this.searchLabel = h("label", { for: "ch-search", class: "visually-hidden" });
    this.roomsSide = h("nav", { class: "ch-side ch-rooms", "aria-labelledby": "ch-title" }, this.searchLabel, this.searchInput, this.roomList);
    this.roomSide = h("section", { class: "ch-side ch-room", id: "ch-room" },
      h("div", { class: "ch-room-bar" }, this.backButton, this.roomTitle), this.olderButton, this.list, this.form);
    this.body = h("div", { class: "ch-body", "data-side": "rooms" }, this.roomsSide, this.roomSide);
    this.panel = h("section", { class: "ch-panel", id: "ch-panel", role: "dialog", "aria-labelledby": "ch-title", hidden: true, tabindex: "-1" },
      h("header", { class: "ch-head" }, this.title, h("span", { class: "spacer" }), this.newButton, this.closeButton), this.body);
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !this.suggest.items.length) {
        e.preventDefault();
        this.close();
        this.button.focus();
      }
    });
    socket.addEventListener("event", (e) => this.onEvent(e.detail.event));
    socket.addEventListener("hello", (e) => {
      if (e.detail.reload || e.detail.resumed) this.refresh();
    });
    this.relabel();
  }

  async start() {
    document.body.append(this.panel);
    await this.refresh();
  }

  relabel() {
    this.title.textContent = t("ch_title");
    mount(this.newButton, icon("user"), " ", h("span", { class: "ch-new-text" }, t("ch_new_dm")));
    this.newButton.title = t("ch_new_dm");
    mount(this.closeButton, icon("close"), h("span", { class: "visually-hidden" }, t("ch_close")));
    this.closeButton.title = t("ch_close");
    this.searchInput.placeholder = t("ch_search");
    this.searchLabel.textContent = t("ch_search");
    mount(this.backButton, icon("back"), " ", t("ch_rooms"));
    this.olderButton.textContent = t("ch_older");
    this.text.placeholder = t("ch_placeholder");
    this.textLabel.textContent = t("ch_message");
    mount(this.sendButton, icon("send"), " ", t("ch_send"));
    this.renderButton();
    this.renderRooms();
    if (this.roomId) this.renderRoom();
  }

  // --- state ------------------------------------------------------------------------------
  async refresh() {
    try {
      const data = await api("/chat/rooms");
      this.rooms = new Map(data.items.map((r) => [r.id, r]));
    } catch (err) {
      console.warn("chat rooms failed", err);
      return;
    }
    this.renderButton();
    this.renderRooms();
    if (this.roomId && this.rooms.has(this.roomId) && !this.panel.hidden) await this.loadRoom();
    else if (this.roomId && !this.rooms.has(this.roomId)) this.leaveRoom();
  }

  unread() {
    let n = 0;
    for (const r of this.rooms.values()) n += r.unread;
    return n;
  }

  visible() {
    return !this.panel.hidden && document.visibilityState === "visible";
  }

  onEvent(ev) {
    if (ev.type === "chat.message") {
      const p = ev.payload;
      const room = this.rooms.get(p.room_id);
      if (!room) {
        this.refresh(); // a new direct message to me, or a room I just gained
        return;
      }
      const mine = p.author_id === this.me().id;
      const reading = p.room_id === this.roomId && this.visible();
      // Replayed after a reconnect, it may already be in the rooms the hub listed.
      if (p.message_id > (room.last_message_id || 0)) {
        room.last_message_id = p.message_id;
        room.last = { author_id: p.author_id, body: p.body.slice(0, 200), created_at: p.created_at };
        if (!mine && !reading) room.unread += 1;
      }
      if (p.room_id === this.roomId && !this.messages.has(p.message_id)) {
        this.addMessage({
          id: p.message_id, room_id: p.room_id, author_id: p.author_id, body: p.body, mentions: p.mentions,
          conversation_ids: p.conversation_ids, created_at: p.created_at, cards: [],
        });
        if (p.conversation_ids.length) this.loadCards(p.conversation_ids);
        if (reading && !mine) this.markRead();
      }
      this.renderButton();
      this.renderRooms();
    } else if (ev.type === "chat.read" && ev.user_id === this.me().id) {
      const room = this.rooms.get(ev.payload.room_id);
      if (!room) return;
      room.unread = ev.payload.unread;
      this.renderButton();
      this.renderRooms();
    }
  }

  async loadCards(ids) {
    const wanted = ids.filter((id) => !this.cards.has(id));
    if (!wanted.length) return this.renderMessages();
    try {
      const found = await api("/chat/cards", { query: { ids: wanted } });
      for (const c of found.items) this.cards.set(c.conversation_id, c);
    } catch (err) {
      console.warn("chat cards failed", err);
    }
    this.renderMessages();
  }

  // --- the panel --------------------------------------------------------------------------
  async open(roomId = null) {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    if (!this.rooms.size) await this.refresh();
    const target = roomId || this.roomId;
    if (target && this.rooms.has(target)) await this.openRoom(target);
    else if (roomId) {
      await this.refresh();
      if (this.rooms.has(roomId)) await this.openRoom(roomId);
    } else {
      this.showSide("rooms");
      this.searchInput.focus();
    }
  }

  close() {
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  showSide(side) {
    this.body.dataset.side = side;
    if (side === "rooms") {
      const current = this.roomList.querySelector(`[data-room-id="${this.roomId}"]`);
      (current || this.searchInput).focus();
    }
  }

  async openRoom(id) {
    this.roomId = id;
    this.messages = new Map();
    this.olderCursor = null;
    this.form.hidden = false;
    this.error.hidden = true;
    this.showSide("room");
    this.renderRoom();
    this.renderRooms();
    await this.loadRoom();
    this.text.focus();
  }

  leaveRoom() {
    this.roomId = null;
    this.messages = new Map();
    this.form.hidden = true;
    this.renderRoom();
    this.showSide("rooms");
  }

  async loadRoom() {
    const id = this.roomId;
    let page;
    try {
      page = await api(`/chat/rooms/${id}/messages`, { query: { limit: PAGE } });
    } catch (err) {
      if (err.code === "room_not_found") {
        await this.refresh();
        return;
      }
      toast(chatError(err), { kind: "error" });
      return;
    }
    if (id !== this.roomId) return;
    this.messages = new Map(page.items.map((m) => [m.id, m]));
    for (const m of page.items) for (const c of m.cards) this.cards.set(c.conversation_id, c);
    this.olderCursor = page.next_cursor;
    this.renderRoom();
    this.list.scrollTop = this.list.scrollHeight;
    if (this.visible()) this.markRead();
  }

  async loadOlder() {
    if (!this.olderCursor) return;
    const id = this.roomId;
    const page = await api(`/chat/rooms/${id}/messages`, { query: { limit: PAGE, before: this.olderCursor } });
    if (id !== this.roomId) return;
    for (const m of page.items) for (const c of m.cards) this.cards.set(c.conversation_id, c);
    this.messages = new Map([...page.items.map((m) => [m.id, m]), ...this.messages]);
    this.olderCursor = page.next_cursor;
    this.renderRoom();
  }

  async markRead() {
    const room = this.rooms.get(this.roomId);
    if (!room || !room.unread) return;
    room.unread = 0;
    this.renderButton();
    this.renderRooms();
    try {
      const res = await this.socket.command("chat.read", { room_id: room.id });
      room.unread = res.unread;
    } catch {
      // Offline: the count is read again from the hub after the reconnect.
    }
  }

  addMessage(m) {
    this.messages.set(m.id, m);
    const atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.renderMessages();
    if (atEnd || m.author_id === this.me().id) this.list.scrollTop = this.list.scrollHeight;
  }

  async send() {
    const body = this.text.value.trim();
    this.error.hidden = true;
    this.text.removeAttribute("aria-invalid");
    if (!body || !this.roomId || this.sending) return;
    this.sending = true;
    this.sendButton.disabled = true;
    try {
      await this.socket.command("chat.send", { room_id: this.roomId, body });
      this.text.value = "";
      this.closeSuggest();
    } catch (err) {
      mount(this.error, chatError(err));
      this.error.hidden = false;
      this.text.setAttribute("aria-invalid", "true");
    } finally {
      this.sending = false;
      this.sendButton.disabled = false;
      this.text.focus();
    }
  }

  async newDm() {
    const me = this.me();
    const people = [...this.users().values()].filter((u) => u.active && u.id !== me.id)
      .sort((a, b) => a.name.localeCompare(b.name));
    const select = h("select", { name: "user_id", id: "ch-dm-user", required: true },
      people.map((u) => h("option", { value: String(u.id) }, `${u.name} (${u.email})`)));
    let opened = null;
    const ok = await modal({
      title: t("ch_new_dm"), id: "ch-dm-dialog", submitLabel: t("ch_start"),
      body: field(t("ch_colleague"), select),
      onSubmit: async () => {
        opened = await api("/chat/dms", { method: "POST", body: { user_id: Number(select.value) } });
      },
    });
    if (!ok || !opened) return;
    if (!this.rooms.has(opened.id)) this.rooms.set(opened.id, opened);
    this.renderRooms();
    await this.open(opened.id);
  }

  async search() {
    const q = this.searchInput.value.trim();
    if (q.length < 2) {
      this.searching = false;
      this.renderRooms();
      return;
    }
    this.searching = true;
    let found;
    try {
      found = await api("/chat/search", { query: { q, limit: 30 } });
    } catch (err) {
      mount(this.roomList, h("li", { class: "muted" }, chatError(err)));
      return;
    }
    if (q !== this.searchInput.value.trim()) return;
    if (!found.items.length) {
      mount(this.roomList, h("li", { class: "muted ch-none" }, t("ch_search_none")));
      return;
    }
    mount(this.roomList, found.items.map((m) => {
      const room = this.rooms.get(m.room_id);
      return h("li", {}, h("button", {
        type: "button", class: "ch-room-item ch-hit", "data-room-id": String(m.room_id),
        on: { click: () => { this.searchInput.value = ""; this.searching = false; this.openRoom(m.room_id); } },
      }, h("span", { class: "ch-room-name" }, h("bdi", {}, room ? this.roomName(room) : "")), h("span", { class: "ch-last", dir: "auto" }, m.body.slice(0, 140)),
      h("time", { class: "ch-time muted", datetime: m.created_at }, dateTime(m.created_at))));
    }));
  }

  // --- @mentions ----------------------------------------------------------------------------
  updateSuggest() {
    const before = this.text.value.slice(0, this.text.selectionStart ?? this.text.value.length);
    const m = before.match(MENTION_AT);
    if (!m) return this.closeSuggest();
    const q = m[2].toLowerCase();
    const room = this.rooms.get(this.roomId);
    const me = this.me();
    const people = [...this.users().values()]
      .filter((u) => u.active && u.id !== me.id)
      .filter((u) => !room || (room.kind === "dm" ? u.id === room.user_id : u.team_ids?.includes(room.team_id) || u.role === "admin"))
      .filter((u) => !q || u.name.toLowerCase().includes(q) || u.email.toLowerCase().startsWith(q))
      .slice(0, 8);
    this.suggest = { items: people, index: 0, start: before.length - m[2].length - 1 };
    this.renderSuggest();
  }

  renderSuggest() {
    const { items, index } = this.suggest;
    this.suggestList.hidden = !items.length;
    this.text.setAttribute("aria-expanded", String(Boolean(items.length)));
    if (!items.length) {
      this.text.removeAttribute("aria-activedescendant");
      return;
    }
    mount(this.suggestList, items.map((u, i) => h("li", {
      id: `ch-suggest-${i}`, role: "option", "aria-selected": String(i === index), class: i === index ? "active" : null,
      on: { mousedown: (e) => { e.preventDefault(); this.chooseSuggest(i); } },
    }, h("bdi", {}, u.name), " ", h("span", { class: "muted", dir: "ltr" }, u.email))));
    this.text.setAttribute("aria-activedescendant", `ch-suggest-${index}`);
  }

  closeSuggest() {
    this.suggest = { items: [], index: 0, start: 0 };
    this.renderSuggest();
  }

  chooseSuggest(i) {
    const u = this.suggest.items[i];
    if (!u) return;
    const caret = this.text.selectionStart ?? this.text.value.length;
    const insert = `@${mentionHandle(u, this.users())} `;
    this.text.value = this.text.value.slice(0, this.suggest.start) + insert + this.text.value.slice(caret);
    const at = this.suggest.start + insert.length;
    this.text.setSelectionRange(at, at);
    this.closeSuggest();
    this.text.focus();
  }

  onKey(e) {
    const n = this.suggest.items.length;
    if (n) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        this.suggest.index = (this.suggest.index + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        this.renderSuggest();
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        this.chooseSuggest(this.suggest.index);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        this.closeSuggest();
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      this.send();
    }
  }

  // --- rendering ------------------------------------------------------------------------------
  roomName(room) {
    if (room.kind === "dm") return this.users().get(room.user_id)?.name || room.name;
    return room.name;
  }

  renderButton() {
    const n = this.unread();
    mount(this.button, icon("chat"), h("span", { class: "visually-hidden" }, n ? t("ch_button_unread", { n }) : t("ch_title")), this.badge);
    this.button.title = t("ch_title");
    this.badge.textContent = n > 99 ? "99+" : String(n);
    this.badge.hidden = n === 0;
    this.button.dataset.unread = String(n);
  }

  renderRooms() {
    if (this.searching) return;
    const rooms = [...this.rooms.values()];
    if (!rooms.length) {
      mount(this.roomList, h("li", { class: "muted ch-none" }, t("ch_no_rooms")));
      return;
    }
    mount(this.roomList, rooms.map((r) => {
      const last = r.last ? [r.last.author_id === this.me().id ? `${t("ch_you")}: ` : "", r.last.body] : t("ch_no_messages");
      return h("li", {}, h("button", {
        type: "button", class: ["ch-room-item", r.id === this.roomId && "current", r.unread && "unread"], "data-room-id": String(r.id),
        "aria-current": r.id === this.roomId ? "true" : null,
        on: { click: () => this.openRoom(r.id) },
      },
      h("span", { class: "ch-room-name" }, icon(r.kind === "dm" ? "user" : "chat"), " ", h("bdi", {}, this.roomName(r)),
        h("span", { class: "visually-hidden" }, ` (${t(r.kind === "dm" ? "ch_dm" : "ch_team_room")})`)),
      r.unread ? h("span", { class: "ch-unread", "aria-label": t("ch_unread", { n: r.unread }) }, r.unread > 99 ? "99+" : String(r.unread)) : null,
      h("span", { class: "ch-last muted", dir: "auto" }, last)));
    }));
  }

  renderRoom() {
    const room = this.rooms.get(this.roomId);
    this.roomTitle.replaceChildren(room ? this.roomName(room) : t("ch_pick_room"));
    this.renderMessages();
  }

  renderMessages() {
    this.olderButton.hidden = !this.olderCursor;
    if (!this.roomId) {
      mount(this.list, h("li", { class: "muted ch-none" }, t("ch_pick_room")));
      return;
    }
    const items = [...this.messages.values()].sort((a, b) => a.id - b.id);
    if (!items.length) {
      mount(this.list, h("li", { class: "muted ch-none" }, t("ch_empty_room")));
      return;
    }
    const me = this.me();
    mount(this.list, items.map((m) => {
      const author = m.author_id === me.id ? t("ch_you") : this.users().get(m.author_id)?.name || t("someone");
      const cards = (m.conversation_ids || []).map((id) => this.cards.get(id)).filter(Boolean);
      return h("li", { class: ["ch-msg", m.author_id === me.id && "mine", m.mentions?.includes(me.id) && "mentions-me"], "data-message-id": String(m.id) },
        h("div", { class: "ch-meta" }, h("bdi", { class: "ch-author" }, author), " ",
          h("time", { class: "muted", datetime: m.created_at, title: dateTime(m.created_at) }, timeOfDay(m.created_at))),
        h("div", { class: "ch-text", dir: "auto" }, linkify(m.body, { mentions: true })),
        cards.length ? h("div", { class: "ch-cards" }, cards.map((c) => this.card(c))) : null);
    }));
  }

  card(c) {
    const label = c.contact_name || t("ch_card", { id: c.conversation_id });
    return h("button", {
      type: "button", class: "ch-card", "data-conversation-id": String(c.conversation_id),
      title: t("ch_card_open", { id: c.conversation_id }),
      on: { click: () => { this.close(); this.onOpenConversation(c.conversation_id); } },
    },
    icon(c.channel), h("span", { class: "ch-card-text" },
      h("bdi", { class: "ch-card-name" }, label), " ",
      h("span", { class: "muted" }, `#${c.conversation_id} · ${t(`status_${c.status}`)}`),
      c.subject ? h("span", { class: "ch-card-subject", dir: "auto" }, c.subject) : null));
  }
}
