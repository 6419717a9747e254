"""What stands in front of the desk's pages: the Host allowlist, the request-size limit, sign-in throttling
and the answer to a database that is busy.

Sign-in throttling keeps its counters in the case database (table ``sign_in_throttle``), so that every
process of ``vericount serve --workers N`` sees the same ones. Each failed sign-in counts against the name
tried and against the client address. From the ``USER_FREE``-th consecutive failure of a name, and the
``ADDRESS_FREE``-th of an address, each failure locks that name or address out for ``LOCK_BASE_S`` seconds,
doubled with every further failure up to ``LOCK_MAX_S``. While locked, every attempt is refused with 429 and
a Retry-After, the right password too, without checking it. A success clears its name's counter; counters
are forgotten a day after their last failure. Failures by names that are no account never write an event
of their own into the custody log: one ``desk.sign_in_throttled`` event is written each time an address
(or a real account) is locked out, with the number of failures.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vericount.case import Case
from vericount.desk import users
from vericount.errors import InvalidValue
from vericount.store.schema import SignInThrottle, utcnow

USER_FREE = 5  # consecutive failures of one name before it is locked out
ADDRESS_FREE = 20  # failures from one client address (all names together) before it is locked out
LOCK_BASE_S = 30  # the first lock-out; each further failure doubles it
LOCK_MAX_S = 3600
FORGET = timedelta(days=1)  # a counter with no failure for this long is dropped
PASSWORD_CHECKS = 4  # scrypt checks at once per process (32 MiB each); the rest wait
PASSWORD_WAIT_S = 5.0
BODY_LIMIT = 1 << 20  # bytes in one request body (the longest form, a 20,000-character note, is far less)
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_BINDS = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 - names to recognise, not to bind
BUSY_RETRY_S = 2

Clock = Callable[[], datetime]


class Busy(Exception):
    """Answered 503 with a Retry-After: the database or the decoders are busy."""

    def __init__(self, message: str = "busy, try again in a moment", retry_after: int = BUSY_RETRY_S) -> None:
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


class Throttled(Exception):
    """Answered 429 with a Retry-After: too many failed sign-ins for this name or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"locked for {retry_after} s")
        self.retry_after = retry_after


# -- the Host header ------------------------------------------------------------------------------------

HostRule = frozenset[tuple[str, int | None]]


