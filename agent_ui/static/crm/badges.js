// Recognition tiers as badges (colour + label in the page's language) and the
// one-line greeting hint agents see for a returning customer. Tier definitions are
// read once per page from /tiers (GET is open to every signed-in user).
import { api } from "../api.js";
import { h } from "../dom.js";
import { channelName, shortDate } from "../format.js";
import { getLang, hasString, t } from "../i18n.js";

let tiers = new Map();
let loading = null;

/** Load the tier definitions (once; call again after an admin change with force). */
export function loadTiers({ force = false } = {}) {
  if (!loading || force) {
    loading = api("/tiers")
      .then((rows) => { tiers = new Map(rows.map((r) => [r.key, r])); })
      .catch(() => { tiers = new Map(); });
  }
  return loading;
}

/** The tier definitions in the admin's order (after loadTiers). */
export function tierList() {
  return [...tiers.values()].sort((a, b) => a.position - b.position);
}

export function tierLabel(key) {
  const tier = tiers.get(key);
  if (!tier) return key;
  return getLang() === "ar" ? tier.label_ar : tier.label_en;
}

/** Badges for a contact's tiers, in the admin's order. Colours come from a fixed
 *  #rrggbb the hub validated; they are set as a CSS variable, never as markup. */
export function tierBadges(keys = [], { small = false } = {}) {
  const known = keys.filter((k) => tiers.has(k))
    .sort((a, b) => (tiers.get(a).position - tiers.get(b).position));
  if (!known.length) return null;
  return h("span", { class: ["tier-badges", small && "small"] },
    known.map((k) => {
      const badge = h("span", { class: "tier-badge", "data-tier": k, title: tierLabel(k) }, tierLabel(k));
      badge.style.setProperty("--tier", tiers.get(k).color);
      return badge;
    }));
}

function ordinal(n) {
  if (getLang() === "ar") return t("hint_nth", { n });
  const mod100 = n % 100;
  const suffix = mod100 >= 11 && mod100 <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th");
  return t("hint_nth", { n: `${n}${suffix}` });
}

/** "4th conversation this month · last: complaint, resolved · prefers WhatsApp" */
export function greetingHint(hint) {
  if (!hint) return null;
  const parts = [];
  if (hint.conversations_30d > 1) parts.push(ordinal(hint.conversations_30d));
  else if (hint.conversations_total <= 1) parts.push(t("hint_first"));
  if (hint.previous_status) {
    const cat = hint.previous_category && hasString(`cat_${hint.previous_category}`) ? t(`cat_${hint.previous_category}`) : null;
    const status = t(`status_${hint.previous_status}`);
    parts.push(t("hint_last", { what: cat ? `${cat}, ${status}` : status, when: shortDate(hint.previous_at) }));
  }
  if (hint.preferred_channel) parts.push(t("hint_prefers", { channel: channelName(hint.preferred_channel) }));
  if (!parts.length) return null;
  return h("p", { class: "greeting-hint", "data-testid": "greeting-hint" }, parts.join(" · "));
}
