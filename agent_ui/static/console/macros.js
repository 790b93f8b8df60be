// Macros in the console: the thread's "Macros" button (and Alt+M) opens the list of
// macros the agent may use — their own and their teams' — and applies one with a click
// or its number key; each action is done as the agent (the hub authorizes each). A
// personal macro is made from the same dialog. Also the thread's line for a rule's
// firing ("Rule Invoices: added billing · set priority 50").
import { api } from "../api.js";
import { errorText, modal, toast } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { actionText, loadDirectory, macroDialog } from "../admin/rules.js";

/** The thread's text for a `rule.fired` event. */
export function firedText(p, { teamName, userName }) {
  const what = (p.actions || []).map((a) => actionText({ ...a, status: a.ok ? "ok" : "error" }, { teamName, userName })).join(" · ");
  return t("ru_fired", { name: p.rule_name || "?", what });
}

export class MacrosMenu {
  /** `current()`: the open conversation; `canHandle(c)`: may the agent act on it. */
  constructor({ current, canHandle }) {
    this.current = current;
    this.canHandle = canHandle;
    this.dir = null;
    document.addEventListener("keydown", (e) => {
      if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === "KeyM") {
        const c = this.current();
        if (c && this.canHandle(c) && !document.querySelector("dialog[open]")) {
          e.preventDefault();
          this.open(c);
        }
      }
    });
  }

  button(c) {
    return h("button", {
      type: "button", class: "secondary", id: "thread-macros", disabled: !this.canHandle(c), "aria-keyshortcuts": "Alt+M",
      title: t("ru_macros_menu"), on: { click: () => this.open(c) },
    }, t("ru_macros"));
  }

  async open(c) {
    let macros;
    try {
      macros = (await api("/macros")).items;
    } catch (err) {
      toast(errorText(err), { kind: "error" });
      return;
    }
    const list = h("ul", { class: "macro-menu", role: "radiogroup", "aria-label": t("ru_macros") },
      macros.length ? macros.map((m, i) => h("li", {},
        h("label", { class: "check" },
          h("input", { type: "radio", name: "macro", value: m.id, checked: i === 0 }),
          " ", i < 9 ? h("kbd", {}, String(i + 1)) : null, " ", h("bdi", { dir: "auto" }, m.name),
          h("span", { class: "muted" }, ` — ${m.actions.map((a) => t(`ru_act_${a.type}`)).join(" · ")}`))))
        : h("li", { class: "muted" }, t("ru_macro_none")));
    const newOne = h("button", { type: "button", class: "secondary small", id: "macro-new-personal" }, t("ru_macro_new"));
    const body = h("div", { class: "stack", id: "macro-menu-body" }, macros.length ? h("p", { class: "hint" }, t("ru_macro_key_hint")) : null, list, newOne);
    body.addEventListener("keydown", (e) => {
      const n = Number(e.key);
      if (!e.altKey && n >= 1 && n <= Math.min(9, macros.length)) {
        e.preventDefault();
        body.querySelectorAll("input[name=macro]")[n - 1].checked = true;
        body.closest("form").requestSubmit();
      }
    });
    let applied = null;
    newOne.addEventListener("click", async () => {
      this.dir ||= await loadDirectory({ users: false, segments: false });
      if (await macroDialog(null, this.dir, { shared: false })) {
        const fresh = (await api("/macros")).items;
        mount(list, fresh.map((m, i) => h("li", {}, h("label", { class: "check" },
          h("input", { type: "radio", name: "macro", value: m.id, checked: i === fresh.length - 1 }),
          " ", i < 9 ? h("kbd", {}, String(i + 1)) : null, " ", h("bdi", { dir: "auto" }, m.name)))));
        macros = fresh;
      }
    });
    await modal({
      title: t("ru_macros_pick", { id: c.id }), body, id: "macro-menu", submitLabel: t("ru_apply"),
      onSubmit: async (form) => {
        const picked = form.querySelector("input[name=macro]:checked");
        if (!picked) return;
        applied = macros.find((m) => m.id === Number(picked.value));
        applied = { macro: applied, out: await api(`/conversations/${c.id}/macros/${picked.value}/apply`, { method: "POST" }) };
      },
    });
    if (!applied) return;
    const stopped = applied.out.results.find((r) => !r.ok);
    if (stopped) {
      toast(t("ru_macro_stopped", { name: applied.macro.name, step: t(`ru_act_${stopped.type}`), error: errorText({ code: stopped.error, message: stopped.message }) }), { kind: "warn" });
    } else {
      toast(t("ru_applied", { name: applied.macro.name }));
    }
  }
}
