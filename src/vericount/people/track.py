"""Linking detections of the same person across the sampled frames of one shot (ByteTrack-style, with
appearance).

Each live track predicts its box at the new frame's time (constant velocity from its last two boxes). The
confident detections (``high_score`` and up) are matched to the tracks first, by an optimal (Hungarian)
assignment over a cost that mixes motion and appearance: ``1 - IoU`` of the predicted and detected boxes and,
where the caller gives each detection an appearance descriptor (the stage gives a colour histogram of the
person's box: ``appearance``), the Bhattacharyya distance between it and the track's running descriptor. A
pair may be joined when the boxes overlap by ``iou``, or, for a person who moved further than the constant-
velocity guess (a shaking phone at 4 frames a second, a turn), when the appearance is alike (distance at most
``same_look``) and the detection lies within ``reach`` box heights of where the track was. The weak
detections (between ``low_score`` and ``high_score``: ByteTrack showed those are mostly occluded people)
may then continue the tracks left over, by overlap alone, never start one. A track unseen for ``max_gap``
seconds ends, and every track ends at a shot boundary: a cut joins nothing across it.

The assignment is OR-Tools' linear sum assignment (already a dependency, for the tally's solver). No track
library is used: the maintained ones pull torch or want a detector of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.people.detect import Detection, iou

if TYPE_CHECKING:
    from numpy.typing import NDArray

Box = tuple[float, float, float, float]
_SCALE = 10_000  # costs are integers for the assignment solver


@dataclass
class Sighting:
    t: float
    box: Box
    score: float
    index: int  # position of the detection in its frame's list (to find its crop and face later)


@dataclass
class Track:
    id: int
    sightings: list[Sighting] = field(default_factory=list)
    look: NDArray[np.float32] | None = None  # running appearance descriptor (unit-sum histogram)

    @property
    def start(self) -> float:
        return self.sightings[0].t

    @property
    def end(self) -> float:
        return self.sightings[-1].t

    @property
    def score(self) -> float:
        """How sure the detector was of this person: the mean of the track's best three sightings."""
        best = sorted((s.score for s in self.sightings), reverse=True)[:3]
        return sum(best) / len(best)

    def predict(self, t: float) -> Box:
        last = self.sightings[-1]
        if len(self.sightings) < 2 or t <= last.t:
            return last.box
        before = self.sightings[-2]
        dt = last.t - before.t
        if dt <= 0:
            return last.box
        k = min((t - last.t) / dt, 3.0)  # do not fly off on a long gap
        return tuple(b + k * (b - a) for a, b in zip(before.box, last.box, strict=True))  # type: ignore[return-value]

    def see(self, sighting: Sighting, look: NDArray[np.float32] | None, keep: float) -> None:
        self.sightings.append(sighting)
        if look is not None:
            self.look = look if self.look is None else keep * self.look + (1 - keep) * look


