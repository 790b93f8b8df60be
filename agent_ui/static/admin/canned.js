// Canned responses: search, create, edit, delete; per language and team (or global).
import { api } from "../api.js";
import { confirmDialog, errorText, field, modal, toast } from "../dialogs.js";
import { debounce, h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { input, select } from "./forms.js";

export async function cannedSection(root, { me }) {
  const teams = (await api("/teams")).items;
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  // Supervisors manage their own teams' responses; admins any.
  const editableTeams = me.role === "admin" ? teams : teams.filter((tm) => me.team_ids.includes(tm.id));
  const tbody = h("tbody");
  const search = h("input", { type: "search", id: "canned-search", placeholder: t("search"), "aria-label": t("search"), dir: "auto" });

  async function load() {
    const rows = (await api("/canned-responses", { query: { q: search.value.trim(), limit: 200 } })).items;
    mount(tbody, rows.length ? rows.map((r) => h("tr", { "data-canned-id": r.id },
      h("th", { scope: "row", dir: "ltr" }, `/${r.shortcut}`),
      h("td", {}, h("bdi", {}, r.title)),
      h("td", {}, r.language),
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

  function edit(row) {
    const body = h("div", { class: "form-grid" },
      field(t("shortcut"), input("shortcut", row?.shortcut || "", { dir: "ltr", required: true }), t("shortcut_hint")),
      field(t("title"), input("title", row?.title || "", { required: true })),
      field(t("language"), select("language", [["en", "English"], ["ar", "العربية"]], row?.language || "en")),
      field(t("team"), select("team_id", [["", t("all_teams")], ...editableTeams.map((tm) => [tm.id, tm.name])], row?.team_id ?? "")),
      field(t("body"), h("textarea", { name: "body", rows: 6, dir: "auto", required: true })));
    body.querySelector("textarea").value = row?.body || "";
    return modal({
      title: row ? t("edit_canned", { shortcut: row.shortcut }) : t("new_canned"), body, wide: true, id: "canned-dialog",
      submitLabel: row ? t("save") : t("create"),
      onSubmit: async (form) => {
        const data = {
          shortcut: form.elements.shortcut.value.trim().replace(/^\//, ""),
          title: form.elements.title.value.trim(),
          language: form.elements.language.value,
          team_id: form.elements.team_id.value ? Number(form.elements.team_id.value) : null,
          body: form.elements.body.value,
        };
        if (row) await api(`/canned-responses/${row.id}`, { method: "PATCH", body: data });
        else await api("/canned-responses", { method: "POST", body: data });
      },
    });
  }

  search.addEventListener("input", debounce(load, 200));
  mount(root,
    h("div", { class: "section-head" },
      h("h2", {}, t("adm_canned")),
      search,
      h("button", { type: "button", class: "primary", id: "new-canned", on: { click: async () => { if (await edit(null)) load(); } } }, t("new_canned"))),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "canned-table" },
      h("thead", {}, h("tr", {}, ["shortcut", "title", "language", "team", "body", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      tbody)));
  await load();
}
