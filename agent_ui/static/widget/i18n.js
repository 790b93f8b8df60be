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
    survey_submit: "Send rating", survey_thanks: "Thank you for your feedback!", survey_later: "Not now",
    star: "{n} of 5", offline_title: "We are not available right now",
    offline_text: "Leave a message and we will answer by email.",
    offline_closed: "We are closed at the moment.", offline_send: "Send message",
    offline_sent: "Thanks! We received your message and will reply by email.",
    offline_text_chat: "Leave a message and we will answer here, in this chat, when we are back.",
    offline_sent_chat: "Thanks! We received your message. Our answer will appear in this chat when we are back.",
    sending: "Sending…", failed: "Not sent — tap to retry", read: "Read",
    reconnecting: "Reconnecting…", error_generic: "Something went wrong: {m}",
    file_too_large: "The file is too large (limit {mb} MB).", file_type: "This type of file is not accepted.",
    new_chat: "Start a new conversation", download: "Download",
    prechat_intro: "Please tell us a little about you before we start.",
    link_offer: "Link to your previous conversations? We'll email you a code.",
    link_send_code: "Email me a code", link_no_thanks: "No thanks",
    link_code_sent: "If this address is on file, we sent it a 6-digit code. It expires in 10 minutes.",
    link_code: "Code", link_confirm: "Link", link_done: "Linked. Our team now sees your earlier conversations.",
    link_wrong: "That code is not right ({n} attempts left).",
    link_expired: "This code has expired or was used up. Ask for a new one.",
    link_too_many: "Too many requests. Please try again later.",
    link_mail_failed: "We could not send the email just now. Please try again later.",
    link_busy: "We cannot link while you have another chat open with us.",
    complaint_open: "Make a complaint", complaint_title: "Make a complaint",
    complaint_intro: "Tell us what went wrong. You will get a reference number.",
    complaint_description: "What happened?", complaint_order_ref: "Order or product reference",
    complaint_about_you: "About you", complaint_send: "Send complaint", complaint_cancel: "Cancel",
    complaint_saved: "Your complaint is registered: {ref}",
    // Field errors: the hub's own wording (it answers in English), so English shows the
    // same text whether the widget or the hub caught the mistake.
    err_description: "please tell us what happened",
    err_too_long: "this is longer than {n} characters; shorten it",
    err_name: "please enter your name", err_name_long: "the name is longer than 120 characters",
    err_email: "please enter an email address", err_message: "please write your message",
    err_email_bad: "this does not look like an email address (like name@example.com)",
    err_phone: "please enter a phone number",
    err_phone_bad: "this does not look like a phone number; include the country code (+44…)",
    err_topic: "please enter a topic", err_topic_bad: "choose one of: {topics}",
    err_one_of: "please enter {fields}", err_or: " or ",
    label_name: "your name", label_email: "an email address", label_phone: "a phone number", label_topic: "a topic",
    rate_limited: "Too many requests. Please try again later.",
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
    survey_submit: "إرسال التقييم", survey_thanks: "شكرًا على رأيك!", survey_later: "ليس الآن",
    star: "{n} من 5", offline_title: "لسنا متاحين الآن",
    offline_text: "اترك رسالة وسنرد عليك بالبريد الإلكتروني.",
    offline_closed: "نحن مغلقون حاليًا.", offline_send: "إرسال الرسالة",
    offline_sent: "شكرًا! استلمنا رسالتك وسنرد عليك بالبريد الإلكتروني.",
    offline_text_chat: "اترك رسالة وسنرد عليك هنا في هذه المحادثة عند عودتنا.",
    offline_sent_chat: "شكرًا! استلمنا رسالتك. سيظهر ردنا في هذه المحادثة عند عودتنا.",
    sending: "جارٍ الإرسال…", failed: "لم تُرسل — اضغط لإعادة المحاولة", read: "مقروءة",
    reconnecting: "جارٍ إعادة الاتصال…", error_generic: "حدث خطأ: {m}",
    file_too_large: "الملف كبير جدًا (الحد {mb} ميغابايت).", file_type: "هذا النوع من الملفات غير مقبول.",
    new_chat: "ابدأ محادثة جديدة", download: "تنزيل",
    prechat_intro: "أخبرنا قليلًا عنك قبل أن نبدأ.",
    link_offer: "هل تريد ربط هذه المحادثة بمحادثاتك السابقة؟ سنرسل إليك رمزًا بالبريد الإلكتروني.",
    link_send_code: "أرسل لي رمزًا", link_no_thanks: "لا، شكرًا",
    link_code_sent: "إذا كان هذا العنوان مسجلًا لدينا فقد أرسلنا إليه رمزًا من 6 أرقام. تنتهي صلاحيته بعد 10 دقائق.",
    link_code: "الرمز", link_confirm: "ربط", link_done: "تم الربط. يرى فريقنا الآن محادثاتك السابقة.",
    link_wrong: "الرمز غير صحيح (المحاولات المتبقية: {n}).",
    link_expired: "انتهت صلاحية هذا الرمز أو استُنفدت محاولاته. اطلب رمزًا جديدًا.",
    link_too_many: "طلبات كثيرة جدًا. حاول مرة أخرى لاحقًا.",
    link_mail_failed: "تعذر إرسال البريد الآن. حاول مرة أخرى لاحقًا.",
    link_busy: "لا يمكن الربط ولديك محادثة أخرى مفتوحة معنا.",
    complaint_open: "تقديم شكوى", complaint_title: "تقديم شكوى",
    complaint_intro: "أخبرنا بما حدث. ستحصل على رقم مرجعي.",
    complaint_description: "ماذا حدث؟", complaint_order_ref: "رقم الطلب أو المنتج",
    complaint_about_you: "معلوماتك", complaint_send: "إرسال الشكوى", complaint_cancel: "إلغاء",
    complaint_saved: "تم تسجيل شكواك: {ref}",
    err_description: "يرجى إخبارنا بما حدث.",
    err_too_long: "النص أطول من {n} حرفًا؛ يرجى اختصاره.",
    err_name: "يرجى إدخال اسمك.", err_name_long: "الاسم أطول من 120 حرفًا.",
    err_email: "يرجى إدخال بريد إلكتروني.", err_message: "يرجى كتابة رسالتك.",
    err_email_bad: "لا يبدو هذا عنوان بريد إلكتروني صحيحًا (مثل name@example.com).",
    err_phone: "يرجى إدخال رقم هاتف.",
    err_phone_bad: "لا يبدو هذا رقم هاتف صحيحًا؛ أضف رمز الدولة (مثل +966…).",
    err_topic: "يرجى اختيار موضوع.", err_topic_bad: "اختر أحد المواضيع: {topics}",
    err_one_of: "يرجى إدخال {fields}.", err_or: " أو ",
    label_name: "اسمك", label_email: "بريد إلكتروني", label_phone: "رقم هاتف", label_topic: "موضوع",
    rate_limited: "طلبات كثيرة جدًا. حاول مرة أخرى لاحقًا.",
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