@dataclass(frozen=True)
class Tracker:
    high_score: float = 0.5  # calibrated probability of a person (people/score.py) to start a track
    low_score: float = 0.2
    iou: float = 0.3
    max_gap: float = 1.0  # seconds a track may go unseen
    # A track seen once (a quarter of a second) is kept only when that sighting is this sure: a person's upper
    # half boxed beside the whole person for one frame was the common case (bench/people_video.py)
    min_sightings: int = 2
    single_score: float = 0.95
    appearance: float = 0.5  # weight of the appearance distance in the cost, where there is one
    same_look: float = 0.3  # Bhattacharyya distance under which two looks may join without overlapping
    reach: float = 1.0  # ... when the detection is within this many box heights of the track's last box
    keep: float = 0.8  # a track's descriptor: this much of the old one, the rest from the new sighting

    def params(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def run(self, frames: Iterable[tuple[float, bool, list[Detection]]]) -> list[Track]:
        """Tracks from (time, starts a new shot, detections) per sampled frame, in time order."""
        run = self.start()
        for t, new_shot, detections in frames:
            run.step(t, new_shot, detections)
        return run.finish()

    def start(self) -> TrackingRun:
        """Tracking frame by frame, for a caller that keeps things per track as frames go by."""
        return TrackingRun(self)


class TrackingRun:
    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.live: list[Track] = []
        self.done: list[Track] = []
        self.next_id = 0

    def step(self, t: float, new_shot: bool, detections: list[Detection],
             looks: Sequence[NDArray[np.float32] | None] | None = None) -> dict[int, int]:
        """Add one frame; returns the track id given to each detection index that joined or started one.
        ``looks``: an appearance descriptor per detection (a unit-sum histogram), or None."""
        cfg = self.tracker
        looks = list(looks) if looks is not None else [None] * len(detections)
        if new_shot:
            self.done += self.live
            self.live = []
        ended = [tr for tr in self.live if t - tr.end > cfg.max_gap]
        self.done += ended
        self.live = [tr for tr in self.live if tr not in ended]
        order = sorted(range(len(detections)), key=lambda i: -detections[i].score)
        high = [i for i in order if detections[i].score >= cfg.high_score]
        low = [i for i in order if cfg.low_score <= detections[i].score < cfg.high_score]
        assigned: dict[int, int] = {}
        unmatched = list(self.live)
        for group, may_start, use_look in ((high, True, True), (low, False, False)):
            pairs = _assign([[self._cost(tr, t, detections[i], looks[i] if use_look else None)
                              for i in group] for tr in unmatched])
            used: set[int] = set()
            for n, k in pairs:
                i = group[k]
                det = detections[i]
                unmatched[n].see(Sighting(t, det.box, det.score, i), looks[i], cfg.keep)
                assigned[i] = unmatched[n].id
                used.add(n)
            unmatched = [tr for n, tr in enumerate(unmatched) if n not in used]
            for i in group:
                if i not in assigned and may_start:
                    det = detections[i]
                    self.live.append(Track(self.next_id, [Sighting(t, det.box, det.score, i)], looks[i]))
                    assigned[i] = self.next_id
                    self.next_id += 1
        return assigned

    def _cost(self, track: Track, t: float, det: Detection, look: NDArray[np.float32] | None) -> float | None:
        """The cost of joining ``det`` to ``track`` (0 best, 1 worst), or None where they may not join."""
        cfg = self.tracker
        overlap = iou(track.predict(t), det.box)
        if look is None or track.look is None:
            return 1.0 - overlap if overlap >= cfg.iou else None
        distance = bhattacharyya(track.look, look)
        if overlap < cfg.iou:
            last = track.sightings[-1].box
            height = max(1.0, last[3] - last[1], det.box[3] - det.box[1])
            moved = np.hypot((last[0] + last[2] - det.box[0] - det.box[2]) / 2,
                             (last[1] + last[3] - det.box[1] - det.box[3]) / 2) / height
            if distance > cfg.same_look or moved > cfg.reach:
                return None
        return (1 - cfg.appearance) * (1.0 - overlap) + cfg.appearance * distance

    def finish(self) -> list[Track]:
        cfg = self.tracker
        tracks = self.done + self.live
        kept = [tr for tr in tracks if len(tr.sightings) >= cfg.min_sightings
                or max(s.score for s in tr.sightings) >= cfg.single_score]
        return sorted(kept, key=lambda tr: (tr.start, tr.id))


def bhattacharyya(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Bhattacharyya distance of two unit-sum histograms: 0 the same, 1 nothing in common."""
    return float(np.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(a * b))))))


def appearance(image: NDArray[np.uint8], box: Box) -> NDArray[np.float32] | None:
    """A person's look: a hue-saturation histogram (8 x 4) of the middle of the box (the torso and the
    upper legs, least mixed with the background), plus 4 bins of brightness for the greys a hue cannot tell
    apart; None for a box too small to say anything."""
    import cv2

    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    left, right = int(max(0, x0 + 0.2 * w)), int(min(width, x1 - 0.2 * w))
    top, bottom = int(max(0, y0 + 0.15 * h)), int(min(height, y0 + 0.7 * h))
    if right - left < 4 or bottom - top < 4:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(image[top:bottom, left:right]), cv2.COLOR_RGB2HSV)
    colour = cv2.calcHist([hsv], [0, 1], None, [8, 4], [0, 180, 0, 256]).ravel()
    grey = cv2.calcHist([hsv], [2], None, [4], [0, 256]).ravel()
    hist = np.concatenate([colour / max(1.0, colour.sum()), grey / max(1.0, grey.sum())]).astype(np.float32)
    out: NDArray[np.float32] = hist / hist.sum()
    return out


def _assign(costs: list[list[float | None]]) -> list[tuple[int, int]]:
    """The pairs (row, column) of least total cost, where a None cost may not be chosen and a row or a column
    may stay alone (at the cost of 1 each: any allowed pair costs less than leaving both alone)."""
    rows = len(costs)
    cols = len(costs[0]) if rows else 0
    allowed = [(r, c, v) for r, row in enumerate(costs) for c, v in enumerate(row) if v is not None]
    if not allowed:
        return []
    from ortools.graph.python import linear_sum_assignment

    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    # left: rows, then a stand-in for each column; right: columns, then a stand-in for each row
    for r, c, v in allowed:
        solver.add_arc_with_cost(r, c, round(v * _SCALE))
    for r in range(rows):
        solver.add_arc_with_cost(r, cols + r, _SCALE)  # the row stays alone
    for c in range(cols):
        solver.add_arc_with_cost(rows + c, c, _SCALE)  # the column stays alone
        for r in range(rows):
            solver.add_arc_with_cost(rows + c, cols + r, 0)
    if solver.solve() != solver.OPTIMAL:
        raise RuntimeError("the assignment of detections to tracks found no solution")
    return [(r, solver.right_mate(r)) for r in range(rows) if solver.right_mate(r) < cols]
