// Users: list, create (the generated password is shown once), edit role, teams,
// skills with levels, languages and capacity per channel, reset password, deactivate;
// searched and paged on the server.
import { api } from "../api.js";
import { field, modal, toast } from "../dialogs.js";
import { debounce, h, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";
import { pager } from "./pager.js";
import { channelNumbers, checkbox, checkboxGroup, checkedNumbers, input, listText, parseList, select, skillsEditor } from "./forms.js";

const ROLES = ["agent", "supervisor", "admin"];

const PAGE = 25;

export async function usersSection(root, { me }) {
  const teams = (await api("/teams")).items;
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  // Server-side search and paging (q, limit, cursor = position); edits keep the page.
  let offset = 0;
  const tbody = h("tbody");
  const search = h("input", { type: "search", id: "users-search", placeholder: t("sup_users_search"), "aria-label": t("sup_users_search"), "aria-controls": "users-table", dir: "auto", maxlength: 100 });
  const pages = pager("users-pager", {
    onPrev: () => { offset = Math.max(0, offset - PAGE); load(); },
    onNext: () => { offset += PAGE; load(); },
  });
  const reload = () => load();

  async function load() {
    const page = await api("/users", { query: { q: search.value.trim(), limit: PAGE, cursor: offset || null } });
    mount(tbody, page.items.length ? page.items.map((u) => h("tr", { "data-user-id": u.id, class: u.active ? null : "inactive" },
      h("th", { scope: "row" }, h("bdi", {}, u.name)),
      h("td", { dir: "ltr" }, u.email),
      h("td", {}, t(`role_${u.role}`)),
      h("td", {}, u.team_ids.map((id) => teamName.get(id)).filter(Boolean).join(", ") || "—"),
      h("td", {}, Object.entries(u.skills).map(([s, l]) => `${s} ${l}`).join(", ") || "—"),
      h("td", {}, u.language),
      h("td", {}, u.active ? t(`presence_${u.presence}`) : t("inactive")),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary small", "data-edit": u.id, on: { click: async () => { if (await editUser(u, teams, me)) reload(); } } }, t("edit")),
        // Your own password: the change-password page (it asks for the current one).
        u.id === me.id ? null : h("button", { type: "button", class: "secondary small", "data-reset": u.id, on: { click: () => resetPassword(u) } }, t("reset_password")))))
      : h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("none"))));
    pages.update({ from: offset, count: page.items.length, more: page.next_cursor !== null });
  }

  search.addEventListener("input", debounce(() => { offset = 0; load(); }, 250));
  mount(root,
    h("div", { class: "section-head" },
      h("h2", {}, t("adm_users")),
      search,
      h("button", { type: "button", class: "primary", id: "new-user", on: { click: async () => { if (await createUser(teams)) reload(); } } }, t("new_user"))),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "users-table" },
      h("thead", {}, h("tr", {}, ["name", "email", "role", "teams", "skills", "language", "presence", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      tbody)),
    pages.el);
  await load();
}

function languageSelect(value) {
  return select("language", [["en", "English"], ["ar", "العربية"]], value || "en");
}

function userFields(u, teams, { creating }) {
  const skills = skillsEditor(u?.skills || {});
  const capacity = channelNumbers(t("capacity"), "capacity", u?.capacity || {}, { max: 100, hint: t("capacity_hint") });
  const body = h("div", { class: "form-grid" },
    creating ? field(t("email"), input("email", "", { type: "email", dir: "ltr", required: true, autocomplete: "off" })) : null,
    field(t("name"), input("name", u?.name || "", { required: true })),
    field(t("role"), select("role", ROLES.map((r) => [r, t(`role_${r}`)]), u?.role || "agent")),
    field(t("language"), languageSelect(u?.language)),
    field(creating ? t("password_optional") : t("new_password"),
      h("input", { type: "password", name: "password", autocomplete: "new-password", dir: "ltr" }),
      creating ? t("password_generated_hint") : t("password_keep_hint")),
    field(t("languages"), input("languages", listText(u?.languages), { dir: "ltr" }), t("languages_hint")),
    !creating ? checkbox("active", u.active, t("active")) : null,
    checkboxGroup(t("teams"), "team_ids", teams.map((tm) => ({ value: tm.id, label: tm.name, checked: u?.team_ids?.includes(tm.id) }))),
    skills.el,
    capacity.el);
  const read = (form) => {
    const data = {
      name: form.elements.name.value.trim(),
      role: form.elements.role.value,
      language: form.elements.language.value,
      team_ids: checkedNumbers(form, "team_ids"),
      skills: skills.value(),
      capacity: capacity.value(),
    };
    const langs = parseList(form.elements.languages.value);
    if (langs.length) data.languages = langs;
    if (form.elements.password.value) data.password = form.elements.password.value;
    if (!creating) data.active = form.elements.active.checked;
    return data;
  };
  return { body, read };
}

