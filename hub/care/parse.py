"""Reading what customers write: survey answers, status requests, complaint keywords.

Pure functions, cheap enough to run on every inbound message before anything touches
the database: only a message that *could* be an answer or a command costs a lookup.

An answer is tolerant of how people type a number — Arabic-Indic digits, "5/5",
"5 thanks", keycap emoji, a row of stars, a number word — but it must *start* with the
score and say little else: "2 items are missing from my order" or "5?" is a message,
not a rating, and opens or continues a conversation as usual.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hub.textnorm import normalize

SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
MAX_ANSWER_WORDS = 4  # words allowed after the score ("5 thanks a lot")
MAX_ANSWER_CHARS = 80
MAX_STATUS_CHARS = 80

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
    # Arabic, in normalize()'s folded form (ة → ه, أ → ا)
    "صفر": 0, "واحد": 1, "اثنان": 2, "اثنين": 2, "ثلاثه": 3, "اربعه": 4, "خمسه": 5, "سته": 6,
    "سبعه": 7, "ثمانيه": 8, "تسعه": 9, "عشره": 10,
}  # fmt: skip
_STARS = frozenset("⭐★🌟")
_KEYCAP = "\ufe0f\u20e3"
_QUESTION = re.compile(r"[?؟]")
_LEADING = re.compile(r"^(\d{1,2})(?:\s*(?:/|من|out of)\s*(\d{1,2}))?(?=$|[\s.,!،:;)\-]|/)(.*)$", re.S)
_REFERENCE = re.compile(r"\b([a-z]{1,6}-\d{4}-\d{3,12})\b", re.I)


@dataclass(frozen=True, slots=True)
class Answer:
    score: int
    comment: str = ""


def parse_answer(text: str, kind: str = "csat") -> Answer | None:
    """The score in ``text`` for a survey of ``kind``, or None when it is not an answer."""
    low, high = SCALES.get(kind, SCALES["csat"])
    raw = text.strip()
    if not raw or len(raw) > MAX_ANSWER_CHARS or _QUESTION.search(raw):
        return None
    stars = [ch for ch in raw if not ch.isspace() and ch != "\ufe0f"]
    if stars and all(ch in _STARS for ch in stars):
        return Answer(len(stars)) if low <= len(stars) <= high else None
    raw = raw.replace(_KEYCAP, "").replace("\u20e3", "")
    norm = normalize(raw)
    score: int | None = None
    rest = ""
    m = _LEADING.match(norm)
    if m is not None:
        score = int(m.group(1))
        if m.group(2) is not None and int(m.group(2)) != high:
            return None  # "3/10" on a 1-5 scale: not ours to guess
        rest = m.group(3)
    else:
        first, _, rest = norm.partition(" ")
        score = _NUMBER_WORDS.get(first.strip(".,!،"))
    if score is None or not low <= score <= high:
        return None
    rest = rest.strip(" .,!،:;-–—)")
    if any(ch.isdigit() for ch in rest) or len(rest.split()) > MAX_ANSWER_WORDS:
        return None
    # The comment keeps the customer's own spelling (the text after the score).
    comment = _original_tail(raw, rest) if rest else ""
    return Answer(score, comment)


def could_be_answer(text: str) -> bool:
    """Whether ``text`` reads as a score on any scale (the ingest path's cheap test:
    a long message is rejected before any normalisation)."""
    if len(text) > MAX_ANSWER_CHARS:
        return False
    if parse_answer(text, "nps") is not None:  # 0-10 covers every scale's numbers
        return True
    # "5/5" and "7/7" name their own scale's top.
    return "/" in text and any(parse_answer(text, k) is not None for k in ("csat", "ces"))


def _original_tail(raw: str, rest_norm: str) -> str:
    words = raw.split()
    n = len(rest_norm.split())
    return " ".join(words[-n:]) if n else ""


def looks_like_question(text: str) -> bool:
    return bool(_QUESTION.search(text))


@functools.lru_cache(maxsize=64)
def _keywords(keywords: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """The configured keywords in normalised form, with whether each is Arabic: the
    same few lists are matched against every inbound message."""
    out = []
    for k in keywords:
        nk = normalize(k)
        if nk:
            out.append((nk, any("\u0600" <= ch <= "\u06ff" for ch in nk)))
    return tuple(out)


def contains_keyword(text: str, keywords: Sequence[str]) -> bool:
    """A whole-word (Arabic-normalised, case-folded) match of any keyword."""
    norm = normalize(text)
    words = set(re.findall(r"\w+", norm))
    for nk, arabic in _keywords(tuple(keywords)):
        if (" " in nk and nk in norm) or nk in words:
            return True
        # Arabic attaches articles and pronouns: "الشكوى", "شكواي" still ask for one.
        if arabic and any(nk in w for w in words):
            return True
    return False


@dataclass(frozen=True, slots=True)
class StatusRequest:
    reference: str | None  # None: "status" alone — the customer's one open complaint


def parse_status_request(text: str, keywords: Sequence[str]) -> StatusRequest | None:
    """``status C-2026-000123`` / ``حالة C-2026-000123`` / ``status`` alone.

    The keyword must lead and the message must be short: "what is the status of my
    refund" is a question for a person, not this command.
    """
    if len(text) > 2 * MAX_STATUS_CHARS:
        return None  # cheap rejection on the ingest path
    norm = normalize(text)  # NFKC-folds first
    if not norm or len(norm) > MAX_STATUS_CHARS:
        return None
    first, _, rest = norm.partition(" ")
    if first.strip(":") not in {nk for nk, _ in _keywords(tuple(keywords))}:
        return None
    rest = rest.strip(" :#.")
    if not rest:
        return StatusRequest(None)
    m = _REFERENCE.fullmatch(rest)
    return StatusRequest(m.group(1).upper()) if m is not None else None
