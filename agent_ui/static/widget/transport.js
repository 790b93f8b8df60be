// Two ways to reach the hub with one interface: a websocket (preferred) and REST long
// polling (for networks or proxies that break websockets). Both hand the widget the
// same frames: welcome, message, status, typing, conversation, queue, survey, ...
//
//   transport.start()            connect (and reconnect, with backoff and jitter)
//   transport.request(frame)     a frame with an "id"; resolves with its ack, rejects with the error
//   transport.notify(frame)      fire-and-forget (typing, read receipts)
//
// Messages not yet acknowledged are re-sent after a reconnect with the same id; the
// hub recognises the id, so a message is never stored twice.

export class TokenStore {
  // The token is kept in three places, best first: memory; the host page's storage
  // (through the loader: first-party, so it survives where third-party storage is
  // blocked); and the frame's own storage when the browser allows it.
  constructor(siteKey, { initial = null, saveInParent = () => {} } = {}) {
    this.key = `sb-widget:${siteKey}:token`;
    this.saveInParent = saveInParent;
    this.value = initial || this.fromFrameStorage();
  }
  fromFrameStorage() {
    try { return localStorage.getItem(this.key); } catch { return null; }
  }
  get() {
    return this.value;
  }
  set(token) {
    if (token === this.value) return;
    this.value = token;
    try { localStorage.setItem(this.key, token); } catch { /* third-party storage blocked */ }
    this.saveInParent(token);
  }
  clear() {
    this.value = null;
    try { localStorage.removeItem(this.key); } catch { /* ignore */ }
    this.saveInParent(null);
  }
}

function backoff(attempt) {
  const base = Math.min(30000, 500 * 2 ** attempt);
  return base * (0.5 + Math.random());
}

export class HubError extends Error {
  constructor(detail) {
    super(detail.message || detail.code || "error");
    this.code = detail.code;
    this.fields = detail.fields || [];
    this.retryAfter = detail.retry_after;
  }
}

export class SocketTransport {
  constructor({ wsUrl, tokens, hello, onFrame, onState }) {
    this.wsUrl = wsUrl;
    this.tokens = tokens;
    this.hello = hello;
    this.onFrame = onFrame;
    this.onState = onState;
    this.pending = new Map();
    this.ready = false;
    this.attempt = 0;
    this.everOpened = false;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(this.wsUrl);
    } catch {
      this.onState("fallback");
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
      ws.send(JSON.stringify({ type: "hello", token: this.tokens.get(), ...this.hello }));
    });
    ws.addEventListener("message", (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      this.frame(frame);
    });
    ws.addEventListener("close", (ev) => {
      this.ready = false;
      this.ws = null;
      if (this.stopped) return;
      if (ev.code === 4401) this.tokens.clear(); // tampered or expired: start as a new visitor
      if (ev.code === 4403 || ev.code === 4404) {
        this.onState("refused", ev.reason);
        return;
      }
      if (!opened && !this.everOpened && this.attempt >= 1) {
        this.onState("fallback"); // websockets never worked here: use long polling
        return;
      }
      this.onState("reconnecting");
      setTimeout(() => this.connect(), ev.code === 4401 ? 0 : backoff(this.attempt++));
    });
  }

  frame(frame) {
    if (frame.type === "welcome") {
      this.tokens.set(frame.token);
      this.ready = true;
      this.everOpened = true;
      this.attempt = 0;
      this.onState("online");
      this.onFrame(frame);
      for (const { frame: f } of this.pending.values()) this.ws.send(JSON.stringify(f));
      return;
    }
    if (frame.type === "ping") return; // keeps proxies from timing the socket out; no answer needed
    const waiting = frame.id && this.pending.get(frame.id);
    if (waiting && frame.type === "error") {
      this.pending.delete(frame.id);
      waiting.reject(new HubError(frame));
      return;
    }
    if (waiting) {
      this.pending.delete(frame.id);
      waiting.resolve(frame);
    }
    this.onFrame(frame);
  }

  request(frame) {
    return new Promise((resolve, reject) => {
      this.pending.set(frame.id, { frame, resolve, reject });
      if (this.ready) this.ws.send(JSON.stringify(frame));
    });
  }

  notify(frame) {
    if (this.ready) this.ws.send(JSON.stringify(frame));
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close();
  }
}

export class PollTransport {
  constructor({ api, tokens, hello, onFrame, onState }) {
    this.api = api;
    this.tokens = tokens;
    this.hello = hello;
    this.onFrame = onFrame;
    this.onState = onState;
    this.cursor = 0;
    this.stopped = false;
  }

  async call(method, path, body) {
    const headers = { authorization: `Bearer ${this.tokens.get()}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.api + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return null;
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new HubError(data.error || { code: `http_${res.status}`, message: res.statusText });
    return data;
  }

  async session() {
    const res = await fetch(`${this.api}/session`, { method: "POST" });
    const data = await res.json();
    if (!res.ok) throw new HubError(data.error || {});
    this.tokens.set(data.token);
  }

  async start() {
    this.stopped = false;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        if (!this.tokens.get()) await this.session();
        let data;
        try {
          data = await this.call("GET", "/history");
        } catch (err) {
          if (err.code !== "bad_token" && err.code !== "token_expired") throw err;
          this.tokens.clear();
          await this.session();
          data = await this.call("GET", "/history");
        }
        this.cursor = data.cursor;
        this.onState("online");
        this.onFrame({ type: "welcome", token: this.tokens.get(), ...data });
        break;
      } catch {
        this.onState("reconnecting");
        await new Promise((r) => setTimeout(r, backoff(attempt)));
      }
    }
    this.loop();
  }

  async loop() {
    let failures = 0;
    while (!this.stopped) {
      try {
        const data = await this.call("GET", `/events?after=${this.cursor}&wait=25`);
        this.cursor = data.cursor;
        failures = 0;
        this.onState("online");
        for (const frame of data.events) this.onFrame(frame);
      } catch {
        this.onState("reconnecting");
        await new Promise((r) => setTimeout(r, backoff(failures++)));
      }
    }
  }

  async request(frame) {
    const { type, ...body } = frame;
    if (type === "message") return this.call("POST", "/messages", body);
    if (type === "csat") return this.call("POST", "/csat", body);
    if (type === "complaint") return this.call("POST", "/complaint", body);
    throw new Error(`cannot send ${type} over the fallback`);
  }

  notify(frame) {
    const { type, ...body } = frame;
    if (type === "typing") this.call("POST", "/typing").catch(() => {});
    if (type === "read") this.call("POST", "/read", body).catch(() => {});
  }

  stop() {
    this.stopped = true;
  }
}
