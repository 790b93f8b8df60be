"""Parsing real-world mail: the corpus in tests/fixtures/email and CPython's own email
test corpus. Pure functions, no servers: every fixture must parse, lose no text, and
show the agent only the new part of a reply."""

from __future__ import annotations

import sysconfig
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest

from channels.email.config import EmailConfig
from channels.email.htmltext import html_to_text
from channels.email.loops import noise_reason, own_mail_reason
from channels.email.parse import parse_email
from channels.email.quotes import strip_quotes

FIXTURES = Path(__file__).parent.parent / "fixtures" / "email"
CFG = EmailConfig.from_section({"address": "support@acme.test", "smtp_host": "127.0.0.1"})

# fixture → (marker in the full text, marker that must NOT reach the agent or None)
CORPUS: dict[str, tuple[str, str | None]] = {
    "plain_utf8.eml": ("MARKER-PLAIN", None),
    "arabic_windows1256_qp.eml": ("طلبي رقم 4471 لم يصل بعد. MARKER-AR-QP", None),
    "arabic_windows1256_base64.eml": ("الفاتورة رقم 889 غير صحيحة. MARKER-AR-B64", None),
    "arabic_utf8_html_base64.eml": ("لم أستلم رمز التفعيل حتى الآن. MARKER-AR-HTML", None),
    "multipart_alternative.eml": (
        "MARKER-ALT-PLAIN: why was I charged twice for invoice 2026-01? Grüße",
        None,
    ),
    "html_only.eml": ("MARKER-HTML-ONLY", None),
    "encoded_headers.eml": ("MARKER-ENC-HEADERS", None),
    "attachments.eml": ("MARKER-ATTACH", None),
    "inline_image.eml": ("MARKER-INLINE", None),
    "gmail_reply.eml": ("MARKER-GMAIL-QUOTED", "MARKER-GMAIL-QUOTED"),
    "outlook_reply.eml": ("MARKER-OUTLOOK-QUOTED", "MARKER-OUTLOOK-QUOTED"),
    "outlook_new_reply.eml": ("MARKER-OUTLOOK2-QUOTED", "MARKER-OUTLOOK2-QUOTED"),
    "apple_mail_reply.eml": ("MARKER-APPLE-QUOTED", "MARKER-APPLE-QUOTED"),
    "arabic_gmail_reply.eml": ("MARKER-AR-GMAIL-QUOTED", "MARKER-AR-GMAIL-QUOTED"),
    "arabic_outlook_reply.eml": ("MARKER-AR-OUTLOOK-QUOTED", "MARKER-AR-OUTLOOK-QUOTED"),
    "signature.eml": ("MARKER-SIG-SIGNATURE", "MARKER-SIG-SIGNATURE"),
    "auto_replied.eml": ("MARKER-OOO", None),
    "x_autoreply.eml": ("MARKER-XAUTO", None),
    "precedence_bulk.eml": ("MARKER-BULK", None),
    "list_mail.eml": ("MARKER-LIST", None),
    "dsn_postfix.eml": ("MARKER-DSN-POSTFIX", None),
    "dsn_gmail.eml": ("MARKER-DSN-GMAIL", None),
    "mailer_daemon.eml": ("MARKER-MAILER-DAEMON", None),
    "read_receipt.eml": ("MARKER-MDN", None),
    "malformed_boundary.eml": ("MARKER-BROKEN-BOUNDARY", None),
    "malformed_charset.eml": ("MARKER-BAD-CHARSET: the café menu shows ØØØ — مرحبا", None),
    "malformed_missing_headers.eml": ("MARKER-MISSING-HEADERS", None),
    "missing_from.eml": ("MARKER-NO-FROM", None),
    "eightbit_headers.eml": ("MARKER-8BIT-HEADERS", None),
    "forwarded.eml": ("MARKER-FWD-INNER", None),
    "broken_base64.eml": ("MARKER-BROKEN-B64", None),
}


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_every_fixture_is_listed() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.eml")) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_parses_without_loss(name: str) -> None:
    marker, hidden = CORPUS[name]
    mail = parse_email(load(name))
    assert marker in mail.text, mail.text
    new_text = mail.reply_text
    assert new_text.strip(), "the agent must see something"
    if hidden is not None:
        assert hidden not in new_text and hidden in mail.text
    # Whatever came in is kept byte for byte.
    assert mail.raw == load(name)


