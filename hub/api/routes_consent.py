"""Consent per contact and channel; the unsubscribe link (issue 17).

API (under /api/v1): ``GET /contacts/{id}/consent`` and
``PUT /contacts/{id}/consent/{channel}/{purpose}``, for whoever may see (and so edit)
the contact. Pages (public, no sign-in): ``GET /u/{token}`` shows a confirm button,
``POST /u/{token}`` unsubscribes — the page's button and RFC 8058 one-click
(``List-Unsubscribe=One-Click`` from a mail client) alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from annotated_types import MaxLen
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlmodel import col, select

from hub.api.deps import Principal, current_principal, get_hub
from hub.api.public_html import esc
from hub.api.public_html import page as public_page
from hub.api.schemas import Id, In, Out
from hub.context import Hub
from hub.models import Contact, User
from hub.services import consent
from hub.services.contacts import load_visible_contact

router = APIRouter(tags=["consent"])
ChannelPath = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[a-z][a-z0-9_]*$")]


class ConsentRowOut(Out):
    channel: str
    purpose: str
    state: str
    source: str
    updated_at: datetime
    actor_id: int | None = None
    actor_name: str | None = None
    campaign_id: int | None = None
    note: str | None = None


class ConsentOut(BaseModel):
    contact_id: int
    channels: list[str]  # the channels to show: the consent channels, then any other with a decision
    purposes: list[str]
    items: list[ConsentRowOut]


class ConsentIn(In):
    state: Literal["opted_in", "opted_out"] | None  # null: unknown again
    note: Annotated[str, MaxLen(consent.MAX_NOTE)] | None = None


async def _consent_out(hub: Hub, contact_id: int) -> ConsentOut:
    async with hub.db.session() as s:
        rows = await consent.rows_for(s, contact_id)
        actor_ids = sorted({r.actor_id for r in rows if r.actor_id is not None})
        names = (
            dict((await s.exec(select(User.id, User.name).where(col(User.id).in_(actor_ids)))).all())
            if actor_ids
            else {}
        )
    enabled = list(consent.CHANNELS)
    extra = sorted({r.channel for r in rows} - set(enabled))
    return ConsentOut(
        contact_id=contact_id,
        channels=enabled + extra,
        purposes=list(consent.PURPOSES),
        items=[
            ConsentRowOut.model_validate(r).model_copy(update={"actor_name": names.get(r.actor_id)})
            for r in rows
        ],
    )


@router.get("/contacts/{contact_id}/consent", response_model=ConsentOut)
async def get_consent(
    contact_id: Id, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> ConsentOut:
    async with hub.db.session() as s:
        await load_visible_contact(s, principal.actor, contact_id)
    return await _consent_out(hub, contact_id)


@router.put("/contacts/{contact_id}/consent/{channel}/{purpose}", response_model=ConsentOut)
async def put_consent(
    contact_id: Id,
    channel: ChannelPath,
    purpose: Literal["marketing", "service"],
    body: ConsentIn,
    principal: Principal = Depends(current_principal),
    hub: Hub = Depends(get_hub),
) -> ConsentOut:
    await consent.set_consent(
        hub,
        principal.actor,
        contact_id,
        channel,
        purpose,
        body.state,
        source="api" if principal.via == "token" else "agent",
        note=body.note,
    )
    return await _consent_out(hub, contact_id)


# -- the unsubscribe page -------------------------------------------------------------------

PAGE_TEXT = {
    "en": {
        "title": "Unsubscribe",
        "ask": "Stop marketing messages from us on {channel}?",
        "keep": "Messages about your own conversations with us will still reach you.",
        "button": "Unsubscribe",
        "done": "You are unsubscribed from our marketing messages on {channel}.",
        "missing": "This unsubscribe link is not valid. If you copied it, check that it is complete.",
        "other": "العربية",
    },
    "ar": {
        "title": "إلغاء الاشتراك",
        "ask": "هل تريد إيقاف رسائلنا التسويقية على {channel}؟",
        "keep": "ستظل تصلك الرسائل المتعلقة بمحادثاتك معنا.",
        "button": "إلغاء الاشتراك",
        "done": "تم إلغاء اشتراكك في رسائلنا التسويقية على {channel}.",
        "missing": "رابط إلغاء الاشتراك هذا غير صالح. إن كنت نسخته، فتأكد من نسخه كاملًا.",
        "other": "English",
    },
}
CHANNEL_NAMES = {
    "en": {
        "email": "email",
        "sms": "SMS",
        "whatsapp": "WhatsApp",
        "telegram": "Telegram",
        "webchat": "web chat",
    },
    "ar": {
        "email": "البريد الإلكتروني",
        "sms": "الرسائل النصية",
        "whatsapp": "واتساب",
        "telegram": "تيليجرام",
        "webchat": "المحادثة على الموقع",
    },
}


def _lang(request: Request, chosen: str | None, contact: Contact | None) -> str:
    # Anything the page cannot use (a long token, ?lang=xx) is ignored, never a 422: the
    # page answers a link from an old mail, a 404 page at worst.
    if chosen in PAGE_TEXT:
        return str(chosen)
    if contact is not None and (contact.language or "").lower().startswith("ar"):
        return "ar"
    if contact is None or not contact.language:
        if request.headers.get("accept-language", "").lower().startswith("ar"):
            return "ar"
    return "en"


def _page(lang: str, body: str, status: int = 200) -> HTMLResponse:
    return public_page(lang, PAGE_TEXT[lang]["title"], body, status)


def _missing(lang: str) -> HTMLResponse:
    return _page(lang, f'<p class="done">{esc(PAGE_TEXT[lang]["missing"])}</p>', 404)


def _switch(token: str, lang: str) -> str:
    other = "ar" if lang == "en" else "en"
    return f'<p><a href="/u/{esc(token)}?lang={other}" lang="{other}">{esc(PAGE_TEXT[lang]["other"])}</a></p>'


async def _target(hub: Hub, token: str) -> tuple[consent.UnsubscribeRef | None, Contact | None]:
    ref = consent.read_unsubscribe_token(hub.settings, token)
    if ref is None:
        return None, None
    async with hub.db.session() as s:
        contact = await consent.current_contact(s, ref.contact_id)
    if contact is None or contact.erased_at is not None:
        return None, None
    return ref, contact


def page_router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/u/{token}")
    async def unsubscribe_page(
        request: Request,
        token: str,
        lang: str | None = Query(default=None),
    ) -> HTMLResponse:
        hub: Hub = request.app.state.hub
        ref, contact = await _target(hub, token)
        language = _lang(request, lang, contact)
        if ref is None:
            return _missing(language)
        t = PAGE_TEXT[language]
        channel = CHANNEL_NAMES[language].get(ref.channel, ref.channel)
        # Showing the page records nothing: mail scanners open links too.
        form = (
            f'<form method="post" action="/u/{esc(token)}?lang={language}">'
            f"<p>{esc(t['ask'].format(channel=channel))}</p><p>{esc(t['keep'])}</p>"
            f'<button type="submit" name="confirm" value="1">{esc(t["button"])}</button></form>'
        )
        return _page(language, form + _switch(token, language))

    @pages.post("/u/{token}")
    async def unsubscribe_post(
        request: Request,
        token: str,
        lang: str | None = Query(default=None),
    ) -> HTMLResponse:
        # RFC 8058: a mail client POSTs "List-Unsubscribe=One-Click" with no cookies;
        # the page's button posts its form. Either unsubscribes; the body is not needed.
        hub: Hub = request.app.state.hub
        ref, contact = await _target(hub, token)
        language = _lang(request, lang, contact)
        if ref is None or not await consent.unsubscribe(hub, ref):
            return _missing(language)
        channel = CHANNEL_NAMES[language].get(ref.channel, ref.channel)
        done = PAGE_TEXT[language]["done"].format(channel=channel)
        return _page(language, f'<p class="done" role="status">{esc(done)}</p>')

    return pages
