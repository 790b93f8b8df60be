"""Shared by the end-to-end bench's processes: message markers, /proc readings, percentiles.

Kept to the standard library: the load generator and the agent receivers import it, and
they must stay lean (no framework imports in the measuring processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import socket
from collections.abc import Sequence
from typing import Any

# A customer message body is  "sbb|<tag>|<seq:09d>|<scheduled monotonic ns:020d>| text";
# an agent reply body is      "sbr|<tag>|<seq:09d>|<scheduled monotonic ns:020d>| text".
# time.monotonic_ns() is CLOCK_MONOTONIC, one clock for every process on a Linux host,
# so the receiving process subtracts the sender's timestamp directly.
INBOUND_MARK = b"sbb|"
REPLY_MARK = b"sbr|"
SEQ_WIDTH = 9
TS_WIDTH = 20
TAG_WIDTH = 3


def parse_marked(frame: bytes, mark: bytes) -> tuple[str, int, int] | None:
    """(tag, seq, scheduled ns) of the first marked body in ``frame``, or None."""
    i = frame.find(mark)
    if i < 0:
        return None
    i += len(mark)
    try:
        tag = frame[i : i + TAG_WIDTH].decode()
        i += TAG_WIDTH + 1
        seq = int(frame[i : i + SEQ_WIDTH])
        i += SEQ_WIDTH + 1
        ts = int(frame[i : i + TS_WIDTH])
    except ValueError:
        return None
    return tag, seq, ts


def customer_senders(agents: int) -> list[str]:
    """Two customers per agent; customer ``2*i + k`` writes to agent ``i``."""
    return [f"bench-cust-{i}-{k}" for i in range(agents) for k in range(2)]


def use_uvloop() -> str:
    """Install uvloop's policy when available (the servers under test use it too)."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def raise_fd_limit(want: int = 65_536) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, want)), hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- small local files (results pass between processes through them) -------------------------


def write_json(path: str | os.PathLike[str], value: object) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f)


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def remove(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# -- /proc ---------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid`` (0.0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1])
    return 0


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores since boot."""
    with open("/proc/stat", "rb") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return total - idle, total


# -- statistics ----------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence; inf entries stay inf."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(len(sorted_values), rank) - 1]