@pytest.mark.parametrize(
    ("name", "subject", "sender", "name_shown"),
    [
        ("arabic_windows1256_qp.eml", "طلب متأخر", "ahmed@example.sa", "أحمد علي"),
        ("arabic_windows1256_base64.eml", "الفاتورة خاطئة", "sara@example.sa", "سارة محمد"),
        ("arabic_utf8_html_base64.eml", "رمز التفعيل", "khalid@example.ae", "خالد"),
        ("encoded_headers.eml", "Überweisung für Bestellung nº 77", "jose@example.es", "José García"),
        ("eightbit_headers.eml", "Lieferung verspätet — طلب", "zoe@example.ch", "Zoë Müller"),
        ("arabic_outlook_reply.eml", "رد: عمولة", "nora@example.qa", "Nora"),
        ("outlook_reply.eml", "RE: Invoice question", "tom@example.de", "Becker, Tom"),
    ],
)
def test_encoded_headers_are_decoded(name: str, subject: str, sender: str, name_shown: str) -> None:
    mail = parse_email(load(name))
    assert (mail.subject, mail.from_addr, mail.from_name) == (subject, sender, name_shown)
    assert mail.warnings == ()


def test_reply_threading_headers_are_read() -> None:
    mail = parse_email(load("gmail_reply.eml"))
    assert mail.message_id == "CAF=gmail.reply.2@mail.example.com"
    assert mail.in_reply_to == ("sb.1.2.0123456789ab@acme.test",)
    assert mail.references == ("CAF=plain.utf8.4471@mail.example.com", "sb.1.2.0123456789ab@acme.test")
    assert mail.reply_text == "MARKER-GMAIL-NEW: Yes, a replacement would be great."
    meta = mail.header_meta()
    assert meta["message_id"] == mail.message_id and meta["references"] == list(mail.references)
    assert meta["from"] == "Maria Lopez <maria@example.com>" and str(meta["date"]).startswith(
        "Mon, 05 Jan 2026"
    )


def test_alternative_prefers_text_and_html_is_converted_safely() -> None:
    alt = parse_email(load("multipart_alternative.eml"))
    assert "MARKER-ALT-PLAIN" in alt.text and "MARKER-ALT-HTML" not in alt.text and alt.has_html
    html_only = parse_email(load("html_only.eml"))
    assert "EVIL-SCRIPT" not in html_only.text and "color:red" not in html_only.text
    assert "ignored title" not in html_only.text
    assert "Café au lait & croissants" in html_only.text  # latin-1 QP and entities
    assert "here <https://files.example.org/shot.png>" in html_only.text
    assert "- Chrome\n- Windows 11" in html_only.text


def test_attachments_and_inline_images() -> None:
    mail = parse_email(load("attachments.eml"))
    assert [(p.filename, p.content_type) for p in mail.parts] == [
        ("contract.pdf", "application/pdf"),
        ("setup.exe", "application/octet-stream"),
        ("إيصال.txt", "text/plain"),  # RFC 2231 UTF-8 file name
    ]
    assert mail.parts[0].data.startswith(b"%PDF-1.4") and mail.parts[1].data.startswith(b"MZ")
    assert mail.parts[2].data.decode() == "إيصال رقم 55"
    inline = parse_email(load("inline_image.eml"))
    (image,) = inline.parts
    assert (image.filename, image.content_type, image.content_id, image.inline) == (
        "screenshot.png",
        "image/png",
        "shot@olga",
        True,
    )
    assert image.data.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("name", "warning"),
    [
        ("malformed_boundary.eml", "without its boundary"),
        ("malformed_charset.eml", "unknown charset 'x-unknown-charset-42'"),
        ("malformed_missing_headers.eml", "missing Message-ID"),
        ("missing_from.eml", "missing or invalid From address"),
        ("broken_base64.eml", "InvalidBase64CharactersDefect"),
    ],
)
def test_malformed_mail_is_kept_with_a_warning(name: str, warning: str) -> None:
    mail = parse_email(load(name))
    assert any(warning in w for w in mail.warnings), mail.warnings


def test_even_garbage_never_raises() -> None:
    for raw in (b"", b"\x00\xff\xfe garbage", b"Content-Type: multipart/mixed\n\n--x\n", b"From: <\n\n" * 50):
        mail = parse_email(raw)
        assert mail.raw == raw


