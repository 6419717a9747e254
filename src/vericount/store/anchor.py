"""The custody log's head, anchored outside the database.

After every committed transaction that appended audit events, the log's head (how many events, the last
one's id, hash and time) is written where someone who edits the database must also change it:

    DIR/anchors.log   one JSON line per head, appended (so rewriting the whole chain contradicts every
                      earlier head too)
    DIR/case.json     ``audit_head``: the newest head (the largest count: a process that lost the race to
                      the file never puts an older head over a newer one)

Writers are serialised by an exclusive ``flock`` on anchors.log, so the desk's worker processes (SQLite or
PostgreSQL alike: the case folder is always local) never interleave. ``vericount verify`` compares the
database's chain with every anchored head, and with a head recorded elsewhere (``--expect-head``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vericount.errors import InvalidValue

ANCHORS = "anchors.log"
CASE_FILE = "case.json"
_HEX64 = re.compile(r"[0-9a-f]{64}")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Head:
    """The custody log's head: ``count`` events, the last with id ``id``, hash ``hash``, time ``at``."""

    count: int
    id: int
    hash: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "id": self.id, "hash": self.hash, "at": self.at}

    @property
    def text(self) -> str:
        """COUNT:HASH, as ``--expect-head`` takes it."""
        return f"{self.count}:{self.hash}"

    @classmethod
    def from_json(cls, value: Any) -> Head:
        if not isinstance(value, dict):
            value = {}
        count, id_, digest, at = value.get("count"), value.get("id"), value.get("hash"), value.get("at")
        if not (isinstance(count, int) and isinstance(id_, int) and isinstance(digest, str)
                and _HEX64.fullmatch(digest) and isinstance(at, str)):
            raise ValueError("needs count, id, hash (64 hex digits) and at")
        return cls(count, id_, digest, at)


@dataclass(frozen=True)
class Expected:
    """A head recorded elsewhere (``--expect-head COUNT:HASH`` or ``HASH``)."""

    count: int | None
    hash: str

    @property
    def text(self) -> str:
        return self.hash if self.count is None else f"{self.count}:{self.hash}"


def parse_expected(value: str) -> Expected:
    count, sep, digest = value.strip().lower().rpartition(":")
    if (sep and not count.isdigit()) or not _HEX64.fullmatch(digest):
        raise InvalidValue(f"--expect-head {value!r}: give COUNT:HASH (or HASH) as `vericount verify` "
                           "prints it")
    return Expected(int(count) if sep else None, digest)


@dataclass
class Anchors:
    """What the case folder says about the log's head."""

    case_file: Head | None = None  # case.json's audit_head
    log: list[Head] | None = None  # anchors.log's heads (None: no anchors.log)
    problems: list[str] = field(default_factory=list)  # lines or entries that could not be read

@contextmanager
def _locked(root: Path) -> Iterator[TextIO]:
    """anchors.log, open for appending, under an exclusive lock (every writer of anchors.log and case.json
    takes it)."""
    with (root / ANCHORS).open("a", encoding="utf-8") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released when the file is closed
        yield f


