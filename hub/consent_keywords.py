"""The one opt-out / opt-in keyword matcher every messaging channel uses.

A keyword is the *whole* message: ``STOP``, `` stop. ``, ``إلغاء`` and ``الغاء`` match;
"please stop calling" does not. Text is folded as search folds it (hub.textnorm:
Arabic letter forms and marks, case, spaces) and end punctuation is dropped. A
Telegram command may carry the bot's name (``/stop@our_bot``).

The built-in words are always on; ``[consent]`` adds more, and a channel may add its
own (the Twilio adapters' ``opt_out_keywords``, Telegram's ``/stop`` and ``/start``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hub.textnorm import normalize

Keyword = Literal["opt_out", "opt_in"]
OPT_OUT: Keyword = "opt_out"
OPT_IN: Keyword = "opt_in"

BUILTIN_OPT_OUT = ("STOP", "UNSUBSCRIBE", "إلغاء", "إيقاف")
BUILTIN_OPT_IN = ("START", "ابدأ")
_END_PUNCTUATION = ".!?؟,،;؛:"
_COMMAND = re.compile(r"^(/\w+)@\w+$")
MAX_KEYWORD_CHARS = 40  # longer messages are never keywords (cheap early exit)


def normalize_keyword(text: str) -> str:
    """The form keywords and messages are compared in."""
    if len(text) > MAX_KEYWORD_CHARS * 4:
        return ""
    word = normalize(text).strip(_END_PUNCTUATION + " ")
    command = _COMMAND.match(word)
    return command.group(1) if command else word


@dataclass(frozen=True)
class KeywordMatcher:
    opt_out: frozenset[str]
    opt_in: frozenset[str]

    @classmethod
    def build(cls, opt_out: Iterable[str] = (), opt_in: Iterable[str] = ()) -> KeywordMatcher:
        out = {normalize_keyword(k) for k in (*BUILTIN_OPT_OUT, *opt_out)} - {""}
        into = {normalize_keyword(k) for k in (*BUILTIN_OPT_IN, *opt_in)} - {""} - out
        return cls(frozenset(out), frozenset(into))

    def extended(self, opt_out: Iterable[str] = (), opt_in: Iterable[str] = ()) -> KeywordMatcher:
        """This matcher plus a channel's own words."""
        out = self.opt_out | {normalize_keyword(k) for k in opt_out} - {""}
        into = (self.opt_in | {normalize_keyword(k) for k in opt_in} - {""}) - out
        return KeywordMatcher(frozenset(out), frozenset(into))

    def match(self, body: str) -> Keyword | None:
        if not body or len(body) > MAX_KEYWORD_CHARS * 4:
            return None
        word = normalize_keyword(body)
        if word in self.opt_out:
            return OPT_OUT
        if word in self.opt_in:
            return OPT_IN
        return None


def is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)
