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
    organization_id: form.elements.organization_id.value,
    sort: form.elements.sort.value,
  };
}

let segments = [];
let orgs = [];
let users = new Map();

async function loadOrgs() {
  orgs = (await api("/organizations", { query: { limit: 200 } })).items;
  if (profile) profile.orgs = orgs;
}

/** The organisation's central view: who they are, figures over all their contacts'
 *  conversations, their contacts and latest conversations. */
async function showOrg(id) {
  const root = $("#profile");
  mount(root, h("p", { class: "muted pad" }, t("loading")));
  try {
    const [org, members, convs] = await Promise.all([
      api(`/organizations/${id}`), api(`/organizations/${id}/contacts`), api(`/organizations/${id}/conversations`, { query: { limit: 20 } }),
    ]);
    const row = (key, value) => [h("dt", {}, t(key)), h("dd", {}, value)];
    mount(root, h("article", { class: "profile org-view", "aria-labelledby": "org-name" },
      h("header", { class: "profile-head" }, h("h2", { id: "org-name" }, h("bdi", {}, org.name)),
        hasRole(me, "supervisor") ? h("button", { type: "button", class: "secondary small", id: "edit-org", on: { click: () => editOrg(org) } }, t("edit")) : null),
      h("dl", { class: "figure-grid" },
        row("org_domains", org.domains.join(", ") || "—"),
        row("crm_owner", org.owner_id ? (users.get(org.owner_id)?.name || `#${org.owner_id}`) : "—"),
        row("org_contacts", number(org.contacts)),
        row("org_conversations", number(org.conversations)),
        row("crm_open_complaints", number(org.open_complaints)),
        row("crm_csat", org.csat_average === null ? "—" : `${number(org.csat_average)} / 5 (${number(org.csat_count)})`)),
      Object.keys(org.attributes || {}).length
        ? h("dl", { class: "figure-grid", id: "org-fields" }, Object.entries(org.attributes).flatMap(([k, v]) => [
          h("dt", {}, h("bdi", {}, k)), h("dd", {}, h("bdi", { dir: "auto" }, typeof v === "string" ? v : JSON.stringify(v)))]))
        : null,
      org.notes ? h("p", { dir: "auto" }, org.notes) : null,
      h("h3", {}, t("org_contacts")),
      h("ul", { class: "history", id: "org-members" }, members.items.map((c) => h("li", {},
        h("a", { href: `#contact=${c.id}` }, h("bdi", {}, c.name || t("unknown_customer"))), tierBadges(c.tiers, { small: true })))),
      h("h3", {}, t("org_conversations")),
      h("ul", { class: "history" }, convs.items.map((conv) => h("li", {},
        h("a", { href: `/console#c=${conv.id}` }, `#${conv.id}`), " ", channelName(conv.channel), " ",
        h("span", { class: ["status-chip", `status-${conv.status}`] }, t(`status_${conv.status}`)),
        conv.category ? h("span", { class: "muted" }, ` · ${t(`cat_${conv.category}`)}`) : null)))));
    $("#profile-pane").focus();
  } catch (err) {
    mount(root, h("p", { class: "error pad", role: "alert" }, errorText(err)));
  }
}

async function editOrg(org) {
  const body = h("div", { class: "form-grid" },
    field(t("org_name"), h("input", { name: "name", required: true, maxlength: 200, dir: "auto", value: org?.name || "" })),
    field(t("org_domains"), h("input", { name: "domains", dir: "ltr", value: (org?.domains || []).join(", ") }), t("org_domains_hint")),
    field(t("crm_owner"), h("select", { name: "owner_id" }, h("option", { value: "" }, "—"),
      [...users.values()].map((u) => h("option", { value: u.id, selected: org?.owner_id === u.id }, u.name)))),
    field(t("contact_notes"), h("textarea", { name: "notes", rows: 3, dir: "auto" })));
  body.querySelector("textarea").value = org?.notes || "";
  let saved = null;
  const ok = await modal({
    title: org ? t("org_edit", { name: org.name }) : t("org_new"), body, id: "org-dialog", submitLabel: t("save"),
    onSubmit: async (form) => {
      const data = {
        name: form.elements.name.value.trim(),
        domains: form.elements.domains.value.split(/[,\s،]+/).map((d) => d.trim()).filter(Boolean),
        owner_id: form.elements.owner_id.value ? Number(form.elements.owner_id.value) : null,
        notes: form.elements.notes.value,
      };
      saved = org
        ? await api(`/organizations/${org.id}`, { method: "PATCH", body: data })
        : await api("/organizations", { method: "POST", body: data });
    },
  });
  if (ok && saved) {
    await loadOrgs();
    fillFilters();
    window.location.hash = `#org=${saved.id}`;
    if (org) showOrg(saved.id);
  }
}

