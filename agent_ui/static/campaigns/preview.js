// The dry run beside the builder (POST /campaigns/{id}/preview: nothing is written):
// how many contacts would receive the campaign and how many are left out and why, by
// channel and language, and one rendered sample per language. Samples are customer
// data and the author's HTML: shown as text only — the HTML part as its source in a
// <pre>, never parsed into the page.
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { LANGS, channelLabel, label, num } from "./common.js";
import { smsParts } from "./smsparts.js";

/** The SMS figure under a body: counted here as typed, and the server's for its sample. */
export function smsCounter(text, server) {
  const mine = smsParts(text);
  return [
    h("span", { class: "cp-sms-mine", "data-encoding": mine.encoding, "data-segments": mine.segments },
      t("cp_sms_count", { chars: num(mine.characters), segments: num(mine.segments), encoding: mine.encoding, per: num(mine.per_segment) })),
    server ? [" · ", h("span", { class: "cp-sms-server", "data-segments": server.segments },
      t("cp_sms_server", { chars: num(server.characters), segments: num(server.segments), encoding: server.encoding }))] : null,
  ];
}

function countList(id, title, counts, family) {
  const entries = Object.entries(counts || {}).filter(([, n]) => n > 0);
  return h("div", { class: "cp-counts", id },
    h("h3", {}, title),
    entries.length
      ? h("ul", { class: "cp-count-list" }, entries.map(([key, n]) => h("li", { "data-key": key },
        h("span", {}, family === "channel" ? channelLabel(key) : label(family, key)), " ", h("strong", {}, num(n)))))
      : h("p", { class: "muted small" }, t("none")));
}

function sample(lang, s, sms) {
  if (!s) return null;
  return h("article", { class: "cp-sample", "data-lang": lang, "aria-labelledby": `cp-sample-${lang}` },
    h("h3", { id: `cp-sample-${lang}` }, t(`cp_lang_${lang}`), " · ", s.channel ? channelLabel(s.channel) : "—"),
    s.contact_id ? h("p", { class: "muted small" }, t("cp_sample_for", { id: s.contact_id })) : h("p", { class: "muted small" }, t("cp_sample_placeholder")),
    s.subject && s.channel === "email" ? h("p", { class: "cp-sample-subject", dir: "auto" }, h("strong", {}, t("cp_subject")), ": ", h("bdi", {}, s.subject)) : null,
    h("div", { class: "cp-sample-text", dir: "auto", lang }, s.body || ""),
    s.html ? h("details", { class: "cp-sample-html" }, h("summary", {}, t("cp_html_source")),
      h("pre", { dir: "ltr" }, s.html)) : null,
    s.unknown?.length ? h("p", { class: "cp-warn small", "data-warn": "unknown" }, t("cp_unknown_vars", { list: s.unknown.join(", ") })) : null,
    s.missing?.length ? h("p", { class: "muted small", "data-warn": "missing" }, t("cp_missing_vars", { list: s.missing.join(", ") })) : null,
    sms ? h("p", { class: "muted small cp-sample-sms" }, t("cp_sms_server", { chars: num(sms.characters), segments: num(sms.segments), encoding: sms.encoding })) : null);
}

export function renderPreview(box, p) {
  if (!p) {
    mount(box, h("h2", { id: "cp-preview-heading" }, t("cp_preview_title")), h("p", { class: "muted small" }, t("cp_preview_hint")));
    return;
  }
  const excluded = Object.values(p.excluded || {}).reduce((a, b) => a + b, 0);
  mount(box,
    h("h2", { id: "cp-preview-heading" }, t("cp_preview_title")),
    h("div", { class: "cp-tiles" },
      h("div", { class: "tile", "data-metric": "eligible" }, h("span", { class: "tile-label" }, t("cp_eligible")), h("span", { class: "tile-value", id: "cp-eligible" }, num(p.eligible))),
      h("div", { class: "tile", "data-metric": "excluded" }, h("span", { class: "tile-label" }, t("cp_excluded")), h("span", { class: "tile-value", id: "cp-excluded" }, num(excluded)))),
    p.capped ? h("p", { class: "cp-warn small" }, t("cp_capped")) : null,
    countList("cp-excluded-reasons", t("cp_excluded_by_reason"), p.excluded, "reason"),
    h("div", { class: "cp-two" },
      countList("cp-by-channel", t("cp_by_channel"), p.by_channel, "channel"),
      countList("cp-by-language", t("cp_by_language"), p.by_language, "lang")),
    LANGS.map((lang) => sample(lang, p.samples?.[lang], p.sms?.[lang])));
}
