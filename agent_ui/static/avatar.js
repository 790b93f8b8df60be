// Staff avatars as initials: letters from the name, a colour from a stable hash of
// the user (the same person has the same colour on every page and every device).
// Built with dom.js; the name is only ever text. Sizes: "sm" (lists), "md", "lg".
import { h } from "./dom.js";

// Mid-tone hues that keep white initials readable (WCAG AA on 14 px bold).
const COLOURS = ["#1d4ed8", "#047857", "#b45309", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#a21caf", "#c2410c", "#334155"];

/** Up to two letters: first and last word's first letter ("Ana Maria Lima" -> "AL"). */
export function initials(name) {
  const words = String(name || "").trim().split(/\s+/u).filter(Boolean);
  if (!words.length) return "?";
  const first = [...words[0]][0] || "";
  const last = words.length > 1 ? [...words[words.length - 1]][0] || "" : "";
  return (first + last).toLocaleUpperCase();
}

/** A stable colour for a key (the user id, or the name when there is none): FNV-1a. */
export function avatarColour(key) {
  let hash = 0x811c9dc5;
  for (const ch of String(key ?? "")) {
    hash ^= ch.codePointAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return COLOURS[hash % COLOURS.length];
}

/** <span class="avatar"> with the initials; the full name is its accessible label. */
export function avatar(user, { size = "sm", decorative = false } = {}) {
  const name = user?.name || "";
  const el = h("span", {
    class: ["avatar", `avatar-${size}`],
    title: name || null,
    "aria-hidden": decorative ? "true" : null,
    role: decorative ? null : "img",
    "aria-label": decorative ? null : name || null,
    "data-user-id": user?.id ?? null,
  }, initials(name));
  // A CSS custom property through the CSSOM: allowed by the page's CSP (no inline style).
  el.style.setProperty("--avatar", avatarColour(user?.id ?? name));
  return el;
}
