"""One typed settings object: defaults < TOML file < environment (``SWITCHBOARD_*``).

A bad value stops start-up with :class:`ConfigError`, whose message is one line per
problem naming the key and what is expected.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "SWITCHBOARD_"
CONFIG_ENV = "SWITCHBOARD_CONFIG"


class ConfigError(Exception):
    """Raised for any invalid or missing setting; ``str()`` is printable as is."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_cidrs(v: list[str]) -> list[str]:
    """Every entry an address or CIDR range (one error naming the bad one)."""
    for cidr in v:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(f"not an address or CIDR range: {cidr!r}") from None
    return v


class AuthSettings(_Section):
    session_ttl_seconds: int = Field(43_200, gt=0)
    # Failed sign-ins from one client address within the window before it gets 429;
    # past the same count for one account, its attempts are slowed (never refused).
    login_max_attempts: int = Field(10, gt=0)
    login_window_seconds: int = Field(300, gt=0)
    # The longest wait an attempt on an account under attack is held for.
    login_max_delay_seconds: float = Field(8.0, ge=0, le=60)
    # How long a password reset link works.
    password_reset_ttl_seconds: int = Field(1800, gt=0, le=86_400)
    cookie_secure: bool | None = None  # None: secure when public_url is https
    bootstrap_admin_email: str = "admin@localhost"


class OutboxSettings(_Section):
    max_attempts: int = Field(6, ge=1)
    backoff_base_seconds: float = Field(2.0, gt=0)
    backoff_max_seconds: float = Field(300.0, gt=0)
    poll_interval_seconds: float = Field(5.0, gt=0)
    lease_seconds: float = Field(60.0, gt=0)
    batch_size: int = Field(200, ge=1, le=10_000)


class IngestSettings(_Section):
    """The inbound message path's group commit (see docs/architecture.md)."""

    # Writer lanes on PostgreSQL (ingest and replies), each one connection and one thread
    # (SQLite has one writer, so one lane). A customer's messages always go through the
    # same lane. One lane makes the largest batches and costs the least CPU per message
    # with the database on the same machine (measured: half of four lanes'); more lanes
    # overlap the statements' round trips when the database is far away.
    lanes: int = Field(1, ge=1, le=32)
    # Most messages in one transaction.
    max_batch: int = Field(256, ge=1, le=10_000)
    # While messages stream in (a batch written within the last ten delays) and fewer
    # than eight wait, a lane waits this long before writing, so that a batch's fixed
    # cost is shared by more messages (hub/group_commit.py). 0 turns it off; a quiet
    # hub's lone message never waits.
    commit_delay_ms: float = Field(3.0, ge=0, le=50)


class ProjectionSettings(_Section):
    """The log's consumers (figures, search, reports, reactors; docs/architecture.md)."""

    # How long the consumers wait after a wake-up before reading the log, so that under
    # a stream of messages one round takes many of them: each round has a fixed cost
    # (a transaction, the timers' read), paid per message when rounds are small. It is
    # also how stale a profile's figures, the search index or a reactor's answer may be:
    # coalesce_ms normally, busy_coalesce_ms after a pass that applied busy_events or more.
    coalesce_ms: int = Field(50, ge=0, le=5_000)
    busy_coalesce_ms: int = Field(200, ge=0, le=5_000)
    busy_events: int = Field(100, ge=1, le=100_000)


