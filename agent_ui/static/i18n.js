// Minimal i18n: every UI string lives in STRINGS; Arabic switches the page to RTL.
export const STRINGS = {
  en: {
    title: "Sign in to Switchboard", email: "Email", password: "Password", submit: "Sign in",
    bad_credentials: "Wrong email or password.", rate_limited: "Too many attempts. Try again in {s} seconds.",
    network: "Cannot reach the hub. Check your connection.", other_lang: "العربية",
    console: "Console", signed_in_as: "Signed in as", sign_out: "Sign out", conversations: "Conversations",
    empty: "No conversations yet.", presence: "Presence",
  },
  ar: {
    title: "تسجيل الدخول إلى سويتشبورد", email: "البريد الإلكتروني", password: "كلمة المرور", submit: "دخول",
    bad_credentials: "البريد الإلكتروني أو كلمة المرور غير صحيحة.", rate_limited: "محاولات كثيرة. حاول بعد {s} ثانية.",
    network: "تعذر الوصول إلى الخادم. تحقق من اتصالك.", other_lang: "English",
    console: "لوحة العمل", signed_in_as: "مسجل باسم", sign_out: "خروج", conversations: "المحادثات",
    empty: "لا توجد محادثات بعد.", presence: "الحالة",
  },
};

export function currentLang() {
  const saved = localStorage.getItem("sb_lang");
  if (saved === "ar" || saved === "en") return saved;
  return (navigator.language || "en").toLowerCase().startsWith("ar") ? "ar" : "en";
}

export function t(lang, key, vars = {}) {
  const s = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

export function applyLang(lang) {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "ar" ? "rtl" : "ltr";
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(lang, el.dataset.i18n);
  }
}
