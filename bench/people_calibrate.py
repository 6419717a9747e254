"""Fit and check the calibrated score of the bundled detectors' fused boxes (people/score.py).

    python bench/people_calibrate.py [--data ../shared/data]

The labelled pictures: the COCO, CrowdPose and MHP photos whose annotation JSON has person boxes
(bench/people.py's load_boxes: 23 boxes in 8 photos), and the people boxed by eye in bench/people_boxes.json
(88 boxes in 17 photos and video frames: the five crowd frames of issue 17, group photos, Intel GIF frames).
Each picture is scaled as the stage samples it (longer side at most 1280), both models propose boxes from a
score of 0.05 on the frame and its tiles, the boxes are fused (people/fuse.py), and, in the order of the mean
of their two scores, each fused box that overlaps a labelled person not yet taken by IoU >= 0.5 is a
positive; every other box is a negative (a second box on one person, a piece, a group, no person).

Prints: the isotonic fit of "is a person" on the mean score over all pictures (people/score.py's POINTS);
the calibration table of leave-one-picture-out fits (each picture scored by a fit without it); the average
precision of the mean against a logistic model that also reads each box's neighbours (leave-one-picture-out);
then, for thresholds on the shipped calibrated score (and the lowest mean that reaches it), proposal
precision and recall at IoU 0.5 (greedy by score, as bench/people_proposals.py counts them) on the 8
annotated photos and on all 25 pictures, and the number of proposals on the five crowd frames.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from people import iou, shared_data  # noqa: E402

SOURCE_MIN = 0.05
CROWD_FRAMES = ("NEGATIVE_same_name_vtest_crowd_overhead__lamminhthien.avi#300", "crowd_walking_1080p.mp4#60",
                "pets09_s2l1_reencode_A__arjun-234_OpenCVTutorial_vtest.avi#400", "classroom.gif#0",
                "store-aisle-detection.gif#0")  # fmt: skip


def pictures(data: Path) -> list[dict[str, Any]]:
    """Every labelled picture: key, the picture as the stage scales it, the scale, the boxes."""
    from people import load_boxes
    from people_proposals import _frame, _scaled

    out = []
    for file, boxes in sorted(load_boxes(data).items()):
        image = np.asarray(ImageOps.exif_transpose(Image.open(data / file)).convert("RGB"))
        out.append({"key": file, "boxes": boxes, "annotated": True, "image": image})
    for entry in json.loads((HERE / "people_boxes.json").read_text())["images"]:
        path = data / entry["file"]
        if "frame" not in entry:
            image, key = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB")), entry["file"]
        elif path.suffix == ".gif":
            gif = Image.open(path)
            gif.seek(entry["frame"])
            image, key = np.asarray(gif.convert("RGB")), f"{entry['file']}#{entry['frame']}"
        else:
            image, key = _frame(path, entry["frame"]), f"{entry['file']}#{entry['frame']}"
        out.append({"key": key, "boxes": entry["boxes"], "annotated": False, "image": image})
    for p in out:
        p["image"], p["scale"] = _scaled(p.pop("image"))
    return out


def taken(clusters: list[Any], scores: np.ndarray, truth: list[list[float]], scale: float) -> np.ndarray:
    """1 for each box that takes a labelled person (IoU >= 0.5), greedily in the order of ``scores``."""
    used: set[int] = set()
    y = np.zeros(len(clusters))
    for i in np.argsort(-scores, kind="stable"):
        box = tuple(v / scale for v in clusters[i].box)
        best = max(((iou(box, t), k) for k, t in enumerate(truth) if k not in used), default=(0.0, -1))
        if best[0] >= 0.5:
            used.add(best[1])
            y[i] = 1
    return y


def isotonic(x: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    """Pool-adjacent-violators: the rising step function closest to y; one (mean x, value) per block."""
    order = np.argsort(x, kind="stable")
    blocks: list[list[float]] = []  # [sum x, sum y, count]
    for xi, yi in zip(x[order], y[order], strict=True):
        blocks.append([float(xi), float(yi), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last, strict=True)]
    return [(b[0] / b[2], b[1] / b[2]) for b in blocks]


def neighbours(clusters: list[Any]) -> np.ndarray:
    """nano, ssd, and for each box: its largest IoU with a box ranked above it (by the mean), the largest
    share of it inside a larger box ranked above it, how many boxes lie mostly inside it."""
    from people import iou as box_iou

    means = [c.mean for c in clusters]
    rows = []
    for i, c in enumerate(clusters):
        above = [o for j, o in enumerate(clusters) if means[j] > means[i] or (means[j] == means[i] and j < i)]
        area = (c.box[2] - c.box[0]) * (c.box[3] - c.box[1])
        rows.append([c.scores[0], c.scores[1], max((box_iou(c.box, o.box) for o in above), default=0.0),
                     max((_inside(c.box, o.box) for o in above
                          if (o.box[2] - o.box[0]) * (o.box[3] - o.box[1]) > area), default=0.0),
                     np.log1p(sum(_inside(o.box, c.box) >= 0.8 for j, o in enumerate(clusters) if j != i))])
    return np.asarray(rows).reshape(-1, 5)


def _inside(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return max(0.0, x1 - x0) * max(0.0, y1 - y0) / area if area > 0 else 0.0


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Logistic regression by Newton's method; an L2 penalty on the weights, not the intercept."""
    a = np.column_stack([np.ones(len(x)), x])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(a @ w)))
        step = np.linalg.solve((a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty),
                               a.T @ (p - y) + penalty * w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def average_precision(pics: list[dict[str, Any]], key: str) -> float:
    """Interpolated average precision (101 recall points) of the scores ``key`` over the pictures."""
    scores = np.concatenate([p[key] for p in pics])
    hits = np.concatenate([taken(p["clusters"], p[key], p["boxes"], p["scale"]) for p in pics])
    people = sum(len(p["boxes"]) for p in pics)
    hits = hits[np.argsort(-scores, kind="stable")]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    recall = np.cumsum(hits) / people
    return float(np.mean([precision[recall >= r].max() if (recall >= r).any() else 0.0
                          for r in np.linspace(0, 1, 101)]))


def main() -> int:
    data = shared_data(__doc__ or "", "people_calibrate.py")
    if data is None:
        return 2
    from vericount.people.detect import NanoDet, Tiler
    from vericount.people.fuse import cluster
    from vericount.people.score import CalibratedScore
    from vericount.people.ssd import SsdMobileNet

    print(f"$ python bench/people_calibrate.py {' '.join(sys.argv[1:])}")
    nano, ssd = NanoDet(min_score=SOURCE_MIN), SsdMobileNet(min_score=SOURCE_MIN)
    pics = pictures(data)
    for p in pics:
        p["clusters"] = cluster([Tiler(416).detect(nano, p["image"]), Tiler(300).detect(ssd, p["image"])])
        p["mean"] = np.asarray([c.mean for c in p["clusters"]])
        p["y"] = taken(p["clusters"], p["mean"], p["boxes"], p["scale"])
    x = np.concatenate([p["mean"] for p in pics])
    y = np.concatenate([p["y"] for p in pics])
    people = sum(len(p["boxes"]) for p in pics)
    print(f"{len(pics)} pictures, {people} labelled people; {len(y)} fused boxes from score {SOURCE_MIN}, "
          f"{int(y.sum())} of them a person's ({people - int(y.sum())} people no box takes)")

    fitted = isotonic(x, y)
    print("\nisotonic fit on all pictures, (mean score, share that are people) per block:")
    print("  " + ", ".join(f"({a:.3f}, {b:.3f})" for a, b in fitted))
    shipped = CalibratedScore()
    loo = []
    for k, p in enumerate(pics):
        rest = [q for j, q in enumerate(pics) if j != k]
        points = isotonic(np.concatenate([q["mean"] for q in rest]), np.concatenate([q["y"] for q in rest]))
        xs, ys = zip(*points, strict=True)
        p["loo"] = np.interp(p["mean"], xs, ys)
        p["shipped"] = np.asarray([shipped(v) for v in p["mean"]])
        loo.append(p["loo"])
    for name, scores in (("leave-one-picture-out isotonic fit", np.concatenate(loo)),
                         ("the shipped points (people/score.py)",
                          np.concatenate([p["shipped"] for p in pics])),
                         ("the mean itself, uncalibrated", x)):
        clipped = np.clip(scores, 1e-6, 1 - 1e-6)
        print(f"\n{name}: Brier {np.mean((scores - y) ** 2):.4f}, log loss "
              f"{-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)):.4f}")
        print("| score | boxes | mean score | people among them |\n|---|--:|--:|--:|")
        edges = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 1.0001)
        for lo, hi in itertools.pairwise(edges):
            sel = (scores >= lo) & (scores < hi)
            if sel.any():
                print(f"| {lo:.2f}-{min(hi, 1):.2f} | {sel.sum()} | {scores[sel].mean():.3f} | "
                      f"{y[sel].mean():.3f} |")

    for p in pics:
        p["x"] = neighbours(p["clusters"])
    for k, p in enumerate(pics):
        rest = [q for j, q in enumerate(pics) if j != k]
        w = logistic(np.concatenate([q["x"] for q in rest]), np.concatenate([q["y"] for q in rest]))
        p["logistic"] = 1 / (1 + np.exp(-(w[0] + p["x"] @ w[1:])))
    mean_ap, logistic_ap = average_precision(pics, "mean"), average_precision(pics, "logistic")
    print(f"\naverage precision over all {len(pics)} pictures: the mean {mean_ap:.3f}; a logistic model of "
          "nano, ssd and each box's neighbours (IoU with a box ranked above, share inside a larger one "
          f"above, boxes it holds), leave-one-picture-out: {logistic_ap:.3f}")

    annotated = [p for p in pics if p["annotated"]]
    crowds = [next(p for p in pics if p["key"].endswith(name)) for name in CROWD_FRAMES]
    print("\nproposals by threshold on the shipped calibrated score; crowd frames (people boxed): "
          + ", ".join(f"{name.split('#')[0][:24]} ({len(p['boxes'])})"
                      for name, p in zip(CROWD_FRAMES, crowds, strict=True)))
    print("| score >= | mean >= | 8 annotated photos: precision, recall | all 25 pictures: precision, "
          "recall | crowd frames |\n|--:|--:|---|---|---|")
    for threshold in (0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 0.8, 0.9):
        cells = []
        for group in (annotated, pics):
            hits = sum(int(taken(p["clusters"], p["shipped"], p["boxes"], p["scale"])
                           [p["shipped"] >= threshold].sum()) for p in group)
            proposed = sum(int((p["shipped"] >= threshold).sum()) for p in group)
            truth = sum(len(p["boxes"]) for p in group)
            cells.append(f"{hits / max(1, proposed):.3f} ({hits}/{proposed}), "
                         f"{hits / truth:.3f} ({hits}/{truth})")
        counts = [int((p["shipped"] >= threshold).sum()) for p in crowds]
        means = np.concatenate([p["mean"] for p in pics])
        lowest = means[np.concatenate([p["shipped"] for p in pics]) >= threshold].min(initial=1.0)
        print(f"| {threshold:.2f} | {lowest:.3f} | {cells[0]} | {cells[1]} | {', '.join(map(str, counts))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
