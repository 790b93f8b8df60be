// UI strings of one area, merged into STRINGS by i18n.js (same rules: every key in
// both languages; the static test reads this file as it reads i18n.js).
// Area: internal messages between staff (issue 18).
export default {
  en: {
  },
  ar: {
  },
};
