// Conversation search, filters and saved views over the console's list.
//
// A search box and a filter bar sit above the tabs; the saved views below them, each
// with its count. While a search or a filter is set, the list shows the hub's results
// (GET /search/conversations: every conversation you may see, newest activity first,
// with the message that matched) instead of the tabs; Clear brings the tabs back.
//
// Live: the hub pushes no counts. When an event that can change what a view or the
// results hold arrives (a conversation's status, team, assignee, labels; a new
// message), this console asks again once events have been quiet for 1.5 s (at least
// every 5 s under a steady stream; not at all while the tab is hidden, once when it
// shows again): GET /views answers one capped COUNT per view, GET
// /search/conversations the first pages again. A console with no view and no search
// asks nothing on events, only once a minute (a view shared with it meanwhile).
// Words are found through the hub's text indexes, which follow the log a little
// behind (hundreds of milliseconds under load): each answer says how far they had
// got (indexed_through), and while that is before the last event this console reacted
// to, a view or search with words in it asks again shortly, so a count never stays
// short of a message the console has seen.
import { api } from "../api.js";
import { hasRole } from "../chrome.js";
import { confirmDialog, errorText, modal, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { channelName } from "../format.js";
import { t } from "../i18n.js";
import { allLabels, labelName } from "./labels.js";
import { OPEN, renderItem } from "./list.js";

const CHANNELS = ["sms", "whatsapp", "telegram", "email", "voice", "webchat"];
const STATUSES = ["queued", "offered", "assigned", "waiting_on_customer", "snoozed", "resolved", "abandoned"];
const CLOSED = ["resolved", "abandoned"];
const CATEGORIES = ["inquiry", "complaint", "suggestion", "order", "other"];
const PAGE = 50;
const TYPING_MS = 250; // a pause in typing runs the search
const EVENTS_MS = 1500; // events quiet for this long: ask again
const EVENTS_MAX_MS = 5000; // a steady stream of events: ask at least this often
const IDLE_REFRESH_MS = 60_000; // and now and then anyway (events this socket never sees)
const INDEX_RETRY_MS = 500; // the text indexes were behind the events seen: ask again
const INDEX_RETRIES = 20; // for at most this many times in a row (10 s)

/** Run `fn` `wait` ms after the last call, but at least every `maxWait` ms while calls keep coming. */
function coalesce(fn, wait, maxWait) {
  let timer = null;
  let first = 0;
  const run = () => {
    clearTimeout(timer);
    timer = null;
    first = 0;
    fn();
  };
  return () => {
    const now = Date.now();
    if (!first) first = now;
    clearTimeout(timer);
    timer = setTimeout(run, Math.max(0, Math.min(wait, first + maxWait - now)));
  };
}

/** Does this event change what a view counts or a search finds? */
function relevant(type) {
  return type.startsWith("conversation.") || type === "message.received" || type === "message.created";
}

/** A stable text of a filter object (key order and empty values do not matter). */
function canonical(f) {
  const out = {};
  for (const key of Object.keys(f || {}).sort()) {
    const v = f[key];
    if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)) continue;
    out[key] = Array.isArray(v) ? [...v].map(String).sort() : v;
  }
  return JSON.stringify(out);
}

