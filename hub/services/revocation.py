"""Tell every hub process that a user's rights changed, so open sockets follow.

Services call :func:`publish_access_change` *after* the change is committed (sign-out,
password change, session or token revocation). Role, team and active changes already
emit ``user.updated`` from their unit of work; the console gateway treats both the
same way: it re-validates the credential of each of that user's sockets against the
database, closes those whose credential is gone (close code 4401), and recomputes
the subscriptions of the rest (teams, role, watched conversations).

The signal is ephemeral (id 0, not in the event log): it carries no customer data
and a socket that misses it (another process restarting) re-authenticates anyway.
"""

from __future__ import annotations

import logging

from hub.context import Hub
from hub.events import Event

log = logging.getLogger(__name__)

ACCESS_CHANGED = "user.access_changed"


async def publish_access_change(hub: Hub, user_id: int, reason: str) -> None:
    """``reason``: ``signed_out``, ``password_changed``, ``sessions_revoked``,
    ``token_revoked``, ``deactivated``, ``role_changed``, ``teams_changed``."""
    event = Event(id=0, type=ACCESS_CHANGED, user_id=user_id, payload={"user_id": user_id, "reason": reason})
    try:
        await hub.bus.publish([event])
    except Exception:  # the change is committed; sockets re-check on their next command
        log.exception("could not publish %s", ACCESS_CHANGED, extra={"user_id": user_id})
