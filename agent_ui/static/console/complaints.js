// The complaints beside the thread (top of the customer pane): the open conversation's
// complaints and the customer's other open ones, "New complaint", and one complaint's
// full panel in the pane's place (back to the customer with one button). Kept current
// by the complaint.* events the console receives.
import { api } from "../api.js";
import { errorText, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { icon } from "../icons.js";
import { OPEN_STATUSES, dueText, escalatedMark, nextDue, overdueMark, severityBadge, statusChip } from "../care/common.js";
import { openComplaintDialog } from "../care/open.js";
import { ComplaintPanel } from "../care/panel.js";

export class CareBox {
  /**
   * @param {HTMLElement} root  where the list or one complaint goes
   * @param {HTMLElement} contactRoot  the customer card, hidden while a complaint is open
   * @param {{dir: object, onOpenConversation(id), onShow()}} hooks
   */
  constructor(root, contactRoot, hooks) {
    this.root = root;
    this.contactRoot = contactRoot;
    this.hooks = hooks;
    this.conv = null;
    this.items = [];
    this.detailId = null;
    this.seq = 0;
    this.listEl = h("div", { class: "care-list-box" });
    this.detailEl = h("div", { class: "care-detail", hidden: true });
    this.panelEl = h("div", { id: "care-panel" });
    this.panel = new ComplaintPanel(this.panelEl, {
      dir: hooks.dir,
      onChanged: () => this.reload(),
      onOpenConversation: (id) => hooks.onOpenConversation(id),
    });
    mount(root, this.listEl, this.detailEl);
  }

  clear() {
    this.conv = null;
    this.items = [];
    this.showList();
    mount(this.listEl);
  }

  /** A conversation was opened (or re-read): its complaints and the customer's open ones. */
  async load(conv) {
    const changed = this.conv?.id !== conv.id;
    this.conv = conv;
    if (changed) {
      this.items = [];
      this.showList();
      mount(this.listEl);
    }
    await this.reload();
  }

  async reload() {
    const conv = this.conv;
    if (!conv) return;
    const seq = ++this.seq;
    try {
      const [here, open] = await Promise.all([
        api("/complaints", { query: { conversation_id: conv.id, limit: 50 } }),
        api("/complaints", { query: { contact_id: conv.contact_id, status: "open", limit: 50 } }),
      ]);
      if (seq !== this.seq || this.conv !== conv) return;
      const byId = new Map();
      for (const c of here.items) byId.set(c.id, { ...c, here: true });
      for (const c of open.items) if (!byId.has(c.id)) byId.set(c.id, { ...c, here: false });
      this.items = [...byId.values()].sort((a, b) => b.id - a.id);
      this.render();
    } catch (err) {
      if (seq !== this.seq) return;
      mount(this.listEl, h("p", { class: "error pad" }, errorText(err)));
    }
  }

  /** Whether the open conversation already has a complaint that is not closed. */
  hasOpenComplaint(conversationId) {
    return this.conv?.id === conversationId && this.items.some((c) => c.here && OPEN_STATUSES.has(c.status));
  }

  render() {
    if (!this.conv) return;
    const card = (c) => {
      const due = nextDue(c);
      return h("li", {},
        h("button", {
          type: "button", class: ["complaint-card", c.here && "here"], "data-complaint-id": c.id,
          "aria-current": this.detailId === c.id ? "true" : null,
          on: { click: () => this.showComplaint(c.id) },
        },
        h("span", { class: "card-row" },
          h("bdi", { dir: "ltr", class: "ref" }, c.reference), statusChip(c.status), severityBadge(c.severity),
          escalatedMark(c), overdueMark(c)),
        h("span", { class: "card-row muted small" },
          c.here ? t("cmp_this_conversation") : t("cmp_other_conversation"),
          due ? [" · ", t(due.key), " ", dueText(c, due.at)] : null)));
    };
    mount(this.listEl,
      h("section", { class: "care-box", "aria-labelledby": "care-heading" },
        h("div", { class: "care-box-head" },
          h("h3", { id: "care-heading" }, t("cmp_complaints")),
          h("button", { type: "button", class: "secondary small", id: "open-complaint", on: { click: () => this.openNew() } },
            t("cmp_new"))),
        this.items.length
          ? h("ul", { class: "care-list", id: "care-complaints" }, this.items.map(card))
          : h("p", { class: "muted small", id: "care-none" }, t("cmp_none_here"))));
    if (this.detailId !== null && !this.detailEl.hidden) this.renderDetailBar();
  }

  renderDetailBar() {
    mount(this.detailEl,
      h("div", { class: "care-detail-bar" },
        h("button", { type: "button", class: "secondary small back", id: "care-back", on: { click: () => this.showList({ focus: true }) } },
          icon("back"), t("cmp_back_to_customer"))),
      this.panelEl);
  }

  async showComplaint(id) {
    this.detailId = id;
    this.listEl.hidden = true;
    this.contactRoot.hidden = true;
    this.detailEl.hidden = false;
    this.renderDetailBar();
    this.hooks.onShow?.();
    await this.panel.load(id, { focus: true });
  }

  showList({ focus = false } = {}) {
    const was = this.detailId;
    this.detailId = null;
    this.detailEl.hidden = true;
    this.listEl.hidden = false;
    this.contactRoot.hidden = false;
    if (focus && was !== null) this.listEl.querySelector(`[data-complaint-id="${was}"]`)?.focus();
  }

  async openNew() {
    const conv = this.conv;
    if (!conv) return;
    const created = await openComplaintDialog(conv, { me: this.hooks.dir.me });
    if (!created) return;
    toast(t("cmp_opened_toast", { reference: created.reference }));
    await this.reload();
    await this.showComplaint(created.id);
  }

  /** A complaint.* event: refresh what shows it. */
  onEvent(p, { byMe = false } = {}) {
    if (!this.conv) return;
    if (p.contact_id === this.conv.contact_id || this.items.some((c) => c.id === p.complaint_id)) this.reload();
    if (this.detailId === p.complaint_id) this.panel.refresh({ byMe });
  }

  relabel() {
    this.render();
    if (this.detailId !== null && this.panel.c) this.panel.render();
  }
}
