"""``vericount verify``: re-hash every stored original, check the custody log's hash chain against the heads
anchored outside the database (store/anchor.py) and against a head recorded elsewhere, check the tables
against the events that made them (verify_state.py), and check the case key's records (signing.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select

from vericount.case import Case
from vericount.signing import KEY_EVENTS, check_key
from vericount.store import anchor
from vericount.store.audit import COUNTER, STARTS_ANCHORING, Chain, check_events, event_rows, stamp
from vericount.store.schema import (
    Attachment,
    CaseInfo,
    Item,
    ItemName,
    Judgment,
    Match,
    Note,
    PersonTrack,
    Source,
    Tag,
    TallyRow,
    User,
)
from vericount.verify_state import Tables, check_state


@dataclass(frozen=True)
class Problem:
    item: str | None
    problem: str  # missing | altered | unregistered | audit | anchor | state | key | timestamp
    detail: str


@dataclass
class VerifyReport:
    checked: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    head: anchor.Head | None = None  # the log's head as the database has it
    anchored: int = 0  # anchored heads compared with the chain
    key_fingerprint: str | None = None
    state_checked: list[str] = field(default_factory=list)
    state_skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timestamps: int = 0  # RFC 3161 tokens checked offline (timestamps.py)
    attachments: int = 0  # of ``checked``: files kept with items that are not originals (attachments.py)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "bytes": self.bytes,
                "head": self.head.to_json() if self.head else None, "anchored_heads": self.anchored,
                "key_fingerprint": self.key_fingerprint, "state_checked": self.state_checked,
                "state_skipped": self.state_skipped, "notes": self.notes, "timestamps": self.timestamps,
                "attachments": self.attachments, "problems": [vars(p) for p in self.problems]}


@dataclass
class _Pass:
    """What one pass over the log collects besides the state replay."""

    wanted_ids: set[int]
    wanted_positions: set[int]
    wanted_hash: str | None
    count: int = 0
    last: Mapping[str, Any] | None = None
    by_id: dict[int, anchor.Seen] = field(default_factory=dict)
    by_position: dict[int, anchor.Seen] = field(default_factory=dict)
    by_hash: dict[str, anchor.Seen] = field(default_factory=dict)
    markers: list[Mapping[str, Any]] = field(default_factory=list)
    key_events: list[Mapping[str, Any]] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)

    def events(self, rows: Iterator[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        chain = Chain()
        for ev in rows:
            self.count += 1
            self.last = ev
            seen = anchor.Seen(self.count, int(ev["id"]), ev["hash"])
            if seen.id in self.wanted_ids:
                self.by_id[seen.id] = seen
            if self.count in self.wanted_positions:
                self.by_position[self.count] = seen
            if ev["hash"] == self.wanted_hash:
                self.by_hash[seen.hash] = seen
            if ev["action"] in STARTS_ANCHORING and (ev["action"] == "case.anchor" or
                                                     (ev["detail"] or {}).get("anchors")):
                self.markers.append(ev)
            if ev["action"] in KEY_EVENTS:
                self.key_events.append(ev)
            self.chain += [f"audit event {p.event_id} {p.problem}" for p in chain.feed(ev)]
            yield ev


def verify(case: Case, jobs: int = 2, on_start: Callable[[int], None] | None = None,
           on_item: Callable[[int], None] | None = None,
           expect_head: anchor.Expected | None = None) -> VerifyReport:
    report = VerifyReport()
    anchors = anchor.read(case.root)  # before the database: every head read here is in its snapshot
    heads = [(anchor.CASE_FILE, anchors.case_file)] if anchors.case_file else []
    heads += [(anchor.ANCHORS, h) for h in anchors.log or []]
    report.problems += [Problem(None, "anchor", p) for p in anchors.problems]
    positions = {expect_head.count} if expect_head and expect_head.count else set()
    seen = _Pass({h.id for _, h in heads}, positions, expect_head.hash if expect_head else None)
    with case.reading() as s:
        if case.dialect == "postgresql":  # one snapshot for the log and every table
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        tables = _tables(s)
        state = check_state(seen.events(event_rows(s)), tables, lambda ev: _imported(case, ev, report))
        key = check_key(case, s, seen.key_events)
        counted = s.scalar(select(CaseInfo.value).where(CaseInfo.key == COUNTER))
    if counted is not None and int(counted) != seen.count:
        report.problems.append(Problem(None, "anchor", f"the case_info table counts {counted} events but the "
                                       f"log holds {seen.count}: events were deleted or inserted in SQL"))
    items = [(row["id"], int(row["size"])) for row in tables.items]
    kept = {(row["sha256"], int(row["size"])) for row in tables.attachments or ()} - set(items)
    report.attachments = len(kept)
    items += sorted(kept)
    report.problems += [Problem(None, "audit", p) for p in seen.chain]
    last = seen.last
    if last is not None:
        at = last["at"] if isinstance(last["at"], str) else stamp(last["at"])
        report.head = anchor.Head(seen.count, int(last["id"]), last["hash"], at)
    _check_anchors(case, report, anchors, heads, seen)
    if expect_head is not None:
        found = anchor.check_expected(expect_head, seen.by_position, seen.by_hash, seen.count)
        if found:
            report.problems.append(Problem(None, "anchor", found))
    report.key_fingerprint = key.key.fingerprint if key.key else None
    report.problems += [Problem(None, "key", p) for p in key.problems]
    if key.key is None:
        report.notes.append("this case has no key yet (a case made before vericount made case keys): one is "
                            "made and recorded in the log at its first `export --bundle`")
    report.problems += [Problem(p.item, "state", p.detail) for p in state.problems]
    report.state_checked, report.state_skipped = state.checked, state.skipped
    from vericount.timestamps import check as check_timestamps

    report.timestamps, stamped = check_timestamps(case)
    report.problems += [Problem(item, "timestamp", detail) for item, detail in stamped]
    _hash_originals(case, items, report, jobs, on_start, on_item)
    return report


def _tables(s: Any) -> Tables:
    def rows(*cols: Any, where: Any = None) -> list[Mapping[str, Any]]:
        query = select(*cols)
        if where is not None:
            query = query.where(where)
        return list(s.execute(query).mappings())

    return Tables(
        items=rows(Item.id, Item.kind, Item.media_type, Item.size, Item.added_by, Item.status,
                   Item.status_note, Item.lat, Item.lon, Item.geo_precision_m, Item.geo_method,
                   Item.date_from, Item.date_to, Item.date_method),
        item_names=rows(ItemName.item_id, ItemName.name, ItemName.path, ItemName.seen_by),
        sources=rows(Source.item_id, Source.url, Source.platform, Source.account, Source.posted_at,
                     Source.notes, Source.added_by),
        tags=rows(Tag.item_id, Tag.tag, Tag.by),
        notes=rows(Note.item_id, Note.text, Note.by),
        judgments=rows(Judgment.id, Judgment.a_item, Judgment.a_number, Judgment.b_item, Judgment.b_number,
                       Judgment.verdict, Judgment.reason, Judgment.by, Judgment.undone_by),
        matches=rows(Match.a, Match.b, Match.state, Match.decided_by, Match.reason,
                     where=Match.decided_by.is_not(None)),
        marks=rows(PersonTrack.item_id, PersonTrack.marked_by, PersonTrack.best_t,
                   where=PersonTrack.source == "mark"),
        tallies=rows(TallyRow.id, TallyRow.at_least, TallyRow.estimate, TallyRow.at_most, TallyRow.optimal),
        users=rows(User.name, User.role),
        attachments=rows(Attachment.item_id, Attachment.role, Attachment.sha256, Attachment.size,
                         Attachment.name, Attachment.added_by),
    )


def _check_anchors(case: Case, report: VerifyReport, anchors: anchor.Anchors,
                   heads: list[tuple[str, anchor.Head]], seen: _Pass) -> None:
    report.anchored = len(heads)
    last_id = int(seen.last["id"]) if seen.last is not None else None
    report.problems += [Problem(None, "anchor", p)
                        for p in anchor.check_heads(heads, seen.by_id, seen.count, last_id)]
    if seen.markers and not heads:
        first = seen.markers[0]["id"]
        report.problems.append(Problem(None, "anchor", f"{anchor.ANCHORS} and case.json's head are missing, "
                                       f"though the log's head has been anchored since event {first}: "
                                       "they were deleted"))
    elif len(seen.markers) > 1:
        report.problems += [Problem(None, "anchor", f"{anchor.ANCHORS} was missing when event {m['id']} was "
                                    f"recorded (it had been kept since event {seen.markers[0]['id']}): the "
                                    "heads anchored before it were lost") for m in seen.markers[1:]]
    if not heads and not seen.markers and report.head is not None:
        report.notes.append(_start_anchoring(case, report))
        return
    if seen.markers and not _init_marker(seen):
        report.notes.append(f"the log's head is anchored from event {seen.markers[0]['id']} on (the events "
                            "before it were recorded before vericount anchored the log)")
    newest = max((h.count for _, h in heads), default=0)
    if heads and newest < seen.count:
        report.notes.append(f"the last {seen.count - newest} event(s) were never anchored (a process ended "
                            "between its commit and anchoring it, or they were added behind the log's back)")


def _init_marker(seen: _Pass) -> bool:
    return bool(seen.markers) and seen.markers[0]["action"] == "case.init"


def _start_anchoring(case: Case, report: VerifyReport) -> str:
    """A case from before vericount anchored the log: anchor it from now on (when its chain holds)."""
    said = ("this case's custody log was never anchored (a case made before vericount anchored it), so "
            "deleted or rewritten events cannot be told from the folder")
    if any(p.problem == "audit" for p in report.problems):
        return said + "; not anchoring a log whose chain is broken"
    try:
        with case.session() as s:
            case.record(s, "case.anchor", None, log=anchor.ANCHORS,
                        reason="vericount verify: a case made before vericount anchored the log's head")
    except Exception as exc:  # noqa: BLE001 - a read-only copy of a case still verifies
        return said + f"; it could not be anchored now ({type(exc).__name__}: {exc})"
    return said + "; it is anchored from now on"


class _NotKept(Exception):
    """Why an import's kept source log cannot be replayed (``problem``: it is evidence of tampering)."""

    def __init__(self, why: str, problem: bool = True) -> None:
        super().__init__(why)
        self.problem = problem


