// My profile: name, UI language, time zone, which notifications I get and browser
// notifications, a link to the password page, and signing out my other sessions.
// Only my own (PATCH /profile); admins edit other people in admin.
import { api, whoAmI } from "./api.js";
import { topbar } from "./chrome.js";
import { avatar } from "./avatar.js";
import { clearFormError, confirmDialog, errorText, showFormError } from "./dialogs.js";
import { h, mount } from "./dom.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { askBrowserPermission, browserNotificationsSupported } from "./console/notifications.js";

const KINDS = ["mention", "assigned", "transferred", "offer_missed", "escalated", "low_score"];
const form = document.getElementById("details-form");
const errorBox = document.getElementById("details-error");
const done = document.getElementById("details-done");
let me = null;
let profile = null;
let chrome = null;

function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function renderStatic() {
  document.title = `Switchboard — ${t("pf_title")}`;
  mount(document.getElementById("profile-avatar"), avatar(profile, { size: "lg", decorative: true }));
  document.getElementById("profile-avatar").title = t("pf_avatar");
  mount(document.getElementById("profile-who"),
    h("bdi", { dir: "ltr" }, profile.email), " · ", t(`role_${profile.role}`));
  document.getElementById("pf-timezone-hint").textContent = t("pf_timezone_hint", { zone: localZone() });
  const kinds = KINDS.filter((k) => k in profile.notify);
  mount(document.getElementById("pf-kinds"), kinds.map((k) =>
    h("label", { class: "check" },
      h("input", { type: "checkbox", name: `notify_${k}`, id: `pf-kind-${k}`, checked: profile.notify[k] }),
      h("span", {}, t(`pf_kind_${k}`)))));
}

function fill() {
  form.elements.name.value = profile.name;
  form.elements.language.value = profile.language;
  form.elements.timezone.value = profile.timezone || "";
  form.elements.browser_notifications.checked = profile.browser_notifications;
  renderStatic();
}

async function save(ev) {
  ev.preventDefault();
  clearFormError(form, errorBox);
  done.hidden = true;
  const body = {
    name: form.elements.name.value,
    language: form.elements.language.value,
    timezone: form.elements.timezone.value.trim() || null,
    notify: Object.fromEntries(Object.keys(profile.notify).map((k) => [k, form.elements[`notify_${k}`].checked])),
    browser_notifications: form.elements.browser_notifications.checked,
  };
  // Permission is asked only now, because I turned it on.
  if (body.browser_notifications && !profile.browser_notifications && browserNotificationsSupported()) {
    const answer = await askBrowserPermission();
    if (answer !== "granted") {
      body.browser_notifications = false;
      form.elements.browser_notifications.checked = false;
      if (answer === "denied") {
        errorBox.textContent = t("nt_browser_denied");
        errorBox.hidden = false;
      }
    }
  }
  const button = document.getElementById("pf-save");
  button.disabled = true;
  try {
    const languageChanged = body.language !== profile.language;
    profile = await api("/profile", { method: "PATCH", body });
    me.name = profile.name;
    me.language = profile.language;
    if (languageChanged) {
      setLang(profile.language);
      applyLang();
    }
    chrome.render();
    fill();
    done.textContent = t("pf_saved");
    done.hidden = false;
  } catch (err) {
    showFormError(form, errorBox, err);
    form.querySelector("[aria-invalid]")?.focus();
  } finally {
    button.disabled = false;
  }
}

async function signOutOthers() {
  const box = document.getElementById("security-done");
  const fail = document.getElementById("security-error");
  box.hidden = true;
  fail.hidden = true;
  if (!(await confirmDialog(t("pf_sign_out_others"), t("pf_confirm_sign_out"), { submitLabel: t("pf_sign_out_others") }))) return;
  try {
    const res = await api("/profile/sign-out-others", { method: "POST" });
    box.textContent = res.sessions_revoked ? t("pf_signed_out_n", { n: res.sessions_revoked }) : t("pf_signed_out_none");
    box.hidden = false;
  } catch (err) {
    fail.textContent = errorText(err);
    fail.hidden = false;
  }
}

function zones() {
  let list = [];
  try {
    list = Intl.supportedValuesOf("timeZone");
  } catch {
    list = [];
  }
  mount(document.getElementById("pf-zones"), list.map((z) => h("option", { value: z })));
}

async function main() {
  me = await whoAmI();
  setLang(me.language || initialLang());
  applyLang();
  profile = await api("/profile");
  chrome = topbar({
    user: me, page: "profile",
    onLang: (lang) => {
      profile.language = lang;
      form.elements.language.value = lang;
      renderStatic();
    },
  });
  zones();
  fill();
  form.addEventListener("submit", save);
  document.getElementById("pf-sign-out-others").addEventListener("click", signOutOthers);
}

main().catch((err) => {
  console.error(err);
  errorBox.textContent = errorText(err);
  errorBox.hidden = false;
});
