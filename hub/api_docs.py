"""The browsable API reference at /api/v1/docs: Swagger UI served by the hub itself.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline
script; the hub's Content-Security-Policy (``script-src 'self'``, see
hub/middleware.py) blocks both, so that page stayed blank. Here the page is a static
shell (agent_ui/static/api-docs.html) whose start-up code is a static file too
(api-docs.js), and Swagger UI's own files come from the ``swagger-ui-py`` package
(the files of the swagger-ui-dist release it names, unchanged), served from
/api/v1/docs/assets/. Nothing is loaded from elsewhere and the CSP needs no
exception. ReDoc is not offered (FastAPI's ReDoc page is CDN-only too).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from hub.api.errors import ApiError
from hub.pages import STATIC_DIR

DOCS_PATH = "/api/v1/docs"
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

    return router
