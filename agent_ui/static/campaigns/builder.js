// The campaign builder: a draft's fields in one form (basics, audience, channel,
// content per language, schedule), saved as a draft and checked by the hub, which
// answers field by field (shown next to the field). Beside it the preview: the dry
// run's counts and a rendered sample per language (campaigns/preview.js). Starting a
// campaign, deleting a draft and a test send go through confirm dialogs.
import { api, upload } from "../api.js";
import { confirmDialog, modal, toast } from "../dialogs.js";
import { $, h, mount } from "../dom.js";
import { dateTime, serverNow } from "../format.js";
import { t } from "../i18n.js";
import { FALLBACK, LANGS, channelLabel, clearErrors, cpErrorText, ctx, label, num, showErrors, statusChip } from "./common.js";
import { renderPreview, smsCounter } from "./preview.js";

const MAX_VARIABLES = 10;

/** The fields of a new campaign (the hub's defaults). */
function blank() {
  const teams = ctx.me.role === "admin" ? [] : ctx.me.team_ids || [];
  return {
    id: null, name: "", team_id: teams[0] ?? null, kind: "message", status: "draft",
    audience: { type: "segment", segment_id: null },
    channel: ctx.options.channels[0] || "preferred", fallback: [...FALLBACK],
    content: { en: {}, ar: {} }, sender_name: "", survey_key: null,
    schedule: { start_at: null, local_time: false, quiet_start: ctx.options.quiet_start ?? null, quiet_end: ctx.options.quiet_end ?? null },
  };
}

// -- small controls ---------------------------------------------------------------------
function row(labelText, control, hint = null, attrs = {}) {
  const id = control.id || `cp-${control.name || Math.random().toString(36).slice(2)}`.replace(/\./g, "-");
  control.id = id;
  return h("div", { class: "field", ...attrs }, h("label", { for: id }, labelText), control, hint ? h("small", { class: "hint" }, hint) : null);
}

function options(list, selected) {
  return list.map(([value, text]) => h("option", { value, selected: String(value) === String(selected ?? "") }, text));
}

