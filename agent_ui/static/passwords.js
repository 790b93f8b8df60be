// Shared by the password pages (change, forgotten, reset): errors shown right under
// the input they are about — announced (role=alert), linked to it (aria-describedby)
// and marked (aria-invalid) — and the language switch of a page without a top bar.
import { errorText, fieldText } from "./dialogs.js";
import { applyLang, getLang, setLang, t } from "./i18n.js";

// Service errors carry a code, not a field: the input each one is about.
const CODE_FIELDS = { wrong_password: "current_password", weak_password: "new_password", bad_email: "email" };

export const MIN_LENGTH = 10;

function noteFor(form, name) {
  return form.querySelector(`#${CSS.escape(name)}-error`);
}

/** Hide every message of `form` and its general box. */
export function clearErrors(form, box) {
  for (const note of form.querySelectorAll(".field-error")) {
    note.hidden = true;
    note.textContent = "";
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  box.hidden = true;
  box.textContent = "";
}

/** `text` under the input named `name`; false when the form has no such input. */
export function showFieldError(form, name, text) {
  const input = form.elements[name];
  const note = noteFor(form, name);
  if (!input || !note) return false;
  note.textContent = text; // textContent: never HTML
  note.hidden = false;
  input.setAttribute("aria-invalid", "true");
  return true;
}

export function showBoxError(box, text) {
  box.textContent = text;
  box.hidden = false;
}

/** Put an ApiError next to the field it is about, else in the general box. */
export function showApiError(form, box, err) {
  const fields = (err?.fields || []).map((f) => ({ name: String(f.field || "").replace(/^body\./, ""), text: fieldText(f) }));
  if (!fields.length && CODE_FIELDS[err?.code]) fields.push({ name: CODE_FIELDS[err.code], text: errorText(err) });
  const shown = fields.filter((f) => showFieldError(form, f.name, f.text));
  // Nothing on this form to point at: the fields' own words, not "check the fields below".
  if (!shown.length) showBoxError(box, fields.length ? fields.map((f) => f.text).join(" ") : errorText(err));
  focusFirstError(form);
}

export function focusFirstError(form) {
  form.querySelector("[aria-invalid=true]")?.focus();
}

/** The two client-side checks worth making before asking the hub: length and match. */
export function checkNewPassword(form) {
  const fresh = form.elements.new_password.value;
  if (fresh.length < MIN_LENGTH) {
    showFieldError(form, "new_password", t("err_weak_password_too_short"));
  } else if (fresh !== form.elements.confirm_password.value) {
    showFieldError(form, "confirm_password", t("pw_mismatch"));
  } else {
    return true;
  }
  focusFirstError(form);
  return false;
}

/** The language link of a card page; `onChange(lang)` runs after the switch. */
export function languageToggle(button, onChange = () => {}) {
  const render = () => {
    button.textContent = t("other_lang");
    button.setAttribute("lang", getLang() === "ar" ? "en" : "ar");
  };
  render();
  button.addEventListener("click", () => {
    setLang(getLang() === "ar" ? "en" : "ar");
    applyLang();
    render();
    onChange(getLang());
  });
}
