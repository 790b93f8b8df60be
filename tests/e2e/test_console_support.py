"""Helpers for the console end-to-end tests: sign a person in (one browser context
each), and watch a page for CSP violations, script errors and dialogs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.helpers import PASSWORD

# Runs before the page's own scripts (Playwright injects it; CSP does not apply):
# records CSP violations, and keeps a handle on the page's websockets so a test can
# drop them like a network blip would.
INIT_SCRIPT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
window.__sockets = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""


@dataclass
class Watch:
    """What went wrong on a page, for assertions at the end of a test."""

    console_errors: list[str] = field(default_factory=list)
    missing_strings: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]


async def open_page(
    browser: Any, live: Any, email: str, path: str, *, viewport: Any = None
) -> tuple[Any, Watch]:
    """A new browser context (= a person), signed in through the login page."""
    context = await browser.new_context(viewport=viewport or {"width": 1400, "height": 900})
    await context.add_init_script(INIT_SCRIPT)
    page = await context.new_page()
    watch = Watch()

    def on_console(m: Any) -> None:
        if m.type == "error":
            watch.console_errors.append(m.text)
        elif m.text.startswith("i18n: missing"):
            watch.missing_strings.append(m.text)

    page.on("console", on_console)
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))

    async def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(f"{live.base}{path}")
    await page.wait_for_url(lambda url: "/login?next=" in url)
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(lambda url: url.endswith(path))
    return page, watch


async def assert_clean(page: Any, watch: Watch) -> None:
    """No CSP violation, no uncaught script error, no alert() anywhere."""
    violations = await page.evaluate("window.__csp")
    assert violations == [], violations
    assert watch.csp_violations() == [], watch.csp_violations()
    assert watch.page_errors == [], watch.page_errors
    assert watch.dialogs == [], watch.dialogs
    assert watch.missing_strings == [], watch.missing_strings
