// Admin pages: users (with skills, languages and capacities), teams (routing policy,
// business hours, members), canned responses, and the customer memory's custom
// fields, tiers and CSV import, the complaint options and the surveys — full CRUD over
// the REST API. Sections are chosen by the URL hash (#users, #teams, #canned, #fields,
// #tiers, #import, #complaints, #surveys, #schedules: scheduled report mails, #labels:
// conversation labels, #audit: the audit log, #start: the first-run checklist, shown
// first while the hub has no team, agents or channel).
import { whoAmI } from "./api.js";
import { hasRole, topbar } from "./chrome.js";
import { errorText, toast } from "./dialogs.js";
import { $, h, mount } from "./dom.js";
import { applyLang, initialLang, setLang, t } from "./i18n.js";
import { usersSection } from "./admin/users.js";
import { teamsSection } from "./admin/teams.js";
import { cannedSection } from "./admin/canned.js";
import { fieldsSection, importSection, tiersSection } from "./admin/crm.js";
import { complaintOptionsSection, surveysSection } from "./admin/care.js";
import { reportSchedulesSection } from "./admin/reports.js";
import { labelsSection } from "./admin/labels.js";
import { auditSection } from "./admin/audit.js";
import { macrosSection, rulesSection } from "./admin/rules.js";
import { checklistSection, loadChecklist } from "./admin/checklist.js";

const SECTIONS = [
  { id: "start", key: "fr_tab", role: "admin", build: checklistSection },
  { id: "users", key: "adm_users", role: "admin", build: usersSection },
  { id: "teams", key: "adm_teams", role: "admin", build: teamsSection },
  { id: "canned", key: "adm_canned", role: "supervisor", build: cannedSection },
  { id: "labels", key: "adm_labels", role: "admin", build: labelsSection },
  { id: "fields", key: "adm_fields", role: "admin", build: fieldsSection },
  { id: "tiers", key: "adm_tiers", role: "admin", build: tiersSection },
  { id: "import", key: "adm_import", role: "admin", build: importSection },
  { id: "complaints", key: "adm_complaints", role: "admin", build: complaintOptionsSection },
  { id: "surveys", key: "adm_surveys", role: "admin", build: surveysSection },
  { id: "schedules", key: "adm_schedules", role: "admin", build: reportSchedulesSection },
  { id: "rules", key: "ru_tab", role: "admin", build: rulesSection },
  { id: "macros", key: "ru_macros_tab", role: "supervisor", build: macrosSection },
  { id: "audit", key: "aud_tab", role: "admin", build: auditSection },
];

let me;
let setUp = true; // false while the first-run checklist has steps left (admins)

function allowed() {
  // The checklist tab only while something is left to do (or while it is open).
  return SECTIONS.filter((s) => hasRole(me, s.role) && (s.id !== "start" || !setUp || window.location.hash === "#start"));
}

function renderNav(active) {
  const nav = $("#admin-tabs");
  const heading = $("#admin-heading");
  mount(nav, heading, h("ul", {}, allowed().map((s) =>
    h("li", {}, h("a", { href: `#${s.id}`, "aria-current": s.id === active ? "page" : null, class: s.id === active ? "active" : null }, t(s.key))))));
}

async function show() {
  const sections = allowed();
  if (!sections.length) {
    mount($("#admin-main"), h("p", { class: "error", role: "alert" }, t("err_role_required")));
    return;
  }
  const wanted = window.location.hash.slice(1);
  // An empty hub opens on the checklist; otherwise the first section (users).
  const section = sections.find((s) => s.id === wanted) || (!setUp && sections.find((s) => s.id === "start")) ||
    sections.find((s) => s.id !== "start") || sections[0];
  renderNav(section.id);
  // Each showing builds into an element of its own: a section still loading when
  // another is chosen (a quick second click, a link to #import while the first tab
  // loads) finishes into an element no longer on the page, not over the later one.
  const main = h("div", { class: "admin-section", "data-section": section.id });
  mount($("#admin-main"), main);
  mount(main, h("p", { class: "muted" }, t("loading")));
  try {
    await section.build(main, { me });
  } catch (err) {
    mount(main, h("p", { class: "error", role: "alert" }, errorText(err)));
  }
}

async function main() {
  me = await whoAmI();
  setLang(me.language || initialLang());
  applyLang();
  topbar({ user: me, page: "admin", onLang: () => { applyLang(); show(); } });
  if (hasRole(me, "admin")) setUp = (await loadChecklist().catch(() => ({ complete: true }))).complete;
  window.addEventListener("hashchange", () => {
    show();
    $("#admin-main").focus();
  });
  await show();
}

main().catch((err) => {
  console.error(err);
  toast(errorText(err), { kind: "error", ms: 60000 });
});
