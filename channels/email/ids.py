"""Message-IDs as the hub stores them: bare ``local@domain``, without angle brackets.

Stored bare (and compared exactly: the local part is case-sensitive) so the same id
read from ``Message-ID``, ``In-Reply-To``, ``References`` or a DSN always matches.
"""

from __future__ import annotations

import hashlib
import re

_BRACKETED = re.compile(r"<([^<>\s]{1,998})>")
MAX_ID_LENGTH = 255  # the width of message.provider_message_id


def all_ids(header: str | None) -> list[str]:
    """Every id in a header value, in order, without duplicates."""
    if not header:
        return []
    found = _BRACKETED.findall(header)
    if not found:
        # Some clients write ids without brackets; take whitespace-separated tokens
        # that look like ids.
        found = [t.strip("<>,;") for t in header.split() if "@" in t]
    seen: dict[str, None] = {}
    for value in found:
        if value:
            seen.setdefault(value, None)
    return list(seen)


def first_id(header: str | None) -> str | None:
    ids = all_ids(header)
    return ids[0] if ids else None


def bracket(message_id: str) -> str:
    return f"<{message_id}>"


def storable_id(message_id: str | None, raw: bytes) -> str:
    """A provider id for the message table: its Message-ID, or a digest of its bytes.

    Mail without a Message-ID (or one too long to store) still dedupes on redelivery
    because the digest of the same bytes is the same.
    """
    if message_id and len(message_id) <= MAX_ID_LENGTH:
        return message_id
    return f"sha256.{hashlib.sha256(raw).hexdigest()}@missing-message-id.invalid"


def sender_scoped_id(sender: str, message_id: str) -> str:
    """The provider id of a mail whose Message-ID another sender already used.

    Message-IDs are only as unique as the software that writes them: a form mailer or
    a broken client may reuse one constant id. Deduplication is per sender, so the
    second sender's mail is stored under ``<sender>/<Message-ID>`` (a digest of both
    when that is too long for the column) and dedupes against its own redeliveries.
    """
    scoped = f"{sender.lower()}/{message_id}"
    if len(scoped) <= MAX_ID_LENGTH:
        return scoped
    digest = hashlib.sha256(f"{sender.lower()}\n{message_id}".encode()).hexdigest()
    return f"sha256.{digest}@sender-scoped.invalid"


def our_message_id(conversation_id: int, message_id: int, thread_key: str, domain: str) -> str:
    """The Message-ID of a reply the hub sends.

    Deterministic for a given outbox message, so a retry after a timeout that did in
    fact deliver carries the same id and mail clients show it once. The digest of the
    thread keeps two hub installations on one domain from minting the same id.
    """
    salt = hashlib.sha256(f"{conversation_id}:{message_id}:{thread_key}".encode()).hexdigest()[:12]
    return f"sb.{conversation_id}.{message_id}.{salt}@{domain}"


def is_ours(message_id: str | None, domain: str) -> bool:
    if not message_id:
        return False
    return message_id.startswith("sb.") and message_id.lower().endswith(f"@{domain.lower()}")
