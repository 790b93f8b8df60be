// Times, durations, countdowns and per-channel message limits.
import { getLang, hasString, locale, t } from "./i18n.js";

// --- the server's clock -------------------------------------------------------------
// SLA and wait times are differences between server timestamps and "now". The browser's
// clock may be off (or, in tests, the server runs a fixed fake clock), so "now" is the
// server's time as last observed on a live event plus the local time elapsed since.
let offsetMs = 0;
let observed = false;

export function serverNow() {
  return Date.now() + offsetMs;
}

/** Record a server timestamp that was "now" on the server when we received it. */
export function observeServerTime(iso) {
  const ms = Date.parse(iso);
  if (Number.isFinite(ms)) {
    offsetMs = ms - Date.now();
    observed = true;
  }
}

/** Whether serverNow() is based on an observation (else it is this browser's clock). */
export function serverClockKnown() {
  return observed;
}

export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

// --- durations ------------------------------------------------------------------------
/** 75 -> "1:15", 3725 -> "1:02:05"; negative values keep their sign. */
export function clock(seconds) {
  const sign = seconds < 0 ? "-" : "";
  let s = Math.floor(Math.abs(seconds));
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const mins = Math.floor(s / 60);
  const secs = s - mins * 60;
  const pad = (n) => String(n).padStart(2, "0");
  const text = hours ? `${sign}${hours}:${pad(mins)}:${pad(secs)}` : `${sign}${mins}:${pad(secs)}`;
  // Isolated left-to-right, or Arabic pages show an overdue "-1:59:39" as "1:59:39-".
  return sign ? `\u2066${text}\u2069` : text;
}

/** A short human duration: "45 s", "12 min", "3 h", "2 d". */
export function shortDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("dur_s", { n: s });
  if (s < 3600) return t("dur_m", { n: Math.floor(s / 60) });
  if (s < 86400 * 2) return t("dur_h", { n: Math.floor(s / 3600) });
  return t("dur_d", { n: Math.floor(s / 86400) });
}

/** Seconds since a server timestamp (by the server's clock). */
export function ageSeconds(iso) {
  const ms = parseTime(iso);
  return ms === null ? null : (serverNow() - ms) / 1000;
}

// The time zone chosen on the profile page (null: the browser's); set at sign-in.
let zone;

export function setTimeZone(tz) {
  zone = typeof tz === "string" && tz ? tz : undefined;
}

export function timeOfDay(iso) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", timeZone: zone }).format(ms);
}

export function dateTime(iso) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short", timeZone: zone }).format(ms);
}

export function shortDate(iso) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  return new Intl.DateTimeFormat(locale(), { day: "numeric", month: "short", year: "numeric", timeZone: zone }).format(ms);
}

export function percent(fraction) {
  if (fraction === null || fraction === undefined) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(fraction);
}

export function number(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

/** SLA state for a conversation: null when it does not apply (answered or no target). */
export function slaState(conv) {
  if (!conv.sla_due_at || conv.first_response_at || conv.status === "resolved") return null;
  const due = parseTime(conv.sla_due_at);
  const remaining = (due - serverNow()) / 1000;
  return { remaining, breached: remaining < 0, soon: remaining >= 0 && remaining < 60 };
}

// --- message limits per channel ---------------------------------------------------------
// GSM 03.38: the basic set costs one septet, the extension set two (escape + char).
const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED = "^{}\\[~]|€\f";
const GSM_BASIC_SET = new Set(GSM_BASIC);
const GSM_EXTENDED_SET = new Set(GSM_EXTENDED);

/**
 * How an SMS body is encoded and billed.
 * GSM-7: 160 septets in one part, 153 per part when concatenated.
 * UCS-2 (anything outside GSM-7, e.g. Arabic or emoji): 70 code units, 67 per part.
 */
export function smsInfo(text) {
  let septets = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM_BASIC_SET.has(ch)) septets += 1;
    else if (GSM_EXTENDED_SET.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) {
    const segments = septets === 0 ? 0 : septets <= 160 ? 1 : Math.ceil(septets / 153);
    return { encoding: "GSM-7", units: septets, segments, perSegment: septets <= 160 ? 160 : 153 };
  }
  const units = text.length; // UTF-16 code units: an emoji outside the BMP costs two
  const segments = units === 0 ? 0 : units <= 70 ? 1 : Math.ceil(units / 67);
  return { encoding: "UCS-2", units, segments, perSegment: units <= 70 ? 70 : 67 };
}

/** Hard body limits we check before sending (the channel adapter has the final word). */
export const CHANNEL_LIMITS = { whatsapp: 4096, telegram: 4096, sms: 1600 };

export function channelName(kind) {
  const key = `ch_${kind}`;
  return hasString(key) ? t(key) : kind;
}

export function isRtlLang() {
  return getLang() === "ar";
}
