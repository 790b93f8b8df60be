"""Mail to staff (password reset links), sent with the email channel's SMTP settings.

There is no separate mail configuration: when ``[channels.email]`` is enabled its
SMTP server, address and company name send these too. Without it nothing is mailed;
an admin's forced reset then hands the link to the admin instead.

A reset asked for from the sign-in page is mailed from a background task
(:class:`Mailer`), so the answer comes at the same moment whether or not the address
belongs to someone (the precedent: web chat's linking codes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any

from hub.context import Hub
from hub.services.credentials import ResetLink, request_reset

if TYPE_CHECKING:
    from channels.email.config import EmailConfig

log = logging.getLogger(__name__)

_TEXT = {
    "en": {
        "subject": "Reset your Switchboard password",
        "asked": "Someone (we hope you) asked to reset the password of your Switchboard account {email}.",
        "forced": "An administrator has reset the password of your Switchboard account {email}.",
        "body": (
            "Hello {name},\n\n{why}\n\nOpen this link within {minutes} minutes to choose a new "
            "password:\n\n{url}\n\nThe link works once. {ignore}\n"
        ),
        "ignore_asked": "If you did not ask for it, ignore this email: your password stays as it is.",
        "ignore_forced": "Until you choose a new password you cannot sign in.",
    },
    "ar": {
        "subject": "إعادة تعيين كلمة مرور سويتشبورد",
        "asked": "طلب أحدهم (نأمل أنه أنت) إعادة تعيين كلمة مرور حسابك في سويتشبورد ‎{email}.",
        "forced": "أعاد المسؤول تعيين كلمة مرور حسابك في سويتشبورد ‎{email}.",
        "body": (
            "مرحبًا {name}،\n\n{why}\n\nافتح هذا الرابط خلال {minutes} دقيقة لاختيار كلمة مرور "
            "جديدة:\n\n{url}\n\nيعمل الرابط مرة واحدة. {ignore}\n"
        ),
        "ignore_asked": "إن لم تطلب ذلك فتجاهل هذه الرسالة: تبقى كلمة مرورك كما هي.",
        "ignore_forced": "لا يمكنك تسجيل الدخول حتى تختار كلمة مرور جديدة.",
    },
}


def smtp_settings(hub: Hub) -> EmailConfig | None:
    """The email channel's settings, or None when the hub has no email channel."""
    if "email" not in hub.channels:
        return None
    config: EmailConfig | None = getattr(hub.channels.get("email"), "config", None)
    return config


def reset_url(hub: Hub, link: ResetLink) -> str:
    # In the fragment: browsers never send it, so the token stays out of access logs
    # and Referer headers.
    return f"{hub.settings.base_url}/reset-password#token={link.secret}"


def compose_reset(hub: Hub, cfg: EmailConfig, link: ResetLink, *, forced: bool) -> EmailMessage:
    text = _TEXT.get(link.user.language, _TEXT["en"])
    why = (text["forced"] if forced else text["asked"]).format(email=link.user.email)
    minutes = max(1, round((link.expires_at - hub.now()).total_seconds() / 60))
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=cfg.company_name, addr_spec=cfg.address)
    msg["To"] = link.user.email
    msg["Subject"] = text["subject"]
    msg["Date"] = format_datetime(hub.now())
    msg["Message-ID"] = make_msgid(domain=cfg.domain)
    msg["Auto-Submitted"] = "auto-generated"  # no vacation replies into the support inbox
    msg.set_content(
        text["body"].format(
            name=link.user.name,
            why=why,
            minutes=minutes,
            url=reset_url(hub, link),
            ignore=text["ignore_forced" if forced else "ignore_asked"],
        )
    )
    return msg


async def send_reset(hub: Hub, cfg: EmailConfig, link: ResetLink, *, forced: bool) -> None:
    """Mail the link; raises :class:`channels.base.SendError` on failure."""
    # Imported here: the hub core only needs the email channel when it is configured.
    from channels.email.send import smtp_send

    await smtp_send(cfg, compose_reset(hub, cfg, link, forced=forced), link.user.email)


async def mail_requested_reset(hub: Hub, email: str) -> None:
    """The background half of ``POST /auth/password-reset``: never raises, never tells."""
    from channels.base import SendError

    cfg = smtp_settings(hub)
    if cfg is None:
        log.warning("a password reset was asked for, but no [channels.email] is configured to mail it")
        return
    link = await request_reset(hub, email)
    if link is None:
        log.info("a password reset was asked for an address without an active account")
        return
    try:
        await send_reset(hub, cfg, link, forced=False)
    except SendError as exc:
        log.warning("could not mail a password reset link: %s", exc.reason, extra={"user_id": link.user.id})
        return
    log.info("mailed a password reset link", extra={"user_id": link.user.id})


class Mailer:
    """Background sends, awaited at shutdown (and by tests) instead of left dangling."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(self._guarded(coro), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except Exception:
            log.exception("a staff mail task failed")

    async def drain(self, wait_seconds: float = 30.0) -> None:
        """Wait for the sends in flight; whatever is still running then is cancelled."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=wait_seconds)
        for task in pending:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
