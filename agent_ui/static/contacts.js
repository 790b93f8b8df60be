// The contacts workspace (/contacts): search every customer by name, phone in any
// format, email, tag or field value (Arabic letter forms and digits fold on the hub),
// filter by tier, channel, tag and VIP, sort, page through any number of them, and
// open one to its profile. The URL hash (#contact=ID) keeps the open profile.
import { api, whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { errorText, field, modal, toast } from "./dialogs.js";
import { $, debounce, h, mount } from "./dom.js";
import { channelName, dateTime, number } from "./format.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { loadTiers, tierBadges, tierLabel, tierList } from "./crm/badges.js";
import { ProfileView } from "./crm/profile.js";

const CHANNELS = ["sms", "whatsapp", "voice", "email", "telegram", "webchat"];
const SORTS = [["created", "crm_sort_created"], ["last_contact", "crm_sort_last"], ["name", "crm_sort_name"], ["conversations", "crm_sort_conversations"]];
const PAGE = 50;

let me;
let tiers = [];
let profile;
let rows = [];
let cursor = null;
let seq = 0;

function query() {
  const form = $("#contact-search");
  return {
    q: form.elements.q.value.trim(),
    tier: form.elements.tier.value,
    channel: form.elements.channel.value,
    tag: form.elements.tag.value.trim(),
    vip: form.elements.vip.checked ? "true" : "",
    sort: form.elements.sort.value,
  };
}

let segments = [];

/** The filters as a segment stores them (hub.crm.contact_query.ContactFilter). */
function currentFilter() {
  const q = query();
  const f = {};
  for (const k of ["q", "tier", "channel", "tag"]) if (q[k]) f[k] = q[k];
  if (q.vip) f.vip = true;
  return f;
}

function applyFilter(f) {
  const form = $("#contact-search");
  form.elements.q.value = f.q || "";
  form.elements.tier.value = f.tier || "";
  form.elements.channel.value = f.channel || "";
  form.elements.tag.value = f.tag || "";
  form.elements.vip.checked = Boolean(f.vip);
}

async function loadSegments(selected = "") {
  segments = await api("/segments");
  const sel = $("#segment");
  mount(sel, h("option", { value: "" }, t("crm_segment_none")),
    segments.map((s) => h("option", { value: s.id }, t("crm_segment_count", { name: s.name, n: number(s.count ?? 0) }))));
  sel.value = String(selected);
}

function exportLink() {
  const seg = $("#segment").value;
  if (seg) return `/api/v1/segments/${seg}/export.csv`;
  const params = new URLSearchParams(Object.entries(currentFilter()).map(([k, v]) => [k, String(v)]));
  const qs = params.toString();
  return `/api/v1/contacts/export.csv${qs ? `?${qs}` : ""}`;
}

async function saveSegment() {
  const body = h("div", { class: "form-grid" },
    field(t("crm_segment_name"), h("input", { name: "name", required: true, maxlength: 120, dir: "auto" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "shared", checked: true }), " ", t("crm_segment_shared")));
  let created = null;
  const ok = await modal({
    title: t("crm_save_segment"), body, id: "segment-dialog", submitLabel: t("save"),
    onSubmit: async (form) => {
      created = await api("/segments", {
        method: "POST",
        body: { name: form.elements.name.value.trim(), shared: form.elements.shared.checked, filter: currentFilter() },
      });
    },
  });
  if (ok && created) {
    await loadSegments(created.id);
    toast(t("crm_segment_saved", { name: created.name, n: number(created.count ?? 0) }));
  }
}

function fillFilters() {
  const keep = (sel) => sel.value;
  const tierSel = $("#f-tier");
  const tierValue = keep(tierSel);
  mount(tierSel, h("option", { value: "" }, t("crm_all")), tiers.map((tier) => h("option", { value: tier.key }, tierLabel(tier.key))));
  tierSel.value = tierValue;
  const chSel = $("#f-channel");
  const chValue = keep(chSel);
  mount(chSel, h("option", { value: "" }, t("crm_all")), CHANNELS.map((c) => h("option", { value: c }, channelName(c))));
  chSel.value = chValue;
  const sortSel = $("#f-sort");
  const sortValue = keep(sortSel) || "created";
  mount(sortSel, SORTS.map(([v, key]) => h("option", { value: v }, t(key))));
  sortSel.value = sortValue;
}

function renderTable() {
  const table = $("#contact-table");
  const head = h("thead", {}, h("tr", {},
    ["crm_name", "identities", "crm_last_contact", "crm_conv_90", "crm_preferred"].map((k) => h("th", { scope: "col" }, t(k)))));
  if (!rows.length) {
    mount(table, head, h("tbody", {}, h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("crm_none_found")))));
    return;
  }
  mount(table, head, h("tbody", {}, rows.map((c) => h("tr", { "data-contact-id": c.id },
    h("td", {},
      h("a", { href: `#contact=${c.id}`, class: "contact-link" }, h("bdi", {}, c.name || t("unknown_customer"))),
      c.vip ? h("span", { class: "vip-mark", title: t("vip") }, " ★") : null,
      tierBadges(c.tiers, { small: true })),
    h("td", { class: "addresses" }, c.identities.slice(0, 2).map((i) => h("bdi", { dir: "ltr", class: "address" }, i.address))),
    h("td", {}, c.last_contact_at ? dateTime(c.last_contact_at) : "—"),
    h("td", { class: "num" }, t("crm_n_90d", { n: number(c.conversations_90d) })),
    h("td", {}, c.preferred_channel ? channelName(c.preferred_channel) : "—")))));
}

