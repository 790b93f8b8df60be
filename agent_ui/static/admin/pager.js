// Previous/next paging for the admin lists (users, canned answers, audit log): native
// buttons (keyboard and screen readers for free) and a polite "1–25" status.
import { h, mount } from "../dom.js";
import { number } from "../format.js";
import { t } from "../i18n.js";

/**
 * A pager bar. `onPage(offsetOrCursor)` loads a page; call `update({from, count, more})`
 * after each load. Offsets: `from` is the first row's 0-based position.
 */
export function pager(id, { onPrev, onNext }) {
  const status = h("span", { class: "pager-status muted", role: "status", "aria-live": "polite", id: `${id}-status` });
  const prev = h("button", { type: "button", class: "secondary small", id: `${id}-prev`, on: { click: () => onPrev() } }, t("pg_prev"));
  const next = h("button", { type: "button", class: "secondary small", id: `${id}-next`, on: { click: () => onNext() } }, t("pg_next"));
  const el = h("nav", { class: "pager", id, "aria-label": t("pg_label") }, prev, status, next);
  return {
    el,
    update({ from, count, more, hasPrev = from > 0 }) {
      prev.disabled = !hasPrev;
      next.disabled = !more;
      mount(status, count ? t("pg_range", { from: number(from + 1), to: number(from + count) }) : t("pg_none"));
      el.hidden = !hasPrev && !more;
      // Focus must not be lost on a button that just became disabled.
      if (document.activeElement === prev && prev.disabled && !next.disabled) next.focus();
      if (document.activeElement === next && next.disabled && !prev.disabled) prev.focus();
    },
  };
}
