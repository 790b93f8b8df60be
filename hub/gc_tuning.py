"""The garbage collector's settings for a serving hub process (``switchboard serve``).

CPython 3.11 runs its youngest collection every 700 net allocations and a full one
whenever enough objects have been promoted. Under load the hub allocates a few hundred
objects per message, and many live a few milliseconds — a batch waiting for its commit,
frames queued for a socket — which is long enough to survive two young collections and
be promoted. The full collections then walk every live object: measured with 1,000
agent sockets (about 490,000 objects, two thirds of them the loaded application), 18
full collections in 30 s of load at ~220 ms each — 14 % of a core, and 220 ms pauses
that were most of the p99 (docs/architecture.md, "Performance").

So, once the application is built:

* ``gc.freeze()`` moves everything alive then (modules, routes, mappers, schemas: ~315,000
  objects) to a permanent generation that no collection walks again;
* the youngest generation holds 50,000 objects before it is collected, so a message's
  short-lived objects are freed by reference counting before any collection sees them,
  and the older generations are collected after 20 younger collections each.

Reference counting frees almost everything; the collector is only for cycles, and the
cost of the larger threshold is at most that many objects in cycles waiting a little
longer (a few MB). Tests do not call this: freezing each test's application would keep
it alive for the rest of the run.
"""

from __future__ import annotations

import gc

SERVING_THRESHOLD = (50_000, 20, 20)


def tune_for_serving() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLD)
