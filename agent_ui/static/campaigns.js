// Campaigns (/campaigns), for supervisors and admins (issue 17; docs/campaigns.md): the
// list of campaigns, the builder with its dry-run preview for a draft, and the live
// results of a started one. The address says which (#new, #c=ID), so a campaign is a
// link; a draft opens in the builder, any other state in its results. Live through
// the console socket: campaign.* events (campaign.progress carries the counts).
import { api, whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { $, h, mount } from "./dom.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { HubSocket } from "./socket.js";
import { openBuilder } from "./campaigns/builder.js";
import { cpErrorText, ctx } from "./campaigns/common.js";
import { openList } from "./campaigns/list.js";
import { openResults } from "./campaigns/results.js";

const socket = new HubSocket();
let view = null;
let seq = 0;

function parseHash() {
  const q = new URLSearchParams(window.location.hash.slice(1));
  if (window.location.hash === "#new") return { page: "new" };
  const id = Number(q.get("c"));
  return Number.isInteger(id) && id > 0 ? { page: "campaign", id } : { page: "list" };
}

async function route() {
  const mine = ++seq;
  const root = $("#cp-main");
  const where = parseHash();
  if (where.page === "list") {
    view = openList(root);
  } else if (where.page === "new") {
    view = openBuilder(root, null, { onGone: () => { window.location.hash = ""; } });
  } else {
    mount(root, h("p", { class: "muted" }, t("loading")));
    let c;
    try {
      c = await api(`/campaigns/${where.id}`);
    } catch (err) {
      if (mine !== seq) return;
      mount(root, h("p", { class: "error", role: "alert" }, cpErrorText(err)), h("a", { href: "#" }, t("cp_back")));
      view = null;
      return;
    }
    if (mine !== seq) return;
    view = c.status === "draft"
      ? openBuilder(root, c, { onGone: () => { window.location.hash = ""; } })
      : openResults(root, c);
  }
}

async function loadContext() {
  const [options, teams, segments] = await Promise.all([
    api("/campaigns/options"),
    api("/teams"),
    api("/segments").catch(() => []),
  ]);
  ctx.options = { channels: [], whatsapp_templates: [], variables: [], surveys: [], rates: {}, ...options };
  ctx.teams = new Map(teams.items.map((tm) => [tm.id, tm]));
  ctx.segments = segments;
}

async function main() {
  ctx.me = await whoAmI();
  ctx.socket = socket;
  setLang(ctx.me.language || initialLang());
  applyLang();
  topbar({ user: ctx.me, page: "campaigns", socket, onLang: () => { applyLang(); view?.rerender(); } });
  if (!hasRole(ctx.me, "supervisor")) {
    mount($("#cp-main"), h("p", { class: "error pad", role: "alert" }, t("err_role_required")));
    return;
  }
  await loadContext();
  socket.addEventListener("event", (e) => {
    const ev = e.detail.event;
    if (ev.type.startsWith("campaign.")) view?.onEvent(ev);
  });
  socket.addEventListener("hello", (e) => {
    // After a reconnect or a resync the counts may be stale: fetch them again (a
    // builder keeps what is being typed).
    if (e.detail.resumed || e.detail.reload) view?.refresh?.();
  });
  socket.start();
  window.addEventListener("hashchange", route);
  await route();
}

main().catch((err) => {
  console.error(err);
  mount($("#cp-main"), h("p", { class: "error pad", role: "alert" }, cpErrorText(err)));
});
