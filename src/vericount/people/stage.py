"""The ``people`` stage: detect, track and describe every person in an item.

In a worker: frames from the shared sampler (4 a second for video, upright, at most 1280 pixels), people
found by the detectors (whole frame plus tiles, fused and scored: people/fuse.py, people/score.py), linked
into tracks within shots (people/track.py), faces found by CenterFace on the frame and, enlarged, in the
heads of the small people (every ``face_every`` seconds), each given to the track whose box holds it. Each
track keeps its boxes, its calibrated score, its best crop (largest box times score) and its best face (size,
then sharpness), a dlib identity embedding of that face when it is large enough to mean something, and an
appearance embedding of the crop. A photo is one frame: each person found is a one-sighting track.

In the case's process (save): the tracks replace the item's earlier detector tracks (marks stay; a track found
again exactly keeps its number, a new one gets a number never used before: people/numbering.py), crops
are written under derived/people/.
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.media.frames import Sampler, SampleStats
from vericount.people.track import Sighting, Track, Tracker, appearance
from vericount.run.stage import Stage, Task

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy.orm import Session

    from vericount.people.detect import Detector
    from vericount.people.fuse import FusedDetector
    from vericount.people.layouts import DetectorModel
    from vericount.store.schema import Item

PEOPLE_FPS = 4.0
FRAME_SIDE = 1280


@dataclass
class FoundTrack:
    number: int
    boxes: list[list[float]]  # [t, x0, y0, x1, y1, score]
    best_t: float
    best_box: list[float]
    crop_jpeg: bytes
    score: float  # how sure the detector is that this is a person (people/score.py; Track.score)
    face_t: float | None = None
    face_box: list[float] | None = None  # in frame pixels
    face_size: int | None = None
    face_sharpness: float | None = None
    face_jpeg: bytes | None = None
    face_embedding: bytes | None = None  # 128 float32 (dlib)
    body_embedding: bytes | None = None  # 1280 float32
    detector: str | None = None  # the models that made it (tracks.detector)


@dataclass
class PeopleResult:
    frames: int
    shots: int
    detector: str
    detections: int
    frame_size: tuple[int, int]
    tracks: list[FoundTrack] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Best:
    quality: float
    t: float
    box: tuple[float, float, float, float]
    crop: NDArray[np.uint8]


@dataclass
class _BestFace:
    quality: float
    t: float
    box: tuple[float, float, float, float]  # in frame pixels
    size: int
    sharpness: float
    region: NDArray[np.uint8]  # the face with a margin, for the embedding
    region_box: tuple[float, float, float, float]  # the face box inside region


class PeopleStage(Stage[PeopleResult]):
    name = "people"
    version = "3"  # 2: NanoDet-m and SSD-MobileNetV2 fused; 3: calibrated scores, appearance in tracking
    needs = ("metadata",)

    def __init__(self, detector: DetectorModel | None = None, fps: float = PEOPLE_FPS,
                 face_every: float = 0.5) -> None:
        self.detector = detector  # an added model (models/registry.py); None: the bundled pair
        self.sampler = Sampler(fps=fps, max_side=FRAME_SIDE)
        self.tracker = Tracker()
        self.face_every = face_every

    def params(self) -> dict[str, Any]:
        from vericount.people.detect import Tiler

        return {"sampler": self.sampler.params(), "tracker": self.tracker.params(), "tiler": Tiler().params(),
                "detector": self.detector.params() if self.detector else _bundled_params(),
                "face_every": self.face_every, "faces_in_boxes": _faces_in_boxes()}  # fmt: skip

    def accepts(self, item: Item) -> bool:
        return item.kind in ("image", "video")

    def _detector(self) -> Detector:
        from vericount.people.fuse import FusedDetector

        if self.detector:
            fused: Detector = FusedDetector([self.detector.open()], flip=False, min_score=0.0)
            return fused
        return _bundled()

    def compute(self, task: Task) -> PeopleResult:
        from vericount.people.faces import FaceDetector, face_quality

        detector = self._detector()
        faces = FaceDetector()
        run = self.tracker.start()
        stats = SampleStats()
        best: dict[int, _Best] = {}
        best_face: dict[int, _BestFace] = {}
        frames = detections = 0
        next_face = 0.0
        size = (0, 0)
        is_image = task.kind == "image"
        photo_tracks: list[Track] = []
        from_faces: set[int] = set()  # tracks holding a box that a face stood for (CenterFace)
        for frame in self.sampler.frames(task.path, task.kind, stats):
            frames += 1
            image = frame.image
            size = (image.shape[1], image.shape[0])
            found = detector.detect(image)  # the fused detector tiles large frames itself
            by_detector = len(found)
            frame_faces = None
            if frame.t + 1e-6 >= next_face or is_image:
                next_face = frame.t + self.face_every
                frame_faces = faces.detect(image)
                frame_faces += faces.detect_in(image, [d.box for d in found], frame_faces)  # small people's
                found = found + _people_from_faces(frame_faces, found, image.shape[1], image.shape[0])
            detections += len(found)
            if is_image:  # one frame: each person found is a track of one sighting, all of them count
                assigned = {i: i for i in range(len(found))}
                photo_tracks = [Track(i, [Sighting(frame.t, det.box, det.score, i)])
                                for i, det in enumerate(found)]
            else:
                assigned = run.step(frame.t, frame.reason in ("first", "shot"), found,
                                    [appearance(image, det.box) for det in found])
            from_faces.update(track_id for i, track_id in assigned.items() if i >= by_detector)
            for i, track_id in assigned.items():
                det = found[i]
                quality = det.area * det.score
                if track_id not in best or quality > best[track_id].quality:
                    best[track_id] = _Best(quality, frame.t, det.box, _crop(image, det.box, 0.05))
            for face in frame_faces or []:
                owner = _owner(face.box, [(track_id, found[i].box) for i, track_id in assigned.items()],
                               image.shape[1], image.shape[0])
                if owner is None:
                    continue
                q = face_quality(image, face.box)
                score = min(q["size"], 160) * math.log1p(q["sharpness"])
                if owner not in best_face or score > best_face[owner].quality:
                    region, inner = _face_region(image, face.box)
                    best_face[owner] = _BestFace(score, frame.t, face.box, q["size"], q["sharpness"],
                                                 region, inner)
        tracks = photo_tracks if is_image else run.finish()
        result = PeopleResult(frames, len(stats.shots), getattr(detector, "name", "detector"), detections,
                              size, warnings=list(stats.warnings))
        result.tracks = self._describe(tracks, best, best_face)
        for tr, described in zip(tracks, result.tracks, strict=True):
            described.detector = result.detector + ("+centerface" if tr.id in from_faces else "")
        return result

    def _describe(self, tracks: list[Any], best: dict[int, _Best],
                  best_face: dict[int, _BestFace]) -> list[FoundTrack]:
        from vericount.errors import FaceError
        from vericount.people.body import BodyEmbedder
        from vericount.people.faces import MIN_FACE_PIXELS, FaceEmbedder

        out: list[FoundTrack] = []
        crops = [best[tr.id].crop for tr in tracks]
        bodies = BodyEmbedder().embed(crops) if crops else np.zeros((0, 1280), np.float32)
        embedder = FaceEmbedder()
        for number, (tr, body) in enumerate(zip(tracks, bodies, strict=True), start=1):
            chosen = best[tr.id]
            found = FoundTrack(
                number=number, score=round(tr.score, 3),
                boxes=[[round(s.t, 3), *(round(v, 1) for v in s.box), round(s.score, 3)]
                       for s in tr.sightings],
                best_t=round(chosen.t, 3), best_box=[round(v, 1) for v in chosen.box],
                crop_jpeg=_jpeg(chosen.crop), body_embedding=body.astype(np.float32).tobytes())
            face = best_face.get(tr.id)
            if face is not None:
                found.face_t, found.face_box = round(face.t, 3), [round(v, 1) for v in face.box]
                found.face_size, found.face_sharpness = face.size, round(face.sharpness, 1)
                found.face_jpeg = _jpeg(face.region)
                if face.size >= MIN_FACE_PIXELS:
                    with contextlib.suppress(FaceError):
                        found.face_embedding = embedder.embed(face.region, face.region_box).tobytes()
            out.append(found)
        return out

    def save(self, session: Session, item: Item, result: PeopleResult) -> str | None:
        """Replace the item's detector tracks with these (a reviewer's marks stay, numbers and all).

        A track found again exactly keeps its number; a new one gets a number never issued before, so a
        judgment never moves to another person. New files never replace old ones, and the old ones go only
        once this transaction commits: a failed save leaves the committed tracks and their crops as they
        were."""
        from sqlalchemy import select

        from vericount.people import numbering
        from vericount.store.schema import PeopleItem, PersonTrack, utcnow

        derived: Path = session.info["derived"]
        folder = people_folder(derived, item.id)
        rows = list(session.scalars(select(PersonTrack).where(PersonTrack.item_id == item.id)))
        old = {numbering.boxes_key(r.boxes): r for r in rows if r.source == "detector"}
        kept = [r for r in rows if r.source == "mark"]
        found_again = [old.pop(numbering.boxes_key(f.boxes), None) for f in result.tracks]
        for gone in old.values():
            session.delete(gone)
        session.flush()
        fresh = iter(numbering.issue(session, item.id, sum(r is None for r in found_again)))
        folder.mkdir(parents=True, exist_ok=True)
        for found, again in zip(result.tracks, found_again, strict=True):
            row = again or PersonTrack(item_id=item.id, number=next(fresh), source="detector", marked_by=None)
            session.add(row)
            number = row.number
            row.start, row.end = found.boxes[0][0], found.boxes[-1][0]
            row.frame_width, row.frame_height = result.frame_size
            row.boxes, row.best_t, row.best_box = found.boxes, found.best_t, found.best_box
            row.crop = numbering.write_file(folder, f"track-{number}", found.crop_jpeg, derived)
            row.face = (numbering.write_file(folder, f"track-{number}-face", found.face_jpeg, derived)
                        if found.face_jpeg else None)
            row.face_t, row.face_box, row.face_size = found.face_t, found.face_box, found.face_size
            row.face_sharpness, row.face_embedding = found.face_sharpness, found.face_embedding
            row.body_embedding, row.created_at = found.body_embedding, utcnow()
            row.detector, row.score = found.detector, found.score
            kept.append(row)
        referenced = {path for r in kept for path in (r.crop, r.face) if path}
        numbering.unlink_after_commit(session, numbering.tidy(folder, derived, referenced))
        summary = session.get(PeopleItem, item.id) or PeopleItem(item_id=item.id)
        summary.frames, summary.shots, summary.detector = result.frames, result.shots, result.detector
        summary.detections = result.detections
        session.add(summary)
        return "; ".join(result.warnings) or None


PROPOSAL_SCORE = 0.25  # a fused box is proposed from this calibrated score (people/score.py)


def _bundled() -> FusedDetector:
    """The bundled detectors fused, with the calibrated score. Both models propose from 0.05 (the scorer
    was fitted on their boxes from there); a fused box is a proposal from a calibrated score of 0.25 (the
    mean of the two models' scores about 0.19). bench/people_calibrate.py chose it on ../shared/data, and
    bench/people_proposals.py measures it: 22 of the 23 annotated people at precision 0.957, 94 of all 111
    people boxed there at 0.832, the five crowd frames within 10% of a count by eye (37, 10, 3, 4, 2 against
    39, 10, 3, 4, 2). A mirrored pass found more of the 111 but flooded the overhead crowd (46 against 39),
    so it is off."""
    from vericount.people.detect import NanoDet
    from vericount.people.fuse import FusedDetector
    from vericount.people.score import CalibratedScore
    from vericount.people.ssd import SsdMobileNet

    return FusedDetector([NanoDet(min_score=0.05), SsdMobileNet(min_score=0.05)], min_score=PROPOSAL_SCORE,
                         scorer=CalibratedScore())


def _bundled_params() -> dict[str, Any]:
    from vericount.models.catalog import sha256_of

    params = _bundled().params()
    params["sha256"] = sha256_of(*params["detectors"])  # a changed file runs every item again
    return params


def _faces_in_boxes() -> dict[str, Any]:
    from vericount.people import faces

    return {"person_pixels": [faces.MIN_PERSON, faces.SMALL_PERSON], "zoom": faces.HEAD_ZOOM,
            "cell": faces.HEAD_CELL, "max_heads": faces.MAX_HEADS}


def people_folder(derived: Path, item_id: str) -> Path:
    return derived / "people" / item_id[:2] / item_id


def _crop(image: NDArray[np.uint8], box: tuple[float, float, float, float], margin: float
          ) -> NDArray[np.uint8]:
    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    left, top = max(0, int(x0 - mx)), max(0, int(y0 - my))
    right, bottom = min(width, math.ceil(x1 + mx)), min(height, math.ceil(y1 + my))
    if right - left < 1 or bottom - top < 1:  # a box on the frame's edge: one pixel rather than nothing
        left, top = min(max(0, int(x0)), width - 1), min(max(0, int(y0)), height - 1)
        right, bottom = left + 1, top + 1
    return np.ascontiguousarray(image[top:bottom, left:right])


def _face_region(image: NDArray[np.uint8], box: tuple[float, float, float, float]
                 ) -> tuple[NDArray[np.uint8], tuple[float, float, float, float]]:
    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    left, top = max(0, int(x0 - w)), max(0, int(y0 - h))
    right, bottom = min(width, math.ceil(x1 + w)), min(height, math.ceil(y1 + h))
    region = np.ascontiguousarray(image[top:bottom, left:right])
    return region, (x0 - left, y0 - top, x1 - left, y1 - top)


ORPHAN_FACE_SCORE = 0.7  # a face no person box holds is a person of its own when this sure


def _people_from_faces(faces: list[Any], people: list[Any], width: int, height: int) -> list[Any]:
    """A person for each confident face that no detected person holds (a close-up, a head in a crowd):
    head and shoulders, three face-widths wide and three face-heights tall from the top of the face."""
    from vericount.people.detect import Detection

    out = []
    boxes = [(i, d.box) for i, d in enumerate(people)]
    for face in faces:
        if face.score < ORPHAN_FACE_SCORE or _owner(face.box, boxes, width, height) is not None:
            continue
        out.append(Detection(_head_and_shoulders(face.box, width, height), float(face.score)))
    return out


def _head_and_shoulders(face: tuple[float, float, float, float], width: int, height: int
                        ) -> tuple[float, float, float, float]:
    """The person a face stands for: three face-widths wide, three face-heights tall from its top."""
    x0, y0, x1, y1 = face
    w, h = x1 - x0, y1 - y0
    return (max(0.0, x0 - w), max(0.0, y0 - 0.2 * h), min(float(width), x1 + w),
            min(float(height), y0 + 2.8 * h))


CLOSE_UP_IOU = 0.5  # a person box this like a face's head and shoulders is that face's person (a close-up)


Box = tuple[float, float, float, float]


def _owner(face: Box, people: list[tuple[int, Box]], width: int, height: int) -> int | None:
    """The track whose box holds the face's centre in its upper half (the smallest such box); else, in a
    close-up, where the person box is head and shoulders, the box most like the face's head and shoulders."""
    from vericount.people.detect import iou

    cx, cy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    holders = [(area, track_id) for track_id, (x0, y0, x1, y1) in people
               if x0 <= cx <= x1 and y0 <= cy <= y0 + 0.5 * (y1 - y0)
               for area in [(x1 - x0) * (y1 - y0)]]
    if holders:
        return min(holders)[1]
    head = _head_and_shoulders(face, width, height)
    close = max(((iou(head, box), track_id) for track_id, box in people), default=(0.0, None))
    return close[1] if close[0] >= CLOSE_UP_IOU else None


def _jpeg(image: NDArray[np.uint8]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=90)
    return out.getvalue()