def split_host(value: str) -> tuple[str, int | None] | None:
    """("name", port or None) from a Host header or an --allow-host value; None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value.partition("]")
        name += sep
        if not sep or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = value.partition(":")
        if ":" in port_text:
            return None
    if not name or any(c in name for c in "/\\@?# \t") or (port_text and not port_text.isdigit()):
        return None
    port = int(port_text) if port_text else None
    if port is not None and not 0 < port < 65536:
        return None
    return name, port


def allowed_hosts(bind: str | None = None, port: int | None = None, extra: Iterable[str] = ()) -> HostRule:
    """The Host headers the desk answers: the loopback names and the address it binds to, with its port
    (any port when none is given), and each extra name ("name" on any port, "name:port" on that one)."""
    names = list(LOOPBACK)
    if bind is not None and bind not in WILDCARD_BINDS:
        names.append(f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind)
    rules = {(name.lower(), port) for name in names}
    for value in extra:
        parsed = split_host(value)
        if parsed is None:
            raise InvalidValue(f"--allow-host {value!r}: give a host name, optionally with :PORT")
        rules.add(parsed)
    return frozenset(rules)


def host_allowed(rules: HostRule, header: str) -> bool:
    parsed = split_host(header)
    if parsed is None:
        return False
    return parsed in rules or (parsed[0], None) in rules


class HostGuard:
    """Refuse requests whose Host header names another site (DNS rebinding against a desk on loopback)."""

    def __init__(self, app: ASGIApp, rules: HostRule) -> None:
        self.app, self.rules = app, rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not host_allowed(
                self.rules, Headers(scope=scope).get("host", "")):
            await PlainTextResponse("unknown host", status_code=400)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse a request body over ``limit`` bytes (413) before the app reads any of it: forms are parsed
    in memory and uploads spooled to disk, and the desk takes no uploads."""

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = PlainTextResponse(f"the request is too large (at most {self.limit // 1024} KiB)",
                                    status_code=413, headers={"Connection": "close"})
        declared = Headers(scope=scope).get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > self.limit):
            await too_big(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await too_big(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A receive that gives the body already read as one message, then whatever the client sends next."""
    queue: list[Message] = [pending] if pending is not None else [
        {"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay


# -- a busy database --------------------------------------------------------------------------------------

LOCK_WAIT_S = 3.0  # how long a desk write waits for another writer's lock before answering 503


def is_lock_wait(exc: OperationalError) -> bool:
    """Whether the database refused because another transaction held a lock too long: SQLite's "database
    is locked", PostgreSQL's lock_timeout, a serialisation failure or a deadlock."""
    orig = exc.orig
    if "locked" in str(orig).lower() and type(orig).__module__.startswith("sqlite3"):
        return True
    return getattr(orig, "sqlstate", None) in ("55P03", "40001", "40P01")


# -- sign-in throttling ---------------------------------------------------------------------------------


class Throttle:
    """Sign-ins through the per-name and per-address counters in the case database."""

    def __init__(self, case: Case, clock: Clock = utcnow) -> None:
        self.case, self.clock = case, clock
        self._checks = threading.BoundedSemaphore(PASSWORD_CHECKS)

    def sign_in(self, name: str, password: str, address: str) -> str | None:
        """A session token, or None for a wrong name or password; raises Throttled while the name or the
        address is locked out, Busy when too many sign-ins are being checked at once."""
        if not self._checks.acquire(timeout=PASSWORD_WAIT_S):
            raise Busy("busy signing others in: try again in a moment")
        try:  # the lock-out is read inside the slot, so a burst gets at most PASSWORD_CHECKS past it
            wait = self.wait(name, address)
            if wait:
                raise Throttled(wait)
            return users.sign_in(self.case, name, password,
                                 failed=lambda s, known: self._failed(s, name, address, known),
                                 succeeded=lambda s: self._succeeded(s, name))
        finally:
            self._checks.release()

    def wait(self, name: str, address: str) -> int:
        """Seconds until neither the name nor the address is locked out (0: not locked)."""
        now = self.clock()
        with self.case.reading() as s:
            until = s.scalars(select(SignInThrottle.locked_until).where(
                SignInThrottle.key.in_(_keys(name, address)), SignInThrottle.locked_until > now)).all()
        latest = max((u for u in until if u is not None), default=None)
        return 0 if latest is None else max(1, math.ceil((latest - now).total_seconds()))

    def _failed(self, s: Session, name: str, address: str, known: bool) -> None:
        now = self.clock()
        s.execute(delete(SignInThrottle).where(SignInThrottle.last_at < now - FORGET, or_(
            SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < now)))
        for key, free in zip(_keys(name, address), (ADDRESS_FREE, USER_FREE), strict=False):
            row = _row(s, key, now)
            row.failures += 1
            row.unknown += 0 if known else 1
            row.last_at = now
            if row.failures < free:
                continue
            seconds = LOCK_BASE_S * 2 ** min(row.failures - free, 20)
            seconds = min(seconds, LOCK_MAX_S)
            row.locked_until = now + timedelta(seconds=seconds)
            if key.startswith("address:"):
                self.case.record(s, "desk.sign_in_throttled", None, address=key.partition(":")[2],
                                 failures=row.failures, by_unknown_names=row.unknown, locked_s=seconds)
            elif known:
                self.case.record(s, "desk.sign_in_throttled", None, user=name, failures=row.failures,
                                 locked_s=seconds)

    def _succeeded(self, s: Session, name: str) -> None:
        s.execute(delete(SignInThrottle).where(SignInThrottle.key == f"user:{name}"))


def _keys(name: str, address: str) -> list[str]:
    """The address's counter, and the name's when it could be an account name at all (others cannot
    exist, and are counted against the address only)."""
    keys = [f"address:{address[:100]}"]
    if users.NAME.match(name):
        keys.append(f"user:{name}")
    return keys


def _row(s: Session, key: str, now: datetime) -> SignInThrottle:
    """The counter row for ``key``, created if missing, locked for this transaction."""
    insert: Any
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    s.execute(insert(SignInThrottle).values(key=key, failures=0, unknown=0, first_at=now, last_at=now,
                                            locked_until=None).on_conflict_do_nothing(index_elements=["key"]))
    row = s.get(SignInThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row
