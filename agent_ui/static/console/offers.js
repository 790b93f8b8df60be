// Incoming offers: a card per offer with accept/reject, a countdown to its expiry, a
// short WebAudio beep (no audio files) and a visual cue (pulse + the tab title).
import { errorText, toast } from "../dialogs.js";
import { h, isTyping, mount } from "../dom.js";
import { clock, parseTime, serverClockKnown, serverNow } from "../format.js";
import { t } from "../i18n.js";
import { channelIcon, icon } from "../icons.js";
import { greetingHint, tierBadges } from "../crm/badges.js";
import { campaignChip } from "./thread.js";

let audio = null;

// Browsers only let a page make sound after a user gesture: unlock on the first one.
function unlockAudio() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch {
    audio = null;
  }
}
window.addEventListener("pointerdown", unlockAudio, { once: true });
window.addEventListener("keydown", unlockAudio, { once: true });

export function beep() {
  if (!audio || audio.state !== "running") return;
  const now = audio.currentTime;
  for (const [start, freq] of [[0, 880], [0.18, 1175]]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + start);
    gain.gain.exponentialRampToValueAtTime(0.25, now + start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + start + 0.15);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + start);
    osc.stop(now + start + 0.16);
  }
}

export class OfferTray {
  /**
   * @param {HTMLElement} root
   * @param {{socket, describe(conversationId): Promise<{name, channel, preview}>, onAccepted(id)}} ctx
   */
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.offers = new Map(); // conversation_id -> {payload, durationMs, receivedAt, info, busy}
    this.timer = setInterval(() => this.tick(), 1000);
    // The cards float over the customer panel's top: keep that much room free there.
    new ResizeObserver(() => this.reserve()).observe(this.root);
    window.addEventListener("resize", () => this.reserve());
  }

  /** --offers-block: how far the cards reach below the top of the console's panes
   * (0 without offers); console.css keeps that room free (see .has-offer there). */
  reserve() {
    const panes = document.getElementById("console");
    let reach = 0;
    if (this.offers.size && panes) {
      reach = Math.max(0, Math.ceil(this.root.getBoundingClientRect().bottom - panes.getBoundingClientRect().top));
    }
    document.body.style.setProperty("--offers-block", `${reach}px`);
  }

  get size() {
    return this.offers.size;
  }

  /** An offer.created event for me. `ts` is the server time of the event. */
  async add(payload, ts, { quiet = false } = {}) {
    const id = payload.conversation_id;
    if (this.offers.has(id)) return;
    // Count down the offer's own duration from when we received it: immune to any
    // difference between this browser's clock and the hub's.
    const expires = parseTime(payload.expires_at);
    const sent = parseTime(ts);
    const durationMs = expires !== null && sent !== null ? Math.max(0, expires - sent) : null;
    // A recovered or replayed offer was made a while ago: count from when it was made
    // if we know the hub's clock, else from now (the hub withdraws it when it expires).
    const age = quiet && serverClockKnown() && sent !== null ? Math.max(0, serverNow() - sent) : 0;
    const offer = { payload, durationMs, receivedAt: Date.now() - age, info: null, busy: false };
    this.offers.set(id, offer);
    this.render();
    if (!quiet) beep();
    const focusAccept = !isTyping();
    try {
      offer.info = await this.ctx.describe(id);
    } catch {
      offer.info = null;
    }
    this.render();
    if (focusAccept && this.offers.has(id)) this.root.querySelector(`[data-offer="${id}"] .accept`)?.focus();
  }

  remove(conversationId) {
    if (this.offers.delete(conversationId)) this.render();
  }

  clear() {
    this.offers.clear();
    this.render();
  }

  first() {
    return this.offers.keys().next().value;
  }

  async accept(conversationId = this.first()) {
    return this.answer(conversationId, "accept");
  }

  async reject(conversationId = this.first()) {
    return this.answer(conversationId, "reject");
  }

  async answer(conversationId, command) {
    const offer = this.offers.get(conversationId);
    if (!offer || offer.busy) return;
    offer.busy = true;
    this.render();
    try {
      await this.ctx.socket.command(command, { conversation_id: conversationId });
      this.remove(conversationId);
      if (command === "accept") this.ctx.onAccepted(conversationId);
    } catch (err) {
      offer.busy = false;
      if (err.code === "no_offer" || err.code === "not_your_offer") {
        this.remove(conversationId);
        toast(t("offer_gone"), { kind: "warn" });
      } else {
        toast(errorText(err), { kind: "error" });
        this.render();
      }
    }
  }

  remainingSeconds(offer) {
    if (offer.durationMs === null) return null;
    return (offer.durationMs - (Date.now() - offer.receivedAt)) / 1000;
  }

  tick() {
    for (const [id, offer] of this.offers) {
      const el = this.root.querySelector(`[data-offer="${id}"] .countdown`);
      if (el) this.renderCountdown(el, offer);
    }
  }

  renderCountdown(el, offer) {
    const left = this.remainingSeconds(offer);
    if (left === null) {
      el.replaceChildren();
      return;
    }
    // The hub decides when an offer is over; at zero we say so but keep the buttons
    // until its offer.updated event arrives.
    const text = left > 0 ? t("offer_expires_in", { time: clock(left) }) : t("offer_expiring");
    const bar = h("progress", { max: offer.durationMs / 1000, value: Math.max(0, left), "aria-hidden": "true" });
    mount(el, h("span", {}, text), bar);
  }

  render() {
    document.title = this.offers.size ? `(${this.offers.size}) ${t("offer_title")} — ${t("brand")}` : t("brand");
    document.body.classList.toggle("has-offer", this.offers.size > 0);
    this.reserve();
    mount(this.root, [...this.offers.entries()].map(([id, offer]) => {
      const info = offer.info;
      const titleId = `offer-title-${id}`;
      const descId = `offer-desc-${id}`;
      const countdown = h("div", { class: "countdown" });
      this.renderCountdown(countdown, offer);
      return h("section", {
        class: "offer pulse", role: "alertdialog", "aria-modal": "false", "aria-labelledby": titleId,
        "aria-describedby": descId, "data-offer": id,
      },
      h("h2", { id: titleId }, icon("bell"), " ", t("offer_title")),
      h("div", { id: descId, class: "offer-body" },
        h("p", { class: "offer-who" },
          info ? channelIcon(info.channel) : null, " ",
          h("bdi", { class: "offer-name" }, info?.name || t("loading")),
          h("span", { class: "muted" }, ` #${id}`),
          info ? tierBadges(info.tiers, { small: true }) : null),
        info ? greetingHint(info.hint) : null,
        info?.campaign ? h("p", { class: "offer-campaign" }, campaignChip(info.campaign)) : null,
        info?.preview ? h("p", { class: "offer-preview", dir: "auto" }, info.preview) : null,
        countdown),
      h("div", { class: "offer-actions" },
        h("button", {
          type: "button", class: "primary accept", disabled: offer.busy, title: "Alt+A",
          on: { click: () => this.accept(id) },
        }, t("accept")),
        h("button", {
          type: "button", class: "secondary reject", disabled: offer.busy, title: "Alt+D",
          on: { click: () => this.reject(id) },
        }, t("reject"))));
    }));
  }
}
