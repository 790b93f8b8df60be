"""Bytes → text for mail that lies about (or never states) its charset.

Order: the declared charset, then UTF-8, then the declared charset with replacement
characters, then latin-1 (which cannot fail). Each fallback leaves a warning so the
message carries a ``parse_warning`` instead of silently changed text.
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header, make_header

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
_FOLD = re.compile(r"\r?\n[ \t]*")


def known_charset(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def html_meta_charset(data: bytes) -> str | None:
    """The charset an HTML part declares in a ``<meta>`` tag (many omit the header one)."""
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else None


def decode_bytes(data: bytes, declared: str | None, warnings: list[str]) -> str:
    codec = known_charset(declared)
    if declared and codec is None:
        warnings.append(f"unknown charset {declared!r}")
    for candidate in dict.fromkeys(c for c in (codec, "utf-8") if c):
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    if codec is not None:
        warnings.append(f"text is not valid {declared}; undecodable bytes replaced")
        return data.decode(codec, "replace")
    warnings.append("text in an unknown encoding; decoded as latin-1")
    return data.decode("latin-1")


def clean_header(value: str) -> str:
    """Unfold, decode leftover RFC 2047 words, and repair raw 8-bit bytes.

    The email package keeps raw 8-bit header bytes as surrogate escapes; they would
    break JSON and database encoding, so they are decoded as UTF-8 (or latin-1).
    """
    text = _FOLD.sub(" ", value)
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except Exception:  # a malformed encoded word: keep the text as it came
            pass
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        raw = text.encode("utf-8", "surrogateescape")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return text.replace("\x00", "").strip()
