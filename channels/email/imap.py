"""The IMAP poller: fetch new mail by UID, hand each to the inbound path, remember it.

Uses aioimaplib (asyncio) so polling shares the hub's loop instead of parking a thread
per mailbox. Restart safety comes from the UID state file: for each mailbox the
folder's UIDVALIDITY and the last UID whose mail is committed. A UID is recorded only
after its mail went through ``ingest`` (durable), so a crash in between re-reads that
one mail, and ``ingest`` drops it as a duplicate by Message-ID: nothing is lost and
nothing shows twice. A changed UIDVALIDITY (the server renumbered the folder) re-reads
the folder, again relying on that dedupe.

IDLE is used when the server offers it (new mail in about a second); otherwise, or when
``imap_idle = false``, the folder is polled every ``imap_poll_seconds``. Connection
failures reconnect with exponential backoff and jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioimaplib

from channels.email.config import ImapConfig
from hub.services.errors import ServiceError

log = logging.getLogger(__name__)

Deliver = Callable[[bytes], Awaitable[object]]
MAX_IDLE_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
BACKOFF_BASE, BACKOFF_CAP = 1.0, 300.0
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.I)
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]", re.I)


class ImapError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class UidState:
    uidvalidity: int
    last_uid: int


class UidStateFile:
    """The last committed UID per mailbox, in a small JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_mailbox(cls, state_dir: Path, cfg: ImapConfig) -> UidStateFile:
        key = hashlib.sha256(f"{cfg.host}:{cfg.port}:{cfg.username}:{cfg.folder}".encode()).hexdigest()[:16]
        return cls(state_dir / f"imap-{key}.json")

    def load(self) -> UidState | None:
        try:
            data = json.loads(self.path.read_text())
            return UidState(int(data["uidvalidity"]), int(data["last_uid"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError) as exc:
            log.warning("unreadable IMAP state %s (%s); re-reading unseen mail", self.path, exc)
            return None

    def save(self, state: UidState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"uidvalidity": state.uidvalidity, "last_uid": state.last_uid}))
        tmp.replace(self.path)


def _check(response: Any, what: str) -> Any:
    if response.result != "OK":
        detail = b" ".join(bytes(x) for x in response.lines if isinstance(x, bytes | bytearray))
        raise ImapError(f"IMAP {what} failed: {response.result} {detail.decode('utf-8', 'replace')[:300]}")
    return response


def _number(pattern: re.Pattern[bytes], lines: list[Any]) -> int | None:
    for line in lines:
        if isinstance(line, bytes | bytearray) and (m := pattern.search(bytes(line))):
            return int(m.group(1))
    return None


def _uids(lines: list[Any]) -> list[int]:
    out: list[int] = []
    for line in lines[:-1]:  # the last line is the tagged completion text
        tokens = bytes(line).split() if isinstance(line, bytes | bytearray) else []
        # Only the SEARCH result itself: an unsolicited "3 EXISTS" is not a UID.
        if tokens and all(tok.isdigit() for tok in tokens):
            out.extend(int(tok) for tok in tokens)
    return sorted(set(out))


def _literal(lines: list[Any]) -> bytes | None:
    for line in lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


