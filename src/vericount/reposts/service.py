"""Reposts in a case: fingerprint what is pending, match new items against the library, record human
decisions, and gather repost groups. The CLI and the desk call these functions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from vericount.errors import InvalidValue
from vericount.items import resolve
from vericount.reposts.fingerprint import Fingerprint
from vericount.reposts.library import Library
from vericount.reposts.match import Found, MatchParams
from vericount.reposts.stage import RepostsStage
from vericount.run.runner import StageReport, run_stage
from vericount.store.schema import FingerprintRow, Item, Match, Source, utcnow
from vericount.values import stored_time

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.case import Case
    from vericount.run.executors import Executor, Outcome
    from vericount.run.stage import Task


@dataclass
class MatchReport:
    matched: int = 0  # items matched against the library in this run
    confirmed: int = 0  # pairs the matcher confirmed in this run
    suggested: int = 0
    seconds: float = 0.0


@dataclass
class MatchView:
    a: str
    b: str
    type: str
    score: float
    state: str
    a_segment: list[float] | None
    b_segment: list[float] | None
    a_cover: float | None
    b_cover: float | None
    speed: float | None
    decided_by: str | None
    reason: str | None
    evidence: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Group:
    id: str
    members: list[str]
    earliest: str
    earliest_basis: str  # posted | created | added
    earliest_time: str | None
    platforms: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def params_hash(params: MatchParams) -> str:
    return hashlib.sha256(json.dumps(params.as_dict(), sort_keys=True).encode()).hexdigest()


def run_reposts(case: Case, executor: Executor, *, stage: RepostsStage | None = None,
                params: MatchParams | None = None,
                on_start: Callable[[int], None] | None = None,
                on_item: Callable[[Outcome[Task, Any]], None] | None = None,
                ) -> tuple[StageReport, MatchReport]:
    """Fingerprint every pending item, then match every item not yet matched with these settings."""
    report = run_stage(case, stage or RepostsStage(), executor, on_start=on_start, on_item=on_item)
    return report, match_pending(case, params or MatchParams())


def match_pending(case: Case, params: MatchParams) -> MatchReport:
    """Match every item whose fingerprint was not matched with these settings against the library, kept
    between runs beside the case (reposts/library.py): a run that adds ten items indexes the ten."""
    import time

    start = time.perf_counter()
    current = params_hash(params)
    with case.session() as s:
        matched: dict[str, str | None] = dict(
            s.execute(select(FingerprintRow.item_id, FingerprintRow.matched)).all())
    new = sorted(item_id for item_id, stamp in matched.items() if stamp != current)
    report = MatchReport(matched=len(new))
    if not new:
        return report
    folder = case.derived / "reposts" / "library"
    indexed = sorted(item_id for item_id, stamp in matched.items() if stamp == current)
    library = _library(case, params, folder, current, indexed)
    for item_id, fp in _all_fingerprints(case, new):
        library.add(item_id, fp)
    found: dict[frozenset[str], Found] = {}
    done: set[str] = set()
    for item_id in new:
        for result in library.match(item_id, skip=done):
            found[frozenset((result.a, result.b))] = result
        done.add(item_id)
    with case.session() as s:
        rows = _rows_touching(s, new)
        for key, old in rows.items():
            if old.decided_by is None and key not in found:
                s.delete(old)  # the matcher no longer finds it (new settings, new fingerprint)
        for key, result in found.items():
            state = result.state(params) or "suggested"
            row = rows.get(key)
            if row is None:
                row = Match(decided_by=None, reason=None, decided_at=None)
                s.add(row)
            _fill(row, result)
            if row.decided_by is None:
                row.state = state
                report.confirmed += state == "confirmed"
                report.suggested += state == "suggested"
        for chunk in range(0, len(new), 500):
            part = new[chunk:chunk + 500]
            for fp_row in s.scalars(select(FingerprintRow).where(FingerprintRow.item_id.in_(part))):
                fp_row.matched = current
        case.record(s, "reposts.match", None, items=len(new), confirmed=report.confirmed,
                    suggested=report.suggested, params=params.as_dict())
    _keep(library, folder, current)
    report.seconds = time.perf_counter() - start
    return report


def _library(case: Case, params: MatchParams, folder: Path, stamp: str, indexed: list[str]) -> Library:
    """The library kept beside the case, when it holds exactly the items matched with these settings;
    else one built anew from their fingerprints (settings changed, items went or were fingerprinted again,
    or it was never kept)."""
    library = Library.load(folder, stamp, params, lambda ids: _fingerprints(case, ids))
    if library is not None and sorted(library.ids) == indexed:
        return library
    library = Library(params, lambda ids: _fingerprints(case, ids))
    for item_id, fp in _all_fingerprints(case, indexed):
        library.add(item_id, fp, keep=False)
    return library


def _fingerprints(case: Case, ids: list[str]) -> dict[str, Fingerprint]:
    return dict(_all_fingerprints(case, ids))


def _all_fingerprints(case: Case, ids: list[str]) -> Iterator[tuple[str, Fingerprint]]:
    """The stored fingerprints of ``ids``, 500 at a time (the blobs are not all held at once)."""
    for chunk in range(0, len(ids), 500):
        with case.reading() as s:
            wanted = ids[chunk:chunk + 500]
            rows = s.scalars(select(FingerprintRow).where(FingerprintRow.item_id.in_(wanted)))
            part = [(row.item_id, Fingerprint.from_bytes(
                row.data, kind=row.kind, duration=row.duration, decoded=row.decoded, shots=row.shots,
                min_quality=row.min_quality)) for row in rows]
        yield from part


def _keep(library: Library, folder: Path, stamp: str) -> None:
    """Save the library beside the case for the next run: written aside, then swapped in whole. It is a
    cache: a failure to write it costs the next run a rebuild, never a result."""
    import os
    import shutil

    aside = folder.with_name(f"{folder.name}.new-{os.getpid()}")
    old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    try:
        shutil.rmtree(aside, ignore_errors=True)
        library.save(aside, stamp)
        if folder.exists():
            folder.rename(old)
        aside.rename(folder)
    except OSError:
        shutil.rmtree(aside, ignore_errors=True)
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _rows_touching(s: Session, ids: list[str]) -> dict[frozenset[str], Match]:
    out: dict[frozenset[str], Match] = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for row in s.scalars(select(Match).where(or_(Match.a.in_(part), Match.b.in_(part)))):
            out[frozenset((row.a, row.b))] = row
    return out


def _fill(row: Match, result: Found) -> None:
    row.a, row.b, row.type, row.score = result.a, result.b, result.type, result.score
    row.a_start, row.a_end = result.a_segment or (None, None)
    row.b_start, row.b_end = result.b_segment or (None, None)
    row.a_cover, row.b_cover, row.speed = result.a_cover, result.b_cover, result.speed
    row.found, row.evidence, row.updated_at = True, result.evidence, utcnow()


# -- human decisions ---------------------------------------------------------------------------------

def decide(case: Case, ref_a: str, ref_b: str, decision: str, reason: str | None = None) -> MatchView:
    """Record a person's confirm/reject of two items as copies of the same footage (audit-logged)."""
    if decision not in ("confirmed", "rejected"):
        raise InvalidValue(f"decision must be confirmed or rejected, not {decision!r}")
    if decision == "rejected" and not (reason or "").strip():
        raise InvalidValue("a reason is required to reject a match")
    with case.session() as s:
        a, b = resolve(s, ref_a), resolve(s, ref_b)
        if a.id == b.id:
            raise InvalidValue(f"{ref_a!r} and {ref_b!r} are the same item")
        row = s.scalars(select(Match).where(or_((Match.a == a.id) & (Match.b == b.id),
                                                (Match.a == b.id) & (Match.b == a.id)))).first()
        previous = row.state if row is not None else None
        if row is None:
            first, second = (a, b) if not (a.kind == "video" and b.kind == "image") else (b, a)
            kind = "frame_of" if {first.kind, second.kind} == {"image", "video"} else "overlap"
            row = Match(a=first.id, b=second.id, type=kind, score=0.0, found=False, evidence={},
                        a_cover=None, b_cover=None, speed=None)
            s.add(row)
        row.state, row.decided_by, row.decided_at = decision, case.actor, utcnow()
        row.reason, row.updated_at = (reason or "").strip() or None, utcnow()
        case.record(s, "match.confirm" if decision == "confirmed" else "match.reject", a.id,
                    other=b.id, reason=row.reason, previous=previous)
        s.flush()
        return _view(row)


