// Sign-in page. The session is an HttpOnly cookie; the CSRF token for later writes is
// kept in sessionStorage. After signing in we go back to where the user was sent from.
import { ApiError, api, setCsrf } from "./api.js";
import { applyLang, getLang, initialLang, setLang, t } from "./i18n.js";
import { clearErrors, showApiError } from "./passwords.js";

setLang(initialLang());
applyLang();

const form = document.getElementById("login-form");
const errorBox = document.getElementById("error");
const toggle = document.getElementById("lang-toggle");

function renderToggle() {
  toggle.textContent = t("other_lang");
  toggle.setAttribute("lang", getLang() === "ar" ? "en" : "ar");
}
renderToggle();
toggle.addEventListener("click", () => {
  setLang(getLang() === "ar" ? "en" : "ar");
  applyLang();
  renderToggle();
});

/** Only our own pages are valid targets (no open redirect). */
function nextPage() {
  const next = new URLSearchParams(window.location.search).get("next") || "";
  const page = /^\/(console|contacts|complaints|supervisor|reports|campaigns|wallboard|planning|admin|password)(?:[/?#]|$)/.test(next) ? next : "/console";
  // A redirect keeps the fragment (#c=12: the conversation the link pointed at).
  return page.includes("#") ? page : page + window.location.hash;
}

function showError(text) {
  errorBox.textContent = text; // textContent: never HTML
  errorBox.hidden = false;
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(form, errorBox);
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const me = await api("/auth/login", {
      method: "POST",
      body: { email: form.email.value.trim(), password: form.password.value },
    });
    setCsrf(me.csrf_token);
    window.location.assign(nextPage());
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.code === "network") showError(t("network"));
    else if (err.status === 429) showError(t("rate_limited"));
    else if (err.status === 401) showError(t("bad_credentials"));
    else showApiError(form, errorBox, err); // translated, next to the field it is about
  } finally {
    submit.disabled = false;
  }
});
