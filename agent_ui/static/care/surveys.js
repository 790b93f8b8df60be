// Survey requests in a conversation's timeline (console and supervisor view): what was
// asked, whether and how the customer answered, the score and their comment. A low
// score is marked. The comment is the customer's own text: only ever text.
import { h } from "../dom.js";
import { dateTime, timeOfDay } from "../format.js";
import { t } from "../i18n.js";
import { icon } from "../icons.js";
import { answeredVia, scoreText, skipReason, surveyKindLabel } from "./common.js";

function stateText(s) {
  switch (s.status) {
    case "scheduled":
      return t("sv_scheduled", { time: dateTime(s.send_at) });
    case "sent":
      return s.expires_at ? t("sv_sent_until", { time: dateTime(s.expires_at) }) : t("sv_sent");
    case "answered":
      return s.answered_via ? t("sv_answered_via", { via: answeredVia(s.answered_via) }) : t("sv_answered");
    case "expired":
      return t("sv_expired");
    case "skipped":
      return t("sv_skipped", { reason: skipReason(s.skip_reason) });
    default:
      return s.status;
  }
}

/** Where a survey sits in the timeline: when answered, else when sent or due. */
export function surveyTime(s) {
  return s.answered_at || s.sent_at || s.send_at || s.created_at;
}

export function surveyItem(s) {
  const at = surveyTime(s);
  return h("li", { class: ["item", "survey-item", s.low_score && "low"], "data-survey-id": s.id, "data-status": s.status },
    h("div", { class: "survey-card" },
      h("div", { class: "survey-head" },
        icon("star"),
        h("strong", {}, s.complaint_id ? t("sv_about_complaint") : surveyKindLabel(s.kind)),
        h("span", { class: "survey-state" }, stateText(s)),
        at ? h("time", { datetime: at, title: dateTime(at), class: "muted" }, timeOfDay(at)) : null),
      s.score !== null && s.score !== undefined
        ? h("div", { class: "survey-score" },
          h("span", { class: "score", "data-score": s.score }, scoreText(s.kind, s.score)),
          s.low_score ? h("span", { class: "care-mark low-score" }, icon("alert"), t("sv_low")) : null)
        : null,
      s.comment ? h("p", { class: "survey-comment", dir: "auto" }, s.comment) : null));
}
