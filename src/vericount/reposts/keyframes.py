"""The local features of an item's keyframes: ORB on the picture and on its mirror image, and which of them
stand still in the clip (reposts/fingerprint.py says why and when keyframes are taken)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True)
class KeyParams:
    features: int = 300  # ORB features per keyframe
    side: int = 384  # keyframes are scaled to this longer side for ORB (enlarged at most 3 times)
    static_gap: float = 2.0  # seconds between two keyframes whose shared, unmoved features are background
    static_distance: int = 40  # ORB descriptor distance (of 256 bits) for "the same feature"
    static_shift: float = 0.015  # ...no further apart than this share of the keyframe's longer side
    static_keys: int = 6  # keyframes of the shot a keyframe is compared with (spread over it)


@dataclass
class Keyframes:
    """Keyframes added one by one while an item is sampled, then their arrays."""

    params: KeyParams
    times: list[float] = field(default_factory=list)
    shots: list[int] = field(default_factory=list)
    sizes: list[tuple[float, float]] = field(default_factory=list)
    points: list[NDArray[np.float32]] = field(default_factory=list)
    descriptors: list[NDArray[np.uint8]] = field(default_factory=list)
    mirror_points: list[NDArray[np.float32]] = field(default_factory=list)
    mirror_descriptors: list[NDArray[np.uint8]] = field(default_factory=list)
    _orb: Any = None

    def add(self, t: float, shot: int, content: NDArray[np.uint8]) -> None:
        """ORB on the content of a frame (grey or RGB) and on its mirror image; nothing when it has no
        features."""
        import cv2

        if self._orb is None:
            self._orb = cv2.ORB.create(nfeatures=self.params.features)
        grey = self._grey(content)
        xy, des = self._local(grey)
        if not len(des):
            return
        self.times.append(t)
        self.shots.append(shot)
        self.sizes.append((float(grey.shape[1]), float(grey.shape[0])))
        self.points.append(xy)
        self.descriptors.append(des)
        xy, des = self._local(np.ascontiguousarray(grey[:, ::-1]))
        self.mirror_points.append(xy)
        self.mirror_descriptors.append(des)

    def offsets(self, mirrored: bool = False) -> NDArray[np.int32]:
        parts = self.mirror_descriptors if mirrored else self.descriptors
        return np.concatenate([[0], np.cumsum([len(d) for d in parts])]).astype(np.int32)

    def static(self) -> NDArray[np.bool_]:
        """For every feature of every keyframe: whether a near-identical feature stands at the same place
        in a keyframe of the same shot ``static_gap`` seconds or more away (``static_keys`` of them, spread
        over the shot: a passer-by hides a part of the room for a while)."""
        import cv2

        p = self.params
        flags = [np.zeros(len(d), bool) for d in self.descriptors]
        matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        for i, (t, shot, size) in enumerate(zip(self.times, self.shots, self.sizes, strict=True)):
            away = [j for j in range(len(self.times)) if self.shots[j] == shot and self.sizes[j] == size
                    and abs(self.times[j] - t) >= p.static_gap]
            if len(away) > p.static_keys:
                away = [away[round(k * (len(away) - 1) / (p.static_keys - 1))] for k in range(p.static_keys)]
            reach = p.static_shift * max(size)
            for j in away:
                if len(self.descriptors[i]) < 2 or len(self.descriptors[j]) < 2:
                    continue
                found = np.array([(m.queryIdx, m.trainIdx, m.distance)
                                  for m in matcher.match(self.descriptors[i], self.descriptors[j])])
                if not len(found):
                    continue
                query, train = found[:, 0].astype(int), found[:, 1].astype(int)
                near = np.hypot(*(self.points[i][query] - self.points[j][train]).T) <= reach
                flags[i][query[near & (found[:, 2] <= p.static_distance)]] = True
        out: NDArray[np.bool_] = stack(flags, (0,), bool).reshape(-1)
        return out

    def mirror_static(self, static: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """The static flags of the mirrored keyframes' features: those of the feature at the mirrored place
        (the same 2-pixel cell or a neighbour) in the keyframe itself (ORB finds the same corners in a
        mirrored picture)."""
        offsets = self.offsets()
        out = []
        for k, (own, mirrored) in enumerate(zip(self.points, self.mirror_points, strict=True)):
            flags = np.zeros(len(mirrored), bool)
            still = own[static[offsets[k]:offsets[k + 1]]]
            if len(still) and len(mirrored):
                width, height = self.sizes[k]
                grid = np.zeros((int(height) // 2 + 3, int(width) // 2 + 3), bool)
                cells = (still / 2).astype(int) + 1
                for dy in (-1, 0, 1):  # a still feature marks its cell and the cells around it
                    for dx in (-1, 0, 1):
                        grid[np.clip(cells[:, 1] + dy, 0, grid.shape[0] - 1),
                             np.clip(cells[:, 0] + dx, 0, grid.shape[1] - 1)] = True
                flipped = np.stack([width - 1 - mirrored[:, 0], mirrored[:, 1]], axis=1)
                at = np.clip((flipped / 2).astype(int) + 1, 0, [grid.shape[1] - 1, grid.shape[0] - 1])
                flags = grid[at[:, 1], at[:, 0]]
            out.append(flags)
        flat: NDArray[np.bool_] = stack(out, (0,), bool).reshape(-1)
        return flat

    def _grey(self, content: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The keyframe for ORB: grey, its longer side scaled to ``side`` (enlarged at most 3 times: the
        picture inside a screen recording of a small clip can be a fifth of the original's size)."""
        import cv2

        grey = content if content.ndim == 2 else cv2.cvtColor(content, cv2.COLOR_RGB2GRAY)
        scale = min(3.0, self.params.side / max(grey.shape))
        if abs(scale - 1.0) > 0.01:
            grey = cv2.resize(grey, None, fx=scale, fy=scale,
                              interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        out: NDArray[np.uint8] = np.ascontiguousarray(grey)
        return out

    def _local(self, grey: NDArray[np.uint8]) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
        keypoints, des = self._orb.detectAndCompute(grey, None)
        if des is None or not keypoints:
            return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
        return np.asarray([k.pt for k in keypoints], np.float32), np.asarray(des, np.uint8)


def stack(parts: list[Any], empty: tuple[int, ...], dtype: Any) -> Any:
    return np.concatenate(parts) if parts else np.zeros(empty, dtype)
