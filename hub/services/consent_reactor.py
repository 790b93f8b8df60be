"""Opt-out and opt-in keywords on every messaging channel, in one place.

A reactor (hub.projections): it reads each committed ``message.received`` from a
customer and, when the whole message is a keyword (hub.consent_keywords: the built-in
words, ``[consent]``'s and the channel adapter's own ``opt_out_keywords`` /
``opt_in_keywords``), records the decision with source "keyword", adds a line to the
conversation for the agent, and confirms it to the customer through the outbox, in
their language — all in the reactor's transaction, so exactly once cluster-wide.

What a keyword means (docs/crm.md, "Consent"):

* opt-out on SMS: carrier-level, both purposes opted out (Twilio blocks the number
  until START anyway); on every other channel: marketing only — the customer is
  talking to us, and replies in their conversations still reach them.
* opt-in (START, ابدأ, Telegram's bare /start): undoes an opt-out on that channel; when
  the customer had not opted out it records nothing (a new Telegram chat starts with
  /start).

The keyword message itself stays in the conversation like any other. A keyword the
provider confirms itself (Twilio's standard SMS words: ``provider_confirmed_keywords``)
gets no confirmation from the hub.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.care.outbound import system_message
from hub.consent_keywords import OPT_OUT, KeywordMatcher, is_arabic, normalize_keyword
from hub.context import Hub
from hub.models import AuthorType, Contact, Conversation, DeliveryStatus, Direction, Message, MessageKind
from hub.projections import LoggedEvent
from hub.services import consent
from hub.services.ingest import emit_message
from hub.services.uow import UnitOfWork

log = logging.getLogger(__name__)

NOT_MESSAGING = frozenset({"voice"})

# The confirmation, by (keyword, scope, language). {start} is the channel's opt-in word.
_CONFIRM = {
    ("opt_out", "marketing", "en"): (
        "You will no longer receive marketing messages from us here. Send {start} to subscribe "
        "again. Our replies to your questions will still reach you."
    ),
    ("opt_out", "marketing", "ar"): (
        "لن تصلك منا رسائل تسويقية هنا بعد الآن. أرسل {start} للاشتراك من جديد. "
        "ستصلك ردودنا على استفساراتك كالمعتاد."
    ),
    ("opt_out", "all", "en"): (
        "You are unsubscribed and will receive no more messages from us on this number. "
        "Send {start} to subscribe again."
    ),
    ("opt_out", "all", "ar"): (
        "تم إلغاء اشتراكك ولن تصلك منا رسائل أخرى على هذا الرقم. أرسل {start} للاشتراك من جديد."
    ),
    ("opt_in", "marketing", "en"): "You are subscribed again. Send {stop} to unsubscribe.",
    ("opt_in", "marketing", "ar"): "تمت إعادة اشتراكك. أرسل {stop} لإلغاء الاشتراك.",
    ("opt_in", "all", "en"): "You are subscribed again. Send {stop} to unsubscribe.",
    ("opt_in", "all", "ar"): "تمت إعادة اشتراكك. أرسل {stop} لإلغاء الاشتراك.",
}
_WORDS = {
    ("telegram", "en"): ("/start", "/stop"),
    ("telegram", "ar"): ("/start", "/stop"),
    ("", "en"): ("START", "STOP"),
    ("", "ar"): ("«ابدأ»", "«إلغاء»"),
}
# What the agent sees in the thread.
_NOTE = {
    (
        "opt_out",
        "marketing",
    ): "The customer sent {word!r}: no more marketing on {channel} (replies still go).",
    (
        "opt_out",
        "all",
    ): "The customer sent {word!r}: {channel} messages to them are blocked until they reply START.",
    ("opt_in", "marketing"): "The customer sent {word!r}: marketing on {channel} allowed again.",
    ("opt_in", "all"): "The customer sent {word!r}: {channel} messages to them are allowed again.",
}


def confirmation_text(keyword: str, channel: str, language: str) -> str:
    scope = "all" if channel in consent.CARRIER_LEVEL else "marketing"
    start, stop = _WORDS.get((channel, language)) or _WORDS[("", language)]
    return _CONFIRM[(keyword, scope, language)].format(start=start, stop=stop)


class ConsentKeywordReactor:
    name = "consent_keywords"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        cfg = hub.settings.consent
        self._base = KeywordMatcher.build(cfg.opt_out_keywords, cfg.opt_in_keywords)
        self._matchers: dict[str, KeywordMatcher] = {}

    def matcher(self, channel: str) -> KeywordMatcher:
        m = self._matchers.get(channel)
        if m is None:
            adapter = self.hub.channels.get(channel) if channel in self.hub.channels else None
            m = self._base.extended(
                getattr(adapter, "opt_out_keywords", ()) or (),
                getattr(adapter, "opt_in_keywords", ()) or (),
            )
            self._matchers[channel] = m
        return m

    async def apply(self, uow: UnitOfWork, events: Sequence[LoggedEvent], now: datetime) -> None:
        for e in events:
            if e.type != "message.received" or e.conversation_id is None:
                continue
            p = e.payload
            channel = str(p.get("channel") or "")
            if p.get("author_type") != "contact" or not channel or channel in NOT_MESSAGING:
                continue
            body = str(p.get("body") or "")
            keyword = self.matcher(channel).match(body)
            if keyword is not None:
                await self._act(uow, e, channel, keyword, body, now)

    async def _act(
        self, uow: UnitOfWork, e: LoggedEvent, channel: str, keyword: str, body: str, now: datetime
    ) -> None:
        s = uow.session
        conv = await s.get(Conversation, e.conversation_id)
        if conv is None:
            return
        contact = await consent.current_contact(s, conv.contact_id)
        if contact is None or contact.id is None or contact.erased_at is not None:
            return
        purposes: tuple[str, ...] = (
            consent.PURPOSES if channel in consent.CARRIER_LEVEL else (consent.MARKETING,)
        )
        if keyword == OPT_OUT:
            state = consent.OPTED_OUT
        else:
            current = await consent.state_of(s, contact.id, channel)
            purposes = tuple(p for p in purposes if current.get(p) == consent.OPTED_OUT)
            state = consent.OPTED_IN
        changed = False
        for purpose in purposes:
            changed |= await consent.record(
                s,
                contact_id=contact.id,
                channel=channel,
                purpose=purpose,
                state=state,
                source="keyword",
                now=now,
                note=body.strip()[:40],
                uow=uow,
            )
        if not changed:
            return  # said twice, or START with nothing to undo: nothing new to confirm
        scope = "all" if channel in consent.CARRIER_LEVEL else "marketing"
        await self._note(
            uow, conv, _NOTE[(keyword, scope)].format(word=body.strip()[:40], channel=channel), e, now
        )
        if normalize_keyword(body) in self._provider_confirmed(channel) or channel not in self.hub.channels:
            return
        language = "ar" if is_arabic(body) or _speaks_arabic(contact) else "en"
        await system_message(
            uow,
            conv,
            confirmation_text(keyword, channel, language),
            now,
            meta={"consent": consent.CONFIRMATION, "keyword": keyword},
        )

    def _provider_confirmed(self, channel: str) -> frozenset[str]:
        if channel not in self.hub.channels:
            return frozenset()
        words = getattr(self.hub.channels.get(channel), "provider_confirmed_keywords", None)
        return frozenset(words or ())

    async def _note(
        self, uow: UnitOfWork, conv: Conversation, text: str, e: LoggedEvent, now: datetime
    ) -> None:
        """A system line in the thread for the agent (never sent)."""
        s = uow.session
        message = Message(
            conversation_id=conv.id,  # type: ignore[arg-type]
            channel=conv.channel,
            direction=Direction.internal,
            author_type=AuthorType.system,
            kind=MessageKind.event,
            body=text,
            provider_message_id=f"consent:{e.id}",
            delivery_status=DeliveryStatus.sent,
            created_at=now,
        )
        s.add(message)
        await s.flush()
        emit_message(uow, "message.created", conv, message)

    async def fire_due(self, uow: Any, now: datetime, limit: int) -> int:
        return 0  # no timers

    def next_due_columns(self, now: datetime) -> list[Any]:
        return []  # no timers


def _speaks_arabic(contact: Contact) -> bool:
    return (contact.language or "").lower().startswith("ar")
