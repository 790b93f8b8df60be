"""Raw RFC 5322 bytes → :class:`ParsedEmail`. Pure: no I/O, never raises.

Real-world mail is often broken: a missing boundary, a charset nobody knows, 8-bit
headers, no Message-ID. Nothing is dropped for that: the standard policy is tried
first, ``compat32`` if it fails, and as a last resort the raw text becomes the body.
Every repair is listed in ``warnings`` (stored as the message's ``parse_warning``).
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

from channels.email.charsets import clean_header, decode_bytes, html_meta_charset
from channels.email.dsn import Bounce, parse_dsn
from channels.email.htmltext import html_to_text
from channels.email.ids import all_ids, first_id
from channels.email.quotes import strip_quotes

MAX_DEPTH = 40
MAX_PARTS = 500


@dataclass(frozen=True, slots=True)
class MailPart:
    """An attachment or inline image, with its decoded bytes."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class ParsedEmail:
    raw: bytes
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_addr: str | None
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: str | None
    subject: str
    date: str
    text: str  # the full text: every text part, HTML converted
    parts: tuple[MailPart, ...]
    headers: dict[str, tuple[str, ...]]  # lower-case name → values, decoded
    warnings: tuple[str, ...] = ()
    bounce: Bounce | None = None
    report_type: str | None = None  # set for any multipart/report
    has_html: bool = False
    reply_text: str = field(default="", compare=False)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def header_meta(self) -> dict[str, object]:
        """The headers kept beside the message for threading and audit."""
        return {
            "message_id": self.message_id,
            "in_reply_to": list(self.in_reply_to),
            "references": list(self.references),
            "from": self.header("from") or "",
            "to": self.header("to") or "",
            "cc": self.header("cc") or "",
            "reply_to": self.header("reply-to") or "",
            "date": self.date,
            "subject": self.subject,
        }


def parse_email(raw: bytes) -> ParsedEmail:
    warnings: list[str] = []
    try:
        return _extract(raw, BytesParser(policy=policy.default).parsebytes(raw), warnings)
    except Exception as exc:
        warnings = [f"standard parser failed ({type(exc).__name__}: {exc}); used compat32"]
    try:
        return _extract(raw, BytesParser(policy=policy.compat32).parsebytes(raw), warnings)
    except Exception as exc:
        warnings.append(f"compat32 parser failed too ({type(exc).__name__}: {exc}); kept raw text")
    return _unparseable(raw, warnings)


# -- headers -------------------------------------------------------------------------
def _header_values(msg: Message, name: str) -> list[str]:
    try:
        values = [str(v) for v in msg.get_all(name) or []]
    except Exception:
        # A header the structured parser chokes on: take its raw text.
        values = [str(v) for k, v in msg.raw_items() if k.lower() == name.lower()]
    return [clean_header(v) for v in values]


def _all_headers(msg: Message) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for name in dict.fromkeys(k.lower() for k in msg.keys()):
        out[name] = _header_values(msg, name)
    return {k: tuple(v) for k, v in out.items()}


def _addresses(value: str | None) -> list[tuple[str, str]]:
    if not value:
        return []
    return [(n.strip(), a.strip()) for n, a in getaddresses([value]) if "@" in a]


def _valid_address(addr: str) -> bool:
    local, at, domain = addr.rpartition("@")
    return bool(at and local and "." in domain and " " not in addr and len(addr) <= 320)


# -- body ----------------------------------------------------------------------------
class _Walker:
    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        self.texts: list[str] = []
        self.parts: list[MailPart] = []
        self.count = 0
        self.has_html = False

    def walk(self, part: Message, depth: int = 0, *, text: bool = True) -> None:
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_PARTS:
            if self.count == MAX_PARTS + 1 or depth == MAX_DEPTH + 1:
                self.warnings.append("MIME structure too deep or too large; the rest was not read")
            return
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global") and part.is_multipart():
            self._forwarded(part, depth, text=text)
        elif ctype == "message/delivery-status" and part.is_multipart():
            if text:
                blocks = [b for b in part.get_payload() if isinstance(b, Message)]
                self.texts.append("\n".join(_block_text(b) for b in blocks).strip())
        elif part.is_multipart():
            children = [c for c in part.get_payload() if isinstance(c, Message)]
            if ctype == "multipart/alternative":
                self._alternative(children, depth, text=text)
            else:
                for child in children:
                    self.walk(child, depth + 1, text=text)
        elif ctype.startswith("multipart/"):
            # The declared boundary never appears: keep the body as text.
            self.warnings.append(f"{ctype} without its boundary; body kept as text")
            if text:
                self.texts.append(self._decode(part))
        else:
            self._leaf(part, ctype, text=text)

    def _alternative(self, children: list[Message], depth: int, *, text: bool) -> None:
        plain = next((c for c in children if _is_body_text(c, "text/plain")), None)
        html = next((c for c in children if _is_body_text(c, "text/html")), None)
        nested = next((c for c in children if c.is_multipart()), None)
        # Message defines __len__ (its header count), so no truthiness tests here.
        candidates = [plain if plain is not None and self._decode(plain).strip() else None, nested, html]
        chosen = next((c for c in candidates if c is not None), children[-1] if children else None)
        for child in children:
            self.walk(child, depth + 1, text=text and child is chosen)

    def _forwarded(self, part: Message, depth: int, *, text: bool) -> None:
        inner = part.get_payload(0)
        if not isinstance(inner, Message):
            return
        try:
            data = inner.as_bytes(policy=policy.compat32)
        except Exception:
            data = str(inner).encode("utf-8", "replace")
        self.parts.append(MailPart(_filename(part) or "forwarded.eml", "message/rfc822", data))
        if text:
            head = [
                f"{h}: {v[0]}" for h in ("From", "Date", "Subject", "To") if (v := _header_values(inner, h))
            ]
            sub = _Walker(self.warnings)
            sub.walk(inner, depth + 1)
            body = "\n\n".join(t for t in sub.texts if t.strip())
            self.texts.append("---------- Forwarded message ----------\n" + "\n".join(head) + "\n\n" + body)

    def _leaf(self, part: Message, ctype: str, *, text: bool) -> None:
        disposition = part.get_content_disposition()
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            if ctype == "text/html":
                self.has_html = True
            if text:
                body = self._decode(part)
                self.texts.append(html_to_text(body) if ctype == "text/html" else body)
            elif _filename(part) is None:
                return  # the other alternative of a text already read
            else:
                self._attach(part, ctype, disposition)
        elif ctype in ("text/rfc822-headers", "message/global-headers") and disposition != "attachment":
            if text:
                self.texts.append(self._decode(part))
        else:
            self._attach(part, ctype, disposition)

    def _attach(self, part: Message, ctype: str, disposition: str | None) -> None:
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:
            self.warnings.append(f"attachment could not be decoded ({exc})")
            data = None
        if not isinstance(data, bytes):
            data = str(part.get_payload()).encode("utf-8", "surrogateescape")
        cid = first_id(part.get("Content-ID")) or None
        name = _filename(part)
        if name is None:
            ext = mimetypes.guess_extension(ctype) or ".bin"
            name = f"{'inline' if cid else 'attachment'}-{len(self.parts) + 1}{ext}"
        inline = disposition == "inline" or (disposition is None and cid is not None)
        self.parts.append(MailPart(name, ctype, data, cid, inline))

    def _decode(self, part: Message) -> str:
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:
            self.warnings.append(f"body could not be decoded ({exc}); kept as sent")
            data = None
        if not isinstance(data, bytes):
            payload = part.get_payload()
            data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
        charset = part.get_content_charset()
        if charset is None and part.get_content_type() == "text/html":
            charset = html_meta_charset(data)
        return decode_bytes(data, charset, self.warnings).replace("\r\n", "\n").replace("\x00", "")


