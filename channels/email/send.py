"""Outbound: compose a reply that threads in the customer's client, send it with
aiosmtplib, and map SMTP failures onto retryable / final :class:`SendError`.

The HTML part is the agent's text escaped, never agent-supplied HTML: the hub does not
send markup it did not write. A survey question also carries its one-click rating
links (``survey.py``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import aiosmtplib

from channels.base import SendError
from channels.email.config import EmailConfig
from channels.email.ids import bracket
from channels.email.survey import RatingLinks, html_block, rating_links, text_part
from hub.domain import OutboundMessage


def from_display_name(cfg: EmailConfig, agent_name: str) -> str:
    if not agent_name.strip():
        return cfg.company_name
    return cfg.from_name_format.format(agent=agent_name.strip(), company=cfg.company_name)


def text_to_html(text: str, survey: RatingLinks | None = None) -> str:
    body = html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\n")
    extra = html_block(survey) if survey is not None else ""
    # dir="auto": Arabic replies render right-to-left in the customer's client.
    return f'<!DOCTYPE html>\n<html><body><div dir="auto">{body}</div>{extra}</body></html>\n'


def compose(
    cfg: EmailConfig,
    message: OutboundMessage,
    *,
    message_id: str,
    subject: str,
    in_reply_to: str | None,
    references: list[str],
    now: datetime,
    files: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=from_display_name(cfg, message.author_name), addr_spec=cfg.address)
    msg["To"] = message.to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = bracket(message_id)
    if in_reply_to:
        msg["In-Reply-To"] = bracket(in_reply_to)
    if references:
        msg["References"] = " ".join(bracket(r) for r in references)
    survey = rating_links(message.meta.get("survey"), message.body) if "survey" in message.meta else None
    msg.set_content(text_part(message.body, survey) if survey is not None else message.body)
    msg.add_alternative(text_to_html(message.body, survey), subtype="html")
    for filename, content_type, data in files:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(
            data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=filename
        )
    return msg


def read_files(message: OutboundMessage, root: Path) -> list[tuple[str, str, bytes]]:
    """Attachment bytes for a reply; only files inside the attachment store are read."""
    out = []
    for a in message.attachments:
        if a.path is None:
            raise SendError(f"attachment {a.filename!r} has no stored file", retryable=False)
        path = Path(a.path).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            raise SendError(f"attachment {a.filename!r} is not in the attachment store", retryable=False)
        out.append((a.filename or path.name, a.content_type, path.read_bytes()))
    return out


async def smtp_send(cfg: EmailConfig, msg: EmailMessage, recipient: str) -> None:
    try:
        await aiosmtplib.send(
            msg,
            sender=cfg.address,  # the envelope sender: bounces come back to our mailbox
            recipients=[recipient],
            hostname=cfg.smtp_host,
            port=cfg.smtp_port,
            username=cfg.smtp_username,
            password=cfg.smtp_password,
            use_tls=cfg.smtp_security == "tls",
            start_tls=cfg.smtp_security == "starttls",
            timeout=cfg.smtp_timeout_seconds,
            local_hostname=cfg.domain,  # skip a reverse-DNS lookup of our own host
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        first = exc.recipients[0] if exc.recipients else None
        code = first.code if first is not None else 550
        text = first.message if first is not None else "recipient refused"
        raise SendError(f"recipient refused: {code} {text}", retryable=code < 500) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        # Our credentials, not the customer's address: an operator can fix it while
        # the outbox keeps retrying, so this one stays retryable.
        raise SendError(f"SMTP authentication failed: {exc.code} {exc.message}") from None
    except aiosmtplib.SMTPResponseException as exc:
        raise SendError(f"SMTP {exc.code} {exc.message}", retryable=exc.code < 500) from None
    except aiosmtplib.SMTPNotSupported as exc:
        raise SendError(f"SMTP server: {exc}", retryable=False) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # Connection refused/reset, timeouts, TLS handshake errors: try again later.
        raise SendError(f"SMTP connection: {type(exc).__name__}: {exc}") from None
