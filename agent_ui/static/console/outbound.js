// "Start conversation": an agent writes first to a customer, on a channel where the
// customer has an address. The hub opens (or reuses) the conversation assigned to the
// agent and sends the first message as an ordinary reply through the outbox
// (POST /contacts/{id}/outbound); WhatsApp outside its 24-hour window takes an
// approved template by name with numbered variables.
import { api } from "../api.js";
import { errorText, field, modal } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";

const TEMPLATE_VARIABLES = 3;
// The hub's refusals and the input each is about: shown next to it, translated.
const CODE_FIELD = {
  empty_body: "body", too_long: "body", subject_required: "subject", unknown_template: "template",
  whatsapp_window_closed: "template", no_telegram_chat: "channel", no_address: "channel",
  opted_out: "channel", not_your_team: "channel", channel_disabled: "channel", already_assigned: "channel",
};

function reasonText(option) {
  return t("ob_unavailable", { channel: t(`ch_${option.channel}`), reason: t(`ob_reason_${option.reason}`) });
}

/**
 * Open the dialog for `contact` ({id, name}); `onStarted(conversation)` hears the
 * conversation the hub opened. Resolves true when a message was sent.
 */
export async function outboundDialog(contact, { onStarted = null } = {}) {
  let options;
  try {
    options = (await api(`/contacts/${contact.id}/outbound`)).items;
  } catch (err) {
    return modal({ title: t("ob_start"), body: h("p", { class: "error", role: "alert" }, errorText(err)), submitLabel: t("ok"), cancelLabel: null });
  }
  const usable = options.filter((o) => o.allowed);
  const channel = h("select", { name: "channel", id: "ob-channel" },
    options.map((o) => h("option", { value: o.channel, disabled: !o.allowed, selected: o === usable[0] },
      o.allowed ? t(`ch_${o.channel}`) : reasonText(o))));
  const to = h("output", { id: "ob-to", dir: "ltr" });
  const subject = h("input", { type: "text", name: "subject", id: "ob-subject", dir: "auto", maxlength: 300, autocomplete: "off" });
  const template = h("select", { name: "template", id: "ob-template" });
  const variables = Array.from({ length: TEMPLATE_VARIABLES }, (_, i) =>
    h("input", { type: "text", name: `variable_${i + 1}`, id: `ob-var-${i + 1}`, dir: "auto", maxlength: 1000, autocomplete: "off" }));
  const message = h("textarea", { name: "body", id: "ob-body", rows: 4, dir: "auto", maxlength: 65536 });
  const windowNote = h("p", { id: "ob-window", class: "hint", role: "status" });
  const subjectRow = field(t("ob_subject"), subject);
  const templateRow = field(t("ob_template"), template);
  const variableRows = h("div", { class: "stack", id: "ob-variables" },
    variables.map((input, i) => field(t("ob_variable", { n: i + 1 }), input)));
  const messageHint = h("small", { class: "hint", id: "ob-body-hint" });

  const current = () => options.find((o) => o.channel === channel.value) || null;
  const sync = () => {
    const o = current();
    to.textContent = o?.address || "";
    subjectRow.hidden = !o?.needs_subject;
    const whatsapp = o?.channel === "whatsapp";
    templateRow.hidden = !whatsapp;
    if (whatsapp && !template.options.length) {
      // Inside the window free text is possible; outside only a template.
      mount(template,
        o.window_open ? h("option", { value: "" }, t("ob_free_text")) : null,
        o.templates.map((name) => h("option", { value: name }, name)));
    }
    windowNote.hidden = !whatsapp;
    windowNote.textContent = whatsapp ? t(o.window_open ? "ob_window_open" : "ob_window_closed") : "";
    const usingTemplate = whatsapp && Boolean(template.value);
    variableRows.hidden = !usingTemplate;
    messageHint.textContent = usingTemplate ? t("ob_preview_hint") : "";
  };
  channel.addEventListener("change", sync);
  template.addEventListener("change", sync);

  const body = usable.length
    ? h("div", { class: "stack outbound-form" },
      field(t("ob_channel"), channel),
      h("p", { class: "muted" }, t("ob_to"), " ", to),
      windowNote,
      subjectRow,
      templateRow,
      variableRows,
      h("div", { class: "field" }, h("label", { for: "ob-body" }, t("ob_message")), message, messageHint))
    : h("div", { class: "stack" }, h("p", { id: "ob-none" }, t("ob_no_channel")),
      h("ul", { class: "muted" }, options.map((o) => h("li", {}, reasonText(o)))));
  sync();
  let started = null;
  const ok = await modal({
    title: t("ob_title", { name: contact.name || `#${contact.id}` }), body, id: "outbound-dialog", wide: true,
    submitLabel: usable.length ? t("ob_send") : t("ok"), cancelLabel: usable.length ? t("cancel") : null,
    onSubmit: async () => {
      if (!usable.length) return;
      const payload = { channel: channel.value, body: message.value };
      if (!subjectRow.hidden) payload.subject = subject.value;
      if (!templateRow.hidden && template.value) {
        const vars = {};
        variables.forEach((input, i) => {
          if (input.value.trim()) vars[String(i + 1)] = input.value.trim();
        });
        payload.template = { name: template.value, variables: vars };
      }
      try {
        started = await api(`/contacts/${contact.id}/outbound`, { method: "POST", body: payload });
      } catch (err) {
        // A refusal about one input: that input says why, the box only points at it.
        if (err.code !== "validation_error" && (err.fields?.length || CODE_FIELD[err.code])) {
          const fields = err.fields?.length ? err.fields : [{ field: CODE_FIELD[err.code] }];
          err.fields = fields.map((f) => ({ ...f, code: f.code || err.code }));
          err.code = "validation_error";
        }
        throw err;
      }
    },
  });
  if (ok && started) onStarted?.(started.conversation);
  return ok && Boolean(started);
}
