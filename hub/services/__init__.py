"""Every state change goes through a function in this package.

Each one authorizes the actor, writes inside one transaction together with its
event-log rows, and publishes the events on the bus only after the commit.
"""

from hub.services.access import SYSTEM, Actor
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError

__all__ = ["SYSTEM", "Actor", "Conflict", "Forbidden", "Invalid", "NotFound", "ServiceError"]