class CareSettings(_Section):
    """Complaints and surveys (docs/complaints.md, docs/surveys.md)."""

    # {year} and {seq} (the never-reused sequence number) as in str.format.
    reference_format: str = Field("C-{year}-{seq:06d}", min_length=5, max_length=40)
    # A message containing one of these words opens a complaint (Arabic-normalised match).
    complaint_keywords: list[str] = Field(default_factory=lambda: ["complaint", "شكوى"], max_length=50)
    # "status C-2026-000123" / "حالة C-2026-000123": the automatic status answer.
    status_keywords: list[str] = Field(default_factory=lambda: ["status", "حالة"], max_length=50)
    # The team that owns complaints opened without a conversation (hosted page, API).
    complaint_team: str | None = Field(None, max_length=120)
    # Tell customers when their complaint is resolved, waits on them or is reopened
    # (the default of each new complaint; staff switch it per complaint).
    notify_status_changes: bool = True
    reopen_days: int = Field(14, ge=0, le=365)  # a resolved complaint can be reopened this long
    comment_window_minutes: int = Field(30, ge=1, le=1440)  # after a score, the next message is its comment

    @field_validator("reference_format")
    @classmethod
    def _format(cls, v: str) -> str:
        try:
            sample = v.format(year=2026, seq=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"reference_format: {exc}; use {{year}} and {{seq}}") from None
        if "{seq" not in v or len(sample) > 40:
            raise ValueError("reference_format must contain {seq} and give at most 40 characters")
        return v


class ReportsSettings(_Section):
    """Reports (docs/reports.md)."""

    # A message conversation on SMS, WhatsApp or Telegram that no agent has taken is
    # *abandoned* once the customer has been silent this long: it leaves the queue,
    # closed, and counts in the abandonment rate. 0 (the default): never.
    messaging_abandon_after_minutes: int = Field(0, ge=0, le=43_200)


class ConsentSettings(_Section):
    """Consent and opt-outs (docs/crm.md, "Consent")."""

    # Whole-message keywords on every messaging channel, on top of the built-in ones
    # (STOP, UNSUBSCRIBE, إلغاء, إيقاف; START, ابدأ), matched Arabic-normalised and
    # ignoring case, spaces and end punctuation.
    opt_out_keywords: list[str] = Field(default_factory=list, max_length=50)
    opt_in_keywords: list[str] = Field(default_factory=list, max_length=50)
    # Signs unsubscribe links (32+ characters). Unset: the web-chat token_secret, else a
    # key kept in data_dir (set it when hub processes run on several hosts).
    link_secret: str | None = Field(None, min_length=32, max_length=256, repr=False)


