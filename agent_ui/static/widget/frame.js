// The widget itself, inside the hub-served iframe. Every string that comes from a
// visitor, an agent or the site configuration is rendered with textContent (never
// innerHTML); message bodies get dir="auto" so Arabic and English mix correctly.
import { isRtl, pickLanguage, t } from "/static/widget/i18n.js";
import { HubError, PollTransport, SocketTransport, TokenStore } from "/static/widget/transport.js";

const params = new URLSearchParams(location.search);
const SITE = params.get("site") || "";
const API = `/channels/webchat/s/${encodeURIComponent(SITE)}`;
const WS_URL = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${API}/ws`;
const PARENT = (location.ancestorOrigins && location.ancestorOrigins[0]) || params.get("origin") || "";
const $ = (id) => document.getElementById(id);

// The loader passes the stored token in the fragment; drop it from the URL at once.
const INITIAL_TOKEN = new URLSearchParams(location.hash.slice(1)).get("t");
if (location.hash) history.replaceState(null, "", location.pathname + location.search);

function saveInParent(token) {
  if (PARENT && window.parent !== window) {
    window.parent.postMessage({ type: "sb-widget:token", token }, PARENT);
  }
}

const ui = {
  launcher: $("launcher"), badge: $("badge"), panel: $("panel"), title: $("title"),
  subtitle: $("subtitle"), close: $("close"), notice: $("notice"), log: $("log"),
  queue: $("queue"), typing: $("typing"), forms: $("forms"), composer: $("composer"),
  chips: $("chips"), input: $("input"), file: $("file"), attach: $("attach"), send: $("send"),
  sheet: $("sheet"), extras: $("extras"), complaintOpen: $("complaint-open"),
};

const state = {
  cfg: null,
  lang: "en",
  open: false,
  transport: null,
  tokens: new TokenStore(SITE, { initial: INITIAL_TOKEN, saveInParent }),
  conversations: new Map(), // id -> {id, status, rated}
  rendered: new Map(), // message id -> <li>
  pending: new Map(), // client id -> {li, frame}
  files: [], // uploaded, not yet sent: {ref, filename}
  lastAgentId: 0,
  lastReadSent: 0,
  lastTypingSent: 0,
  unread: 0,
  typingTimer: null,
  announced: new Set(),
  welcomed: false,
  complaint: null, // the open complaint form, if any (it covers the other forms)
  surveySkipped: new Set(), // conversations whose rating the visitor put off ("Not now")
};

const tr = (key, vars) => t(state.lang, key, vars);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// -- layout and the host page -----------------------------------------------------------

function tellParent() {
  if (!PARENT || window.parent === window) return;
  const position = state.cfg ? state.cfg.position : "right";
  window.parent.postMessage({ type: "sb-widget:layout", open: state.open, position }, PARENT);
}

function setOpen(open) {
  state.open = open;
  ui.panel.hidden = !open;
  ui.launcher.hidden = open;
  document.body.classList.toggle("is-open", open);
  tellParent();
  if (open) {
    state.unread = 0;
    ui.badge.hidden = true;
    connect();
    sendRead();
    setTimeout(() => focusFirst(), 0);
  }
}

function focusFirst() {
  if (state.complaint) {
    // Open over everything else; keep the caret where it is after a reconnect.
    if (!state.complaint.contains(document.activeElement)) state.complaint.querySelector("textarea").focus();
    return;
  }
  const field = ui.forms.querySelector("input, textarea, select");
  if (field) field.focus();
  else if (!ui.composer.hidden) ui.input.focus();
}

window.addEventListener("message", (ev) => {
  if (ev.origin !== PARENT || ev.source !== window.parent) return;
  if (ev.data && ev.data.type === "sb-widget:open") setOpen(true);
  if (ev.data && ev.data.type === "sb-widget:close") setOpen(false);
});

// -- configuration ----------------------------------------------------------------------

function applyConfig(cfg) {
  state.cfg = cfg;
  state.lang = pickLanguage(params.get("lang"), cfg.language, params.get("browser_lang"));
  document.documentElement.lang = state.lang;
  document.documentElement.dir = isRtl(state.lang) ? "rtl" : "ltr";
  const root = document.documentElement.style;
  for (const [name, value] of Object.entries(cfg.colors || {})) {
    root.setProperty(`--sb-${name.replace("_", "-")}`, value); // CSSOM: allowed by the CSP
  }
  document.body.classList.add(`pos-${cfg.position === "left" ? "left" : "right"}`);
  ui.title.textContent = cfg.name;
  ui.subtitle.textContent = cfg.greeting[state.lang] || cfg.greeting.en || Object.values(cfg.greeting)[0] || "";
  ui.launcher.setAttribute("aria-label", tr("open_chat"));
  ui.launcher.title = tr("open_chat");
  ui.close.setAttribute("aria-label", tr("close"));
  ui.panel.setAttribute("aria-label", cfg.name);
  ui.send.textContent = tr("send");
  ui.attach.setAttribute("aria-label", tr("attach"));
  ui.attach.title = tr("attach");
  ui.attach.hidden = !cfg.limits.max_attachments_per_message;
  ui.input.placeholder = tr("placeholder");
  ui.input.setAttribute("aria-label", tr("message"));
  ui.input.maxLength = cfg.limits.max_message_chars;
  ui.file.accept = cfg.limits.attachment_types.join(",");
  ui.complaintOpen.textContent = tr("complaint_open");
  tellParent();
}

// -- connection -------------------------------------------------------------------------

function connect() {
  if (state.transport) return;
  const opts = {
    tokens: state.tokens,
    hello: { page: params.get("page") || null, language: state.lang },
    onFrame,
    onState,
  };
  const usePoll = params.get("transport") === "poll" || typeof WebSocket === "undefined";
  state.transport = usePoll ? new PollTransport({ api: API, ...opts }) : new SocketTransport({ wsUrl: WS_URL, ...opts });
  state.transport.start();
}

function onState(s, reason) {
  if (s === "fallback") {
    state.transport = new PollTransport({
      api: API, tokens: state.tokens, hello: {}, onFrame, onState,
    });
    state.transport.start();
    return;
  }
  if (s === "refused") notice(tr("error_generic", { m: reason || "refused" }));
  else if (s === "reconnecting") notice(tr("reconnecting"));
  else if (s === "online") notice("");
}

function notice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = !text;
}

function onFrame(frame) {
  switch (frame.type) {
    case "welcome": return onWelcome(frame);
    case "message": return addMessage(frame.message);
    case "conversation": return onConversation(frame.conversation);
    case "typing": return onTyping(frame);
    case "queue": return onQueue(frame);
    case "survey": return showSurvey(frame.conversation_id);
    case "csat_saved": return surveyDone(frame.conversation_id);
    case "status": return onStatus(frame);
    case "error": if (!frame.id) notice(tr("error_generic", { m: frame.message })); return;
    default: return;
  }
}

function onWelcome(frame) {
  state.conversations.clear();
  for (const c of frame.conversations) state.conversations.set(c.id, c);
  // Rebuild from the hub's history (the truth); keep what is still being sent.
  ui.log.replaceChildren();
  state.rendered.clear();
  const lastOf = new Map(); // conversation id -> its last message's <li>
  for (const m of frame.messages) {
    addMessage(m);
    if (m.conversation_id && state.rendered.has(m.id)) lastOf.set(m.conversation_id, state.rendered.get(m.id));
  }
  // The live "was closed" line is not a message: put it back after the conversation's
  // last message, or a reload would hide that the chat ended.
  for (const c of state.conversations.values()) {
    if (c.status !== "resolved") continue;
    state.announced.add(`${c.id}:resolved`);
    const line = el("li", { class: "msg note closed-line", text: tr("resolved") });
    const after = lastOf.get(c.id);
    if (after) after.after(line);
    else ui.log.append(line);
  }
  for (const { li } of state.pending.values()) ui.log.append(li);
  state.welcomed = true;
  chooseView();
  ui.extras.hidden = !!state.complaint;
  scrollDown();
}

function latest() {
  let last = null;
  for (const c of state.conversations.values()) if (!last || c.id > last.id) last = c;
  return last;
}

function hasOpenConversation() {
  const last = latest();
  return !!last && last.status !== "resolved" && last.status !== "abandoned";
}

// One card at a time: a rating still asked for comes first (with "Not now"), then the
// offline or pre-chat form; stacked cards left the conversation a sliver of the panel.
function pendingSurvey() {
  const last = latest();
  return last && last.status === "resolved" && !last.rated && !state.surveySkipped.has(last.id) ? last : null;
}

function chooseView() {
  const cfg = state.cfg;
  if (!cfg || !state.welcomed) return;
  ui.forms.replaceChildren();
  const survey = pendingSurvey();
  if (survey) {
    showSurvey(survey.id);
    // Online, the visitor may also just write again; offline, the form waits its turn.
    ui.composer.hidden = !!(cfg.availability && !cfg.availability.online);
  } else if (!hasOpenConversation() && cfg.availability && !cfg.availability.online) {
    ui.composer.hidden = true;
    ui.forms.append(offlineForm());
  } else if (state.conversations.size === 0 && asksPrechat()) {
    ui.composer.hidden = true;
    ui.forms.append(prechatForm());
  } else {
    ui.composer.hidden = false;
  }
  if (state.open) focusFirst();
}

function asksPrechat() {
  return Object.values(state.cfg.prechat.fields).some((rule) => rule !== "off");
}

// -- messages ---------------------------------------------------------------------------

function messageItem(m) {
  const who = m.author === "you" ? tr("you") : m.author === "agent" ? m.author_name || tr("agent") : state.cfg.name;
  const li = el("li", { class: `msg ${m.author}` },
    el("span", { class: "who", text: who }),
    m.body ? el("p", { class: "body", dir: "auto", text: m.body }) : null);
  if (m.attachments && m.attachments.length) {
    const list = el("ul", { class: "files" });
    for (const a of m.attachments) {
      list.append(el("li", {}, el("button", {
        type: "button", class: "file", dir: "auto", text: a.filename,
        title: `${tr("download")} ${a.filename}`,
        onclick: () => download(m.id, a.index, a.filename),
      })));
    }
    li.append(list);
  }
  li.append(el("span", { class: "meta" }));
  if (m.id) li.dataset.id = String(m.id);
  return li;
}

function addMessage(m) {
  if (state.rendered.has(m.id)) return;
  const li = messageItem(m);
  state.rendered.set(m.id, li);
  ui.log.append(li);
  if (m.author !== "you") {
    state.lastAgentId = Math.max(state.lastAgentId, m.id);
    if (!state.open && state.welcomed && m.author === "agent") {
      state.unread += 1;
      ui.badge.textContent = String(state.unread);
      ui.badge.hidden = false;
    }
    if (m.author === "agent") hideTyping();
    sendRead();
  }
  scrollDown();
}

function onStatus(frame) {
  const li = state.rendered.get(frame.message_id);
  if (li && li.classList.contains("agent")) return;
  if (li && frame.status === "read") li.querySelector(".meta").textContent = tr("read");
}

function scrollDown() {
  ui.log.scrollTop = ui.log.scrollHeight;
}

async function sendMessage(body, prechat) {
  const frame = { type: "message", id: uuid(), body, attachments: state.files.map((f) => f.ref) };
  if (prechat) frame.prechat = prechat;
  const li = messageItem({
    author: "you", body, attachments: state.files.map((f, i) => ({ index: i, filename: f.filename })),
  });
  li.classList.add("pending");
  li.querySelector(".meta").textContent = tr("sending");
  ui.log.append(li);
  scrollDown();
  state.pending.set(frame.id, { li, frame });
  const files = state.files;
  state.files = [];
  renderChips();
  try {
    const ack = await state.transport.request(frame);
    state.pending.delete(frame.id);
    li.classList.remove("pending");
    li.querySelector(".meta").textContent = "";
    if (state.rendered.has(ack.message_id)) {
      li.remove(); // the hub's copy arrived first
    } else {
      li.dataset.id = String(ack.message_id);
      state.rendered.set(ack.message_id, li);
    }
    if (!state.conversations.has(ack.conversation_id)) {
      state.conversations.set(ack.conversation_id, { id: ack.conversation_id, status: "queued", rated: false });
    }
    return ack;
  } catch (err) {
    state.pending.delete(frame.id);
    li.classList.add("failed");
    li.querySelector(".meta").textContent = err.message;
    state.files = files;
    renderChips();
    throw err;
  }
}

async function download(messageId, index, filename) {
  const res = await fetch(`${API}/attachments/${messageId}/${index}`, {
    headers: { authorization: `Bearer ${state.tokens.get()}` },
  });
  if (!res.ok) {
    notice(tr("error_generic", { m: `HTTP ${res.status}` }));
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// -- live signals -----------------------------------------------------------------------

function onConversation(c) {
  const known = state.conversations.get(c.id) || { id: c.id, rated: false };
  known.status = c.status;
  state.conversations.set(c.id, known);
  if (c.status !== "queued" && c.status !== "offered") ui.queue.hidden = true;
  const key = `${c.id}:${c.agent_name}`;
  if (c.status === "assigned" && c.agent_name && !state.announced.has(key)) {
    state.announced.add(key);
    systemLine(tr("assigned", { name: c.agent_name }));
  }
  if (c.status === "resolved" && !state.announced.has(`${c.id}:resolved`)) {
    state.announced.add(`${c.id}:resolved`);
    systemLine(tr("resolved"), "closed-line");
    hideTyping();
  }
}

function systemLine(text, extra = "") {
  ui.log.append(el("li", { class: `msg note ${extra}`.trim(), text }));
  scrollDown();
}

function onTyping(frame) {
  ui.typing.textContent = tr("typing", { name: frame.name || tr("someone") });
  ui.typing.hidden = false;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(hideTyping, 5000);
}

function hideTyping() {
  ui.typing.hidden = true;
  clearTimeout(state.typingTimer);
}

function onQueue(frame) {
  const c = state.conversations.get(frame.conversation_id);
  if (c && c.status !== "queued" && c.status !== "offered") return;
  if (state.cfg && state.cfg.availability && !state.cfg.availability.online) {
    // Nobody is there (closed, or no agent signed in): a place in line would promise
    // an answer any minute. The offline form said when the answer comes.
    ui.queue.hidden = true;
    return;
  }
  const parts = [];
  if (frame.position) parts.push(tr("queue_position", { n: frame.position }));
  if (frame.estimated_wait_seconds) {
    parts.push(tr("queue_wait", { m: Math.max(1, Math.round(frame.estimated_wait_seconds / 60)) }));
  } else if (frame.estimated_wait_seconds === 0) {
    parts.push(tr("queue_soon"));
  }
  ui.queue.textContent = parts.join(" ");
  ui.queue.hidden = parts.length === 0;
}

function sendRead() {
  if (!state.open || document.visibilityState !== "visible" || !state.transport) return;
  if (state.lastAgentId > state.lastReadSent) {
    state.lastReadSent = state.lastAgentId;
    state.transport.notify({ type: "read", message_id: state.lastAgentId });
  }
}
document.addEventListener("visibilitychange", sendRead);

// -- forms ------------------------------------------------------------------------------

function field(name, rule, kind, opts = {}) {
  const id = `${opts.prefix || "f"}-${name}`;
  const label = el("label", { for: id, text: opts.label || tr(name) },
    rule === "optional" ? el("span", { class: "optional", text: ` ${tr("optional")}` }) : null);
  let input;
  if (kind === "select") {
    input = el("select", { id, name, required: rule === "required" },
      el("option", { value: "", text: tr("choose_topic") }));
    for (const label of state.cfg.topics) input.append(el("option", { value: label, text: label }));
  } else if (kind === "textarea") {
    input = el("textarea", {
      id, name, rows: opts.rows || "3", dir: "auto", required: true,
      maxlength: String(opts.maxlength || state.cfg.limits.max_message_chars),
    });
  } else if (opts.maxlength) {
    input = el("input", { id, name, type: "text", dir: "auto", autocomplete: "off", maxlength: String(opts.maxlength) });
  } else {
    const type = name === "email" ? "email" : name === "phone" ? "tel" : "text";
    const auto = name === "email" ? "email" : name === "phone" ? "tel" : "name";
    input = el("input", { id, name, type, autocomplete: auto, required: rule === "required", dir: name === "name" ? "auto" : "ltr" });
  }
  input.setAttribute("aria-describedby", `${id}-error`);
  return el("div", { class: "field", "data-field": name }, label, input,
    el("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true }));
}

// The hub answers in English; a field's error is shown in the widget's language. The
// English strings are the hub's own wording, so either way the visitor reads the same.
function fieldMessage(form, name, message) {
  const input = form.querySelector(`[data-field="${name}"] [name]`);
  const given = input ? input.value.trim() !== "" : false;
  switch (name) {
    case "description": return given ? tr("err_too_long", { n: input.maxLength }) : tr("err_description");
    case "order_ref": return tr("err_too_long", { n: input ? input.maxLength : 200 });
    case "message": return given ? tr("err_too_long", { n: input.maxLength }) : tr("err_message");
    case "name": return given ? tr("err_name_long") : tr("err_name");
    case "email": return given ? tr("err_email_bad") : tr("err_email");
    case "phone": return given ? tr("err_phone_bad") : tr("err_phone");
    case "topic": return given ? tr("err_topic_bad", { topics: state.cfg.topics.join(", ") }) : tr("err_topic");
    case "one_of": return tr("err_one_of", {
      fields: state.cfg.prechat.one_of.map((f) => tr(`label_${f}`)).join(tr("err_or")),
    });
    default: return message;
  }
}

function clearFieldErrors(form) {
  for (const p of form.querySelectorAll(".field-error")) p.hidden = true;
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
}

// Each refused field's error under it (the first such field gets the focus when
// `focus` is set); what names no field on screen goes to the form's own error line.
function showFieldErrors(form, err, { focus = false } = {}) {
  clearFieldErrors(form);
  let shown = false;
  let first = null;
  for (const f of err.fields || []) {
    let name = f.field.replace(/^prechat\.?/, "") || "message";
    let kind = name;
    if (f.field === "prechat" && state.cfg.prechat.one_of.length) {
      // "at least one of": under the first of those fields on this form.
      kind = "one_of";
      name = state.cfg.prechat.one_of.find((n) => form.querySelector(`[data-field="${n}"]`)) || "message";
    }
    const wrap = form.querySelector(`[data-field="${name}"]`);
    const box = (wrap && wrap.querySelector(".field-error")) || form.querySelector(".form-error");
    if (box) {
      box.textContent = kind === "one_of" || wrap ? fieldMessage(form, kind, f.message) : f.message;
      box.hidden = false;
      shown = true;
    }
    const input = wrap && wrap.querySelector("[name]");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
  }
  if (!shown) {
    const box = form.querySelector(".form-error");
    box.textContent = err.message;
    box.hidden = false;
  }
  if (focus && first) first.focus();
}

// Every required field left empty, checked before asking the hub (which would name
// them too, but only once the message is written): the visitor sees all at once.
function missingFields(form, given, body) {
  const missing = [];
  for (const wrap of form.querySelectorAll(".field[data-field]")) {
    const name = wrap.dataset.field;
    const input = wrap.querySelector("[name]");
    if (name === "message" || !input || !input.required) continue;
    if (!given[name]) missing.push({ field: `prechat.${name}`, message: "" });
  }
  const oneOf = state.cfg.prechat.one_of;
  if (oneOf.length && !oneOf.some((n) => given[n])) missing.push({ field: "prechat", message: "" });
  if (!body) missing.push({ field: "message", message: tr("err_message") });
  return missing;
}

function prechatForm() {
  const rules = state.cfg.prechat.fields;
  const form = el("form", { class: "card", id: "prechat", novalidate: true },
    el("p", { class: "intro", text: tr("prechat_intro") }));
  for (const name of ["name", "email", "phone", "topic"]) {
    const rule = rules[name] || "off";
    if (rule !== "off") form.append(field(name, rule, name === "topic" ? "select" : "input"));
  }
  form.append(field("message", "required", "textarea"),
    el("p", { class: "field-error form-error", role: "alert", hidden: true }),
    el("button", { type: "submit", text: tr("start") }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const prechat = {};
    for (const name of ["name", "email", "phone", "topic"]) {
      const v = (data.get(name) || "").toString().trim();
      if (v) prechat[name] = v;
    }
    const body = (data.get("message") || "").toString().trim();
    const missing = missingFields(form, prechat, body);
    if (missing.length) {
      showFieldErrors(form, { fields: missing }, { focus: true });
      return;
    }
    form.querySelector("button[type=submit]").disabled = true;
    try {
      await sendMessage(body, prechat);
      form.remove();
      ui.composer.hidden = false;
      ui.input.focus();
      if (prechat.email && state.cfg.link_identity === "verified_email") {
        ui.forms.append(linkForm(prechat.email));
      }
    } catch (err) {
      // The hub names each field it refused; the failed bubble goes, the form stays.
      for (const [, p] of state.pending) p.li.remove();
      ui.log.querySelectorAll(".msg.failed").forEach((li) => li.remove());
      showFieldErrors(form, err instanceof HubError ? err : { message: String(err) });
    } finally {
      form.querySelector("button[type=submit]").disabled = false;
    }
  });
  return form;
}

async function postJson(path, body) {
  const res = await fetch(`${API}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${state.tokens.get()}` },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new HubError(data.error || { code: `http_${res.status}` });
    err.attempts_left = data.error && data.error.attempts_left;
    throw err;
  }
  return data;
}

// Optional, after the pre-chat form (site rule link_identity = "verified_email"): prove
// the address with a mailed code so agents see this chat on the customer's profile.
// The visitor's own view does not change: it still shows only this browser's chats.
function linkForm(email) {
  const status = el("p", { class: "field-error form-error", role: "alert", hidden: true });
  const say = (text) => { status.textContent = text; status.hidden = !text; };
  const explain = (err) => {
    const code = err && err.code;
    if (code === "wrong_code") return tr("link_wrong", { n: err.attempts_left ?? "" });
    if (code === "code_expired") return tr("link_expired");
    if (code === "rate_limited") return tr("link_too_many");
    if (code === "email_unavailable") return tr("link_mail_failed");
    if (code === "thread_open") return tr("link_busy");
    return tr("error_generic", { m: (err && err.message) || String(err) });
  };
  const form = el("form", { class: "card", id: "link", novalidate: true },
    el("p", { class: "intro", text: tr("link_offer") }));
  const yes = el("button", { type: "submit", text: tr("link_send_code") });
  const no = el("button", { type: "button", class: "link-skip", text: tr("link_no_thanks"), onclick: () => form.remove() });
  form.append(status, yes, no);
  let sent = false;
  const codeInput = el("input", { id: "f-link-code", name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", dir: "ltr" });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    yes.disabled = true;
    try {
      if (!sent) {
        await postJson("/link/start", { email });
        sent = true;
        form.replaceChildren(
          el("p", { class: "intro", text: tr("link_code_sent") }),
          el("div", { class: "field" }, el("label", { for: "f-link-code", text: tr("link_code") }), codeInput),
          status, yes, no);
        yes.textContent = tr("link_confirm");
        codeInput.focus();
      } else {
        await postJson("/link/confirm", { code: codeInput.value.trim() });
        form.replaceChildren(el("p", { class: "intro done", text: tr("link_done") }));
        setTimeout(() => form.remove(), 4000);
        return;
      }
      say("");
    } catch (err) {
      say(explain(err));
      if (err && err.code === "code_expired") {
        sent = false; // a new code can be asked for from the same card
        yes.textContent = tr("link_send_code");
      }
    } finally {
      yes.disabled = false;
    }
  });
  return form;
}

function offlineForm() {
  const reason = state.cfg.availability.reason;
  const custom = state.cfg.offline_message[state.lang] || state.cfg.offline_message.en;
  // "We will answer by email" only when the hub can mail the answer (an email channel
  // and email_followup); otherwise the answer waits here, in this chat.
  const byEmail = state.cfg.email_followup !== false;
  const text = tr(byEmail ? "offline_text" : "offline_text_chat");
  const form = el("form", { class: "card", id: "offline", novalidate: true },
    el("h2", { text: tr("offline_title") }),
    el("p", { class: "intro", dir: "auto", text: custom || (reason === "closed" ? `${tr("offline_closed")} ${text}` : text) }));
  const nameRule = state.cfg.prechat.fields.name === "required" ? "required" : "optional";
  // By email, the address is how the answer arrives; otherwise the site's own rule.
  const emailRule = byEmail ? "required" : state.cfg.prechat.fields.email || "off";
  form.append(field("name", nameRule, "input"));
  if (emailRule !== "off") form.append(field("email", emailRule, "input"));
  form.append(field("message", "required", "textarea"),
    el("p", { class: "field-error form-error", role: "alert", hidden: true }),
    el("button", { type: "submit", text: tr("offline_send") }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const body = {
      id: uuid(),
      name: (data.get("name") || "").toString().trim() || null,
      email: (data.get("email") || "").toString().trim() || null,
      message: (data.get("message") || "").toString(),
    };
    const missing = missingFields(form, { name: body.name, email: body.email }, body.message.trim())
      .filter((f) => f.field !== "prechat"); // "one of" is the chat's rule, not this form's
    if (missing.length) {
      showFieldErrors(form, { fields: missing }, { focus: true });
      return;
    }
    form.querySelector("button[type=submit]").disabled = true;
    try {
      const res = await fetch(`${API}/offline`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${state.tokens.get()}` },
        body: JSON.stringify(body),
      });
      const data2 = await res.json();
      if (!res.ok) throw new HubError(data2.error || {});
      form.replaceChildren(el("p", { class: "intro done", text: tr(byEmail ? "offline_sent" : "offline_sent_chat") }));
    } catch (err) {
      const prefixed = err instanceof HubError ? err : { message: String(err) };
      showFieldErrors(form, prefixed);
      form.querySelector("button[type=submit]").disabled = false;
    }
  });
  return form;
}