def _is_body_text(part: Message, ctype: str) -> bool:
    return part.get_content_type() == ctype and part.get_content_disposition() != "attachment"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return None
    # Never trust a path from the sender: keep the last component only.
    cleaned = clean_header(str(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return cleaned[:200] or None


def _block_text(block: Message) -> str:
    return "\n".join(f"{k}: {clean_header(str(v))}" for k, v in block.raw_items())


def _defects(msg: Message) -> list[str]:
    names: list[str] = []
    for part in msg.walk():
        names.extend(type(d).__name__ for d in getattr(part, "defects", []))
    return [f"MIME defect: {n}" for n in dict.fromkeys(names)]


# -- the whole message -------------------------------------------------------------
def _extract(raw: bytes, msg: Message, warnings: list[str]) -> ParsedEmail:
    headers = _all_headers(msg)

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    message_id = first_id(first("message-id"))
    if message_id is None:
        warnings.append("missing Message-ID")
    senders = _addresses(first("from")) or _addresses(first("sender")) or _addresses(first("return-path"))
    from_name, from_addr = senders[0] if senders else ("", "")
    if not _valid_address(from_addr):
        warnings.append("missing or invalid From address")
        from_addr = ""
    walker = _Walker(warnings)
    walker.walk(msg)
    warnings.extend(_defects(msg))
    text = "\n\n".join(t.strip("\n") for t in walker.texts if t.strip())
    report = (
        str(msg.get_param("report-type", "")).lower()
        if msg.get_content_type() == "multipart/report"
        else None
    )
    reply_to = _addresses(first("reply-to"))
    return ParsedEmail(
        raw=raw,
        message_id=message_id,
        in_reply_to=tuple(all_ids(first("in-reply-to"))),
        references=tuple(all_ids(" ".join(headers.get("references", ())))),
        from_addr=from_addr or None,
        from_name=from_name,
        to=tuple(a for _, a in _addresses(", ".join(headers.get("to", ())))),
        cc=tuple(a for _, a in _addresses(", ".join(headers.get("cc", ())))),
        reply_to=reply_to[0][1] if reply_to else None,
        subject=first("subject") or "",
        date=first("date") or "",
        text=text,
        parts=tuple(walker.parts),
        headers=headers,
        warnings=tuple(dict.fromkeys(warnings)),
        bounce=parse_dsn(msg),
        report_type=report or None,
        has_html=walker.has_html,
        reply_text=strip_quotes(text, first("subject") or ""),
    )


_RAW_HEADER = re.compile(rb"^(Message-ID|From|Subject):[ \t]*(.*)$", re.I | re.M)


def _unparseable(raw: bytes, warnings: list[str]) -> ParsedEmail:
    found: dict[str, str] = {}
    for name, value in _RAW_HEADER.findall(raw[:65536]):
        found.setdefault(name.decode().lower(), clean_header(value.decode("utf-8", "replace")))
    senders = _addresses(found.get("from"))
    text = decode_bytes(raw, None, warnings)
    return ParsedEmail(
        raw=raw,
        message_id=first_id(found.get("message-id")),
        in_reply_to=(),
        references=(),
        from_addr=senders[0][1] if senders and _valid_address(senders[0][1]) else None,
        from_name=senders[0][0] if senders else "",
        to=(),
        cc=(),
        reply_to=None,
        subject=found.get("subject", ""),
        date="",
        text=text,
        parts=(),
        headers={k: (v,) for k, v in found.items()},
        warnings=tuple(warnings),
        reply_text=text,
    )
