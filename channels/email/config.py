"""``[channels.email]``: every key, its default, and one clear error per bad value."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KIND = "email"

DEFAULT_DENIED_EXTENSIONS = (
    ".exe", ".bat", ".cmd", ".com", ".scr", ".pif", ".js", ".jse", ".vbs", ".vbe", ".wsf",
    ".wsh", ".msi", ".msp", ".dll", ".cpl", ".hta", ".jar", ".ps1", ".lnk", ".reg", ".sh",
)  # fmt: skip
DEFAULT_DENIED_TYPES = (
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-dosexec",
    "application/x-executable",
    "application/x-ms-installer",
    "application/x-msi",
    "application/x-sh",
    "application/javascript",
    "text/javascript",
    "application/hta",
    "application/java-archive",
)
_SECURITY = {"starttls": 587, "tls": 465, "none": 25}
_IMAP_SECURITY = {"tls": 993, "none": 143}

KNOWN_KEYS = frozenset(
    {
        "address", "company_name", "from_name_format",
        "smtp_host", "smtp_port", "smtp_username", "smtp_password", "smtp_security", "smtp_timeout_seconds",
        "imap_host", "imap_port", "imap_username", "imap_password", "imap_security", "imap_folder",
        "imap_poll_seconds", "imap_idle", "imap_mark_seen",
        "listener_host", "listener_port", "accept_domains", "max_message_bytes",
        "attachments_dir", "max_attachment_bytes", "denied_extensions", "denied_content_types",
        "allowed_content_types", "rate_limit_per_sender", "rate_limit_window_seconds",
        "ignore_precedence", "state_dir", "team",
    }
)  # fmt: skip


def _err(key: str, expected: str) -> ValueError:
    return ValueError(f"config error: channels.{KIND}.{key}: {expected}")


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    security: str  # "tls" | "none"
    folder: str = "INBOX"
    poll_seconds: float = 60.0
    idle: bool = True
    mark_seen: bool = True


@dataclass(frozen=True)
class EmailConfig:
    address: str
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout_seconds: float = 20.0
    company_name: str = "Support"
    from_name_format: str = "{agent} via {company}"
    imap: ImapConfig | None = None
    listener_host: str = "127.0.0.1"
    listener_port: int | None = None  # None: no listener; 0: an ephemeral port (tests)
    accept_domains: tuple[str, ...] = ()
    max_message_bytes: int = 35_000_000
    attachments_dir: Path | None = None  # None: <data_dir>/attachments
    max_attachment_bytes: int = 20_000_000
    denied_extensions: tuple[str, ...] = DEFAULT_DENIED_EXTENSIONS
    denied_content_types: tuple[str, ...] = DEFAULT_DENIED_TYPES
    allowed_content_types: tuple[str, ...] = ()  # empty: anything not denied
    rate_limit_per_sender: int = 20
    rate_limit_window_seconds: float = 600.0
    ignore_precedence: tuple[str, ...] = ("bulk", "junk", "list")
    state_dir: Path | None = None  # None: <data_dir>/email
    team: str | None = None

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> EmailConfig:
        unknown = sorted(set(section) - KNOWN_KEYS)
        if unknown:
            raise _err(unknown[0], "unknown setting (see docs/channels/email.md)")
        r = _Reader(section)
        address = r.address("address")
        security = r.choice("smtp_security", tuple(_SECURITY), "starttls")
        smtp_user = r.opt_str("smtp_username")
        smtp_pass = r.opt_str("smtp_password")
        if (smtp_user is None) != (smtp_pass is None):
            raise _err(
                "smtp_password" if smtp_user else "smtp_username",
                "set both smtp_username and smtp_password, or neither",
            )
        return cls(
            address=address,
            smtp_host=r.string("smtp_host"),
            smtp_port=r.port("smtp_port", _SECURITY[security]),
            smtp_security=security,
            smtp_username=smtp_user,
            smtp_password=smtp_pass,
            smtp_timeout_seconds=r.number("smtp_timeout_seconds", 20.0),
            company_name=r.string("company_name", "Support"),
            from_name_format=r.name_format("from_name_format", "{agent} via {company}"),
            imap=_imap(r),
            listener_host=r.string("listener_host", "127.0.0.1"),
            listener_port=r.opt_port("listener_port"),
            accept_domains=tuple(d.lower().lstrip("@") for d in r.str_list("accept_domains", ())),
            max_message_bytes=r.integer("max_message_bytes", 35_000_000),
            attachments_dir=r.opt_path("attachments_dir"),
            max_attachment_bytes=r.integer("max_attachment_bytes", 20_000_000),
            denied_extensions=tuple(
                e.lower() if e.startswith(".") else f".{e.lower()}"
                for e in r.str_list("denied_extensions", DEFAULT_DENIED_EXTENSIONS)
            ),
            denied_content_types=tuple(
                t.lower() for t in r.str_list("denied_content_types", DEFAULT_DENIED_TYPES)
            ),
            allowed_content_types=tuple(t.lower() for t in r.str_list("allowed_content_types", ())),
            rate_limit_per_sender=r.integer("rate_limit_per_sender", 20),
            rate_limit_window_seconds=r.number("rate_limit_window_seconds", 600.0),
            ignore_precedence=tuple(
                p.lower() for p in r.str_list("ignore_precedence", ("bulk", "junk", "list"))
            ),
            state_dir=r.opt_path("state_dir"),
            team=r.opt_str("team"),
        )


def _imap(r: _Reader) -> ImapConfig | None:
    host = r.opt_str("imap_host")
    if host is None:
        return None
    security = r.choice("imap_security", tuple(_IMAP_SECURITY), "tls")
    return ImapConfig(
        host=host,
        port=r.port("imap_port", _IMAP_SECURITY[security]),
        username=r.string("imap_username"),
        password=r.string("imap_password"),
        security=security,
        folder=r.string("imap_folder", "INBOX"),
        poll_seconds=r.number("imap_poll_seconds", 60.0),
        idle=r.boolean("imap_idle", True),
        mark_seen=r.boolean("imap_mark_seen", True),
    )


class _Reader:
    """Typed access to the raw TOML table; each failure names its key.

    Values overridden from the environment (``SWITCHBOARD_CHANNELS__EMAIL__SMTP_PORT``)
    arrive as strings, so numbers, booleans and comma-separated lists are accepted
    in that form too.
    """

    def __init__(self, section: dict[str, Any]) -> None:
        self.s = section

    def raw(self, key: str, default: Any) -> Any:
        """A non-string setting; a string (from the environment) is read as a literal."""
        return _from_env_string(self.s.get(key, default))

    def string(self, key: str, default: str | None = None) -> str:
        value = self.s.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise _err(key, "expected a non-empty string")
        return value.strip()

    def opt_str(self, key: str) -> str | None:
        if self.s.get(key) in (None, ""):
            return None
        return self.string(key)

    def address(self, key: str) -> str:
        value = self.string(key)
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or " " in value or "<" in value:
            raise _err(key, "expected a plain email address like support@example.com")
        return value.lower()

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.s.get(key, default)
        if value not in options:
            raise _err(key, f"expected one of {', '.join(repr(o) for o in options)}")
        return str(value)

    def integer(self, key: str, default: int) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise _err(key, "expected a positive integer")
        return value

    def number(self, key: str, default: float) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise _err(key, "expected a positive number")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise _err(key, "expected true or false")
        return value

    def port(self, key: str, default: int) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise _err(key, "expected a port number 1-65535")
        return value

    def opt_port(self, key: str) -> int | None:
        value = self.raw(key, None)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
            raise _err(key, "expected a port number 1-65535 (0 picks a free port)")
        return value

    def opt_path(self, key: str) -> Path | None:
        value = self.opt_str(key)
        return Path(value) if value is not None else None

    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.s.get(key, default)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
            raise _err(key, "expected a list of non-empty strings")
        return tuple(value)

    def name_format(self, key: str, default: str) -> str:
        value = self.string(key, default)
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError:
            fields = {"?"}
        if not fields <= {"agent", "company"}:
            raise _err(key, "expected a format using only {agent} and {company}")
        return value


def _from_env_string(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    if text.isdigit():
        return int(text)
    if text.count(".") == 1 and text.replace(".", "").isdigit():
        return float(text)
    return value