function showSurvey(conversationId) {
  if (document.getElementById("survey")) return;
  let score = 0;
  const stars = el("div", { class: "stars", role: "radiogroup", "aria-label": tr("survey_title") });
  for (let n = 1; n <= 5; n++) {
    stars.append(el("button", {
      type: "button", class: "star", role: "radio", "aria-checked": "false", "data-score": String(n),
      "aria-label": tr("star", { n }), text: "★",
      onclick: () => {
        score = n;
        for (const b of stars.children) {
          const on = Number(b.dataset.score) <= n;
          b.classList.toggle("on", on);
          b.setAttribute("aria-checked", String(Number(b.dataset.score) === n));
        }
        submit.disabled = false;
      },
    }));
  }
  const comment = el("textarea", { id: "survey-comment", rows: "2", dir: "auto", maxlength: "2000" });
  const error = el("p", { class: "field-error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", text: tr("survey_submit"), disabled: true });
  const later = el("button", {
    type: "button", class: "link-skip", id: "survey-later", text: tr("survey_later"),
    onclick: () => {
      state.surveySkipped.add(conversationId);
      form.remove();
      chooseView();
    },
  });
  const form = el("form", { class: "card", id: "survey", novalidate: true },
    el("h2", { text: tr("survey_title") }), stars,
    el("label", { for: "survey-comment", text: tr("survey_comment") }), comment, error, submit, later);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!score) return;
    submit.disabled = true;
    try {
      await state.transport.request({
        type: "csat", id: uuid(), conversation_id: conversationId, score, comment: comment.value,
      });
      surveyDone(conversationId);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      submit.disabled = false;
    }
  });
  ui.forms.prepend(form);
  scrollDown();
}