function sameList(a, b) {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

/** A local calendar day (from <input type=date>) as the UTC instant of its start. */
function dayStart(value, plusDays = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

function localDay(iso, minusDays = 0) {
  const at = new Date(Date.parse(iso));
  at.setDate(at.getDate() - minusDays);
  const pad = (n) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

export class SearchPanel {
  /**
   * `state`: the console's state (me, teams, users, convs, currentId); `listEl`: the
   * conversation list it renders results into; `renderList()`: the console's own
   * list rendering (tabs or results); `socket`: the page's HubSocket.
   */
  constructor({ state, listEl, renderList, socket }) {
    this.state = state;
    this.listEl = listEl;
    this.renderList = renderList;
    this.rows = [];
    this.next = null;
    this.total = null;
    this.capped = false;
    this.loading = false;
    this.seq = 0;
    this.viewId = null;
    this.views = [];
    this.applied = "{}"; // canonical() of the filters the results are for
    this.pane = listEl.closest(".list-pane");
    this.build();
    this.runSoon = (() => {
      let timer = null;
      return () => {
        clearTimeout(timer);
        timer = setTimeout(() => this.run(), TYPING_MS);
      };
    })();
    this.stale = false; // events came while the tab was hidden
    const refresh = () => {
      if (document.visibilityState !== "visible") {
        this.stale = true;
        return;
      }
      this.loadViews();
      if (this.active) this.run({ keep: true });
    };
    this.refreshSoon = coalesce(refresh, EVENTS_MS, EVENTS_MAX_MS);
    this.seenEvent = 0; // the last event id that made this console ask again
    this.indexRetries = { views: 0, search: 0 };
    socket.addEventListener("event", (e) => {
      const event = e.detail.event;
      if (!relevant(event.type)) return;
      this.seenEvent = Math.max(this.seenEvent, Number(event.id) || 0);
      if (this.views.length || this.active) this.refreshSoon();
    });
    socket.addEventListener("hello", () => this.refreshSoon());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.stale) {
        this.stale = false;
        this.refreshSoon();
      }
    });
    setInterval(refresh, IDLE_REFRESH_MS);
    this.listEl.addEventListener("keydown", (e) => this.listKeys(e));
    this.loadViews();
  }

  // --- the bar ------------------------------------------------------------------------
  build() {
    this.q = h("input", {
      type: "search", id: "search-q", name: "q", maxlength: 200, autocomplete: "off", enterkeyhint: "search",
      "aria-keyshortcuts": "/", "aria-controls": "conv-list",
    });
    this.q.addEventListener("input", () => {
      this.edited();
      this.runSoon();
    });
    this.q.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.run();
      } else if (e.key === "Escape" && this.q.value) {
        e.preventDefault();
        this.q.value = "";
        this.edited();
        this.run();
      } else if (e.key === "ArrowDown" && this.active) {
        e.preventDefault();
        this.move(1);
      }
    });
    this.toggle = h("button", {
      type: "button", class: "secondary small", id: "search-filters-toggle", "aria-expanded": "false",
      "aria-controls": "search-filters",
    });
    this.toggle.addEventListener("click", () => this.showFilters(this.filtersEl.hidden));
    this.clearBtn = h("button", { type: "button", class: "secondary small", id: "search-clear", hidden: true });
    this.clearBtn.addEventListener("click", () => this.clear({ focus: true }));
    this.filtersEl = h("div", { class: "search-filters", id: "search-filters", role: "group", hidden: true });
    this.summary = h("p", { class: "search-summary muted", id: "search-summary", role: "status", "aria-live": "polite" });
    this.saveBtn = h("button", { type: "button", class: "secondary small", id: "search-save", hidden: true });
    this.saveBtn.addEventListener("click", () => this.saveDialog());
    this.moreBtn = h("button", { type: "button", class: "secondary small search-more", id: "search-more", hidden: true });
    this.moreBtn.addEventListener("click", () => this.run({ more: true }));
    this.resultsBar = h("div", { class: "search-results-bar", hidden: true }, this.summary, this.saveBtn);
    this.bar = h("div", { class: "search-bar", id: "search-bar" },
      h("div", { class: "search-row", role: "search" },
        h("label", { class: "visually-hidden", for: "search-q", id: "search-q-label" }),
        this.q, this.toggle, this.clearBtn),
      this.filtersEl);
    this.viewList = h("ul", { class: "view-list", id: "view-list" });
    this.viewsTitle = h("summary", { id: "views-title" });
    this.viewsEl = h("details", { class: "views", id: "views", open: true }, this.viewsTitle, this.viewList);
    const tabs = this.pane.querySelector(".tabs");
    tabs.before(this.bar, this.viewsEl);
    this.listEl.before(this.resultsBar);
    this.listEl.after(this.moreBtn);
    this.buildFilters();
    this.relabel();
  }

  select(name, label, options) {
    const id = `search-${name}`;
    const el = h("select", { id, name }, options.map(([value, text]) => h("option", { value }, text)));
    el.addEventListener("change", () => {
      this.edited();
      this.run();
    });
    return h("label", { class: "search-field", for: id }, h("span", {}, label), el);
  }

  /** The filter bar, in the UI's language; keeps the values already chosen. */
  buildFilters() {
    const before = this.filtersEl.childElementCount ? this.formFilters() : null;
    const me = this.state.me;
    const teams = [...this.state.teams.values()].filter((tm) => me.role === "admin" || me.team_ids.includes(tm.id));
    const users = [...this.state.users.values()].filter((u) => u.active !== false);
    const any = ["", t("sr_any")];
    this.dateInputs = {
      from: h("input", { type: "date", id: "search-from", name: "from" }),
      to: h("input", { type: "date", id: "search-to", name: "to" }),
    };
    for (const input of Object.values(this.dateInputs)) {
      input.addEventListener("change", () => {
        this.edited();
        this.run();
      });
    }
    mount(this.filtersEl,
      this.select("status", t("sr_status"), [any, ["open", t("sr_status_open")],
        ...STATUSES.map((s) => [s, t(`status_${s}`)]), ["closed", t("sr_status_closed")]]),
      this.select("channel", t("sr_channel"), [any, ...CHANNELS.map((c) => [c, channelName(c)])]),
      this.select("team", t("sr_team"), [any, ...teams.map((tm) => [String(tm.id), tm.name])]),
      this.select("assignee", t("sr_assignee"), [any, ["me", t("sr_assignee_me")],
        ["unassigned", t("sr_assignee_unassigned")], ...users.map((u) => [String(u.id), u.name])]),
      this.select("label", t("sr_label"), [any, ...allLabels().map((l) => [l.key, labelName(l.key)])]),
      this.select("category", t("sr_category"), [any, ...CATEGORIES.map((c) => [c, t(`cat_${c}`)])]),
      this.select("priority", t("sr_priority"), [any, ["raised", t("sr_priority_raised")],
        ["normal", t("sr_priority_normal")], ["lowered", t("sr_priority_lowered")]]),
      this.select("date", t("sr_date"), [["created", t("sr_date_created")], ["active", t("sr_date_active")]]),
      h("label", { class: "search-field", for: "search-from" }, h("span", {}, t("sr_from")), this.dateInputs.from),
      h("label", { class: "search-field", for: "search-to" }, h("span", {}, t("sr_to")), this.dateInputs.to));
    this.filtersEl.setAttribute("aria-label", t("sr_filter_bar"));
    if (before) this.setForm(before);
  }

  field(name) {
    return this.filtersEl.querySelector(`[name="${name}"]`);
  }

  /** The filters the form shows, as the hub's ConversationFilter (without the text). */
  formFilters() {
    const f = {};
    const value = (name) => this.field(name)?.value || "";
    const many = (v) => (v.startsWith("[") ? JSON.parse(v) : [v]);
    const status = value("status");
    if (status === "open") f.status = [...OPEN];
    else if (status === "closed") f.status = [...CLOSED];
    else if (status) f.status = many(status);
    if (value("channel")) f.channel = many(value("channel"));
    if (value("team")) f.team_id = many(value("team")).map(Number);
    const assignee = value("assignee");
    if (assignee) f.assignee = assignee === "me" || assignee === "unassigned" ? assignee : Number(assignee);
    if (value("label")) f.label = value("label");
    if (value("category")) f.category = many(value("category"));
    const priority = value("priority");
    if (priority === "raised") f.priority_min = 1;
    else if (priority === "lowered") f.priority_max = -1;
    else if (priority === "normal") Object.assign(f, { priority_min: 0, priority_max: 0 });
    else if (priority.startsWith("{")) Object.assign(f, JSON.parse(priority));
    const field = value("date") === "active" ? "active" : "created";
    if (this.dateInputs.from.value) f[`${field}_after`] = dayStart(this.dateInputs.from.value);
    if (this.dateInputs.to.value) f[`${field}_before`] = dayStart(this.dateInputs.to.value, 1);
    return f;
  }

  /** The agent changed the search: what shows is no longer the open view. */
  edited() {
    if (this.viewId === null) return;
    this.viewId = null;
    this.renderViews();
  }

  /** What to search: the open view's own filters (exactly as saved), else the form's. */
  filters() {
    const view = this.viewId !== null ? this.views.find((v) => v.id === this.viewId) : null;
    if (view) return view.filters;
    const f = this.formFilters();
    const q = this.q.value.trim();
    return q ? { q, ...f } : f;
  }

  /** Show `f` (a view's filters) in the form; values the form has no option for get one. */
  setForm(f) {
    const put = (name, value, text) => {
      const el = this.field(name);
      if (!el) return;
      if (value && ![...el.options].some((o) => o.value === value)) el.append(h("option", { value }, text || value));
      el.value = value;
    };
    const list = (name, values, names) => {
      if (!values?.length) return put(name, "");
      if (values.length === 1) return put(name, String(values[0]), names(values[0]));
      return put(name, JSON.stringify(values), values.map(names).join(", "));
    };
    const status = f.status || [];
    if (status.length && sameList(status, [...OPEN])) put("status", "open");
    else if (status.length && sameList(status, CLOSED)) put("status", "closed");
    else list("status", status, (s) => t(`status_${s}`));
    list("channel", f.channel, channelName);
    list("team", f.team_id, (id) => this.state.teams.get(id)?.name || `#${id}`);
    const a = f.assignee;
    put("assignee", a === undefined || a === null ? "" : String(a), this.state.users.get(a)?.name || `#${a}`);
    put("label", f.label || "", f.label ? labelName(f.label) : "");
    list("category", f.category, (c) => t(`cat_${c}`));
    const { priority_min: lo, priority_max: hi } = f;
    let priority = "";
    if (lo === 1 && hi === undefined) priority = "raised";
    else if (hi === -1 && lo === undefined) priority = "lowered";
    else if (lo === 0 && hi === 0) priority = "normal";
    else if (lo !== undefined || hi !== undefined) {
      const range = {};
      if (lo !== undefined) range.priority_min = lo;
      if (hi !== undefined) range.priority_max = hi;
      priority = JSON.stringify(range);
      put("priority", priority, `${lo ?? "…"} – ${hi ?? "…"}`);
    }
    put("priority", priority);
    const active = f.active_after || f.active_before;
    put("date", active ? "active" : "created");
    const after = active ? f.active_after : f.created_after;
    const before = active ? f.active_before : f.created_before;
    this.dateInputs.from.value = after ? localDay(after) : "";
    this.dateInputs.to.value = before ? localDay(before, 1) : "";
  }

  showFilters(open) {
    this.filtersEl.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    if (open) this.filtersEl.querySelector("select")?.focus();
  }

  /** Labels in the UI's language (after a language switch). */
  relabel() {
    this.q.placeholder = t("sr_placeholder");
    this.q.setAttribute("aria-label", t("sr_search"));
    this.bar.querySelector("#search-q-label").textContent = t("sr_search");
    this.clearBtn.textContent = t("sr_clear");
    this.clearBtn.setAttribute("aria-label", t("sr_clear_search"));
    this.saveBtn.textContent = t("sr_save_view");
    this.moreBtn.textContent = t("sr_more");
    this.viewsTitle.textContent = t("sr_views");
    this.buildFilters();
    this.updateChrome();
    this.renderViews();
    if (this.active) this.render();
  }

  // --- searching ----------------------------------------------------------------------
  /** A search or a filter is set: the list shows results, not the tabs. */
  get active() {
    return this.applied !== "{}";
  }

  updateChrome() {
    const n = Object.keys(this.formFilters()).length;
    this.toggle.textContent = n ? t("sr_filters_n", { n }) : t("sr_filters");
    const active = this.active;
    this.clearBtn.hidden = !active;
    this.resultsBar.hidden = !active;
    this.saveBtn.hidden = !active || this.viewId !== null;
    this.moreBtn.hidden = !active || !this.next;
    this.pane.classList.toggle("searching", active);
    for (const el of [this.pane.querySelector(".tabs"), document.getElementById("list-filter")]) {
      if (el) el.hidden = active;
    }
    if (active) this.listEl.setAttribute("aria-label", t("sr_results_label"));
    else this.listEl.removeAttribute("aria-label");
    if (!active) return;
    let text;
    if (this.loading && !this.rows.length) text = t("sr_searching");
    else if (this.capped) text = t("sr_results_capped", { n: this.total });
    else if (this.total === 1) text = t("sr_results_one");
    else text = t("sr_results", { n: this.total ?? this.rows.length });
    this.summary.textContent = text;
  }

  /**
   * Ask the hub. `more`: the next page; `keep`: the same pages again (an event
   * arrived), without moving the agent's focus or scroll.
   */
  async run({ more = false, keep = false } = {}) {
    const f = this.filters();
    const key = canonical(f);
    const wasActive = this.active;
    this.applied = key;
    if (key === "{}") {
      this.seq += 1;
      this.rows = [];
      this.next = null;
      this.total = null;
      this.updateChrome();
      this.renderViews();
      if (wasActive) this.renderList();
      return;
    }
    const seq = ++this.seq;
    this.loading = true;
    if (!more && !keep) {
      this.rows = [];
      this.next = null;
    }
    this.updateChrome();
    const limit = keep ? Math.min(100, Math.max(PAGE, this.rows.length)) : PAGE;
    try {
      const page = await api("/search/conversations", {
        query: { ...f, limit, cursor: more ? this.next : null, count: !more },
      });
      if (seq !== this.seq) return;
      if (!more) {
        const words = Boolean(String(f.q || "").trim()); // (a chosen view's filters included)
        this.afterIndex("search", words, page.indexed_through, () => {
          if (this.active && this.applied === key) this.run({ keep: true });
        });
      }
      this.rows = more ? [...this.rows, ...page.items] : page.items;
      this.next = page.next_cursor;
      if (!more) {
        this.total = page.total;
        this.capped = page.total_capped;
      }
    } catch (err) {
      if (seq !== this.seq) return;
      toast(errorText(err), { kind: "error" });
    } finally {
      if (seq === this.seq) this.loading = false;
    }
    this.updateChrome();
    this.renderViews();
    this.renderList();
    if (more) this.listEl.querySelector(`[data-conversation-id="${this.rows[this.rows.length - PAGE]?.id}"]`)?.focus();
  }

  /** The results, as the list shows them (live rows from the console where it has them). */
  items() {
    return this.rows.map((r) => {
      const live = this.state.convs.get(r.id);
      return live ? { ...r, ...live, match: r.match } : r;
    });
  }

  /** Render the results into the list (the console calls this instead of its tabs). */
  render() {
    const focused = document.activeElement?.closest?.("[data-conversation-id]")?.dataset.conversationId;
    const rows = this.items();
    if (!rows.length) {
      mount(this.listEl, h("li", { class: "empty muted" }, this.loading ? t("sr_searching") : t("sr_no_results")));
      return;
    }
    mount(this.listEl, rows.map((c) => {
      const li = renderItem(c, {
        current: c.id === this.state.currentId, teamName: this.state.teams.get(c.team_id)?.name,
        assignee: this.state.users.get(c.assignee_id),
      });
      if (c.match) li.querySelector(".conv-main").append(matchLine(c.match));
      return li;
    }));
    if (focused) this.listEl.querySelector(`[data-conversation-id="${focused}"]`)?.focus();
  }

  clear({ focus = false } = {}) {
    this.q.value = "";
    this.viewId = null;
    this.setForm({});
    this.run();
    if (focus) this.q.focus();
  }

  focus() {
    this.q.focus();
    this.q.select();
  }

  // --- the keyboard in the list -----------------------------------------------------------
  /**
   * Move focus `delta` rows in the list. From outside the list the first move enters
   * it: at the open conversation's row, else at the first (or, going up, the last).
   */
  move(delta) {
    const rows = [...this.listEl.querySelectorAll("[data-conversation-id]")];
    if (!rows.length) return;
    const at = rows.indexOf(document.activeElement);
    let next;
    if (at >= 0) next = Math.max(0, Math.min(rows.length - 1, at + delta));
    else next = rows.findIndex((el) => Number(el.dataset.conversationId) === this.state.currentId);
    if (next < 0) next = delta > 0 ? 0 : rows.length - 1;
    rows[next].focus();
    rows[next].scrollIntoView({ block: "nearest" });
  }

  listKeys(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || !e.target.closest("[data-conversation-id]")) return;
    const delta = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity }[e.key];
    if (delta === undefined) return;
    e.preventDefault();
    this.move(delta);
  }

  /**
   * The answer's text indexes had got to `through`; if that is before the last event
   * this console reacted to and words were looked for, `again()` shortly (bounded).
   */
  afterIndex(kind, words, through, again) {
    if (!words || !(Number(through) < this.seenEvent)) {
      this.indexRetries[kind] = 0;
      return;
    }
    if (this.indexRetries[kind] >= INDEX_RETRIES) return; // the next event or the minute's refresh
    this.indexRetries[kind] += 1;
    setTimeout(again, INDEX_RETRY_MS);
  }

  // --- saved views ------------------------------------------------------------------------
  async loadViews() {
    try {
      const page = await api("/views");
      this.views = page.items;
      const words = this.views.some((v) => String((v.filters || {}).q || "").trim());
      this.afterIndex("views", words, page.indexed_through, () => this.loadViews());
      if (this.viewId !== null && !this.views.some((v) => v.id === this.viewId)) {
        this.viewId = null;
        this.updateChrome();
      }
      this.renderViews();
    } catch (err) {
      console.warn("views", err);
    }
  }

  renderViews() {
    if (!this.views.length) {
      mount(this.viewList, h("li", { class: "muted small views-empty" }, t("sr_views_empty")));
      return;
    }
    const focusedId = this.viewList.contains(document.activeElement) ? document.activeElement.id : null;
    mount(this.viewList, this.views.map((v) => {
      const count = v.count === null || v.count === undefined ? "" : `${v.count}${v.count_capped ? "+" : ""}`;
      const current = v.id === this.viewId;
      const where = v.scope === "team" ? t("sr_shared_team", { team: this.state.teams.get(v.team_id)?.name || "" })
        : v.scope === "everyone" ? t("sr_shared_everyone") : null;
      return h("li", { class: ["view", current && "current"], "data-view": v.id },
        h("button", {
          type: "button", class: "view-open", id: `view-${v.id}`, "aria-pressed": String(current), title: where,
          "aria-label": t("sr_view_count", { name: v.name, n: count || "0" }),
          on: { click: () => this.openView(v.id) },
        },
        h("bdi", { class: "view-name", dir: "auto" }, v.name),
        v.scope !== "personal" ? h("span", { class: "view-shared", "aria-hidden": "true" }, "⇄") : null,
        h("span", { class: "view-count", "aria-hidden": "true" }, count)),
        v.editable ? h("button", {
          type: "button", class: "view-edit", id: `view-edit-${v.id}`, "aria-label": t("sr_edit_view", { name: v.name }),
          title: t("sr_edit_view", { name: v.name }), on: { click: () => this.editDialog(v) },
        }, "✎") : null);
    }));
    if (focusedId) document.getElementById(focusedId)?.focus();
  }

  /** Show a view's conversations; choosing the shown view again goes back to the tabs. */
  openView(id) {
    const view = this.views.find((v) => v.id === id);
    if (!view) return;
    if (this.viewId === id) {
      this.clear();
      return;
    }
    this.viewId = id;
    this.q.value = view.filters.q || "";
    this.setForm(view.filters);
    this.run();
  }

  /** The dialog's fields: name, and who sees it (shared scopes for supervisors). */
  viewFields(view = null, { offerFilters = false } = {}) {
    const me = this.state.me;
    const sharing = hasRole(me, "supervisor");
    const teams = [...this.state.teams.values()].filter((tm) => me.role === "admin" || me.team_ids.includes(tm.id));
    const scope = h("select", { name: "scope", id: "view-scope" },
      h("option", { value: "personal" }, t("sr_scope_personal")),
      sharing && teams.length ? h("option", { value: "team" }, t("sr_scope_team")) : null,
      sharing ? h("option", { value: "everyone" }, t("sr_scope_everyone")) : null);
    scope.value = view?.scope || "personal";
    const team = h("select", { name: "team_id", id: "view-team" }, teams.map((tm) => h("option", { value: tm.id }, tm.name)));
    if (view?.team_id) team.value = String(view.team_id);
    const teamRow = h("label", { class: "field", for: "view-team" }, t("sr_view_team"), team);
    const sync = () => (teamRow.hidden = scope.value !== "team");
    scope.addEventListener("change", sync);
    sync();
    return h("div", { class: "view-form" },
      h("label", { class: "field", for: "view-name" }, t("sr_view_name"),
        h("input", { name: "name", id: "view-name", value: view?.name || "", maxlength: 60, required: true, autocomplete: "off", dir: "auto" })),
      sharing || (view && view.scope !== "personal") ? h("label", { class: "field", for: "view-scope" }, t("sr_view_scope"), scope) : null,
      sharing ? teamRow : null,
      offerFilters ? h("label", { class: "check", for: "view-refilter" },
        h("input", { type: "checkbox", name: "refilter", id: "view-refilter" }), t("sr_view_update_filters")) : null);
  }

  static scopeOf(form) {
    const scope = form.elements.scope?.value || "personal";
    return { scope, team_id: scope === "team" ? Number(form.elements.team_id.value) : null };
  }

  async saveDialog() {
    const filters = this.filters();
    await modal({
      title: t("sr_new_view"), id: "view-dialog", submitLabel: t("sr_save_view"), body: this.viewFields(),
      onSubmit: async (form) => {
        const made = await api("/views", {
          method: "POST", body: { name: form.elements.name.value, ...SearchPanel.scopeOf(form), filters },
        });
        this.views = [...this.views, made];
        this.viewId = made.id;
        toast(t("sr_view_saved"));
      },
    });
    await this.loadViews();
    this.updateChrome();
    document.getElementById(`view-${this.viewId}`)?.focus();
  }

  async editDialog(view) {
    const changed = this.active && this.viewId !== view.id;
    const remove = h("button", { type: "button", class: "danger small", id: "view-delete" }, t("sr_view_delete"));
    const body = h("div", {}, this.viewFields(view, { offerFilters: changed }), h("p", {}, remove));
    remove.addEventListener("click", async () => {
      // Close this dialog the way Esc does, then ask.
      remove.closest("dialog").dispatchEvent(new Event("cancel", { cancelable: true }));
      const sure = await confirmDialog(t("sr_view_delete"), t("sr_view_delete_confirm", { name: view.name }), {
        submitLabel: t("sr_view_delete"), danger: true,
      });
      if (!sure) return;
      try {
        await api(`/views/${view.id}`, { method: "DELETE" });
        if (this.viewId === view.id) this.clear();
        toast(t("sr_view_deleted"));
      } catch (err) {
        toast(errorText(err), { kind: "error" });
      }
      await this.loadViews();
      this.q.focus();
    });
    await modal({
      title: t("sr_edit_title"), id: "view-dialog", submitLabel: t("save"), body,
      onSubmit: async (form) => {
        const changes = { name: form.elements.name.value };
        if (form.elements.scope) Object.assign(changes, SearchPanel.scopeOf(form));
        if (form.elements.refilter?.checked) changes.filters = this.filters();
        await api(`/views/${view.id}`, { method: "PATCH", body: changes });
        if (changes.filters) this.viewId = view.id;
        toast(t("sr_view_saved"));
      },
    });
    await this.loadViews();
    this.updateChrome();
  }
}

/** The matched message under a result: an excerpt with the words marked. */
function matchLine(match) {
  const parts = [];
  let at = 0;
  for (const [start, end] of match.marks || []) {
    if (start > at) parts.push(match.text.slice(at, start));
    parts.push(h("mark", {}, match.text.slice(start, end)));
    at = end;
  }
  parts.push(match.text.slice(at));
  const who = match.kind === "note" ? t("sr_in_note") : match.direction === "outbound" ? t("sr_you_wrote") : null;
  // One inline run inside the clamped box: the marks stay in the line of text.
  return h("span", { class: "search-match", dir: "auto" },
    h("span", {}, who ? h("span", { class: "search-match-kind" }, `${who}: `) : null, parts));
}
