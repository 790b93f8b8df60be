// Canned responses: search, create, edit, delete; per language and team (or global).
import { api } from "../api.js";
import { confirmDialog, errorText, field, modal, toast } from "../dialogs.js";
import { debounce, h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { input, select } from "./forms.js";
import { pager } from "./pager.js";

const PAGE = 25; // rows per page of the list (server-side paging: limit + cursor)

export async function cannedSection(root, { me }) {
  const teams = (await api("/teams")).items;
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  // Supervisors manage their own teams' responses; admins any.
  const editableTeams = me.role === "admin" ? teams : teams.filter((tm) => me.team_ids.includes(tm.id));
  const tbody = h("tbody");
  const search = h("input", { type: "search", id: "canned-search", placeholder: t("search"), "aria-label": t("search"), dir: "auto" });

  let offset = 0;
  const pages = pager("canned-pager", {
    onPrev: () => { offset = Math.max(0, offset - PAGE); load(); },
    onNext: () => { offset += PAGE; load(); },
  });

  async function load() {
    const page = await api("/canned-responses", { query: { q: search.value.trim(), limit: PAGE, cursor: offset || null } });
    const rows = page.items;
    pages.update({ from: offset, count: rows.length, more: page.next_cursor !== null });
    mount(tbody, rows.length ? rows.map((r) => h("tr", { "data-canned-id": r.id },
      h("th", { scope: "row", dir: "ltr" }, `/${r.shortcut}`),
      h("td", {}, h("bdi", {}, r.title)),
      h("td", {}, r.language, Object.keys(r.variants || {}).map((lang) => [" ", h("span", { class: "lang-tag" }, t("cn_has_variant", { lang }))])),
      h("td", {}, r.team_id ? teamName.get(r.team_id) || `#${r.team_id}` : t("all_teams")),
      h("td", { class: "preview", dir: "auto" }, r.body.length > 120 ? `${r.body.slice(0, 120)}…` : r.body),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary small", "data-edit": r.id, on: { click: async () => { if (await edit(r)) load(); } } }, t("edit")), " ",
        h("button", {
          type: "button", class: "danger small", "data-delete": r.id,
          on: {
            click: async () => {
              if (!(await confirmDialog(t("delete_canned_title"), t("delete_canned", { shortcut: r.shortcut }), { submitLabel: t("delete"), danger: true }))) return;
              try {
                await api(`/canned-responses/${r.id}`, { method: "DELETE" });
                load();
              } catch (err) {
                toast(errorText(err), { kind: "error" });
              }
            },
          },
        }, t("delete")))))
      : h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("none"))));
  }

  const variables = (await api("/canned-responses/variables")).items;

  function edit(row) {
    // Both versions side by side; the main language's is the body, the other a variant.
    const texts = {};
    for (const lang of ["en", "ar"]) {
      texts[lang] = h("textarea", { name: `body_${lang}`, id: `canned-body-${lang}`, rows: 5, dir: lang === "ar" ? "rtl" : "ltr", lang });
      texts[lang].value = row ? (row.language === lang ? row.body : row.variants?.[lang] || "") : "";
    }
    let lastText = texts.en;
    for (const area of Object.values(texts)) area.addEventListener("focus", () => { lastText = area; });
    const insertVariable = (name) => {
      const area = lastText;
      const at = area.selectionStart ?? area.value.length;
      const token = `{{${name}}}`;
      area.value = area.value.slice(0, at) + token + area.value.slice(area.selectionEnd ?? at);
      area.focus();
      area.setSelectionRange(at + token.length, at + token.length);
    };
    const variableList = h("div", { class: "field canned-variables", id: "canned-variables" },
      h("span", { class: "label" }, t("cn_variables")),
      h("ul", { class: "chips" }, variables.map((name) => h("li", {},
        h("button", { type: "button", class: "chip link small", dir: "ltr", "data-variable": name, on: { click: () => insertVariable(name) } }, `{{${name}}}`)))),
      h("small", { class: "hint" }, t("cn_variables_hint"), " ", h("code", { dir: "ltr" }, '{{contact.first_name | "there"}}')));
    const body = h("div", { class: "form-grid" },
      field(t("shortcut"), input("shortcut", row?.shortcut || "", { dir: "ltr", required: true }), t("shortcut_hint")),
      field(t("title"), input("title", row?.title || "", { required: true })),
      field(t("cn_primary"), select("language", [["en", "English"], ["ar", "العربية"]], row?.language || "en"), t("cn_variant_hint")),
      field(t("team"), select("team_id", [["", t("all_teams")], ...editableTeams.map((tm) => [tm.id, tm.name])], row?.team_id ?? "")),
      field(t("cn_body_en"), texts.en),
      field(t("cn_body_ar"), texts.ar),
      variableList);
    return modal({
      title: row ? t("edit_canned", { shortcut: row.shortcut }) : t("new_canned"), body, wide: true, id: "canned-dialog",
      submitLabel: row ? t("save") : t("create"),
      onSubmit: async (form) => {
        const primary = form.elements.language.value;
        const other = primary === "en" ? "ar" : "en";
        const data = {
          shortcut: form.elements.shortcut.value.trim().replace(/^\//, ""),
          title: form.elements.title.value.trim(),
          language: primary,
          team_id: form.elements.team_id.value ? Number(form.elements.team_id.value) : null,
          body: texts[primary].value,
          variants: texts[other].value.trim() ? { [other]: texts[other].value } : {},
        };
        try {
          if (row) await api(`/canned-responses/${row.id}`, { method: "PATCH", body: data });
          else await api("/canned-responses", { method: "POST", body: data });
        } catch (err) {
          throw bodyFieldError(err, primary);
        }
      },
    });
  }

  search.addEventListener("input", debounce(() => { offset = 0; load(); }, 200));
  mount(root,
    h("div", { class: "section-head" },
      h("h2", {}, t("adm_canned")),
      search,
      h("button", { type: "button", class: "primary", id: "new-canned", on: { click: async () => { if (await edit(null)) load(); } } }, t("new_canned"))),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "canned-table" },
      h("thead", {}, h("tr", {}, ["shortcut", "title", "language", "team", "body", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      tbody)),
    pages.el);
  await load();
}

/** Point body errors at the textarea of the language they concern (body_en / body_ar). */
function bodyFieldError(err, primary) {
  const own = { empty_body: primary, bad_variant: primary === "en" ? "ar" : "en" }[err.code];
  if (own) return Object.assign(err, { code: "validation_error", fields: [{ field: `body_${own}`, code: err.code }] });
  if (err.fields?.length) {
    err.fields = err.fields.map((f) => {
      const path = String(f.field || "");
      if (path === "body.body") return { ...f, field: `body_${primary}` };
      const variant = path.match(/^body\.variants\.(en|ar)/);
      return variant ? { ...f, field: `body_${variant[1]}` } : f;
    });
  }
  return err;
}
