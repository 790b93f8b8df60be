// The widget's strings. Arabic (and other right-to-left languages) flip the layout.
export const STRINGS = {
  en: {
    open_chat: "Chat with us", close: "Close chat", send: "Send", attach: "Attach a file",
    placeholder: "Type your message…", name: "Name", email: "Email", phone: "Phone",
    topic: "Topic", choose_topic: "Choose a topic", message: "Message", start: "Start chat",
    optional: "(optional)", you: "You", agent: "Agent", typing: "{name} is typing…",
    someone: "Someone", queue_position: "You are number {n} in the queue.",
    queue_wait: "Estimated wait: about {m} min.", queue_soon: "An agent will be with you shortly.",
    assigned: "{name} joined the chat.", resolved: "This conversation was closed.",
    survey_title: "How did we do?", survey_comment: "Anything to add? (optional)",
    survey_submit: "Send rating", survey_thanks: "Thank you for your feedback!",
    star: "{n} of 5", offline_title: "We are not available right now",
    offline_text: "Leave a message and we will answer by email.",
    offline_closed: "We are closed at the moment.", offline_send: "Send message",
    offline_sent: "Thanks! We received your message and will reply by email.",
    sending: "Sending…", failed: "Not sent — tap to retry", read: "Read",
    reconnecting: "Reconnecting…", error_generic: "Something went wrong: {m}",
    file_too_large: "The file is too large (limit {mb} MB).", file_type: "This type of file is not accepted.",
    new_chat: "Start a new conversation", download: "Download",
    prechat_intro: "Please tell us a little about you before we start.",
  },
  ar: {
    open_chat: "تحدث معنا", close: "إغلاق المحادثة", send: "إرسال", attach: "إرفاق ملف",
    placeholder: "اكتب رسالتك…", name: "الاسم", email: "البريد الإلكتروني", phone: "الهاتف",
    topic: "الموضوع", choose_topic: "اختر موضوعًا", message: "الرسالة", start: "ابدأ المحادثة",
    optional: "(اختياري)", you: "أنت", agent: "الموظف", typing: "{name} يكتب…",
    someone: "أحدهم", queue_position: "ترتيبك في قائمة الانتظار: {n}.",
    queue_wait: "وقت الانتظار المتوقع: حوالي {m} دقيقة.", queue_soon: "سينضم إليك أحد الموظفين قريبًا.",
    assigned: "انضم {name} إلى المحادثة.", resolved: "أُغلقت هذه المحادثة.",
    survey_title: "كيف كانت تجربتك؟", survey_comment: "هل تود إضافة شيء؟ (اختياري)",
    survey_submit: "إرسال التقييم", survey_thanks: "شكرًا على رأيك!",
    star: "{n} من 5", offline_title: "لسنا متاحين الآن",
    offline_text: "اترك رسالة وسنرد عليك بالبريد الإلكتروني.",
    offline_closed: "نحن مغلقون حاليًا.", offline_send: "إرسال الرسالة",
    offline_sent: "شكرًا! استلمنا رسالتك وسنرد عليك بالبريد الإلكتروني.",
    sending: "جارٍ الإرسال…", failed: "لم تُرسل — اضغط لإعادة المحاولة", read: "مقروءة",
    reconnecting: "جارٍ إعادة الاتصال…", error_generic: "حدث خطأ: {m}",
    file_too_large: "الملف كبير جدًا (الحد {mb} ميغابايت).", file_type: "هذا النوع من الملفات غير مقبول.",
    new_chat: "ابدأ محادثة جديدة", download: "تنزيل",
    prechat_intro: "أخبرنا قليلًا عنك قبل أن نبدأ.",
  },
};

const RTL = new Set(["ar", "he", "fa", "ur"]);

export function pickLanguage(...candidates) {
  for (const c of candidates) {
    const base = (c || "").toLowerCase().split("-")[0];
    if (base && base !== "auto" && STRINGS[base]) return base;
  }
  return "en";
}

export function isRtl(lang) {
  return RTL.has(lang);
}

export function t(lang, key, vars = {}) {
  const s = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}
