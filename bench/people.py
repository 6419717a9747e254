"""People benchmark: person counts and detection precision/recall on ../shared/data/people.

    python bench/people.py [--data ../shared/data]

For every photo of people/counts.csv marked kind=complete: the number of people found against the label
(mean absolute error), and, on the COCO, CrowdPose and MHP photos whose annotation JSON (people/mmpose/*)
has boxes, precision and recall at IoU 0.5 (greedy matching by score). Detectors compared in one table: the
bundled NanoDet-m and the SSDLite person detector of ../shared/models (read from there: not vendored), each
with tiling off and on, at a few score thresholds. Also the time per image on one core.
Floors (the first people issue): count MAE <= 1.0 (the stage's proposals, doubtful ones included).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE.parent / "src"))


class SsdLite:
    """The person-only SSDLite of ../shared/models (TF object-detection API outputs), for comparison."""

    name = "ssdlite-ped"

    def __init__(self, path: Path, min_score: float) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        self.min_score = min_score

    def detect(self, image: np.ndarray) -> list[Any]:
        from vericount.people.detect import Detection

        h, w = image.shape[:2]
        outputs = self.session.run(["detection_scores:0", "detection_boxes:0", "detection_classes:0"],
                                   {"image_tensor:0": image[None]})
        scores, boxes, classes = (o[0] for o in outputs)
        return [Detection((float(b[1] * w), float(b[0] * h), float(b[3] * w), float(b[2] * h)), float(s))
                for s, b, c in zip(scores, boxes, classes, strict=True) if s >= self.min_score and c == 1]


def load_boxes(data: Path) -> dict[str, list[list[float]]]:
    """Ground-truth person boxes (x0, y0, x1, y1) by file path relative to data/, from the mmpose JSONs."""
    out: dict[str, list[list[float]]] = {}
    for folder, name in (("coco", "test_coco.json"), ("crowdpose", "test_crowdpose.json"),
                         ("mhp", "test_mhp.json")):
        doc = json.loads((data / "people" / "mmpose" / folder / name).read_text())
        files = {img["id"]: f"people/mmpose/{folder}/{img['file_name']}" for img in doc["images"]}
        for ann in doc["annotations"]:
            if ann.get("iscrowd"):
                continue
            x, y, w, h = ann["bbox"]
            out.setdefault(files[ann["image_id"]], []).append([x, y, x + w, y + h])
    return out


def iou(a: Any, b: Any) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(found: list[Any], truth: list[list[float]]) -> int:
    """True positives: greedy by score, each truth box used once, IoU >= 0.5."""
    used: set[int] = set()
    hits = 0
    for det in sorted(found, key=lambda d: -d.score):
        best = max(((iou(det.box, t), i) for i, t in enumerate(truth) if i not in used), default=(0.0, -1))
        if best[0] >= 0.5:
            used.add(best[1])
            hits += 1
    return hits


def shared_data(doc: str, name: str) -> Path | None:
    """The --data folder (../shared/data by default), or None, said in one line, when it is absent."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    data: Path = ap.parse_args().data
    if not (data / "people" / "counts.csv").is_file():
        print(f"bench/{name}: {data} is absent; this benchmark reads ../shared/data")
        return None
    return data


def main() -> int:
    data = shared_data(__doc__ or "", "people.py")
    if data is None:
        return 2
    from vericount.people.detect import NanoDet, Tiler

    rows = [r for r in csv.DictReader((data / "people" / "counts.csv").open()) if r["kind"] == "complete"]
    images = {r["file"]: np.asarray(ImageOps.exif_transpose(Image.open(data / r["file"])).convert("RGB"))
              for r in rows}
    truth = load_boxes(data)
    ssd_path = data.parent / "models" / "ssdlite_ped.onnx"
    table = []
    for threshold in (0.25, 0.3, 0.35, 0.45):
        detectors: list[Any] = [NanoDet(min_score=threshold)]
        if ssd_path.is_file():
            detectors.append(SsdLite(ssd_path, threshold))
        for detector in detectors:
            for tiled in (False, True):
                tiler = Tiler()
                errors, tp, n_found, n_truth, seconds = [], 0, 0, 0, 0.0
                for row in rows:
                    image = images[row["file"]]
                    start = time.perf_counter()
                    found = tiler.detect(detector, image) if tiled else detector.detect(image)
                    seconds += time.perf_counter() - start
                    errors.append(len(found) - int(row["count"]))
                    if row["file"] in truth:
                        tp += match(found, truth[row["file"]])
                        n_found += len(found)
                        n_truth += len(truth[row["file"]])
                table.append((detector.name, threshold, "on" if tiled else "off",
                              float(np.mean(np.abs(errors))), float(np.mean(errors)), tp / max(1, n_found),
                              tp / max(1, n_truth), 1000 * seconds / len(rows)))
    print(f"$ python bench/people.py {' '.join(sys.argv[1:])}")
    print(f"{len(rows)} photos with complete counts ({sum(int(r['count']) for r in rows)} people); "
          f"{len(truth)} with annotated boxes ({sum(len(v) for v in truth.values())} boxes)\n")
    print("| detector | score >= | tiling | count MAE | mean error | precision@0.5 | recall@0.5 | ms/image |")
    print("|---|--:|---|--:|--:|--:|--:|--:|")
    for name, threshold, tiled, mae, bias, precision, recall, ms in table:
        print(f"| {name} | {threshold:.2f} | {tiled} | {mae:.2f} | {bias:+.2f} | {precision:.3f} | "
              f"{recall:.3f} | {ms:.0f} |")
    from vericount.people.score import DOUBTFUL
    from vericount.people.stage import PeopleStage
    from vericount.run.stage import Task

    stage = PeopleStage()
    found = [stage.compute(Task("x", "image", data / r["file"])).tracks for r in rows]
    for label, keep in (("every proposal", 0.0), (f"the likely ones (score >= {DOUBTFUL})", DOUBTFUL)):
        errors = [sum(t.score >= keep for t in tracks) - int(r["count"]) for tracks, r in zip(found, rows,
                                                                                           strict=True)]
        mae = float(np.mean(np.abs(errors)))
        print(f"\nthe people stage (the bundled pair fused and calibrated, and a person for each "
              f"confident face no box holds), {label}: count MAE {mae:.2f} (floor <= 1.0: "
              f"{'PASS' if mae <= 1.0 else 'FAIL'}), mean error {np.mean(errors):+.2f} "
              f"({' '.join(f'{e:+d}' for e in errors)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
