"""The hosted complaint page (``/complain``): a customer who does not write on a
channel fills a form; the complaint is acknowledged with its reference by email (or
SMS). Public, rate-limited per client and per address (docs/complaints.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from hub.api.public_html import esc, page
from hub.api.routes_auth import _throttle, client_address
from hub.care.texts import language_of
from hub.context import Hub
from hub.services import complaints
from hub.services.errors import ServiceError
from hub.throttle import address_key

PER_CLIENT = 5  # forms per client address per hour
PER_ADDRESS = 3  # acknowledgements to one email or phone per day

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Make a complaint",
        "intro": "Tell us what went wrong. We will send you a reference and the date you can expect an answer.",
        "name": "Your name",
        "email": "Email",
        "phone": "Phone (with country code)",
        "contact_hint": "Give an email address or a phone number, so we can reach you.",
        "order_ref": "Order or product reference (optional)",
        "category": "About",
        "any": "—",
        "description": "What happened?",
        "send": "Send",
        "done": "Thank you. Your complaint is registered with the reference {reference}; "
        "we have sent it to you with the date you can expect an answer.",
        "slow": "Too many complaints from here right now. Please try again later.",
        "errors": {
            "required": "This is needed.",
            "too_long": "This is too long.",
            "bad_email": "Write an email address like name@example.com.",
            "bad_phone": "Write a phone number with its country code, e.g. +966 50 123 4567.",
            "no_channel": "We cannot reach you there; give another address.",
            "unknown_option": "Choose one from the list.",
        },
    },
    "ar": {
        "title": "تقديم شكوى",
        "intro": "أخبرنا بما حدث. سنرسل إليك رقمًا مرجعيًا وموعد الرد المتوقع.",
        "name": "اسمك",
        "email": "البريد الإلكتروني",
        "phone": "رقم الجوال (مع رمز الدولة)",
        "contact_hint": "اكتب بريدًا إلكترونيًا أو رقم جوال لنتمكن من التواصل معك.",
        "order_ref": "رقم الطلب أو المنتج (اختياري)",
        "category": "الموضوع",
        "any": "—",
        "description": "ماذا حدث؟",
        "send": "إرسال",
        "done": "شكرًا لك. سُجلت شكواك بالرقم المرجعي {reference}، وأرسلناه إليك مع موعد الرد المتوقع.",
        "slow": "عدد كبير من الشكاوى من هنا الآن. يرجى المحاولة لاحقًا.",
        "errors": {
            "required": "هذا الحقل مطلوب.",
            "too_long": "النص طويل جدًا.",
            "bad_email": "اكتب بريدًا إلكترونيًا مثل name@example.com.",
            "bad_phone": "اكتب رقم الجوال مع رمز الدولة، مثل ‎+966 50 123 4567.",
            "no_channel": "لا يمكننا التواصل معك عبر هذا العنوان؛ اكتب عنوانًا آخر.",
            "unknown_option": "اختر من القائمة.",
        },
    },
}

FIELDS = ("name", "email", "phone", "order_ref", "category", "description")


async def _form(hub: Hub, lang: str, values: dict[str, str], errors: dict[str, str]) -> str:
    t = TEXT[lang]
    async with hub.db.session() as s:
        options = [o for o in await complaints.list_options(s, "category") if o.active and o.parent is None]

    def field(name: str, kind: str = "text", autocomplete: str = "") -> str:
        err = errors.get(name)
        described = f' aria-describedby="{name}-error" aria-invalid="true"' if err else ""
        auto = f' autocomplete="{autocomplete}"' if autocomplete else ""
        message = f'<p class="error" id="{name}-error">{esc(t["errors"].get(err, err))}</p>' if err else ""
        return (
            f'<label for="{name}">{esc(t[name])}</label>'
            f'<input id="{name}" name="{name}" type="{kind}" value="{esc(values.get(name, ""))}"'
            f' maxlength="320"{auto}{described}>{message}'
        )

    chosen = values.get("category", "")
    label = "label_ar" if lang == "ar" else "label_en"
    choices = f'<option value="">{esc(t["any"])}</option>' + "".join(
        f'<option value="{esc(o.key)}"{" selected" if o.key == chosen else ""}>{esc(getattr(o, label))}</option>'
        for o in options
    )
    desc_err = errors.get("description")
    desc_msg = (
        f'<p class="error" id="description-error">{esc(t["errors"].get(desc_err, desc_err))}</p>'
        if desc_err
        else ""
    )
    return f"""<p>{esc(t["intro"])}</p><form method="post" class="stack" novalidate>
<input type="hidden" name="lang" value="{esc(lang)}">
{field("name", autocomplete="name")}
<p class="hint">{esc(t["contact_hint"])}</p>
{field("email", "email", "email")}{field("phone", "tel", "tel")}{field("order_ref")}
<label for="category">{esc(t["category"])}</label><select id="category" name="category">{choices}</select>
<label for="description">{esc(t["description"])}</label>
<textarea id="description" name="description" rows="6" maxlength="8000"{' aria-invalid="true" aria-describedby="description-error"' if desc_err else ""}>{esc(values.get("description", ""))}</textarea>{desc_msg}
<button type="submit">{esc(t["send"])}</button></form>"""


def page_router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/complain")
    async def complaint_page(request: Request, lang: str = Query(default="", max_length=10)) -> HTMLResponse:
        hub: Hub = request.app.state.hub
        language = language_of(lang or request.headers.get("accept-language", "")[:2])
        return page(language, TEXT[language]["title"], await _form(hub, language, {}, {}))

    @pages.post("/complain")
    async def complaint_submit(
        request: Request,
        lang: str = Form(default="en", max_length=10),
        name: str = Form(default="", max_length=200),
        email: str = Form(default="", max_length=320),
        phone: str = Form(default="", max_length=40),
        order_ref: str = Form(default="", max_length=200),
        category: str = Form(default="", max_length=40),
        description: str = Form(default="", max_length=8000),
    ) -> HTMLResponse:
        hub: Hub = request.app.state.hub
        language = language_of(lang)
        t = TEXT[language]
        values = {"name": name, "email": email, "phone": phone, "order_ref": order_ref, "category": category,
                  "description": description}  # fmt: skip
        throttle, now = _throttle(request), hub.now()
        client = address_key(client_address(request))
        if await throttle.take("complain-client", client, PER_CLIENT, 3600, now) > 0:
            return page(language, t["title"], f'<p class="error">{esc(t["slow"])}</p>', 429)
        form = complaints.PageComplaint(
            name=name, email=email, phone=phone, order_ref=order_ref, category=category or None,
            description=description, language=language,
        )  # fmt: skip
        address = (email or phone).strip().lower()
        try:
            if address and await throttle.take("complain-address", address, PER_ADDRESS, 86400, now) > 0:
                return page(language, t["title"], f'<p class="error">{esc(t["slow"])}</p>', 429)
            c = await complaints.open_from_page(hub, form)
        except ServiceError as exc:
            fields = exc.extra.get("fields") or [{"field": "description", "code": exc.code}]
            errors = {f["field"]: f["code"] for f in fields if f.get("field") in FIELDS}
            return page(language, t["title"], await _form(hub, language, values, errors), exc.status)
        return page(
            language, t["title"], f'<p class="done">{esc(t["done"].format(reference=c.reference))}</p>'
        )

    return pages
