// Modal dialogs on the native <dialog> element (focus trap, Esc and inert background
// come for free), toasts, and showing API errors next to forms.
import { h, mount } from "./dom.js";
import { hasString, t } from "./i18n.js";

const CODE_FIELDS = {
  weak_password: "password", email_taken: "email", bad_email: "email", team_exists: "name", bad_name: "name",
  bad_shortcut: "shortcut", bad_capacity: "capacity", bad_skill: "skills", empty_body: "body",
  bad_closed_date: "closed_dates",
};

/** A readable message for an error from api() or a socket command. */
export function errorText(err) {
  if (!err) return t("err_unknown");
  if (err.code === "network") return t("err_network");
  if (err.code === "disconnected") return t("err_disconnected");
  // A reason narrows the code (weak_password: too_short, contains_email, common).
  const precise = err.reason ? `err_${err.code}_${err.reason}` : null;
  if (precise && hasString(precise)) return t(precise);
  const key = `err_${err.code}`;
  return hasString(key) ? t(key) : err.message || t("err_unknown");
}

/** A field error's text: its code translated (with its {limit}), else the hub's words. */
export function fieldText(f) {
  return f?.code && hasString(`err_${f.code}`) ? t(`err_${f.code}`, { limit: f.limit ?? "" }) : f?.message || t("err_unknown");
}

/**
 * Show `err` in `box` and mark the inputs its field errors name
 * (validation errors name fields like "body.email" -> the input named "email").
 */
export function showFormError(form, box, err) {
  clearFormError(form, box);
  mount(box, errorText(err));
  box.hidden = false;
  const fields = [...(err?.fields || [])];
  // Service errors carry a code, not a field: point at the input they are about.
  if (!fields.length && CODE_FIELDS[err?.code]) fields.push({ field: `body.${CODE_FIELDS[err.code]}`, message: errorText(err) });
  for (const f of fields) {
    // "body.email" -> email; service errors name the field itself ("rule.all[0]" -> rule).
    const path = String(f.field || "");
    const name = path.split(".").slice(1).join(".") || path;
    const candidates = [name, name.split(".")[0], path, path.split(/[.[]/)[0]];
    const input = candidates.map((c) => c && form.querySelector(`[name="${CSS.escape(c)}"]`)).find(Boolean);
    if (!input) {
      box.append(h("br"), `${name}: ${fieldText(f)}`);
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    // A field error with its own code is shown in the page's language.
    const text = fieldText(f);
    const note = h("span", { class: "field-error", role: "alert" }, text);
    input.after(note);
  }
}

export function clearFormError(form, box) {
  box.hidden = true;
  box.replaceChildren();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.remove();
}

/**
 * A modal form. `body` is a Node (inputs with names); `onSubmit(form)` may throw an
 * ApiError, which is shown in the dialog. Resolves true when submitted, false if cancelled.
 */
export function modal({ title, body, submitLabel = t("ok"), cancelLabel = t("cancel"), onSubmit = async () => {}, danger = false, id = null, wide = false }) {
  const opener = document.activeElement;
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  const errorBox = h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submitLabel);
  const cancel = cancelLabel ? h("button", { type: "button", class: "secondary" }, cancelLabel) : null;
  const form = h("form", { method: "dialog", novalidate: true }, h("h2", { id: titleId }, title), body, errorBox,
    h("div", { class: "dialog-actions" }, cancel, submit));
  const dialog = h("dialog", { class: ["modal", wide && "wide"], "aria-labelledby": titleId, id }, form);
  document.body.append(dialog);
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(ok);
    };
    cancel?.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      finish(false);
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        await onSubmit(form);
        finish(true);
      } catch (err) {
        showFormError(form, errorBox, err);
      } finally {
        submit.disabled = false;
      }
    });
    dialog.showModal();
    const first = form.querySelector("input:not([type=hidden]):not([disabled]), select, textarea");
    (first || submit).focus();
  });
}

export function confirmDialog(title, text, { submitLabel = t("ok"), danger = false } = {}) {
  return modal({ title, body: h("p", {}, text), submitLabel, danger });
}

/** A short notice in the toast region (announced politely to screen readers). */
export function toast(text, { kind = "info", ms = 5000 } = {}) {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const item = h("div", { class: ["toast", `toast-${kind}`] }, text);
  region.append(item);
  setTimeout(() => item.remove(), ms);
}

/** A labelled form row: label + control (+ optional hint). */
export function field(labelText, control, hint = null) {
  const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, labelText), control, hint ? h("small", { class: "hint" }, hint) : null);
}