/** A local "YYYY-MM-DDTHH:MM" for <input type=datetime-local> from an ISO time. */
function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function isoFromLocal(value) {
  if (!value) return null;
  const d = new Date(value); // datetime-local: the browser's time zone
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

// -- the form -----------------------------------------------------------------------------
/**
 * Open the builder for `campaign` (null: a new one) in `root`. Returns {rerender}
 * (the language changed: rebuild from what is typed) and {onEvent}.
 */
export function openBuilder(root, campaign, { onGone }) {
  const view = { c: campaign ? structuredClone(campaign) : blank(), preview: null, coupons: null, list: null };
  let lastText = null; // the textarea a variable chip inserts into

  function render(values) {
    const c = values;
    const errorBox = h("p", { class: "error cp-form-error", id: "cp-form-error", role: "alert", hidden: true });
    const status = h("p", { class: "muted small cp-saved", id: "cp-saved", role: "status", "aria-live": "polite" },
      c.id ? t("cp_saved_at", { time: dateTime(c.updated_at) }) : t("cp_not_saved"));

    const teamIds = ctx.me.role === "admin" ? [...ctx.teams.keys()] : ctx.me.team_ids || [];
    const teamOptions = teamIds.map((id) => [id, ctx.teams.get(id)?.name || `#${id}`]);
    if (ctx.me.role === "admin") teamOptions.unshift(["", t("cp_no_team")]);

    const basics = h("fieldset", { class: "cp-section" }, h("legend", {}, t("cp_basics")),
      h("div", { class: "cp-grid" },
        row(t("cp_name"), h("input", { type: "text", name: "name", value: c.name, maxlength: 120, required: true, dir: "auto", autocomplete: "off" })),
        row(t("cp_team"), h("select", { name: "team_id" }, options(teamOptions, c.team_id ?? ""))),
        row(t("cp_kind"), h("select", { name: "kind" }, options([["message", t("cp_kind_message")], ["survey", t("cp_kind_survey")]], c.kind))),
        row(t("cp_survey"), h("select", { name: "survey_key" }, options([["", "—"], ...ctx.options.surveys.map((s) => [s.key, label("survey", s.key)])], c.survey_key || "")),
          null, { "data-kind": "survey" })));

    const segOptions = [["", t("cp_pick_segment")], ...ctx.segments.map((s) => [s.id, s.count === null || s.count === undefined ? s.name : t("cp_segment_count", { name: s.name, n: num(s.count) })])];
    const aud = c.audience || { type: "segment" };
    const listStatus = h("p", { class: "muted small", id: "cp-list-status", role: "status", "aria-live": "polite" },
      view.list ? t("cp_list_result", { added: num(view.list.added), invalid: num(view.list.invalid), duplicates: num(view.list.duplicates), total: num(view.list.total) }) : null);
    const fileInput = h("input", { type: "file", id: "cp-list-file", name: "list_file", accept: ".csv,text/csv" });
    const audience = h("fieldset", { class: "cp-section", "data-kind": "message survey" }, h("legend", {}, t("cp_audience")),
      h("div", { class: "cp-choices", role: "radiogroup", "aria-label": t("cp_audience") },
        h("label", { class: "check" }, h("input", { type: "radio", name: "audience.type", value: "segment", checked: aud.type !== "list" }), " ", t("cp_audience_segment")),
        h("label", { class: "check" }, h("input", { type: "radio", name: "audience.type", value: "list", checked: aud.type === "list" }), " ", t("cp_audience_list"))),
      row(t("cp_segment"), h("select", { name: "audience.segment_id" }, options(segOptions, aud.segment_id ?? "")), null, { "data-audience": "segment" }),
      h("div", { class: "field", "data-audience": "list" },
        h("label", { for: "cp-list-file" }, t("cp_list_file")), fileInput,
        h("small", { class: "hint" }, t("cp_list_hint")),
        h("div", {}, h("button", { type: "button", class: "secondary small", id: "cp-list-upload", on: { click: () => uploadList(fileInput) } }, t("cp_list_upload"))),
        listStatus));

    const channels = [["preferred", t("cp_channel_preferred")], ...ctx.options.channels.map((k) => [k, channelLabel(k)])];
    const fallback = c.fallback?.length ? c.fallback : FALLBACK;
    const fallbackList = h("ol", { class: "cp-fallback", id: "cp-fallback" });
    const renderFallback = (order) => mount(fallbackList, order.map((k, i) => h("li", { "data-fallback": k },
      h("span", { class: "cp-fallback-name" }, channelLabel(k)),
      h("button", { type: "button", class: "secondary small", "aria-label": t("cp_move_up", { name: channelLabel(k) }), disabled: i === 0,
        on: { click: () => { const o = [...order]; [o[i - 1], o[i]] = [o[i], o[i - 1]]; renderFallback(o); } } }, "↑"),
      h("button", { type: "button", class: "secondary small", "aria-label": t("cp_move_down", { name: channelLabel(k) }), disabled: i === order.length - 1,
        on: { click: () => { const o = [...order]; [o[i + 1], o[i]] = [o[i], o[i + 1]]; renderFallback(o); } } }, "↓"))));
    renderFallback([...fallback, ...FALLBACK.filter((k) => !fallback.includes(k))]);
    const channel = h("fieldset", { class: "cp-section", "data-kind": "message survey" }, h("legend", {}, t("cp_channel")),
      row(t("cp_channel"), h("select", { name: "channel" }, options(channels, c.channel))),
      h("div", { class: "field", "data-channel": "preferred" },
        h("span", { class: "cp-label", id: "cp-fallback-label" }, t("cp_fallback")),
        h("small", { class: "hint" }, t("cp_fallback_hint")),
        h("div", { "data-name": "fallback" }, fallbackList),
        h("input", { type: "hidden", name: "fallback" })),
      h("p", { class: "hint cp-telegram-note", "data-channel": "telegram preferred" }, t("cp_telegram_note")),
      row(t("cp_sender_name"), h("input", { type: "text", name: "sender_name", value: c.sender_name || "", maxlength: 80, dir: "auto" }),
        t("cp_sender_hint"), { "data-channel": "email preferred" }),
      h("p", { class: "hint", id: "cp-rate" }));

    const content = h("fieldset", { class: "cp-section", "data-kind": "message" }, h("legend", {}, t("cp_content")),
      h("div", { class: "cp-variables" }, h("span", { class: "cp-label" }, t("cp_variables")), " ",
        h("ul", { class: "cp-chips", "aria-label": t("cp_variables") },
          ctx.options.variables.map((v) => h("li", {}, h("button", {
            type: "button", class: "chip cp-var", dir: "ltr", "data-var": v, title: t("cp_insert_var"),
            on: { click: () => insertVariable(v) },
          }, `{{${v}}}`))))),
      h("input", { type: "hidden", name: "content" }),
      h("div", { class: "cp-langs" }, LANGS.map((lang) => languagePanel(lang, c.content?.[lang] || {}))),
      h("div", { class: "cp-coupons field" },
        h("label", { for: "cp-coupon-codes" }, t("cp_coupons")),
        h("textarea", { id: "cp-coupon-codes", name: "coupons", rows: 3, dir: "ltr", placeholder: "A1B2C3\nD4E5F6" }),
        h("small", { class: "hint" }, t("cp_coupons_hint")),
        h("div", {}, h("button", { type: "button", class: "secondary small", id: "cp-coupon-add", on: { click: () => addCoupons() } }, t("cp_coupons_add"))),
        h("p", { class: "muted small", id: "cp-coupon-status", role: "status", "aria-live": "polite" },
          view.coupons ? t("cp_coupons_result", { added: num(view.coupons.added), duplicates: num(view.coupons.duplicates), total: num(view.coupons.total) }) : null)));

    const sch = c.schedule || {};
    const quietOn = sch.quiet_start !== null && sch.quiet_start !== undefined;
    const schedule = h("fieldset", { class: "cp-section" }, h("legend", {}, t("cp_schedule")),
      h("div", { class: "cp-choices", role: "radiogroup", "aria-label": t("cp_schedule") },
        h("label", { class: "check" }, h("input", { type: "radio", name: "schedule.when", value: "now", checked: !sch.start_at }), " ", t("cp_when_now")),
        h("label", { class: "check" }, h("input", { type: "radio", name: "schedule.when", value: "at", checked: Boolean(sch.start_at) }), " ", t("cp_when_at"))),
      row(t("cp_start_at"), h("input", { type: "datetime-local", name: "schedule.start_at", value: localInput(sch.start_at) }), t("cp_start_at_hint"), { "data-when": "at" }),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "schedule.local_time", checked: Boolean(sch.local_time) }), " ", t("cp_local_time")),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "quiet_on", id: "cp-quiet-on", checked: quietOn }), " ", t("cp_quiet")),
      h("div", { class: "cp-grid cp-quiet", "data-quiet": "on" },
        row(t("cp_quiet_start"), h("input", { type: "time", name: "schedule.quiet_start", value: sch.quiet_start || ctx.options.quiet_start || "21:00" })),
        row(t("cp_quiet_end"), h("input", { type: "time", name: "schedule.quiet_end", value: sch.quiet_end || ctx.options.quiet_end || "09:00" }))),
      h("small", { class: "hint" }, t("cp_quiet_hint")));

    const actions = h("div", { class: "cp-actions", role: "toolbar", "aria-label": t("actions") },
      h("button", { type: "submit", class: "secondary", id: "cp-save" }, t("cp_save")),
      h("button", { type: "button", class: "secondary", id: "cp-preview", on: { click: () => doPreview() } }, t("cp_preview")),
      h("button", { type: "button", class: "secondary", id: "cp-test", on: { click: () => doTest() } }, t("cp_test_send")),
      h("button", { type: "button", class: "primary", id: "cp-start", on: { click: () => doStart() } }, t("cp_start")),
      c.id ? h("button", { type: "button", class: "danger", id: "cp-delete", on: { click: () => doDelete() } }, t("cp_delete")) : null);

    const form = h("form", { id: "cp-form", class: "cp-form", novalidate: true, "aria-labelledby": "cp-title" },
      basics, audience, channel, content, schedule, errorBox, status, actions);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      save().catch(() => {});
    });
    form.addEventListener("input", (e) => {
      if (e.target.tagName === "TEXTAREA" && e.target.name?.endsWith(".body")) updateCounter(e.target);
    });
    form.addEventListener("change", () => applyVisibility(form));
    form.addEventListener("focusin", (e) => {
      if (e.target.tagName === "TEXTAREA" && e.target.name?.startsWith("content.")) lastText = e.target;
    });

    const previewBox = h("section", { class: "cp-preview", id: "cp-preview-panel", "aria-labelledby": "cp-preview-heading", "aria-live": "polite" });
    mount(root,
      h("div", { class: "cp-head" },
        h("a", { href: "#", class: "cp-back", id: "cp-back" }, t("cp_back")),
        h("h1", { id: "cp-title" }, h("bdi", { dir: "auto" }, c.id ? c.name || t("cp_untitled") : t("cp_new"))),
        statusChip(c.status || "draft")),
      h("div", { class: "cp-builder" }, form, previewBox));
    view.form = form;
    view.previewBox = previewBox;
    applyVisibility(form);
    for (const el of form.querySelectorAll('textarea[name$=".body"]')) updateCounter(el);
    renderPreview(previewBox, view.preview);
  }

  function languagePanel(lang, v) {
    const p = (f) => `content.${lang}.${f}`;
    const vars = Object.entries(v.variables || {});
    const varRows = h("div", { class: "cp-tvars", "data-name": p("variables") });
    const addVar = (key = "", value = "") => {
      if (varRows.children.length >= MAX_VARIABLES) return;
      const line = h("div", { class: "row-edit" },
        h("input", { type: "text", class: "cp-tvar-key", "aria-label": t("cp_tvar_key"), value: key, maxlength: 2, inputmode: "numeric", size: 3, dir: "ltr" }),
        h("input", { type: "text", class: "cp-tvar-value", "aria-label": t("cp_tvar_value"), value, maxlength: 200, dir: "ltr" }),
        h("button", { type: "button", class: "secondary small", "aria-label": t("remove"), on: { click: () => line.remove() } }, "×"));
      varRows.append(line);
    };
    for (const [k, val] of vars) addVar(k, val);
    const templates = [["", "—"], ...ctx.options.whatsapp_templates.map((n) => [n, n])];
    return h("section", { class: "cp-lang", lang, dir: lang === "ar" ? "rtl" : "ltr", "data-lang": lang, "aria-labelledby": `cp-lang-${lang}` },
      h("h3", { id: `cp-lang-${lang}` }, t(`cp_lang_${lang}`)),
      row(t("cp_subject"), h("input", { type: "text", name: p("subject"), value: v.subject || "", maxlength: 300, dir: "auto" }), null, { "data-channel": "email preferred" }),
      row(t("cp_body"), h("textarea", { name: p("body"), rows: 5, maxlength: 4000, dir: "auto" }, v.body || "")),
      h("p", { class: "cp-sms muted small", "data-channel": "sms preferred", "data-counter": lang, role: "status", "aria-live": "polite" }),
      row(t("cp_html"), h("textarea", { name: p("html"), rows: 4, maxlength: 100000, dir: "ltr", spellcheck: "false" }, v.html || ""), t("cp_html_hint"), { "data-channel": "email preferred" }),
      h("div", { class: "cp-wa", "data-channel": "whatsapp preferred" },
        row(t("cp_template"), h("select", { name: p("template") }, options(templates, v.template || "")), ctx.options.whatsapp_templates.length ? null : t("cp_no_templates")),
        h("span", { class: "cp-label" }, t("cp_tvars")), varRows, h("input", { type: "hidden", name: p("variables") }),
        h("button", { type: "button", class: "secondary small cp-tvar-add", on: { click: () => addVar(String(varRows.children.length + 1)) } }, t("cp_tvar_add"))));
  }

  function updateCounter(textarea) {
    const lang = textarea.name.split(".")[1];
    const box = view.form?.querySelector(`[data-counter="${lang}"]`) || textarea.closest(".cp-lang")?.querySelector("[data-counter]");
    if (box) mount(box, smsCounter(textarea.value, view.preview?.sms?.[lang]));
  }

  function insertVariable(name) {
    const el = lastText && lastText.isConnected ? lastText : view.form.querySelector('textarea[name="content.en.body"]');
    const token = `{{${name}}}`;
    const start = el.selectionStart ?? el.value.length;
    const end = el.selectionEnd ?? el.value.length;
    el.setRangeText(token, start, end, "end");
    el.focus();
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function applyVisibility(form) {
    const el = form.elements;
    const kind = el.kind.value;
    const ch = el.channel.value;
    const aud = form.querySelector('[name="audience.type"]:checked')?.value || "segment";
    const when = form.querySelector('[name="schedule.when"]:checked')?.value || "now";
    const quiet = $("#cp-quiet-on", form).checked;
    const toggle = (attr, value) => {
      for (const node of form.querySelectorAll(`[data-${attr}]`)) node.hidden = !node.dataset[attr].split(" ").includes(value);
    };
    toggle("kind", kind);
    toggle("channel", ch);
    toggle("audience", aud);
    toggle("when", when);
    toggle("quiet", quiet ? "on" : "off");
    const rate = ctx.options.rates?.[ch];
    mount($("#cp-rate", form), rate ? t("cp_rate", { n: num(rate), channel: channelLabel(ch) }) : t("cp_rate_preferred"));
  }

  /** The request body from the form. */
  function collect() {
    const form = view.form;
    const el = form.elements;
    const val = (name) => form.querySelector(`[name="${name}"]`)?.value ?? "";
    const content = {};
    for (const lang of LANGS) {
      const part = {
        body: val(`content.${lang}.body`), subject: val(`content.${lang}.subject`), html: val(`content.${lang}.html`),
        template: val(`content.${lang}.template`) || null, variables: {},
      };
      for (const line of form.querySelectorAll(`[data-name="content.${lang}.variables"] .row-edit`)) {
        const k = line.querySelector(".cp-tvar-key").value.trim();
        if (k) part.variables[k] = line.querySelector(".cp-tvar-value").value;
      }
      if (part.body.trim() || part.subject.trim() || part.html.trim() || part.template) content[lang] = part;
    }
    const aud = form.querySelector('[name="audience.type"]:checked')?.value || "segment";
    const when = form.querySelector('[name="schedule.when"]:checked')?.value || "now";
    const quiet = $("#cp-quiet-on", form).checked;
    return {
      name: el.name.value.trim(),
      team_id: el.team_id.value === "" ? null : Number(el.team_id.value),
      kind: el.kind.value,
      survey_key: el.kind.value === "survey" ? el.survey_key.value || null : null,
      audience: aud === "list" ? { type: "list" } : { type: "segment", segment_id: val("audience.segment_id") ? Number(val("audience.segment_id")) : null },
      channel: el.channel.value,
      fallback: [...form.querySelectorAll("#cp-fallback li")].map((li) => li.dataset.fallback),
      content,
      sender_name: el.sender_name.value.trim(),
      schedule: {
        start_at: when === "at" ? isoFromLocal(val("schedule.start_at")) : null,
        local_time: form.querySelector('[name="schedule.local_time"]').checked,
        quiet_start: quiet ? val("schedule.quiet_start") || null : null,
        quiet_end: quiet ? val("schedule.quiet_end") || null : null,
      },
    };
  }

  /** The form as a campaign object (to re-render it as typed). */
  function current() {
    const body = collect();
    const content = { ...body.content };
    for (const lang of LANGS) content[lang] ||= {};
    return { ...view.c, ...body, content };
  }

  // -- actions ----------------------------------------------------------------------------
  const errorBox = () => $("#cp-form-error", view.form);

  async function save() {
    const form = view.form;
    clearErrors(form, errorBox());
    const body = collect();
    const buttons = [...form.querySelectorAll(".cp-actions button")];
    for (const b of buttons) b.disabled = true;
    try {
      const saved = view.c.id
        ? await api(`/campaigns/${view.c.id}`, { method: "PATCH", body })
        : await api("/campaigns", { method: "POST", body });
      const fresh = !view.c.id;
      view.c = saved;
      if (fresh) history.replaceState(null, "", `#c=${saved.id}`);
      mount($("#cp-saved", form), t("cp_saved_at", { time: dateTime(saved.updated_at) }));
      mount($("#cp-title"), h("bdi", { dir: "auto" }, saved.name || t("cp_untitled")));
      if (fresh && !$("#cp-delete", form)) {
        $(".cp-actions", form).append(h("button", { type: "button", class: "danger", id: "cp-delete", on: { click: () => doDelete() } }, t("cp_delete")));
      }
      return saved;
    } catch (err) {
      const first = showErrors(form, errorBox(), err);
      (first || errorBox()).scrollIntoView?.({ block: "center" });
      first?.focus();
      throw err;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  async function doPreview() {
    try {
      await save();
    } catch {
      return;
    }
    mount(view.previewBox, h("p", { class: "muted" }, t("loading")));
    try {
      view.preview = await api(`/campaigns/${view.c.id}/preview`, { method: "POST" });
      renderPreview(view.previewBox, view.preview);
      for (const el of view.form.querySelectorAll('textarea[name$=".body"]')) updateCounter(el);
    } catch (err) {
      mount(view.previewBox, h("p", { class: "error", role: "alert" }, cpErrorText(err)));
    }
  }

  async function uploadList(fileInput) {
    const file = fileInput.files?.[0];
    if (!file) {
      mount($("#cp-list-status"), t("cp_list_pick"));
      return;
    }
    try {
      if (!view.c.id) await save();
      // The hub takes the rows as text/csv, whatever type the browser guessed.
      view.list = await upload(`/campaigns/${view.c.id}/list`, new Blob([file], { type: "text/csv" }));
      mount($("#cp-list-status"), t("cp_list_result", { added: num(view.list.added), invalid: num(view.list.invalid), duplicates: num(view.list.duplicates), total: num(view.list.total) }));
    } catch (err) {
      mount($("#cp-list-status"), h("span", { class: "error" }, cpErrorText(err)));
    }
  }

  async function addCoupons() {
    const area = $("#cp-coupon-codes", view.form);
    const codes = area.value.split(/\s+/).map((s) => s.trim()).filter(Boolean);
    if (!codes.length) {
      mount($("#cp-coupon-status"), t("cp_coupons_none"));
      return;
    }
    try {
      if (!view.c.id) await save();
      view.coupons = await api(`/campaigns/${view.c.id}/coupons`, { method: "POST", body: { codes } });
      area.value = "";
      mount($("#cp-coupon-status"), t("cp_coupons_result", { added: num(view.coupons.added), duplicates: num(view.coupons.duplicates), total: num(view.coupons.total) }));
    } catch (err) {
      mount($("#cp-coupon-status"), h("span", { class: "error" }, cpErrorText(err)));
    }
  }

  async function doTest() {
    try {
      await save();
    } catch {
      return;
    }
    const chans = view.c.channel === "preferred" ? ctx.options.channels : [view.c.channel];
    const body = h("div", { class: "stack" },
      h("p", { class: "muted small" }, t("cp_test_hint")),
      row(t("cp_test_address"), h("input", { type: "text", name: "address", id: "cp-test-address", maxlength: 320, dir: "ltr", autocomplete: "off", required: true })),
      row(t("cp_channel"), h("select", { name: "channel", id: "cp-test-channel" }, options(chans.map((k) => [k, channelLabel(k)]), chans[0]))),
      row(t("cp_language"), h("select", { name: "language", id: "cp-test-language" }, options(LANGS.map((l) => [l, t(`cp_lang_${l}`)]), ctx.me.language === "ar" ? "ar" : "en"))));
    await modal({
      title: t("cp_test_title"), body, submitLabel: t("cp_test_submit"), id: "cp-test-dialog",
      onSubmit: async (form) => {
        const el = form.elements;
        try {
          const res = await api(`/campaigns/${view.c.id}/test-send`, { method: "POST", body: { address: el.address.value.trim(), channel: el.channel.value, language: el.language.value } });
          toast(t("cp_test_sent", { address: res.address, channel: channelLabel(res.channel) }));
        } catch (err) {
          throw Object.assign(new Error(cpErrorText(err)), { fields: err.fields });
        }
      },
    });
  }

  async function doStart() {
    let saved;
    try {
      saved = await save();
    } catch {
      return;
    }
    const at = saved.schedule?.start_at;
    const future = Boolean(at) && Date.parse(at) > serverNow(); // the hub's clock decides "now"
    const n = view.preview ? t("cp_start_n", { n: num(view.preview.eligible) }) : "";
    let refused = null;
    const text = future ? t("cp_start_at_confirm", { name: saved.name, time: dateTime(at) }) : t("cp_start_confirm", { name: saved.name });
    const ok = await modal({
      title: t("cp_start_title"), body: h("p", {}, text, n ? [" ", n] : null), submitLabel: future ? t("cp_schedule_submit") : t("cp_start_submit"),
      id: "cp-start-dialog",
      onSubmit: async () => {
        try {
          await api(`/campaigns/${saved.id}/start`, { method: "POST", body: future ? { at } : {} });
        } catch (err) {
          // The content checks again, against the channels of now: shown at their fields.
          if (err.fields?.length) {
            refused = err;
            return;
          }
          throw Object.assign(new Error(cpErrorText(err)), { fields: [] });
        }
      },
    });
    if (refused) {
      const first = showErrors(view.form, errorBox(), refused);
      (first || errorBox()).scrollIntoView?.({ block: "center" });
      first?.focus();
    } else if (ok) {
      window.location.hash = `#c=${saved.id}&v=results`;
    }
  }

  async function doDelete() {
    const ok = await confirmDialog(t("cp_delete_title"), t("cp_delete_confirm", { name: view.c.name }), { submitLabel: t("cp_delete"), danger: true });
    if (!ok) return;
    try {
      await api(`/campaigns/${view.c.id}`, { method: "DELETE" });
      toast(t("cp_deleted"));
      window.location.hash = "";
    } catch (err) {
      toast(cpErrorText(err), { kind: "error" });
    }
  }

  render(view.c);
  return {
    rerender() {
      const keep = current();
      render(keep);
    },
    onEvent(e) {
      const p = e.payload || {};
      if (p.campaign_id !== view.c.id) return;
      if (e.type === "campaign.deleted") onGone();
      else if (p.status && p.status !== "draft") window.location.hash = `#c=${view.c.id}&v=results`;
    },
  };
}