def write(root: Path, head: Head) -> None:
    """Anchor ``head``: append it to anchors.log and, when it is newer than case.json's, put it there."""
    with _locked(root) as f:
        f.write(json.dumps(head.to_json(), separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())
        path = root / CASE_FILE
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return  # a case being created: Case.create writes case.json with the head itself
        current = info.get("audit_head")
        if isinstance(current, dict) and isinstance(current.get("count"), int) and \
                current["count"] >= head.count:
            return
        info["audit_head"] = head.to_json()
        replace_json(path, info, sync=False)  # anchors.log, fsynced, is the record; this is its newest


def update_case_file(root: Path, **values: Any) -> None:
    """Set keys of case.json, serialised with the anchor writers (which rewrite it too)."""
    with _locked(root):
        path = root / CASE_FILE
        info = json.loads(path.read_text(encoding="utf-8"))
        info.update(values)
        replace_json(path, info)


def write_quietly(root: Path, head: Head) -> None:
    """``write``, after a commit: a failure is logged, never raised (the change itself is committed;
    ``vericount verify`` says which events were never anchored)."""
    try:
        write(root, head)
    except (OSError, ValueError) as exc:
        log.warning("the custody log's head (%s) could not be anchored in %s: %s", head.text, root, exc)


def replace_json(path: Path, info: dict[str, Any], sync: bool = True) -> None:
    """Write a JSON file whole: a temporary file (fsynced unless ``sync`` is False), renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps(info, indent=2) + "\n")
            if sync:
                f.flush()
                os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def last_logged(root: Path) -> Head | None:
    """The newest head in anchors.log (the largest count), or None."""
    heads = read(root).log or []
    return max(heads, key=lambda h: h.count) if heads else None


def read(root: Path) -> Anchors:
    out = Anchors()
    try:
        info = json.loads((root / CASE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    if isinstance(info, dict) and info.get("audit_head") is not None:
        try:
            out.case_file = Head.from_json(info["audit_head"])
        except ValueError as exc:
            out.problems.append(f"{CASE_FILE}: audit_head is not a head ({exc})")
    try:
        with (root / ANCHORS).open(encoding="utf-8") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH)  # not half a line of a writer
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    out.log = []
    for number, line in enumerate(lines, 1):
        try:
            out.log.append(Head.from_json(json.loads(line)))
        except ValueError as exc:
            out.problems.append(f"{ANCHORS} line {number}: not a head ({exc})")
    return out


@dataclass(frozen=True)
class Seen:
    """One event as the chain pass saw it: its position (1-based) and hash."""

    position: int
    id: int
    hash: str


def check_heads(heads: Iterable[tuple[str, Head]], by_id: dict[int, Seen], count: int,
                last_id: int | None) -> list[str]:
    """Each anchored head (with where it was read) against the chain: ``by_id`` holds what the chain pass
    saw at the heads' ids, ``count`` and ``last_id`` what it ends with. One line per kind of problem (the
    head that shows it best, and how many more do)."""
    found: dict[str, list[str]] = {}
    for where, head in sorted(heads, key=lambda wh: (wh[1].count, wh[1].id)):
        seen = by_id.get(head.id)
        anchored = f"anchored in {where} as head {head.text} at {head.at}"
        if seen is None:
            if count < head.count:
                end = f"event {last_id}" if last_id is not None else "nothing"
                kind, line = "deleted", (f"the log ends at {end} ({count} events) but {head.count} events "
                                         f"were anchored ({anchored}): events were deleted")
            else:
                kind, line = "missing", (f"event {head.id} is not in the log but was {anchored}: it was "
                                         "deleted")
        elif seen.hash != head.hash:
            kind, line = "rewritten", (f"event {head.id} has hash {seen.hash} but was {anchored}: the log "
                                       "was rewritten (or events deleted and others put in their place)")
        elif seen.position != head.count:
            kind, line = "moved", (f"event {head.id} is event number {seen.position} of the log but was "
                                   f"{anchored}: events before it were deleted or inserted")
        else:
            continue
        found.setdefault(kind, []).append(line)
    out = []
    for kind, lines in found.items():
        # deleted: the newest head says how many events there were; otherwise the earliest says where
        line, other = (lines[-1], "earlier") if kind == "deleted" else (lines[0], "later")
        more = f" (and {len(lines) - 1} {other} anchored head(s) disagree too)" if len(lines) > 1 else ""
        out.append(line + more)
    return out


def check_expected(expected: Expected, by_position: dict[int, Seen], by_hash: dict[str, Seen],
                   count: int) -> str | None:
    """A head recorded elsewhere against the chain (None: the chain holds it where it was recorded)."""
    if expected.count is None:
        if expected.hash in by_hash:
            return None
        return f"no event of the log has hash {expected.hash} (--expect-head): the log was rewritten"
    seen = by_position.get(expected.count)
    if seen is None:
        return (f"the log has {count} events but {expected.count} were recorded (--expect-head "
                f"{expected.text}): events were deleted")
    if seen.hash != expected.hash:
        return (f"event number {expected.count} of the log has hash {seen.hash}, not {expected.hash} "
                "(--expect-head): the log was rewritten")
    return None
