// Every UI string, in English and Arabic. Arabic switches the document to
// right-to-left; the layout mirrors itself through CSS logical properties.
// Placeholders look like {name}; values are inserted as text, never as markup.

export const STRINGS = {
  en: {
    // sign-in
    login_title: "Sign in to Switchboard", email: "Email", password: "Password", sign_in: "Sign in",
    bad_credentials: "Wrong email or password.", rate_limited: "Too many attempts. Try again in a minute.",
    network: "Cannot reach the hub. Check your connection.", other_lang: "العربية",
    forgot_link: "Forgot your password?",
    // password: change, forgotten, reset
    nav_password: "Password", pw_title: "Change your password", pw_signed_in_as: "Signed in as {name}",
    pw_current: "Current password", pw_confirm: "New password again", pw_current_missing: "Enter your current password.",
    pw_rules: "At least 10 characters, not your email address and not a common password.",
    pw_revoke_tokens: "Also revoke my API tokens (integrations using them stop working)",
    pw_submit: "Change password", pw_done: "Your password is changed. Every other session was signed out.",
    pw_done_tokens: "API tokens revoked: {n}.", pw_back: "Back to the console",
    pw_mismatch: "The two new passwords are not the same.",
    forgot_title: "Reset your password",
    forgot_intro: "Enter the email address of your account. We will mail you a link to choose a new password.",
    forgot_submit: "Mail me a link",
    forgot_sent: "If an account uses this address, a link is on its way. It works for 30 minutes. No email? Ask an administrator to reset your password.",
    reset_title: "Choose a new password", reset_submit: "Set the password",
    reset_done: "Your password is set. You can sign in now.", reset_missing: "Open this page with the link from the email.",
    forgot_again: "Ask for a new link", back_to_sign_in: "Back to sign-in", err_bad_email: "Enter an email address.",
    // chrome
    brand: "Switchboard", nav_label: "Main", nav_console: "Console", nav_supervisor: "Supervisor", nav_admin: "Admin",
    sign_out: "Sign out", presence: "Presence", skip_to_thread: "Skip to the conversation",
    menu: "Menu", back_to_list: "Conversations", back_to_thread: "Back to the conversation", show_customer: "Customer",
    conn_open: "Live", conn_connecting: "Connecting…", conn_reconnecting: "Reconnecting…",
    conn_retry_in: "Reconnecting in {s} s", conn_refused: "Connection refused", conn_offline: "Offline",
    // generic
    ok: "OK", cancel: "Cancel", close: "Close", save: "Save", create: "Create", edit: "Edit", delete: "Delete",
    remove: "Remove", done: "Done", copy: "Copy", copied: "Copied", search: "Search", loading: "Loading…",
    none: "None", yes: "Yes", no: "No", someone: "Someone", customer: "Customer", system: "Switchboard", bot: "Bot",
    actions: "Actions", unknown_customer: "Unknown customer",
    dur_s: "{n} s", dur_m: "{n} min", dur_h: "{n} h", dur_d: "{n} d",
    // channels, identities
    ch_sms: "SMS", ch_whatsapp: "WhatsApp", ch_telegram: "Telegram", ch_email: "Email", ch_voice: "Voice",
    ch_webchat: "Web chat", ch_chat: "Chat", ch_loopback: "Loopback",
    id_phone: "Phone", id_email: "Email", id_telegram: "Telegram", id_webchat: "Web chat", id_loopback: "Loopback",
    // statuses
    status_queued: "Queued", status_offered: "Offered", status_assigned: "Open", status_waiting_on_customer: "Waiting on customer",
    status_snoozed: "Snoozed", status_resolved: "Resolved", status_abandoned: "Abandoned",
    presence_available: "Available", presence_busy: "Busy", presence_away: "Away", presence_offline: "Offline",
    presence_wrap_up: "Wrap-up",
    role_agent: "Agent", role_supervisor: "Supervisor", role_admin: "Admin",
    delivery_pending: "Sending", delivery_sent: "Sent", delivery_delivered: "Delivered", delivery_read: "Read",
    delivery_failed: "Failed", delivery_received: "Received",
    cat_inquiry: "Inquiry", cat_complaint: "Complaint", cat_suggestion: "Suggestion", cat_order: "Order",
    cat_other: "Other", cat_none: "No category",
    // console: list
    conversations: "Conversations", tab_mine: "Mine", tab_queue: "Queue", tab_closed: "Closed",
    empty_mine: "No open conversations. New work arrives as offers.", empty_queue: "Nobody is waiting.",
    empty_closed: "Nothing closed recently.", waiting_for: "waiting {time}", sla_left: "SLA {time}",
    sla_breached: "SLA over by {time}", unread_n: "{n} unread", priority_n: "Priority {n}",
    // console: thread
    no_conversation: "No conversation open", pick_conversation: "Pick a conversation on the list, or wait for an offer.",
    private_note: "Private note", call_record: "Call", call_status: "status: {status}", call_duration: "{s} s",
    attachment_n: "Attachment {n}", thread_other_conversation: "Conversation #{id} on {channel}",
    all_channels: "All channels", take: "Take", transfer: "Transfer", snooze: "Snooze", resolve: "Resolve",
    reopen: "Reopen", accept: "Accept", reject: "Reject",
    banner_closed: "This conversation is closed. Reopen it to reply.",
    banner_other: "Assigned to {name}: read only, notes allowed.",
    banner_queue: "Waiting in the queue. Take it to reply.", banner_offered: "Offered: accept it to reply.",
    banner_snoozed: "Snoozed: it comes back when the customer writes or the time is up.",
    ev_accepted: "{name} accepted the conversation", ev_assigned: "Assigned to {name}",
    ev_transferred_agent: "Transferred to {name}", ev_transferred_team: "Transferred to team {team}",
    ev_resolved: "Resolved", ev_resolved_as: "Resolved as {category}", ev_reopened: "Reopened",
    ev_priority: "Priority set to {n}", ev_snoozed: "Snoozed", ev_snooze_ended: "Back from snooze",
    typing_customer: "The customer is typing…", typing_agent: "{name} is typing…",
    transferred: "Transferred.", resolved_toast: "Resolved.", conversation_gone: "That conversation is no longer visible to you.",
    // console: composer
    subject: "Subject", quote: "Quote last message", send: "Send", add_note: "Add note", note_toggle: "Note",
    reply_placeholder: "Write a reply… (/ for canned responses)", note_placeholder: "Private note for colleagues… (@ to mention)",
    composer_keys: "Enter to send · Shift+Enter for a new line", suggestions: "Suggestions",
    canned_none: "No canned response matches.", mention_none: "No colleague matches.",
    sms_counter: "{chars} characters · {segments} SMS ({encoding})", limit_counter: "{n} / {max}",
    hint_voice: "Calls take no text reply: add a note, or call the customer back.",
    hint_notes_only: "You can add private notes here.",
    quote_header: "On {date}, {name} wrote:",
    // console: customer
    contact_none: "No customer selected.", contact_language: "Language: {lang}", vip: "VIP", identities: "Identities",
    tags: "Tags", tag_add: "Add a tag and press Enter", tag_remove: "Remove tag {tag}", contact_notes: "Notes",
    previous_conversations: "Conversations",
    // offers
    offer_title: "New conversation", offer_expires_in: "Expires in {time}", offer_expiring: "Expiring…",
    offer_gone: "That offer is no longer open.", missed_offer_away: "You missed an offer, so your presence was set to Away.",
    // dialogs
    transfer_title: "Transfer conversation #{id}", transfer_to: "Transfer to", transfer_team: "a team",
    transfer_agent: "an agent", transfer_note: "Note for the next person (optional)", team: "Team", agent: "Agent",
    transfer_no_agents: "No colleague in this team",
    resolve_title: "Resolve conversation #{id}", category: "Category",
    snooze_title: "Snooze", snooze_for: "Snooze for", snooze_1h: "1 hour", snooze_4h: "4 hours", snooze_24h: "1 day",
    snooze_week: "1 week", assign: "Assign", assign_title: "Assign conversation #{id}",
    priority: "Priority", priority_title: "Priority of conversation #{id}", priority_hint: "From -100 to 100; higher is served first.",
    // shortcuts
    shortcuts_title: "Keyboard shortcuts", sc_accept: "Accept the offer", sc_reject: "Reject the offer",
    sc_resolve: "Resolve", sc_reopen: "Reopen", sc_transfer: "Transfer", sc_snooze: "Snooze",
    sc_note: "Switch between reply and private note", sc_next: "Next conversation", sc_previous: "Previous conversation",
    sc_compose: "Focus the composer", sc_presence: "Change presence", sc_canned: "Search canned responses",
    sc_help: "Show this list", sc_send: "Send", sc_newline: "New line", sc_escape: "Close a dialog or suggestions",
    // supervisor
    queues: "Queues", agents: "Agents", open_conversations: "Open conversations",
    q_waiting: "Waiting", q_longest: "Longest wait", q_offered: "Offered", q_in_progress: "In progress",
    q_service_level: "Service level today", q_answered: "Answered today", q_agents: "Agents", q_estimated: "Estimated wait",
    q_waiting_time: "Waiting", a_connected: "Connected", a_load: "Load", a_conversations: "Current conversations",
    channel: "Channel", status: "Status", assignee: "Assignee", sla: "SLA", no_teams: "No teams yet.",
    no_agents: "No agents in your teams.", presence_of: "Presence of {name}", read_only_banner: "Read-only view.",
    take_over: "Take over", assigned_to: "Assigned to {name}", unassigned: "Unassigned", open_in_console: "Open in console",
    // admin
    adm_users: "Users", adm_teams: "Teams", adm_canned: "Canned responses",
    name: "Name", role: "Role", teams: "Teams", skills: "Skills", skill: "Skill", level: "Level", add_skill: "Add skill",
    language: "Language", languages: "Languages spoken", languages_hint: "Language codes, e.g. en, ar",
    capacity: "Capacity per channel", capacity_hint: "Conversations at once; blank means none on that channel.",
    capacity_zero: "Your capacity is 0 on every channel, so no conversations will be offered to you. Ask an admin to set your capacity.",
    active: "Active", inactive: "Deactivated", new_user: "New user", edit_user: "Edit {name}",
    password_optional: "Password (optional)", password_generated_hint: "Leave blank to generate one.",
    new_password: "New password", password_keep_hint: "Leave blank to keep the current password.",
    password_once_title: "Password (shown once)", password_once: "The password for {name} <{email}> is below. It is shown only this once.",
    description: "Description", strategy: "Strategy", business_hours: "Business hours", members: "Members",
    new_team: "New team", edit_team: "Edit {name}", members_of: "Members of {name}",
    strategy_longest_idle: "Longest idle", strategy_least_occupied: "Least occupied", strategy_round_robin: "Round robin",
    routing_policy: "Routing", auto_accept: "Assign directly (no offer)", allow_pick: "Agents may pick from the queue",
    wrap_up_seconds: "Wrap-up (seconds)", overflow_team: "Overflow team", overflow_after: "Overflow after (seconds)",
    offer_timeout: "Offer timeout (seconds)", offer_timeout_hint: "Blank uses the default (30 s).",
    sla_seconds: "Answer-time target (seconds)", sla_hint: "Blank uses the default for the channel.",
    always_open: "Always open", timezone: "Time zone", add_hours: "Add hours", closed_dates: "Closed dates",
    closed_dates_hint: "YYYY-MM-DD, separated by commas", after_hours_en: "After-hours message (English)",
    after_hours_ar: "After-hours message (Arabic)", opens_at: "{day} opens at", closes_at: "{day} closes at",
    day_mon: "Monday", day_tue: "Tuesday", day_wed: "Wednesday", day_thu: "Thursday", day_fri: "Friday",
    day_sat: "Saturday", day_sun: "Sunday",
    shortcut: "Shortcut", shortcut_hint: "Letters, digits, - and _; typed as /shortcut.", title: "Title", body: "Text",
    all_teams: "All teams", new_canned: "New canned response", edit_canned: "Edit /{shortcut}",
    delete_canned_title: "Delete canned response", delete_canned: "Delete /{shortcut}? This cannot be undone.",
    delete_team_title: "Delete team", delete_team: "Delete the team {name}? Teams with conversations cannot be deleted.",
    reset_password: "Reset password", adm_reset_title: "Reset the password of {name}",
    adm_reset_text: "{name} is signed out everywhere and cannot sign in until they choose a new password with the link we send them.",
    adm_reset_revoke: "Also revoke their API tokens", adm_reset_mailed: "A reset link was mailed to {email}.",
    adm_reset_link_title: "Reset link (shown once)",
    adm_reset_link: "The link could not be mailed ({error}). Give it to {name} yourself: it works once, until {time}.",
    // errors (by the hub's error code)
    err_unknown: "Something went wrong.", err_network: "Cannot reach the hub. Check your connection.",
    err_disconnected: "Not connected to the hub; trying again.", err_too_long: "The message is too long for this channel.",
    err_role_required: "You do not have permission for this page.",
    err_not_assignee: "Only the assigned agent or a supervisor may do this.",
    err_not_your_team: "This conversation belongs to another team.",
    err_conversation_closed: "The conversation is closed; reopen it first.",
    err_already_resolved: "The conversation is already resolved.", err_not_closed: "The conversation is not closed.",
    err_thread_open: "This customer already has an open conversation on this thread.",
    err_already_assigned: "Someone else already has this conversation.",
    err_pick_not_allowed: "This team does not let agents pick from the queue.",
    err_no_offer: "That offer is no longer open.", err_not_your_offer: "That offer went to someone else.",
    err_channel_disabled: "This channel is not enabled on the hub.", err_empty_body: "Write something first.",
    err_email_taken: "A user with this email exists.", err_team_exists: "A team with this name exists.",
    err_weak_password: "Choose a stronger password: at least 10 characters, not your email address, not a common password.",
    err_weak_password_too_short: "The password must have at least 10 characters.",
    err_weak_password_contains_email: "The password must not contain your email address or its name part.",
    err_weak_password_common: "This is one of the most common passwords. Choose another one.",
    err_wrong_password: "The current password is not right.", err_last_admin: "This is the last active admin: make someone else an admin first.",
    err_reset_link_expired: "This link has expired or was already used. Ask for a new one.",
    err_not_team_member: "That agent is not in the conversation's team.",
    err_transfer_target: "Choose a team or an agent.", err_bad_snooze: "Pick a time in the future.",
    err_agent_not_in_team: "That colleague is not in the conversation's team: choose their team too.",
    err_not_assigned: "Only an assigned conversation can be snoozed.", err_csrf_failed: "Your session expired; reload the page.",
    err_rate_limited: "Too many attempts. Try again in a minute.", err_timeout: "The hub did not answer in time.",
    err_bad_closed_date: "A closed date is not a date: write each one as YYYY-MM-DD, e.g. 2026-12-25.",
  },
  ar: {
    login_title: "تسجيل الدخول إلى سويتشبورد", email: "البريد الإلكتروني", password: "كلمة المرور", sign_in: "دخول",
    bad_credentials: "البريد الإلكتروني أو كلمة المرور غير صحيحة.", rate_limited: "محاولات كثيرة. حاول بعد دقيقة.",
    network: "تعذر الوصول إلى الخادم. تحقق من اتصالك.", other_lang: "English",
    forgot_link: "نسيت كلمة المرور؟",
    nav_password: "كلمة المرور", pw_title: "تغيير كلمة المرور", pw_signed_in_as: "مسجّل الدخول باسم {name}",
    pw_current: "كلمة المرور الحالية", pw_confirm: "كلمة المرور الجديدة مرة أخرى", pw_current_missing: "أدخل كلمة المرور الحالية.",
    pw_rules: "10 أحرف على الأقل، وليست بريدك الإلكتروني ولا كلمة مرور شائعة.",
    pw_revoke_tokens: "إلغاء رموز الواجهة البرمجية الخاصة بي أيضًا (تتوقف التكاملات التي تستخدمها)",
    pw_submit: "تغيير كلمة المرور", pw_done: "تم تغيير كلمة المرور. سُجّل الخروج من كل الجلسات الأخرى.",
    pw_done_tokens: "رموز الواجهة البرمجية الملغاة: {n}.", pw_back: "العودة إلى لوحة العمل",
    pw_mismatch: "كلمتا المرور الجديدتان غير متطابقتين.",
    forgot_title: "إعادة تعيين كلمة المرور",
    forgot_intro: "أدخل البريد الإلكتروني لحسابك، وسنرسل إليك رابطًا لاختيار كلمة مرور جديدة.",
    forgot_submit: "أرسل لي الرابط",
    forgot_sent: "إن كان هناك حساب بهذا البريد فالرابط في طريقه إليك، ويعمل لمدة 30 دقيقة. لم يصلك؟ اطلب من المسؤول إعادة تعيين كلمة مرورك.",
    reset_title: "اختر كلمة مرور جديدة", reset_submit: "تعيين كلمة المرور",
    reset_done: "تم تعيين كلمة المرور. يمكنك تسجيل الدخول الآن.", reset_missing: "افتح هذه الصفحة من الرابط الموجود في الرسالة.",
    forgot_again: "اطلب رابطًا جديدًا", back_to_sign_in: "العودة إلى تسجيل الدخول", err_bad_email: "أدخل بريدًا إلكترونيًا.",
    brand: "سويتشبورد", nav_label: "الرئيسية", nav_console: "لوحة العمل", nav_supervisor: "الإشراف", nav_admin: "الإدارة",
    sign_out: "خروج", presence: "الحالة", skip_to_thread: "انتقل إلى المحادثة",
    menu: "القائمة", back_to_list: "المحادثات", back_to_thread: "العودة إلى المحادثة", show_customer: "العميل",
    conn_open: "متصل", conn_connecting: "جارٍ الاتصال…", conn_reconnecting: "جارٍ إعادة الاتصال…",
    conn_retry_in: "إعادة الاتصال خلال {s} ث", conn_refused: "رُفض الاتصال", conn_offline: "غير متصل",
    ok: "موافق", cancel: "إلغاء", close: "إغلاق", save: "حفظ", create: "إنشاء", edit: "تعديل", delete: "حذف",
    remove: "إزالة", done: "تم", copy: "نسخ", copied: "نُسخ", search: "بحث", loading: "جارٍ التحميل…",
    none: "لا شيء", yes: "نعم", no: "لا", someone: "أحدهم", customer: "العميل", system: "سويتشبورد", bot: "روبوت",
    actions: "إجراءات", unknown_customer: "عميل غير معروف",
    dur_s: "{n} ث", dur_m: "{n} د", dur_h: "{n} س", dur_d: "{n} ي",
    ch_sms: "رسالة نصية", ch_whatsapp: "واتساب", ch_telegram: "تيليجرام", ch_email: "بريد إلكتروني", ch_voice: "مكالمة",
    ch_webchat: "دردشة الموقع", ch_chat: "دردشة", ch_loopback: "قناة اختبار",
    id_phone: "هاتف", id_email: "بريد إلكتروني", id_telegram: "تيليجرام", id_webchat: "دردشة الموقع", id_loopback: "قناة اختبار",
    status_queued: "في الانتظار", status_offered: "معروضة", status_assigned: "مفتوحة", status_waiting_on_customer: "بانتظار العميل",
    status_snoozed: "مؤجلة", status_resolved: "محلولة", status_abandoned: "متروكة",
    presence_available: "متاح", presence_busy: "مشغول", presence_away: "بعيد", presence_offline: "غير متصل",
    presence_wrap_up: "إنهاء العمل",
    role_agent: "موظف", role_supervisor: "مشرف", role_admin: "مدير",
    delivery_pending: "جارٍ الإرسال", delivery_sent: "أُرسلت", delivery_delivered: "وصلت", delivery_read: "قُرئت",
    delivery_failed: "فشل الإرسال", delivery_received: "مستلمة",
    cat_inquiry: "استفسار", cat_complaint: "شكوى", cat_suggestion: "اقتراح", cat_order: "طلب",
    cat_other: "أخرى", cat_none: "بدون تصنيف",
    conversations: "المحادثات", tab_mine: "محادثاتي", tab_queue: "قائمة الانتظار", tab_closed: "المغلقة",
    empty_mine: "لا توجد محادثات مفتوحة. يصل العمل الجديد كعروض.", empty_queue: "لا أحد في الانتظار.",
    empty_closed: "لا محادثات مغلقة مؤخرًا.", waiting_for: "ينتظر {time}", sla_left: "المهلة {time}",
    sla_breached: "تجاوز المهلة بـ {time}", unread_n: "{n} غير مقروءة", priority_n: "الأولوية {n}",
    no_conversation: "لا توجد محادثة مفتوحة", pick_conversation: "اختر محادثة من القائمة، أو انتظر عرضًا.",
    private_note: "ملاحظة خاصة", call_record: "مكالمة", call_status: "الحالة: {status}", call_duration: "{s} ث",
    attachment_n: "مرفق {n}", thread_other_conversation: "المحادثة رقم {id} عبر {channel}",
    all_channels: "كل القنوات", take: "استلام", transfer: "تحويل", snooze: "تأجيل", resolve: "إغلاق كمحلولة",
    reopen: "إعادة فتح", accept: "قبول", reject: "رفض",
    banner_closed: "هذه المحادثة مغلقة. أعد فتحها للرد.",
    banner_other: "مُسندة إلى {name}: للقراءة فقط، ويمكن إضافة ملاحظات.",
    banner_queue: "في قائمة الانتظار. استلمها للرد.", banner_offered: "معروضة عليك: اقبلها للرد.",
    banner_snoozed: "مؤجلة: تعود عندما يكتب العميل أو ينتهي الوقت.",
    ev_accepted: "قبل {name} المحادثة", ev_assigned: "أُسندت إلى {name}",
    ev_transferred_agent: "حُوّلت إلى {name}", ev_transferred_team: "حُوّلت إلى فريق {team}",
    ev_resolved: "أُغلقت كمحلولة", ev_resolved_as: "أُغلقت كمحلولة: {category}", ev_reopened: "أُعيد فتحها",
    ev_priority: "عُيّنت الأولوية إلى {n}", ev_snoozed: "أُجّلت", ev_snooze_ended: "عادت من التأجيل",
    typing_customer: "العميل يكتب…", typing_agent: "{name} يكتب…",
    transferred: "تم التحويل.", resolved_toast: "أُغلقت كمحلولة.", conversation_gone: "لم تعد هذه المحادثة ظاهرة لك.",
    subject: "الموضوع", quote: "اقتباس آخر رسالة", send: "إرسال", add_note: "إضافة ملاحظة", note_toggle: "ملاحظة",
    reply_placeholder: "اكتب ردًا… (/ للردود الجاهزة)", note_placeholder: "ملاحظة خاصة للزملاء… (@ للإشارة)",
    composer_keys: "Enter للإرسال · Shift+Enter لسطر جديد", suggestions: "اقتراحات",
    canned_none: "لا يوجد رد جاهز مطابق.", mention_none: "لا يوجد زميل مطابق.",
    sms_counter: "{chars} حرفًا · {segments} رسالة ({encoding})", limit_counter: "{n} / {max}",
    hint_voice: "لا يمكن الرد نصيًا على مكالمة: أضف ملاحظة أو اتصل بالعميل.",
    hint_notes_only: "يمكنك إضافة ملاحظات خاصة هنا.",
    quote_header: "في {date}، كتب {name}:",
    contact_none: "لم يُحدَّد عميل.", contact_language: "اللغة: {lang}", vip: "عميل مميز", identities: "وسائل التواصل",
    tags: "الوسوم", tag_add: "أضف وسمًا واضغط Enter", tag_remove: "إزالة الوسم {tag}", contact_notes: "ملاحظات",
    previous_conversations: "المحادثات",
    offer_title: "محادثة جديدة", offer_expires_in: "ينتهي العرض خلال {time}", offer_expiring: "ينتهي العرض…",
    offer_gone: "لم يعد هذا العرض متاحًا.", missed_offer_away: "فاتك عرض، لذلك تغيّرت حالتك إلى بعيد.",
    transfer_title: "تحويل المحادثة رقم {id}", transfer_to: "التحويل إلى", transfer_team: "فريق",
    transfer_agent: "موظف", transfer_note: "ملاحظة لمن يستلمها (اختياري)", team: "الفريق", agent: "الموظف",
    transfer_no_agents: "لا يوجد زميل في هذا الفريق",
    resolve_title: "إغلاق المحادثة رقم {id} كمحلولة", category: "التصنيف",
    snooze_title: "تأجيل", snooze_for: "التأجيل لمدة", snooze_1h: "ساعة", snooze_4h: "4 ساعات", snooze_24h: "يوم",
    snooze_week: "أسبوع", assign: "إسناد", assign_title: "إسناد المحادثة رقم {id}",
    priority: "الأولوية", priority_title: "أولوية المحادثة رقم {id}", priority_hint: "من ‎-100 إلى 100؛ الأعلى يُخدم أولًا.",
    shortcuts_title: "اختصارات لوحة المفاتيح", sc_accept: "قبول العرض", sc_reject: "رفض العرض",
    sc_resolve: "إغلاق كمحلولة", sc_reopen: "إعادة فتح", sc_transfer: "تحويل", sc_snooze: "تأجيل",
    sc_note: "التبديل بين الرد والملاحظة الخاصة", sc_next: "المحادثة التالية", sc_previous: "المحادثة السابقة",
    sc_compose: "الانتقال إلى مربع الكتابة", sc_presence: "تغيير الحالة", sc_canned: "البحث في الردود الجاهزة",
    sc_help: "عرض هذه القائمة", sc_send: "إرسال", sc_newline: "سطر جديد", sc_escape: "إغلاق نافذة أو اقتراحات",
    queues: "قوائم الانتظار", agents: "الموظفون", open_conversations: "المحادثات المفتوحة",
    q_waiting: "في الانتظار", q_longest: "أطول انتظار", q_offered: "معروضة", q_in_progress: "قيد المعالجة",
    q_service_level: "مستوى الخدمة اليوم", q_answered: "أُجيب عنها اليوم", q_agents: "الموظفون", q_estimated: "الانتظار المتوقع",
    q_waiting_time: "الانتظار", a_connected: "متصل", a_load: "الحِمل", a_conversations: "المحادثات الحالية",
    channel: "القناة", status: "الحالة", assignee: "المسؤول", sla: "المهلة", no_teams: "لا توجد فرق بعد.",
    no_agents: "لا يوجد موظفون في فرقك.", presence_of: "حالة {name}", read_only_banner: "عرض للقراءة فقط.",
    take_over: "استلام", assigned_to: "مُسندة إلى {name}", unassigned: "غير مُسندة", open_in_console: "فتح في لوحة العمل",
    adm_users: "المستخدمون", adm_teams: "الفرق", adm_canned: "الردود الجاهزة",
    name: "الاسم", role: "الدور", teams: "الفرق", skills: "المهارات", skill: "المهارة", level: "المستوى", add_skill: "إضافة مهارة",
    language: "اللغة", languages: "اللغات التي يتحدثها", languages_hint: "رموز اللغات، مثل en, ar",
    capacity: "السعة لكل قناة", capacity_hint: "عدد المحادثات في الوقت نفسه؛ الفراغ يعني لا شيء على تلك القناة.",
    capacity_zero: "سعتك صفر على كل القنوات، لذلك لن تُعرض عليك أي محادثة. اطلب من المسؤول ضبط سعتك.",
    active: "نشط", inactive: "معطّل", new_user: "مستخدم جديد", edit_user: "تعديل {name}",
    password_optional: "كلمة المرور (اختياري)", password_generated_hint: "اتركها فارغة لتوليد واحدة.",
    new_password: "كلمة مرور جديدة", password_keep_hint: "اتركها فارغة للإبقاء على كلمة المرور الحالية.",
    password_once_title: "كلمة المرور (تظهر مرة واحدة)", password_once: "كلمة مرور {name} ‏<{email}> أدناه. تظهر هذه المرة فقط.",
    description: "الوصف", strategy: "طريقة التوزيع", business_hours: "ساعات العمل", members: "الأعضاء",
    new_team: "فريق جديد", edit_team: "تعديل {name}", members_of: "أعضاء {name}",
    strategy_longest_idle: "الأطول فراغًا", strategy_least_occupied: "الأقل انشغالًا", strategy_round_robin: "بالتناوب",
    routing_policy: "التوجيه", auto_accept: "إسناد مباشر (بدون عرض)", allow_pick: "يمكن للموظفين الاستلام من قائمة الانتظار",
    wrap_up_seconds: "وقت إنهاء العمل (ثوانٍ)", overflow_team: "فريق الفائض", overflow_after: "التحويل للفائض بعد (ثوانٍ)",
    offer_timeout: "مهلة العرض (ثوانٍ)", offer_timeout_hint: "الفراغ يعني القيمة الافتراضية (30 ث).",
    sla_seconds: "هدف زمن الرد (ثوانٍ)", sla_hint: "الفراغ يعني القيمة الافتراضية للقناة.",
    always_open: "مفتوح دائمًا", timezone: "المنطقة الزمنية", add_hours: "إضافة فترة", closed_dates: "أيام الإغلاق",
    closed_dates_hint: "بصيغة YYYY-MM-DD، مفصولة بفواصل", after_hours_en: "رسالة خارج الدوام (بالإنجليزية)",
    after_hours_ar: "رسالة خارج الدوام (بالعربية)", opens_at: "يفتح يوم {day} الساعة", closes_at: "يغلق يوم {day} الساعة",
    day_mon: "الاثنين", day_tue: "الثلاثاء", day_wed: "الأربعاء", day_thu: "الخميس", day_fri: "الجمعة",
    day_sat: "السبت", day_sun: "الأحد",
    shortcut: "الاختصار", shortcut_hint: "حروف وأرقام و- و_؛ يُكتب ‎/الاختصار.", title: "العنوان", body: "النص",
    all_teams: "كل الفرق", new_canned: "رد جاهز جديد", edit_canned: "تعديل ‎/{shortcut}",
    delete_canned_title: "حذف رد جاهز", delete_canned: "حذف ‎/{shortcut}؟ لا يمكن التراجع عن ذلك.",
    delete_team_title: "حذف فريق", delete_team: "حذف الفريق {name}؟ لا يمكن حذف فريق لديه محادثات.",
    reset_password: "إعادة تعيين كلمة المرور", adm_reset_title: "إعادة تعيين كلمة مرور {name}",
    adm_reset_text: "سيُسجَّل خروج {name} من كل مكان، ولن يستطيع الدخول حتى يختار كلمة مرور جديدة بالرابط الذي نرسله إليه.",
    adm_reset_revoke: "إلغاء رموز الواجهة البرمجية الخاصة به أيضًا", adm_reset_mailed: "أُرسل رابط إعادة التعيين إلى ‎{email}.",
    adm_reset_link_title: "رابط إعادة التعيين (يظهر مرة واحدة)",
    adm_reset_link: "تعذر إرسال الرابط بالبريد ({error}). أعطه إلى {name} بنفسك: يعمل مرة واحدة حتى {time}.",
    err_unknown: "حدث خطأ ما.", err_network: "تعذر الوصول إلى الخادم. تحقق من اتصالك.",
    err_disconnected: "غير متصل بالخادم؛ جارٍ إعادة المحاولة.", err_too_long: "الرسالة أطول مما تسمح به هذه القناة.",
    err_role_required: "ليست لديك صلاحية لهذه الصفحة.",
    err_not_assignee: "هذا الإجراء للموظف المسؤول أو للمشرف فقط.",
    err_not_your_team: "هذه المحادثة تخص فريقًا آخر.",
    err_conversation_closed: "المحادثة مغلقة؛ أعد فتحها أولًا.",
    err_already_resolved: "المحادثة محلولة بالفعل.", err_not_closed: "المحادثة ليست مغلقة.",
    err_thread_open: "لدى هذا العميل محادثة مفتوحة بالفعل في هذا المسار.",
    err_already_assigned: "المحادثة لدى شخص آخر بالفعل.",
    err_pick_not_allowed: "لا يسمح هذا الفريق بالاستلام من قائمة الانتظار.",
    err_no_offer: "لم يعد هذا العرض متاحًا.", err_not_your_offer: "ذهب هذا العرض إلى شخص آخر.",
    err_channel_disabled: "هذه القناة غير مفعّلة على الخادم.", err_empty_body: "اكتب شيئًا أولًا.",
    err_email_taken: "يوجد مستخدم بهذا البريد الإلكتروني.", err_team_exists: "يوجد فريق بهذا الاسم.",
    err_weak_password: "اختر كلمة مرور أقوى: 10 أحرف على الأقل، وليست بريدك الإلكتروني ولا كلمة مرور شائعة.",
    err_weak_password_too_short: "يجب أن تتكون كلمة المرور من 10 أحرف على الأقل.",
    err_weak_password_contains_email: "يجب ألا تحتوي كلمة المرور على بريدك الإلكتروني أو جزء الاسم منه.",
    err_weak_password_common: "هذه من أكثر كلمات المرور شيوعًا. اختر غيرها.",
    err_wrong_password: "كلمة المرور الحالية غير صحيحة.", err_last_admin: "هذا آخر مسؤول نشط: اجعل شخصًا آخر مسؤولًا أولًا.",
    err_reset_link_expired: "انتهت صلاحية هذا الرابط أو استُخدم من قبل. اطلب رابطًا جديدًا.",
    err_not_team_member: "هذا الموظف ليس في فريق المحادثة.",
    err_transfer_target: "اختر فريقًا أو موظفًا.", err_bad_snooze: "اختر وقتًا في المستقبل.",
    err_agent_not_in_team: "هذا الزميل ليس في فريق المحادثة: اختر فريقه أيضًا.",
    err_not_assigned: "لا يمكن تأجيل إلا المحادثات المُسندة.", err_csrf_failed: "انتهت جلستك؛ أعد تحميل الصفحة.",
    err_rate_limited: "محاولات كثيرة. حاول بعد دقيقة.", err_timeout: "لم يرد الخادم في الوقت المحدد.",
    err_bad_closed_date: "أحد أيام الإغلاق ليس تاريخًا صحيحًا: اكتب كل تاريخ بصيغة YYYY-MM-DD، مثل 2026-12-25.",
  },
};

