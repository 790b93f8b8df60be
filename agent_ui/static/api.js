// REST client for /api/v1: JSON in and out, the CSRF header on every state change,
// errors as ApiError carrying the hub's stable code, message and field errors.

import { setTimeZone } from "./format.js";

const BASE = "/api/v1";
let csrfToken = sessionStorage.getItem("sb_csrf") || "";

export class ApiError extends Error {
  constructor(status, code, message, fields = [], reason = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.reason = reason; // e.g. weak_password: too_short, contains_email, common
  }
}

export function setCsrf(token) {
  csrfToken = token || "";
  sessionStorage.setItem("sb_csrf", csrfToken);
}

function loginUrl() {
  const next = window.location.pathname + window.location.hash;
  return `/login?next=${encodeURIComponent(next)}`;
}

/** api("/conversations", {query: {status: ["queued", "offered"]}}) -> parsed JSON. */
export async function api(path, { method = "GET", body, query } = {}) {
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === "") continue;
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "network error");
  }
  if (res.status === 401 && path !== "/auth/login") {
    window.location.assign(loginUrl());
    throw new ApiError(401, "not_authenticated", "sign in first");
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = data?.error || {};
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message || res.statusText, err.fields || [], err.reason || null);
  }
  return data;
}

/**
 * POST a file as the request body (complaint attachments): its type as the
 * Content-Type, the CSRF header, and the same errors as api().
 */
export async function upload(path, file, { query = {} } = {}) {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const qs = params.toString();
  let res;
  try {
    res = await fetch(`${BASE}${path}${qs ? `?${qs}` : ""}`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": file.type || "application/octet-stream", "x-csrf-token": csrfToken },
      body: file,
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "network error");
  }
  if (res.status === 401) {
    window.location.assign(loginUrl());
    throw new ApiError(401, "not_authenticated", "sign in first");
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = data?.error || {};
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message || res.statusText, err.fields || []);
  }
  return data;
}

/** Every page of a keyset-paged list (bounded: consoles never need thousands). */
export async function allPages(path, query = {}, { max = 2000 } = {}) {
  const items = [];
  let cursor = null;
  for (;;) {
    const page = await api(path, { query: { ...query, cursor } });
    items.push(...page.items);
    if (page.next_cursor === null || page.next_cursor === undefined || items.length >= max) return items;
    cursor = page.next_cursor;
    // Messages and events page with `after`, conversations with `cursor`.
    if ("after" in query) {
      query = { ...query, after: cursor };
      cursor = null;
    }
  }
}

/** The signed-in user (and a fresh CSRF token); redirects to /login when signed out. */
export async function whoAmI() {
  const me = await api("/auth/me");
  setCsrf(me.csrf_token);
  setTimeZone(me.timezone);
  return me.user;
}

export async function signOut() {
  try {
    await api("/auth/logout", { method: "POST" });
  } finally {
    sessionStorage.removeItem("sb_csrf");
    window.location.assign("/login");
  }
}
