// UI strings of one area, merged into STRINGS by i18n.js (same rules: every key in
// both languages; the static test reads this file as it reads i18n.js).
// Area: internal messages between staff (issue 18).
export default {
  en: {
    ch_title: "Team chat", ch_button_unread: "Team chat, {n} unread", ch_close: "Close team chat",
    ch_new_dm: "New message", ch_colleague: "Colleague", ch_start: "Start",
    ch_search: "Search messages", ch_search_none: "No messages found.", ch_rooms: "Rooms",
    ch_no_rooms: "No rooms yet. Start a message to a colleague.", ch_no_messages: "No messages yet",
    ch_pick_room: "Pick a room or a colleague.", ch_empty_room: "No messages yet. Say hello!",
    ch_team_room: "team room", ch_dm: "direct message", ch_unread: "{n} unread", ch_you: "You",
    ch_older: "Earlier messages", ch_message: "Message", ch_send: "Send",
    ch_placeholder: "Write a message… @ mentions a colleague",
    ch_card: "Conversation #{id}", ch_card_open: "Open conversation #{id}",
    ch_err_room_not_found: "This room is not yours to read (any more).",
    ch_err_chat_self: "Pick someone other than yourself.",
    ch_err_rate_limited: "You are sending too fast. Wait a few seconds.",
  },
  ar: {
    ch_title: "محادثة الفريق", ch_button_unread: "محادثة الفريق، {n} غير مقروءة", ch_close: "إغلاق محادثة الفريق",
    ch_new_dm: "رسالة جديدة", ch_colleague: "الزميل", ch_start: "ابدأ",
    ch_search: "البحث في الرسائل", ch_search_none: "لا توجد رسائل مطابقة.", ch_rooms: "الغرف",
    ch_no_rooms: "لا توجد غرف بعد. ابدأ رسالة إلى زميل.", ch_no_messages: "لا رسائل بعد",
    ch_pick_room: "اختر غرفة أو زميلًا.", ch_empty_room: "لا رسائل بعد. ألقِ التحية!",
    ch_team_room: "غرفة الفريق", ch_dm: "رسالة مباشرة", ch_unread: "{n} غير مقروءة", ch_you: "أنت",
    ch_older: "رسائل أقدم", ch_message: "الرسالة", ch_send: "إرسال",
    ch_placeholder: "اكتب رسالة… استخدم @ للإشارة إلى زميل",
    ch_card: "المحادثة ‎#{id}", ch_card_open: "فتح المحادثة ‎#{id}",
    ch_err_room_not_found: "لم تعد هذه الغرفة متاحة لك.",
    ch_err_chat_self: "اختر شخصًا غيرك.",
    ch_err_rate_limited: "ترسل بسرعة كبيرة. انتظر بضع ثوانٍ.",
  },
};
