"""X-Twilio-Signature, computed with Twilio's algorithm, behind a proxy.

The hub here is published as https://support.example.com (``public_url``) while the
test client reaches it as http://testserver — as a hub behind a reverse proxy or a
tunnel sees its requests. Twilio signs the public URL; that is what must verify.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select
from starlette.requests import Request

from channels.twilio import TwilioSmsChannel
from channels.twilio.signature import public_url
from hub.config import Settings
from hub.models import Message
from tests.channels.twilio_double import (
    AUTH_TOKEN,
    TwilioDouble,
    channel_config,
    hub_settings,
    post_webhook,
    sign,
    webhook,
)

PUBLIC = "https://support.example.com"
PATH = "/channels/sms/incoming"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return hub_settings(db_url, tmp_path, public_url=PUBLIC + "/")


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


@pytest.fixture
def extra_channels(twilio_api: TwilioDouble) -> list[Any]:
    return [TwilioSmsChannel.from_config(channel_config(twilio_api.url))]


async def stored(hub: Any) -> int:
    async with hub.db.session() as s:
        n: int = (await s.exec(select(func.count()).select_from(Message))).one()
    return n


def test_public_url_is_the_base_url_plus_path_and_raw_query() -> None:
    scope = {"type": "http", "path": PATH, "query_string": b"team=Sales&x=%20y", "headers": []}
    assert public_url(Request(scope), PUBLIC) == f"{PUBLIC}{PATH}?team=Sales&x=%20y"
    assert public_url(Request({**scope, "query_string": b""}), PUBLIC + "/") == PUBLIC + PATH


def test_signature_is_twilios_published_example() -> None:
    """Twilio's documented example: this URL, these parameters, this token → this signature."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert (
        sign(url, params, token="12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )  # twilio.com/docs/usage/security


async def test_signed_over_the_public_url_is_accepted(app: Any) -> None:
    res = await post_webhook(app.client, PATH, webhook("sms_inbound"), signed_url=PUBLIC + PATH)
    assert res.status_code == 200, res.text
    assert await stored(app.hub) == 1


async def test_the_query_string_is_part_of_the_signed_url(app: Any) -> None:
    res = await post_webhook(
        app.client,
        PATH + "?source=console",
        webhook("sms_inbound"),
        signed_url=f"{PUBLIC}{PATH}?source=console",
    )
    assert res.status_code == 200, res.text


async def test_an_explicit_default_port_is_accepted_like_twilio_sends_it(app: Any) -> None:
    res = await post_webhook(app.client, PATH, webhook("sms_inbound"), signed_url=f"{PUBLIC}:443{PATH}")
    assert res.status_code == 200, res.text


def _tampered(params: dict[str, str]) -> tuple[dict[str, str], str]:
    signature = sign(PUBLIC + PATH, params)
    return {**params, "Body": "Transfer $500 to me"}, signature


BAD: dict[str, Callable[[dict[str, str]], tuple[dict[str, str], str | None]]] = {
    "missing": lambda p: (p, None),
    "empty": lambda p: (p, ""),
    "tampered parameter": _tampered,
    "extra parameter": lambda p: ({**p, "Injected": "1"}, sign(PUBLIC + PATH, p)),
    "internal URL": lambda p: (p, sign("http://testserver" + PATH, p)),
    "other host": lambda p: (p, sign("https://evil.example.com" + PATH, p)),
    "query not signed": lambda p: (p, sign(PUBLIC + PATH + "?x=1", p)),
    "other token": lambda p: (p, sign(PUBLIC + PATH, p, token=AUTH_TOKEN[::-1])),
}


async def test_bad_or_missing_signature_is_403_and_nothing_is_stored(app: Any) -> None:
    for case, make in BAD.items():
        params, signature = make(webhook("sms_inbound"))
        res = await post_webhook(app.client, PATH, params, signature=signature)
        assert res.status_code == 403, case
        assert res.json()["error"]["code"] == "bad_signature", case
    assert await stored(app.hub) == 0
