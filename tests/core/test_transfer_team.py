"""A direct transfer goes only to a colleague of the conversation's team, unless the
transfer moves the conversation to a team that colleague is in."""

from __future__ import annotations

from typing import Any

from hub.models import Role
from hub.services import SYSTEM
from hub.services.conversations import assign
from tests.helpers import inbound, login, team, user


async def _setup(app: Any) -> dict[str, int]:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ids = {
        "billing": billing,
        "tech": tech,
        "ana": await user(app.hub, "ana@example.com", team_ids=(billing,)),
        "bob": await user(app.hub, "bob@example.com", team_ids=(billing,)),
        "tess": await user(app.hub, "tess@example.com", team_ids=(tech,)),
    }
    await user(app.hub, "lead@example.com", role=Role.supervisor, team_ids=(billing, tech))
    ids["conv"] = (await inbound(app.client, "cust-1", "refund please", team="Billing"))["conversation_id"]
    await assign(app.hub, SYSTEM, ids["conv"], ids["ana"])
    return ids


async def test_transfer_to_an_agent_outside_the_team_is_refused(app: Any) -> None:
    w = await _setup(app)
    csrf = await login(app.client, "ana@example.com")
    url = f"/api/v1/conversations/{w['conv']}/transfer"
    r = await app.client.post(url, json={"user_id": w["tess"]}, headers=csrf)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "agent_not_in_team"
    conv = (await app.client.get(f"/api/v1/conversations/{w['conv']}")).json()
    assert (conv["team_id"], conv["assignee_id"]) == (w["billing"], w["ana"])
    # A team the colleague is not in either: refused too.
    r = await app.client.post(url, json={"user_id": w["bob"], "team_id": w["tech"]}, headers=csrf)
    assert r.status_code == 422 and r.json()["error"]["code"] == "agent_not_in_team"
    # Nothing at all: the documented transfer_target.
    r = await app.client.post(url, json={"note": "?"}, headers=csrf)
    assert r.status_code == 422 and r.json()["error"]["code"] == "transfer_target"


async def test_transfer_within_the_team_and_with_a_team_move(app: Any) -> None:
    w = await _setup(app)
    csrf = await login(app.client, "ana@example.com")
    url = f"/api/v1/conversations/{w['conv']}/transfer"
    r = await app.client.post(url, json={"user_id": w["bob"]}, headers=csrf)
    assert r.status_code == 200, r.text
    assert (r.json()["team_id"], r.json()["assignee_id"]) == (w["billing"], w["bob"])

    lead = app.new_client()
    lead_csrf = await login(lead, "lead@example.com")
    r = await lead.post(url, json={"user_id": w["tess"], "team_id": w["tech"]}, headers=lead_csrf)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["team_id"], body["assignee_id"], body["status"]) == (w["tech"], w["tess"], "assigned")
    events = (await lead.get("/api/v1/events", params={"type": "conversation.transferred"})).json()["items"]
    assert events[-1]["payload"]["previous_team_id"] == w["billing"]
    assert events[-1]["payload"]["previous_assignee_id"] == w["bob"]
