// Automation rules (admins) and shared macros (supervisors, admins): the list in order
// (move up and down), an editor for the trigger, conditions and actions with pickers
// for teams, labels, people and canned answers, the dry run and a rule's firings.
// The action editor is shared with the console's personal macros (console/macros.js).
// Every field is named like the hub's field errors (conditions.2.values, actions.0.team_id)
// so a refused one is marked next to itself.
import { api } from "../api.js";
import { clearFormError, confirmDialog, errorText, field, modal, showFormError, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { hasString, t } from "../i18n.js";
import { CATEGORIES } from "../console/actions.js";
import { checkbox, input, parseList, select } from "./forms.js";

export const TRIGGERS = ["message_received", "conversation_created", "assigned", "resolved", "waiting", "survey_answered", "complaint_overdue", "tier_changed"];
const CONDITIONS = {
  channel: ["in", "not_in"], team: ["in", "not_in"], language: ["in", "not_in"], business_hours: ["open", "closed"],
  text: ["contains_any", "contains_none", "matches"], tier: ["in", "not_in"], segment: ["in", "not_in"],
  contact_field: ["eq", "neq", "set", "unset"], label: ["has_any", "has_all", "has_none"], priority: ["gte", "lte"],
  category: ["in", "not_in"],
};
export const RULE_ACTIONS = ["set_team", "set_priority", "set_category", "add_labels", "remove_labels", "assign", "canned_reply", "create_task", "open_complaint", "notify", "add_note", "resolve"];
export const MACRO_ACTIONS = ["add_labels", "remove_labels", "canned_reply", "add_note", "set_priority", "resolve", "assign_self"];

/** Teams, people, labels, canned answers and segments the pickers offer (what the caller may read). */
export async function loadDirectory({ users = true, segments = true } = {}) {
  const safe = (p) => p.then((page) => page.items || page).catch(() => []);
  const [teams, people, labels, canned, segs] = await Promise.all([
    safe(api("/teams")), users ? safe(api("/users", { query: { limit: 500 } })) : [], safe(api("/labels")),
    safe(api("/canned-responses", { query: { limit: 200 } })), segments ? safe(api("/segments")) : [],
  ]);
  return { teams, users: people, labels, canned, segments: segs };
}

const idOptions = (rows, label) => [["", t("ru_choose")], ...rows.map((r) => [r.id, label(r)])];

/** The rows of one list editor (conditions or actions): add, remove, re-render on change. */
function rowsEditor({ legend, addLabel, items, render, fresh, id }) {
  const list = h("ol", { class: "rule-rows" });
  const rows = [];
  const redraw = () => {
    mount(list, rows.map((row, i) => h("li", { class: "rule-row" },
      render(row, i, redraw),
      h("button", { type: "button", class: "secondary small", "aria-label": `${t("ru_remove")} ${i + 1}`, on: { click: () => { rows.splice(i, 1); redraw(); } } }, "×"))));
  };
  for (const item of items) rows.push({ ...item });
  redraw();
  const el = h("fieldset", { class: "rule-list", id }, h("legend", {}, legend), list,
    h("button", { type: "button", class: "secondary small", on: { click: () => { rows.push(fresh()); redraw(); list.lastElementChild?.querySelector("select")?.focus(); } } }, addLabel));
  return { el, value: () => rows.map((r) => ({ ...r })) };
}

function bind(row, key, el, parse = (v) => v) {
  el.addEventListener("change", () => { row[key] = parse(el.value); });
  el.addEventListener("input", () => { row[key] = parse(el.value); });
  return el;
}

const num = (v) => (v === "" ? null : Number(v));
const listOf = (v) => parseList(v.replace(/،/g, ","));

function conditionRow(dir) {
  return (row, i, redraw) => {
    const name = (k) => `conditions.${i}.${k}`;
    const fieldSel = select(name("field"), Object.keys(CONDITIONS).map((f) => [f, t(`ru_cf_${f}`)]), row.field, { "aria-label": t("ru_field") });
    fieldSel.addEventListener("change", () => { row.field = fieldSel.value; row.op = CONDITIONS[row.field][0]; row.values = []; delete row.value; redraw(); });
    const op = bind(row, "op", select(name("op"), CONDITIONS[row.field].map((o) => [o, t(`ru_op_${o}`)]), row.op, { "aria-label": t("ru_op") }));
    op.addEventListener("change", redraw);
    let value = null;
    if (row.field === "team" || row.field === "segment") {
      const rows = row.field === "team" ? dir.teams : dir.segments;
      value = h("select", { name: name("values"), multiple: true, "aria-label": t("ru_values"), size: Math.min(4, Math.max(2, rows.length)) },
        rows.map((r) => h("option", { value: r.id, selected: (row.values || []).includes(r.id) }, r.name)));
      value.addEventListener("change", () => { row.values = [...value.selectedOptions].map((o) => Number(o.value)); });
    } else if (row.field === "priority") {
      value = bind(row, "value", h("input", { type: "number", name: name("value"), min: -100, max: 100, value: row.value ?? 0, "aria-label": t("ru_value") }), Number);
      row.value ??= 0;
    } else if (row.field === "text" && row.op === "matches") {
      value = bind(row, "value", input(name("value"), row.value || "", { dir: "ltr", maxlength: 200, "aria-label": t("ru_pattern"), placeholder: t("ru_pattern") }));
    } else if (row.field === "contact_field") {
      const key = bind(row, "key", input(name("key"), row.key || "", { dir: "ltr", maxlength: 40, "aria-label": t("ru_key"), placeholder: t("ru_key") }));
      value = h("span", { class: "rule-pair" }, key, ["eq", "neq"].includes(row.op)
        ? bind(row, "value", input(name("value"), row.value || "", { maxlength: 100, "aria-label": t("ru_value"), placeholder: t("ru_value") }))
        : null);
    } else if (row.field !== "business_hours") {
      value = bind(row, "values", input(name("values"), (row.values || []).join(", "), { maxlength: 2000, "aria-label": t("ru_values"), placeholder: t("ru_values_hint") }), listOf);
    }
    return h("span", { class: "rule-fields" }, fieldSel, op, value);
  };
}

function actionRow(dir, kinds) {
  return (row, i, redraw) => {
    const name = (k) => `actions.${i}.${k}`;
    const type = select(name("type"), kinds.map((k) => [k, t(`ru_act_${k}`)]), row.type, { "aria-label": t("ru_type") });
    type.addEventListener("change", () => { for (const k of Object.keys(row)) delete row[k]; row.type = type.value; redraw(); });
    const pick = (key, rows, label, text) => bind(row, key, select(name(key), idOptions(rows, label), row[key], { "aria-label": text }), num);
    const parts = [];
    switch (row.type) {
      case "set_team": parts.push(pick("team_id", dir.teams, (r) => r.name, t("ru_team"))); break;
      case "set_priority":
        row.priority ??= 0;
        parts.push(bind(row, "priority", h("input", { type: "number", name: name("priority"), min: -100, max: 100, value: row.priority, "aria-label": t("ru_priority") }), Number));
        break;
      case "add_labels": case "remove_labels": {
        const el = h("select", { name: name("labels"), multiple: true, size: Math.min(4, Math.max(2, dir.labels.length)), "aria-label": t("ru_labels") },
          dir.labels.map((l) => h("option", { value: l.key, selected: (row.labels || []).includes(l.key) }, l.name_en === l.name_ar ? l.key : `${l.key} — ${l.name_en}`)));
        el.addEventListener("change", () => { row.labels = [...el.selectedOptions].map((o) => o.value); });
        parts.push(el);
        break;
      }
      case "assign": parts.push(pick("user_id", dir.users, (u) => u.name, t("ru_user"))); break;
      case "canned_reply": parts.push(pick("canned_id", dir.canned, (c) => c.title || c.shortcut, t("ru_canned"))); break;
      case "create_task":
        parts.push(bind(row, "title", input(name("title"), row.title || "", { maxlength: 200, "aria-label": t("ru_title"), placeholder: t("ru_title") })),
          pick("assignee_user_id", dir.users, (u) => u.name, t("ru_user")),
          pick("assignee_team_id", dir.teams, (r) => r.name, t("ru_team")),
          bind(row, "due_minutes", h("input", { type: "number", name: name("due_minutes"), min: 1, value: row.due_minutes ?? "", "aria-label": t("ru_due_minutes"), placeholder: t("ru_due_minutes") }), num),
          bind(row, "priority", select(name("priority"), ["low", "normal", "high", "urgent"].map((p) => [p, p]), row.priority || "normal", { "aria-label": t("ru_task_priority") })));
        break;
      case "notify":
        parts.push(pick("user_id", dir.users, (u) => u.name, t("ru_user")), pick("team_id", dir.teams, (r) => r.name, t("ru_team")),
          bind(row, "text", input(name("text"), row.text || "", { maxlength: 200, "aria-label": t("ru_text"), placeholder: t("ru_text") })));
        break;
      case "add_note":
        parts.push(bind(row, "body", h("textarea", { name: name("body"), rows: 2, maxlength: 2000, dir: "auto", "aria-label": t("ru_body") }, row.body || "")));
        break;
      case "set_category":
        row.category ??= CATEGORIES[0];
        parts.push(bind(row, "category", select(name("category"), CATEGORIES.map((c) => [c, t(`cat_${c}`)]), row.category, { "aria-label": t("ru_category") })));
        break;
      case "resolve":
        parts.push(bind(row, "category", select(name("category"), [["", t("cat_none")], ...CATEGORIES.map((c) => [c, t(`cat_${c}`)])], row.category || "", { "aria-label": t("ru_category") }), (v) => v || null));
        break;
      default: break;
    }
    return h("span", { class: "rule-fields" }, type, ...parts);
  };
}

/** The actions list editor (rules and macros). */
export function actionsEditor(dir, actions, kinds) {
  return rowsEditor({
    legend: t("ru_actions"), addLabel: t("ru_add_action"), items: actions, id: "rule-actions",
    render: actionRow(dir, kinds), fresh: () => ({ type: kinds[0] }),
  });
}

/** A human line for one action (the thread, the dry run, firings). */
export function actionText(a, { teamName = () => "?", userName = () => "?" } = {}) {
  const what = t(`ru_did_${a.type}`, {
    team: teamName(a.team_id), n: a.priority ?? "", category: a.category ? t(`cat_${a.category}`) : "", labels: (a.labels || []).join(", "), name: userName(a.user_id),
  });
  if (a.status !== "error") return what;
  return t("ru_failed", { what, error: hasString(`err_${a.error}`) ? t(`err_${a.error}`) : a.error });
}

function dryRunTable(out, names) {
  return h("div", { class: "table-wrap rule-dry" },
    h("p", { role: "status" }, t("ru_dry_summary", { matched: out.matched.length, n: out.looked_at })),
    out.matched.length ? h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, [t("ru_conversation"), t("ru_status"), t("ru_would_do")].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, out.matched.map((m) => h("tr", {},
        h("td", {}, h("a", { href: `/console#c=${m.conversation_id}` }, `#${m.conversation_id}`)),
        h("td", {}, m.status ? t(`status_${m.status}`) : ""),
        h("td", { dir: "auto" }, m.actions.length ? m.actions.map((a) => actionText(a, names)).join(" · ") : t("ru_no_change")))))) : null);
}

