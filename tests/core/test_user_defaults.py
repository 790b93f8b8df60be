"""One default capacity for every way a user is created: the API (capacity omitted),
``switchboard create-user`` and the admin form (which reads GET /users/defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from hub.cli import main
from hub.config import load_settings
from hub.db import Database
from hub.models import Role, User
from hub.services.users import CHANNEL_CAPACITY_DEFAULT
from tests.helpers import login, user


async def test_api_applies_and_shows_the_default_capacity(app: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    defaults = await app.client.get("/api/v1/users/defaults")
    assert defaults.status_code == 200 and defaults.json() == {"capacity": CHANNEL_CAPACITY_DEFAULT}
    r = await app.client.post("/api/v1/users", json={"email": "a@example.com", "name": "A"}, headers=csrf)
    assert r.status_code == 201 and r.json()["user"]["capacity"] == CHANNEL_CAPACITY_DEFAULT
    # An explicit capacity is kept as given (the console warns when it is zero everywhere).
    r = await app.client.post(
        "/api/v1/users", json={"email": "b@example.com", "name": "B", "capacity": {"sms": 1}}, headers=csrf
    )
    assert r.status_code == 201 and r.json()["user"]["capacity"] == {"sms": 1}


async def test_cli_create_user_gets_the_same_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", url)
    # main() runs its own event loop: call it from a worker thread.
    import asyncio

    assert await asyncio.to_thread(main, ["create-user", "--email", "cli@example.com"]) == 0
    db = Database(load_settings(None, database_url=url).async_database_url)
    try:
        async with db.session() as s:
            created = (await s.exec(select(User).where(User.email == "cli@example.com"))).one()
    finally:
        await db.dispose()
    assert created.capacity == CHANNEL_CAPACITY_DEFAULT
