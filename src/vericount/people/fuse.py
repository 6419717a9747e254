"""Several detectors, and each on the mirrored frame, fused by weighted box fusion (Solovyev et al. 2019).

Every source (a detector with its tiles, on the frame or on its mirror image) gives boxes. Boxes are taken in
order of score and joined to the first cluster whose fused box overlaps them by ``iou``, else start one. A
cluster's box is the score-weighted mean of its members' boxes, and its score is the sum of the best score of
each source in it divided by the number of sources: a person every source sees keeps its score, one that a
single source of four sees gets a quarter of it. ``min_score`` is applied to that fused score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.people.detect import Detection, Detector, Tiler
from vericount.people.detect import iou as box_iou

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass
class FusedDetector:
    detectors: list[Detector]
    flip: bool = True
    iou: float = 0.55
    min_score: float = 0.1
    tilers: list[Tiler] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.tilers:
            self.tilers = [Tiler(model_side=getattr(d, "size", 416)) for d in self.detectors]
        self.name = "+".join(getattr(d, "name", "detector") for d in self.detectors) + (
            "+flip" if self.flip else "")

    def params(self) -> dict[str, Any]:
        return {"detectors": [getattr(d, "name", "detector") for d in self.detectors],
                "min_scores": [getattr(d, "min_score", None) for d in self.detectors],
                "flip": self.flip, "iou": self.iou, "min_score": self.min_score,
                "tiler": self.tilers[0].params()}  # fmt: skip

    def sources(self, image: NDArray[np.uint8]) -> list[list[Detection]]:
        width = image.shape[1]
        out = []
        for detector, tiler in zip(self.detectors, self.tilers, strict=True):
            out.append(tiler.detect(detector, image))
            if self.flip:
                mirrored = np.ascontiguousarray(image[:, ::-1])
                out.append([Detection((width - d.box[2], d.box[1], width - d.box[0], d.box[3]), d.score)
                            for d in tiler.detect(detector, mirrored)])
        return out

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        return fuse(self.sources(image), self.iou, self.min_score)


def fuse(sources: list[list[Detection]], iou: float = 0.55, min_score: float = 0.0) -> list[Detection]:
    """Weighted box fusion of the boxes of several sources (see the module's docstring)."""
    entries = sorted(((d.score, n, d.box) for n, found in enumerate(sources) for d in found),
                     key=lambda e: -e[0])
    clusters: list[dict[str, Any]] = []
    for score, n, box in entries:
        target = None
        for cluster in clusters:
            if box_iou(cluster["box"], box) >= iou:
                target = cluster
                break
        if target is None:
            clusters.append({"box": box, "members": [(score, n, box)]})
            continue
        target["members"].append((score, n, box))
        weights = np.array([m[0] for m in target["members"]])
        boxes = np.array([m[2] for m in target["members"]])
        target["box"] = tuple(float(v) for v in (weights[:, None] * boxes).sum(axis=0) / weights.sum())
    out = []
    for cluster in clusters:
        best: dict[int, float] = {}
        for score, n, _ in cluster["members"]:
            best[n] = max(best.get(n, 0.0), score)
        fused = sum(best.values()) / max(1, len(sources))
        if fused >= min_score:
            out.append(Detection(cluster["box"], float(fused)))
    return sorted(out, key=lambda d: -d.score)
