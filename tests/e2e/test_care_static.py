"""Static guarantees of the complaints and surveys UI: a label in both languages for
every complaint status, editable field, source, escalation stage and customer notice
the hub can send, every survey kind, answer route and low-score action, and every
field code the complaints and surveys API can refuse with; /complaints behind sign-in
with the Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest

from hub.models import ComplaintStatus
from hub.services import complaints, surveys
from tests.e2e.test_console_static import strings
from tests.helpers import login, user

# docs/protocol.md, "Complaints and surveys add": the field codes the console translates.
FIELD_CODES = (
    "required unknown_option bad_status reopen_expired complaint_closed supervisors_only not_self "
    "user_not_found team_not_found invalid_hours invalid_ratio invalid_parent bad_kind out_of_range "
    "bad_time bad_action bad_channel unknown_survey bad_score"
).split()
ERROR_CODES = (
    "complaint_not_found option_kind_not_found survey_not_found other_customer no_address opted_out "
    "already_answered survey_expired no_survey"
).split()


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite: nothing here is about the database."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def test_every_complaint_and_survey_value_has_a_label_in_both_languages() -> None:
    keys = strings()
    assert keys["en"] == keys["ar"]
    families = {
        "cst": [s.value for s in ComplaintStatus],
        "cmp_f": list(complaints.EDITABLE),
        "cmp_src": list(complaints.SOURCES),
        "cmp_h_esc": list(complaints.STAGES),
        "cmp_stage": list(complaints.STAGES),
        "cmp_what": ["acknowledgement", *complaints.NOTIFY_STATUSES],
        "opt_new": list(complaints.OPTION_KINDS),
        "svk": list(surveys.KINDS),
        "svvia": ["reply", "button", "link", "widget", "keypad"],
        "svskip": "opted_out asked_recently reopened contact_gone channel_disabled no_address".split(),
        "svp_action": list(surveys.LOW_SCORE_ACTIONS),
        "err": FIELD_CODES + ERROR_CODES,
    }
    wanted = {f"{prefix}_{value}" for prefix, values in families.items() for value in values}
    assert wanted - keys["en"] == set()


async def test_the_complaints_board_needs_a_session_and_sends_the_csp(app: Any) -> None:
    r = await app.client.get("/complaints")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fcomplaints"
    await user(app.hub, "ana@example.com")
    await login(app.client, "ana@example.com")
    r = await app.client.get("/complaints")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    for asset in ("complaints.js", "care/panel.js", "care/common.js", "care.css", "admin/care.js"):
        assert (await app.client.get(f"/static/{asset}")).status_code == 200
