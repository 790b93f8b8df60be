import { applyLang, currentLang } from "/static/i18n.js";

const lang = currentLang();
applyLang(lang);

async function api(path, opts = {}) {
  const headers = { "content-type": "application/json", ...(opts.headers || {}) };
  const csrf = sessionStorage.getItem("sb_csrf");
  if (csrf) headers["x-csrf-token"] = csrf;
  const res = await fetch(path, { credentials: "same-origin", ...opts, headers });
  if (res.status === 401) window.location.assign("/login");
  return res;
}

const me = await (await api("/api/v1/auth/me")).json();
sessionStorage.setItem("sb_csrf", me.csrf_token || "");
document.getElementById("me").textContent = me.user.name;

document.getElementById("logout").addEventListener("click", async () => {
  await api("/api/v1/auth/logout", { method: "POST" });
  window.location.assign("/login");
});

const page = await (await api("/api/v1/conversations?limit=50")).json();
const list = document.getElementById("conversations");
for (const c of page.items) {
  const li = document.createElement("li");
  li.textContent = `#${c.id} · ${c.channel} · ${c.status}`;
  li.dir = "auto";
  list.append(li);
}
document.getElementById("empty").hidden = page.items.length > 0;
