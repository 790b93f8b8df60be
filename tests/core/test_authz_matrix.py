"""Every REST operation and socket command, walked as an agent of team A, a supervisor
of team B (another team) and an admin, against team A's resources.

"allow" means authorization let the request through (any status but 401/403 — a 404,
409 or 422 is the operation's own answer); "deny" means 403 with a stable code. The
table must name every operation of the OpenAPI document and every socket command, so
a new route cannot ship without a decision here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from agent_ui.commands import COMMANDS
from hub.auth import create_api_token
from hub.models import Identity, Role, User
from hub.services import SYSTEM
from hub.services.access import Actor
from hub.services.canned import create as create_canned
from hub.services.complaints import NewComplaint, open_complaint
from hub.services.conversations import assign
from hub.services.organizations import create_organization
from hub.services.segments import create_segment
from hub.services.views import create_view
from tests.core.test_gateway import Console
from tests.helpers import inbound, team, user

ROLES = ("agent", "supervisor_other_team", "admin")
A, D = "allow", "deny"
DENY_CODES = {
    "not_your_team",
    "role_required",
    "not_assignee",
    "not_self",
    "forbidden",
    "not_your_offer",
    "not_owner",
}


@dataclass
class World:
    team_a: int
    team_b: int
    spare_team: int
    ana: int
    sam: int
    tess: int
    conv: int
    contact: int
    message: int
    canned: int
    tess_token: int
    org: int
    segment: int
    identity: int
    field_key: str = "plan"
    tier_key: str = "nope"
    job: int = 999
    complaint: int = 0
    option_kind: str = "root_cause"
    option_key: str = "weather"
    survey_key: str = "nps"
    schedule: int = 999  # no such schedule: admins get 404, the rest 403
    label_key: str = "callback"  # seeded by migration 0011
    gone_label: str = "nolabel"
    guide: str = "webchat"  # a channel guide of the first-run checklist
    notification: int = 999  # nobody's: 404 for everyone (issue 16)
    task: int = 999  # no such task: 404 task_not_found for everyone, as one you may not see (issue 18)
    room_id: int = 999  # no such chat room: 404 room_not_found for everyone (issue 18)
    rule: int = 999  # no such rule: admins get 404 rule_not_found, the rest 403 (issue 18)
    macro: int = 999  # nobody's macro: 404 macro_not_found for everyone (issue 18)
    campaign: int = 999  # no such campaign: 404 campaign_not_found for supervisors and admins (issue 17)
    preset: str = "nope"  # no such campaign preset: 404 preset_not_found
    view: int = 0  # Ana's personal view: hers alone (404 for the others)
    shared_view: int = 0  # the admin's view for everyone: everyone sees it, only admins change it

    def fill(self, template: str) -> str:
        return template.format(**self.__dict__)


async def build(hub: Any, client: httpx.AsyncClient) -> World:
    a, b, z = await team(hub, "Billing"), await team(hub, "Tech"), await team(hub, "Spare")
    ana = await user(hub, "ana@example.com", team_ids=(a,))
    sam = await user(hub, "sam@example.com", role=Role.supervisor, team_ids=(b,))
    tess = await user(hub, "tess@example.com", team_ids=(b,))
    root_id = await user(hub, "root@example.com", role=Role.admin)
    got = await inbound(client, "cust-a", "hello Billing", team="Billing")
    await assign(hub, SYSTEM, got["conversation_id"], ana)
    canned = await create_canned(
        hub, SYSTEM, {"shortcut": "hi", "title": "Hi", "body": "Hello", "language": "en", "team_id": a}
    )
    assert canned.id is not None
    tess_token, _ = await create_api_token(hub, tess, "tess's integration")
    assert tess_token.id is not None
    org = await create_organization(hub, SYSTEM, {"name": "Acme"})
    segment = await create_segment(hub, SYSTEM, {"name": "All", "filter": {}})
    async with hub.db.session() as s:
        identity = (await s.exec(select(Identity.id).where(Identity.contact_id == got["contact_id"]))).one()
    complaint = await open_complaint(
        hub, SYSTEM, NewComplaint(conversation_id=got["conversation_id"], assignee_id=ana, acknowledge=False)
    )
    world = World(
        a,
        b,
        z,
        ana,
        sam,
        tess,
        got["conversation_id"],
        got["contact_id"],
        got["message_id"],
        canned.id,
        tess_token.id,
        org.id or 0,
        segment.id or 0,
        identity or 0,
    )
    world.complaint = complaint.id or 0
    root = Actor(user_id=root_id, role="admin")
    world.view = (await create_view(hub, Actor(user_id=ana, role="agent", team_ids=frozenset({a})),
                                    {"name": "Mine", "filters": {"assignee": "me"}})).id or 0  # fmt: skip
    world.shared_view = (await create_view(hub, root, {"name": "All", "scope": "everyone"})).id or 0
    return world


SOON = (datetime(2026, 1, 5, 9, 0, tzinfo=UTC) + timedelta(hours=2)).isoformat()

# (method, path, body, {role: allow/deny}); run in this order for each role.
REST: list[tuple[str, str, Any, dict[str, str]]] = [
    ("GET", "/api/v1/auth/me", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/auth/tokens", {"name": "ci"}, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/auth/tokens", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/auth/tokens?user_id={tess}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    # Someone else's token is 404 token_not_found (not a 403 that confirms it exists).
    ("DELETE", "/api/v1/auth/tokens/{tess_token}", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/auth/password",
        {"current_password": "not-the-password", "new_password": "a new long passphrase"},
        dict.fromkeys(ROLES, A),
    ),
    (
        "POST",
        "/api/v1/users/{tess}/password-reset",
        {},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/conversations", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/conversations/{conv}", None, {"agent": A, "supervisor_other_team": D, "admin": A}),
    (
        "GET",
        "/api/v1/conversations/{conv}/messages",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/notes",
        {"body": "n"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/reply",
        {"body": "hi"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/read",
        {"message_id": "{message}"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/priority",
        {"priority": 5},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/snooze",
        {"until": SOON},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/resolve",
        {},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/reopen",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/accept",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/reject",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/messages/{message}/attachments/0",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/assign",
        {"user_id": "{ana}"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/contacts", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/contacts/{contact}", None, {"agent": A, "supervisor_other_team": D, "admin": A}),
    (
        "PATCH",
        "/api/v1/contacts/{contact}",
        {"notes": "x"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/contacts/{contact}/conversations",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    # Customer memory (docs/crm.md, "Who may do what").
    ("GET", "/api/v1/contacts/export.csv", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    (
        "GET",
        "/api/v1/contacts/{contact}/timeline",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/contacts/{contact}/duplicates",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/contacts/{contact}/merge-preview?source_id={contact}",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/contacts/{contact}/merge",
        {"source_id": "{contact}"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/contacts/{contact}/identities",
        {"kind": "email", "address": "new-address@example.com"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/contacts/{contact}/identities/{identity}/verify",
        {"verified": True},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "DELETE",
        "/api/v1/contacts/{contact}/identities/{identity}",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/contacts/{contact}/consent", None, {"agent": A, "supervisor_other_team": D, "admin": A}),
    (
        "PUT",
        "/api/v1/contacts/{contact}/consent/loopback/marketing",
        {"state": "opted_in"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/contacts/{contact}/export", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("POST", "/api/v1/contacts/imports", {}, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/contacts/imports", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/contacts/imports/{job}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    (
        "POST",
        "/api/v1/contacts/imports/{job}/run",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/contact-fields", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/contact-fields",
        {"key": "size", "label_en": "Size", "label_ar": "الحجم", "type": "number"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "PATCH",
        "/api/v1/contact-fields/{field_key}",
        {"label_en": "Plan"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "DELETE",
        "/api/v1/contact-fields/{field_key}",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/tiers", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/tiers",
        {
            "key": "gold",
            "label_en": "Gold",
            "label_ar": "ذهبي",
            "rule": {"all": [{"field": "vip", "op": "is", "value": True}]},
        },
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "PATCH",
        "/api/v1/tiers/{tier_key}",
        {"label_en": "x"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("DELETE", "/api/v1/tiers/{tier_key}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/segments", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    (
        "POST",
        "/api/v1/segments",
        {"name": "s", "filter": {}},
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "GET",
        "/api/v1/segments/channel-preferences",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    ("GET", "/api/v1/segments/{segment}", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    (
        "GET",
        "/api/v1/segments/{segment}/contacts",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "GET",
        "/api/v1/segments/{segment}/export.csv",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    # Someone else's segment: only its owner (here the system) or an admin changes it.
    (
        "PATCH",
        "/api/v1/segments/{segment}",
        {"name": "t"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("DELETE", "/api/v1/segments/{segment}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/organizations", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/organizations", {"name": "Zeta"}, {"agent": D, "supervisor_other_team": A, "admin": A}),
    ("GET", "/api/v1/organizations/{org}", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/organizations/{org}/contacts", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/organizations/{org}/conversations", None, dict.fromkeys(ROLES, A)),
    (
        "PATCH",
        "/api/v1/organizations/{org}",
        {"notes": "n"},
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    ("DELETE", "/api/v1/organizations/{org}", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    ("GET", "/api/v1/events", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/users", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/users/defaults", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/users/{ana}", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/users",
        {"email": "new@example.com", "name": "New"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("PATCH", "/api/v1/users/{ana}", {"name": "Ana B"}, {"agent": A, "supervisor_other_team": D, "admin": A}),
    (
        "PATCH",
        "/api/v1/users/{tess}",
        {"name": "Tess B"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "PUT",
        "/api/v1/users/{ana}/presence",
        {"presence": "away"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/offers?user_id={ana}", None, {"agent": A, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/queues", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/agents/live", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    # supervision and admin (issue 16)
    ("GET", "/api/v1/live/awaiting-reply", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/conversations/{conv}/whisper",
        {"body": "w"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/audit", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/setup/checklist", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/setup/guides/{guide}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/teams", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/teams/{team_a}", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/teams", {"name": "New team"}, {"agent": D, "supervisor_other_team": D, "admin": A}),
    (
        "PATCH",
        "/api/v1/teams/{team_a}",
        {"description": "d"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "PUT",
        "/api/v1/teams/{team_a}/members",
        {"user_ids": ["{ana}"]},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("DELETE", "/api/v1/teams/{spare_team}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/labels", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/labels",
        {"key": "vip", "name_en": "VIP", "name_ar": "مهم", "color": "#112233"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "PATCH",
        "/api/v1/labels/{label_key}",
        {"color": "#445566"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("DELETE", "/api/v1/labels/{gone_label}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    # Search and saved views: everyone searches what they may see and keeps views of
    # their own; shared views are the supervisors' (their own teams) and the admins'.
    ("GET", "/api/v1/search/conversations?q=hello", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/views", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/views", {"name": "Mine", "filters": {"assignee": "me"}}, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/views",
        {"name": "Billing", "scope": "team", "team_id": "{team_a}", "filters": {}},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/views/{view}", None, dict.fromkeys(ROLES, A)),  # others: 404
    (
        "PATCH",
        "/api/v1/views/{shared_view}",
        {"name": "Everything"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("DELETE", "/api/v1/views/{shared_view}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    (
        "PUT",
        "/api/v1/conversations/{conv}/labels/{label_key}",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "DELETE",
        "/api/v1/conversations/{conv}/labels/{label_key}",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    # notifications and profile (issue 16): one's own only; another's id is a 404
    ("GET", "/api/v1/notifications", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/notifications/unread-count", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/notifications/{notification}/read", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/notifications/read", {"ids": ["{notification}"]}, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/notifications/read-all", None, dict.fromkeys(ROLES, A)),
    # campaigns (issue 17): supervisors and admins; another team's campaign is 404 campaign_not_found
    ("GET", "/api/v1/campaigns", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    ("POST", "/api/v1/campaigns", {"name": "C"}, {"agent": D, "supervisor_other_team": A, "admin": A}),
    ("GET", "/api/v1/campaigns/options", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    ("GET", "/api/v1/campaigns/presets", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    ("POST", "/api/v1/campaigns/presets/{preset}", {}, {"agent": D, "supervisor_other_team": A, "admin": A}),
    ("GET", "/api/v1/campaigns/{campaign}", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    (
        "PATCH",
        "/api/v1/campaigns/{campaign}",
        {"name": "C"},
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    ("DELETE", "/api/v1/campaigns/{campaign}", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/preview",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/test-send",
        {"address": "x"},
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    ("POST", "/api/v1/campaigns/{campaign}/start", {}, {"agent": D, "supervisor_other_team": A, "admin": A}),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/pause",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/resume",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/cancel",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "GET",
        "/api/v1/campaigns/{campaign}/recipients",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "GET",
        "/api/v1/campaigns/{campaign}/recipients.csv",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    ("POST", "/api/v1/campaigns/{campaign}/list", None, {"agent": D, "supervisor_other_team": A, "admin": A}),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/coupons",
        {"codes": ["A1"]},
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/redemptions",
        {"code": "A1"},
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    # team chat (issue 18): rooms one may not read answer 404 room_not_found, never 403
    ("GET", "/api/v1/chat/rooms", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/chat/dms", {"user_id": "{ana}"}, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/chat/rooms/{room_id}/messages", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/chat/rooms/{room_id}/messages", {"body": "hi"}, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/chat/rooms/{room_id}/read", {}, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/chat/search?q=hello", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/chat/cards?ids={conv}", None, dict.fromkeys(ROLES, A)),
    # tasks and shift hand-over (issue 18): a task one may not see is 404 task_not_found
    ("GET", "/api/v1/tasks", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/tasks",
        {"title": "Call back", "conversation_id": "{conv}"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/tasks/overdue-by-team", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/tasks/{task}", None, dict.fromkeys(ROLES, A)),
    ("PATCH", "/api/v1/tasks/{task}", {"priority": "high"}, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/tasks/{task}/complete", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/tasks/{task}/reopen", None, dict.fromkeys(ROLES, A)),
    ("DELETE", "/api/v1/tasks/{task}", None, dict.fromkeys(ROLES, A)),
    # automation rules (admins) and macros (issue 18)
    ("GET", "/api/v1/rules", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    (
        "POST",
        "/api/v1/rules",
        {"name": "R", "trigger": "assigned", "actions": [{"type": "set_priority", "priority": 5}]},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("PUT", "/api/v1/rules/order", {"ids": []}, {"agent": D, "supervisor_other_team": D, "admin": A}),
    (
        "POST",
        "/api/v1/rules/dry-run",
        {"rule": {"name": "R", "trigger": "assigned", "actions": [{"type": "resolve"}]}},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/rules/{rule}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    (
        "PATCH",
        "/api/v1/rules/{rule}",
        {"active": False},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/rules/{rule}/firings", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("DELETE", "/api/v1/rules/{rule}", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("GET", "/api/v1/macros", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/macros",
        {"name": "M", "actions": [{"type": "add_labels", "labels": ["callback"]}]},
        dict.fromkeys(ROLES, A),
    ),
    ("PATCH", "/api/v1/macros/{macro}", {"name": "N"}, dict.fromkeys(ROLES, A)),
    ("DELETE", "/api/v1/macros/{macro}", None, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/conversations/{conv}/macros/{macro}/apply", None, dict.fromkeys(ROLES, A)),
    # (to Tess, not in Billing: refused 422 after the rights check, so nothing moves)
    (
        "POST",
        "/api/v1/handover",
        {"to": "{tess}", "conversation_ids": ["{conv}"]},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/profile", None, dict.fromkeys(ROLES, A)),
    ("PATCH", "/api/v1/profile", {"timezone": "Asia/Riyadh"}, dict.fromkeys(ROLES, A)),
    ("POST", "/api/v1/profile/sign-out-others", None, dict.fromkeys(ROLES, A)),
    ("GET", "/api/v1/canned-responses", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/canned-responses",
        {"shortcut": "bye", "title": "Bye", "body": "Bye", "team_id": "{team_a}"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "PATCH",
        "/api/v1/canned-responses/{canned}",
        {"title": "Hello"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "DELETE",
        "/api/v1/canned-responses/{canned}",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    # outbound and canned variants (issue 16)
    ("GET", "/api/v1/canned-responses/variables", None, dict.fromkeys(ROLES, A)),
    (
        "GET",
        "/api/v1/canned-responses/{canned}/preview?conversation_id={conv}",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/contacts/{contact}/outbound",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/contacts/{contact}/outbound",
        {"channel": "loopback", "body": "Hello again"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/conversations/{conv}/transfer",
        {"team_id": "{team_a}"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/complaints", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/complaints",
        {"conversation_id": "{conv}", "acknowledge": False},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/complaints/{complaint}", None, {"agent": A, "supervisor_other_team": D, "admin": A}),
    (
        "PATCH",
        "/api/v1/complaints/{complaint}",
        {"product_ref": "order 7"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/complaints/{complaint}/notes",
        {"body": "called the courier"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/complaints/{complaint}/conversations",
        {"conversation_id": "{conv}"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/complaints/{complaint}/attachments",
        {"file": "bytes"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/complaints/{complaint}/attachments/0",
        None,
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/complaint-options", None, dict.fromkeys(ROLES, A)),
    (
        "PUT",
        "/api/v1/complaint-options/{option_kind}/{option_key}",
        {"label_en": "Weather", "label_ar": "الطقس"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/surveys", None, dict.fromkeys(ROLES, A)),
    (
        "POST",
        "/api/v1/contacts/{contact}/surveys",
        {"survey_key": "nps", "channel": "loopback"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/survey-definitions", None, dict.fromkeys(ROLES, A)),
    (
        "PUT",
        "/api/v1/survey-definitions/{survey_key}",
        {"kind": "nps", "texts": {"en": {"question": "0-10?"}, "ar": {"question": "من 0 إلى 10؟"}}},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/survey-policies", None, dict.fromkeys(ROLES, A)),
    (
        "PUT",
        "/api/v1/survey-policies",
        {"team_id": "{team_a}", "enabled": True},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    *[
        (
            "GET",
            f"/api/v1/reports/{name}?since=2026-01-05T00:00:00%2B00:00&until=2026-01-06T00:00:00%2B00:00",
            None,
            {"agent": D, "supervisor_other_team": A, "admin": A},
        )
        for name in ("summary", "timeseries", "heatmap", "teams", "agents", "channels")
    ],
    (
        "GET",
        "/api/v1/reports/summary?since=2026-01-05T00:00:00%2B00:00&until=2026-01-06T00:00:00%2B00:00&team_id={team_a}",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/reports/forecast?team_id={team_a}&channel=voice&days=1",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/reports/breakdown?since=2026-01-05T00:00:00%2B00:00&until=2026-01-06T00:00:00%2B00:00&by=tag",
        None,
        {"agent": D, "supervisor_other_team": A, "admin": A},
    ),
    (
        "GET",
        "/api/v1/reports/conversations?since=2026-01-05T00:00:00%2B00:00&until=2026-01-06T00:00:00%2B00:00"
        "&metric=conversations&team_id={team_a}",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "GET",
        "/api/v1/reports/verbatims?since=2026-01-05T00:00:00%2B00:00&until=2026-01-06T00:00:00%2B00:00"
        "&team_id={team_a}",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    ("GET", "/api/v1/reports/schedules", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    (
        "POST",
        "/api/v1/reports/schedules",
        {"name": "Daily", "frequency": "daily", "hour": 8, "timezone": "UTC", "recipients": ["{sam}"]},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "PATCH",
        "/api/v1/reports/schedules/{schedule}",
        {"name": "x"},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "POST",
        "/api/v1/reports/schedules/{schedule}/send-now",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "DELETE",
        "/api/v1/reports/schedules/{schedule}",
        None,
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    # Erasure last: it removes what the rows above use.
    ("POST", "/api/v1/contacts/{contact}/erase", None, {"agent": D, "supervisor_other_team": D, "admin": A}),
    ("POST", "/api/v1/auth/logout", None, dict.fromkeys(ROLES, A)),
]
# Public by design: signing in, and asking for / using a password reset link.
PUBLIC = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/password-reset"),
    ("POST", "/api/v1/auth/password-reset/confirm"),
}

SOCKET: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("watch", {"conversation_id": "{conv}"}, {"agent": A, "supervisor_other_team": D, "admin": A}),
    ("unwatch", {"conversation_id": "{conv}"}, dict.fromkeys(ROLES, A)),
    ("chat.send", {"room_id": "{room_id}", "body": "hi"}, dict.fromkeys(ROLES, A)),
    ("chat.read", {"room_id": "{room_id}"}, dict.fromkeys(ROLES, A)),
    ("typing", {"conversation_id": "{conv}"}, {"agent": A, "supervisor_other_team": D, "admin": A}),
    (
        "note",
        {"conversation_id": "{conv}", "body": "n"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "reply",
        {"conversation_id": "{conv}", "body": "hi"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "set_priority",
        {"conversation_id": "{conv}", "priority": 5},
        {"agent": D, "supervisor_other_team": D, "admin": A},
    ),
    (
        "snooze",
        {"conversation_id": "{conv}", "seconds": 600},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    ("resolve", {"conversation_id": "{conv}"}, {"agent": A, "supervisor_other_team": D, "admin": A}),
    ("reopen", {"conversation_id": "{conv}"}, {"agent": A, "supervisor_other_team": D, "admin": A}),
    ("accept", {"conversation_id": "{conv}"}, {"agent": A, "supervisor_other_team": D, "admin": A}),
    ("reject", {"conversation_id": "{conv}"}, {"agent": A, "supervisor_other_team": D, "admin": A}),
    (
        "assign",
        {"conversation_id": "{conv}", "user_id": "{ana}"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "set_presence",
        {"user_id": "{ana}", "presence": "away"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
    (
        "transfer",
        {"conversation_id": "{conv}", "team_id": "{team_a}"},
        {"agent": A, "supervisor_other_team": D, "admin": A},
    ),
]

EMAILS = {"agent": "ana@example.com", "supervisor_other_team": "sam@example.com", "admin": "root@example.com"}


def resolve_ids(value: Any, world: World) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return int(world.fill(value))
    if isinstance(value, dict):
        return {k: resolve_ids(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_ids(v, world) for v in value]
    return value


def template_path(path: str) -> str:
    """/api/v1/conversations/{conv}/read?x → /api/v1/conversations/{conversation_id}/read"""
    names = {
        "conv": "conversation_id",
        "contact": "contact_id",
        "message": "message_id",
        "canned": "canned_id",
        "ana": "user_id",
        "tess": "user_id",
        "team_a": "team_id",
        "spare_team": "team_id",
        "tess_token": "token_id",
        "org": "org_id",
        "segment": "segment_id",
        "identity": "identity_id",
        "field_key": "key",
        "tier_key": "key",
        "job": "job_id",
        "complaint": "complaint_id",
        "option_kind": "kind",
        "option_key": "key",
        "survey_key": "key",
        "schedule": "schedule_id",
        "label_key": "key",
        "gone_label": "key",
        "notification": "notification_id",
        "task": "task_id",
        "rule": "rule_id",
        "macro": "macro_id",
        "campaign": "campaign_id",
        "preset": "key",
        "guide": "name",
        "view": "view_id",
        "shared_view": "view_id",
    }
    path = path.split("?", 1)[0]
    for short, long in names.items():
        path = path.replace("{" + short + "}", "{" + long + "}")
    path = path.replace("/consent/loopback/marketing", "/consent/{channel}/{purpose}")
    return path.replace("/attachments/0", "/attachments/{index}")


async def token_for(hub: Any, world: World, role: str) -> str:
    uid = {"agent": world.ana, "supervisor_other_team": world.sam}.get(role)
    if uid is None:
        async with hub.db.session() as s:
            uid = (await s.exec(select(User.id).where(User.email == "root@example.com"))).one()
    _, secret = await create_api_token(hub, uid, "matrix")
    return secret


def test_the_table_names_every_operation_and_command(app: Any) -> None:
    spec = app.app.openapi()
    operations = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = {(m, template_path(p)) for m, p, _, _ in REST} | PUBLIC
    assert operations == covered, {"not in the table": operations - covered, "gone": covered - operations}
    assert {name for name, _, _ in SOCKET} == set(COMMANDS)


@pytest.mark.parametrize("role", ROLES)
async def test_rest_authorization_matrix(app: Any, role: str) -> None:
    world = await build(app.hub, app.client)
    secret = await token_for(app.hub, world, role)
    headers = {"Authorization": f"Bearer {secret}"}
    wrong = []
    for method, path, body, expect in REST:
        url = world.fill(path)
        res = await app.client.request(method, url, json=resolve_ids(body, world), headers=headers)
        denied = res.status_code in (401, 403)
        if expect[role] == D:
            ok = res.status_code == 403 and res.json()["error"]["code"] in DENY_CODES
        else:
            ok = not denied and res.status_code < 500
        if not ok:
            wrong.append((method, url, expect[role], res.status_code, res.text[:200]))
    assert not wrong, wrong


@pytest.mark.parametrize("role", ROLES)
async def test_socket_authorization_matrix(live: Any, role: str) -> None:
    import websockets

    hub = live.app.hub
    world = await build(hub, live.app.client)
    secret = await token_for(hub, world, role)
    ws = await websockets.connect(
        f"{live.ws_base}/ws", additional_headers={"Authorization": f"Bearer {secret}"}
    )
    console = Console(ws)
    assert (await console.recv())["type"] == "hello"
    wrong = []
    for name, args, expect in SOCKET:
        frame = await console.command(name, **resolve_ids(args, world))
        if expect[role] == D:
            ok = frame["type"] == "error" and frame["code"] in DENY_CODES
        else:
            ok = frame["type"] == "ack" or frame["code"] not in DENY_CODES | {"not_authenticated"}
        if not ok:
            wrong.append((name, expect[role], frame))
    await ws.close()
    assert not wrong, wrong
