"""People on video: the stage run through the CLI on ../shared/data/video, against the rough counts there.

    python bench/people_video.py [--data ../shared/data] [--case DIR]

The videos have no per-frame labels: video/videos_scout.csv describes each one in words ("2 people walking
towards camera", "constant count = 4", "~15-25 pedestrians"). This makes a case of the videos and GIFs, runs
`vericount add` and `vericount people --json`, and prints, per item, the most people found in one frame and
when, the tracks and faces, and the range the description gives. Tracks above the people a clip shows are
fragmented tracks (one person cut in two): the tally treats each track as a person, so fragments only make
its upper bound looser, never the certified number wrong.

With NanoDet-m and SSD-MobileNetV2 fused (issue 17): 7 of 11 clips within the described range, against 5 of
11 with NanoDet-m alone; still off: the 1080p crowd (7 at most in one frame), two Intel GIFs with nobody or
one of three found, and the aerial cyclist.

What the misses were with NanoDet-m alone (seen on the frames): it scores plain, frontal people in these
480x270 GIFs 0.3-0.4, below the tracker's 0.45 for starting a track. Two ways of letting them in were tried
and dropped because they over-count, which is worse than missing for a lower bound: weak detections
starting tracks that persist 3 frames (5/11 -> 4/11: a pillar, a table base and a pair of legs became people)
and weak boxes promoted when they hold a confident face (head-pose: 1 -> 3, a box spanning both people held a
face). A stronger detector (`vericount people --detector yolo.onnx`) is the way to more recall; a reviewer's
`vericount mark` adds the people it still misses.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"

# (file under video/, fewest and most people in one frame by the description, people in the clip)
EXPECTED: list[tuple[str, int, int, str]] = [
    ("intel_one_by_one.mp4", 1, 1, "people enter and leave one at a time, 139 s"),
    ("hamilton_short.mp4", 1, 4, "1-4 faces per shot, several shots"),
    ("crowd_walking_1080p.mp4", 15, 25, "~15-25 pedestrians towards the camera"),
    ("intel_gifs/classroom.gif", 4, 4, "4 people seated, static"),
    ("intel_gifs/face-demographics-walking.gif", 2, 2, "2 people walking towards camera"),
    ("intel_gifs/face-demographics-walking-and-pause.gif", 3, 3, "3 people, frontal faces"),
    ("intel_gifs/head-pose-face-detection-female-and-male.gif", 2, 2, "2 people, head turns"),
    ("intel_gifs/people-detection.gif", 1, 2, "1-2 people leaving a room"),
    ("intel_gifs/store-aisle-detection.gif", 2, 4, "2-4 shoppers"),
    ("intel_gifs/worker-zone-detection.gif", 1, 1, "1 worker in a hall"),
    ("intel_gifs/person-bicycle-car-detection.gif", 1, 2, "aerial: a cyclist/pedestrian"),
]


def vericount(case: Path, *args: str) -> str:
    command = ["init", str(case)] if args == ("init",) else ["--case", str(case), *args]
    done = subprocess.run([sys.executable, "-m", "vericount", *command],
                          capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"vericount {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--case", type=Path, default=None,
                        help="case folder to keep (default: a temporary one)")
    args = parser.parse_args()
    video = args.data / "video"
    files = [video / name for name, *_ in EXPECTED]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"missing: {', '.join(missing)}")
    print(f"$ python bench/people_video.py --data {args.data}")

    with tempfile.TemporaryDirectory() as tmp:
        case = args.case or Path(tmp) / "case"
        vericount(case, "init")
        vericount(case, "add", *map(str, files))
        started = time.perf_counter()
        out = json.loads(vericount(case, "people", "--json", "--jobs", "1"))
        seconds = time.perf_counter() - started
        listed = json.loads(vericount(case, "items", "--json"))
        ids = {i["id"]: i["names"][0] for i in listed}
        rows = {ids.get(r["id"], r["id"]): r for r in out["items"]}
        crops = sum(1 for _ in (case / "derived").rglob("track-*.jpg"))

    print(f"\n{'file':<52} {'max':>4} {'at s':>6} {'tracks':>6} {'faces':>5}  expected max  description")
    within = 0
    for name, low, high, words in EXPECTED:
        r = rows.get(Path(name).name)
        if r is None:
            print(f"{name:<52} {'failed':>4}")
            continue
        ok = low <= r["max_people_in_frame"] <= high
        within += ok
        at = "-" if r["at"] is None else f"{r['at']:.2f}"
        print(f"{name:<52} {r['max_people_in_frame']:>4} {at:>6} {r['tracks']:>6} {r['faces']:>5}  "
              f"{low}-{high:<3} {'ok ' if ok else 'OFF'}  {words}")
    for failure in out.get("failed", []):
        print(f"failed: {failure}")
    print(f"\nmost people in one frame within the described range: {within}/{len(EXPECTED)}; "
          f"{crops} best-crop/face files written; people stage {seconds:.1f} s on one worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
