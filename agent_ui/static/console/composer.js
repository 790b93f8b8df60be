// The composer knows the channel: email gets a subject and quoting, SMS shows its
// encoding and segment count, WhatsApp/Telegram their length limit. "/" opens the
// canned-response search, "@" in a note suggests colleagues. Enter sends,
// Shift+Enter starts a new line.
import { api } from "../api.js";
import { errorText } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { CHANNEL_LIMITS, dateTime, smsInfo } from "../format.js";
import { getLang, t } from "../i18n.js";

const TYPING_EVERY_MS = 3000;
const CANNED_RE = /(^|\s)\/([\p{L}\p{N}_-]*)$/u;
const MENTION_RE = /(^|\s)@([\p{L}\p{N}._-]*)$/u;

export class Composer {
  /**
   * @param {HTMLFormElement} form
   * @param {object} ctx  {me, users: Map, socket, onSent(message), currentThread()}
   */
  constructor(form, ctx) {
    this.form = form;
    this.ctx = ctx;
    this.conv = null;
    this.mode = "reply";
    this.wanted = "reply"; // what the agent chose; notes are forced while they may not reply
    this.canReply = false;
    this.drafts = new Map();
    this.lastTyping = 0;
    this.popup = { kind: null, items: [], index: 0, start: 0 };
    this.cannedSeq = 0;

    this.subject = form.querySelector("#subject");
    this.subjectRow = form.querySelector("#subject-row");
    this.text = form.querySelector("#composer-text");
    this.counter = form.querySelector("#composer-counter");
    this.errorBox = form.querySelector("#composer-error");
    this.sendButton = form.querySelector("#send");
    this.noteToggle = form.querySelector("#note-toggle");
    this.quoteButton = form.querySelector("#quote");
    this.hint = form.querySelector("#composer-hint");
    this.list = form.querySelector("#composer-suggestions");

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.send();
    });
    this.text.addEventListener("keydown", (e) => this.onKey(e));
    this.text.addEventListener("input", () => this.onInput());
    this.text.addEventListener("click", () => this.updatePopup());
    // Closed a moment after the box loses focus (a click on a suggestion lands first),
    // unless focus has come back to the box by then.
    this.text.addEventListener("blur", () =>
      setTimeout(() => {
        if (document.activeElement !== this.text) this.closePopup();
      }, 150),
    );
    this.noteToggle.addEventListener("click", () => this.toggleNote());
    this.quoteButton.addEventListener("click", () => this.quote());
    this.setConversation(null);
  }

  /**
   * Show a conversation. The same conversation again (a live update) only refreshes
   * what the agent may do; switching keeps each conversation's unsent draft.
   */
  setConversation(conv, { canReply = false } = {}) {
    const same = conv && this.conv && conv.id === this.conv.id;
    if (!same) {
      if (this.conv) {
        this.drafts.set(this.conv.id, { text: this.text.value, subject: this.subject.value, mode: this.wanted });
      }
      const draft = conv ? this.drafts.get(conv.id) : null;
      this.text.value = draft?.text || "";
      this.subject.value = draft?.subject ?? (conv ? replySubject(conv.subject) : "");
      this.wanted = draft?.mode || "reply";
      this.clearError();
      this.closePopup();
      this.closeCannedPreview();
    }
    this.conv = conv;
    // Calls take no text reply; closed or someone else's conversations take notes only.
    this.canReply = Boolean(conv) && canReply && conv.channel !== "voice";
    this.form.hidden = !conv;
    this.setMode(this.wanted);
  }

  setMode(mode) {
    this.wanted = mode;
    this.mode = this.canReply ? mode : "note";
    this.form.dataset.mode = this.mode;
    this.noteToggle.setAttribute("aria-pressed", String(this.mode === "note"));
    this.noteToggle.disabled = !this.canReply;
    this.relabel();
    this.updateCounter();
  }

  /** Labels depend on the mode and the language; called again after a language switch. */
  relabel() {
    const isEmail = this.conv?.channel === "email";
    this.subjectRow.hidden = !(isEmail && this.mode === "reply");
    this.quoteButton.hidden = !(isEmail && this.mode === "reply");
    this.noteToggle.textContent = t("note_toggle");
    this.sendButton.textContent = this.mode === "note" ? t("add_note") : t("send");
    this.text.placeholder = this.mode === "note" ? t("note_placeholder") : t("reply_placeholder");
    this.text.setAttribute("aria-label", this.mode === "note" ? t("note_placeholder") : t("reply_placeholder"));
    let hint = "";
    if (this.conv && !this.canReply) hint = this.conv.channel === "voice" ? t("hint_voice") : t("hint_notes_only");
    this.hint.textContent = hint;
    this.hint.hidden = !hint;
  }

  toggleNote() {
    if (!this.conv) return;
    this.setMode(this.mode === "note" ? "reply" : "note");
    this.text.focus();
  }

  focus() {
    this.text.focus();
  }

  /** "/" shortcut: focus the composer and start a canned-response search. */
  openCanned() {
    if (!this.conv) return;
    this.text.focus();
    const v = this.text.value;
    const sep = v && !/\s$/.test(v) ? " " : "";
    this.text.value = `${v}${sep}/`;
    this.text.setSelectionRange(this.text.value.length, this.text.value.length);
    this.onInput();
  }

  clearError() {
    this.errorBox.hidden = true;
    this.errorBox.textContent = "";
  }

  showError(text) {
    this.errorBox.textContent = text;
    this.errorBox.hidden = false;
  }

  // -- counters --------------------------------------------------------------------------
  updateCounter() {
    const channel = this.conv?.channel;
    const text = this.text.value;
    let label = "";
    let over = false;
    if (this.mode === "reply" && channel === "sms") {
      const info = smsInfo(text);
      label = t("sms_counter", { chars: info.units, segments: info.segments, encoding: info.encoding });
      over = text.length > CHANNEL_LIMITS.sms;
    } else if (this.mode === "reply" && CHANNEL_LIMITS[channel]) {
      label = t("limit_counter", { n: text.length, max: CHANNEL_LIMITS[channel] });
      over = text.length > CHANNEL_LIMITS[channel];
    }
    this.counter.textContent = label;
    this.counter.classList.toggle("over", over);
    this.counter.dataset.over = String(over);
    this.sendButton.disabled = over || !this.conv;
  }

  // -- input handling --------------------------------------------------------------------
  onInput() {
    this.suppressUntilInput = false;
    this.clearError();
    this.updateCounter();
    this.updatePopup();
    if (this.mode === "reply" && this.conv && this.ctx.socket) {
      const now = Date.now();
      if (now - this.lastTyping > TYPING_EVERY_MS) {
        this.lastTyping = now;
        this.ctx.socket.signal("typing", { conversation_id: this.conv.id });
      }
    }
  }

  onKey(e) {
    if (this.popup.kind) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = this.popup.items.length;
        if (n) this.popup.index = (this.popup.index + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        this.renderPopup();
        return;
      }
      if ((e.key === "Enter" || e.key === "Tab") && this.popup.items.length) {
        e.preventDefault();
        this.choose(this.popup.index);
        return;
      }
      if (e.key === "Enter" && !e.shiftKey) {
        // Nothing matched: the first Enter only closes the list, the next one sends.
        e.preventDefault();
        this.closePopup();
        this.suppressUntilInput = true;
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.closePopup();
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      this.send();
    }
  }

  beforeCaret() {
    return this.text.value.slice(0, this.text.selectionStart ?? this.text.value.length);
  }

  updatePopup() {
    if (this.suppressUntilInput) return;
    const before = this.beforeCaret();
    const canned = before.match(CANNED_RE);
    if (canned) {
      this.popup.start = before.length - canned[2].length - 1;
      this.searchCanned(canned[2]);
      return;
    }
    const mention = this.mode === "note" ? before.match(MENTION_RE) : null;
    if (mention) {
      this.popup.start = before.length - mention[2].length - 1;
      this.showMentions(mention[2]);
      return;
    }
    this.closePopup();
  }

  async searchCanned(query) {
    const seq = ++this.cannedSeq;
    let rows = [];
    try {
      rows = (await api("/canned-responses", { query: { q: query, limit: 10 } })).items;
    } catch (err) {
      console.warn("canned search failed", err);
    }
    if (seq !== this.cannedSeq) return; // a newer keystroke already asked
    // The conversation's language first, then the agent's.
    const want = (this.conv?.language || getLang()).slice(0, 2);
    const hasLang = (r) => r.language === want || Boolean(r.variants?.[want]);
    rows.sort((a, b) => (hasLang(a) ? 0 : 1) - (hasLang(b) ? 0 : 1) || a.shortcut.localeCompare(b.shortcut));
    this.openPopup("canned", rows.map((r) => ({
      value: r.body,
      canned: r,
      render: () => [h("span", { class: "shortcut", dir: "ltr" }, `/${r.shortcut}`), " ",
        h("bdi", { class: "title" }, r.title), " ", h("span", { class: "lang-tag" }, r.language),
        Object.keys(r.variants || {}).map((lang) => h("span", { class: "lang-tag" }, t("cn_has_variant", { lang }))),
        h("span", { class: "preview", dir: "auto" }, r.body.slice(0, 90))],
    })));
  }

  showMentions(query) {
    const q = query.toLowerCase();
    const people = [...this.ctx.users.values()]
      .filter((u) => u.active && u.id !== this.ctx.me.id)
      .filter((u) => !q || u.name.toLowerCase().includes(q) || u.email.toLowerCase().startsWith(q))
      .slice(0, 8);
    this.openPopup("mention", people.map((u) => ({
      value: `@${mentionHandle(u, this.ctx.users)} `,
      render: () => [h("bdi", {}, u.name), " ", h("span", { class: "muted", dir: "ltr" }, u.email)],
    })));
  }

  openPopup(kind, items) {
    this.popup.kind = kind;
    this.popup.items = items;
    this.popup.index = 0;
    this.renderPopup();
  }

  renderPopup() {
    const { kind, items, index } = this.popup;
    this.list.hidden = !kind;
    this.list.dataset.kind = kind || "";
    this.text.setAttribute("aria-expanded", String(Boolean(kind)));
    if (!kind) return;
    if (!items.length) {
      mount(this.list, h("li", { class: "empty", role: "option", "aria-disabled": "true" }, kind === "canned" ? t("canned_none") : t("mention_none")));
      this.text.removeAttribute("aria-activedescendant");
      return;
    }
    mount(this.list, items.map((item, i) =>
      h("li", {
        id: `suggestion-${i}`, role: "option", "aria-selected": String(i === index), class: i === index ? "active" : null,
        on: { mousedown: (e) => { e.preventDefault(); this.choose(i); } },
      }, item.render())));
    this.text.setAttribute("aria-activedescendant", `suggestion-${index}`);
  }

  closePopup() {
    this.popup = { kind: null, items: [], index: 0, start: 0 };
    this.cannedSeq += 1;
    this.renderPopup();
  }

  /** Replace the "/query" or "@query" before the caret with the chosen text. */
  choose(i) {
    const item = this.popup.items[i];
    if (!item) return;
    const caret = this.text.selectionStart ?? this.text.value.length;
    if (item.canned) {
      // Variables are filled by the hub for this conversation: preview, then insert.
      const start = this.popup.start;
      this.closePopup();
      this.previewCanned(item.canned, start, caret);
      return;
    }
    const v = this.text.value;
    this.text.value = v.slice(0, this.popup.start) + item.value + v.slice(caret);
    const pos = this.popup.start + item.value.length;
    this.text.setSelectionRange(pos, pos);
    this.closePopup();
    this.updateCounter();
    this.text.focus();
  }

  /** Replace text[start, end) with `value` and put the caret after it. */
  insertAt(start, end, value) {
    const v = this.text.value;
    this.text.value = v.slice(0, start) + value + v.slice(end);
    const pos = start + value.length;
    this.text.setSelectionRange(pos, pos);
    this.updateCounter();
    this.text.focus();
  }

  /** A canned answer, filled for this conversation, shown before it goes in. */
  async previewCanned(canned, start, end) {
    const conv = this.conv;
    if (!conv) return;
    this.closeCannedPreview();
    let out;
    try {
      out = await api(`/canned-responses/${canned.id}/preview`, { query: { conversation_id: conv.id } });
    } catch (err) {
      this.showError(errorText(err));
      return;
    }
    if (this.conv !== conv) return;
    const parts = out.segments.map((seg) => {
      if (seg.status === "unknown") return h("mark", { class: "var-unknown", title: seg.variable }, seg.text);
      if (seg.status === "missing") return h("mark", { class: "var-missing", title: seg.variable }, `{{${seg.variable}}}`);
      if (seg.status === "text") return seg.text;
      return h("span", { class: "var-filled", title: seg.variable }, seg.text);
    });
    const insert = h("button", { type: "button", class: "primary small", id: "canned-insert" }, t("cn_insert"));
    const cancel = h("button", { type: "button", class: "secondary small", id: "canned-cancel" }, t("cancel"));
    const box = h("div", { id: "canned-preview", class: "canned-preview", role: "group", "aria-label": t("cn_preview_title", { shortcut: canned.shortcut }) },
      h("p", { class: "muted" }, h("span", { dir: "ltr" }, `/${canned.shortcut}`), " · ", t("cn_language", { lang: out.language })),
      h("p", { class: "canned-text", dir: "auto", lang: out.language }, parts),
      out.unknown.length ? h("p", { class: "warn", id: "canned-unknown" }, t("cn_unknown", { names: out.unknown.join(", ") })) : null,
      out.missing.length ? h("p", { class: "muted", id: "canned-missing" }, t("cn_missing", { names: out.missing.join(", ") })) : null,
      h("div", { class: "composer-bar" }, cancel, insert));
    insert.addEventListener("click", () => {
      this.closeCannedPreview();
      this.insertAt(start, Math.min(end, this.text.value.length), out.text);
    });
    cancel.addEventListener("click", () => {
      this.closeCannedPreview();
      this.text.focus();
    });
    box.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.closeCannedPreview();
        this.text.focus();
      }
    });
    this.form.querySelector(".composer-box").after(box);
    this.cannedBox = box;
    insert.focus();
  }

  closeCannedPreview() {
    this.cannedBox?.remove();
    this.cannedBox = null;
  }

  /** Email: quote the customer's last message below the reply. */
  quote() {
    const m = this.ctx.currentThread()?.lastCustomerMessage();
    if (!m) return;
    const header = t("quote_header", { date: dateTime(m.created_at), name: this.conv?.contact_name || t("customer") });
    const quoted = m.body.split("\n").map((line) => `> ${line}`).join("\n");
    const v = this.text.value.replace(/\s+$/, "");
    this.text.value = `${v}${v ? "\n\n" : ""}${header}\n${quoted}\n`;
    this.text.focus();
    this.text.setSelectionRange(0, 0);
    this.updateCounter();
  }

  async send() {
    if (!this.conv || this.sending) return;
    const body = this.text.value;
    if (!body.trim()) return;
    if (this.counter.dataset.over === "true") {
      this.showError(t("err_too_long"));
      return;
    }
    const conv = this.conv;
    this.sending = true;
    this.sendButton.disabled = true;
    try {
      let message;
      if (this.mode === "note") {
        message = await api(`/conversations/${conv.id}/notes`, { method: "POST", body: { body } });
      } else {
        const payload = { body };
        if (conv.channel === "email" && this.subject.value.trim()) payload.subject = this.subject.value.trim();
        message = await api(`/conversations/${conv.id}/reply`, { method: "POST", body: payload });
      }
      // The same conversation (a live update replaces the object, so by id): what was
      // sent leaves the box, what was typed while it was on its way stays.
      if (this.conv?.id === conv.id) {
        const now = this.text.value;
        this.text.value = now.startsWith(body) ? now.slice(body.length).replace(/^\s+/, "") : now;
        this.drafts.delete(conv.id);
        this.updateCounter();
      }
      this.ctx.onSent(message);
    } catch (err) {
      this.showError(errorText(err));
    } finally {
      this.sending = false;
      this.updateCounter();
    }
  }
}

