// Conversation labels in the console: coloured chips (list rows and the thread
// header), the quick-add menu in the thread and the list's label filter. A label's
// key is what the conversation's `tags` holds; a tag with no label in the list (an
// older tag, a deleted label) shows as a plain grey chip with its key.
import { api } from "../api.js";
import { h } from "../dom.js";
import { getLang, t } from "../i18n.js";

const COLOR = /^#[0-9a-f]{6}$/i;
let labels = new Map(); // key -> label, in the admins' order
// The quick-add menu survives a re-render of the header (an event arriving while it
// is open): which conversation's menu is open, which item has focus, and the
// document listener that closes it on a click elsewhere.
const menuState = { convId: null, index: 0, outside: null };

function forgetOutside() {
  if (menuState.outside) document.removeEventListener("pointerdown", menuState.outside, true);
  menuState.outside = null;
}

export async function loadLabels() {
  try {
    const page = await api("/labels");
    labels = new Map(page.items.map((l) => [l.key, l]));
  } catch (err) {
    console.warn("labels not loaded", err);
  }
  return labels;
}

export function allLabels() {
  return [...labels.values()];
}

export function labelName(key) {
  const l = labels.get(key);
  if (!l) return key;
  return (getLang() === "ar" ? l.name_ar : l.name_en) || l.name_en || key;
}

function ordered(tags) {
  const pos = (k) => (labels.has(k) ? labels.get(k).position : Number.MAX_SAFE_INTEGER);
  return [...(tags || [])].sort((a, b) => pos(a) - pos(b) || a.localeCompare(b));
}

/**
 * The chips of `tags`; with `onRemove`, each has a × button (its own tab stop, named
 * "Remove label X" for screen readers).
 */
export function labelChips(tags, { small = false, onRemove = null } = {}) {
  if (!tags?.length) return null;
  return h("span", { class: ["label-chips", small && "small"] },
    ordered(tags).map((key) => {
      const name = labelName(key);
      const chip = h("span", { class: ["label-chip", !labels.has(key) && "unlisted"], "data-label": key, title: name },
        h("bdi", { class: "label-name", dir: "auto" }, name),
        onRemove ? h("button", {
          type: "button", class: "label-remove", "aria-label": t("lbl_remove", { name }), title: t("lbl_remove", { name }),
          on: { click: (e) => { e.stopPropagation(); onRemove(key); } },
        }, "×") : null);
      const color = labels.get(key)?.color;
      if (color && COLOR.test(color)) chip.style.setProperty("--label", color);
      return chip;
    }));
}

/**
 * The quick-add menu: a button that opens a menu of the active labels the
 * conversation does not carry. Keyboard: Enter/Space/ArrowDown opens it, arrows and
 * Home/End move, Enter picks, Escape closes and returns to the button.
 */
export function labelAdder(conv, { onAdd, disabled = false }) {
  const have = new Set(conv.tags || []);
  const choices = allLabels().filter((l) => l.active && !have.has(l.key));
  const menu = h("ul", { class: "label-menu", id: "label-menu", role: "menu", "aria-label": t("lbl_add"), hidden: true });
  const button = h("button", {
    type: "button", class: "secondary small label-add", id: "label-add", "aria-haspopup": "menu",
    "aria-expanded": "false", "aria-controls": "label-menu", disabled: disabled || !choices.length,
    title: choices.length ? null : t("lbl_none_left"),
  }, `+ ${t("lbl_add")}`);
  const items = () => [...menu.querySelectorAll("[role=menuitem]")];
  const close = (focus = true) => {
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
    menuState.convId = null;
    forgetOutside();
    if (focus) button.focus();
  };
  const outside = (e) => {
    if (!wrap.contains(e.target)) close(false);
  };
  const open = (at = 0) => {
    const list = items();
    if (!list.length) return;
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    forgetOutside();
    menuState.outside = outside;
    menuState.convId = conv.id;
    document.addEventListener("pointerdown", outside, true);
    list[(at + list.length) % list.length].focus();
  };
  for (const l of choices) {
    const item = h("li", { role: "none" },
      h("button", {
        type: "button", role: "menuitem", tabindex: -1, class: "label-menu-item", "data-label": l.key,
        on: { click: () => { close(false); onAdd(l.key); } },
      }, h("span", { class: "label-dot", "aria-hidden": "true" }), h("bdi", { dir: "auto" }, labelName(l.key))));
    if (COLOR.test(l.color)) item.style.setProperty("--label", l.color);
    menu.append(item);
  }
  button.addEventListener("click", () => (menu.hidden ? open() : close()));
  button.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      open(e.key === "ArrowDown" ? 0 : -1);
    }
  });
  menu.addEventListener("keydown", (e) => {
    const list = items();
    const i = list.indexOf(document.activeElement);
    const go = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: list.length - 1 }[e.key];
    menuState.index = i;
    if (go !== undefined) {
      e.preventDefault();
      list[(go + list.length) % list.length].focus();
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === "Tab") {
      close(false);
    }
  });
  menu.addEventListener("focusin", () => {
    menuState.index = items().indexOf(document.activeElement);
  });
  const wrap = h("span", { class: "label-adder" }, button, menu);
  // Rebuilt while open (the header re-rendered): open again where the agent was.
  if (menuState.convId === conv.id) {
    const at = Math.min(menuState.index, choices.length - 1);
    forgetOutside();
    menuState.convId = null;
    queueMicrotask(() => wrap.isConnected && open(Math.max(at, 0)));
  }
  return wrap;
}

/** The list's filter: every label in the list, and "all". */
export function labelFilter(selected, onChange) {
  const sel = h("select", {
    id: "label-filter", class: "label-filter", "aria-label": t("lbl_filter"),
    on: { change: () => onChange(sel.value || null) },
  },
  h("option", { value: "" }, t("lbl_filter_all")),
  allLabels().map((l) => h("option", { value: l.key, selected: l.key === selected }, labelName(l.key))));
  if (selected && !labels.has(selected)) sel.append(h("option", { value: selected, selected: true }, selected));
  return sel;
}
