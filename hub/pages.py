"""HTML pages served by the hub (static files; no inline scripts).

Pages need a signed-in user and otherwise redirect to /login (which brings the user
back afterwards). Role checks happen in the API: a page is only a shell.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from hub.api.deps import principal_from_request

STATIC_DIR = Path(__file__).resolve().parent.parent / "agent_ui" / "static"

# path -> file of the signed-in pages
STAFF_PAGES = {
    "/console": "console.html",
    "/contacts": "contacts.html",
    "/complaints": "complaints.html",
    "/supervisor": "supervisor.html",
    "/reports": "reports.html",
    "/campaigns": "campaigns.html",
    "/wallboard": "wallboard.html",
    "/planning": "planning.html",
    "/admin": "admin.html",
    "/password": "password.html",
    "/profile": "profile.html",
}
# Public pages besides /login: asking for a reset link, and using it.
PUBLIC_PAGES = {"/forgot-password": "reset.html", "/reset-password": "reset.html"}


def static_app() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def _staff_page(path: str, filename: str) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        principal = await principal_from_request(request.app.state.hub, request)
        if principal is None:
            return RedirectResponse(f"/login?next={quote(path, safe='')}", status_code=303)
        # no-cache: a deploy must not leave an old shell pointing at new modules.
        return FileResponse(
            STATIC_DIR / filename, media_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    page.__name__ = f"{filename.split('.')[0]}_page"
    return page


def _public_page(filename: str) -> Callable[[], Awaitable[Response]]:
    async def page() -> Response:
        return FileResponse(
            STATIC_DIR / filename, media_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    return page


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def index(request: Request) -> Response:
        principal = await principal_from_request(request.app.state.hub, request)
        return RedirectResponse("/console" if principal else "/login", status_code=303)

    @router.get("/login")
    async def login_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "login.html", media_type="text/html")

    for path, filename in STAFF_PAGES.items():
        router.add_api_route(path, _staff_page(path, filename), methods=["GET"])
    for path, filename in PUBLIC_PAGES.items():
        router.add_api_route(path, _public_page(filename), methods=["GET"], name=path.strip("/"))

    return router
