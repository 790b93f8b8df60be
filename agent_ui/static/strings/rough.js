// UI strings of one area, merged into STRINGS by i18n.js (same rules: every key in
// both languages; the static test reads this file as it reads i18n.js).
export default {
  en: {
    // Thread events with the person who acted (issue 16).
    ev_resolved_by: "Resolved by {name}", ev_resolved_as_by: "Resolved as {category} by {name}",
    ev_reopened_by: "Reopened by {name}", ev_snoozed_by: "Snoozed by {name}",
    // Field codes of the hub's validation errors (hub/api/errors.py), {limit} filled in.
    err_text_too_short: "Write at least {limit} characters.", err_text_too_long: "Write at most {limit} characters.",
    err_too_few: "Give at least {limit}.", err_too_many: "Give at most {limit}.",
    err_not_a_number: "Enter a number.", err_unknown_field: "This field is not accepted.",
    err_not_valid: "This value is not valid.",
  },
  ar: {
    ev_resolved_by: "أغلقها {name} كمحلولة", ev_resolved_as_by: "أغلقها {name} كمحلولة: {category}",
    ev_reopened_by: "أعاد {name} فتحها", ev_snoozed_by: "أجّلها {name}",
    err_text_too_short: "اكتب {limit} أحرف على الأقل.", err_text_too_long: "اكتب {limit} حرفًا على الأكثر.",
    err_too_few: "أدخل {limit} على الأقل.", err_too_many: "أدخل {limit} على الأكثر.",
    err_not_a_number: "أدخل رقمًا.", err_unknown_field: "هذا الحقل غير مقبول.",
    err_not_valid: "هذه القيمة غير صالحة.",
  },
};
