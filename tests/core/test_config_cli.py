"""Settings (file < environment), clear one-line errors, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from hub.cli import main
from hub.config import ConfigError, load_settings
from hub.db import alembic_config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_embedded_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "SWITCHBOARD_DATABASE_URL",
        "SWITCHBOARD_REDIS_URL",
        "SWITCHBOARD_CONFIG",
        "SWITCHBOARD_PORT",
    ):
        monkeypatch.delenv(key, raising=False)
    s = load_settings()
    assert s.database_url.startswith("sqlite:///var/") and s.redis_url is None and s.port == 8000


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('port = 9001\ndatabase_url = "sqlite:///x.db"\n[auth]\nsession_ttl_seconds = 60\n')
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", "postgresql://db.internal/switchboard")
    monkeypatch.setenv("SWITCHBOARD_AUTH__LOGIN_MAX_ATTEMPTS", "3")
    s = load_settings(cfg)
    assert s.port == 9001 and s.database_url == "postgresql://db.internal/switchboard"
    assert s.auth.session_ttl_seconds == 60 and s.auth.login_max_attempts == 3
    assert s.async_database_url == "postgresql+asyncpg://db.internal/switchboard"


def test_example_config_is_valid_and_documents_every_setting() -> None:
    s = load_settings(ROOT / "config.example.toml")
    text = (ROOT / "config.example.toml").read_text()
    for name, field in type(s).model_fields.items():
        assert f"{name} =" in text or f"[{name}]" in text, f"{name} is not documented"
        sub = getattr(field.annotation, "model_fields", None)
        for key in sub or {}:
            assert f"{key} =" in text, f"{name}.{key} is not documented"


@pytest.mark.parametrize(
    ("content", "env", "expected"),
    [
        ("port = 'eighty'\n", {}, "config error: port: Input should be a valid integer"),
        (
            "",
            {"SWITCHBOARD_REDIS_URL": "localhost:6379"},
            "config error: redis_url: Value error, expected a redis:// URL",
        ),
        ("databse_url = 'sqlite:///x'\n", {}, "config error: databse_url: unknown setting"),
        (
            "[outbox]\nmax_attempts = 0\n",
            {},
            "config error: outbox.max_attempts: Input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_values_stop_with_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, env: dict[str, str], expected: str
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(content)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert str(info.value).startswith(expected) and "\n" not in str(info.value)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml")


def test_cli_help_everywhere() -> None:
    for args in (["--help"], ["serve", "--help"], ["migrate", "--help"], ["create-user", "--help"]):
        out = subprocess.run(
            [sys.executable, "-m", "hub", *args], capture_output=True, text=True, check=True, cwd=ROOT
        )
        assert "usage: switchboard" in out.stdout


def test_cli_bad_config_exits_2_with_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWITCHBOARD_PORT", "99999")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "config error: port: Input should be less than or equal to 65535"


def test_cli_migrate_and_create_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    assert main(["migrate"]) == 0
    head = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path}/cli.db")).get_current_head()
    assert f"database at revision {head}\n" == capsys.readouterr().out
    assert main(["create-user", "--email", "Lead@Example.com", "--role", "supervisor", "--name", "Lead"]) == 0
    out = capsys.readouterr().out
    assert "created supervisor lead@example.com" in out and "password: " in out
    assert main(["create-user", "--email", "lead@example.com"]) == 1
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("demo", [False, True])
@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '[channels.loopback]\ntoken = "short"\n',
            "config error: channels.loopback.token: expected a string",
        ),
        ("[channels.loopback]\nkeep = [1]\n", "config error: channels.loopback: "),
        ("[channels.smoke_signals]\n", "config error: channels.smoke_signals: unknown channel kind"),
    ],
)
def test_serve_reports_a_bad_channel_table_before_touching_the_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    table: str,
    expected: str,
    demo: bool,
) -> None:
    """No migration and no one-time admin password before the config error."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(table)
    db = tmp_path / "hub.db"
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{db}")
    assert main(["--config", str(cfg), "serve", *(["--demo"] if demo else [])]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(expected) and len(err.strip().splitlines()) == 1, err
    assert "password" not in out and "First start" not in out
    assert not db.exists()
