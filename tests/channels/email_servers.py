"""Real mail servers on 127.0.0.1 for the email-channel tests.

- :class:`Dovecot`: Debian's dovecot (``scripts/install-dovecot.sh``) started in the
  foreground with a generated config in a temp dir: passwd-file users, maildir under
  the temp dir, no TLS, a free port. One per test session (so one per xdist worker,
  each with its own temp dir, port and users); each test gets its own mailbox user,
  so tests never see each other's mail.
- :class:`SmtpSink`: an aiosmtpd server playing the customer's mail server. It records
  what it receives, can answer with scripted SMTP errors, and can run a responder (an
  autoresponder that mails back into the hub).
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.ports import unused_port

START_TIMEOUT = 20.0
START_ATTEMPTS = 3  # a new port each time, should something else have taken the last one
WAIT_SECONDS = 10.0
POOL = 200  # mailbox users per test session


# -- dovecot -------------------------------------------------------------------------
class Dovecot:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = "127.0.0.1"
        # dovecot binds it after we let go of it: a port no other xdist worker picks
        self.port = unused_port()
        self.greeting = f"switchboard-test {root.name} ready"
        self.passwd = root / "passwd"
        self._users: list[tuple[str, str]] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _config(self) -> str:
        root = self.root
        if os.geteuid() == 0:
            # As root, dovecot drops to its own users: mail is owned by "dovecot".
            users = (
                "default_login_user = dovenull\ndefault_internal_user = dovecot\n"
                "mail_uid = dovecot\nmail_gid = dovecot\n"
            )
        else:
            me = pwd.getpwuid(os.geteuid()).pw_name
            users = f"default_login_user = {me}\ndefault_internal_user = {me}\n"
        return f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = switchboard-test-{self.port}
# Says which dovecot answered: ours, not another session's that took the port.
login_greeting = {self.greeting}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
first_valid_uid = 0
first_valid_gid = 0
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
  # Mode 0 turns off the auth penalty (growing delays after failed logins from one
  # IP), which would slow the bad-credentials tests to seconds.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    def start(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not Path(binary).exists():
            pytest.exit("dovecot is required: run scripts/install-dovecot.sh (make test does)", returncode=3)
        (self.root / "mail").mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root / "mail", "dovecot", "dovecot")
        self._users = [(f"hub-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex) for _ in range(POOL)]
        self.passwd.write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self._users))
        conf = self.root / "dovecot.conf"
        for attempt in range(1, START_ATTEMPTS + 1):
            conf.write_text(self._config())
            self._log = open(self.root / "stdout.log", "ab")
            self.proc = subprocess.Popen(
                [binary, "-F", "-c", str(conf)],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            if self._wait_ready():
                return
            log = self._logs()
            self.stop()
            if attempt < START_ATTEMPTS and "in use" in log:  # port taken meanwhile: another one
                self.port = unused_port()
                continue
            pytest.exit(f"dovecot did not start on port {self.port}:\n{log[-2000:]}", returncode=3)

    def _logs(self) -> str:
        return "".join(
            (self.root / name).read_text(errors="replace")
            for name in ("dovecot.log", "stdout.log")
            if (self.root / name).exists()
        )

    def _wait_ready(self) -> bool:
        assert self.proc is not None
        for _ in range(int(START_TIMEOUT / 0.05)):
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=1) as s,
                s.makefile("rb") as f,
            ):
                line = f.readline(4096)
                if line.startswith(b"* OK") and self.greeting.encode() in line:
                    return True
            # Waiting on the process doubles as the pause between attempts and
            # notices at once if dovecot exited (bad config, port taken).
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.05)
                break
        return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- helpers for tests ---------------------------------------------------------------
    def add_user(self) -> tuple[str, str]:
        """A fresh, empty mailbox from the pool written at start.

        Users are not appended later: dovecot re-reads a changed passwd-file at most
        once a second, so a user added just now might not log in yet.
        """
        return self._users.pop()

    def _imap(self, user: str, password: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(user, password)
        return conn

    def append(self, user: str, password: str, *raws: bytes) -> None:
        """Deliver mail into INBOX the way an MTA's delivery agent would (blocking)."""
        conn = self._imap(user, password)
        try:
            for raw in raws:
                typ, data = conn.append("INBOX", None, None, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self, user: str, password: str) -> dict[int, str]:
        conn = self._imap(user, password)
        try:
            conn.select("INBOX", readonly=True)
            typ, data = conn.uid("FETCH", "1:*", "(FLAGS)")
            assert typ == "OK", data
        finally:
            conn.logout()
        out = {}
        for item in data:
            if isinstance(item, bytes) and b"UID" in item:
                text = item.decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                out[uid] = text
        return out


@contextlib.contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """A dovecot for a test session (use from a session-scoped fixture)."""
    # Not under pytest's tmp_path: dovecot's unprivileged processes must reach it.
    root = Path(tempfile.mkdtemp(prefix="sb-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- SMTP sink -----------------------------------------------------------------------
@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


Responder = Callable[[Received], Coroutine[Any, Any, None]]


@dataclass
class SmtpSink:
    """The customer's mail server: records mail; scripted replies for RCPT/DATA."""

    received: list[Received] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)  # next RCPT answers, in order
    data_replies: list[str] = field(default_factory=list)
    greet_never: bool = False  # accept the connection, never say hello (timeouts)
    responder: Responder | None = None
    port: int = 0
    _server: asyncio.Server | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _transports: list[Any] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        got = Received(envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b"")
        async with self._changed:
            self.received.append(got)
            self._changed.notify_all()
        if self.responder is not None:
            # Answer after the 250, like a real autoresponder queueing its reply.
            task = asyncio.create_task(self.responder(got))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return "250 2.0.0 queued"

    def _protocol(self) -> asyncio.Protocol:
        if self.greet_never:
            return _Silent(self._transports)
        smtp = SMTP(self, hostname="mx.customer.test", loop=asyncio.get_running_loop())
        self._transports.append(smtp)
        return smtp

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            self._server.close()
            for proto in self._transports:
                transport = getattr(proto, "transport", None)
                if transport is not None:
                    transport.close()
            await self._server.wait_closed()

    async def wait_for(self, count: int) -> list[Received]:
        """Wait (bounded) until ``count`` mails have arrived."""
        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)
        return self.received

    async def settle(self) -> None:
        """Wait until every responder task has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class _Silent(asyncio.Protocol):
    """Accepts a TCP connection and says nothing: an SMTP server that hangs."""

    def __init__(self, registry: list[Any]) -> None:
        self.transport: asyncio.BaseTransport | None = None
        registry.append(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport


@contextlib.asynccontextmanager
async def running_sink() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()
