"""People in a case: run the stage, read per-item counts and tracks, add a reviewer's marks.

The CLI and the desk call these functions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from vericount.errors import InvalidValue
from vericount.items import resolve
from vericount.people import numbering
from vericount.people.stage import FRAME_SIDE, PeopleStage, _crop, _jpeg, people_folder
from vericount.store.schema import PeopleItem, PersonTrack, utcnow

MAX_MARKS = 50  # points in one mark: more people than this in one frame are a detector's job, not a click's

if TYPE_CHECKING:
    from vericount.case import Case

MARK_WINDOW = 0.125  # a mark counts with the people detected within this many seconds of it


@dataclass
class ItemPeople:
    id: str
    max_people_in_frame: int
    at: float | None
    tracks: int
    faces: int
    marks: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TrackView:
    item: str
    number: int
    source: str
    start: float
    end: float
    boxes: int
    crop: str | None  # path of the best crop, absolute
    has_face: bool
    face_embedding: bool
    face: str | None
    best_t: float
    best_box: list[float]
    marked_by: str | None
    face_t: float | None = None  # when the face was seen (the crop's time when it equals best_t)
    face_box: list[float] | None = None  # in pixels of the frame as sampled
    detector: str | None = None  # the models that made it; None for a mark
    score: float | None = None  # a calibrated probability that it is a person (None: not computed)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summaries(case: Case, ids: list[str] | None = None) -> list[ItemPeople]:
    """Per item the stage has looked at: the most people in one frame (and when), tracks, faces, marks."""
    with case.session() as s:
        query = select(PeopleItem.item_id)
        if ids is not None:
            query = query.where(PeopleItem.item_id.in_(ids))
        looked = set(s.scalars(query))
        marked = set(s.scalars(select(PersonTrack.item_id).where(PersonTrack.source == "mark")))
        wanted = looked | (marked & set(ids) if ids is not None else marked)
        by_item: dict[str, list[PersonTrack]] = defaultdict(list)
        if wanted:
            for track in s.scalars(select(PersonTrack).where(PersonTrack.item_id.in_(wanted))):
                by_item[track.item_id].append(track)
        return [_summary(item_id, by_item[item_id]) for item_id in sorted(wanted)]


def _summary(item_id: str, tracks: list[PersonTrack]) -> ItemPeople:
    counts: dict[float, int] = defaultdict(int)
    for track in tracks:
        if track.source == "detector":
            for t in {round(box[0], 3) for box in track.boxes}:
                counts[t] += 1
    marks = [t for t in tracks if t.source == "mark"]
    for mark in marks:
        near = [t for t in counts if abs(t - mark.start) <= MARK_WINDOW]
        for t in near or [round(mark.start, 3)]:
            counts[t] += 1
    at, most = (max(counts.items(), key=lambda kv: (kv[1], -kv[0])) if counts else (None, 0))
    return ItemPeople(item_id, most, at, sum(t.source == "detector" for t in tracks),
                      sum(t.face is not None for t in tracks), len(marks))


def list_tracks(case: Case, ref: str) -> list[TrackView]:
    with case.session() as s:
        item = resolve(s, ref)
        rows = s.scalars(select(PersonTrack).where(PersonTrack.item_id == item.id)
                         .order_by(PersonTrack.number))
        return [_view(case, row) for row in rows]


def _view(case: Case, row: PersonTrack) -> TrackView:
    return TrackView(row.item_id, row.number, row.source, row.start, row.end, len(row.boxes),
                     str(case.derived / row.crop) if row.crop else None, row.face is not None,
                     row.face_embedding is not None, str(case.derived / row.face) if row.face else None,
                     row.best_t, list(row.best_box), row.marked_by, row.face_t,
                     list(row.face_box) if row.face_box else None, row.detector, row.score)


def mark(case: Case, ref: str, t: float, points: list[tuple[float, float]]) -> list[TrackView]:
    """People a reviewer sees at time ``t`` that the detector missed; each point (x, y as fractions of the
    frame's width and height, 0,0 top left) becomes a one-frame track with a crop around it."""
    if not points:
        raise InvalidValue("give at least one X Y point to mark")
    if len(points) > MAX_MARKS:
        raise InvalidValue(f"{len(points)} points in one mark: at most {MAX_MARKS} at a time")
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise InvalidValue(f"point {x:g} {y:g}: X and Y are fractions of the frame (0 to 1)")
    if t < 0 or not np.isfinite(t):
        raise InvalidValue(f"--time {t:g}: must be a time in seconds from the start, 0 or more")
    with case.session() as s:
        item = resolve(s, ref)
        kind, path = item.kind, case.evidence.path(item.id)
    if kind not in ("image", "video"):
        raise InvalidValue(f"{ref}: a {kind} item has no frames to mark")
    frame_t, image = frame_at(path, kind, t)
    height, width = image.shape[:2]
    views = []
    from vericount.people.body import BodyEmbedder

    with case.session() as s:
        item = resolve(s, ref)
        numbers = numbering.issue(s, item.id, len(points))
        folder = people_folder(case.derived, item.id)
        folder.mkdir(parents=True, exist_ok=True)
        for number, (x, y) in zip(numbers, points, strict=True):
            cx, cy = x * width, y * height
            half_w, half_h = 0.06 * width, 0.15 * height  # a nominal person-sized box around the point
            box = (max(0.0, cx - half_w), max(0.0, cy - half_h), min(float(width), cx + half_w),
                   min(float(height), cy + half_h))
            crop = _crop(image, box, 0.0)
            rel = numbering.write_file(folder, f"mark-{number}", _jpeg(crop), case.derived)
            body = BodyEmbedder().embed([crop])[0]
            row = PersonTrack(
                item_id=item.id, number=number, source="mark", start=frame_t, end=frame_t, frame_width=width,
                frame_height=height, boxes=[[round(frame_t, 3), *(round(v, 1) for v in box), 1.0]],
                best_t=round(frame_t, 3), best_box=[round(v, 1) for v in box], crop=rel, face_t=None,
                face_box=None, face_size=None, face_sharpness=None, face=None, face_embedding=None,
                body_embedding=body.astype(np.float32).tobytes(), marked_by=case.actor, created_at=utcnow())
            s.add(row)
            s.flush()
            case.record(s, "people.mark", item.id, number=number, time=round(frame_t, 3),
                        point=[round(x, 4), round(y, 4)])
            views.append(_view(case, row))
    return views


def frame_at(path: Path, kind: str, t: float) -> tuple[float, Any]:
    """The first frame at or after ``t`` (the last one if ``t`` is past the end), as the stage sees it."""
    from vericount.media.frames import Sampler

    sampler = Sampler(max_side=FRAME_SIDE, skip_unneeded=False, at=t)
    last = None
    for frame in sampler.frames(path, kind):
        last = frame
    if last is None:
        raise InvalidValue(f"{path.name}: no frame to mark")
    return float(last.t), last.image


__all__ = ["ItemPeople", "PeopleStage", "TrackView", "list_tracks", "mark", "summaries"]