export async function rulesSection(root) {
  const dir = await loadDirectory();
  const names = {
    teamName: (id) => dir.teams.find((x) => x.id === id)?.name || "?",
    userName: (id) => dir.users.find((x) => x.id === id)?.name || "?",
  };
  const tbody = h("tbody");
  const panel = h("div", { id: "rule-panel", "aria-live": "polite" });
  let rules = [];

  async function load(focus = null) {
    rules = (await api("/rules")).items;
    mount(tbody, rules.length ? rules.map((r, i) => h("tr", { "data-rule": r.id, class: r.active ? null : "inactive" },
      h("th", { scope: "row" }, h("bdi", { dir: "auto" }, r.name), r.active ? null : h("span", { class: "muted" }, ` · ${t("ru_inactive")}`)),
      h("td", {}, t(`ru_tr_${r.trigger}`), r.trigger === "waiting" ? ` ${r.trigger_params.minutes}′` : ""),
      h("td", { dir: "auto" }, r.actions.map((a) => t(`ru_act_${a.type}`)).join(" · ")),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary small", "data-up": r.id, disabled: i === 0, "aria-label": t("ru_up", { name: r.name }), on: { click: () => move(i, -1) } }, "↑"),
        h("button", { type: "button", class: "secondary small", "data-down": r.id, disabled: i === rules.length - 1, "aria-label": t("ru_down", { name: r.name }), on: { click: () => move(i, 1) } }, "↓")),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary small", "data-edit": r.id, on: { click: async () => { if (await edit(r)) load(); } } }, t("edit")),
        h("button", { type: "button", class: "secondary small", "data-dry": r.id, on: { click: () => dryRun({ rule_id: r.id }, r.name) } }, t("ru_dry_run")),
        h("button", { type: "button", class: "secondary small", "data-firings": r.id, on: { click: () => firings(r) } }, t("ru_firings")),
        h("button", { type: "button", class: "danger small", "data-delete": r.id, on: { click: () => remove(r) } }, t("delete")))))
      : h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("ru_none"))));
    if (focus) tbody.querySelector(focus)?.focus();
  }

  async function move(i, delta) {
    const ids = rules.map((r) => r.id);
    const j = i + delta;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    try {
      await api("/rules/order", { method: "PUT", body: { ids } });
      await load(`[data-${delta < 0 ? "up" : "down"}="${ids[j]}"]:not(:disabled)`);
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  async function remove(r) {
    if (!(await confirmDialog(t("ru_delete_title"), t("ru_delete", { name: r.name }), { submitLabel: t("delete"), danger: true }))) return;
    try {
      await api(`/rules/${r.id}`, { method: "DELETE" });
      mount(panel);
      load();
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  async function dryRun(body, name, into = panel) {
    const out = await api("/rules/dry-run", { method: "POST", body });
    mount(into, h("h3", {}, t("ru_dry_title", { name })), dryRunTable(out, names));
  }

  async function firings(r) {
    try {
      const items = (await api(`/rules/${r.id}/firings`)).items;
      mount(panel, h("h3", {}, t("ru_firings_title", { name: r.name })), items.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "rule-firings" },
          h("thead", {}, h("tr", {}, [t("ru_at"), t("ru_conversation"), t("ru_outcome"), t("ru_actions")].map((x) => h("th", { scope: "col" }, x)))),
          h("tbody", {}, items.map((f) => h("tr", { "data-outcome": f.outcome },
            h("td", {}, h("time", { datetime: f.at }, dateTime(f.at))),
            h("td", {}, f.conversation_id ? h("a", { href: `/console#c=${f.conversation_id}` }, `#${f.conversation_id}`) : "—"),
            h("td", {}, t(`ru_out_${f.outcome}`)),
            h("td", { dir: "auto" }, f.actions.map((a) => actionText(a, names)).join(" · ")))))))
        : h("p", { class: "muted" }, t("ru_none_fired")));
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  function edit(r) {
    const trigger = select("trigger", TRIGGERS.map((x) => [x, t(`ru_tr_${x}`)]), r?.trigger || TRIGGERS[0], { id: "rule-trigger" });
    const minutes = h("input", { type: "number", name: "trigger_params.minutes", min: 1, max: 43200, value: r?.trigger_params?.minutes ?? 30, id: "rule-minutes" });
    const minutesField = field(t("ru_minutes"), minutes);
    const sync = () => { minutesField.hidden = trigger.value !== "waiting"; };
    trigger.addEventListener("change", sync);
    sync();
    const conditions = rowsEditor({
      legend: t("ru_conditions"), addLabel: t("ru_add_condition"), items: r?.conditions || [], id: "rule-conditions",
      render: conditionRow(dir), fresh: () => ({ field: "text", op: "contains_any", values: [] }),
    });
    const actions = actionsEditor(dir, r?.actions || [{ type: "add_labels", labels: [] }], RULE_ACTIONS);
    const preview = h("div", { class: "rule-preview", "aria-live": "polite" });
    const read = (f) => ({
      name: f.elements.name.value.trim(),
      active: f.elements.active.checked,
      trigger: trigger.value,
      trigger_params: trigger.value === "waiting" ? { minutes: Number(minutes.value) } : {},
      team_id: f.elements.team_id.value ? Number(f.elements.team_id.value) : null,
      conditions: conditions.value(),
      actions: actions.value(),
    });
    const errors = h("p", { class: "error", role: "alert", hidden: true });
    const body = h("div", { class: "stack rule-editor" },
      field(t("ru_name"), input("name", r?.name || "", { required: true, maxlength: 120, id: "rule-name" })),
      checkbox("active", r ? r.active : true, t("ru_active")),
      field(t("ru_trigger"), trigger), minutesField,
      field(t("ru_team_scope"), select("team_id", [["", t("ru_any_team")], ...dir.teams.map((x) => [x.id, x.name])], r?.team_id ?? "")),
      conditions.el, actions.el,
      h("button", {
        type: "button", class: "secondary", id: "rule-try",
        on: {
          click: async (e) => {
            const form = e.target.closest("form");
            clearFormError(form, errors);
            try {
              await dryRun({ rule: read(form) }, read(form).name || "…", preview);
            } catch (err) {
              showFormError(form, errors, err);
            }
          },
        },
      }, t("ru_dry_run")), errors, preview);
    return modal({
      title: r ? t("ru_edit", { name: r.name }) : t("ru_new"), body, id: "rule-dialog", wide: true,
      submitLabel: r ? t("save") : t("create"),
      onSubmit: async (f) => {
        await api(r ? `/rules/${r.id}` : "/rules", { method: r ? "PATCH" : "POST", body: read(f) });
      },
    });
  }

  mount(root,
    h("div", { class: "section-head" }, h("h2", {}, t("ru_tab")),
      h("button", { type: "button", class: "primary", id: "new-rule", on: { click: async () => { if (await edit(null)) load(); } } }, t("ru_new"))),
    h("p", { class: "muted" }, t("ru_intro")),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "rules-table" },
      h("thead", {}, h("tr", {}, [t("ru_name"), t("ru_trigger"), t("ru_actions"), t("ru_order"), ""].map((x) => h("th", { scope: "col" }, x)))),
      tbody)),
    panel);
  await load();
}

