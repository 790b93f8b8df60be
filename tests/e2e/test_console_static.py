"""Static guarantees of the staff UI that need no browser: no HTML sinks in the
scripts, no inline script or style in the pages, every string in both languages
(including every status, presence, role, category and channel the backend knows),
signed-in pages behind a redirect, and the CSP header on them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from channels.registry import CHANNEL_TYPES
from hub.crm.fields import FIELD_TYPES
from hub.models import Category, ConversationStatus, DeliveryStatus, Presence, Role
from routing.hours import DAYS
from routing.model import STRATEGIES
from tests.helpers import login, user

STATIC = Path(__file__).resolve().parents[2] / "agent_ui" / "static"


def ui_files(suffix: str) -> list[Path]:
    # The customer widget (static/widget/) is a separate app with its own tests.
    return sorted(p for p in STATIC.rglob(f"*{suffix}") if "widget" not in p.relative_to(STATIC).parts)


def string_files() -> list[Path]:
    """i18n.js and the per-area string modules it merges (static/strings/*.js)."""
    return [STATIC / "i18n.js", *sorted((STATIC / "strings").glob("*.js"))]


def file_strings(path: Path) -> dict[str, list[str]]:
    source = path.read_text(encoding="utf-8")
    en_part, ar_part = source.split("\n  ar: {", 1)
    ar_part = ar_part.split("\n};", 1)[0]
    key = re.compile(r"(\w+): \"")
    return {"en": key.findall(en_part.split("\n  en: {", 1)[1]), "ar": key.findall(ar_part)}


def strings() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"en": set(), "ar": set()}
    for path in string_files():
        for lang, keys in file_strings(path).items():
            out[lang] |= set(keys)
    return out


def test_each_string_is_defined_once() -> None:
    seen: dict[str, str] = {}
    clashes = []
    for path in string_files():
        for key in file_strings(path)["en"]:
            if key in seen:
                clashes.append(f"{key}: {seen[key]} and {path.name}")
            seen[key] = path.name
    assert clashes == []
    assert len(seen) > 500  # the scan did read the strings


def test_scripts_never_turn_data_into_html() -> None:
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc")
    offenders = [
        f"{p.relative_to(STATIC)}:{n}: {line.strip()}"
        for p in ui_files(".js")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if sinks.search(line)
    ]
    assert offenders == []
    assert len(ui_files(".js")) >= 20  # the scan did look at the UI


def test_pages_have_no_inline_script_or_style() -> None:
    for page in ui_files(".html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page.name
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html), page.name


def test_every_string_exists_in_english_and_arabic() -> None:
    keys = strings()
    assert keys["en"] == keys["ar"], {
        "missing in ar": keys["en"] - keys["ar"],
        "missing in en": keys["ar"] - keys["en"],
    }
    used: set[str] = set()
    for p in ui_files(".js"):
        if p.name == "i18n.js" or p.parent.name == "strings":
            continue
        text = p.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\"(\w+)\"", text))
        used |= set(re.findall(r"(?:label|key): \"(\w+)\"", text))
        used |= set(re.findall(r"\bth\(\"(\w+)\"\)", text))  # supervisor table headers
        for names in re.findall(r"\[((?:\"\w*\",? ?)+)\]\.map\(\(k\)", text):  # admin table headers
            used |= {n for n in re.findall(r"\"(\w+)\"", names)}
    for p in ui_files(".html"):
        used |= set(re.findall(r"data-i18n(?:-[a-z-]+)?=\"(\w+)\"", p.read_text(encoding="utf-8")))
    # Keys built from backend values: every value the hub can send has a label.
    families = {
        "status": [s.value for s in ConversationStatus],
        "presence": [p.value for p in Presence],
        "role": [r.value for r in Role],
        "cat": [c.value for c in Category],
        "delivery": [d.value for d in DeliveryStatus],
        "strategy": sorted(STRATEGIES),
        "day": list(DAYS),
        "ch": list(CHANNEL_TYPES),
        "tab": ["mine", "queue", "closed"],
        "empty": ["mine", "queue", "closed"],
        "snooze": ["1h", "4h", "24h", "week"],
        "conn": ["open", "connecting", "reconnecting", "refused", "offline"],
        "ftype": list(FIELD_TYPES),
        "dup": ["same_email", "same_phone", "same_name"],
    }
    used |= {f"{prefix}_{value}" for prefix, values in families.items() for value in values}
    assert used - keys["en"] == set()


async def test_staff_pages_need_a_session_and_send_the_csp(app: Any) -> None:
    for path in ("/console", "/contacts", "/supervisor", "/admin"):
        r = await app.client.get(path)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2F{path[1:]}"
    await user(app.hub, "ana@example.com")
    await login(app.client, "ana@example.com")
    for path in ("/console", "/contacts", "/supervisor", "/admin", "/login"):
        r = await app.client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    for asset in ("console.js", "console/thread.js", "i18n.js", "base.css"):
        assert (await app.client.get(f"/static/{asset}")).status_code == 200
