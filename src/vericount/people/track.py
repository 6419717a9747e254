"""Linking detections of the same person across the sampled frames of one shot (ByteTrack-style).

Each live track predicts its box at the new frame's time (constant velocity from its last two boxes). The
confident detections are matched to the predictions first, greedily by IoU; the weak ones (between
``low_score`` and ``high_score``, which ByteTrack showed are mostly occluded people rather than noise) may
only continue an existing track, never start one. A track unseen for ``max_gap`` seconds ends, and every
track ends at a shot boundary: a cut joins nothing across it. No track library is used: the maintained ones
pull torch or want a detector of their own, and this is the part of them we need.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vericount.people.detect import Detection, iou

Box = tuple[float, float, float, float]


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

    @property
    def start(self) -> float:
        return self.sightings[0].t

    @property
    def end(self) -> float:
        return self.sightings[-1].t

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


@dataclass(frozen=True)
class Tracker:
    high_score: float = 0.45
    low_score: float = 0.25
    iou: float = 0.3
    max_gap: float = 1.0  # seconds a track may go unseen
    min_sightings: int = 2  # shorter tracks are kept only when one sighting is confident
    single_score: float = 0.5

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

    def step(self, t: float, new_shot: bool, detections: list[Detection]) -> dict[int, int]:
        """Add one frame; returns the track id given to each detection index that joined or started one."""
        cfg = self.tracker
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
        for group, may_start in ((high, True), (low, False)):
            pairs = sorted(((iou(tr.predict(t), detections[i].box), n, i)
                            for n, tr in enumerate(unmatched) for i in group), reverse=True)
            used_tracks: set[int] = set()
            for overlap, n, i in pairs:
                if overlap < cfg.iou:
                    break
                if n in used_tracks or i in assigned:
                    continue
                used_tracks.add(n)
                det = detections[i]
                unmatched[n].sightings.append(Sighting(t, det.box, det.score, i))
                assigned[i] = unmatched[n].id
            unmatched = [tr for n, tr in enumerate(unmatched) if n not in used_tracks]
            if may_start:
                for i in group:
                    if i not in assigned:
                        det = detections[i]
                        self.live.append(Track(self.next_id, [Sighting(t, det.box, det.score, i)]))
                        assigned[i] = self.next_id
                        self.next_id += 1
        return assigned

    def finish(self) -> list[Track]:
        cfg = self.tracker
        tracks = self.done + self.live
        kept = [tr for tr in tracks if len(tr.sightings) >= cfg.min_sightings
                or max(s.score for s in tr.sightings) >= cfg.single_score]
        return sorted(kept, key=lambda tr: (tr.start, tr.id))
