// Complaints and surveys settings (admins): the complaint options — categories with
// their sub-categories, severities with their targets in business hours, warning
// point, escalation team and colour, root causes — and the surveys: each question
// set's texts in English and Arabic, and when to ask, per team and channel. The hub's
// refusals show next to the field they name, in the page's language.
import { api } from "../api.js";
import { field, modal } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { channelName, number } from "../format.js";
import { getLang, t } from "../i18n.js";
import { loadOptions, severityBadge, surveyKindLabel } from "../care/common.js";
import { checkbox, input, select } from "./forms.js";

const SURVEY_KINDS = ["csat", "nps", "ces"];
const POLICY_CHANNELS = ["sms", "whatsapp", "telegram", "email", "webchat", "loopback", "voice"];
const ACTIONS = ["notify", "follow_up", "complaint"];
const DEFAULT_SURVEY = "csat";

function label(row) {
  return getLang() === "ar" ? row.label_ar : row.label_en;
}

/** A refusal found before asking the hub, shaped like the hub's own. */
class FormProblems extends Error {
  constructor(fields) {
    super("validation_error");
    this.code = "validation_error";
    this.fields = fields;
  }
}

/** Read number inputs by name; blank is null where allowed; wrong ones are collected. */
function numbers(form, specs) {
  const out = {};
  const problems = [];
  for (const [name, { min, max, integer = true, optional = false }] of Object.entries(specs)) {
    const raw = form.elements.namedItem(name).value.trim();
    if (raw === "" && optional) {
      out[name] = null;
      continue;
    }
    const n = Number(raw);
    if (raw === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
      problems.push({ field: name, code: "bad_number" });
      continue;
    }
    out[name] = n;
  }
  return { values: out, problems };
}

function rangeHint(min, max) {
  return t("adm_range", { min: number(min), max: number(max) });
}

// --- complaint options ----------------------------------------------------------------