let current = "en";

/** Before sign-in: the last language used on this browser, else the browser's. */
export function initialLang() {
  const saved = localStorage.getItem("sb_lang");
  if (saved === "ar" || saved === "en") return saved;
  return (navigator.language || "en").toLowerCase().startsWith("ar") ? "ar" : "en";
}

export function getLang() {
  return current;
}

/** Arabic numbers are shown with Latin digits, like the phone numbers and codes agents type. */
export function locale() {
  return current === "ar" ? "ar-u-nu-latn" : "en";
}

export function setLang(lang) {
  current = lang === "ar" ? "ar" : "en";
  localStorage.setItem("sb_lang", current);
  document.documentElement.lang = current;
  document.documentElement.dir = current === "ar" ? "rtl" : "ltr";
}

export function hasString(key) {
  return key in STRINGS.en;
}

export function t(key, vars = {}) {
  const s = STRINGS[current][key] ?? STRINGS.en[key];
  if (s === undefined) {
    console.warn(`i18n: missing string ${key}`); // the e2e tests fail on this
    return key;
  }
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

/** Translate the static parts of a page: data-i18n (text) and data-i18n-<attr>. */
export function applyLang(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const attr of ["placeholder", "title", "aria-label"]) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
    }
  }
  document.title = `${t("brand")}`;
}
