/*
 * Switchboard chat widget loader. Embed with one tag:
 *
 *   <script src="https://support.example.com/static/widget/widget.js"
 *           data-site-key="acme-main" async></script>
 *
 * Optional: data-language="ar" (else the site's setting / the browser's language),
 * data-transport="poll" (skip websockets). This file runs in the host page, so it
 * stays tiny: it adds one iframe served by the hub, where the widget really lives
 * (its own origin, storage and CSP), and sizes it when the frame asks. Classic
 * script, not a module: document.currentScript only exists for classic scripts.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.SwitchboardWidget) return;
  var siteKey = script.getAttribute("data-site-key");
  if (!siteKey) {
    console.error("Switchboard widget: the script tag needs data-site-key");
    return;
  }
  var hub = new URL(script.src, location.href).origin;
  var params = new URLSearchParams();
  params.set("site", siteKey);
  params.set("origin", location.origin);
  params.set("lang", script.getAttribute("data-language") || "");
  params.set("browser_lang", navigator.language || "");
  // Where the chat starts, for the agent; no query string or fragment (they can hold secrets).
  params.set("page", (location.origin + location.pathname).slice(0, 500));
  if (script.getAttribute("data-transport") === "poll") params.set("transport", "poll");

  // The visitor token lives in this (first-party) page's storage: browsers that block
  // third-party storage (private windows, Safari) would otherwise forget the visitor
  // on every page load. It reaches the frame in the URL fragment, never the server.
  var tokenKey = "sb-widget:" + siteKey + ":token";
  var token = null;
  try { token = localStorage.getItem(tokenKey); } catch (e) { /* storage disabled */ }

  var frame = document.createElement("iframe");
  frame.src = hub + "/widget/frame?" + params.toString() + (token ? "#t=" + encodeURIComponent(token) : "");
  frame.title = "Chat";
  frame.setAttribute("data-switchboard-widget", siteKey);
  var s = frame.style;
  s.position = "fixed";
  s.bottom = "16px";
  s.right = "16px";
  s.width = "76px";
  s.height = "76px";
  s.border = "0";
  s.background = "transparent";
  s.colorScheme = "normal";
  s.zIndex = "2147483000";
  s.maxHeight = "100vh";
  s.maxWidth = "100vw";

  var state = { open: false, position: "right" };

  function layout() {
    var small = window.innerWidth < 480;
    s.left = s.right = "";
    if (state.open && small) {
      s.width = "100vw";
      s.height = "100vh";
      s.bottom = "0";
      s[state.position] = "0";
    } else if (state.open) {
      s.width = "392px";
      s.height = Math.min(640, window.innerHeight - 32) + "px";
      s.bottom = "16px";
      s[state.position] = "16px";
    } else {
      s.width = "76px";
      s.height = "76px";
      s.bottom = "16px";
      s[state.position] = "16px";
    }
  }

  window.addEventListener("message", function (ev) {
    // Only the widget's own frame may resize it or store its token.
    if (ev.origin !== hub || ev.source !== frame.contentWindow) return;
    var d = ev.data;
    if (d && d.type === "sb-widget:token") {
      try {
        if (typeof d.token === "string") localStorage.setItem(tokenKey, d.token);
        else localStorage.removeItem(tokenKey);
      } catch (e) { /* storage disabled: the visitor is remembered for this page only */ }
      return;
    }
    if (!d || d.type !== "sb-widget:layout") return;
    state.open = !!d.open;
    state.position = d.position === "left" ? "left" : "right";
    layout();
  });
  window.addEventListener("resize", layout);

  function post(type) {
    if (frame.contentWindow) frame.contentWindow.postMessage({ type: type }, hub);
  }
  window.SwitchboardWidget = {
    open: function () { post("sb-widget:open"); },
    close: function () { post("sb-widget:close"); },
  };

  function mount() {
    layout();
    document.body.appendChild(frame);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
