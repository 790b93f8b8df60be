"""Where the hub keeps files it stores (attachments), for serving and for erasure."""

from __future__ import annotations

from pathlib import Path

from hub.context import Hub


def attachment_roots(hub: Hub) -> list[Path]:
    """Directories attachments may be served from: the default one and any a channel sets."""
    roots = [Path(hub.settings.data_dir) / "attachments"]
    for section in hub.settings.channels.values():
        configured = section.get("attachments_dir") if isinstance(section, dict) else None
        if isinstance(configured, str) and configured:
            roots.append(Path(configured))
    return [r.resolve() for r in roots]