/** A macro's editor (shared ones here; personal ones from the console). */
export function macroDialog(m, dir, { shared = true, teams = dir.teams } = {}) {
  const scope = select("scope", (shared ? ["team", "everyone"] : ["personal"]).map((s) => [s, t(`ru_scope_${s}`)]), m?.scope || (shared ? "team" : "personal"));
  const team = select("team_id", [["", t("ru_choose")], ...teams.map((x) => [x.id, x.name])], m?.team_id ?? "");
  const teamField = field(t("ru_team"), team);
  const sync = () => { teamField.hidden = scope.value !== "team"; };
  scope.addEventListener("change", sync);
  sync();
  const actions = actionsEditor(dir, m?.actions || [{ type: "add_labels", labels: [] }], MACRO_ACTIONS);
  const body = h("div", { class: "stack rule-editor" },
    field(t("ru_name"), input("name", m?.name || "", { required: true, maxlength: 80, id: "macro-name" })),
    shared ? field(t("ru_scope"), scope) : null, shared ? teamField : null, actions.el);
  return modal({
    title: m ? t("ru_macro_edit", { name: m.name }) : t("ru_macro_new"), body, id: "macro-dialog", wide: true,
    submitLabel: m ? t("save") : t("create"),
    onSubmit: async (f) => {
      const data = { name: f.elements.name.value.trim(), scope: scope.value, actions: actions.value() };
      if (scope.value === "team") data.team_id = team.value ? Number(team.value) : null;
      await api(m ? `/macros/${m.id}` : "/macros", { method: m ? "PATCH" : "POST", body: data });
    },
  });
}