async function createUser(teams) {
  // Start from the hub's defaults (the same capacities as `switchboard create-user`):
  // a user with no capacity on any channel would never be offered work.
  const defaults = await api("/users/defaults");
  const { body, read } = userFields({ capacity: defaults.capacity }, teams, { creating: true });
  let created = null;
  const ok = await modal({
    title: t("new_user"), body, submitLabel: t("create"), wide: true, id: "user-dialog",
    onSubmit: async (form) => {
      created = await api("/users", { method: "POST", body: { email: form.elements.email.value.trim(), ...read(form) } });
    },
  });
  if (ok && created?.generated_password) await showPassword(created.user, created.generated_password);
  return ok;
}

/** A Copy button for a secret shown once in `code`. */
function copyButton(text, code) {
  return h("button", {
    type: "button", class: "secondary small",
    on: {
      click: async (e) => {
        try {
          await navigator.clipboard.writeText(text);
          e.target.textContent = t("copied");
        } catch {
          // No clipboard outside secure contexts: select the text for Ctrl+C.
          window.getSelection().selectAllChildren(code);
        }
      },
    },
  }, t("copy"));
}

function showPassword(user, password) {
  const code = h("code", { id: "generated-password", dir: "ltr", class: "secret" }, password);
  return modal({
    title: t("password_once_title"), submitLabel: t("done"), cancelLabel: null, id: "password-dialog",
    body: h("div", {},
      h("p", {}, t("password_once", { name: user.name, email: user.email })),
      h("p", {}, code, " ", copyButton(password, code))),
  });
}

async function editUser(u, teams, me) {
  const { body, read } = userFields(u, teams, { creating: false });
  return modal({
    title: t("edit_user", { name: u.name }), body, submitLabel: t("save"), wide: true, id: "user-dialog",
    onSubmit: async (form) => {
      const data = read(form);
      if (u.id === me.id) delete data.active; // never lock yourself out by accident
      await api(`/users/${u.id}`, { method: "PATCH", body: data });
    },
  });
}

/** Clear the user's password (they are signed out), then mail them a reset link —
 *  or, without mail, show the link once for the admin to pass on. */
async function resetPassword(u) {
  let result = null;
  const ok = await modal({
    title: t("adm_reset_title", { name: u.name }), submitLabel: t("reset_password"), danger: true, id: "reset-dialog",
    body: h("div", { class: "stack" },
      h("p", {}, t("adm_reset_text", { name: u.name })),
      checkbox("revoke_tokens", false, t("adm_reset_revoke"))),
    onSubmit: async (form) => {
      result = await api(`/users/${u.id}/password-reset`, { method: "POST", body: { revoke_tokens: form.elements.revoke_tokens.checked } });
    },
  });
  if (!ok || !result) return;
  if (result.mailed) {
    toast(t("adm_reset_mailed", { email: u.email }));
    return;
  }
  const link = h("code", { id: "reset-link", dir: "ltr", class: "secret" }, result.reset_url);
  await modal({
    title: t("adm_reset_link_title"), submitLabel: t("done"), cancelLabel: null, id: "reset-link-dialog",
    body: h("div", {},
      h("p", {}, t("adm_reset_link", { name: u.name, error: result.mail_error || "", time: dateTime(result.expires_at) })),
      h("p", { class: "reset-link" }, link, " ", copyButton(result.reset_url, link))),
  });
}
