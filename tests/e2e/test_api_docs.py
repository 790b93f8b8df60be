"""/api/v1/docs: Swagger UI served by the hub itself renders the API under the hub's
own Content-Security-Policy — no CDN, no inline script, no violation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from hub.middleware import CSP
from tests.browser_support import chromium
from tests.e2e.test_console_support import INIT_SCRIPT

expect.set_options(timeout=15_000)


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.mark.browser
async def test_api_docs_render_with_no_csp_violation(live: Any) -> None:
    """On a desktop, then the same page narrowed to a phone's width: rendering the
    whole API twice from scratch cost the suite ~25 s of CPU and checked nothing more."""
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1440, "height": 900})
        await context.add_init_script(INIT_SCRIPT)  # records securitypolicyviolation events
        page = await context.new_page()
        console_errors: list[str] = []
        page_errors: list[str] = []
        requested: list[str] = []
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.on("pageerror", lambda e: page_errors.append(str(e)))
        page.on("request", lambda r: requested.append(r.url))

        response = await page.goto(f"{live.base}/api/v1/docs")
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"] == CSP

        await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Switchboard")
        operations = page.locator(".swagger-ui .opblock")
        await expect(operations.first).to_be_visible()
        assert await operations.count() >= 20
        listing = page.locator(".opblock-get .opblock-summary-path[data-path='/api/v1/conversations']")
        await expect(listing).to_be_visible()
        # An operation opens and shows its parameters and the documented error body.
        await listing.click()
        opened = page.locator(".opblock.is-open")
        await expect(opened.locator(".parameters-container")).to_contain_text("status")
        await expect(opened.locator(".responses-wrapper")).to_contain_text(
            "code validation_error names the fields"
        )
        await expect(page.locator(".swagger-ui .models")).to_be_visible()
        # Like every page: no sideways scroll, on a phone either.
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await page.set_viewport_size({"width": 390, "height": 844})
        await expect(opened.locator(".responses-wrapper")).to_be_visible()
        assert await page.evaluate("window.innerWidth") == 390
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await listing.click()  # closes it again, at the phone's width
        await expect(page.locator(".opblock.is-open")).to_have_count(0)

        assert await page.evaluate("window.__csp") == []
        assert [e for e in console_errors if "Content Security Policy" in e] == []
        assert console_errors == [] and page_errors == []
        # Everything the page loaded came from the hub.
        assert requested and all(url.startswith(live.base + "/") for url in requested), requested
        await context.close()


async def test_only_the_docs_assets_are_served_and_redoc_is_off(live: Any) -> None:
    import httpx

    # A functional check, not a timing one: the first schema read builds it (about a
    # second of CPU here, several on a loaded CI machine; httpx's default is 5 s).
    async with httpx.AsyncClient(base_url=live.base, timeout=60) as c:
        page = await c.get("/api/v1/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        # Scripts and styles are files of the hub: no inline script, nothing from elsewhere.
        scripts = re.findall(r"<script\b[^>]*>", page.text)
        assert scripts and all(re.search(r'\ssrc="/[^/]', tag) for tag in scripts), scripts
        assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text)
        js = await c.get("/api/v1/docs/assets/swagger-ui-bundle.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert "SwaggerUIBundle" in js.text[:2000]
        css = await c.get("/api/v1/docs/assets/swagger-ui.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        for path in (
            "/api/v1/docs/assets/swagger-ui-bundle.js.map",
            "/api/v1/docs/assets/index.html",
            "/api/v1/docs/assets/..%2F__init__.py",
            "/api/v1/docs/oauth2-redirect",
            "/api/v1/redoc",
            "/docs",
            "/redoc",
        ):
            r = await c.get(path)
            assert r.status_code == 404, path
        assert (await c.get("/api/v1/openapi.json")).json()["info"]["title"] == "Switchboard"
