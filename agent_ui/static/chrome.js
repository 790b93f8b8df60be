// The top bar every staff page shares: navigation by role, the live-connection
// indicator, the language switch (saved on the user) and sign-out. On a narrow
// screen the navigation and the account links fold behind a menu button (CSS
// decides when: base.css, "narrow screens"); on a desktop they are all in the bar.
import { api, signOut } from "./api.js";
import { h, mount } from "./dom.js";
import { applyLang, getLang, setLang, t } from "./i18n.js";
import { icon } from "./icons.js";

const NAV = [
  { page: "console", href: "/console", key: "nav_console", role: "agent" },
  { page: "contacts", href: "/contacts", key: "nav_contacts", role: "agent" },
  { page: "complaints", href: "/complaints", key: "nav_complaints", role: "agent" },
  { page: "supervisor", href: "/supervisor", key: "nav_supervisor", role: "supervisor" },
  { page: "reports", href: "/reports", key: "nav_reports", role: "supervisor" },
  { page: "campaigns", href: "/campaigns", key: "cp_nav", role: "supervisor" },
  { page: "wallboard", href: "/wallboard", key: "nav_wallboard", role: "supervisor" },
  { page: "planning", href: "/planning", key: "nav_planning", role: "supervisor" },
  { page: "admin", href: "/admin", key: "nav_admin", role: "supervisor" },
];
const RANK = { agent: 0, supervisor: 1, admin: 2 };

export function hasRole(user, role) {
  return (RANK[user.role] ?? -1) >= RANK[role];
}

/**
 * Build the bar into <header id="topbar">. `slot` holds page controls (presence).
 * `onLang` runs after the language changed so the page can re-render its views.
 */
export function topbar({ user, page, socket = null, slot = null, onLang = () => {} }) {
  const bar = document.getElementById("topbar");
  const status = h("span", { class: "conn", role: "status", "aria-live": "polite", "data-state": "connecting" });
  const renderConn = (state, retryAt) => {
    status.dataset.state = state;
    const key = { open: "conn_open", connecting: "conn_connecting", reconnecting: "conn_reconnecting", refused: "conn_refused", stopped: "conn_offline" }[state] || "conn_offline";
    let text = t(key);
    if (state === "reconnecting" && retryAt) {
      text = t("conn_retry_in", { s: Math.max(1, Math.ceil((retryAt - Date.now()) / 1000)) });
    }
    mount(status, h("span", { class: "dot", "aria-hidden": "true" }), h("span", { class: "conn-text" }, text));
  };
  let connTimer = null;
  if (socket) {
    socket.addEventListener("state", (e) => {
      clearInterval(connTimer);
      renderConn(e.detail.state, e.detail.retryAt);
      if (e.detail.state === "reconnecting" && e.detail.retryAt) {
        connTimer = setInterval(() => renderConn("reconnecting", e.detail.retryAt), 1000);
      }
    });
  }

  const langButton = h("button", {
    type: "button", class: "link lang-toggle", id: "lang-toggle",
    on: {
      click: async () => {
        const next = getLang() === "ar" ? "en" : "ar";
        setLang(next);
        applyLang();
        render();
        onLang(next);
        // Saved on the user so every device opens in their language.
        try {
          await api(`/users/${user.id}`, { method: "PATCH", body: { language: next } });
          user.language = next;
        } catch (err) {
          console.warn("could not save the language", err);
        }
      },
    },
  });

  // The menu button only shows on narrow screens, where the navigation and the
  // account links fold away; it opens them below the bar. Escape closes it.
  const menuButton = h("button", {
    type: "button", class: "secondary menu-toggle", id: "menu-toggle", "aria-expanded": "false",
    "aria-controls": "topbar-nav topbar-account",
    on: { click: () => setMenu(menuButton.getAttribute("aria-expanded") !== "true") },
  });
  function setMenu(open) {
    menuButton.setAttribute("aria-expanded", String(open));
    bar.classList.toggle("menu-open", open);
  }
  bar.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && bar.classList.contains("menu-open")) {
      setMenu(false);
      menuButton.focus();
    }
  });

  function render() {
    const nav = h("nav", { class: "nav", id: "topbar-nav", "aria-label": t("nav_label") },
      NAV.filter((n) => hasRole(user, n.role)).map((n) =>
        h("a", { href: n.href, class: n.page === page ? "active" : null, "aria-current": n.page === page ? "page" : null }, t(n.key)),
      ),
    );
    langButton.textContent = t("other_lang");
    langButton.setAttribute("lang", getLang() === "ar" ? "en" : "ar");
    mount(menuButton, icon("menu"), h("span", { class: "visually-hidden" }, t("menu")));
    // On a desktop the menu button is hidden and .account is display: contents, so
    // the bar reads as it always did: brand, navigation, page controls, account.
    mount(bar,
      h("strong", { class: "brand" }, t("brand")),
      menuButton,
      nav,
      h("span", { class: "spacer" }),
      slot,
      socket ? status : null,
      h("div", { class: "account", id: "topbar-account" },
        langButton,
        h("span", { class: "me" }, h("bdi", { id: "me" }, user.name)),
        h("a", { href: "/profile", class: "account-link", id: "profile-link", "aria-current": page === "profile" ? "page" : null }, t("nav_profile")),
        h("a", { href: "/password", class: "account-link", id: "change-password" }, t("nav_password")),
        h("button", { type: "button", class: "secondary", id: "logout", on: { click: signOut } }, t("sign_out"))),
    );
    if (socket) renderConn(socket.state);
  }
  render();
  return { render };
}
