// The supervisor page's "Overdue tasks": open tasks past their due time per team the
// supervisor may see (GET /tasks/overdue-by-team), the most overdue few of each with
// their assignee, kept current by task.* events and looked at again every minute
// (overdue is a matter of time too). Texts are put in the page as text (dom.js h()).
import { api } from "../api.js";
import { errorText } from "../dialogs.js";
import { debounce, h, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";

/** Mount into `root` (a section); `users()`: the directory; `onOpen(id)`: a conversation. */
export function overdueTasks(root, { socket, users, onOpen }) {
  const table = h("table", { class: "grid tk-sv", id: "tk-overdue-table", "aria-labelledby": "tk-sv-heading" });
  const heading = h("h2", { id: "tk-sv-heading" });
  mount(root, heading, h("div", { class: "table-wrap" }, table));
  let groups = [];
  let failed = null;

  const who = (task) => (task.assignee_user_id ? users().get(task.assignee_user_id)?.name : null) || "";
  const render = () => {
    heading.textContent = t("tk_sv_heading");
    if (failed) return void mount(table, h("tbody", {}, h("tr", {}, h("td", { class: "error" }, failed))));
    if (!groups.length) return void mount(table, h("tbody", {}, h("tr", {}, h("td", { class: "muted" }, t("tk_sv_none")))));
    mount(table,
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("tk_sv_team")), h("th", { scope: "col" }, t("tk_sv_count")), h("th", { scope: "col" }, t("tk_sv_oldest")))),
      h("tbody", {}, groups.map((g) => h("tr", { "data-team-id": g.team_id ?? "" },
        h("th", { scope: "row" }, h("bdi", { dir: "auto" }, g.team_name || t("tk_sv_no_team"))),
        h("td", { class: "num" }, String(g.overdue)),
        h("td", {}, h("ul", {}, g.items.map((task) => h("li", { "data-task-id": task.id },
          h("bdi", { dir: "auto" }, task.title), " · ", t("tk_due", { when: dateTime(task.due_at) }),
          who(task) ? h("span", {}, " · ", h("bdi", { dir: "auto" }, who(task))) : null,
          task.conversation_id ? h("span", {}, " · ", h("button", { type: "button", class: "link", on: { click: () => onOpen(task.conversation_id) } }, `#${task.conversation_id}`)) : null))))))));
  };
  const load = async () => {
    try {
      groups = await api("/tasks/overdue-by-team");
      failed = null;
    } catch (err) {
      failed = errorText(err);
    }
    render();
  };
  const soon = debounce(load, 500);
  socket.addEventListener("event", (e) => {
    if (String(e.detail.event?.type || "").startsWith("task.")) soon();
  });
  setInterval(load, 60_000);
  load();
  return { render, load };
}
