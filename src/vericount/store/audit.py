"""The append-only custody log.

Every change goes through :func:`record` inside the same transaction as the change itself. Each event
carries the SHA-256 of the one before it and of its own content, so a gap or an edit anywhere in the log
shows up in ``vericount verify``; the database also refuses UPDATE and DELETE on the table (triggers).

A session that carries its case folder (``session.info[ANCHOR]``, as ``Case.session`` sets it) anchors the
log's head there after it commits (store/anchor.py), so deleting the last events or rewriting the whole
chain behind vericount's back contradicts the anchored heads. The first transaction that finds no
anchors.log in the folder records a ``case.anchor`` event: from there on the head is anchored.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, event, func, insert, select, text, type_coerce, update
from sqlalchemy.orm import Session

from vericount import __version__
from vericount.store import anchor
from vericount.store.schema import AuditEvent, CaseInfo, UTCDateTime, utcnow

GENESIS = "0" * 64
ANCHOR = "vericount.anchor_root"  # session.info: the case folder where the head is anchored
STARTS_ANCHORING = ("case.init", "case.anchor")  # events after which anchors.log must exist
_LAST = "vericount.audit_last_hash"
_PENDING = "vericount.audit_pending"
_HEAD = "vericount.audit_head"
_LOCKED = "vericount.audit_locked"
COUNTER = "audit_count"  # case_info: how many events the log holds (for the anchored head's count)


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def stamp(at: datetime) -> str:
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


WRITERS_LOCK = 7036547  # PostgreSQL advisory lock: held by a transaction that appends to the log


def serialise(session: Session) -> None:
    """Make the rest of this transaction the only writer of the case until it ends: on PostgreSQL take
    the appenders' lock now (record() takes it at the first event anyway); SQLite's BEGIN IMMEDIATE has
    done so already. A change that reads, checks and then writes (is the item still at the revision the
    reviewer saw? does a decision on this track stand?) calls this before it reads, so that no other
    process can commit in between and be overwritten unseen."""
    if session.info.get(_LOCKED):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})"))
    session.info[_LOCKED] = True


def record(session: Session, actor: str, action: str, item_id: str | None = None,
           **detail: Any) -> str:
    """Append one event to the log in the session's transaction; returns its hash.

    Events are queued on the session and written in one statement when it commits."""
    prev = session.info.get(_LAST)
    if prev is None:
        serialise(session)
        prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
        prev = prev or GENESIS
    at = utcnow()
    clean = json.loads(json.dumps(detail, default=str))
    digest = event_hash(prev, stamp(at), actor, action, item_id, clean, __version__)
    session.info.setdefault(_PENDING, []).append(
        {"at": at, "actor": actor, "action": action, "item_id": item_id, "detail": clean,
         "tool_version": __version__, "prev_hash": prev, "hash": digest})
    session.info[_LAST] = digest
    return digest


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    root: Path | None = session.info.get(ANCHOR)
    if root is not None and not (root / anchor.ANCHORS).exists():
        (root / anchor.ANCHORS).touch()  # under the appenders' lock: one transaction marks the start
        if not any(e["action"] in STARTS_ANCHORING for e in pending):
            record(session, pending[-1]["actor"], "case.anchor", None, log=anchor.ANCHORS,
                   reason="no anchors.log in the case folder: the head is anchored from this event on")
    session.info.pop(_PENDING, None)
    session.execute(insert(AuditEvent), pending)
    count = _count(session, len(pending))
    if root is not None:  # under the appenders' lock still: the count and the last id are this commit's
        last_id = int(session.scalar(select(func.max(AuditEvent.id))) or 0)
        session.info[_HEAD] = anchor.Head(count, last_id, pending[-1]["hash"], stamp(pending[-1]["at"]))


def _count(session: Session, added: int) -> int:
    """How many events the log holds with the ``added`` just inserted, from the counter kept in case_info
    (one row read and written under the appenders' lock; counting the table would cost a scan per commit).
    A case without the counter yet counts its log once."""
    held = session.scalar(select(CaseInfo.value).where(CaseInfo.key == COUNTER))
    if held is None:
        count = int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
        session.execute(insert(CaseInfo).values(key=COUNTER, value=str(count)))
    else:
        count = int(held) + added
        session.execute(update(CaseInfo).where(CaseInfo.key == COUNTER).values(value=str(count)))
    return count


@event.listens_for(Session, "after_commit")
def _anchor_head(session: Session) -> None:
    head: anchor.Head | None = session.info.pop(_HEAD, None)
    root: Path | None = session.info.get(ANCHOR)
    _forget_last_hash(session)
    if head is not None and root is not None:
        anchor.write_quietly(root, head)


@event.listens_for(Session, "after_rollback")
def _forget_last_hash(session: Session) -> None:
    session.info.pop(_LAST, None)
    session.info.pop(_PENDING, None)
    session.info.pop(_HEAD, None)
    session.info.pop(_LOCKED, None)


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    problem: str


def check_chain(session: Session) -> Iterator[ChainProblem]:
    """Recompute the hash chain; yield every event that does not follow from the one before it."""
    yield from check_events(event_rows(session))


def event_rows(session: Session) -> Iterator[Mapping[str, Any]]:
    """Every event, oldest first, as a mapping of the table's columns (read in chunks; ``at`` as the
    stored text)."""
    table = AuditEvent.__table__
    cols = [type_coerce(c, String()).label("at") if c.name == "at" else c for c in table.c]
    query = select(*cols).order_by(table.c.id).execution_options(yield_per=2000)
    for row in session.execute(query).mappings():  # "at" as the stored text: what the hash covers
        yield dict(row)


def check_events(events: Iterable[Mapping[str, Any]]) -> Iterator[ChainProblem]:
    """The chain check on events as mappings of the table's columns, in log order (an export's
    audit_events rows: ``at`` a datetime or the stored text)."""
    chain = Chain()
    for ev in events:
        yield from chain.feed(ev)


class Chain:
    """The chain check one event at a time (for a pass over the log that does other checks too)."""

    def __init__(self) -> None:
        self.prev = GENESIS

    def feed(self, ev: Mapping[str, Any]) -> list[ChainProblem]:
        problems = []
        if ev["prev_hash"] != self.prev:
            problems.append(ChainProblem(ev["id"],
                                         "does not follow the event before it (an event is missing)"))
        at = ev["at"] if isinstance(ev["at"], str) else stamp(ev["at"])
        expected = event_hash(ev["prev_hash"], at, ev["actor"], ev["action"], ev["item_id"], ev["detail"],
                              ev["tool_version"])
        if ev["hash"] != expected:
            problems.append(ChainProblem(ev["id"], "content does not match its hash (the event was altered)"))
        self.prev = ev["hash"]
        return problems


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
