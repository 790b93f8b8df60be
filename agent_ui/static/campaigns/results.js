// A started campaign: its state with pause / resume / cancel, its results (kept live
// from the socket's campaign.* events: campaign.progress carries the counts), failures
// and exclusions by reason, the recipients (paged, filtered by status) and their CSV.
import { api } from "../api.js";
import { pager } from "../admin/pager.js";
import { confirmDialog, toast } from "../dialogs.js";
import { $, debounce, h, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";
import { RECIPIENT_STATUSES, channelLabel, cpErrorText, label, num, statusChip, teamName } from "./common.js";

const PAGE = 50;
const TILES = ["recipients", "pending", "sent", "delivered", "failed", "excluded", "replied", "opted_out", "survey_answers", "redemptions"];

export function openResults(root, campaign) {
  const view = { c: campaign, status: "", cursors: [null], page: 0, next: null, rows: [] };

  const controls = h("div", { class: "cp-controls", role: "toolbar", "aria-label": t("actions"), id: "cp-controls" });
  const head = h("div", { class: "cp-head" });
  const meta = h("p", { class: "muted small cp-meta", id: "cp-meta" });
  const tiles = h("div", { class: "cp-tiles", id: "cp-results", "aria-live": "off" });
  const reasons = h("div", { class: "cp-two", id: "cp-reasons" });
  const filter = h("select", { id: "cp-rcpt-status", name: "status" });
  const csv = h("a", { class: "button-link small", id: "cp-csv", download: "" }, t("cp_csv"));
  const table = h("table", { class: "grid cp-table", id: "cp-recipients" });
  const error = h("p", { class: "error", role: "alert", hidden: true, id: "cp-results-error" });
  const pages = pager("cp-rcpt-pager", {
    onPrev: () => loadPage(view.page - 1),
    onNext: () => loadPage(view.page + 1),
  });
  filter.addEventListener("change", () => {
    view.status = filter.value;
    view.cursors = [null];
    loadPage(0);
  });

  function renderHead() {
    const c = view.c;
    mount(head,
      h("a", { href: "#", class: "cp-back", id: "cp-back" }, t("cp_back")),
      h("h1", { id: "cp-title" }, h("bdi", { dir: "auto" }, c.name)),
      statusChip(c.status));
    const when = c.finished_at ? t("cp_finished", { time: dateTime(c.finished_at) })
      : c.started_at ? t("cp_started", { time: dateTime(c.started_at) })
        : c.schedule?.start_at ? t("cp_scheduled_for", { time: dateTime(c.schedule.start_at) }) : null;
    mount(meta, [t("cp_meta", { team: teamName(c.team_id), channel: channelLabel(c.channel) }), when ? ` · ${when}` : null]);
    const act = (id, key, fn, cls = "secondary") => h("button", { type: "button", class: cls, id, on: { click: fn } }, t(key));
    mount(controls,
      c.status === "running" || c.status === "scheduled" ? act("cp-pause", "cp_pause", () => change("pause")) : null,
      c.status === "paused" ? act("cp-resume", "cp_resume", () => change("resume"), "primary") : null,
      c.status !== "completed" && c.status !== "cancelled" ? act("cp-cancel", "cp_cancel", () => doCancel(), "danger") : null);
  }

  function renderResults() {
    const r = view.c.results || {};
    mount(tiles, TILES.map((k) => h("div", { class: "tile", "data-metric": k },
      h("span", { class: "tile-label" }, label("r", k)),
      h("span", { class: "tile-value" }, num(r[k])),
      k === "redemptions" && r.coupons ? h("span", { class: "tile-sub" }, t("cp_coupons_of", { assigned: num(r.coupons_assigned), total: num(r.coupons) })) : null)));
    const list = (id, title, counts) => {
      const entries = Object.entries(counts || {}).filter(([, n]) => n > 0);
      return h("div", { class: "cp-counts", id }, h("h3", {}, title),
        entries.length ? h("ul", { class: "cp-count-list" }, entries.map(([key, n]) => h("li", { "data-key": key },
          h("span", {}, label("reason", key)), " ", h("strong", {}, num(n))))) : h("p", { class: "muted small" }, t("none")));
    };
    mount(reasons, list("cp-failed-reasons", t("cp_failed_by_reason"), r.failed_by_reason), list("cp-excluded-reasons", t("cp_excluded_by_reason"), r.excluded_by_reason));
  }

  function renderTable() {
    const cols = ["cp_col_contact", "cp_col_channel", "cp_col_address", "cp_col_language", "cp_col_status", "cp_col_sent", "cp_col_delivered", "cp_col_reply"];
    mount(table,
      h("caption", { class: "visually-hidden" }, t("cp_recipients")),
      h("thead", {}, h("tr", {}, cols.map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, view.rows.length ? view.rows.map((r) => h("tr", { "data-recipient-id": r.id, "data-status": r.status, "data-test": r.test ? "true" : null },
        h("th", { scope: "row" }, r.contact_id ? h("a", { href: `/contacts#contact=${r.contact_id}` }, h("bdi", { dir: "auto" }, r.contact_name || `#${r.contact_id}`)) : h("bdi", { dir: "auto" }, r.contact_name || "—"),
          r.test ? [" ", h("span", { class: "status-chip cp-test-chip" }, t("cp_test_row"))] : null),
        h("td", {}, r.channel ? channelLabel(r.channel) : "—"),
        h("td", {}, h("bdi", { dir: "ltr" }, r.address || "—")),
        h("td", {}, r.language ? t(`cp_lang_${r.language === "ar" ? "ar" : "en"}`) : "—"),
        h("td", {}, h("span", { class: ["status-chip", `cp-rs-${r.status}`] }, label("rs", r.status)),
          r.reason ? h("span", { class: "muted small cp-reason" }, ` ${label("reason", r.reason)}`) : null),
        h("td", {}, r.sent_at ? dateTime(r.sent_at) : "—"),
        h("td", {}, r.delivered_at ? dateTime(r.delivered_at) : "—"),
        h("td", {}, r.conversation_id ? h("a", { href: `/console#c=${r.conversation_id}` }, t("cp_conversation_n", { id: r.conversation_id }))
          : r.opted_out_at ? t("cp_opted_out") : "—")))
        : h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, t("cp_no_recipients")))));
  }

  // The hub's CSV holds every recipient (it takes no status filter).
  const csvHref = () => `/api/v1/campaigns/${view.c.id}/recipients.csv`;

  async function loadPage(n) {
    const cursor = view.cursors[n] ?? null;
    try {
      const res = await api(`/campaigns/${view.c.id}/recipients`, { query: { status: view.status || undefined, limit: PAGE, cursor } });
      view.page = n;
      view.rows = res.items;
      view.cursors[n + 1] = res.next_cursor ?? null;
      error.hidden = true;
      renderTable();
      pages.update({ from: n * PAGE, count: res.items.length, more: res.next_cursor !== null && res.next_cursor !== undefined });
      csv.setAttribute("href", csvHref());
    } catch (err) {
      mount(error, cpErrorText(err));
      error.hidden = false;
    }
  }
  const refetch = debounce(() => {
    api(`/campaigns/${view.c.id}`).then((c) => {
      view.c = c;
      renderHead();
      renderResults();
    }).catch(() => {});
  }, 300);
  // Progress comes often while sending: the first page follows it, at most once a second.
  const refreshRows = debounce(() => {
    if (view.page === 0) loadPage(0);
  }, 1000);

  async function change(action) {
    try {
      view.c = await api(`/campaigns/${view.c.id}/${action}`, { method: "POST" });
      renderHead();
      renderResults();
    } catch (err) {
      toast(cpErrorText(err), { kind: "error" });
    }
  }

  async function doCancel() {
    const ok = await confirmDialog(t("cp_cancel_title"), t("cp_cancel_confirm", { name: view.c.name }), { submitLabel: t("cp_cancel"), danger: true });
    if (ok) await change("cancel");
  }

  async function redeem(form) {
    const box = $("#cp-redeem-result", form);
    const code = form.elements.code.value.trim();
    if (!code) return;
    try {
      const res = await api(`/campaigns/${view.c.id}/redemptions`, { method: "POST", body: { code } });
      mount(box, t(res.already ? "cp_redeemed_already" : "cp_redeemed", { code: res.code, time: dateTime(res.redeemed_at) }));
      form.elements.code.value = "";
    } catch (err) {
      mount(box, h("span", { class: "error" }, cpErrorText(err)));
    }
  }

  function render() {
    csv.textContent = t("cp_csv");
    for (const [suffix, key] of [["prev", "pg_prev"], ["next", "pg_next"]]) {
      const button = pages.el.querySelector(`#cp-rcpt-pager-${suffix}`);
      if (button) button.textContent = t(key);
    }
    pages.el.setAttribute("aria-label", t("pg_label"));
    mount(filter, h("option", { value: "" }, t("cp_all_statuses")),
      RECIPIENT_STATUSES.map((s) => h("option", { value: s, selected: s === view.status }, label("rs", s))));
    const redeemForm = h("form", { class: "cp-redeem", id: "cp-redeem", novalidate: true },
      h("label", { for: "cp-redeem-code" }, t("cp_redeem")),
      h("input", { type: "text", id: "cp-redeem-code", name: "code", maxlength: 64, dir: "ltr", autocomplete: "off" }),
      h("button", { type: "submit", class: "secondary small" }, t("cp_redeem_submit")),
      h("span", { class: "muted small", id: "cp-redeem-result", role: "status", "aria-live": "polite" }));
    redeemForm.addEventListener("submit", (e) => {
      e.preventDefault();
      redeem(redeemForm);
    });
    mount(root,
      head, meta, controls,
      h("section", { class: "cp-section-box", "aria-labelledby": "cp-results-heading" },
        h("h2", { id: "cp-results-heading" }, t("cp_results")), tiles, reasons, redeemForm),
      h("section", { class: "cp-section-box", "aria-labelledby": "cp-rcpt-heading" },
        h("div", { class: "section-head" }, h("h2", { id: "cp-rcpt-heading" }, t("cp_recipients")),
          h("label", { class: "inline-select" }, h("span", {}, t("cp_filter_status")), filter), csv),
        error, h("div", { class: "table-wrap" }, table), pages.el));
    renderHead();
    renderResults();
    renderTable();
    csv.setAttribute("href", csvHref());
  }

  render();
  loadPage(0);
  return {
    refresh() {
      refetch();
      loadPage(view.page);
    },
    rerender() {
      render();
      pages.update({ from: view.page * PAGE, count: view.rows.length, more: Boolean(view.cursors[view.page + 1]) });
    },
    onEvent(e) {
      const p = e.payload || {};
      if (p.campaign_id !== view.c.id) return;
      if (e.type === "campaign.deleted") {
        window.location.hash = "";
        return;
      }
      const before = view.c.status;
      if (p.status) view.c.status = p.status;
      if (p.results) view.c.results = p.results;
      // A new state brings its times, a reply (campaign.replied) no counts: fetch them.
      if (view.c.status !== before || !p.results) refetch();
      renderHead();
      renderResults();
      refreshRows();
    },
  };
}