class ImapPoller:
    def __init__(
        self, cfg: ImapConfig, deliver: Deliver, state: UidStateFile, *, rng: random.Random | None = None
    ) -> None:
        self.cfg = cfg
        self.deliver = deliver
        self.state = state
        self.rng = rng or random.Random()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: aioimaplib.IMAP4 | None = None
        self._passes = asyncio.Condition()
        self.passes = 0  # completed sync passes, for tests and health
        self.last_uid = 0  # the last UID whose mail is committed
        self.failures = 0  # consecutive failed sessions
        self.idling = asyncio.Event()  # set while an IDLE is waiting for the server
        self.last_error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"imap-poller:{self.cfg.host}")

    async def stop(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None and client.has_pending_idle():
            with contextlib.suppress(Exception):
                await client.stop_wait_server_push()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            except TimeoutError:
                log.warning("IMAP poller did not stop within 5s; cancelling it")
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
            self._task = None

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate`` holds after a sync pass or a failure (tests, health).

        Wrap in ``asyncio.timeout``: this waits for the server, which may never answer.
        """
        async with self._passes:
            await self._passes.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._passes:
            self._passes.notify_all()

    # -- the loop ----------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                await self._notify()
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (self.failures - 1))
                delay = delay / 2 + self.rng.random() * delay / 2
                log.warning("IMAP %s: %s; reconnecting in %.1fs", self.cfg.host, self.last_error, delay)
                await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _connect(self) -> aioimaplib.IMAP4:
        timeout = 30.0
        if self.cfg.security == "tls":
            client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
                host=self.cfg.host,
                port=self.cfg.port,
                timeout=timeout,
                ssl_context=ssl.create_default_context(),
            )
        else:
            client = aioimaplib.IMAP4(host=self.cfg.host, port=self.cfg.port, timeout=timeout)
        self._client = client
        await client.wait_hello_from_server()
        _check(await client.login(self.cfg.username, self.cfg.password), "LOGIN")
        return client

    async def _session(self) -> None:
        try:
            client = await self._connect()
            selected = _check(await client.select(self.cfg.folder), f"SELECT {self.cfg.folder}")
            uidvalidity = _number(_UIDVALIDITY, selected.lines)
            if uidvalidity is None:
                raise ImapError("the server sent no UIDVALIDITY")
            uidnext = _number(_UIDNEXT, selected.lines)
            use_idle = self.cfg.idle and client.has_capability("IDLE")
            while not self._stop.is_set():
                fetched = await self._sync(client, uidvalidity, uidnext)
                uidnext = None
                # Mail that arrived while we fetched was announced (EXISTS) in the
                # responses to our FETCHes, so IDLE would not announce it again:
                # search until a pass finds nothing new.
                while fetched and not self._stop.is_set():
                    fetched = await self._sync(client, uidvalidity, None)
                self.last_error, self.failures = None, 0
                self.passes += 1
                await self._notify()
                if use_idle:
                    await self._idle(client)
                else:
                    await self._sleep(self.cfg.poll_seconds)
        finally:
            self.idling.clear()
            # self._client, not a local: a failed LOGIN or a cancel mid-connect still
            # leaves a socket to close.
            if self._client is not None:
                _close(self._client)
                self._client = None

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        idle = await client.idle_start(timeout=min(self.cfg.poll_seconds, MAX_IDLE_SECONDS))
        self.idling.set()
        try:
            if not self._stop.is_set():
                await client.wait_server_push(timeout=MAX_IDLE_SECONDS + 60)
        finally:
            self.idling.clear()
        client.idle_done()
        await asyncio.wait_for(idle, 30)

    async def _sync(self, client: aioimaplib.IMAP4, uidvalidity: int, uidnext: int | None) -> int:
        """Fetch and hand over every mail after the last recorded UID; returns how many."""
        saved = self.state.load()
        if saved is None:
            # First run on this mailbox: take what is unread, not years of history.
            criteria, last = "UNSEEN", 0
        elif saved.uidvalidity != uidvalidity:
            log.warning("IMAP folder %s was renumbered (UIDVALIDITY changed); re-reading it", self.cfg.folder)
            criteria, last = "ALL", 0
        else:
            criteria, last = f"UID {saved.last_uid + 1}:*", saved.last_uid
        found = _check(await client.uid_search(criteria, charset=None), "UID SEARCH")
        # "n:*" always matches the highest UID, even below n: filter.
        fresh = [u for u in _uids(found.lines) if u > last]
        for uid in fresh:
            if self._stop.is_set():
                return 0
            await self._one(client, uid)
            last = self.last_uid = uid
            self.state.save(UidState(uidvalidity, last))
        if saved is None or saved.uidvalidity != uidvalidity:
            # Remember where the folder stands even when nothing was unread.
            top = (uidnext - 1) if uidnext else last
            self.state.save(UidState(uidvalidity, max(last, top)))
            last = max(last, top)
        self.last_uid = last
        return len(fresh)

    async def _one(self, client: aioimaplib.IMAP4, uid: int) -> None:
        fetched = _check(await client.uid("fetch", str(uid), "(BODY.PEEK[])"), f"UID FETCH {uid}")
        raw = _literal(fetched.lines)
        if raw is None:
            log.info("IMAP UID %s vanished before it was fetched", uid)
            return
        try:
            await self.deliver(raw)
        except ServiceError as exc:
            # The core refused this mail for good (not a transient failure): retrying
            # would block the mailbox. It stays in the folder for a human to look at.
            log.error("IMAP UID %s could not be ingested: %s; skipped", uid, exc)
        if self.cfg.mark_seen:
            _check(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Seen)"), f"UID STORE {uid}")


def _close(client: aioimaplib.IMAP4) -> None:
    """Drop the connection without a LOGOUT round trip (we may be shutting down)."""
    transport = client.protocol.transport if client.protocol is not None else None
    if transport is not None:
        transport.close()
    for task in list(client.tasks):
        task.cancel()