function replySubject(subject) {
  if (!subject) return "";
  return /^re:/i.test(subject) ? subject : `Re: ${subject}`;
}

/**
 * The handle the hub resolves: a unique first name, else the email's local part
 * (hub.services.conversations._mentions accepts first name, email or local part).
 */
export function mentionHandle(user, users) {
  const first = (user.name.split(/\s+/)[0] || "").toLowerCase();
  const clash = [...users.values()].filter((u) => (u.name.split(/\s+/)[0] || "").toLowerCase() === first).length > 1;
  return first && !clash && /^[\p{L}\p{N}._-]+$/u.test(first) ? first : user.email.split("@")[0];
}

export function renderComposerSkeleton() {
  // Built once; the Composer relabels it on language switches.
  return [
    h("div", { id: "subject-row", class: "subject-row", hidden: true },
      h("label", { for: "subject", "data-i18n": "subject" }, t("subject")),
      h("input", { id: "subject", name: "subject", type: "text", dir: "auto", autocomplete: "off" })),
    h("div", { class: "composer-box" },
      h("textarea", {
        id: "composer-text", name: "body", rows: 3, dir: "auto", "aria-autocomplete": "list",
        "aria-controls": "composer-suggestions", "aria-expanded": "false",
      }),
      h("ul", { id: "composer-suggestions", class: "suggestions", role: "listbox", hidden: true, "aria-label": t("suggestions") })),
    h("p", { id: "composer-hint", class: "hint", hidden: true }),
    h("p", { id: "composer-error", class: "error", role: "alert", hidden: true }),
    h("div", { class: "composer-bar" },
      h("button", { type: "button", id: "note-toggle", class: "toggle", "aria-pressed": "false", title: "Alt+N" }, t("note_toggle")),
      h("button", { type: "button", id: "quote", class: "secondary", hidden: true, "data-i18n": "quote" }, t("quote")),
      h("span", { id: "composer-counter", class: "counter", "aria-live": "polite" }),
      h("span", { class: "spacer" }),
      h("small", { class: "muted keys", "data-i18n": "composer_keys" }, t("composer_keys")),
      h("button", { type: "submit", id: "send", class: "primary" }, t("send"))),
  ];
}