def _imported(case: Case, ev: Mapping[str, Any], report: VerifyReport) -> list[Mapping[str, Any]] | str:
    """The source's custody log that a ``case.import`` event kept, checked against the event (or why it
    cannot be replayed; a kept file that is not what was imported is also a problem)."""
    try:
        return _kept_log(case, ev["detail"] if isinstance(ev["detail"], dict) else {})
    except _NotKept as exc:
        if exc.problem:
            report.problems.append(Problem(None, "state", f"{exc} (kept by the import, event {ev['id']})"))
        return str(exc)


def _kept_log(case: Case, detail: dict[str, Any]) -> list[Mapping[str, Any]]:
    kept = detail.get("source_audit_log")
    if not isinstance(kept, str) or not kept.startswith("imported/") or ".." in PurePosixPath(kept).parts:
        raise _NotKept("the event does not say where the source's custody log was kept", problem=False)
    log_path = case.root / kept
    manifest_path = log_path.parent / "export.json"
    try:
        manifest_bytes, log_bytes = manifest_path.read_bytes(), log_path.read_bytes()
    except OSError as exc:
        raise _NotKept(f"{Path(kept).parent}: the source's export.json or custody log cannot be read "
                       f"({exc.strerror})") from exc
    if hashlib.sha256(manifest_bytes).hexdigest() != detail.get("export_sha256"):
        raise _NotKept(f"{manifest_path.relative_to(case.root)}: not the export.json that was imported")
    try:
        manifest = json.loads(manifest_bytes)
        if hashlib.sha256(log_bytes).hexdigest() != manifest["tables"]["audit_events"]["sha256"]:
            raise _NotKept(f"{kept}: changed since the import (its sha256 is not the one export.json "
                           "records)")
        events: list[Mapping[str, Any]] = sorted(json.loads(log_bytes), key=lambda e: int(e["id"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise _NotKept(f"{kept}: not readable ({exc})") from exc
    if any(True for _ in check_events(events)):
        raise _NotKept("the source's custody log does not verify (its chain is broken)", problem=False)
    return events


def _hash_originals(case: Case, items: list[tuple[str, int]], report: VerifyReport, jobs: int,
                    on_start: Callable[[int], None] | None, on_item: Callable[[int], None] | None) -> None:
    if on_start:
        on_start(sum(size for _, size in items))

    def check(row: tuple[str, int]) -> Problem | None:
        sha, size = row
        path = case.evidence.path(sha)
        try:
            actual = case.evidence.hash_file(sha)
        except FileNotFoundError:
            return Problem(sha, "missing", f"{path} is missing")
        except OSError as exc:
            return Problem(sha, "missing", f"{path} cannot be read: {exc.strerror}")
        finally:
            if on_item:
                on_item(size)
        if actual != sha:
            return Problem(sha, "altered", f"{path} now hashes to {actual}")
        return None

    with ThreadPoolExecutor(max(1, jobs)) as pool:  # hashlib and file reads release the GIL
        for row, problem in zip(items, pool.map(check, items), strict=True):
            report.checked += 1
            report.bytes += row[1]
            if problem:
                report.problems.append(problem)
    known = {sha for sha, _ in items}
    report.problems.extend(
        Problem(sha, "unregistered", f"{case.evidence.path(sha)} is in the store but not in the "
                "database (an interrupted 'add'; run it again to register the file)")
        for sha in case.evidence.stored_hashes() if sha not in known)
