"""The calibrated score of the bundled pair's boxes: the probability that a fused box is a person.

A fused box (people/fuse.py) carries the best score NanoDet-m and SSD-MobileNetV2 each gave it; their mean
ranks the boxes (a box both models see above one that only one sees). The mean is not a probability: a box
at 0.4 is a person four times in five. ``CalibratedScore`` maps the mean to the share of boxes at that mean
that were people, by isotonic regression (monotone, so it keeps the ranking), interpolated between the
fitted points.

Fitted by ``python bench/people_calibrate.py`` on 111 people in 25 pictures of ../shared/data (the COCO,
CrowdPose and MHP annotations and the boxes drawn by eye in bench/people_boxes.json) against every fused box
the two models proposed from a score of 0.05: 1,089 boxes, 102 of them a person's. The command prints the
points below and the calibration table of a leave-one-picture-out fit (Brier 0.016 against the raw mean's
0.026). A logistic model that also read how a box overlaps the boxes ranked above it (a second box on one
person), sits inside a larger one (a piece of a person) or holds others (a group) ranked worse than the mean
there (average precision 0.841 against 0.878, leave-one-picture-out), so the score stays a function of the
mean.
"""

from __future__ import annotations

import numpy as np

from vericount.people.fuse import Cluster

# python bench/people_calibrate.py (2026-12-07): (mean of the two models' scores, probability of a person)
POINTS = ((0.0, 0.0), (0.033, 0.0), (0.052, 0.007), (0.074, 0.009), (0.118, 0.057), (0.188, 0.261),
          (0.241, 0.333), (0.269, 0.375), (0.3, 0.5), (0.378, 0.889), (0.701, 1.0), (1.0, 1.0))
FLOOR, CEILING = 0.005, 0.995  # no box is certain either way
# A proposal under this score is more likely not a person than a person: it is never confirmed in bulk (an
# item's tracks, a page of the likely ones) but asked on a page of its own, where each starts as "not a
# person" and the reviewer picks out the people.
DOUBTFUL = 0.5


class CalibratedScore:
    """The mean of the sources' best scores, mapped to a probability (see the module's docstring)."""

    name = "calibrated-mean-v1"

    def __init__(self, points: tuple[tuple[float, float], ...] = POINTS) -> None:
        xs, ys = zip(*points, strict=True)
        if list(xs) != sorted(xs) or list(ys) != sorted(ys):
            raise ValueError("calibration points must rise in both coordinates")
        self.xs = np.asarray(xs, np.float64)
        self.ys = np.clip(np.asarray(ys, np.float64), FLOOR, CEILING)

    def __call__(self, mean: float) -> float:
        return float(np.interp(mean, self.xs, self.ys))

    def score(self, clusters: list[Cluster], width: int, height: int) -> list[float]:
        return [self(c.mean) for c in clusters]
