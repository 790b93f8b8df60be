// Change my password: the current one confirms it is really me; every other session
// ends (this one stays) and, if ticked, my API tokens too.
import { ApiError, api, whoAmI } from "./api.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { checkNewPassword, clearErrors, focusFirstError, languageToggle, showApiError, showFieldError } from "./passwords.js";

const form = document.getElementById("password-form");
const errorBox = document.getElementById("error");
const done = document.getElementById("done");
const who = document.getElementById("who");
let me = null;

function renderWho() {
  if (me) who.textContent = t("pw_signed_in_as", { name: me.name });
}

async function submit(ev) {
  ev.preventDefault();
  clearErrors(form, errorBox);
  done.hidden = true;
  if (!form.elements.current_password.value) {
    showFieldError(form, "current_password", t("pw_current_missing"));
    focusFirstError(form);
    return;
  }
  if (!checkNewPassword(form)) return;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const result = await api("/auth/password", {
      method: "POST",
      body: {
        current_password: form.elements.current_password.value,
        new_password: form.elements.new_password.value,
        revoke_tokens: form.elements.revoke_tokens.checked,
      },
    });
    form.reset();
    done.textContent = t("pw_done") + (result.tokens_revoked ? ` ${t("pw_done_tokens", { n: result.tokens_revoked })}` : "");
    done.hidden = false;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showApiError(form, errorBox, err);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  setLang(initialLang());
  applyLang();
  me = await whoAmI();
  setLang(me.language || initialLang());
  applyLang();
  renderWho();
  languageToggle(document.getElementById("lang-toggle"), async (lang) => {
    renderWho();
    // Saved on the user, as the top bar of the other pages does.
    try {
      await api(`/users/${me.id}`, { method: "PATCH", body: { language: lang } });
    } catch (err) {
      console.warn("could not save the language", err);
    }
  });
  form.addEventListener("submit", submit);
}

main();