# -- reading -------------------------------------------------------------------------------------------

def _view(row: Match) -> MatchView:
    a_seg = [row.a_start, row.a_end] if row.a_start is not None and row.a_end is not None else None
    b_seg = [row.b_start, row.b_end] if row.b_start is not None and row.b_end is not None else None
    return MatchView(row.a, row.b, row.type, row.score, row.state, a_seg, b_seg, row.a_cover, row.b_cover,
                     row.speed, row.decided_by, row.reason, dict(row.evidence or {}))


def list_matches(case: Case, ref: str | None = None) -> list[MatchView]:
    with case.reading() as s:
        if ref is not None:
            return matches_of(s, resolve(s, ref).id)
        return [_view(row) for row in s.scalars(select(Match).order_by(Match.score.desc(), Match.id))]


def matches_of(s: Session, item_id: str) -> list[MatchView]:
    """The matches of one item (by its whole id), the best first."""
    query = select(Match).where(or_(Match.a == item_id, Match.b == item_id))
    return [_view(row) for row in s.scalars(query.order_by(Match.score.desc(), Match.id))]


def membership(s: Session) -> dict[str, str]:
    """Each item in a repost group (items connected by confirmed matches) -> the group's representative."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in s.execute(select(Match.a, Match.b).where(Match.state == "confirmed")):
        parent[find(a)] = find(b)
    return {x: find(x) for x in parent}


def groups(case: Case) -> list[Group]:
    """Items connected by confirmed matches; each with its earliest known copy and the platforms seen."""
    with case.reading() as s:
        root = membership(s)
        members: dict[str, list[str]] = {}
        for x, r in root.items():
            members.setdefault(r, []).append(x)
        ids = list(root)
        items = {i.id: i for i in s.scalars(select(Item).where(Item.id.in_(ids)))} if ids else {}
        sources: dict[str, list[Source]] = {}
        for src in s.scalars(select(Source).where(Source.item_id.in_(ids))) if ids else []:
            sources.setdefault(src.item_id, []).append(src)
        out = []
        for group in members.values():
            group.sort()
            earliest, basis, when = _earliest(group, items, sources)
            platforms = sorted({src.platform for m in group for src in sources.get(m, []) if src.platform})
            out.append(Group(group[0][:12], group, earliest, basis, when, platforms))
        out.sort(key=lambda g: (-len(g.members), g.id))
        return out


def _earliest(group: list[str], items: dict[str, Item],
              sources: dict[str, list[Source]]) -> tuple[str, str, str | None]:
    for basis in ("posted", "created"):
        dated = [(t, m) for m in group if (t := _time_of(basis, m, items, sources)) is not None]
        if dated:
            when, member = min(dated)
            return member, basis, when.isoformat()
    never = datetime.max.replace(tzinfo=UTC)
    first = min(group, key=lambda m: (items[m].added_at if m in items else never, m))
    return first, "added", items[first].added_at.isoformat() if first in items else None


def _time_of(basis: str, item_id: str, items: dict[str, Item],
             sources: dict[str, list[Source]]) -> datetime | None:
    if basis == "posted":
        times = [t for src in sources.get(item_id, []) if (t := stored_time(src.posted_at)) is not None]
        return min(times) if times else None
    meta = items[item_id].media_meta or {} if item_id in items else {}
    created = meta.get("creation_time")
    if created is None and isinstance(meta.get("datetime_original"), dict):
        created = meta["datetime_original"].get("value")
    return stored_time(created) if isinstance(created, str) else None

