"""Per-frame fingerprints of an item: PDQ on every sampled frame, ORB local features on keyframes.

Each sampled frame is trimmed of black or flat borders (letterbox, pillarbox, the bars of a screen recording)
and hashed with PDQ (PyPI ``pdqhash``). The eight dihedral variants (rotations and mirrors) of each hash are
kept so a mirrored or rotated copy matches; the index holds only variant 0 of stored frames and queries
with all eight. Frames whose PDQ quality is below ``min_quality`` (flat, black, featureless) are kept but
not used for matching.

PDQ does not survive crops (a 5% crop moves a hash 60+ bits), so keyframes (the first and last frame, the
first frame of each shot, and one every ``local_every`` seconds) also get ORB features (OpenCV) that a
geometric check can match under cropping, overlays, scaling and screen-recording frames.

A fixed camera shows the same background all day: two stretches of its footage hours apart share every
feature of the room. So each keyframe's features that stand still are marked ``static``: a feature with a
near-identical descriptor at the same place in a keyframe of the same shot at least ``static_gap`` seconds
away (up to ``static_keys`` such keyframes, spread over the shot, are looked at). What is left moves: the
people, the traffic, the camera itself when it moves (then nothing is static). The matcher asks for moving
features among the evidence before it confirms two clips as one footage (reposts/match.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.media.frames import Sampler, SampleStats
from vericount.reposts.keyframes import Keyframes, KeyParams, stack

if TYPE_CHECKING:
    from numpy.typing import NDArray

HASH_BYTES = 32
VARIANTS = 8
REPOSTS_FPS = 2.0


@dataclass
class Mirrored:
    """The keyframes' ORB features found on the mirrored picture (ORB is not mirror-invariant): used to
    query the index, never stored in it, so that a mirrored copy that is also cropped or captioned (where
    PDQ's mirrored hash no longer reaches) is found by its local features."""

    offsets: NDArray[np.int32]  # k + 1, as Fingerprint.key_offsets
    points: NDArray[np.float32]  # in the mirrored keyframe
    descriptors: NDArray[np.uint8]
    static: NDArray[np.bool_]


@dataclass
class Fingerprint:
    kind: str  # image | video
    times: NDArray[np.float32]  # n, seconds
    hashes: NDArray[np.uint8]  # n x 8 x 32: PDQ of each frame, dihedral variants (variant 0 as seen)
    quality: NDArray[np.uint8]  # n, PDQ quality 0-100
    duration: float
    decoded: int
    shots: int
    min_quality: int
    warnings: list[str]
    key_times: NDArray[np.float32]  # k keyframes with local features
    key_offsets: NDArray[np.int32]  # k + 1: keyframe i owns points[key_offsets[i]:key_offsets[i+1]]
    points: NDArray[np.float32]  # m x 2, pixel positions in the keyframe's content box
    key_sizes: NDArray[np.float32]  # k x 2, width and height of each keyframe's content box (as scaled)
    descriptors: NDArray[np.uint8]  # m x 32, ORB
    static: NDArray[np.bool_] | None = None  # m: the feature stands still in the clip (None: not known)
    mirrored: Mirrored | None = None

    @property
    def usable(self) -> NDArray[np.bool_]:
        mask: NDArray[np.bool_] = self.quality >= self.min_quality
        return mask

    @property
    def dropped(self) -> int:
        return int((~self.usable).sum())

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        arrays: dict[str, Any] = {
            "times": self.times, "hashes": self.hashes, "quality": self.quality, "key_times": self.key_times,
            "key_offsets": self.key_offsets, "points": self.points, "key_sizes": self.key_sizes,
            "descriptors": self.descriptors}
        if self.static is not None:
            arrays["static"] = self.static
        if self.mirrored is not None:
            arrays.update({"mirror_offsets": self.mirrored.offsets, "mirror_points": self.mirrored.points,
                           "mirror_descriptors": self.mirrored.descriptors,
                           "mirror_static": self.mirrored.static})
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, *, kind: str, duration: float, decoded: int, shots: int,
                   min_quality: int) -> Fingerprint:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            mirrored = Mirrored(data["mirror_offsets"], data["mirror_points"], data["mirror_descriptors"],
                                data["mirror_static"]) if "mirror_offsets" in data.files else None
            return cls(kind, data["times"], data["hashes"], data["quality"], duration, decoded, shots,
                       min_quality, [], data["key_times"], data["key_offsets"], data["points"],
                       data["key_sizes"], data["descriptors"],
                       data["static"] if "static" in data.files else None, mirrored)