function surveyDone(conversationId) {
  const form = document.getElementById("survey");
  const c = conversationId && state.conversations.get(conversationId);
  if (c) c.rated = true;
  if (!form) return;
  form.remove();
  // The thanks joins the conversation; the card's place goes to what comes next
  // (the offline form when nobody is there), never both cards at once.
  if (!document.getElementById("survey-done")) {
    ui.log.append(el("li", { class: "msg note", id: "survey-done", text: tr("survey_thanks") }));
    scrollDown();
  }
  if (!state.complaint) chooseView();
}

// -- complaint form ---------------------------------------------------------------------
// A discreet entry under the composer opens it. While open it is the only form on
// screen: the pre-chat, offline, rating and link cards and the composer stay where they
// are underneath (hidden, untouched, still updated live) and come back when it closes,
// so nothing stacks and squeezes the log. Escape or Cancel closes it.

const ORDER_REF_MAX = 200;

function complaintLimit() {
  // The hub takes 8,000 characters for a complaint, but it becomes a chat message, so
  // the site's message limit applies too.
  return Math.min(8000, state.cfg.limits.max_message_chars);
}

function openComplaint() {
  if (!state.cfg || !state.welcomed) return;
  if (!state.complaint) {
    state.complaint = complaintForm();
    ui.sheet.replaceChildren(state.complaint);
  }
  document.body.classList.add("complaining");
  ui.sheet.hidden = false;
  ui.extras.hidden = true;
  state.complaint.querySelector("textarea").focus();
}

