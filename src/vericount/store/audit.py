"""The append-only custody log.

Every change goes through :func:`record` inside the same transaction as the change itself. Each event
carries the SHA-256 of the one before it and of its own content, so a gap or an edit anywhere in the log
shows up in ``vericount verify``; the database also refuses UPDATE and DELETE on the table (triggers).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from vericount import __version__
from vericount.store.schema import AuditEvent, UTCDateTime, utcnow

GENESIS = "0" * 64
_LAST = "vericount.audit_last_hash"
_PENDING = "vericount.audit_pending"


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def _stamp(at: datetime) -> str:
    stamped = UTCDateTime().process_bind_param(at, None)  # type: ignore[arg-type]
    assert stamped is not None
    return stamped


def event_hash(prev_hash: str, at: str, actor: str, action: str, item_id: str | None,
               detail: dict[str, Any], tool_version: str) -> str:
    body = json.dumps(
        {"at": at, "actor": actor, "action": action, "item": item_id, "detail": detail,
         "version": tool_version},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record(session: Session, actor: str, action: str, item_id: str | None = None,
           **detail: Any) -> str:
    """Append one event to the log in the session's transaction; returns its hash.

    Events are queued on the session and written in one statement when it commits."""
    prev = session.info.get(_LAST)
    if prev is None:
        if session.get_bind().dialect.name == "postgresql":
            # Serialise appenders for the rest of this transaction (SQLite's BEGIN IMMEDIATE does this).
            session.execute(text("SELECT pg_advisory_xact_lock(7036547)"))
        prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
        prev = prev or GENESIS
    at = utcnow()
    clean = json.loads(json.dumps(detail, default=str))
    digest = event_hash(prev, _stamp(at), actor, action, item_id, clean, __version__)
    session.info.setdefault(_PENDING, []).append(
        {"at": at, "actor": actor, "action": action, "item_id": item_id, "detail": clean,
         "tool_version": __version__, "prev_hash": prev, "hash": digest})
    session.info[_LAST] = digest
    return digest


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.execute(insert(AuditEvent), pending)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_last_hash(session: Session) -> None:
    session.info.pop(_LAST, None)
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    problem: str


def check_chain(session: Session) -> Iterator[ChainProblem]:
    """Recompute the hash chain; yield every event that does not follow from the one before it."""
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
    yield from check_events({"id": ev.id, "at": ev.at, "actor": ev.actor, "action": ev.action,
                             "item_id": ev.item_id, "detail": ev.detail, "tool_version": ev.tool_version,
                             "prev_hash": ev.prev_hash, "hash": ev.hash} for ev in rows.yield_per(2000))


def check_events(events: Iterable[Mapping[str, Any]]) -> Iterator[ChainProblem]:
    """The chain check on events as mappings of the table's columns, in log order (an export's
    audit_events rows: ``at`` a datetime or the stored text)."""
    prev = GENESIS
    for ev in events:
        if ev["prev_hash"] != prev:
            yield ChainProblem(ev["id"], "does not follow the event before it (an event is missing)")
        at = ev["at"] if isinstance(ev["at"], str) else _stamp(ev["at"])
        expected = event_hash(ev["prev_hash"], at, ev["actor"], ev["action"], ev["item_id"], ev["detail"],
                              ev["tool_version"])
        if ev["hash"] != expected:
            yield ChainProblem(ev["id"], "content does not match its hash (the event was altered)")
        prev = ev["hash"]


def events(session: Session, item_id: str | None = None, actor: str | None = None,
           action: str | None = None, limit: int | None = None) -> list[AuditEvent]:
    """Events oldest first (the last ``limit`` of them when a limit is given)."""
    query = select(AuditEvent)
    if item_id:
        query = query.where(AuditEvent.item_id == item_id)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if limit:
        rows = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
        return rows[::-1]
    return list(session.scalars(query.order_by(AuditEvent.id)))