export async function macrosSection(root, { me }) {
  const dir = await loadDirectory({ users: false, segments: false });
  const teams = me.role === "admin" ? dir.teams : dir.teams.filter((x) => (me.team_ids || []).includes(x.id));
  const tbody = h("tbody");
  async function load() {
    const rows = (await api("/macros")).items.filter((m) => m.scope !== "personal");
    mount(tbody, rows.length ? rows.map((m) => h("tr", { "data-macro": m.id },
      h("th", { scope: "row" }, h("bdi", { dir: "auto" }, m.name)),
      h("td", {}, m.scope === "team" ? dir.teams.find((x) => x.id === m.team_id)?.name || "?" : t("ru_scope_everyone")),
      h("td", { dir: "auto" }, m.actions.map((a) => t(`ru_act_${a.type}`)).join(" · ")),
      h("td", { class: "actions" }, m.editable ? [
        h("button", { type: "button", class: "secondary small", on: { click: async () => { if (await macroDialog(m, dir, { teams })) load(); } } }, t("edit")),
        h("button", {
          type: "button", class: "danger small",
          on: {
            click: async () => {
              if (!(await confirmDialog(t("ru_macro_delete_title"), t("ru_macro_delete", { name: m.name }), { submitLabel: t("delete"), danger: true }))) return;
              await api(`/macros/${m.id}`, { method: "DELETE" }).catch((err) => toast(errorText(err), { kind: "error" }));
              load();
            },
          },
        }, t("delete"))] : null)))
      : h("tr", {}, h("td", { colspan: 4, class: "muted" }, t("ru_macro_none"))));
  }
  mount(root,
    h("div", { class: "section-head" }, h("h2", {}, t("ru_macros_tab")),
      h("button", { type: "button", class: "primary", id: "new-macro", on: { click: async () => { if (await macroDialog(null, dir, { teams })) load(); } } }, t("ru_macro_new"))),
    h("p", { class: "muted" }, t("ru_macros_intro")),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "macros-table" },
      h("thead", {}, h("tr", {}, [t("ru_name"), t("ru_scope"), t("ru_actions"), ""].map((x) => h("th", { scope: "col" }, x)))),
      tbody)));
  await load();
}