function closeComplaint() {
  state.complaint = null;
  ui.sheet.replaceChildren();
  ui.sheet.hidden = true;
  document.body.classList.remove("complaining");
  ui.extras.hidden = !state.welcomed;
  ui.complaintOpen.focus();
}

function complaintForm() {
  // One id per form: a resend (after a lost answer, or a second click) is recognised.
  const id = uuid();
  const withPrechat = state.conversations.size === 0 && asksPrechat();
  const error = el("p", { class: "field-error form-error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", text: tr("complaint_send") });
  const cancel = el("button", { type: "button", class: "secondary", text: tr("complaint_cancel"), onclick: closeComplaint });
  const form = el("form", { class: "card", id: "complaint", novalidate: true, "aria-labelledby": "complaint-title" },
    el("h2", { id: "complaint-title", text: tr("complaint_title") }),
    el("p", { class: "intro", text: tr("complaint_intro") }),
    field("description", "required", "textarea", {
      prefix: "c", label: tr("complaint_description"), rows: "4", maxlength: complaintLimit(),
    }),
    field("order_ref", "optional", "input", { prefix: "c", label: tr("complaint_order_ref"), maxlength: ORDER_REF_MAX }));
  if (withPrechat) {
    // The visitor's first message: the details the site asks before a chat.
    const about = el("fieldset", { class: "about" }, el("legend", { text: tr("complaint_about_you") }));
    const rules = state.cfg.prechat.fields;
    for (const name of ["name", "email", "phone", "topic"]) {
      const rule = rules[name] || "off";
      if (rule !== "off") about.append(field(name, rule, name === "topic" ? "select" : "input", { prefix: "c" }));
    }
    form.append(about);
  }
  form.append(error, submit, cancel);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    const data = new FormData(form);
    const description = (data.get("description") || "").toString();
    if (!description.trim()) {
      showFieldErrors(form, { fields: [{ field: "description", message: tr("err_description") }] }, { focus: true });
      return;
    }
    const frame = { type: "complaint", id, description };
    const orderRef = (data.get("order_ref") || "").toString().trim();
    if (orderRef) frame.order_ref = orderRef;
    if (withPrechat) {
      const prechat = {};
      for (const name of ["name", "email", "phone", "topic"]) {
        const v = (data.get(name) || "").toString().trim();
        if (v) prechat[name] = v;
      }
      frame.prechat = prechat;
    }
    clearFieldErrors(form);
    submit.disabled = true;
    submit.textContent = tr("sending");
    try {
      const saved = await state.transport.request(frame);
      complaintSaved(saved, description, form);
    } catch (err) {
      submit.disabled = false;
      submit.textContent = tr("complaint_send");
      showFieldErrors(form, explainComplaintError(err), { focus: true });
    }
  });
  return form;
}

