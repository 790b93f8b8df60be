// Scheduled report mails (admins): daily or weekly summaries mailed to chosen
// supervisors and admins at a local hour; create, edit, delete and send one now.
import { api } from "../api.js";
import { confirmDialog, errorText, field, modal, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { getLang, locale, t } from "../i18n.js";
import { checkbox, input, select } from "./forms.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

/** A moment on the schedule's own clock (that is where "08:00" means something). */
function inZone(iso, timeZone) {
  if (!iso) return "—";
  try {
    return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short", timeZone }).format(Date.parse(iso));
  } catch {
    return dateTime(iso);
  }
}

function when(row) {
  const time = `${String(row.hour).padStart(2, "0")}:00`;
  return row.frequency === "weekly"
    ? t("sch_when_weekly", { day: t(`day_${DAYS[row.weekday] || "mon"}`), time })
    : t("sch_when_daily", { time });
}

export async function reportSchedulesSection(root) {
  const [users, teams] = (await Promise.all([api("/users"), api("/teams")])).map((p) => p.items);
  const userName = new Map(users.map((u) => [u.id, u.name]));
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  const tbody = h("tbody");

  async function load() {
    const rows = (await api("/reports/schedules")).items;
    mount(tbody, rows.length ? rows.map((r) => h("tr", { "data-schedule-id": r.id, class: r.enabled ? null : "inactive" },
      h("th", { scope: "row" }, h("bdi", {}, r.name)),
      h("td", {}, when(r), " ", h("bdi", { dir: "ltr" }, r.timezone)),
      h("td", {}, r.team_id ? h("bdi", {}, teamName.get(r.team_id) || `#${r.team_id}`) : t("sch_all_visible")),
      h("td", {}, r.recipients.map((id) => userName.get(id) || `#${id}`).join(", ")),
      h("td", {}, r.language === "ar" ? "العربية" : "English"),
      h("td", { class: "sch-next" }, r.enabled ? inZone(r.next_run_at, r.timezone) : t("sch_off")),
      h("td", { class: "sch-last" }, r.last_run_at ? `${inZone(r.last_run_at, r.timezone)} · ${r.last_status || ""}` : "—"),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary small", "data-edit": r.id, on: { click: async () => { if (await edit(r)) load(); } } }, t("edit")),
        h("button", { type: "button", class: "secondary small", "data-send": r.id, on: { click: () => sendNow(r) } }, t("sch_send_now")),
        h("button", {
          type: "button", class: "danger small", "data-delete": r.id,
          on: {
            click: async () => {
              if (!(await confirmDialog(t("sch_delete_title"), t("sch_delete", { name: r.name }), { submitLabel: t("delete"), danger: true }))) return;
              try {
                await api(`/reports/schedules/${r.id}`, { method: "DELETE" });
                load();
              } catch (err) {
                toast(errorText(err), { kind: "error" });
              }
            },
          },
        }, t("delete")))))
      : h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("sch_none"))));
  }

  async function sendNow(row) {
    try {
      const res = await api(`/reports/schedules/${row.id}/send-now`, { method: "POST" });
      toast(res.skipped.length ? t("sch_sent_skipped", { n: res.queued, skipped: res.skipped.length }) : t("sch_sent", { n: res.queued }));
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  function edit(row) {
    // Active supervisors and admins, plus anyone the schedule still names (to remove).
    const chosen = new Set(row?.recipients || []);
    const people = users.filter((u) => (u.active && u.role !== "agent") || chosen.has(u.id));
    const recipients = h("fieldset", { class: "checks", name: "recipients" }, h("legend", {}, t("sch_recipients")),
      people.length
        ? people.map((u) => checkbox("recipient", chosen.has(u.id), h("bdi", {}, `${u.name} (${t(`role_${u.role}`)})`), { value: u.id }))
        : h("span", { class: "muted" }, t("none")));
    const frequency = select("frequency", [["daily", t("sch_daily")], ["weekly", t("sch_weekly")]], row?.frequency || "daily");
    const weekday = select("weekday", DAYS.map((d, i) => [i, t(`day_${d}`)]), row?.weekday ?? 0);
    const weekdayField = field(t("sch_weekday"), weekday);
    const showWeekday = () => { weekdayField.hidden = frequency.value !== "weekly"; };
    frequency.addEventListener("change", showWeekday);
    const zoneList = h("datalist", { id: "sch-zones" }, zones().map((z) => h("option", { value: z })));
    const body = h("div", { class: "form-grid" },
      field(t("sch_name"), input("name", row?.name || "", { required: true, maxlength: 120 })),
      field(t("sch_frequency"), frequency),
      weekdayField,
      field(t("sch_hour"), h("input", { type: "number", name: "hour", min: 0, max: 23, step: 1, value: row?.hour ?? 8 }), t("sch_hour_hint")),
      field(t("sch_timezone"), input("timezone", row?.timezone || localZone(), { dir: "ltr", list: "sch-zones", maxlength: 64, autocomplete: "off" }), t("sch_timezone_hint")),
      zoneList,
      field(t("team"), select("team_id", [["", t("sch_all_visible")], ...teams.map((tm) => [tm.id, tm.name])], row?.team_id ?? "")),
      field(t("language"), select("language", [["en", "English"], ["ar", "العربية"]], row?.language || getLang())),
      checkbox("enabled", row ? row.enabled : true, t("sch_enabled")),
      recipients,
      h("p", { class: "hint sch-scope" }, t("sch_scope_hint")));
    showWeekday();
    return modal({
      title: row ? t("sch_edit", { name: row.name }) : t("sch_new"), body, wide: true, id: "schedule-dialog",
      submitLabel: row ? t("save") : t("create"),
      onSubmit: async (form) => {
        const hour = form.elements.hour.value.trim();
        const data = {
          name: form.elements.name.value.trim(),
          frequency: form.elements.frequency.value,
          weekday: form.elements.frequency.value === "weekly" ? Number(form.elements.weekday.value) : null,
          // A blank or odd hour goes to the hub as it is: its field error says why.
          hour: /^-?\d+$/.test(hour) ? Number(hour) : -1,
          timezone: form.elements.timezone.value.trim(),
          team_id: form.elements.team_id.value ? Number(form.elements.team_id.value) : null,
          language: form.elements.language.value,
          enabled: form.elements.enabled.checked,
          recipients: [...form.querySelectorAll('input[name="recipient"]:checked')].map((el) => Number(el.value)),
        };
        if (row) await api(`/reports/schedules/${row.id}`, { method: "PATCH", body: data });
        else await api("/reports/schedules", { method: "POST", body: data });
      },
    });
  }

  mount(root,
    h("div", { class: "section-head" },
      h("h2", {}, t("adm_schedules")),
      h("button", { type: "button", class: "primary", id: "new-schedule", on: { click: async () => { if (await edit(null)) load(); } } }, t("sch_new"))),
    h("p", { class: "muted" }, t("sch_intro")),
    h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "schedules-table" },
      h("thead", {}, h("tr", {}, ["sch_name", "sch_when", "team", "sch_recipients", "language", "sch_next", "sch_last", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      tbody)));
  await load();
}
