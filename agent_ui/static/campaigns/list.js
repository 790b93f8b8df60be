// The campaigns of the viewer's teams, newest first, filtered by status, with their
// headline counts kept live from the socket; "New campaign" and "Start from a
// template" (the hub's presets: win-back) open the builder.
import { api } from "../api.js";
import { modal } from "../dialogs.js";
import { debounce, h, mount } from "../dom.js";
import { shortDate } from "../format.js";
import { t } from "../i18n.js";
import { STATUSES, channelLabel, cpErrorText, ctx, label, num, statusChip, teamName } from "./common.js";

const PAGE = 50;
const COUNTS = ["recipients", "sent", "delivered", "failed", "replied"];

export function openList(root) {
  const view = { status: "", items: [], next: null };
  const filter = h("select", { id: "cp-status-filter", name: "status" });
  const table = h("table", { class: "grid cp-table", id: "cp-list" });
  const more = h("button", { type: "button", class: "secondary", id: "cp-more", hidden: true, on: { click: () => load(true) } }, t("cp_more"));
  const error = h("p", { class: "error", role: "alert", hidden: true, id: "cp-list-error" });
  filter.addEventListener("change", () => {
    view.status = filter.value;
    load(false);
  });

  function row(c) {
    const r = c.results || {};
    return h("tr", { "data-campaign-id": c.id, "data-status": c.status },
      h("th", { scope: "row" }, h("a", { href: `#c=${c.id}`, class: "cp-open" }, h("bdi", { dir: "auto" }, c.name))),
      h("td", {}, statusChip(c.status)),
      h("td", {}, c.channel === "preferred" ? t("cp_preferred_short") : channelLabel(c.channel)),
      h("td", {}, h("bdi", {}, teamName(c.team_id))),
      COUNTS.map((k) => h("td", { class: "num", "data-metric": k }, num(r[k]))),
      h("td", {}, shortDate(c.created_at)));
  }

  function render() {
    mount(filter, h("option", { value: "" }, t("cp_all_statuses")),
      STATUSES.map((s) => h("option", { value: s, selected: s === view.status }, label("status", s))));
    mount(table,
      h("caption", { class: "visually-hidden" }, t("cp_title")),
      h("thead", {}, h("tr", {},
        ["cp_col_name", "cp_col_status", "cp_col_channel", "cp_col_team"].map((k) => h("th", { scope: "col" }, t(k))),
        COUNTS.map((k) => h("th", { scope: "col", class: "num" }, label("r", k))),
        h("th", { scope: "col" }, t("cp_col_created")))),
      h("tbody", {}, view.items.length ? view.items.map(row)
        : h("tr", {}, h("td", { colspan: 5 + COUNTS.length, class: "muted" }, t("cp_none")))));
    more.hidden = !view.next;
  }

  async function load(append) {
    try {
      const res = await api("/campaigns", { query: { status: view.status || undefined, limit: PAGE, cursor: append ? view.next : undefined } });
      view.items = append ? [...view.items, ...res.items] : res.items;
      view.next = res.next_cursor ?? null;
      error.hidden = true;
      render();
    } catch (err) {
      mount(error, cpErrorText(err));
      error.hidden = false;
    }
  }
  const reload = debounce(() => load(false), 300);

  async function presets() {
    let list;
    try {
      list = await api("/campaigns/presets");
    } catch (err) {
      mount(error, cpErrorText(err));
      error.hidden = false;
      return;
    }
    const teamIds = ctx.me.role === "admin" ? [...ctx.teams.keys()] : ctx.me.team_ids || [];
    const teamChoices = teamIds.map((id) => h("option", { value: id }, ctx.teams.get(id)?.name || `#${id}`));
    if (ctx.me.role === "admin") teamChoices.unshift(h("option", { value: "" }, t("cp_no_team")));
    const body = h("div", { class: "stack" },
      h("fieldset", { class: "cp-presets" }, h("legend", {}, t("cp_presets_pick")),
        list.length ? list.map((p, i) => h("label", { class: "cp-preset", "data-preset": p.key },
          h("input", { type: "radio", name: "preset", value: p.key, checked: i === 0 }),
          h("span", {}, h("strong", {}, h("bdi", { dir: "auto" }, p.name)), h("br"), h("span", { class: "muted small", dir: "auto" }, p.description || ""))))
          : h("p", { class: "muted" }, t("cp_presets_none"))),
      h("div", { class: "field" }, h("label", { for: "cp-preset-team" }, t("cp_team")), h("select", { id: "cp-preset-team", name: "team_id" }, teamChoices)));
    let created = null;
    await modal({
      title: t("cp_presets"), body, submitLabel: t("cp_presets_use"), id: "cp-presets-dialog",
      onSubmit: async (form) => {
        const key = form.querySelector('[name="preset"]:checked')?.value;
        if (!key) throw Object.assign(new Error(t("cp_presets_none")), { fields: [] });
        const team = form.elements.team_id.value;
        try {
          created = await api(`/campaigns/presets/${encodeURIComponent(key)}`, { method: "POST", body: { team_id: team === "" ? null : Number(team) } });
        } catch (err) {
          throw Object.assign(new Error(cpErrorText(err)), { fields: err.fields });
        }
      },
    });
    if (created) window.location.hash = `#c=${created.campaign.id}`;
  }

  const frame = () => mount(root,
    h("div", { class: "cp-head" },
      h("h1", { id: "cp-title" }, t("cp_title")),
      h("div", { class: "cp-head-actions" },
        h("a", { class: "button-link primary-link", href: "#new", id: "cp-new" }, t("cp_new")),
        h("button", { type: "button", class: "secondary", id: "cp-presets", on: { click: presets } }, t("cp_presets")))),
    h("p", { class: "muted small" }, t("cp_intro")),
    h("div", { class: "cp-filters" }, h("label", { class: "inline-select" }, h("span", {}, t("cp_filter_status")), filter)),
    error,
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "cp-foot" }, more));
  frame();
  render();
  load(false);

  return {
    refresh: () => load(false),
    rerender() {
      more.textContent = t("cp_more");
      frame();
      render();
    },
    onEvent(e) {
      const p = e.payload || {};
      const c = view.items.find((x) => x.id === p.campaign_id);
      if (!c || !p.results || e.type === "campaign.created" || e.type === "campaign.deleted") {
        reload();
        return;
      }
      if (p.status) c.status = p.status;
      if (p.results) c.results = p.results;
      if (p.name) c.name = p.name;
      const tr = table.querySelector(`tr[data-campaign-id="${c.id}"]`);
      if (tr) tr.replaceWith(row(c));
    },
  };
}
