"""Shared steps for the channels' survey and complaint tests (tests/channels/test_care_*.py).

Everything goes through the hub's public interfaces: the admin API turns the survey
policy on and resolves conversations, the survey list API reads the answers. What the
hub then does by itself — the care reactor on the event log, its timers, the outbox —
is run to completion by :func:`settle`, with the test's fake clock: no sleeps.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, func, select

from hub.models import Conversation, Message, Role, SurveyRequest
from tests.channels.twilio_double import cheap_passwords
from tests.helpers import login, user

ADMIN = "care-admin@example.com"
# The seeded CSAT survey (migration 0007), as customers read it.
CSAT_EN = "How satisfied are you with the help you got?"
CSAT_AR = "ما مدى رضاك عن الخدمة التي تلقيتها؟"
COMMENT_EN = "Thank you! Would you like to tell us more? Just reply with a comment."
THANKS_EN = "Thank you for your feedback."
EXPIRY_HOURS = 72  # the policy's default
NOT_FOUND_EN = "We could not find an open complaint with that reference for you."


class Admin:
    """An admin signed in on the app's client (session cookie + CSRF header)."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    @classmethod
    async def create(cls, app: Any, monkeypatch: pytest.MonkeyPatch) -> Admin:
        cheap_passwords(monkeypatch)
        await user(app.hub, ADMIN, role=Role.admin)
        return cls(app, await login(app.client, ADMIN))

    async def relogin(self) -> None:
        """Sessions last 12 hours; tests that move the clock by days sign in again."""
        self.headers = await login(self.app.client, ADMIN)

    async def enable_surveys(self, **policy: Any) -> dict[str, Any]:
        res = await self.app.client.put(
            "/api/v1/survey-policies",
            json={"enabled": True, "delay_seconds": 0, **policy},
            headers=self.headers,
        )
        assert res.status_code == 200, res.text
        data: dict[str, Any] = res.json()
        return data

    async def resolve(self, conversation_id: int) -> None:
        res = await self.app.client.post(
            f"/api/v1/conversations/{conversation_id}/resolve", json={}, headers=self.headers
        )
        assert res.status_code == 200, res.text

    async def surveys(self, **params: Any) -> list[dict[str, Any]]:
        res = await self.app.client.get("/api/v1/surveys", params=params)
        assert res.status_code == 200, res.text
        data: list[dict[str, Any]] = res.json()
        return data

    async def survey_of(self, conversation_id: int) -> dict[str, Any]:
        (one,) = await self.surveys(conversation_id=conversation_id)
        return one

    async def conversation(self, conversation_id: int) -> dict[str, Any]:
        res = await self.app.client.get(f"/api/v1/conversations/{conversation_id}")
        assert res.status_code == 200, res.text
        data: dict[str, Any] = res.json()
        return data


async def settle(app: Any) -> None:
    """Run what the hub does after a fact: the care reactor, due timers, the outbox."""
    await app.hub.projections.catch_up()
    await app.hub.projections.run_due()
    while await app.worker.run_once():
        pass


async def token_of(hub: Any, conversation_id: int) -> str:
    """The survey's token, as only its own channel message carries it (read-only)."""
    async with hub.db.session() as s:
        token = (
            await s.exec(select(SurveyRequest.token).where(SurveyRequest.conversation_id == conversation_id))
        ).one()
    return token


async def conversation_count(hub: Any) -> int:
    async with hub.db.session() as s:
        n: int = (await s.exec(select(func.count()).select_from(Conversation))).one()
    return n


async def latest_inbound(hub: Any) -> Message:
    async with hub.db.session() as s:
        m = (
            await s.exec(
                select(Message)
                .where(Message.direction == "inbound")
                .order_by(col(Message.id).desc())
                .limit(1)
            )
        ).first()
    assert m is not None
    return m
