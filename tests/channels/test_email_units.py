"""The email channel's pure parts: config validation, threading helpers, the attachment
store's limits and the per-sender rate limit. No servers, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from channels.base import Channel
from channels.email import EmailChannel
from channels.email.attachments import AttachmentStore, Rejected
from channels.email.config import DEFAULT_DENIED_EXTENSIONS, DEFAULT_DENIED_TYPES, EmailConfig
from channels.email.ids import all_ids, is_ours, our_message_id, storable_id
from channels.email.loops import SenderRateLimit
from channels.email.parse import MailPart
from channels.email.send import from_display_name, text_to_html
from channels.email.threads import chain, reply_subject, token_in
from channels.registry import build_registry
from hub.domain import Attachment

BASE = {"address": "Support@Acme.test", "smtp_host": "smtp.acme.test"}


# -- config ----------------------------------------------------------------------------------
def test_defaults_and_the_channel_contract() -> None:
    cfg = EmailConfig.from_section(BASE)
    assert (cfg.address, cfg.domain, cfg.smtp_port, cfg.smtp_security) == (
        "support@acme.test",
        "acme.test",
        587,
        "starttls",
    )
    assert cfg.imap is None and cfg.listener_port is None  # both inbound paths are opt-in
    assert cfg.max_attachment_bytes == 20_000_000 and ".exe" in cfg.denied_extensions
    assert "application/x-msdownload" in cfg.denied_content_types
    channel = EmailChannel(cfg)
    assert isinstance(channel, Channel)
    assert (channel.kind, channel.address_kind, channel.supports_attachments, channel.rate_per_second) == (
        "email",
        "email",
        True,
        None,
    )


def test_full_config_and_secrets_stay_out_of_repr() -> None:
    cfg = EmailConfig.from_section(
        {
            **BASE,
            "smtp_security": "tls",
            "smtp_username": "support@acme.test",
            "smtp_password": "smtp-secret",
            "imap_host": "imap.acme.test",
            "imap_username": "support@acme.test",
            "imap_password": "imap-secret",
            "imap_folder": "Support",
            "imap_poll_seconds": 30,
            "listener_host": "0.0.0.0",
            "listener_port": 2525,
            "accept_domains": ["@Help.Acme.test"],
            "denied_extensions": ["exe", ".ISO"],
            "team": "Support",
        }
    )
    assert (
        cfg.smtp_port == 465
        and cfg.imap is not None
        and cfg.imap.port == 993
        and cfg.imap.folder == "Support"
    )
    assert cfg.accept_domains == ("help.acme.test",) and cfg.denied_extensions == (".exe", ".iso")
    assert "secret" not in repr(cfg)


def test_environment_strings_are_accepted() -> None:
    # SWITCHBOARD_CHANNELS__EMAIL__SMTP_PORT=2525 arrives as the string "2525".
    cfg = EmailConfig.from_section(
        {
            **BASE,
            "smtp_port": "2525",
            "smtp_password": "12345",
            "smtp_username": "u",
            "accept_domains": "a.test, b.test",
        }
    )
    assert (
        cfg.smtp_port == 2525 and cfg.smtp_password == "12345" and cfg.accept_domains == ("a.test", "b.test")
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"address": None}, "channels.email.address: expected a non-empty string"),
        ({"address": "Support <s@acme.test>"}, "channels.email.address: expected a plain email address"),
        ({"smtp_host": ""}, "channels.email.smtp_host: expected a non-empty string"),
        ({"smtp_security": "ssl"}, "channels.email.smtp_security: expected one of 'starttls', 'tls', 'none'"),
        ({"smtp_port": 70000}, "channels.email.smtp_port: expected a port number 1-65535"),
        ({"smtp_username": "u"}, "channels.email.smtp_password: set both smtp_username and smtp_password"),
        ({"imap_host": "imap.acme.test"}, "channels.email.imap_username: expected a non-empty string"),
        (
            {"imap_host": "i", "imap_username": "u", "imap_password": "p", "imap_security": "starttls"},
            "channels.email.imap_security: expected one of 'tls', 'none'",
        ),
        ({"max_attachment_bytes": 0}, "channels.email.max_attachment_bytes: expected a positive integer"),
        (
            {"rate_limit_per_sender": "many"},
            "channels.email.rate_limit_per_sender: expected a positive integer",
        ),
        (
            {"denied_extensions": [1]},
            "channels.email.denied_extensions: expected a list of non-empty strings",
        ),
        ({"from_name_format": "{name}"}, "channels.email.from_name_format: expected a format using only"),
        ({"imap_idle": "sometimes"}, None),  # only checked when IMAP is on
        ({"smtp_pasword": "typo"}, "channels.email.smtp_pasword: unknown setting"),
    ],
)
def test_bad_config_names_the_key(change: dict[str, Any], message: str | None) -> None:
    section = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    if message is None:
        EmailConfig.from_section(section)
        return
    with pytest.raises(ValueError) as err:
        EmailConfig.from_section(section)
    assert str(err.value).startswith(f"config error: {message}")


def test_registry_builds_the_adapter_from_toml_table() -> None:
    registry = build_registry({"email": {"enabled": True, "team": "Support", **BASE}})
    channel = registry.get("email")
    assert isinstance(channel, EmailChannel) and channel.config.team == "Support"
    assert build_registry({"email": {"enabled": False}}).kinds() == []


# -- ids and threading ------------------------------------------------------------------------
def test_message_ids() -> None:
    assert all_ids("<a@x> <b@y>\r\n <a@x>") == ["a@x", "b@y"]
    assert all_ids("a@x, b@y") == ["a@x", "b@y"]  # brackets forgotten
    ours = our_message_id(12, 34, "root@example.com", "acme.test")
    assert ours == our_message_id(12, 34, "root@example.com", "acme.test")  # stable across retries
    assert ours != our_message_id(12, 34, "other@example.com", "acme.test")
    assert is_ours(ours, "ACME.test") and not is_ours("sb.1.2.x@evil.test", "acme.test")
    assert storable_id("a@x", b"raw") == "a@x"
    assert storable_id(None, b"raw") == storable_id(None, b"raw") != storable_id(None, b"raw2")
    assert storable_id("x" * 300, b"raw").endswith("@missing-message-id.invalid")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Order late", "Re: Order late [#SB-9]"),
        ("Re: Order late", "Re: Order late [#SB-9]"),
        ("RE: Order late [#SB-9]", "RE: Order late [#SB-9]"),
        ("AW: Lieferung", "AW: Lieferung [#SB-9]"),
        ("رد: طلب", "رد: طلب [#SB-9]"),
        ("", "Re: Your request [#SB-9]"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject, 9) == expected
    assert token_in(expected) == 9


def test_references_keep_the_root_and_the_latest() -> None:
    assert chain(["a", "b"], "c") == ["a", "b", "c"]
    assert chain(["a", "c"], "c") == ["a", "c"]
    long = chain([f"m{i}" for i in range(40)], "last")
    assert len(long) == 20 and long[0] == "m0" and long[-1] == "last" and long[-2] == "m39"


def test_from_name_and_html_part() -> None:
    cfg = EmailConfig.from_section(
        {**BASE, "company_name": "Acme", "from_name_format": "{agent} | {company}"}
    )
    assert from_display_name(cfg, "Ann") == "Ann | Acme" and from_display_name(cfg, "") == "Acme"
    html = text_to_html('<img src=x onerror="alert(1)">\nمرحبا')
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;<br>" in html
    assert 'dir="auto"' in html


# -- attachments -------------------------------------------------------------------------------
def store(root: Path, **kw: Any) -> AttachmentStore:
    args: dict[str, Any] = {
        "max_bytes": 1000,
        "denied_extensions": DEFAULT_DENIED_EXTENSIONS,
        "denied_content_types": DEFAULT_DENIED_TYPES,
        **kw,
    }
    return AttachmentStore(root, **args)


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        (MailPart("big.pdf", "application/pdf", b"x" * 1001), "too large (1001 bytes; the limit is 1000)"),
        (MailPart("setup.EXE", "application/octet-stream", b"x"), "file type .exe is not accepted"),
        (MailPart("invoice.pdf.exe. ", "application/pdf", b"x"), "file type .exe is not accepted"),
        (
            MailPart("run.bin", "application/x-msdownload", b"x"),
            "content type application/x-msdownload is not accepted",
        ),
        (
            MailPart("photo.jpg", "image/jpeg", b"MZ\x90\x00"),
            "content type application/x-msdownload is not accepted",
        ),
        (MailPart("ok.pdf", "application/pdf", b"%PDF"), None),
    ],
)
def test_attachment_limits(tmp_path: Path, part: MailPart, reason: str | None) -> None:
    result = store(tmp_path).save(part)
    if reason is None:
        assert isinstance(result, Attachment) and result.path is not None
    else:
        assert isinstance(result, Rejected) and result.reason == reason
        assert not any(tmp_path.rglob("*"))  # nothing was written


def test_attachments_are_content_addressed_and_contained(tmp_path: Path) -> None:
    s = store(tmp_path / "att", allowed_content_types=("image/*", "application/pdf"))
    a = s.save(MailPart("a.png", "image/png", b"\x89PNG same bytes"))
    b = s.save(MailPart("b.png", "image/png", b"\x89PNG same bytes"))
    assert isinstance(a, Attachment) and isinstance(b, Attachment) and a.path == b.path
    assert Path(a.path or "").read_bytes() == b"\x89PNG same bytes" and (a.filename, b.filename) == (
        "a.png",
        "b.png",
    )
    assert isinstance(s.save(MailPart("a.txt", "text/plain", b"x")), Rejected)  # not in the allow list
    assert s.contains(a.path or "") and not s.contains(tmp_path / "att" / ".." / "elsewhere")


# -- rate limit --------------------------------------------------------------------------------
def test_sender_rate_limit_is_a_sliding_window() -> None:
    limit = SenderRateLimit(3, 600)
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    assert [limit.allow("A@x.test", t0 + timedelta(seconds=i)) for i in range(4)] == [True, True, True, False]
    assert limit.allow("b@x.test", t0)  # per sender
    assert not limit.allow("a@x.test", t0 + timedelta(seconds=599))
    assert limit.allow("a@x.test", t0 + timedelta(seconds=600))  # the first one left the window


def test_sender_rate_limit_counts_every_key_of_one_mail() -> None:
    limit = SenderRateLimit(2, 600)
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    assert limit.allow_all(("env@x.test", "from1@x.test"), t0)
    assert limit.allow_all(("ENV@x.test", "from2@x.test"), t0)
    assert not limit.allow_all(("env@x.test", "from3@x.test"), t0)  # the envelope is spent
    assert limit.allow_all(("other@x.test", "from3@x.test"), t0)  # a refusal counted nothing
    assert limit.allow_all(("from1@x.test", "from1@x.test"), t0)  # one key given twice counts once
    assert not limit.allow_all(("new@x.test", "from1@x.test"), t0)
