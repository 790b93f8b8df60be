"""Channel routes bypass FastAPI's routing (hub.middleware.WebhookFastPath) but keep
everything the request-context middleware gives every response, and paths no adapter
claims still get the API's answers."""

from __future__ import annotations

from typing import Any


async def test_webhooks_keep_request_ids_and_security_headers(app: Any) -> None:
    r = await app.client.post("/channels/loopback/messages", json={"sender": "c-1", "body": "hello"})
    assert r.status_code == 201
    assert len(r.headers["x-request-id"]) >= 12
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    again = await app.client.post("/channels/loopback/messages", json={"sender": "c-1", "body": "again"})
    assert again.headers["x-request-id"] != r.headers["x-request-id"]
    # A caller's own request id is echoed (bounded), as on every other route.
    tagged = await app.client.post(
        "/channels/loopback/messages",
        json={"sender": "c-1", "body": "x"},
        headers={"x-request-id": "trace-42"},
    )
    assert tagged.headers["x-request-id"] == "trace-42"


async def test_webhook_errors_are_the_adapters_own(app: Any) -> None:
    r = await app.client.post(
        "/channels/loopback/messages", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


async def test_paths_no_adapter_claims_fall_through_to_the_application(app: Any) -> None:
    r = await app.client.get("/channels/nonexistent/messages")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers.get("x-request-id")