function explainComplaintError(err) {
  if (!(err instanceof HubError)) return { message: tr("error_generic", { m: String((err && err.message) || err) }) };
  if (err.code === "too_long") return { fields: [{ field: "description", message: err.message }] };
  if (err.code === "rate_limited") return { message: tr("rate_limited") };
  if (err.fields.length) return err;
  return { message: tr("error_generic", { m: err.message }) };
}

function complaintSaved(saved, description, form) {
  if (!state.conversations.has(saved.conversation_id)) {
    state.conversations.set(saved.conversation_id, { id: saved.conversation_id, status: "queued", rated: false });
  }
  // The form became a message in the chat (unless the hub's copy is already shown).
  addMessage({ id: saved.message_id, author: "you", body: description.trim(), attachments: [] });
  // Server data as text only: the reference sits in its own left-to-right island.
  const [before, after = ""] = tr("complaint_saved").split("{ref}");
  ui.log.append(el("li", { class: "msg note complaint-saved" },
    before, el("bdi", { dir: "ltr", class: "reference", text: String(saved.reference || "") }), after));
  scrollDown();
  // A first message ends the pre-chat (or offline) form underneath: show the chat.
  if (ui.forms.querySelector("#prechat, #offline")) chooseView();
  if (state.complaint === form) closeComplaint(); // (unless cancelled while it was on its way)
}