class MetricsSettings(_Section):
    """Who may scrape ``/metrics`` (see docs/architecture.md, "Operations")."""

    # Bearer token required when set (16+ characters).
    token: str | None = Field(None, min_length=16, repr=False)
    # CIDR ranges allowed to scrape. Unset: loopback only without a token, any address
    # with one. [] means any address.
    allow_ips: list[str] | None = None
    # FastAPI's native OpenTelemetry (a span, metrics and logs per request, through the
    # globally configured providers). Off by default: even with no provider set up it
    # asks for one on every request, a few percent of the hub's CPU per message
    # (docs/architecture.md, "Operations"); /metrics covers the traffic figures.
    opentelemetry: bool = False

    @field_validator("allow_ips")
    @classmethod
    def _check_cidrs(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else check_cidrs(v)


class CampaignSettings(_Section):
    """Campaigns (docs/campaigns.md)."""

    # Sends per second per channel, cluster-wide (the provider's limit). A channel not
    # named here sends at ``default_rate``.
    rates: dict[str, Annotated[float, Field(gt=0, le=10_000)]] = Field(
        default_factory=lambda: {"sms": 10.0, "whatsapp": 20.0, "email": 10.0, "telegram": 25.0},
        max_length=20,
    )
    default_rate: float = Field(10.0, gt=0, le=10_000)
    # A conversation opened this long after a campaign message counts as its reply.
    reply_window_days: int = Field(7, ge=1, le=90)
    # The default quiet hours in the customer's time ("" to have none).
    quiet_start: str = Field("21:00", pattern=r"^(|([01]\d|2[0-3]):[0-5]\d)$")
    quiet_end: str = Field("09:00", pattern=r"^(|([01]\d|2[0-3]):[0-5]\d)$")
    # Recipients frozen per transaction, and claimed per outbox pass at most.
    freeze_batch: int = Field(1000, ge=10, le=10_000)
    send_batch: int = Field(200, ge=1, le=5_000)
    # The preview counts at most this many members.
    preview_limit: int = Field(200_000, ge=100, le=5_000_000)
    # Marketing only to contacts with a recorded opt-in (otherwise: unless opted out).
    require_opt_in: bool = False


class Settings(BaseSettings):
    """Every setting with its default. ``config.example.toml`` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str | None = None
    data_dir: Path = Path("var")
    database_url: str = "sqlite:///var/switchboard.db"
    redis_url: str | None = None
    redis_prefix: str = "switchboard:"
    log_format: Literal["plain", "json"] = "plain"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    allowed_origins: list[str] = Field(default_factory=list)
    # Reverse proxies (CIDR ranges) whose X-Forwarded-For names the real client. Empty:
    # the header is never trusted and the client is the TCP peer.
    forwarded_allow_ips: list[str] = Field(default_factory=list)
    default_phone_region: str | None = None  # e.g. "SA" for numbers written without +
    max_body_chars: int = Field(65_536, gt=0)
    auth: AuthSettings = Field(default_factory=AuthSettings)  # type: ignore[arg-type]
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)  # type: ignore[arg-type]
    ingest: IngestSettings = Field(default_factory=IngestSettings)  # type: ignore[arg-type]
    projections: ProjectionSettings = Field(default_factory=ProjectionSettings)  # type: ignore[arg-type]
    # SQLite's PRAGMA synchronous: FULL survives power loss, NORMAL only a process kill.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)  # type: ignore[arg-type]
    care: CareSettings = Field(default_factory=CareSettings)  # type: ignore[arg-type]
    reports: ReportsSettings = Field(default_factory=ReportsSettings)  # type: ignore[arg-type]
    consent: ConsentSettings = Field(default_factory=ConsentSettings)  # type: ignore[arg-type]
    campaigns: CampaignSettings = Field(default_factory=CampaignSettings)  # type: ignore[arg-type]
    # Each channel validates its own table; see channels/<kind>.py.
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)

    _toml_path: Path | None = None

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, v: str) -> str:
        if not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return v

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_forwarded(cls, v: list[str]) -> list[str]:
        return check_cidrs(v)

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis:// URL, or leave unset for the in-process bus")
        return v

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("expected an absolute http(s):// URL")
        return v.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _CURRENT_TOML.get("path")
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # -- derived values -------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        if self.auth.cookie_secure is not None:
            return self.auth.cookie_secure
        return self.base_url.startswith("https://")

    @property
    def async_database_url(self) -> str:
        return to_async_url(self.database_url)

    @property
    def sync_database_url(self) -> str:
        return to_sync_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_CURRENT_TOML: dict[str, Path | None] = {"path": None}


def to_async_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    base = scheme.split("+")[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    return f"postgresql+asyncpg://{rest}"


def to_sync_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    base = scheme.split("+")[0]
    if base == "sqlite":
        return f"sqlite://{rest}"
    return f"postgresql+psycopg://{rest}"


def _describe(err: Any) -> str:
    key = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
    msg = err.get("msg", "invalid value")
    if err.get("type") == "extra_forbidden":
        msg = "unknown setting (check the spelling against config.example.toml)"
    return f"config error: {key}: {msg}"


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Load settings from ``path`` (or ``$SWITCHBOARD_CONFIG``) and the environment."""
    if path is None:
        env_path = os.environ.get(CONFIG_ENV)
        path = Path(env_path) if env_path else None
    toml_path = Path(path) if path is not None else None
    if toml_path is not None and not toml_path.is_file():
        raise ConfigError(f"config error: {CONFIG_ENV}: file not found: {toml_path}")
    _CURRENT_TOML["path"] = toml_path
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(e) for e in exc.errors())) from None
    except ValueError as exc:  # TOML syntax errors surface here
        raise ConfigError(f"config error: {toml_path}: {exc}") from None
    finally:
        _CURRENT_TOML["path"] = None
