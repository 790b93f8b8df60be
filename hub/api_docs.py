"""The browsable API reference at /api/v1/docs: Swagger UI served by the hub itself.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline
script; the hub's Content-Security-Policy (``script-src 'self'``, see
hub/middleware.py) blocks both, so that page stayed blank. Here the page is a static
shell (agent_ui/static/api-docs.html) whose start-up code is a static file too
(api-docs.js), and Swagger UI's own files come from the ``swagger-ui-py`` package
(the files of the swagger-ui-dist release it names, unchanged), served from
/api/v1/docs/assets/. Nothing is loaded from elsewhere and the CSP needs no
exception. ReDoc is not offered (FastAPI's ReDoc page is CDN-only too).

The schema itself (/api/v1/openapi.json) is served here too instead of by FastAPI's
own route: building it walks every route's models through pydantic, about a second
of CPU for the hub's ~150 paths, and FastAPI's route does that on the event loop,
stalling every socket and webhook of the process while the first reader waits. Here
it is built once, in a worker thread, and concurrent first readers share that one
build; the encoded body is kept for the process's later readers.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response

from hub import jsoncodec
from hub.api.errors import ApiError
from hub.pages import STATIC_DIR

DOCS_PATH = "/api/v1/docs"
OPENAPI_PATH = "/api/v1/openapi.json"
# The only files of the package the page needs (no source maps, no editor).
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


def swagger_ui_dir() -> Path:
    """swagger-ui-py's static folder, found without importing the package (its
    __init__ pulls in web-framework glue the hub does not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def api_docs_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    assets = swagger_ui_dir()

    @router.get(DOCS_PATH)
    async def api_docs() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "api-docs.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    @router.get(DOCS_PATH + "/assets/{name}")
    async def api_docs_asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise ApiError(404, "not_found", f"no API docs asset named {name!r}")
        # no-cache: revalidated (ETag) so a package upgrade shows at once.
        return FileResponse(assets / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    @router.get(OPENAPI_PATH)
    async def openapi_schema(request: Request) -> Response:
        return Response(await openapi_body(request.app), media_type="application/json")

    return router


async def openapi_body(app: FastAPI) -> bytes:
    """The app's OpenAPI schema as JSON, built off the event loop once per app."""
    body: bytes | None = getattr(app.state, "openapi_body", None)
    if body is not None:
        return body
    lock: asyncio.Lock | None = getattr(app.state, "openapi_lock", None)
    if lock is None:
        lock = app.state.openapi_lock = asyncio.Lock()
    async with lock:
        body = getattr(app.state, "openapi_body", None)
        if body is None:
            body = await asyncio.to_thread(_encode, app)
            app.state.openapi_body = body
    return body


def _encode(app: FastAPI) -> bytes:
    return jsoncodec.dumps(app.openapi()).encode()
