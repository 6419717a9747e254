"""Track numbers and the files of tracks, kept safe across re-runs.

``ITEM:NUMBER`` names a track in judgments, certificates and the desk, so a number once issued for an item
is never issued again: a re-run of the people stage keeps the number of a track it finds again exactly
(the same boxes) and gives new numbers to new tracks. Crops and faces are written under names that carry
their content's hash, so writing one never replaces a file that a committed row points at; files no row
points at any more are removed only after the transaction that let go of them commits.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from vericount.store.schema import Judgment, PersonTrack, TrackNumbers

_UNLINK = "vericount.unlink_after_commit"


def issue(session: Session, item_id: str, count: int) -> list[int]:
    """``count`` numbers for new tracks of ``item_id``, never issued before (in this transaction's lock)."""
    row = session.get(TrackNumbers, item_id)
    used = max(
        row.issued if row is not None else 0,
        session.scalar(select(func.max(PersonTrack.number)).where(PersonTrack.item_id == item_id)) or 0,
        session.scalar(select(func.max(Judgment.a_number)).where(Judgment.a_item == item_id)) or 0,
        session.scalar(select(func.max(Judgment.b_number)).where(Judgment.b_item == item_id)) or 0,
    )
    if row is None:
        row = TrackNumbers(item_id=item_id, issued=used)
        session.add(row)
    row.issued = used + count
    return list(range(used + 1, used + count + 1))


def boxes_key(boxes: list[Any]) -> str:
    """A track's sightings as canonical text: two tracks with the same key are the same track."""
    return json.dumps([[round(float(v), 3) for v in box] for box in boxes], separators=(",", ":"))


def write_file(folder: Path, stem: str, data: bytes, derived: Path) -> str:
    """Write ``data`` whole as ``STEM-HASH.jpg`` (temporary name, then rename); the path relative to
    derived/. The same name always holds the same bytes, so no committed row's file is ever replaced."""
    path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:16]}.jpg"
    if not path.is_file():
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        temporary.replace(path)
    return path.relative_to(derived).as_posix()


def unlink_after_commit(session: Session, paths: list[Path]) -> None:
    """Remove these files once the session's transaction commits (never if it rolls back)."""
    session.info.setdefault(_UNLINK, []).extend(paths)


def tidy(folder: Path, derived: Path, referenced: set[str]) -> list[Path]:
    """Files in an item's people folder that no row references (left by a run that failed to commit)."""
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir()
            if p.is_file() and p.relative_to(derived).as_posix() not in referenced]


@event.listens_for(Session, "after_commit")
def _unlink(session: Session) -> None:
    for path in session.info.pop(_UNLINK, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep(session: Session) -> None:
    session.info.pop(_UNLINK, None)
