"""Ports for servers that another process binds later (a ``switchboard serve``
subprocess, dovecot), safe with pytest-xdist workers running side by side.

Binding port 0 and closing the socket again leaves a window, until the other process
binds, in which anything else may take the port: another xdist worker's own port-0
servers and every outgoing connection on the machine draw from the kernel's ephemeral
range. So these ports come from below that range, which the kernel never hands out by
itself, and each worker of a run draws from its own residue class (port % workers),
so two workers never pick the same port. The bind check skips ports that something
else on the machine already holds. In-process servers need none of this: they bind
port 0 and keep the socket.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

LOW = 10_000  # above the well-known service ports the tests use (5432, 6379, 8000)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _worker() -> tuple[int, int]:
    """(this worker's index, number of workers); (0, 1) without xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0
    return index % max(count, 1), max(count, 1)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def unused_port() -> int:
    """A 127.0.0.1 port that nothing holds now and that no other worker will pick."""
    index, count = _worker()
    high = _ephemeral_low()
    if high - LOW < 100 * count:  # an unusual ephemeral range: fall back to the kernel's pick
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    first = LOW + (index - LOW) % count  # the lowest port >= LOW with port % count == index
    candidates = range(first, high, count)
    pick = random.SystemRandom()  # not the seedable global: two test runs must not pick alike
    for _ in range(200):
        port = pick.choice(candidates)
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {LOW}..{high} for worker {index} of {count}")
