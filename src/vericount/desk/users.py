"""Desk users: accounts with a role and a scrypt password hash, signed-in sessions, per-user settings."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.store.schema import User, WebSession, utcnow

ROLES = ("viewer", "reviewer", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
SCRYPT = {"n": 2**15, "r": 8, "p": 1}  # about 64 ms and 32 MiB per hash
SESSION_DAYS = 7
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
SETTINGS = {"greyscale": False, "blur": False}


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of one request."""

    name: str
    role: str
    csrf: str
    settings: dict[str, Any]

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 2**20, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=64 * 2**20, dklen=len(digest) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


@functools.cache
def _unknown_user_hash() -> str:
    """A hash to check an unknown name's password against, so that it takes as long as a known one's."""
    return hash_password(secrets.token_urlsafe(16))


def add_user(case: Case, name: str, role: str, password: str) -> None:
    """A new account, or a new role and password for an existing one (recorded in the custody log)."""
    if not NAME.match(name):
        raise InvalidValue(f"user name {name!r}: use letters, digits and . _ @ - (up to 64, no spaces)")
    if role not in ROLES:
        raise InvalidValue(f"--role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise InvalidValue("the password must have at least 8 characters")
    with case.session() as s:
        user = s.get(User, name)
        if user is None:
            s.add(User(name=name, role=role, password=hash_password(password), settings=dict(SETTINGS),
                       created_at=utcnow(), created_by=case.actor, disabled=False))
            case.record(s, "user.add", None, user=name, role=role)
        else:
            user.role, user.password, user.disabled = role, hash_password(password), False
            s.execute(delete(WebSession).where(WebSession.user == name))
            case.record(s, "user.update", None, user=name, role=role)


def list_users(case: Case) -> list[dict[str, Any]]:
    with case.reading() as s:
        return [{"name": u.name, "role": u.role, "created_at": u.created_at.isoformat(),
                 "disabled": u.disabled} for u in s.scalars(select(User).order_by(User.name))]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(case: Case, name: str, password: str,
            failed: Callable[[Session, bool], None] | None = None,
            succeeded: Callable[[Session], None] | None = None) -> str | None:
    """A new session token for the right password, else None (the same answer for an unknown name).

    The password is checked outside any transaction (scrypt takes about 64 ms: no lock is held meanwhile).
    ``failed(session, known)`` and ``succeeded(session)`` run in the transaction that records the outcome
    (the desk's throttle counts there). A failure by a real account is recorded in the custody log; one by
    a name that is no account is not (anyone can type any name: the throttle counts those)."""
    with case.reading() as s:
        user = s.get(User, name) if name else None
        stored = user.password if user is not None else None
        usable = user is not None and not user.disabled
    ok = check_password(password, stored or _unknown_user_hash()) and usable
    with case.session() as s:
        if not ok:
            if failed is not None:
                failed(s, user is not None)
            if user is not None:
                case.as_actor(name).record(s, "user.sign_in_failed", None, user=name)
            return None
        current = s.get(User, name)
        if current is None or current.disabled or current.password != stored:
            return None  # changed while the password was being checked
        if succeeded is not None:
            succeeded(s)
        token = secrets.token_urlsafe(32)
        now = utcnow()
        s.execute(delete(WebSession).where(WebSession.expires_at < now))
        s.add(WebSession(token_hash=_token_hash(token), user=name, csrf=secrets.token_urlsafe(32),
                         created_at=now, expires_at=now + timedelta(days=SESSION_DAYS)))
        case.as_actor(name).record(s, "user.sign_in", None)
        return token


def session_user(case: Case, token: str | None) -> Viewer | None:
    if not token:
        return None
    with case.reading() as s:
        row = s.get(WebSession, _token_hash(token))
        if row is None or row.expires_at < utcnow():
            return None
        user = s.get(User, row.user)
        if user is None or user.disabled:
            return None
        return Viewer(user.name, user.role, row.csrf, {**SETTINGS, **(user.settings or {})})


def sign_out(case: Case, token: str) -> None:
    with case.session() as s:
        s.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


def save_settings(case: Case, name: str, settings: dict[str, bool]) -> None:
    with case.session() as s:
        user = s.get(User, name)
        if user is not None:
            user.settings = {k: bool(settings.get(k)) for k in SETTINGS}
