"""Schemathesis over every operation of the hub's OpenAPI: no 5xx, responses match the schema.

Bounded and reproducible: fixed seed, derandomized, a few examples per operation; the
requests go to the ASGI app in-process (the ``app`` fixture), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error, response_schema_conformance

from hub.auth import create_api_token
from hub.models import Role
from tests.helpers import inbound, team, user

EXAMPLES = 10

# Generating the cases is half the test's CPU and gives the same cases for both
# databases (derandomized, one schema): the second run takes them from here. One
# xdist group keeps both runs in one worker so that it can.
_GENERATED: dict[tuple[str, str], list[Any]] = {}

pytestmark = pytest.mark.xdist_group("fuzz")


def _cases(operation: Any) -> list[Any]:
    key = (operation.method, operation.path)
    if key not in _GENERATED:
        _GENERATED[key] = _generate(operation)
    return _GENERATED[key]


def _generate(operation: Any) -> list[Any]:
    found: list[Any] = []

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=operation.as_strategy())
    def collect(case: Any) -> None:
        found.append(case)

    collect()
    return found


async def test_fuzz_every_operation(app: Any) -> None:
    started = time.perf_counter()
    tid = await team(app.hub, "Support")
    admin = await user(app.hub, "admin@example.test", Role.admin, team_ids=(tid,))
    await inbound(app.client, "+15550001", "hello")
    _, secret = await create_api_token(app.hub, admin, "fuzz")
    auth = {"authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_dict(app.app.openapi())
    operations = requests = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for case in _cases(operation):
            kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=auth)
            kwargs.pop("allow_redirects", None)
            kwargs.pop("follow_redirects", None)
            kwargs.pop("cookies", None)
            if isinstance(kwargs.get("data"), (bytes, str)):
                kwargs["content"] = kwargs.pop("data")
            res = await app.client.request(**kwargs)
            requests += 1
            try:
                case.validate_response(res, checks=[not_a_server_error, response_schema_conformance])
            except Exception as exc:  # every failure is collected and reported
                failures.append(f"{case.method} {case.formatted_path}: {res.status_code} {str(exc)[:300]}")
    took = time.perf_counter() - started
    print(f"fuzz: {operations} operations, {requests} requests, {len(failures)} failures, {took:.1f}s")
    assert not failures, "\n".join(failures[:20])
