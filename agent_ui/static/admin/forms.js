// Small form building blocks for the admin pages (all DOM, no markup strings).
import { field } from "../dialogs.js";
import { h } from "../dom.js";
import { channelName } from "../format.js";
import { t } from "../i18n.js";

export const CHANNELS = ["voice", "sms", "whatsapp", "telegram", "email", "webchat", "loopback"];

export function input(name, value = "", attrs = {}) {
  return h("input", { type: "text", name, value: value ?? "", dir: "auto", ...attrs });
}

export function select(name, options, selected, attrs = {}) {
  return h("select", { name, ...attrs },
    options.map(([value, label]) => h("option", { value, selected: String(value) === String(selected ?? "") }, label)));
}

export function checkbox(name, checked, label, attrs = {}) {
  const box = h("input", { type: "checkbox", name, checked: Boolean(checked), ...attrs });
  return h("label", { class: "check" }, box, " ", label);
}

/** A fieldset of checkboxes (e.g. team membership); read back with checkedNumbers. */
export function checkboxGroup(legend, name, options) {
  return h("fieldset", { class: "checks" }, h("legend", {}, legend),
    options.length ? options.map((o) => checkbox(name, o.checked, h("bdi", {}, o.label), { value: o.value })) : h("span", { class: "muted" }, t("none")));
}

export function checkedNumbers(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((el) => Number(el.value));
}

/** Skills with levels 1-10: rows of name + level, add and remove. */
export function skillsEditor(skills = {}) {
  const rows = h("div", { class: "rows" });
  const addRow = (skill = "", level = 5) => {
    const row = h("div", { class: "row-edit" },
      h("input", { type: "text", class: "skill-name", "aria-label": t("skill"), value: skill, placeholder: t("skill"), dir: "auto" }),
      h("input", { type: "number", class: "skill-level", "aria-label": t("level"), min: 1, max: 10, step: 1, value: level }),
      h("button", { type: "button", class: "secondary small", "aria-label": t("remove"), on: { click: () => row.remove() } }, "×"));
    rows.append(row);
  };
  for (const [skill, level] of Object.entries(skills)) addRow(skill, level);
  const el = h("fieldset", { class: "skills", "data-field": "skills" }, h("legend", {}, t("skills")), rows,
    h("button", { type: "button", class: "secondary small", on: { click: () => addRow() } }, t("add_skill")));
  const value = () => {
    const out = {};
    for (const row of rows.children) {
      const name = row.querySelector(".skill-name").value.trim();
      if (name) out[name] = Number(row.querySelector(".skill-level").value);
    }
    return out;
  };
  return { el, value };
}

/** One number per channel (capacity, offer timeout, SLA); blank = not set. */
export function channelNumbers(legend, prefix, values = {}, { min = 0, max = 100000, hint = null } = {}) {
  const channels = [...new Set([...CHANNELS, ...Object.keys(values || {})])];
  const inputs = new Map();
  const grid = h("div", { class: "channel-grid" }, channels.map((ch) => {
    const inp = h("input", { type: "number", name: `${prefix}.${ch}`, min, max, step: 1, value: values?.[ch] ?? "" });
    inputs.set(ch, inp);
    return field(channelName(ch), inp);
  }));
  const el = h("fieldset", { class: "channels", "data-field": prefix }, h("legend", {}, legend), hint ? h("small", { class: "hint" }, hint) : null, grid);
  const value = () => {
    const out = {};
    for (const [ch, inp] of inputs) if (inp.value !== "") out[ch] = Number(inp.value);
    return out;
  };
  return { el, value };
}

export function listText(values) {
  return (values || []).join(", ");
}

export function parseList(text) {
  return text.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
}
