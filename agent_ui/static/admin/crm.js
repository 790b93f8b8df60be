// Customer memory settings (admins): custom contact fields, recognition tiers and
// the CSV import (dry run with a report, then the import, each with a progress bar).
import { api } from "../api.js";
import { confirmDialog, errorText, field, modal, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { number } from "../format.js";
import { getLang, t } from "../i18n.js";
import { loadTiers, tierBadges } from "../crm/badges.js";
import { checkbox, input, select } from "./forms.js";

const TYPES = ["text", "number", "date", "boolean", "choice", "multi_choice"];

function label(row) {
  return getLang() === "ar" ? row.label_ar : row.label_en;
}

// --- custom fields ------------------------------------------------------------------

export async function fieldsSection(root) {
  const tbody = h("tbody");

  async function load() {
    const rows = await api("/contact-fields");
    mount(tbody, rows.length ? rows.map((f) => h("tr", { "data-field": f.key },
      h("th", { scope: "row", dir: "ltr" }, f.key),
      h("td", {}, h("bdi", {}, label(f))),
      h("td", {}, t(`ftype_${f.type}`)),
      h("td", {}, f.required ? t("yes") : t("no")),
      h("td", {}, f.show_in_panel ? t("yes") : t("no")),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary small", on: { click: async () => { if (await edit(f)) load(); } } }, t("edit")), " ",
        h("button", {
          type: "button", class: "danger small",
          on: {
            click: async () => {
              if (!(await confirmDialog(t("fld_delete_title"), t("fld_delete", { key: f.key }), { submitLabel: t("delete"), danger: true }))) return;
              try {
                await api(`/contact-fields/${encodeURIComponent(f.key)}`, { method: "DELETE" });
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
    const options = h("textarea", { name: "options", rows: 4, dir: "auto" });
    options.value = (row?.options || []).join("\n");
    const body = h("div", { class: "form-grid" },
      field(t("fld_key"), input("key", row?.key || "", { dir: "ltr", required: true, disabled: Boolean(row), maxlength: 64 }), t("fld_key_hint")),
      field(t("fld_label_en"), input("label_en", row?.label_en || "", { required: true, maxlength: 120 })),
      field(t("fld_label_ar"), input("label_ar", row?.label_ar || "", { required: true, maxlength: 120, dir: "rtl" })),
      field(t("fld_type"), select("type", TYPES.map((x) => [x, t(`ftype_${x}`)]), row?.type || "text", { disabled: Boolean(row) })),
      field(t("fld_options"), options, t("fld_options_hint")),
      checkbox("required", row?.required, t("fld_required")),
      checkbox("show_in_panel", row ? row.show_in_panel : true, t("fld_panel")));
    return modal({
      title: row ? t("fld_edit", { key: row.key }) : t("fld_new"), body, wide: true, id: "field-dialog",
      submitLabel: row ? t("save") : t("create"),
      onSubmit: async (form) => {
        const data = {
          label_en: form.elements.label_en.value.trim(),
          label_ar: form.elements.label_ar.value.trim(),
          options: form.elements.options.value.split("\n").map((s) => s.trim()).filter(Boolean),
          required: form.elements.required.checked,
          show_in_panel: form.elements.show_in_panel.checked,
        };
        if (row) {
          await api(`/contact-fields/${encodeURIComponent(row.key)}`, { method: "PATCH", body: data });
        } else {
          await api("/contact-fields", {
            method: "POST", body: { ...data, key: form.elements.key.value.trim(), type: form.elements.type.value },
          });
        }
      },
    });
  }

  mount(root,
    h("div", { class: "section-head" },
      h("h2", {}, t("adm_fields")),
      h("button", { type: "button", class: "primary", id: "new-field", on: { click: async () => { if (await edit(null)) load(); } } }, t("fld_new"))),
    h("p", { class: "muted" }, t("fld_intro")),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "fields-table" },
      h("thead", {}, h("tr", {}, ["fld_key", "fld_label", "fld_type", "fld_required", "fld_panel", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      tbody)));
  await load();
}

// --- tiers ------------------------------------------------------------------------------

export async function tiersSection(root) {
  const tbody = h("tbody");
  const teams = (await api("/teams")).items;

  async function load() {
    await loadTiers({ force: true });
    const rows = await api("/tiers");
    mount(tbody, rows.map((tier) => h("tr", { "data-tier-key": tier.key, class: tier.active ? null : "inactive" },
      h("th", { scope: "row" }, tierBadges([tier.key]) || h("bdi", {}, label(tier))),
      h("td", { dir: "ltr", class: "rule" }, h("code", {}, JSON.stringify(tier.rule))),
      h("td", {}, String(tier.routing.boost ?? 0)),
      h("td", {}, tier.routing.sticky_wait ? t("dur_s", { n: tier.routing.sticky_wait }) : "—"),
      h("td", {}, tier.active ? t("yes") : t("no")),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary small", on: { click: async () => { if (await edit(tier)) load(); } } }, t("edit")), " ",
        h("button", {
          type: "button", class: "danger small",
          on: {
            click: async () => {
              if (!(await confirmDialog(t("tier_delete_title"), t("tier_delete", { name: label(tier) }), { submitLabel: t("delete"), danger: true }))) return;
              try {
                await api(`/tiers/${encodeURIComponent(tier.key)}`, { method: "DELETE" });
                load();
              } catch (err) {
                toast(errorText(err), { kind: "error" });
              }
            },
          },
        }, t("delete"))))));
  }

  function edit(row) {
    const rule = h("textarea", { name: "rule", rows: 5, dir: "ltr", class: "code" });
    rule.value = JSON.stringify(row?.rule || { all: [{ field: "conversations_90d", op: ">=", value: 3 }] }, null, 1);
    const perTeam = h("textarea", { name: "teams", rows: 2, dir: "ltr", class: "code" });
    perTeam.value = JSON.stringify(row?.routing?.teams || {});
    const body = h("div", { class: "form-grid" },
      field(t("fld_key"), input("key", row?.key || "", { dir: "ltr", required: true, disabled: Boolean(row), maxlength: 40 })),
      field(t("fld_label_en"), input("label_en", row?.label_en || "", { required: true, maxlength: 60 })),
      field(t("fld_label_ar"), input("label_ar", row?.label_ar || "", { required: true, maxlength: 60, dir: "rtl" })),
      field(t("tier_color"), h("input", { type: "color", name: "color", value: row?.color || "#1d4ed8" })),
      field(t("tier_rule"), rule, t("tier_rule_hint")),
      field(t("tier_boost"), h("input", { type: "number", name: "boost", min: -100, max: 100, step: 1, value: row?.routing?.boost ?? 0 })),
      field(t("tier_teams"), perTeam, t("tier_teams_hint", { teams: teams.map((tm) => `${tm.id}: ${tm.name}`).join(", ") })),
      field(t("tier_sticky"), h("input", { type: "number", name: "sticky_wait", min: 0, max: 3600, step: 1, value: row?.routing?.sticky_wait ?? "" })),
      checkbox("active", row ? row.active : true, t("tier_active")));
    return modal({
      title: row ? t("tier_edit", { name: label(row) }) : t("tier_new"), body, wide: true, id: "tier-dialog",
      submitLabel: row ? t("save") : t("create"),
      onSubmit: async (form) => {
        const parsed = {};
        for (const name of ["rule", "teams"]) {
          try {
            parsed[name] = JSON.parse(form.elements[name].value || "{}");
          } catch {
            const err = new Error("bad json");
            err.code = "validation_error";
            err.fields = [{ field: `body.${name}`, code: "invalid_json", message: t("err_invalid_json") }];
            throw err;
          }
        }
        const routing = { boost: Number(form.elements.boost.value || 0) };
        if (Object.keys(parsed.teams).length) routing.teams = parsed.teams;
        if (form.elements.sticky_wait.value !== "") routing.sticky_wait = Number(form.elements.sticky_wait.value);
        const data = {
          label_en: form.elements.label_en.value.trim(),
          label_ar: form.elements.label_ar.value.trim(),
          color: form.elements.color.value,
          rule: parsed.rule,
          routing,
          active: form.elements.active.checked,
        };
        if (row) await api(`/tiers/${encodeURIComponent(row.key)}`, { method: "PATCH", body: data });
        else await api("/tiers", { method: "POST", body: { ...data, key: form.elements.key.value.trim() } });
      },
    });
  }

  mount(root,
    h("div", { class: "section-head" },
      h("h2", {}, t("adm_tiers")),
      h("button", { type: "button", class: "primary", id: "new-tier", on: { click: async () => { if (await edit(null)) load(); } } }, t("tier_new"))),
    h("p", { class: "muted" }, t("tier_intro")),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "tiers-table" },
      h("thead", {}, h("tr", {}, ["tier", "tier_rule", "tier_boost", "tier_sticky", "tier_active", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      tbody)));
  await load();
}

// --- import -----------------------------------------------------------------------------

export async function importSection(root) {
  const file = h("input", { type: "file", id: "import-file", name: "file", accept: ".csv,text/csv" });
  const progress = h("progress", { id: "import-progress", max: 1, value: 0, hidden: true });
  const status = h("p", { id: "import-status", role: "status", "aria-live": "polite" });
  const report = h("div", { id: "import-report" });
  const check = h("button", { type: "button", class: "primary", id: "import-check", on: { click: () => start() } }, t("imp_check"));

  async function follow(job) {
    progress.hidden = false;
    while (job.status === "queued" || job.status === "running") {
      progress.value = job.progress;
      status.textContent = t("imp_running", { pct: Math.round(job.progress * 100) });
      await new Promise((resolve) => { setTimeout(resolve, 400); });
      job = await api(`/contacts/imports/${job.id}`);
    }
    progress.value = 1;
    return job;
  }

  function renderReport(job) {
    const counts = [["imp_rows", job.rows], ["imp_created", job.created], ["imp_matched", job.matched], ["imp_updated", job.updated], ["imp_skipped", job.skipped]];
    const run = job.dry_run && job.status === "done"
      ? h("button", {
        type: "button", class: "primary", id: "import-run",
        on: {
          click: async (e) => {
            e.target.disabled = true;
            try {
              const real = await follow(await api(`/contacts/imports/${job.id}/run`, { method: "POST" }));
              status.textContent = t(real.status === "done" ? "imp_done" : "imp_failed");
              renderReport(real);
            } catch (err) {
              status.textContent = errorText(err);
            }
          },
        },
      }, t("imp_run", { n: number(job.created + job.updated) }))
      : null;
    mount(report,
      h("h3", {}, t(job.dry_run ? "imp_report_dry" : "imp_report")),
      h("dl", { class: "import-counts" }, counts.flatMap(([k, n]) => [h("dt", {}, t(k)), h("dd", { "data-count": k }, number(n))])),
      job.errors.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "import-errors" },
          h("thead", {}, h("tr", {}, ["imp_row", "imp_field", "imp_problem"].map((k) => h("th", { scope: "col" }, t(k))))),
          h("tbody", {}, job.errors.map((e) => h("tr", {},
            h("td", {}, String(e.row)),
            h("td", {}, h("bdi", {}, e.field)),
            h("td", {}, errorText({ code: e.code, message: e.message })))))))
        : null,
      run);
  }

  async function start() {
    const chosen = file.files[0];
    if (!chosen) {
      status.textContent = t("imp_pick");
      return;
    }
    check.disabled = true;
    mount(report);
    try {
      const res = await fetch(`/api/v1/contacts/imports?filename=${encodeURIComponent(chosen.name.slice(0, 200))}`, {
        method: "POST",
        headers: { "content-type": "text/csv", "x-csrf-token": sessionStorage.getItem("sb_csrf") || "" },
        body: chosen,
        credentials: "same-origin",
      });
      const data = await res.json();
      if (!res.ok) throw Object.assign(new Error(data.error?.message || "error"), data.error || {});
      const job = await follow(data);
      status.textContent = t(job.status === "done" ? "imp_checked" : "imp_failed");
      renderReport(job);
    } catch (err) {
      status.textContent = errorText(err);
    } finally {
      check.disabled = false;
    }
  }

  mount(root,
    h("div", { class: "section-head" }, h("h2", {}, t("adm_import"))),
    h("p", { class: "muted" }, t("imp_intro")),
    h("div", { class: "import-form" },
      h("label", { for: "import-file" }, t("imp_file")), file, check),
    progress, status, report);
}
