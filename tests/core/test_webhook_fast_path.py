"""Channel routes bypass FastAPI's routing (hub.middleware.WebhookFastPath) but keep
everything the request-context middleware gives every response, and paths no adapter
claims still get the API's answers."""

from __future__ import annotations

from typing import Any

from hub.middleware import CSP


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


async def test_the_apps_own_headers_win_and_ours_are_set_once() -> None:
    """RequestContextMiddleware on the raw header list: what the app set stays (a page
    with its own policy), every default is added once, the request id is always ours
    and appears once, and the latency histogram counts each answer by method and status."""
    import httpx

    from hub.metrics import Metrics
    from hub.middleware import RequestContextMiddleware

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        headers = [
            (b"content-type", b"text/plain"),
            (b"x-request-id", b"the-apps"),
            (b"x-frame-options", b"SAMEORIGIN"),
        ]
        if scope["path"] == "/own-policy":
            headers.append((b"content-security-policy", b"default-src 'none'"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    metrics = Metrics()
    asgi = RequestContextMiddleware(inner, metrics)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t") as client:
        own = await client.get("/own-policy", headers={"x-request-id": "trace-7"})
        plain = await client.get("/page")
        widget = await client.get("/widget/frame")
    assert own.headers.get_list("x-request-id") == ["trace-7"]
    assert own.headers.get_list("content-security-policy") == ["default-src 'none'"]
    assert own.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert own.headers.get_list("x-content-type-options") == ["nosniff"]
    assert own.headers.get_list("referrer-policy") == ["same-origin"]
    assert plain.headers.get_list("content-security-policy") == [CSP]
    assert len(plain.headers.get_list("x-request-id")) == 1 and plain.headers["x-request-id"] != "the-apps"
    assert (
        "content-security-policy" not in widget.headers
        and widget.headers["x-content-type-options"] == "nosniff"
    )
    counted = metrics.registry.get_sample_value(
        "switchboard_http_request_seconds_count", {"method": "GET", "status": "200"}
    )
    assert counted == 3


async def test_a_plain_route_is_called_directly_with_the_scope_the_routers_gave_it() -> None:
    """WebhookFastPath finds an adapter's plain route by its path and calls its endpoint
    itself: the endpoint sees the same request as through the mount's and the route's
    routers (URL, root path, parameters, body); another method, path parameters and
    errors still behave as the routers make them."""
    import httpx
    import pytest
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Mount, Route, Router

    from hub.middleware import WebhookFastPath

    seen: list[dict[str, Any]] = []

    async def hook(request: Request) -> Response:
        seen.append(
            {
                "url": str(request.url),
                "base_url": str(request.base_url),
                "root_path": request.scope["root_path"],
                "app_root_path": request.scope.get("app_root_path"),
                "path": request.scope["path"],
                "path_params": dict(request.path_params),
                "endpoint": request.scope["endpoint"],
                "query": dict(request.query_params),
                "body": await request.body(),
            }
        )
        return JSONResponse({"ok": True}, status_code=201)

    async def item(request: Request) -> Response:
        return PlainTextResponse(request.path_params["key"])

    async def boom(request: Request) -> Response:
        raise RuntimeError("an adapter's bug")

    async def application(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("the application", status_code=404)(scope, receive, send)

    def mounts() -> list[Any]:
        routes = [
            Route("/hook", hook, methods=["POST"]),
            Route("/items/{key}", item),
            Route("/boom", boom, methods=["POST"]),
        ]
        return [Mount("/channels/demo", app=Router(routes=routes))]

    fast = WebhookFastPath(application, mounts())
    assert set(fast.direct) == {"/channels/demo/hook", "/channels/demo/boom"}
    routers = Router(routes=mounts(), default=application)  # what the fast path did before
    for asgi in (fast, routers):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://hub") as c:
            r = await c.post("/channels/demo/hook?a=1", content=b"payload")
            assert r.status_code == 201 and r.json() == {"ok": True}
            assert (await c.get("/channels/demo/hook")).status_code == 405
            assert (await c.get("/channels/demo/items/k7")).text == "k7"
            assert (await c.get("/channels/other/x")).text == "the application"
            with pytest.raises(RuntimeError, match="adapter's bug"):
                await c.post("/channels/demo/boom")
    direct, routed = seen
    assert direct == routed
    assert direct["url"] == "http://hub/channels/demo/hook?a=1" and direct["root_path"] == "/channels/demo"
