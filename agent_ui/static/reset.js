// Forgotten password: /forgot-password asks for a link by email (the answer is the
// same whether or not the address has an account); /reset-password#token=… sets the
// new password with it. The token is read from the fragment (never sent to the
// server in a URL, so never in its logs) and removed from the address bar at once.
import { ApiError, api } from "./api.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { checkNewPassword, clearErrors, focusFirstError, languageToggle, showApiError, showFieldError } from "./passwords.js";

function takeToken() {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token") || "";
  if (window.location.hash) history.replaceState(null, "", window.location.pathname);
  return token;
}

function forgotPage() {
  const section = document.getElementById("forgot");
  const form = document.getElementById("forgot-form");
  const box = document.getElementById("forgot-error");
  const done = document.getElementById("forgot-done");
  section.hidden = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form, box);
    done.hidden = true;
    const email = form.elements.email.value.trim();
    if (!email.includes("@")) {
      showFieldError(form, "email", t("err_bad_email"));
      focusFirstError(form);
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api("/auth/password-reset", { method: "POST", body: { email } });
      done.textContent = t("forgot_sent");
      done.hidden = false;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showApiError(form, box, err);
    } finally {
      button.disabled = false;
    }
  });
}

function resetPage(token) {
  const section = document.getElementById("reset");
  const form = document.getElementById("reset-form");
  const box = document.getElementById("reset-error");
  const done = document.getElementById("reset-done");
  const again = document.getElementById("forgot-again");
  section.hidden = false;
  if (!token) {
    form.hidden = true;
    done.textContent = t("reset_missing");
    done.hidden = false;
    again.hidden = false;
    return;
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form, box);
    if (!checkNewPassword(form)) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api("/auth/password-reset/confirm", {
        method: "POST",
        body: { token, new_password: form.elements.new_password.value },
      });
      form.hidden = true;
      done.textContent = t("reset_done");
      done.hidden = false;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showApiError(form, box, err);
      if (err.code === "reset_link_expired") again.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}

setLang(initialLang());
applyLang();
languageToggle(document.getElementById("lang-toggle"));
if (window.location.pathname === "/reset-password") resetPage(takeToken());
else forgotPage();