/** The filters as a segment stores them (hub.crm.contact_query.ContactFilter). */
function currentFilter() {
  const q = query();
  const f = {};
  for (const k of ["q", "tier", "channel", "tag"]) if (q[k]) f[k] = q[k];
  if (q.organization_id) f.organization_id = Number(q.organization_id);
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
  form.elements.organization_id.value = f.organization_id ? String(f.organization_id) : "";
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

/** Which channel does each segment prefer: members by their most used channel. */
async function channelPreferences() {
  let rows;
  try {
    rows = await api("/segments/channel-preferences");
  } catch (err) {
    toast(errorText(err), { kind: "error" });
    return;
  }
  const channels = [...new Set(rows.flatMap((r) => Object.keys(r.by_channel)))].sort();
  const label = (ch) => (ch === "none" ? t("seg_no_recent") : channelName(ch));
  const body = rows.length
    ? h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "prefs-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("crm_segments")), channels.map((ch) => h("th", { scope: "col" }, label(ch))))),
      h("tbody", {}, rows.map((r) => h("tr", {},
        h("th", { scope: "row" }, h("bdi", {}, r.name)),
        channels.map((ch) => {
          const n = r.by_channel[ch] || 0;
          const share = r.total ? Math.round((100 * n) / r.total) : 0;
          return h("td", { class: "num" }, `${number(n)} (${share}%)`);
        }))))))
    : h("p", { class: "muted" }, t("seg_none_saved"));
  await modal({ title: t("seg_prefs"), body, id: "prefs-dialog", wide: true, submitLabel: t("close"), cancelLabel: t("close") });
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
  const orgSel = $("#f-org");
  const orgValue = keep(orgSel);
  mount(orgSel, h("option", { value: "" }, t("crm_all")), orgs.map((o) => h("option", { value: o.id }, o.name)));
  orgSel.value = orgValue;
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

// The query the list shows (or is being fetched for). A text field's change event
// fires when it loses focus, which a click on a result does: searching again for the
// same words would redraw the table between the click's mousedown and its mouseup
// and lose the click. So typing and change events search only for a new query.
let shown = null;

async function search({ more = false, ifChanged = false } = {}) {
  const q = query();
  const key = JSON.stringify(q);
  if (ifChanged && !more && key === shown) return;
  shown = key;
  const mine = ++seq;
  try {
    const page = await api("/contacts", {
      query: { ...q, limit: PAGE, cursor: more ? cursor : null, count: more ? null : "true" },
    });
    if (mine !== seq) return;
    rows = more ? [...rows, ...page.items] : page.items;
    cursor = page.next_cursor;
    if (!more) {
      const n = number(page.total ?? rows.length);
      $("#contact-count").textContent = t("crm_count", { n: page.total_capped ? `${n}+` : n });
    }
    $("#more").hidden = !cursor;
    renderTable();
  } catch (err) {
    if (mine !== seq) return;
    mount($("#contact-count"), h("span", { class: "error" }, errorText(err)));
  }
}

function openFromHash() {
  const orgId = Number((window.location.hash.match(/^#org=(\d+)$/) || [])[1]);
  if (orgId) {
    $("#contacts").dataset.view = "profile";
    showOrg(orgId);
    return;
  }
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
  const [fields, staff] = await Promise.all([
    api("/contact-fields"), api("/users").then((page) => page.items).catch(() => []), loadTiers(), loadOrgs(),
  ]);
  users = new Map(staff.map((u) => [u.id, u]));
  tiers = tierList();
  profile = new ProfileView($("#profile"), {
    fields,
    me,
    users,
    orgs,
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
  form.addEventListener("input", debounce(() => search({ ifChanged: true }), 250));
  form.addEventListener("change", () => { edited(); search({ ifChanged: true }); });
  $("#more").addEventListener("click", () => search({ more: true }));
  if (hasRole(me, "supervisor")) {
    // Handlers first: the bar must never show buttons that do nothing yet.
    $("#segment").addEventListener("change", () => {
      const seg = segments.find((s) => String(s.id) === $("#segment").value);
      if (seg) applyFilter(seg.filter);
      search();
    });
    $("#save-segment").addEventListener("click", saveSegment);
    $("#new-org").addEventListener("click", () => editOrg(null));
    $("#channel-prefs").addEventListener("click", channelPreferences);
    $("#export").addEventListener("click", (e) => { e.currentTarget.href = exportLink(); });
    await loadSegments();
    $("#segments-bar").hidden = false;
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
