// A tiny, safe element builder. Every string becomes a text node or a whitelisted
// attribute value: nothing in this UI ever parses data as HTML (no markup-string
// APIs at all), so a customer's "<img onerror=...>" is only ever text.

const PLAIN_ATTRS = new Set([
  "id", "class", "dir", "lang", "title", "role", "type", "name", "value", "placeholder", "for",
  "tabindex", "hidden", "disabled", "checked", "selected", "readonly", "required", "multiple",
  "min", "max", "step", "maxlength", "minlength", "rows", "cols", "autocomplete", "alt",
  "datetime", "colspan", "rowspan", "scope", "list", "pattern", "open", "download",
  "spellcheck", "inputmode", "form", "width", "height", "loading", "size", "label", "enterkeyhint",
  "low", "high", "optimum", "method", "novalidate", "autofocus", "accept",
]);
const BOOLEAN_ATTRS = new Set([
  "hidden", "disabled", "checked", "selected", "readonly", "required", "multiple", "open",
  "novalidate", "autofocus",
]);

/** An http(s) URL as a string, or null: the only external links we ever create. */
export function safeHttpUrl(value) {
  try {
    const url = new URL(String(value));
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** A same-origin path ("/api/...", never "//host"), or null. */
export function sameOriginPath(value) {
  const s = String(value);
  return s.startsWith("/") && !s.startsWith("//") && !s.startsWith("/\\") ? s : null;
}

function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) return;
  if (name === "href") {
    const v = String(value);
    const href = sameOriginPath(v) || safeHttpUrl(v) || (/^(#|mailto:|tel:)/i.test(v) ? v : null);
    if (!href) return; // javascript:, data: and friends are dropped, not escaped
    el.setAttribute("href", href);
    if (safeHttpUrl(href) && !sameOriginPath(href)) {
      el.setAttribute("rel", "noopener noreferrer");
      el.setAttribute("target", "_blank");
    }
    return;
  }
  if (name === "src") {
    // Images and media only from our own origin (attachments are proxied by the hub).
    const src = sameOriginPath(value);
    if (src) el.setAttribute("src", src);
    return;
  }
  if (name === "rel" || name === "target") {
    el.setAttribute(name, String(value));
    return;
  }
  if (PLAIN_ATTRS.has(name) || name.startsWith("aria-") || name.startsWith("data-")) {
    if (BOOLEAN_ATTRS.has(name)) {
      if (value) el.setAttribute(name, "");
      return;
    }
    el.setAttribute(name, String(value));
    if (name === "value" && "value" in el) el.value = String(value);
    return;
  }
  throw new Error(`dom.h: attribute ${name} is not allowed`);
}

function append(el, child) {
  if (child === null || child === undefined || child === false || child === true) return;
  if (Array.isArray(child)) {
    for (const c of child) append(el, c);
  } else if (child instanceof Node) {
    el.append(child);
  } else {
    el.append(document.createTextNode(String(child)));
  }
}

/**
 * h("button", {class: "primary", on: {click: fn}}, "Send") -> HTMLButtonElement.
 * attrs.class may be an array (falsy entries dropped); attrs.on maps event -> handler.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "on") {
      for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    } else if (name === "class") {
      const cls = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      if (cls) el.setAttribute("class", cls);
    } else {
      setAttr(el, name, value);
    }
  }
  append(el, children);
  return el;
}

/** Replace an element's children (the safe way to re-render a region). */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * mount() for a region rebuilt on every live event (the console's list and thread
 * header): each new child equal to the child it replaces (isEqualNode: the same tags,
 * attributes and text all the way down) is dropped and the existing one kept, so only
 * what changed is replaced. A redraw that changes nothing under the pointer then no
 * longer swaps the element between a click's mousedown and its mouseup, which loses
 * the click (the browser sends it to no button), and a kept control keeps its focus.
 * Children are matched by key(node) when it gives one (default: the id), else by
 * position. A kept child keeps the listeners it was built with, so a region rendered
 * this way must not have handlers that read data the markup does not show.
 */
export function patch(el, children, { key = (node) => node.id || null } = {}) {
  const next = [];
  append({ append: (node) => next.push(node) }, children);
  const old = [...el.childNodes];
  const keyed = new Map();
  for (const node of old) {
    const k = node.nodeType === Node.ELEMENT_NODE ? key(node) : null;
    if (k !== null && k !== undefined) keyed.set(k, node);
  }
  const used = new Set();
  const wanted = next.map((node, i) => {
    const k = node.nodeType === Node.ELEMENT_NODE ? key(node) : null;
    const candidate = k !== null && k !== undefined ? keyed.get(k) : old[i];
    if (candidate && !used.has(candidate) && candidate.isEqualNode(node)) {
      used.add(candidate);
      return candidate;
    }
    return node;
  });
  for (const node of old) if (!used.has(node)) node.remove();
  wanted.forEach((node, i) => {
    const at = el.childNodes[i];
    if (at !== node) el.insertBefore(node, at || null);
  });
  return el;
}

/**
 * mount() for a region a live refresh rebuilds (a table of the supervisor's floor):
 * keyboard focus on a control in it stays on the same control in the new content,
 * instead of dropping to the page. The control is found again by its id, or by its
 * tag under the identity attributes (data-open, data-col, data-*-id) of itself and
 * its ancestors in the region; if it is gone, focus goes nowhere, as with mount().
 */
export function remount(el, ...children) {
  const focused = document.activeElement;
  const key = focused && focused !== el && el.contains(focused) ? focusSelector(focused, el) : null;
  mount(el, ...children);
  if (key && !el.contains(document.activeElement)) el.querySelector(key)?.focus({ preventScroll: true });
  return el;
}

const IDENTITY = (name) => name === "data-open" || name === "data-col" || (name.startsWith("data-") && name.endsWith("-id"));

function focusSelector(node, root) {
  const parts = [];
  for (let n = node; n && n !== root; n = n.parentElement) {
    if (n.id) {
      parts.unshift(`#${CSS.escape(n.id)}`);
      break;
    }
    const attrs = [...n.attributes].filter((a) => IDENTITY(a.name)).map((a) => `[${a.name}="${CSS.escape(a.value)}"]`).join("");
    if (n === node) parts.unshift(n.tagName.toLowerCase() + attrs);
    else if (attrs) parts.unshift(attrs);
  }
  return parts.join(" ");
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const MENTION_RE = /(^|[\s(])(@[\p{L}\p{N}._-]+)/gu;

/** Text with http(s) links as <a> elements (textContent, rel=noopener noreferrer). */
export function linkify(text, { mentions = false } = {}) {
  const out = [];
  const s = String(text ?? "");
  let last = 0;
  for (const m of s.matchAll(URL_RE)) {
    let url = m[0];
    // Trailing punctuation belongs to the sentence, not the link.
    const trail = url.match(/[.,;:!?)\]}]+$/);
    if (trail) url = url.slice(0, -trail[0].length);
    const start = m.index;
    if (start > last) out.push(...plain(s.slice(last, start), mentions));
    const href = safeHttpUrl(url);
    out.push(href ? h("a", { href, class: "ext", dir: "ltr" }, url) : url);
    last = start + url.length;
  }
  if (last < s.length) out.push(...plain(s.slice(last), mentions));
  return out;
}

function plain(text, mentions) {
  if (!mentions) return [text];
  const out = [];
  let last = 0;
  for (const m of text.matchAll(MENTION_RE)) {
    const at = m.index + m[1].length;
    if (at > last) out.push(text.slice(last, at));
    out.push(h("mark", { class: "mention" }, m[2]));
    last = at + m[2].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Debounce: run fn once, `ms` after the last call. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** True when keyboard focus is in a place that takes text. */
export function isTyping(target = document.activeElement) {
  if (!target) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}
