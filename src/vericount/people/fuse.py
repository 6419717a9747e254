"""Several detectors' boxes fused by weighted box fusion (Solovyev et al. 2019), then scored.

Every source (a detector with its tiles, and on the mirrored frame when ``flip`` is on) gives boxes. Boxes
are taken in order of score and joined to the first cluster whose fused box overlaps them by ``iou``, else
start one. A cluster's box is the score-weighted mean of its members' boxes; it keeps the best score each
source gave it (0 for a source that did not see it).

What a cluster's scores mean together is the scorer's business. The bundled pair has a calibrated one
(people/score.py: the probability that the box is one person, fitted on boxes labelled by eye); a model
without one gets the mean of its sources' best scores, which for a single model is that model's own score.
``min_score`` is applied to the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from vericount.people.detect import Detection, Detector, Tiler
from vericount.people.detect import iou as box_iou

if TYPE_CHECKING:
    from numpy.typing import NDArray

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Cluster:
    box: Box
    scores: tuple[float, ...]  # the best score each source gave it, 0.0 where a source did not see it

    @property
    def mean(self) -> float:
        return sum(self.scores) / max(1, len(self.scores))


class Scorer(Protocol):
    name: str

    def score(self, clusters: list[Cluster], width: int, height: int) -> list[float]:
        """A score for each cluster of one frame (the frame's size in pixels)."""
        ...


class MeanScore:
    """The mean of the sources' best scores: a box every source sees keeps its score, one that one source of
    two sees gets half of it."""

    name = "mean"

    def score(self, clusters: list[Cluster], width: int, height: int) -> list[float]:
        return [c.mean for c in clusters]


@dataclass
class FusedDetector:
    detectors: list[Detector]
    flip: bool = False
    iou: float = 0.55
    min_score: float = 0.1
    tilers: list[Tiler] = field(default_factory=list)
    scorer: Scorer = field(default_factory=MeanScore)

    def __post_init__(self) -> None:
        if not self.tilers:
            self.tilers = [Tiler(model_side=getattr(d, "size", 416)) for d in self.detectors]
        self.name = "+".join(getattr(d, "name", "detector") for d in self.detectors) + (
            "+flip" if self.flip else "")

    def params(self) -> dict[str, Any]:
        return {"detectors": [getattr(d, "name", "detector") for d in self.detectors],
                "min_scores": [getattr(d, "min_score", None) for d in self.detectors],
                "flip": self.flip, "iou": self.iou, "min_score": self.min_score,
                "scorer": self.scorer.name, "tiler": self.tilers[0].params()}  # fmt: skip

    def sources(self, image: NDArray[np.uint8]) -> list[list[Detection]]:
        """Each detector's boxes, on its tiles too, and on the mirrored frame when ``flip`` is on."""
        width = image.shape[1]
        out = []
        for detector, tiler in zip(self.detectors, self.tilers, strict=True):
            found = tiler.detect(detector, image)
            if self.flip:
                mirrored = np.ascontiguousarray(image[:, ::-1])
                found += [Detection((width - d.box[2], d.box[1], width - d.box[0], d.box[3]), d.score)
                          for d in tiler.detect(detector, mirrored)]
            out.append(found)
        return out

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        clusters = cluster(self.sources(image), self.iou)
        scores = self.scorer.score(clusters, image.shape[1], image.shape[0])
        found = sorted((Detection(c.box, float(s)) for c, s in zip(clusters, scores, strict=True)
                        if s >= self.min_score), key=lambda d: -d.score)
        return [d for k, d in enumerate(found) if not _group(d, found[:k])]


GROUP_HOLDS = 2  # a box holding this many surer boxes is a group of people, not one


def _group(box: Detection, surer: list[Detection]) -> bool:
    """Whether ``box`` holds GROUP_HOLDS or more of the surer boxes (each 80% or more inside it): a box around
    two people side by side (bench/people_calibrate.py's pictures: 2 false proposals fewer, no person lost;
    on video it was a third person standing between two for seconds)."""
    return sum(_share_inside(d.box, box.box) >= 0.8 for d in surer) >= GROUP_HOLDS


def _share_inside(a: Box, b: Box) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return max(0.0, x1 - x0) * max(0.0, y1 - y0) / area if area > 0 else 0.0


def cluster(sources: list[list[Detection]], iou: float = 0.55) -> list[Cluster]:
    """Weighted box fusion of the boxes of several sources (see the module's docstring), best first."""
    entries = sorted(((d.score, n, d.box) for n, found in enumerate(sources) for d in found),
                     key=lambda e: -e[0])
    groups: list[dict[str, Any]] = []
    for score, n, box in entries:
        target = next((g for g in groups if box_iou(g["box"], box) >= iou), None)
        if target is None:
            groups.append({"box": box, "members": [(score, n, box)]})
            continue
        target["members"].append((score, n, box))
        weights = np.array([m[0] for m in target["members"]])
        boxes = np.array([m[2] for m in target["members"]])
        target["box"] = tuple(float(v) for v in (weights[:, None] * boxes).sum(axis=0) / weights.sum())
    out = []
    for group in groups:
        best = [0.0] * len(sources)
        for score, n, _ in group["members"]:
            best[n] = max(best[n], float(score))
        out.append(Cluster(group["box"], tuple(best)))
    return sorted(out, key=lambda c: -c.mean)


def fuse(sources: list[list[Detection]], iou: float = 0.55, min_score: float = 0.0) -> list[Detection]:
    """The clusters of several sources as detections scored by the mean of their sources' best scores."""
    return [Detection(c.box, c.mean) for c in cluster(sources, iou) if c.mean >= min_score]
