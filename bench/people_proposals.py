"""Proposal-level precision and recall of the people stage's detectors, and the crowd frames of issue 17.

    python bench/people_proposals.py [--data ../shared/data]

Pictures are scaled as the stage samples them (longer side at most 1280). Labelled people: the COCO,
CrowdPose and MHP photos of people/counts.csv whose annotation JSON has boxes (bench/people.py's
load_boxes: 23 people in 8 photos, the issue's floor), and all 25 labelled pictures (those and the 88 people
boxed by eye in bench/people_boxes.json). Precision and recall at IoU 0.5 of every proposal (greedy by
score) for each bundled model alone, the stage's fused pair, the pair with a mirrored pass, and the stage's
proposals a reviewer could accept without looking (calibrated score 0.9 and up). Then the number of
proposals on five crowd frames against a count by eye, and whether it lies within 10%.
Floors (issue 17): recall >= 0.92, precision >= 0.80 on the 23, each crowd frame within 10%.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from people import match, shared_data  # noqa: E402

# (name, path under data/ (a glob), frame index, people counted by eye). Recounted for issue 17 (2026-12-07):
# the overhead square shows 39 (the issue said about 38; two of them are legs at the top edge), the 1080p
# crowd 10, PETS09 3, the classroom 4; the store aisle's first frame 2 (the issue said 3 for the clip).
CROWDS = (
    ("overhead square",
     "reposts/natural_pairs/NEGATIVE_same_name_vtest_crowd_overhead__lamminhthien.avi", 300, 39),
    ("crowd walking 1080p", "video/crowd_walking_1080p.mp4", 60, 10),
    ("PETS09 S2L1", "reposts/natural_pairs/pets09_s2l1_reencode_A_*.avi", 400, 3),
    ("classroom", "video/intel_gifs/classroom.gif", 0, 4),
    # the issue says 3 for this clip; its first frame, recounted by eye, shows 2 (a man in a hat, a woman)
    ("store aisle", "video/intel_gifs/store-aisle-detection.gif", 0, 2),
)


def _scaled(image: np.ndarray) -> tuple[np.ndarray, float]:
    import cv2

    scale = min(1.0, 1280 / max(image.shape[:2]))
    if scale < 1:
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image), scale


def _frame(path: Path, index: int) -> np.ndarray:
    import cv2

    if path.suffix == ".gif":
        return np.asarray(Image.open(path).convert("RGB"))
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = capture.read()
    if not ok:
        raise SystemExit(f"{path}: cannot read frame {index}")
    return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))


def main() -> int:
    data = shared_data(__doc__ or "", "people_proposals.py")
    if data is None:
        return 2
    from people_calibrate import pictures
    from vericount.people.detect import Detection, NanoDet
    from vericount.people.fuse import FusedDetector
    from vericount.people.ssd import SsdMobileNet
    from vericount.people.stage import _bundled

    pics = pictures(data)
    annotated = [p for p in pics if p["annotated"]]
    crowds = []
    for name, pattern, index, by_eye in CROWDS:
        paths = sorted(data.glob(pattern))
        if paths:
            crowds.append((name, _scaled(_frame(paths[0], index))[0], by_eye))
    stage = _bundled()
    sure = FusedDetector(stage.detectors, min_score=0.9, scorer=stage.scorer)
    configs = [("NanoDet-m >= 0.25 (the old default)", FusedDetector([NanoDet()], min_score=0.0)),
               ("SSD-MobileNetV2 >= 0.25", FusedDetector([SsdMobileNet(min_score=0.25)], min_score=0.0)),
               ("fused, mirrored pass too",
                FusedDetector(stage.detectors, flip=True, min_score=stage.min_score, scorer=stage.scorer)),
               ("accepted without looking: calibrated score >= 0.9", sure),
               (f"the stage's proposals ({stage.name}, calibrated score >= {stage.min_score})", stage)]
    print(f"$ python bench/people_proposals.py {' '.join(sys.argv[1:])}")
    print(f"{len(annotated)} annotated photos with {sum(len(p['boxes']) for p in annotated)} people; "
          f"{len(pics)} labelled pictures with {sum(len(p['boxes']) for p in pics)}; "
          f"{len(crowds)} crowd frames counted by eye\n")
    print("| detector | 8 annotated photos: precision, recall | all 25: precision, recall | " + " | ".join(
        f"{n} (~{c})" for n, _, c in crowds) + " |")
    print("|---|---|---|" + "--:|" * len(crowds))
    verdict = ""
    for label, detector in configs:
        cells, figures = [], []
        for group in (annotated, pics):
            tp = n_found = n_truth = 0
            for p in group:
                found = [Detection(tuple(v / p["scale"] for v in d.box), d.score)
                         for d in detector.detect(p["image"])]
                tp += match(found, p["boxes"])
                n_found += len(found)
                n_truth += len(p["boxes"])
            precision, recall = tp / max(1, n_found), tp / max(1, n_truth)
            figures.append((precision, recall))
            cells.append(f"{precision:.3f} ({tp}/{n_found}), {recall:.3f} ({tp}/{n_truth})")
        counts = [len(detector.detect(image)) for _, image, _ in crowds]
        print(f"| {label} | {cells[0]} | {cells[1]} | " + " | ".join(str(c) for c in counts) + " |")
        if detector is stage:
            (precision, recall), _ = figures
            pairs = list(zip(counts, crowds, strict=True))
            within = [abs(c - by_eye) <= 0.1 * by_eye for c, (_, _, by_eye) in pairs]
            verdict = (f"\nthe stage's proposals: recall {recall:.3f} (floor >= 0.92: "
                       f"{'PASS' if recall >= 0.92 else 'FAIL'}), precision {precision:.3f} (floor >= 0.80: "
                       f"{'PASS' if precision >= 0.8 else 'FAIL'}); crowd frames within 10%: "
                       f"{sum(within)} of {len(within)} ("
                       + ", ".join(f"{n} {c} vs {e}" for c, (n, _, e) in pairs) + ")")
    print(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
