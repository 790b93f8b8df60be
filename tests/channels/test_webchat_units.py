"""Pure parts of the web-chat adapter: config, tokens, rate limits, pre-chat rules."""

from __future__ import annotations

from typing import Any

import pytest

from channels.webchat import parse_config, tokens
from channels.webchat.config import Rate
from channels.webchat.errors import WebchatError
from channels.webchat.frames import PrechatIn
from channels.webchat.page import frame_csp
from channels.webchat.prechat import validate
from channels.webchat.ratelimit import RateLimiter
from tests.channels.webchat_support import SECRET, section

SECRET_B = SECRET.encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token_secret": "short"}, "channels.webchat.token_secret: expected a random string of 32+"),
        ({"colour": "red"}, "channels.webchat.colour: unknown setting"),
        ({"sites": {}}, "channels.webchat.sites: expected at least one"),
        ({"acme": {"allowed_origins": ["https://shop.example/path"]}}, "is not an origin"),
        ({"acme": {"allowed_origins": ["https://*.example"]}}, "no wildcard"),
        ({"acme": {"allowed_origins": []}}, "sites.acme.allowed_origins: expected a list"),
        ({"acme": {"position": "top"}}, 'sites.acme.position: expected "left" or "right"'),
        ({"acme": {"colors": {"primary": "blue"}}}, "sites.acme.colors.primary: expected a hex colour"),
        ({"acme": {"prechat": {"age": "required"}}}, "sites.acme.prechat.age: unknown field"),
        ({"acme": {"prechat": {"name": "maybe"}}}, 'expected "required", "optional" or "off"'),
        (
            {"acme": {"topics": {}, "prechat": {"topic": "required"}}},
            "asks for a topic but the site has no topics",
        ),
        ({"acme": {"link_identity": "always"}}, 'link_identity: expected "never" or "verified_email"'),
        ({"acme": {"language": "english"}}, "sites.acme.language"),
        ({"visitor_rate": {"burst": 0}}, "visitor_rate.burst: expected a whole number"),
        (
            {"extra_sites": {"a b": {"allowed_origins": ["https://x.example"]}}},
            "a site key is 4-64 characters",
        ),
    ],
)
def test_config_errors_name_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_config(section(**change))
    assert message in str(info.value) and str(info.value).startswith("config error: channels.webchat.")


def test_config_defaults_and_secret_not_in_repr() -> None:
    cfg = parse_config(section())
    acme = cfg.sites["acme"]
    assert acme.allowed_origins == ("https://shop.example",) and acme.position == "right"
    assert acme.team_for("Billing") == "Billing" and acme.team_for(None) == "Support"
    assert cfg.sites["acme-ar"].language == "ar" and cfg.max_message_chars == 4000
    assert SECRET not in repr(cfg)


def test_tokens_detect_tampering_site_and_age() -> None:
    token = tokens.issue_visitor(SECRET_B, "acme", "v_abc", now=1000)
    assert tokens.read_visitor(SECRET_B, token, "acme", 1001, 86400).visitor_id == "v_abc"
    version, body, mac = token.split(".")
    swapped = tokens.sign(SECRET_B, tokens.VISITOR, {"s": "acme", "v": "v_other", "t": 1000}).split(".")[1]
    for forged in (
        f"{version}.{swapped}.{mac}",  # someone else's id with this signature
        f"{version}.{body}.{mac[:-1]}A",
        "v1.e30.",
        "garbage",
        tokens.issue_visitor(b"another-secret" * 3, "acme", "v_abc", 1000),
        # An attachment reference is not a visitor token, though signed by the same secret.
        tokens.sign(SECRET_B, tokens.ATTACHMENT, {"s": "acme", "v": "v_abc", "t": 1000}),
    ):
        with pytest.raises(tokens.TokenError) as info:
            tokens.read_visitor(SECRET_B, forged, "acme", 1001, 86400)
        assert info.value.status == 401
    with pytest.raises(tokens.TokenError) as info:
        tokens.read_visitor(SECRET_B, token, "acme-ar", 1001, 86400)
    assert (info.value.status, info.value.code) == (403, "wrong_site")
    with pytest.raises(tokens.TokenError) as info:
        tokens.read_visitor(SECRET_B, token, "acme", 1000 + 86401, 86400)
    assert info.value.code == "token_expired"


def test_token_bucket_refills_and_stays_bounded() -> None:
    now = [0.0]
    limiter = RateLimiter(Rate(burst=2, per_minute=60), clock=lambda: now[0], max_keys=10)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    now[0] += 1.0
    assert limiter.take("a") == 0.0
    for i in range(50):
        limiter.take(f"k{i}")
    assert len(limiter) <= 11


def test_prechat_rules() -> None:
    cfg = parse_config(
        section(
            acme={
                "prechat": {
                    "name": "required",
                    "email": "optional",
                    "phone": "optional",
                    "one_of": ["email", "phone"],
                },
                "topics": {},
            }
        )
    )
    site = cfg.sites["acme"]
    with pytest.raises(WebchatError) as info:
        validate(site, PrechatIn(), phone_region=None)
    assert info.value.fields == [
        {"field": "prechat.name", "message": "please enter your name"},
        {"field": "prechat", "message": "please enter an email address or a phone number"},
    ]
    got = validate(site, PrechatIn(name="Noor", phone="+44 20 7946 0958"), phone_region=None)
    assert got == {"name": "Noor", "phone": "+442079460958"}
    with pytest.raises(WebchatError) as info:
        validate(site, PrechatIn(name="Noor", email="x@y", topic="Billing"), phone_region=None)
    assert {f["field"] for f in info.value.fields or []} == {"prechat.email", "prechat.topic"}


def test_frame_csp_limits_framing_to_the_site() -> None:
    site = parse_config(section()).sites["acme"]
    csp = frame_csp(site, "hub.example:8000")
    assert "frame-ancestors https://shop.example" in csp and "script-src 'self'" in csp
    assert "connect-src 'self' ws://hub.example:8000 wss://hub.example:8000" in csp
    assert "frame-ancestors 'none'" in frame_csp(None, "")
