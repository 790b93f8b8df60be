// First-run checklist: while the hub has no team, no agents or no connected channel,
// an admin sees what to do next — on the admin page (#start, the first section then)
// and in the console instead of an empty thread. Each step ticks live: team.updated
// and user.updated events refetch GET /setup/checklist.
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { number } from "../format.js";
import { t } from "../i18n.js";
import { HubSocket } from "../socket.js";

const GUIDES = ["webchat", "email", "telegram", "twilio"];
const ACTIONS = { team: "/admin#teams", agents: "/admin#users" };

export async function loadChecklist() {
  return api("/setup/checklist");
}

/** The checklist as an element (`data.complete` decides whether to show it at all). */
export function checklistView(data, { headingLevel = "h2" } = {}) {
  const steps = data.steps.map((st) => {
    const mark = h("span", { class: ["fr-mark", st.done ? "done" : "todo"], "aria-hidden": "true" }, st.done ? "✓" : String(data.steps.indexOf(st) + 1));
    const links = st.key === "channel"
      ? h("ul", { class: "fr-guides" }, GUIDES.map((g) => h("li", {},
        h("a", { href: `/api/v1/setup/guides/${g}`, target: "_blank", rel: "noopener", "data-guide": g }, t(`fr_guide_${g}`)))))
      : h("a", { href: ACTIONS[st.key], class: "button-link", "data-action": st.key }, t(`fr_go_${st.key}`));
    return h("li", { class: ["fr-step", st.done && "done"], "data-step": st.key, "data-done": String(st.done) },
      mark,
      h("div", { class: "fr-body" },
        h("strong", {}, t(`fr_step_${st.key}`)),
        " ",
        h("span", { class: "fr-state" }, st.done ? t("fr_done", { n: number(st.count) }) : t("fr_todo")),
        h("p", { class: "muted" }, t(`fr_help_${st.key}`)),
        st.done && st.key !== "channel" ? null : links));
  });
  return h("section", { class: "first-run", id: "first-run", "aria-labelledby": "first-run-title" },
    h(headingLevel, { id: "first-run-title" }, t(data.complete ? "fr_title_done" : "fr_title")),
    h("p", {}, t(data.complete ? "fr_intro_done" : "fr_intro")),
    h("ol", { class: "fr-steps" }, steps));
}

/** Keep `render` fed with fresh checklist data while the page is open. */
export function watchChecklist(render, socket = null) {
  let own = null;
  const source = socket || (own = new HubSocket());
  let pending = null;
  source.addEventListener("event", (e) => {
    const type = e.detail?.event?.type;
    if (type !== "team.updated" && type !== "user.updated") return;
    clearTimeout(pending);
    pending = setTimeout(async () => {
      try {
        render(await loadChecklist());
      } catch (err) {
        console.warn("checklist", err);
      }
    }, 150);
  });
  if (own) own.start();
  return () => own?.stop?.();
}

/** The admin section (#start). */
export async function checklistSection(root) {
  const render = (data) => {
    if (!root.isConnected || !root.querySelector("#first-run")) return;
    mount(root, checklistView(data));
  };
  mount(root, checklistView(await loadChecklist()));
  stopWatching?.();
  stopWatching = watchChecklist(render);
}
let stopWatching = null;

let consoleWatching = false;

/** Console: while the hub is not set up, an admin's empty thread pane shows the
 *  checklist (it stays until a conversation is opened; ticks live on `socket`). */
export async function firstRunInto(list, socket) {
  let data;
  try {
    data = await loadChecklist();
  } catch {
    return; // not an admin after all, or offline: the ordinary empty thread stays
  }
  const show = (d) => {
    // Only over the empty state: never over a conversation opened meanwhile.
    if (!list.querySelector(":scope > .item.empty, #first-run")) return;
    if (d.complete && !list.querySelector("#first-run")) return;
    mount(list, h("li", { class: "item empty first-run-item" }, checklistView(d)));
  };
  if (data.complete) return;
  show(data);
  if (!consoleWatching) {
    consoleWatching = true;
    watchChecklist(show, socket);
  }
}
