// Keyboard shortcuts. Alt+letter combinations match the physical key (event.code), so
// they work the same on an Arabic keyboard layout; "/", "?", J and K only fire when
// focus is not in a text field (J and K by the physical key too).
import { modal } from "../dialogs.js";
import { h, isTyping } from "../dom.js";
import { t } from "../i18n.js";

export const SHORTCUTS = [
  { keys: "Alt+A", code: "KeyA", alt: true, action: "accept", label: "sc_accept" },
  { keys: "Alt+D", code: "KeyD", alt: true, action: "reject", label: "sc_reject" },
  { keys: "Alt+R", code: "KeyR", alt: true, action: "resolve", label: "sc_resolve" },
  { keys: "Alt+O", code: "KeyO", alt: true, action: "reopen", label: "sc_reopen" },
  { keys: "Alt+T", code: "KeyT", alt: true, action: "transfer", label: "sc_transfer" },
  { keys: "Alt+S", code: "KeyS", alt: true, action: "snooze", label: "sc_snooze" },
  { keys: "Alt+N", code: "KeyN", alt: true, action: "note", label: "sc_note" },
  { keys: "Alt+J", code: "KeyJ", alt: true, action: "next", label: "sc_next" },
  { keys: "Alt+K", code: "KeyK", alt: true, action: "previous", label: "sc_previous" },
  { keys: "Alt+C", code: "KeyC", alt: true, action: "compose", label: "sc_compose" },
  { keys: "Alt+P", code: "KeyP", alt: true, action: "presence", label: "sc_presence" },
  { keys: "/", code: "Slash", alt: false, shift: false, action: "search", label: "sc_search", outsideText: true },
  { keys: "J / K", plain: { KeyJ: "listNext", KeyK: "listPrevious" }, action: "listNext", label: "sc_list_move" },
  { keys: "Enter", action: null, label: "sc_list_open" },
  { keys: "?", code: "Slash", alt: false, shift: true, action: "help", label: "sc_help", outsideText: true },
  { keys: "/", action: null, label: "sc_canned_composer" },
  { keys: "Enter", action: null, label: "sc_send" },
  { keys: "Shift+Enter", action: null, label: "sc_newline" },
  { keys: "Esc", action: null, label: "sc_escape" },
];

/**
 * "/" and "?" by the character typed, or by the physical key when the layout types
 * something else there (on an Arabic layout that key gives "ظ", with Shift "؟").
 */
function matchesSlash(e, keys) {
  const question = e.key === "?" || e.key === "؟" || (e.code === "Slash" && e.shiftKey);
  if (keys === "?") return question;
  return !question && (e.key === "/" || e.code === "Slash");
}

/** Install the shortcut listener; `handlers[action]()` runs the action. */
export function installShortcuts(handlers) {
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey) return;
    if (document.querySelector("dialog[open]")) return; // a modal owns the keyboard
    for (const sc of SHORTCUTS) {
      if (!sc.action || !handlers[sc.action]) continue;
      if (sc.alt) {
        if (!e.altKey || e.code !== sc.code) continue;
      } else if (sc.plain) {
        // A letter key alone (J down the list, K up), never while typing.
        const action = sc.plain[e.code];
        if (!action || e.altKey || e.shiftKey || isTyping(e.target) || !handlers[action]) continue;
        e.preventDefault();
        handlers[action]();
        return;
      } else {
        if (e.altKey) continue;
        if (!matchesSlash(e, sc.keys)) continue;
        if (sc.outsideText && isTyping(e.target)) continue;
      }
      e.preventDefault();
      handlers[sc.action]();
      return;
    }
  });
}

export function showHelp() {
  const rows = SHORTCUTS.map((sc) =>
    h("tr", {}, h("td", {}, h("kbd", { dir: "ltr" }, sc.keys)), h("td", {}, t(sc.label))));
  return modal({
    title: t("shortcuts_title"), id: "shortcuts-dialog", submitLabel: t("close"), cancelLabel: null,
    body: h("table", { class: "shortcuts" }, h("tbody", {}, rows)),
  });
}