@dataclass(frozen=True)
class Fingerprinter:
    # 2 frames a second, not the sampler's default 1: PDQ moves 70 bits in 0.1 s of fast motion, and an
    # excerpt cut off the sampling grid was missed at 1 fps (bench/reposts.py: excerpt recall 0.875 at 1 fps,
    # 1.000 at 2 fps).
    # grey frames (PDQ and ORB read luma only) at most 384 pixels (ORB's side): converting and scaling them
    # costs less than the shared sampler's RGB at 512
    sampler: Sampler = field(default_factory=lambda: Sampler(fps=REPOSTS_FPS, max_side=384, grey=True))
    min_quality: int = 50
    flat_tolerance: int = 12  # grey levels: a border row or column is this close to its own median...
    flat_share: float = 0.95  # ...over this share of its pixels
    # Never trim more than this share of a side, and keep at least min_content of each: a phone's screen
    # recording of a small clip (40% of its width, a 16:9 clip in a 9:16 frame) leaves the picture 13% of
    # the frame's height, a little above the middle, between bars, a handle, a like counter and a caption.
    max_border: float = 0.8
    min_content: float = 0.1
    local_every: float = 3.0  # seconds between keyframes within a shot
    keys: KeyParams = field(default_factory=KeyParams)  # their ORB features (reposts/keyframes.py)
    # The content is averaged down to this square for PDQ, the same for every copy: PDQ's own first step
    # is a box filter down to 64 x 64, so hashing 64 x 64 costs a third of 320 x 320 (0.43 against 1.24 ms)
    # and a mirrored copy's flipped hash is exact (0 bits off; 2-4 at 320, 22-38 at 128-256).
    hash_side: int = 64
    # A sampled frame whose grey thumbnail (128 pixels on its longer side, the one the border trim reads)
    # differs from the last frame hashed by less than this (grey levels, mean absolute) keeps that frame's
    # borders and hash: a fixed camera on an empty room, a still shot.
    still: float = 1.0

    def params(self) -> dict[str, Any]:
        return {"sampler": self.sampler.params(), "min_quality": self.min_quality,
                "flat_tolerance": self.flat_tolerance, "flat_share": self.flat_share,
                "max_border": self.max_border, "min_content": self.min_content, "hash": "pdq-dihedral",
                "local": "orb+mirror", "local_every": self.local_every, "keys": dict(self.keys.__dict__),
                "hash_side": self.hash_side, "still": self.still}  # fmt: skip

    def fingerprint(self, path: Path, kind: str) -> Fingerprint:
        import cv2
        import pdqhash

        cv2.setNumThreads(1)
        stats = SampleStats()
        times: list[float] = []
        hashes: list[NDArray[np.uint8]] = []
        quality: list[int] = []
        keys = Keyframes(self.keys)
        next_key = 0.0
        shot, previous, box = -1, None, (0, 0, 0, 0)
        for frame in self.sampler.frames(path, kind, stats):
            if len(stats.shots) != shot:
                shot, previous = len(stats.shots), None
            small = self._small(cv2, frame.image)
            still = (frame.reason == "rate" and previous is not None and previous.shape == small.shape
                     and float(np.abs(small - previous).mean()) < self.still)
            if not still:
                previous = small
                box = self._scaled_box(small, frame.image.shape)  # each frame's own: copies trim alike
            top, bottom, left, right = box
            content = np.ascontiguousarray(frame.image[top:bottom, left:right])
            if still:  # nothing changed since the last frame hashed: the same hash
                hashes.append(hashes[-1])
                quality.append(quality[-1])
            else:
                variants, q = pdqhash.compute_dihedral(self._canonical(cv2, content))
                hashes.append(np.packbits(np.asarray(variants, dtype=np.uint8), axis=1))
                quality.append(int(q))
            times.append(frame.t)
            if frame.reason != "rate" or frame.t + 1e-6 >= next_key:
                next_key = frame.t + self.local_every
                keys.add(frame.t, shot, content)
        static = keys.static()
        return Fingerprint(
            kind="image" if kind == "image" else "video",
            times=np.asarray(times, np.float32),
            hashes=np.asarray(hashes, np.uint8).reshape(-1, VARIANTS, HASH_BYTES),
            quality=np.asarray(quality, np.uint8),
            duration=stats.duration,
            decoded=stats.decoded,
            shots=len(stats.shots),
            min_quality=self.min_quality,
            warnings=stats.warnings,
            key_times=np.asarray(keys.times, np.float32),
            key_offsets=keys.offsets(),
            points=stack(keys.points, (0, 2), np.float32),
            key_sizes=np.asarray(keys.sizes, np.float32).reshape(-1, 2),
            descriptors=stack(keys.descriptors, (0, 32), np.uint8),
            static=static,
            mirrored=Mirrored(keys.offsets(mirrored=True), stack(keys.mirror_points, (0, 2), np.float32),
                              stack(keys.mirror_descriptors, (0, 32), np.uint8), keys.mirror_static(static)),
        )

    def _canonical(self, cv2: Any, content: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The content as PDQ hashes it: a ``hash_side`` square, RGB (grey repeated for a grey frame)."""
        h, w = content.shape[:2]
        side = self.hash_side
        shrink = h * w >= side * side
        out: NDArray[np.uint8] = cv2.resize(content, (side, side), interpolation=cv2.INTER_AREA if shrink
                                            else cv2.INTER_LINEAR)
        return out if out.ndim == 3 else np.ascontiguousarray(np.repeat(out[:, :, None], 3, axis=2))

    def content_box(self, image: NDArray[np.uint8]) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) of the picture inside flat borders; the whole frame if none.

        Found on a grey copy at most 128 pixels wide or high, then scaled back.
        """
        import cv2

        return self._scaled_box(self._small(cv2, image), image.shape)

    @staticmethod
    def _small(cv2: Any, image: NDArray[np.uint8]) -> NDArray[np.int16]:
        full_h, full_w = image.shape[:2]
        scale = min(1.0, 128 / max(full_h, full_w))
        small = cv2.resize(image, (max(1, round(full_w * scale)), max(1, round(full_h * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1 else image
        grey: NDArray[np.int16] = (small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
                                   ).astype(np.int16)
        return grey

    def _scaled_box(self, grey: NDArray[np.int16], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        full_h, full_w = shape[:2]
        top, bottom, left, right = self._box(grey)
        h, w = grey.shape
        if (h, w) == (full_h, full_w):
            return top, bottom, left, right
        return (round(top * full_h / h), round(bottom * full_h / h), round(left * full_w / w),
                round(right * full_w / w))

    def _box(self, grey: NDArray[np.int16]) -> tuple[int, int, int, int]:
        h, w = grey.shape
        # Columns over the whole height, rows within those columns, columns again within those rows:
        # a dark edge of the picture must not pass for border because the bars beside it are black.
        left, right = self._edges(grey.T, w)
        least_w, least_h = max(2, int(w * self.min_content)), max(2, int(h * self.min_content))
        top, bottom = self._edges(grey[:, left:right], h) if right - left >= least_w else (0, h)
        if bottom - top >= least_h:
            left, right = self._edges(grey[top:bottom].T, w)
        if bottom - top < least_h or right - left < least_w:  # a flat frame: nothing to trim to
            return 0, h, 0, w
        return top, bottom, left, right

    def _edges(self, grey: NDArray[np.int16], n: int) -> tuple[int, int]:
        """First and last+1 row of content: rows that are nearly one colour at either end are border.

        Short runs of busy rows inside a border (a status bar's clock, a caption line) are allowed: the
        border ends at the first run of busy rows longer than 6% of the side.
        """
        medians = np.median(grey, axis=1, keepdims=True)
        flat = (np.abs(grey - medians) <= self.flat_tolerance).mean(axis=1) >= self.flat_share
        limit, run = int(n * self.max_border), max(2, int(n * 0.06))

        def scan(order: range) -> int:
            border, busy = 0, 0
            for count, row in enumerate(order, start=1):
                if count > limit:
                    break
                if flat[row]:
                    border, busy = count, 0
                else:
                    busy += 1
                    if busy >= run:
                        break
            return border

        return scan(range(n)), n - scan(range(n - 1, -1, -1))

