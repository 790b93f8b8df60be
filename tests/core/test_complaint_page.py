"""The hosted complaint page (/complain) with the real email channel and an SMTP sink:
English and Arabic, errors next to their fields, the complaint acknowledged by email
with its reference, the customer found or made with an unverified address, hostile
input escaped, and rate limits per client and per address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from channels.email import EmailChannel
from hub.config import Settings, load_settings
from hub.models import Complaint, Contact, Identity
from tests.channels.email_servers import SmtpSink, running_sink
from tests.channels.test_email_smtp import email_section
from tests.helpers import team


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        database_url=db_url,
        data_dir=str(tmp_path / "var"),
        channels={"loopback": {}, "email": {}},
        care={"complaint_team": "Care"},
    )


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    async with running_sink() as sink:
        yield sink


@pytest.fixture
def extra_channels(smtp_sink: SmtpSink) -> list[Any]:
    return [EmailChannel.from_config(email_section(smtp_port=smtp_sink.port))]


async def settle(app: Any) -> None:
    await app.hub.projections.catch_up()
    while await app.worker.run_once():
        pass


async def test_form_in_both_languages_with_errors_by_the_field(app: Any) -> None:
    en = await app.client.get("/complain")
    ar = await app.client.get("/complain", params={"lang": "ar"})
    assert en.status_code == ar.status_code == 200
    assert 'dir="ltr"' in en.text and "Make a complaint" in en.text and "Delivery" in en.text
    assert 'dir="rtl"' in ar.text and "تقديم شكوى" in ar.text and "التوصيل" in ar.text
    r = await app.client.post("/complain", data={"lang": "ar", "email": "not-an-address", "description": ""})
    assert r.status_code == 422
    assert 'id="email-error"' in r.text and "name@example.com" in r.text
    assert 'id="description-error"' in r.text and "هذا الحقل مطلوب" in r.text
    assert 'value="not-an-address"' in r.text  # what they typed is kept
    r = await app.client.post("/complain", data={"description": "late", "category": "nonsense"})
    assert r.status_code == 422 and 'id="email-error"' in r.text


async def test_a_complaint_is_acknowledged_by_email(app: Any, smtp_sink: SmtpSink) -> None:
    care = await team(app.hub, "Care")
    r = await app.client.post(
        "/complain",
        data={
            "lang": "en",
            "name": "<script>alert(1)</script> Mona",
            "email": "Mona@Example.com",
            "order_ref": "ORD-77",
            "category": "delivery",
            "description": "The parcel never came <b>twice</b>",
        },
    )
    assert r.status_code == 200, r.text
    assert "C-2026-000001" in r.text and "<script>" not in r.text
    await settle(app)
    (mail,) = await smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ["mona@example.com"]
    body = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "C-2026-000001" in body
    async with app.hub.db.session() as s:
        c = (await s.exec(select(Complaint))).one()
        contact = await s.get(Contact, c.contact_id)
        identity = (await s.exec(select(Identity).where(Identity.contact_id == c.contact_id))).one()
    assert (c.source, c.channel, c.category, c.product_ref) == ("page", "email", "delivery", "ORD-77")
    assert c.team_id == care  # care.complaint_team owns complaints without a conversation
    assert c.description == "The parcel never came <b>twice</b>"  # stored as written, escaped when shown
    assert contact is not None and contact.name == "<script>alert(1)</script> Mona"
    assert (identity.address, identity.verified_at) == ("mona@example.com", None)  # typed, not proven
    # The same person again: found by the address, not made twice.
    r = await app.client.post("/complain", data={"email": "mona@example.com", "description": "still nothing"})
    assert r.status_code == 200
    async with app.hub.db.session() as s:
        assert len((await s.exec(select(Contact))).all()) == 1


async def test_rate_limited_per_address_and_per_client(app: Any) -> None:
    for n in range(3):
        r = await app.client.post("/complain", data={"email": "x@example.com", "description": f"n{n}"})
        assert r.status_code == 200
    r = await app.client.post("/complain", data={"email": "x@example.com", "description": "again"})
    assert r.status_code == 429
    r = await app.client.post("/complain", data={"email": "y@example.com", "description": "five"})
    assert r.status_code == 200  # another address: the fifth form from this client
    r = await app.client.post("/complain", data={"email": "z@example.com", "description": "six"})
    assert r.status_code == 429  # the sixth within the hour
