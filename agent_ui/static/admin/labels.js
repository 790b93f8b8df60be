// Conversation labels (admins): the list agents pick from in the thread. Create,
// rename in English and Arabic, recolour, reorder (up and down), deactivate, delete.
import { api } from "../api.js";
import { confirmDialog, errorText, field, modal, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { getLang, t } from "../i18n.js";
import { checkbox, input } from "./forms.js";

const COLOR = /^#[0-9a-f]{6}$/i;

function nameOf(l) {
  return (getLang() === "ar" ? l.name_ar : l.name_en) || l.name_en || l.key;
}

function chip(l) {
  const el = h("span", { class: "label-chip", title: nameOf(l) }, h("bdi", { class: "label-name", dir: "auto" }, nameOf(l)));
  if (COLOR.test(l.color)) el.style.setProperty("--label", l.color);
  return el;
}

export async function labelsSection(root) {
  const tbody = h("tbody");
  let rows = [];

  async function load(focus = null) {
    rows = (await api("/labels")).items;
    mount(tbody, rows.length ? rows.map((l, i) => h("tr", { "data-label": l.key, class: l.active ? null : "inactive" },
      h("th", { scope: "row" }, chip(l), l.active ? null : h("span", { class: "muted" }, ` · ${t("lbl_inactive")}`)),
      h("td", {}, h("code", { dir: "ltr" }, l.key)),
      h("td", {}, h("bdi", { dir: "auto" }, l.name_en)),
      h("td", {}, h("bdi", { dir: "auto" }, l.name_ar)),
      h("td", { class: "actions" },
        h("button", {
          type: "button", class: "secondary small", "data-up": l.key, disabled: i === 0,
          "aria-label": t("lbl_up", { name: nameOf(l) }), title: t("lbl_up", { name: nameOf(l) }),
          on: { click: () => move(i, -1) },
        }, "↑"),
        h("button", {
          type: "button", class: "secondary small", "data-down": l.key, disabled: i === rows.length - 1,
          "aria-label": t("lbl_down", { name: nameOf(l) }), title: t("lbl_down", { name: nameOf(l) }),
          on: { click: () => move(i, 1) },
        }, "↓")),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary small", "data-edit": l.key, on: { click: async () => { if (await edit(l)) load(); } } }, t("edit")),
        h("button", {
          type: "button", class: "secondary small", "data-toggle": l.key,
          on: { click: () => patch(l, { active: !l.active }, `[data-toggle="${CSS.escape(l.key)}"]`) },
        }, l.active ? t("lbl_deactivate") : t("lbl_activate")),
        h("button", { type: "button", class: "danger small", "data-delete": l.key, on: { click: () => remove(l) } }, t("delete")))))
      : h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("lbl_none"))));
    if (focus) tbody.querySelector(focus)?.focus();
  }

  async function patch(l, body, focus) {
    try {
      await api(`/labels/${encodeURIComponent(l.key)}`, { method: "PATCH", body });
      await load(focus);
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  /** Swap with the neighbour; positions are renumbered 0..n so equal ones cannot stick. */
  async function move(i, delta) {
    const order = rows.map((l) => l.key);
    const j = i + delta;
    if (j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    try {
      for (const [position, key] of order.entries()) {
        if (rows.find((l) => l.key === key).position !== position) {
          await api(`/labels/${encodeURIComponent(key)}`, { method: "PATCH", body: { position } });
        }
      }
      await load();
      // Focus follows the moved label: the same arrow, or the other one at the top or bottom.
      const key = CSS.escape(order[j]);
      const same = tbody.querySelector(`[data-${delta < 0 ? "up" : "down"}="${key}"]`);
      (same && !same.disabled ? same : tbody.querySelector(`[data-${delta < 0 ? "down" : "up"}="${key}"]`))?.focus();
    } catch (err) {
      toast(errorText(err), { kind: "error" });
      load();
    }
  }

  async function remove(l) {
    if (!(await confirmDialog(t("lbl_delete_title"), t("lbl_delete", { name: nameOf(l) }), { submitLabel: t("delete"), danger: true }))) return;
    try {
      await api(`/labels/${encodeURIComponent(l.key)}`, { method: "DELETE" });
      load();
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  function edit(l) {
    const color = h("input", { type: "color", name: "color", value: l?.color || "#2563eb" });
    const preview = h("span", { class: "label-preview" });
    const body = h("div", { class: "form-grid" },
      l ? null : field(t("lbl_key"), input("key", "", { required: true, maxlength: 40, dir: "ltr", autocomplete: "off", spellcheck: "false" }), t("lbl_key_hint")),
      field(t("lbl_name_en"), input("name_en", l?.name_en || "", { required: true, maxlength: 60, dir: "ltr" })),
      field(t("lbl_name_ar"), input("name_ar", l?.name_ar || "", { required: true, maxlength: 60, dir: "rtl", lang: "ar" })),
      field(t("lbl_color"), color),
      l ? null : checkbox("active", true, t("lbl_active")),
      h("p", { class: "hint" }, t("lbl_preview"), " ", preview));
    const form = () => body.closest("form") || body;
    const showPreview = () => {
      const f = form();
      const name = (getLang() === "ar" ? f.querySelector("[name=name_ar]").value : f.querySelector("[name=name_en]").value) || l?.key || "…";
      mount(preview, chip({ key: l?.key || "", name_en: name, name_ar: name, color: color.value }));
    };
    body.addEventListener("input", showPreview);
    showPreview();
    return modal({
      title: l ? t("lbl_edit", { name: nameOf(l) }) : t("lbl_new"), body, id: "label-dialog",
      submitLabel: l ? t("save") : t("create"),
      onSubmit: async (f) => {
        const data = {
          name_en: f.elements.name_en.value.trim(),
          name_ar: f.elements.name_ar.value.trim(),
          color: f.elements.color.value,
        };
        if (l) {
          await api(`/labels/${encodeURIComponent(l.key)}`, { method: "PATCH", body: data });
        } else {
          await api("/labels", { method: "POST", body: { key: f.elements.key.value.trim(), ...data, active: f.elements.active.checked } });
        }
      },
    });
  }

  mount(root,
    h("div", { class: "section-head" },
      h("h2", {}, t("adm_labels")),
      h("button", { type: "button", class: "primary", id: "new-label", on: { click: async () => { if (await edit(null)) load(); } } }, t("lbl_new"))),
    h("p", { class: "muted" }, t("lbl_intro")),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "labels-table" },
      h("thead", {}, h("tr", {}, ["lbl_labels", "lbl_key", "lbl_name_en", "lbl_name_ar", "lbl_order", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      tbody)));
  await load();
}
