// How many SMS parts a text takes, and in which encoding: the same rules as the hub's
// hub/campaigns/smsparts.py, so the figure under the editor matches the server's.
// GSM 03.38's basic table costs one septet a character, its extension table two; any
// other character sends the whole text as UCS-2, counted in UTF-16 code units. One
// message holds 160 septets or 70 units; a longer text goes in parts of 153 or 67, and
// a two-unit character (an extension character, an emoji) never straddles two parts.
const GSM_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
const GSM_EXTENSION = new Set("^{}\\[~]|€\f");

export function isGsm(text) {
  for (const ch of text) if (!GSM_BASIC.has(ch) && !GSM_EXTENSION.has(ch)) return false;
  return true;
}

/** {encoding: "GSM-7" | "UCS-2", characters, segments, per_segment} — the server's shape. */
export function smsParts(text) {
  const gsm = isGsm(text);
  // for…of walks code points: a character outside the BMP is two UTF-16 units.
  const units = [...text].map((ch) => (gsm ? (GSM_EXTENSION.has(ch) ? 2 : 1) : ch.codePointAt(0) > 0xffff ? 2 : 1));
  const [single, multi, encoding] = gsm ? [160, 153, "GSM-7"] : [70, 67, "UCS-2"];
  const total = units.reduce((a, b) => a + b, 0);
  if (total <= single) return { encoding, characters: total, segments: total ? 1 : 0, per_segment: single };
  let segments = 1;
  let used = 0;
  for (const u of units) {
    if (used + u > multi) {
      segments += 1;
      used = 0;
    }
    used += u;
  }
  return { encoding, characters: total, segments, per_segment: multi };
}
