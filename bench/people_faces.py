"""Faces of small people: CenterFace on the whole frame against the whole frame plus inside person boxes.

    python bench/people_faces.py [--data ../shared/data]

On the 25 labelled pictures of bench/people_calibrate.py (111 people boxed), scaled as the stage samples
them: the faces CenterFace finds on the whole frame (score 0.5 and up), then those plus the faces it finds
in the heads of the small people the stage proposes (people/faces.py FaceDetector.detect_in: people 40-199
pixels tall, heads enlarged into one mosaic). A labelled person has a face found when a face's centre lies
in the upper half of their box; a face in no labelled person's upper half is counted apart (a face on a
poster, a person nobody boxed, or a false one: look at them). Printed per picture group and in all, with the
time each pass takes and the sizes of the faces found.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from people import shared_data  # noqa: E402


def _upper(box: list[float]) -> tuple[float, float, float, float]:
    return box[0], box[1], box[2], box[1] + 0.5 * (box[3] - box[1])


def _inside(face: tuple[float, ...], region: tuple[float, float, float, float]) -> bool:
    cx, cy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def main() -> int:
    data = shared_data(__doc__ or "", "people_faces.py")
    if data is None:
        return 2
    from people_calibrate import pictures
    from vericount.people.faces import MIN_FACE_PIXELS, FaceDetector
    from vericount.people.stage import _bundled

    print(f"$ python bench/people_faces.py {' '.join(sys.argv[1:])}")
    detector, faces = _bundled(), FaceDetector()
    rows = []
    seconds = [0.0, 0.0]
    for p in pictures(data):
        image, scale = p["image"], p["scale"]
        truth = [[v * scale for v in b] for b in p["boxes"]]
        started = time.perf_counter()
        whole = faces.detect(image)
        seconds[0] += time.perf_counter() - started
        people = [d.box for d in detector.detect(image)]
        started = time.perf_counter()
        extra = faces.detect_in(image, people, whole)
        seconds[1] += time.perf_counter() - started
        row = {"key": p["key"], "people": len(truth)}
        for name, found in (("whole", whole), ("both", whole + extra)):
            row[name] = sum(any(_inside(f.box, _upper(t)) for f in found) for t in truth)
            row[name + "_apart"] = sum(not any(_inside(f.box, _upper(t)) for t in truth) for f in found)
        row["extra_sizes"] = [round(min(f.box[2] - f.box[0], f.box[3] - f.box[1])) for f in extra]
        rows.append(row)
    print(f"{len(rows)} pictures, {sum(r['people'] for r in rows)} labelled people\n")
    print("| picture | people | with a face: whole frame | + in person boxes | faces apart: whole | + boxes "
          "| sizes of the faces added (px) |\n|---|--:|--:|--:|--:|--:|---|")
    for r in rows:
        if r["both"] != r["whole"] or r["both_apart"] != r["whole_apart"]:
            print(f"| {r['key'][-48:]} | {r['people']} | {r['whole']} | {r['both']} | {r['whole_apart']} | "
                  f"{r['both_apart']} | {', '.join(map(str, r['extra_sizes']))} |")
    total = {k: sum(r[k] for r in rows) for k in ("people", "whole", "both", "whole_apart", "both_apart")}
    sizes = [s for r in rows for s in r["extra_sizes"]]
    print(f"| all ({len(rows)} pictures; rows above: where the boxes changed something) | "
          f"{total['people']} | {total['whole']} | {total['both']} | {total['whole_apart']} | "
          f"{total['both_apart']} | "
          f"median {np.median(sizes) if sizes else 0:.0f} |")
    print(f"\npeople with a face found: {total['whole']} -> {total['both']} of {total['people']}; faces in "
          f"no labelled person's upper half: {total['whole_apart']} -> {total['both_apart']}; of the "
          f"{len(sizes)} faces added, {sum(s >= MIN_FACE_PIXELS for s in sizes)} are big enough for an "
          f"identity embedding ({MIN_FACE_PIXELS} px). Time per picture: whole frame "
          f"{1000 * seconds[0] / len(rows):.0f} ms, in person boxes {1000 * seconds[1] / len(rows):.0f} ms "
          "(1 thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
