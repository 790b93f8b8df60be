// The one console socket of a signed-in user.
//
// Resumable: it remembers the newest event id and reconnects with ?last_event_id=N, so
// the hub replays exactly what was missed; events are deduplicated by id because a
// replayed event may also arrive live. Reconnects back off exponentially with jitter
// (so a restarted hub is not hit by every console at once). When the hub says
// "resync" (we fell too far behind), the app reloads its state over REST and the
// socket starts again from the hub's newest id.
import { observeServerTime } from "./format.js";

const CLOSE_RESYNC = 4000;
const CLOSE_BAD_REQUEST = 4400;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_ORIGIN = 4403;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;
const COMMAND_TIMEOUT_MS = 15_000;
const SEEN_LIMIT = 5_000;

export class HubSocket extends EventTarget {
  constructor(path = "/ws") {
    super();
    this.path = path;
    this.ws = null;
    this.state = "idle"; // connecting | open | reconnecting | refused | stopped
    this.lastEventId = null;
    this.attempt = 0;
    this.retryAt = null;
    this.user = null;
    this.seen = new Set();
    this.pending = new Map();
    this.seq = 0;
    this.replayLeft = 0;
    this.needReload = false;
    this.heartbeatMs = 25_000;
    this.watchdog = null;
    this.retryTimer = null;
    window.addEventListener("online", () => this.reconnectNow());
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    this.ws?.close(1000, "bye");
    this.setState("stopped");
  }

  setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...detail } }));
  }

  url() {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.lastEventId !== null ? `?last_event_id=${this.lastEventId}` : "";
    return `${proto}//${window.location.host}${this.path}${query}`;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting", { retryAt: null });
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("message", (e) => this.onFrame(ws, e.data));
    ws.addEventListener("close", (e) => this.onClose(ws, e.code));
  }

  reconnectNow() {
    if (this.stopped || this.state === "open" || this.state === "connecting") return;
    this.attempt = Math.max(this.attempt, 1);
    this.connect();
  }

  onClose(ws, code) {
    if (ws !== this.ws) return;
    clearTimeout(this.watchdog);
    this.ws = null;
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(Object.assign(new Error("connection lost"), { code: "disconnected" }));
    }
    this.pending.clear();
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHORIZED) {
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
      return;
    }
    if (code === CLOSE_ORIGIN) {
      this.setState("refused");
      return;
    }
    if (code === CLOSE_RESYNC || code === CLOSE_BAD_REQUEST) {
      // Start again from the hub's head; the app reloads its state after the hello.
      this.needReload = true;
      this.lastEventId = null;
      this.attempt = 0;
      this.connect();
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    this.attempt += 1;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (this.attempt - 1));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.retryAt = Date.now() + delay;
    this.setState("reconnecting", { retryAt: this.retryAt });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  armWatchdog() {
    // The hub pings every ~25 s when idle; silence well past that means a dead link
    // the browser has not noticed (sleeping laptop, NAT drop).
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.ws?.close(), this.heartbeatMs * 2.5);
  }

  onFrame(ws, raw) {
    if (ws !== this.ws) return;
    this.armWatchdog();
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    switch (frame.type) {
      case "hello":
        this.onHello(frame);
        break;
      case "event":
        this.onEvent(frame.event);
        break;
      case "ack":
      case "error":
        this.settle(frame);
        break;
      case "ping":
        ws.send('{"type":"pong"}');
        break;
      case "rights_changed":
        // Role or teams changed: what this page shows may no longer be ours to see.
        // Start again from the hub's head and reload over REST, as after a resync.
        this.needReload = true;
        this.lastEventId = null;
        ws.close(CLOSE_RESYNC, "rights changed");
        break;
      case "watch_ended":
        this.dispatchEvent(new CustomEvent("watch_ended", { detail: frame }));
        break;
      case "resync":
        // Too far behind to replay: restart from the hub's head and reload over REST.
        this.needReload = true;
        this.lastEventId = null;
        ws.close(CLOSE_RESYNC, "resync");
        break;
      default:
        break;
    }
  }

  onHello(frame) {
    const resumed = this.lastEventId !== null;
    this.user = frame.user;
    this.heartbeatMs = (frame.heartbeat_seconds || 25) * 1000;
    if (frame.server_time) observeServerTime(frame.server_time);
    if (this.lastEventId === null) this.lastEventId = frame.head;
    this.replayLeft = frame.replayed || 0;
    const reload = this.needReload;
    this.needReload = false;
    this.attempt = 0;
    this.retryAt = null;
    this.setState("open");
    this.dispatchEvent(
      new CustomEvent("hello", { detail: { ...frame, resumed, reload } }),
    );
  }

  onEvent(event) {
    const replayed = this.replayLeft > 0;
    if (replayed) this.replayLeft -= 1;
    if (event.id > 0) {
      if (this.seen.has(event.id)) return;
      this.seen.add(event.id);
      if (this.seen.size > SEEN_LIMIT) {
        const oldest = this.seen.values().next().value;
        this.seen.delete(oldest);
      }
      if (this.lastEventId === null || event.id > this.lastEventId) this.lastEventId = event.id;
      if (!replayed) observeServerTime(event.ts);
    }
    this.dispatchEvent(new CustomEvent("event", { detail: { event, replayed } }));
  }

  settle(frame) {
    const entry = frame.id !== undefined ? this.pending.get(frame.id) : null;
    if (!entry) {
      if (frame.type === "error") console.warn("hub socket error", frame.code, frame.message);
      return;
    }
    this.pending.delete(frame.id);
    clearTimeout(entry.timer);
    if (frame.type === "ack") entry.resolve(frame.result);
    else entry.reject(Object.assign(new Error(frame.message), { code: frame.code }));
  }

  /** Send a command; resolves with the ack's result, rejects with {code, message}. */
  command(name, args = {}) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.state !== "open") {
        reject(Object.assign(new Error("not connected"), { code: "disconnected" }));
        return;
      }
      this.seq += 1;
      const id = `c${this.seq}`;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error("no answer from the hub"), { code: "timeout" }));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ type: "command", id, command: name, ...args }));
    });
  }

  /** Fire-and-forget (typing indicators): dropped silently when offline. */
  signal(name, args = {}) {
    this.command(name, args).catch(() => {});
  }
}
