import { applyLang, currentLang, t } from "/static/i18n.js";

let lang = currentLang();
applyLang(lang);

const form = document.getElementById("login-form");
const errorBox = document.getElementById("error");
const toggle = document.getElementById("lang-toggle");
toggle.textContent = t(lang, "other_lang");
toggle.addEventListener("click", () => {
  lang = lang === "ar" ? "en" : "ar";
  localStorage.setItem("sb_lang", lang);
  applyLang(lang);
  toggle.textContent = t(lang, "other_lang");
});

function showError(text) {
  errorBox.textContent = text; // textContent: never HTML
  errorBox.hidden = false;
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  errorBox.hidden = true;
  const body = { email: form.email.value, password: form.password.value };
  let res;
  try {
    res = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    showError(t(lang, "network"));
    return;
  }
  if (res.ok) {
    const me = await res.json();
    sessionStorage.setItem("sb_csrf", me.csrf_token);
    if (!localStorage.getItem("sb_lang")) localStorage.setItem("sb_lang", me.user.language);
    window.location.assign("/console");
    return;
  }
  if (res.status === 429) {
    showError(t(lang, "rate_limited", { s: res.headers.get("retry-after") || "60" }));
  } else if (res.status === 401) {
    showError(t(lang, "bad_credentials"));
  } else {
    const data = await res.json().catch(() => null);
    showError(data?.error?.message || `HTTP ${res.status}`);
  }
});
