"""Search normalisation (hub.textnorm): Arabic letter forms, marks and digits fold,
phone numbers are found from any format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.textnorm import digits, normalize, phone_forms, phone_query


@pytest.mark.parametrize(
    ("written", "searched"),
    [
        ("أحمد", "احمد"),  # hamza above
        ("إبراهيم", "ابراهيم"),  # hamza below
        ("آمنة", "امنه"),  # madda, and taa marbuta / haa
        ("مكتبة", "مكتبه"),
        ("مصطفى", "مصطفي"),  # alef maqsura / yaa
        ("محـــمد", "محمد"),  # tatweel
        ("مُحَمَّد", "محمد"),  # harakat
        ("٠٥٠١٢٣", "050123"),  # Arabic-Indic digits
        ("۰۵۰۱۲۳", "050123"),  # extended (Persian) digits
        ("Ａｈｍｅｄ", "ahmed"),  # full-width, case
        ("  Noor   Ali ", "noor ali"),
    ],
)
def test_forms_fold(written: str, searched: str) -> None:
    assert normalize(written) == normalize(searched)
    assert normalize(searched) in normalize(f"x {written} y")


@given(st.text(max_size=50))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


def test_digits() -> None:
    assert digits("٠٥٠ ١٢٣-٤٥٦٧") == "0501234567"


def test_phone_forms_and_queries() -> None:
    assert phone_forms("+966501234567") == ["966501234567", "0501234567"]
    assert phone_query("+966 50 123 4567") == "966501234567"
    assert phone_query("0501234567", "SA") == "966501234567"  # a whole national number
    assert phone_query("٠٥٠١٢٣") == "050123"  # a fragment, any digits
    assert phone_query("(050) 12") == "05012"
    assert phone_query("ahmed") is None and phone_query("12") is None


def test_short_texts_are_remembered_and_long_ones_are_not() -> None:
    """normalize() remembers short texts (a message's body is normalised by ingest and
    three consumers); the answer is the same either way, and a long text is not kept."""
    from hub import textnorm

    short = "Ｓｔａｔｕｓ  أحمد\u064e C-2026-000123"
    long = short + " x" * textnorm.CACHED_CHARS
    before = textnorm._cached.cache_info()
    assert normalize(short) == textnorm._normalize(short) == "status احمد c-2026-000123"
    assert normalize(short) == textnorm._normalize(short)
    after = textnorm._cached.cache_info()
    assert after.hits >= before.hits + 1
    assert normalize(long) == textnorm._normalize(long)
    assert textnorm._cached.cache_info().currsize == after.currsize


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_messages_search_text_is_its_subject_and_body_normalised_together(subject: str, body: str) -> None:
    """The search row's text normalises subject and body each on its own (so the body's
    form is the one ingest and the consumers already normalised): the same text as the
    two joined by a space and normalised as one."""
    from hub.services.search_index import MAX_TEXT, message_text

    assert message_text(subject, body) == normalize(f"{subject} {body}")[:MAX_TEXT]
