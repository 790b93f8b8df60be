// What the campaigns page's views share: the page state, labels for the hub's values,
// and errors shown in the page's language next to the field they name.
import { errorText, fieldText } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { channelName, number } from "../format.js";
import { hasString, t } from "../i18n.js";

export const STATUSES = ["draft", "scheduled", "running", "paused", "completed", "cancelled"];
export const RECIPIENT_STATUSES = ["pending", "sending", "sent", "delivered", "failed", "excluded", "cancelled"];
export const LANGS = ["en", "ar"];
export const FALLBACK = ["whatsapp", "sms", "email", "telegram"];

/** The page's shared state: filled by campaigns.js, read by the views. */
export const ctx = {
  me: null,
  options: null, // GET /campaigns/options
  teams: new Map(),
  segments: [],
  socket: null,
};

/** A label for a value of the hub's: cp_<family>_<value> when we have it, else the value. */
export function label(family, value) {
  const key = `cp_${family}_${value}`;
  return hasString(key) ? t(key) : String(value ?? "");
}

export function statusChip(status) {
  return h("span", { class: ["status-chip", "cp-status", `cp-status-${status}`], "data-status": status }, label("status", status));
}

export function channelLabel(kind) {
  return kind === "preferred" ? t("cp_channel_preferred") : channelName(kind);
}

export function teamName(id) {
  if (id === null || id === undefined) return t("cp_no_team");
  return ctx.teams.get(id)?.name || `#${id}`;
}

export function num(n) {
  return number(n ?? 0);
}

/** An error's text: the campaigns page's own wording for its codes, else the shared one. */
export function cpErrorText(err) {
  const key = `cp_err_${err?.code}`;
  return err?.code && hasString(key) ? t(key) : errorText(err);
}

function cpFieldText(f) {
  const key = `cp_err_${f?.code}`;
  return f?.code && hasString(key) ? t(key, { limit: f.limit ?? "" }) : fieldText(f);
}

export function clearErrors(form, box) {
  if (box) {
    box.hidden = true;
    box.replaceChildren();
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.remove();
}

/**
 * Show an API error: its text in `box`, and each field error next to the input it
 * names ("body.content.ar.body" -> the input named "content.ar.body"; the nearest
 * named parent path when no input has the whole name). Returns the first marked input.
 */
export function showErrors(form, box, err) {
  clearErrors(form, box);
  mount(box, cpErrorText(err));
  box.hidden = false;
  let first = null;
  for (const f of err?.fields || []) {
    const path = String(f.field || "").replace(/^body\./, "");
    const parts = path.split(".");
    let input = null;
    for (let n = parts.length; n > 0 && !input; n -= 1) {
      input = form.querySelector(`[name="${CSS.escape(parts.slice(0, n).join("."))}"]`);
    }
    const text = cpFieldText(f);
    if (!input) {
      box.append(h("br"), `${path}: ${text}`);
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    const note = h("span", { class: "field-error", role: "alert", "data-field": path }, text);
    // A hidden input (a language tab not shown) shows its note on its tab too.
    input.after(note);
    first ||= input;
  }
  return first;
}
