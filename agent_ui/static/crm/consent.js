// Consent per channel and purpose on the contact profile (issue 17): what the customer
// agreed to or refused, how (keyword, link, import, staff, API) and when; staff who may
// edit the contact change it here, each change audited by the hub
// (GET/PUT /api/v1/contacts/{id}/consent, docs/crm.md "Consent").
import { api } from "../api.js";
import { errorText, fieldText, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { channelName, dateTime } from "../format.js";
import { t } from "../i18n.js";

const STATES = ["", "opted_in", "opted_out"];
const SOURCES = new Set(["keyword", "link", "import", "agent", "api", "widget", "campaign"]);

/** The profile's consent section for ``contactId``: loads itself, saves each change. */
export function consentSection(contactId) {
  const body = h("div", { id: "cs-body", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  const section = h("section", { class: "consent-section", id: "consent", "aria-labelledby": "cs-h" },
    h("h3", { id: "cs-h" }, t("cs_title")),
    h("p", { class: "muted small", id: "cs-intro" }, t("cs_intro")),
    body);
  const show = (data, focusId = null) => {
    mount(body, data.channels.map((ch) => channelBlock(contactId, data, ch, show)));
    if (focusId) body.querySelector(`#${focusId}`)?.focus();
  };
  api(`/contacts/${contactId}/consent`)
    .then((data) => show(data))
    .catch((err) => mount(body, h("p", { class: "error", role: "alert" }, errorText(err))));
  return section;
}

function channelBlock(contactId, data, channel, show) {
  const rows = new Map(data.items.map((r) => [`${r.channel}:${r.purpose}`, r]));
  return h("fieldset", { class: "cs-channel", "data-channel": channel },
    h("legend", {}, channelName(channel)),
    data.purposes.map((purpose) => {
      const row = rows.get(`${channel}:${purpose}`);
      const id = `cs-${channel}-${purpose}`;
      const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
      const select = h("select", {
        id, "data-purpose": purpose, "aria-describedby": `${id}-meta`,
        on: {
          change: async () => {
            const state = select.value || null;
            select.disabled = true;
            error.hidden = true;
            try {
              const fresh = await api(`/contacts/${contactId}/consent/${encodeURIComponent(channel)}/${purpose}`, {
                method: "PUT", body: { state },
              });
              show(fresh, id);
              toast(t("cs_saved"));
            } catch (err) {
              select.value = row?.state || "";
              select.disabled = false;
              const field = err?.fields?.[0];
              error.textContent = field ? fieldText(field) : errorText(err);
              error.hidden = false;
            }
          },
        },
      }, STATES.map((s) => h("option", { value: s }, t(s ? `cs_${s}` : "cs_unknown"))));
      select.value = row?.state || "";
      return h("div", { class: ["cs-cell", row && `cs-${row.state}`] },
        h("label", { for: id }, t(`cs_purpose_${purpose}`)),
        select,
        h("small", { class: "muted cs-meta", id: `${id}-meta` }, meta(row)),
        error);
    }));
}

/** A timeline entry (contact.consent_changed): "SMS marketing: Opted out (Keyword reply)". */
export function consentLine(e, who) {
  const [key, [, state] = []] = Object.entries(e.changes || {})[0] || [];
  const [, channel = "", purpose = ""] = (key || "").split(".");
  return t("cs_tl", {
    who: who(e.actor_id),
    channel: channelName(channel),
    purpose: t(purpose === "service" ? "cs_purpose_service" : "cs_purpose_marketing"),
    state: t(state ? `cs_${state}` : "cs_unknown"),
  });
}

function meta(row) {
  if (!row) return null; // unknown: the select says so
  const source = SOURCES.has(row.source) ? t(`cs_src_${row.source}`) : row.source;
  const who = row.actor_name || (row.actor_id ? `#${row.actor_id}` : null);
  return [
    h("bdi", {}, who ? t("cs_meta_by", { source, who }) : source), " · ",
    h("time", { datetime: row.updated_at }, dateTime(row.updated_at)),
    row.campaign_id ? [" · ", t("cs_campaign", { id: row.campaign_id })] : null,
    row.note ? [" · ", h("bdi", { dir: "auto", class: "cs-note" }, row.note)] : null,
  ];
}
