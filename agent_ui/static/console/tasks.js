// Tasks and follow-ups in the console (docs/workflow.md, "Tasks"): a "Tasks" button in
// the top bar (with the number of my overdue tasks) opens a panel with my tasks and my
// teams' tasks, filters (status, overdue), complete / reopen / delete, and for a missed
// call "Call back" (a tel: link) and "Message" (the outbound dialog). "Add task" in a
// thread opens the same form with the conversation and customer linked. Due times show
// in the viewer's time zone (format.js); task.* events keep the panel current.
// Everything a customer or colleague wrote is put in the page as text (dom.js h()).
import { api } from "../api.js";
import { confirmDialog, errorText, field, modal, toast } from "../dialogs.js";
import { debounce, h, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";
import { outboundDialog } from "./outbound.js";

const PAGE = 50;
const PRIORITIES = ["low", "normal", "high", "urgent"];
const RECURRENCES = ["none", "daily", "weekly"];

function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** "2026-01-06T09:00" from a datetime-local input: a wall-clock time, no offset. */
function localValue(input) {
  return input.value ? input.value.slice(0, 16) : null;
}

/**
 * The form for a new task. `prefill`: {conversation_id, contact_id, contact_name}.
 * ctx: {me, users(): Map, teams(): Map, zone}. Resolves with the created task or null.
 */
export async function taskDialog(prefill, ctx) {
  const me = ctx.me;
  const title = h("input", { type: "text", name: "title", id: "tk-title", maxlength: 200, required: true, dir: "auto", autocomplete: "off" });
  const description = h("textarea", { name: "description", id: "tk-description", rows: 3, maxlength: 4000, dir: "auto" });
  const colleagues = [...ctx.users().values()]
    .filter((u) => u.id !== me.id && u.active !== false && (me.role === "admin" || (u.team_ids || []).some((id) => me.team_ids.includes(id))))
    .sort((a, b) => a.name.localeCompare(b.name));
  const myTeams = [...ctx.teams().values()].filter((tm) => me.role === "admin" || me.team_ids.includes(tm.id));
  const assignee = h("select", { name: "assignee_user_id", id: "tk-assignee" },
    h("option", { value: "me" }, t("tk_assign_me")),
    myTeams.map((tm) => h("option", { value: `team:${tm.id}` }, t("tk_assign_team", { name: tm.name }))),
    colleagues.map((u) => h("option", { value: `user:${u.id}` }, u.name)));
  const due = h("input", { type: "datetime-local", name: "due_at", id: "tk-due" });
  const dueHint = h("small", { class: "hint", id: "tk-due-hint" });
  const priority = h("select", { name: "priority", id: "tk-priority" },
    PRIORITIES.map((p) => h("option", { value: p, selected: p === "normal" }, t(`tk_prio_${p}`))));
  const recurrence = h("select", { name: "recurrence", id: "tk-recurrence" },
    RECURRENCES.map((r) => h("option", { value: r }, t(`tk_rec_${r}`))));
  const syncHint = () => {
    dueHint.textContent = assignee.value.startsWith("user:") ? t("tk_due_hint_theirs") : t("tk_due_hint_mine", { zone: ctx.zone });
  };
  assignee.addEventListener("change", syncHint);
  syncHint();
  const linked = prefill?.conversation_id ? h("p", { class: "muted", id: "tk-linked" }, t("tk_linked", { id: prefill.conversation_id })) : null;
  let created = null;
  const ok = await modal({
    title: t("tk_new"),
    id: "tk-dialog",
    submitLabel: t("tk_add"),
    body: h("div", { class: "stack tk-form" },
      linked,
      field(t("tk_field_title"), title),
      field(t("tk_field_description"), description),
      field(t("tk_field_assignee"), assignee),
      h("div", { class: "field" }, h("label", { for: "tk-due" }, t("tk_field_due")), due, dueHint),
      h("div", { class: "tk-row" }, field(t("tk_field_priority"), priority), field(t("tk_field_recurrence"), recurrence))),
    onSubmit: async () => {
      const body = { title: title.value, description: description.value, priority: priority.value, recurrence: recurrence.value };
      const [kind, id] = assignee.value.split(":");
      if (kind === "me") body.assignee_user_id = me.id;
      else if (kind === "team") body.assignee_team_id = Number(id);
      else body.assignee_user_id = Number(id);
      const when = localValue(due);
      if (when) {
        body.due_at = when;
        // A colleague's task: the hub reads the time in their zone (their profile's).
        if (kind !== "user") body.timezone = ctx.zone;
      }
      if (prefill?.conversation_id) body.conversation_id = prefill.conversation_id;
      if (prefill?.contact_id) body.contact_id = prefill.contact_id;
      created = await api("/tasks", { method: "POST", body });
    },
  });
  if (ok) toast(t("tk_created_toast"));
  return ok ? created : null;
}

/** One task as a list item. */
function taskItem(task, ctx, onChange) {
  const who = task.assignee_user_id ? ctx.users().get(task.assignee_user_id)?.name
    : task.assignee_team_id ? ctx.teams().get(task.assignee_team_id)?.name : null;
  const act = (fn) => async () => {
    try {
      await fn();
      onChange();
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  };
  const open = task.status === "open";
  const zoneNote = task.due_at && task.timezone !== ctx.zone ? ` ${t("tk_zone", { zone: task.timezone })}` : "";
  const callback = task.source === "missed_call";
  const phone = callback && task.contact_phone ? String(task.contact_phone).replace(/[^+0-9]/g, "") : "";
  return h("li", { class: ["tk-item", task.overdue && "overdue", `prio-${task.priority}`], "data-task-id": task.id },
    h("div", { class: "tk-main" },
      h("p", { class: "tk-line" },
        h("strong", { class: "tk-name" }, h("bdi", { dir: "auto" }, task.title)),
        task.overdue ? h("span", { class: "tk-chip overdue" }, t("tk_overdue")) : null,
        task.priority !== "normal" ? h("span", { class: ["tk-chip", `prio-${task.priority}`] }, t(`tk_prio_${task.priority}`)) : null,
        task.source !== "manual" ? h("span", { class: "tk-chip" }, t(`tk_src_${task.source}`)) : null,
        task.recurrence !== "none" ? h("span", { class: "tk-chip" }, t(`tk_rec_${task.recurrence}`)) : null),
      h("p", { class: "tk-meta muted" },
        task.due_at ? t("tk_due", { when: dateTime(task.due_at) }) + zoneNote : t("tk_no_due"),
        who ? h("span", {}, " · ", h("bdi", { dir: "auto" }, who)) : null,
        task.contact_name ? h("span", {}, " · ", t("tk_for", { name: "" }), h("bdi", { dir: "auto" }, task.contact_name)) : null,
        task.status !== "open" ? h("span", {}, " · ", t(`tk_status_${task.status}`)) : null),
      task.description ? h("p", { class: "tk-desc", dir: "auto" }, task.description) : null),
    h("div", { class: "tk-actions" },
      open && callback && phone ? h("a", { class: "button-link small tk-call", href: `tel:${phone}`, "data-action": "call" }, t("tk_call_back")) : null,
      open && callback && task.contact_id ? h("button", {
        type: "button", class: "secondary small", "data-action": "message",
        on: { click: () => outboundDialog({ id: task.contact_id, name: task.contact_name || "" }, { onStarted: (conv) => ctx.openConversation(conv.id) }) },
      }, t("tk_message")) : null,
      task.conversation_id ? h("button", {
        type: "button", class: "secondary small", "data-action": "open",
        on: { click: () => ctx.openConversation(task.conversation_id) },
      }, t("tk_open_conv")) : null,
      open ? h("button", {
        type: "button", class: "primary small", "data-action": "complete",
        on: { click: act(async () => { await api(`/tasks/${task.id}/complete`, { method: "POST" }); toast(t("tk_completed_toast")); }) },
      }, t("tk_complete")) : h("button", {
        type: "button", class: "secondary small", "data-action": "reopen",
        on: { click: act(() => api(`/tasks/${task.id}/reopen`, { method: "POST" })) },
      }, t("tk_reopen")),
      task.created_by === ctx.me.id || ["supervisor", "admin"].includes(ctx.me.role) ? h("button", {
        type: "button", class: "link small", "data-action": "delete",
        on: { click: act(async () => { if (await confirmDialog(t("tk_delete"), t("tk_delete_confirm"), { danger: true })) await api(`/tasks/${task.id}`, { method: "DELETE" }); }) },
      }, t("tk_delete")) : null));
}

export class TasksPanel {
  /**
   * socket: the page's HubSocket; me: the signed-in user; users()/teams(): the
   * directory (Maps); openConversation(id): show a conversation in the console.
   */
  constructor({ socket, me, users, teams, openConversation }) {
    this.ctx = { me, users, teams, zone: me.timezone || browserZone(), openConversation: (id) => { this.close(); openConversation(id); } };
    this.scope = "mine";
    this.status = "open";
    this.overdueOnly = false;
    this.items = [];
    this.next = null;
    this.overdue = 0;
    this.badge = h("span", { class: "nt-badge", "aria-hidden": "true", hidden: true });
    this.button = h("button", { type: "button", class: "secondary tk-button", id: "tk-button", "aria-haspopup": "dialog", on: { click: () => this.open() } });
    this.list = h("ul", { class: "tk-list", id: "tk-list" });
    this.controls = h("div", { class: "tk-controls" });
    this.heading = h("h2", { id: "tk-heading" });
    this.closeButton = h("button", { type: "button", class: "secondary small", id: "tk-close", on: { click: () => this.close() } });
    this.newButton = h("button", { type: "button", class: "primary small", id: "tk-new", on: { click: () => this.create(null) } });
    this.dialog = h("dialog", { class: "modal wide tk-panel", id: "tk-panel", "aria-labelledby": "tk-heading" },
      h("div", { class: "tk-head" }, this.heading, this.newButton, this.closeButton), this.controls, this.list);
    this.dialog.addEventListener("close", () => this.button.focus());
    document.body.append(this.dialog);
    this.element = h("span", { class: "tk" }, this.button);
    this.refreshSoon = debounce(() => this.refresh(), 300);
    socket.addEventListener("event", (e) => {
      if (String(e.detail.event?.type || "").startsWith("task.")) this.refreshSoon();
    });
    socket.addEventListener("hello", () => this.refreshSoon());
    this.relabel();
  }

  start() {
    this.refresh();
    // Overdue is a matter of time too: look again every minute (no server timer involved).
    setInterval(() => this.refreshCount(), 60_000);
  }

  relabel() {
    this.heading.textContent = t("tk_title");
    this.closeButton.textContent = t("tk_close");
    this.newButton.textContent = t("tk_new");
    this.renderButton();
    if (this.dialog.open) this.render();
  }

  renderButton() {
    mount(this.button, t("tk_tasks"), this.badge);
    this.badge.hidden = !this.overdue;
    this.badge.textContent = String(this.overdue);
    this.button.setAttribute("aria-label", this.overdue ? t("tk_tasks_overdue", { n: this.overdue }) : t("tk_tasks"));
  }

  async refreshCount() {
    try {
      const page = await api("/tasks", { query: { scope: "mine", overdue: true, limit: 200 } });
      this.overdue = page.items.length;
      this.renderButton();
    } catch (err) {
      console.warn("tasks", err);
    }
  }

  async refresh() {
    await this.refreshCount();
    if (this.dialog.open) await this.load();
  }

  async load({ more = false } = {}) {
    const query = { scope: this.scope, status: this.status, limit: PAGE };
    if (this.overdueOnly) query.overdue = true;
    if (more && this.next !== null) query.cursor = this.next;
    try {
      const page = await api("/tasks", { query });
      this.items = more ? [...this.items, ...page.items] : page.items;
      this.next = page.next_cursor;
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
    this.render();
  }

  async open() {
    if (!this.dialog.open) this.dialog.showModal();
    this.render();
    await this.load();
    this.list.querySelector("button")?.focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  async create(prefill) {
    const task = await taskDialog(prefill, this.ctx);
    if (task) await this.refresh();
    return task;
  }

  /** The thread's "Add task" button for conversation `c`. */
  addButton(c) {
    return h("button", {
      type: "button", class: "secondary", id: "thread-add-task",
      on: { click: () => this.create({ conversation_id: c.id, contact_id: c.contact_id }) },
    }, t("tk_add"));
  }

  render() {
    const tab = (scope, label) => h("button", {
      type: "button", class: ["toggle", "small"], "aria-pressed": String(this.scope === scope), "data-scope": scope,
      on: { click: () => { this.scope = scope; this.load(); } },
    }, t(label));
    const status = h("select", { id: "tk-status", "aria-label": t("tk_status"), on: { change: () => { this.status = status.value; this.load(); } } },
      ["open", "done", "cancelled", "any"].map((s) => h("option", { value: s, selected: s === this.status }, t(`tk_status_${s}`))));
    const overdue = h("input", { type: "checkbox", id: "tk-overdue", checked: this.overdueOnly, on: { change: () => { this.overdueOnly = overdue.checked; this.load(); } } });
    mount(this.controls,
      h("div", { class: "tk-tabs", role: "group" }, tab("mine", "tk_mine"), tab("team", "tk_team"), tab("created", "tk_created")),
      status,
      h("label", { class: "tk-check", for: "tk-overdue" }, overdue, t("tk_overdue_only")));
    const onChange = () => this.refresh();
    mount(this.list,
      this.items.length ? this.items.map((task) => taskItem(task, this.ctx, onChange)) : h("li", { class: "muted tk-empty" }, t("tk_empty")),
      this.next !== null ? h("li", {}, h("button", { type: "button", class: "link", on: { click: () => this.load({ more: true }) } }, t("tk_more"))) : null);
  }
}
