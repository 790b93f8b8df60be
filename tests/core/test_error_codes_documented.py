"""The documented error codes and the codes the code can send are the same set.

Codes are read from the source the way they are written there: ``code="…"`` on service
errors, the class defaults, ``ApiError(status, "…")`` and the adapters' error helpers,
and ``"code": "…"`` in socket frames. A code the hub can send must appear in
docs/protocol.md (or, for a channel adapter, in docs/protocol.md or that channel's
doc); a code in the protocol's error table must still be sent by something.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = [
    re.compile(r'\bcode\s*=\s*"([a-z][a-z0-9_]*)"'),
    re.compile(r'\b[A-Za-z_]*(?:Error|_error)\(\s*\d{3},\s*"([a-z][a-z0-9_]*)"'),
    re.compile(r'"code":\s*"([a-z][a-z0-9_]*)"'),
    re.compile(r'\berror_body\(\s*"([a-z][a-z0-9_]*)"'),
    re.compile(r'^\s+\d{3}: "([a-z][a-z0-9_]*)",$', re.MULTILINE),  # status → default code maps
]
BACKTICKED = re.compile(r"`([a-z][a-z0-9_]*)`")


def raised(where: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in where.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in PATTERNS:
            for code in pattern.findall(text):
                found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return found


def documented(*docs: Path) -> set[str]:
    out: set[str] = set()
    for doc in docs:
        out |= set(BACKTICKED.findall(doc.read_text(encoding="utf-8")))
    return out


def error_table(doc: Path) -> set[str]:
    """Codes in the status → codes table of the "Errors" section."""
    text = doc.read_text(encoding="utf-8")
    section = text.split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"^\| \d{3} \|", line)]
    return {code for row in rows for code in BACKTICKED.findall(row)}


def test_every_code_the_hub_sends_is_documented() -> None:
    protocol = ROOT / "docs" / "protocol.md"
    core = raised(ROOT / "hub") | raised(ROOT / "agent_ui")
    missing = {c: sorted(p) for c, p in core.items() if c not in documented(protocol)}
    assert not missing, f"codes sent but not in docs/protocol.md: {missing}"
    for channel in sorted(p for p in (ROOT / "channels").iterdir() if p.is_dir() and p.name != "__pycache__"):
        doc = ROOT / "docs" / "channels" / f"{channel.name}.md"
        docs = (protocol, doc) if doc.exists() else (protocol,)
        codes = raised(channel)
        missing = {c: sorted(p) for c, p in codes.items() if c not in documented(*docs)}
        assert not missing, f"{channel.name}: codes sent but not documented: {missing}"
    for path in sorted((ROOT / "channels").glob("*.py")):  # loopback and shared helpers
        text = path.read_text(encoding="utf-8")
        codes = {c for pattern in PATTERNS for c in pattern.findall(text)}
        assert codes <= documented(protocol), (
            f"{path.name}: not in docs/protocol.md: {codes - documented(protocol)}"
        )


def test_every_documented_code_is_still_sent() -> None:
    sent = set(raised(ROOT / "hub")) | set(raised(ROOT / "agent_ui")) | set(raised(ROOT / "channels"))
    for path in (ROOT / "channels").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in PATTERNS:
            sent |= set(pattern.findall(text))
    stale = error_table(ROOT / "docs" / "protocol.md") - sent
    assert not stale, f"documented in docs/protocol.md but sent by nothing: {sorted(stale)}"
