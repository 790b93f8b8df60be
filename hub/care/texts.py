"""What the hub says to customers about complaints and surveys, in English and Arabic.

Survey questions live on their definition (admins edit them); these are the fixed
sentences around them. Placeholders are filled with ``str.format``; values that come
from customers never reach these templates.
"""

from __future__ import annotations

from datetime import datetime

from hub.timeutil import zone as tz_zone

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "ack": "We have received your complaint. Your reference is {reference}. "
        'We will respond by {due}. Write "status {reference}" at any time to see where it stands.',
        "ack_no_due": "We have received your complaint. Your reference is {reference}. "
        'Write "status {reference}" at any time to see where it stands.',
        "status": "Complaint {reference}: {status}.",
        "status_due": "Complaint {reference}: {status}. Expected by {due}.",
        "status_unknown": "We could not find an open complaint with that reference for you. "
        "Please check the reference, or write to us and an agent will help.",
        "status_none": "You have no open complaint with us. Write to us and an agent will help.",
        "status_many": "You have several open complaints: {references}. "
        'Write "status" followed by a reference to see one.',
        "resolved": "Your complaint {reference} has been resolved. {resolution}",
        "waiting_on_customer": "We need more information from you about complaint {reference}. "
        "Please reply to this message.",
        "reopened": "Your complaint {reference} has been reopened. We will get back to you.",
        "complaint_survey": "How satisfied are you with how we handled complaint {reference}? "
        "Reply with a number from 1 (very unsatisfied) to 5 (very satisfied).",
        "survey_link": "Or answer here: {url}",
    },
    "ar": {
        "ack": "تم استلام شكواك. الرقم المرجعي: {reference}. سنرد عليك قبل {due}. "
        "أرسل «حالة {reference}» في أي وقت لمعرفة حالتها.",
        "ack_no_due": "تم استلام شكواك. الرقم المرجعي: {reference}. أرسل «حالة {reference}» في أي وقت لمعرفة حالتها.",
        "status": "الشكوى {reference}: {status}.",
        "status_due": "الشكوى {reference}: {status}. الموعد المتوقع: {due}.",
        "status_unknown": "لم نجد شكوى مفتوحة لك بهذا الرقم المرجعي. "
        "يرجى التحقق من الرقم، أو راسلنا وسيساعدك أحد الموظفين.",
        "status_none": "ليست لديك شكوى مفتوحة لدينا. راسلنا وسيساعدك أحد الموظفين.",
        "status_many": "لديك عدة شكاوى مفتوحة: {references}. أرسل «حالة» متبوعة بالرقم المرجعي لمعرفة إحداها.",
        "resolved": "تم حل شكواك {reference}. {resolution}",
        "waiting_on_customer": "نحتاج إلى مزيد من المعلومات منك بخصوص الشكوى {reference}. يرجى الرد على هذه الرسالة.",
        "reopened": "تمت إعادة فتح شكواك {reference}. سنعود إليك قريبًا.",
        "complaint_survey": "ما مدى رضاك عن طريقة معالجتنا للشكوى {reference}؟ "
        "أرسل رقمًا من 1 (غير راضٍ إطلاقًا) إلى 5 (راضٍ جدًا).",
        "survey_link": "أو أجب من هنا: {url}",
    },
}

STATUS_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "new": "received",
        "acknowledged": "received",
        "investigating": "being investigated",
        "waiting_on_customer": "waiting for your reply",
        "waiting_on_third_party": "waiting on a third party",
        "resolved": "resolved",
        "closed": "closed",
        "reopened": "reopened",
    },
    "ar": {
        "new": "مستلمة",
        "acknowledged": "مستلمة",
        "investigating": "قيد التحقيق",
        "waiting_on_customer": "بانتظار ردك",
        "waiting_on_third_party": "بانتظار جهة أخرى",
        "resolved": "تم حلها",
        "closed": "مغلقة",
        "reopened": "أعيد فتحها",
    },
}


def language_of(value: str | None) -> str:
    """The customer's language among those we speak (Arabic, else English)."""
    return "ar" if (value or "").lower().startswith("ar") else "en"


def say(language: str | None, key: str, **values: object) -> str:
    lang = language_of(language)
    return TEXTS[lang][key].format(**values).strip()


def status_name(language: str | None, status: str) -> str:
    return STATUS_NAMES[language_of(language)].get(status, status)


def local_date(at: datetime, timezone: str | None) -> str:
    """The day a customer reads for a due time: their time zone, else UTC (ISO date)."""
    try:
        zone = tz_zone(timezone) if timezone else None
    except ValueError:
        zone = None
    return (at.astimezone(zone) if zone else at).date().isoformat()
