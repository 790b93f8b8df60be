"""Text normalisation for search: one function used to index and to query.

Arabic is written with optional marks and interchangeable letter forms, so a search
must not care which the writer chose (the folding Lucene's ``ArabicNormalizer`` does):

* alef with hamza above/below, with madda, and alef wasla (أ إ آ ٱ) → bare alef ا
* taa marbuta ة → haa ه; alef maqsura ى → yaa ي (and the Persian forms ی ک → ي ك)
* tatweel ـ and the harakat/Quranic marks are removed
* Arabic-Indic ٠-٩ and extended (Persian) ۰-۹ digits → 0-9

Then everything is NFKC-folded (presentation forms, full-width letters), case-folded
and its whitespace collapsed. Indexed text and queries go through :func:`normalize`,
so ``أحمد`` finds ``احمد`` and ``٠٥٠١٢٣`` finds ``050123``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_FOLD = str.maketrans(
    {
        "\u0623": "\u0627",  # أ
        "\u0625": "\u0627",  # إ
        "\u0622": "\u0627",  # آ
        "\u0671": "\u0627",  # ٱ
        "\u0629": "\u0647",  # ة → ه
        "\u0649": "\u064a",  # ى → ي
        "\u06cc": "\u064a",  # ی → ي
        "\u06a9": "\u0643",  # ک → ك
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)
_SPACE = re.compile(r"\s+")
_PHONE_CHARS = re.compile(r"^[\d\s+().\-]+$")


#: Texts up to this length are remembered (the last 2,048; at most ~4 MB): an inbound message's
#: body is normalised by ingest and again by three log consumers (care, consent
#: keywords, search), about 5 % of the server's CPU per message at full load.
CACHED_CHARS = 500


def normalize(text: str) -> str:
    """The search form of ``text`` (see the module docstring)."""
    return _cached(text) if len(text) <= CACHED_CHARS else _normalize(text)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _MARKS.sub("", text).translate(_FOLD).casefold()
    return _SPACE.sub(" ", text).strip()


_cached = functools.lru_cache(maxsize=2048)(_normalize)


def digits(text: str) -> str:
    """Only the digits of ``text``, Arabic-Indic ones as Western."""
    return "".join(ch for ch in normalize(text) if ch.isascii() and ch.isdigit())


def phone_forms(e164: str) -> list[str]:
    """The digit strings a stored phone number is found by: international digits and
    the national form with its trunk prefix (``+966501234567`` → ``966501234567``,
    ``0501234567``), so a partial number typed either way matches."""
    forms = [e164.lstrip("+")]
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    national = digits(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    if national and national not in forms:
        forms.append(national)
    return forms


def phone_query(query: str, default_region: str | None = None) -> str | None:
    """The digits to look for when ``query`` looks like (part of) a phone number, in
    any format or digit script; a complete number is put in international form first."""
    text = normalize(query)
    if not text or not _PHONE_CHARS.match(text):
        return None
    only = digits(text)
    if len(only) < 3:
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return only
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    return only
