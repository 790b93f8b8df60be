"""HTML pages served by the hub (static files; no inline scripts)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from hub.api.deps import principal_from_request

STATIC_DIR = Path(__file__).resolve().parent.parent / "agent_ui" / "static"


def static_app() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def index(request: Request) -> Response:
        principal = await principal_from_request(request.app.state.hub, request)
        return RedirectResponse("/console" if principal else "/login", status_code=303)

    @router.get("/login")
    async def login_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "login.html", media_type="text/html")

    @router.get("/console")
    async def console_page(request: Request) -> Response:
        principal = await principal_from_request(request.app.state.hub, request)
        if principal is None:
            return RedirectResponse("/login", status_code=303)
        return FileResponse(STATIC_DIR / "console.html", media_type="text/html")

    return router