// -- composer and attachments -----------------------------------------------------------

function renderChips() {
  ui.chips.replaceChildren(...state.files.map((f, i) => el("li", { class: "chip" },
    el("span", { dir: "auto", text: f.filename }),
    el("button", { type: "button", class: "icon", "aria-label": "×", text: "×",
      onclick: () => { state.files.splice(i, 1); renderChips(); } }))));
}

async function upload(file) {
  const limits = state.cfg.limits;
  if (file.size > limits.max_attachment_bytes) {
    notice(tr("file_too_large", { mb: Math.round(limits.max_attachment_bytes / 1e6) }));
    return;
  }
  const res = await fetch(`${API}/attachments`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${state.tokens.get()}`,
      "content-type": file.type || "application/octet-stream",
      "x-filename": encodeURIComponent(file.name),
    },
    body: file,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    notice(data.error ? data.error.message : tr("file_type"));
    return;
  }
  state.files.push({ ref: data.ref, filename: data.filename });
  renderChips();
}

ui.attach.addEventListener("click", () => ui.file.click());
ui.file.addEventListener("change", async () => {
  for (const f of ui.file.files) await upload(f);
  ui.file.value = "";
});

ui.composer.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = ui.input.value.trim();
  if (!body && !state.files.length) return;
  ui.input.value = "";
  try {
    await sendMessage(body, null);
  } catch (err) {
    notice(err.message);
  }
});

ui.input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.input.addEventListener("input", () => {
  const now = Date.now();
  if (state.transport && now - state.lastTypingSent > 2000 && ui.input.value) {
    state.lastTypingSent = now;
    state.transport.notify({ type: "typing" });
  }
});

ui.launcher.addEventListener("click", () => setOpen(true));
ui.complaintOpen.addEventListener("click", openComplaint);
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && !ev.isComposing && state.complaint && state.open) {
    ev.preventDefault();
    closeComplaint();
  }
});
ui.close.addEventListener("click", () => setOpen(false));

// -- start ------------------------------------------------------------------------------

async function boot() {
  let cfg;
  try {
    const res = await fetch(`${API}/config`);
    cfg = await res.json();
    if (!res.ok) throw new Error(cfg.error ? cfg.error.message : `HTTP ${res.status}`);
  } catch (err) {
    console.error("Switchboard widget:", err);
    return;
  }
  applyConfig(cfg);
  document.body.classList.add("ready");
  // A returning visitor reconnects at once (replies may be waiting); a new one only
  // when they open the chat, so a page view alone costs the hub nothing.
  if (state.tokens.get()) connect();
}

boot();