async function search({ more = false } = {}) {
  const mine = ++seq;
  const q = query();
  try {
    const page = await api("/contacts", {
      query: { ...q, limit: PAGE, cursor: more ? cursor : null, count: more ? null : "true" },
    });
    if (mine !== seq) return;
    rows = more ? [...rows, ...page.items] : page.items;
    cursor = page.next_cursor;
    if (!more) $("#contact-count").textContent = t("crm_count", { n: number(page.total ?? rows.length) });
    $("#more").hidden = !cursor;
    renderTable();
  } catch (err) {
    if (mine !== seq) return;
    mount($("#contact-count"), h("span", { class: "error" }, errorText(err)));
  }
}

function openFromHash() {
  const id = Number((window.location.hash.match(/^#contact=(\d+)$/) || [])[1]);
  const pane = $("#contacts");
  if (!id) {
    pane.dataset.view = "list";
    return;
  }
  pane.dataset.view = "profile";
  for (const tr of document.querySelectorAll("[data-contact-id]")) {
    tr.classList.toggle("current", Number(tr.dataset.contactId) === id);
  }
  profile.load(id).then(() => $("#profile-pane").focus());
}

async function main() {
  me = await whoAmI();
  setLang(me.language || initialLang());
  applyLang();
  const [fields, users] = await Promise.all([
    api("/contact-fields"), api("/users").then((page) => page.items).catch(() => []), loadTiers(),
  ]);
  tiers = tierList();
  profile = new ProfileView($("#profile"), {
    fields,
    me,
    users: new Map(users.map((u) => [u.id, u])),
    onSaved: (contact) => {
      const i = rows.findIndex((r) => r.id === contact.id);
      if (i >= 0) rows[i] = { ...rows[i], name: contact.name, vip: contact.vip, tags: contact.tags };
      renderTable();
    },
  });
  topbar({
    user: me, page: "contacts",
    onLang: () => { applyLang(); fillFilters(); renderTable(); if (profile.contact) profile.render(); },
  });
  fillFilters();
  const form = $("#contact-search");
  form.addEventListener("submit", (e) => { e.preventDefault(); search(); });
  // Editing a filter leaves the chosen segment: the list is no longer that segment.
  const edited = () => { $("#segment").value = ""; };
  form.addEventListener("input", edited);
  form.addEventListener("input", debounce(() => search(), 250));
  form.addEventListener("change", () => { edited(); search(); });
  $("#more").addEventListener("click", () => search({ more: true }));
  if (hasRole(me, "supervisor")) {
    $("#segments-bar").hidden = false;
    await loadSegments();
    $("#segment").addEventListener("change", () => {
      const seg = segments.find((s) => String(s.id) === $("#segment").value);
      if (seg) applyFilter(seg.filter);
      search();
    });
    $("#save-segment").addEventListener("click", saveSegment);
    $("#export").addEventListener("click", (e) => { e.currentTarget.href = exportLink(); });
  }
  $("#back-to-contacts").addEventListener("click", () => {
    history.replaceState(null, "", window.location.pathname);
    $("#contacts").dataset.view = "list";
    $("#q").focus();
  });
  window.addEventListener("hashchange", openFromHash);
  await search();
  openFromHash();
}

main().catch((err) => {
  console.error(err);
  toast(errorText(err), { kind: "error", ms: 60000 });
});