export async function complaintOptionsSection(root) {
  const teams = (await api("/teams")).items;
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  const rows = await api("/complaint-options");
  const reload = async () => {
    await loadOptions({ force: true });
    await complaintOptionsSection(root);
  };
  const of = (kind) => rows.filter((o) => o.kind === kind).sort((a, b) => a.position - b.position || a.key.localeCompare(b.key));
  const editButton = (o) => h("button", {
    type: "button", class: "secondary small", "data-edit": `${o.kind}:${o.key}`,
    on: { click: async () => { if (await editOption(o.kind, o, rows, teams)) reload(); } },
  }, t("edit"));
  const newButton = (kind) => h("button", {
    type: "button", class: "primary small", id: `new-${kind}`,
    on: { click: async () => { if (await editOption(kind, null, rows, teams)) reload(); } },
  }, t(`opt_new_${kind}`));
  const active = (o) => (o.active ? t("yes") : t("no"));

  const top = of("category").filter((o) => !o.parent);
  const categoryRows = top.flatMap((c) => [c, ...of("category").filter((o) => o.parent === c.key)]);
  const orphans = of("category").filter((o) => o.parent && !top.some((c) => c.key === o.parent));
  const categories = [...categoryRows, ...orphans].map((o) => h("tr", { "data-option": `category:${o.key}`, class: [o.active ? null : "inactive", o.parent && "sub-option"] },
    h("th", { scope: "row" }, o.parent ? h("span", { class: "muted", "aria-hidden": "true" }, "↳ ") : null, h("bdi", {}, label(o))),
    h("td", { dir: "ltr" }, o.key),
    h("td", {}, o.parent ? h("bdi", {}, label(rows.find((p) => p.kind === "category" && p.key === o.parent) || { label_en: o.parent, label_ar: o.parent })) : "—"),
    h("td", {}, String(o.position)),
    h("td", {}, active(o)),
    h("td", { class: "actions" }, editButton(o))));
  const severities = of("severity").map((o) => h("tr", { "data-option": `severity:${o.key}`, class: o.active ? null : "inactive" },
    h("th", { scope: "row" }, severityBadge(o.key)),
    h("td", { dir: "ltr" }, o.key),
    h("td", {}, o.response_hours === null ? "—" : t("opt_hours", { n: number(o.response_hours) })),
    h("td", {}, o.resolution_hours === null ? "—" : t("opt_hours", { n: number(o.resolution_hours) })),
    h("td", {}, o.warn_ratio === null ? "—" : `${Math.round(o.warn_ratio * 100)}%`),
    h("td", {}, o.escalate_team_id ? h("bdi", {}, teamName.get(o.escalate_team_id) || `#${o.escalate_team_id}`) : t("opt_owner_team")),
    h("td", {}, active(o)),
    h("td", { class: "actions" }, editButton(o))));
  const causes = of("root_cause").map((o) => h("tr", { "data-option": `root_cause:${o.key}`, class: o.active ? null : "inactive" },
    h("th", { scope: "row" }, h("bdi", {}, label(o))),
    h("td", { dir: "ltr" }, o.key),
    h("td", {}, String(o.position)),
    h("td", {}, active(o)),
    h("td", { class: "actions" }, editButton(o))));
  const table = (id, heads, body) => h("div", { class: "table-wrap" }, h("table", { class: "grid", id },
    h("thead", {}, h("tr", {}, heads.map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
    h("tbody", {}, body.length ? body : h("tr", {}, h("td", { colspan: heads.length, class: "muted" }, t("none"))))));
  mount(root,
    h("div", { class: "section-head" }, h("h2", {}, t("adm_complaints"))),
    h("p", { class: "muted" }, t("opt_intro")),
    h("div", { class: "section-head" }, h("h3", {}, t("opt_categories")), newButton("category")),
    table("category-options", ["fld_label", "fld_key", "opt_parent", "opt_position", "active", ""], categories),
    h("div", { class: "section-head" }, h("h3", {}, t("opt_severities")), newButton("severity")),
    h("p", { class: "muted small" }, t("opt_severity_intro")),
    table("severity-options", ["fld_label", "fld_key", "opt_response_hours", "opt_resolution_hours", "opt_warn", "opt_escalate", "active", ""], severities),
    h("div", { class: "section-head" }, h("h3", {}, t("opt_root_causes")), newButton("root_cause")),
    table("root_cause-options", ["fld_label", "fld_key", "opt_position", "active", ""], causes));
}

function editOption(kind, row, rows, teams) {
  const isSeverity = kind === "severity";
  const parents = rows.filter((o) => o.kind === "category" && !o.parent && o.key !== row?.key);
  const color = h("input", { type: "color", name: "color", value: row?.color || "#6b7280" });
  const body = h("div", { class: "form-grid" },
    field(t("fld_key"), input("key", row?.key || "", { dir: "ltr", required: true, disabled: Boolean(row), maxlength: 40 }), t("opt_key_hint")),
    field(t("fld_label_en"), input("label_en", row?.label_en || "", { required: true, maxlength: 120 })),
    field(t("fld_label_ar"), input("label_ar", row?.label_ar || "", { required: true, maxlength: 120, dir: "rtl" })),
    kind === "category"
      ? field(t("opt_parent"), select("parent", [["", t("opt_top_level")], ...parents.map((o) => [o.key, label(o)])], row?.parent ?? ""))
      : null,
    isSeverity ? field(t("opt_response_hours"), h("input", { type: "number", name: "response_hours", min: 0, max: 8760, step: "any", value: row?.response_hours ?? "" }), t("opt_hours_hint")) : null,
    isSeverity ? field(t("opt_resolution_hours"), h("input", { type: "number", name: "resolution_hours", min: 0, max: 8760, step: "any", value: row?.resolution_hours ?? "" }), t("opt_hours_hint")) : null,
    isSeverity ? field(t("opt_warn"), h("input", { type: "number", name: "warn_ratio", min: 0, max: 1, step: "0.05", value: row?.warn_ratio ?? "" }), t("opt_warn_hint")) : null,
    isSeverity ? field(t("opt_escalate"), select("escalate_team_id", [["", t("opt_owner_team")], ...teams.map((tm) => [tm.id, tm.name])], row?.escalate_team_id ?? "")) : null,
    isSeverity ? field(t("tier_color"), color) : null,
    field(t("opt_position"), h("input", { type: "number", name: "position", min: 0, max: 10000, step: 1, value: row?.position ?? 0 })),
    checkbox("active", row ? row.active : true, t("active")));
  return modal({
    title: row ? t("opt_edit", { name: label(row) }) : t(`opt_new_${kind}`), body, wide: true, id: "option-dialog",
    submitLabel: row ? t("save") : t("create"),
    onSubmit: async (form) => {
      const key = row ? row.key : form.elements.key.value.trim();
      const specs = { position: { min: 0, max: 10000 } };
      if (isSeverity) {
        Object.assign(specs, {
          response_hours: { min: 0, max: 8760, integer: false },
          resolution_hours: { min: 0, max: 8760, integer: false },
          warn_ratio: { min: 0, max: 1, integer: false, optional: true },
        });
      }
      const { values, problems } = numbers(form, specs);
      if (!key) problems.push({ field: "key", code: "required" });
      if (problems.length) throw new FormProblems(problems);
      const data = {
        label_en: form.elements.label_en.value.trim(),
        label_ar: form.elements.label_ar.value.trim(),
        position: values.position,
        active: form.elements.active.checked,
      };
      if (kind === "category") data.parent = form.elements.parent.value || null;
      if (isSeverity) {
        Object.assign(data, {
          response_hours: values.response_hours,
          resolution_hours: values.resolution_hours,
          warn_ratio: values.warn_ratio,
          escalate_team_id: form.elements.escalate_team_id.value ? Number(form.elements.escalate_team_id.value) : null,
          color: form.elements.color.value,
        });
      } else if (row?.color) {
        data.color = row.color;
      }
      await api(`/complaint-options/${kind}/${encodeURIComponent(key)}`, { method: "PUT", body: data });
    },
  });
}

// --- surveys --------------------------------------------------------------------------

export async function surveysSection(root) {
  const [definitions, policies, teams] = await Promise.all([
    api("/survey-definitions"), api("/survey-policies"), api("/teams").then((page) => page.items),
  ]);
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  const reload = () => surveysSection(root);
  const defRows = definitions.map((d) => h("tr", { "data-survey-key": d.key, class: d.active ? null : "inactive" },
    h("th", { scope: "row", dir: "ltr" }, d.key),
    h("td", {}, surveyKindLabel(d.kind)),
    h("td", {}, String(d.version)),
    h("td", {}, d.active ? t("yes") : t("no")),
    h("td", { class: "preview", dir: "auto" }, d.texts?.[getLang()]?.question || d.texts?.en?.question || "—"),
    h("td", { class: "actions" }, h("button", {
      type: "button", class: "secondary small", "data-edit": d.key,
      on: { click: async () => { if (await editDefinition(d)) reload(); } },
    }, t("edit")))));
  const scope = (p) => [p.team_id ? teamName.get(p.team_id) || `#${p.team_id}` : t("all_teams"), p.channel ? channelName(p.channel) : t("svp_all_channels")];
  const polRows = policies.map((p) => {
    const [team, channel] = scope(p);
    return h("tr", { "data-policy-id": p.id, class: p.enabled ? null : "inactive" },
      h("th", { scope: "row" }, h("bdi", {}, team)),
      h("td", {}, channel),
      h("td", {}, p.enabled ? t("yes") : t("no")),
      h("td", { dir: "ltr" }, p.survey_key),
      h("td", {}, t("dur_s", { n: number(p.delay_seconds) })),
      h("td", {}, number(p.min_days_between)),
      h("td", {}, t("opt_hours", { n: number(p.expiry_hours) })),
      h("td", { dir: "ltr" }, p.quiet_start && p.quiet_end ? `${p.quiet_start}–${p.quiet_end}` : "—"),
      h("td", {}, p.ask_comment ? t("yes") : t("no")),
      h("td", {}, number(p.low_score_threshold)),
      h("td", {}, t(`svp_action_${p.low_score_action}`)),
      h("td", { class: "actions" }, h("button", {
        type: "button", class: "secondary small", "data-edit-policy": p.id,
        on: { click: async () => { if (await editPolicy(p, definitions, teams)) reload(); } },
      }, t("edit"))));
  });
  mount(root,
    h("div", { class: "section-head" }, h("h2", {}, t("adm_surveys"))),
    h("p", { class: "muted" }, t("svd_intro")),
    h("div", { class: "section-head" }, h("h3", {}, t("svd_title")),
      h("button", { type: "button", class: "primary small", id: "new-survey", on: { click: async () => { if (await editDefinition(null)) reload(); } } }, t("svd_new"))),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "survey-definitions" },
      h("thead", {}, h("tr", {}, ["fld_key", "svd_kind", "svd_version", "active", "svd_question", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      h("tbody", {}, defRows))),
    h("div", { class: "section-head" }, h("h3", {}, t("svp_title")),
      h("button", { type: "button", class: "primary small", id: "new-policy", on: { click: async () => { if (await editPolicy(null, definitions, teams)) reload(); } } }, t("svp_new"))),
    h("p", { class: "muted small" }, t("svp_intro")),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "survey-policies" },
      h("thead", {}, h("tr", {}, ["team", "channel", "svp_enabled", "svp_survey", "svp_delay", "svp_min_days", "svp_expiry", "svp_quiet", "svp_ask_comment", "svp_threshold", "svp_action", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      h("tbody", {}, polRows.length ? polRows : h("tr", {}, h("td", { colspan: 12, class: "muted" }, t("none")))))));
}

function editDefinition(row) {
  const texts = (lang) => {
    const entry = row?.texts?.[lang] || {};
    const area = (part, rows) => {
      const el = h("textarea", { name: `texts.${lang}.${part}`, rows, dir: lang === "ar" ? "rtl" : "ltr", maxlength: 1000 });
      el.value = entry[part] || "";
      return el;
    };
    return h("fieldset", { class: "form-grid survey-texts", lang },
      h("legend", {}, t(`svd_texts_${lang}`)),
      field(t("svd_question"), area("question", 3)),
      field(t("svd_comment_q"), area("comment", 2)),
      field(t("svd_thanks"), area("thanks", 2)));
  };
  const body = h("div", { class: "form-grid" },
    field(t("fld_key"), input("key", row?.key || "", { dir: "ltr", required: true, disabled: Boolean(row), maxlength: 40 }), t("opt_key_hint")),
    field(t("svd_kind"), select("kind", SURVEY_KINDS.map((k) => [k, surveyKindLabel(k)]), row?.kind || "csat")),
    checkbox("active", row ? row.active : true, t("active")),
    texts("en"),
    texts("ar"),
    row ? h("p", { class: "muted small" }, t("svd_version_hint", { n: row.version })) : null);
  return modal({
    title: row ? t("svd_edit", { key: row.key }) : t("svd_new"), body, wide: true, id: "survey-dialog",
    submitLabel: row ? t("save") : t("create"),
    onSubmit: async (form) => {
      const key = row ? row.key : form.elements.key.value.trim();
      if (!key) throw new FormProblems([{ field: "key", code: "required" }]);
      const read = (lang) => Object.fromEntries(["question", "comment", "thanks"].map((part) => [part, form.elements.namedItem(`texts.${lang}.${part}`).value]));
      await api(`/survey-definitions/${encodeURIComponent(key)}`, {
        method: "PUT",
        body: { kind: form.elements.kind.value, texts: { en: read("en"), ar: read("ar") }, active: form.elements.active.checked },
      });
    },
  });
}

function editPolicy(row, definitions, teams) {
  const p = row || {
    team_id: null, channel: null, enabled: true, survey_key: DEFAULT_SURVEY, delay_seconds: 60, min_days_between: 7,
    expiry_hours: 72, quiet_start: null, quiet_end: null, ask_comment: true, low_score_threshold: 2, low_score_action: "notify",
  };
  const num = (name, min, max) => field(t(`svp_${name}`), h("input", { type: "number", name, min, max, step: 1, value: p[name] }), rangeHint(min, max));
  const body = h("div", { class: "form-grid" },
    field(t("team"), select("team_id", [["", t("all_teams")], ...teams.map((tm) => [tm.id, tm.name])], p.team_id ?? "", { disabled: Boolean(row) })),
    field(t("channel"), select("channel", [["", t("svp_all_channels")], ...POLICY_CHANNELS.map((ch) => [ch, channelName(ch)])], p.channel ?? "", { disabled: Boolean(row) })),
    checkbox("enabled", p.enabled, t("svp_enabled")),
    field(t("svp_survey"), select("survey_key", definitions.map((d) => [d.key, `${d.key} · ${surveyKindLabel(d.kind)}`]), p.survey_key)),
    num("delay_seconds", 0, 604800),
    num("min_days_between", 0, 365),
    num("expiry_hours", 1, 720),
    field(t("svp_quiet_start"), h("input", { type: "time", name: "quiet_start", value: p.quiet_start || "" }), t("svp_quiet_hint")),
    field(t("svp_quiet_end"), h("input", { type: "time", name: "quiet_end", value: p.quiet_end || "" })),
    checkbox("ask_comment", p.ask_comment, t("svp_ask_comment")),
    num("low_score_threshold", 0, 10),
    field(t("svp_action"), select("low_score_action", ACTIONS.map((a) => [a, t(`svp_action_${a}`)]), p.low_score_action)));
  return modal({
    title: row ? t("svp_edit") : t("svp_new"), body, wide: true, id: "policy-dialog",
    submitLabel: row ? t("save") : t("create"),
    onSubmit: async (form) => {
      const { values, problems } = numbers(form, {
        delay_seconds: { min: 0, max: 604800 },
        min_days_between: { min: 0, max: 365 },
        expiry_hours: { min: 1, max: 720 },
        low_score_threshold: { min: 0, max: 10 },
      });
      if (problems.length) throw new FormProblems(problems);
      const el = form.elements;
      await api("/survey-policies", {
        method: "PUT",
        body: {
          team_id: el.team_id.value ? Number(el.team_id.value) : null,
          channel: el.channel.value || null,
          enabled: el.enabled.checked,
          survey_key: el.survey_key.value,
          ...values,
          quiet_start: el.quiet_start.value || null,
          quiet_end: el.quiet_end.value || null,
          ask_comment: el.ask_comment.checked,
          low_score_action: el.low_score_action.value,
        },
      });
    },
  });
}