def test_dsn_reports_the_original_message_and_reason() -> None:
    postfix = parse_email(load("dsn_postfix.eml")).bounce
    assert postfix is not None and postfix.is_failure
    assert postfix.original_message_id == "sb.5.11.dddddddddddd@acme.test"
    assert postfix.status == "5.1.1" and postfix.recipient == "nobody@example.com"
    assert "User unknown" in postfix.reason()
    gmail = parse_email(load("dsn_gmail.eml")).bounce
    assert gmail is not None and gmail.original_message_id == "sb.6.12.eeeeeeeeeeee@acme.test"
    assert "does not exist" in gmail.diagnostic
    assert parse_email(load("mailer_daemon.eml")).bounce is None  # not a DSN


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_replied.eml", "Auto-Submitted: auto-replied"),
        ("x_autoreply.eml", "x-autoreply header"),
        ("precedence_bulk.eml", "Precedence: bulk"),
        ("list_mail.eml", "Precedence: list"),
        ("mailer_daemon.eml", "from mailer-daemon without a delivery status report"),
        ("read_receipt.eml", "automatic report (disposition-notification)"),
        ("plain_utf8.eml", None),
        ("gmail_reply.eml", None),
        ("arabic_outlook_reply.eml", None),
    ],
)
def test_automatic_mail_is_recognized(name: str, reason: str | None) -> None:
    assert noise_reason(parse_email(load(name)), CFG, envelope_sender=None) == reason


def test_null_envelope_sender_and_own_mail() -> None:
    mail = parse_email(load("plain_utf8.eml"))
    assert noise_reason(mail, CFG, envelope_sender="") == "null return path (automatic mail)"
    assert noise_reason(mail, CFG, envelope_sender="maria@example.com") is None
    ours = parse_email(b"From: Ann via Acme <SUPPORT@acme.test>\nMessage-ID: <x@y.z>\n\nhi")
    assert own_mail_reason(ours, CFG) == "from our own address"
    copy = parse_email(b"From: a@b.example\nMessage-ID: <sb.1.2.0123456789ab@acme.test>\n\nhi")
    assert own_mail_reason(copy, CFG) == "our own outgoing message"


# -- quotes and HTML, directly -----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks!\n\nOn Tue, Jan 6, 2026 at 10:00 AM Ann <a@b.c> wrote:\n> old", "Thanks!"),
        ("Yes.\n\nLe mar. 6 janv. 2026 à 10:00, Ann <a@b.c> a écrit :\n> old", "Yes."),
        ("Ja.\n\nAm Di., 6. Jan. 2026 um 10:00 Uhr schrieb Ann <a@b.c>:\n> alt", "Ja."),
        ("Fine\n-----Original Message-----\nFrom: x\nold", "Fine"),
        ("Fine\n----- Original Message -----\nFrom: x\nold", "Fine"),
        ("Inline answer:\n> question one\nanswer one\n> question two\nanswer two", None),
        ("Only text\n\n> trailing quote\n> more\n", "Only text"),
        ("Body\n--\nSig", "Body"),
        ("Body\n\nSent from my iPhone", "Body"),
        ("> everything is quoted\n> really", "> everything is quoted\n> really"),
    ],
)
def test_strip_quotes(text: str, expected: str | None) -> None:
    assert strip_quotes(text) == (expected if expected is not None else text)


def test_forwarded_history_is_kept_for_the_agent() -> None:
    mail = parse_email(load("forwarded.eml"))
    assert "MARKER-FWD-INNER" in mail.reply_text and "MARKER-FWD-NOTE" in mail.reply_text
    assert mail.parts[0].content_type == "message/rfc822"


def test_html_to_text_keeps_structure_and_drops_active_content() -> None:
    html = (
        "<style>x{}</style><script>bad()</script><p>One<br>Two</p><blockquote>quoted</blockquote>"
        "<pre> a\n  b</pre><a href='javascript:x'>click</a> <img alt='logo' src='cid:1'>"
    )
    assert html_to_text(html) == "One\nTwo\n\n> quoted\n a\n  b\nclick [image: logo]"


# -- a public corpus: CPython's own email test messages ----------------------------------
PUBLIC = Path(sysconfig.get_path("stdlib")) / "test" / "test_email" / "data"
PUBLIC_FILES = sorted(PUBLIC.glob("msg_*.txt")) if PUBLIC.is_dir() else []


def _leaf_texts(msg: Message) -> list[str]:
    out: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() != "text/plain":
            continue
        if part.get_content_disposition() == "attachment":
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            text = data.decode(part.get_content_charset() or "utf-8", "replace")
            out.extend(line.strip() for line in text.splitlines() if len(line.strip()) > 8)
    return out


@pytest.mark.skipif(not PUBLIC_FILES, reason="this Python ships without its test suite")
def test_public_corpus_parses_without_loss() -> None:
    checked = 0
    for path in PUBLIC_FILES:
        raw = path.read_bytes()
        mail = parse_email(raw)
        assert mail.raw == raw
        reference = message_from_bytes(raw, policy=policy.compat32)
        if reference.defects:
            continue  # broken on purpose; parse_email's only promise there is "no crash"
        attached = b"".join(p.data for p in mail.parts).decode("utf-8", "replace")
        for line in _leaf_texts(reference):
            assert line in mail.text or line in attached, (path.name, line)
        checked += 1
    assert checked >= 30
