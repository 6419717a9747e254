"""People on video: the stage run through the CLI on ../shared/data/video, against the counts described there.

    python bench/people_video.py [--data ../shared/data] [--case DIR]

The videos have no per-frame labels: video/videos_scout.csv describes each one in words ("2 people walking
towards camera", "constant count = 4", "~15-25 pedestrians"). This makes a case of the videos and GIFs, runs
`vericount add` and `vericount people --json`, and prints, per item, the most people found in one frame and
when, the tracks and faces, and the count the description gives. Most descriptions count people in a frame;
the 1080p crowd's "~15-25 pedestrians" counts the people who walk through the clip (its first frame shows 13
by eye, recounted for issue 17), so that clip is held to its tracks, and its most in one frame is printed
beside the 13. Tracks above the people a clip shows are fragments (one person cut in two) or false
proposals: the tally treats each track as a proposed person, so they loosen the upper bound and cost a
reviewer a flip, never the certified number. The clips whose people are known (classroom 4, the two
face-demographics GIFs 2 and 3, head-pose 2, worker 1) give the fragments: tracks against people.

With the calibrated pair, Hungarian tracking with a colour look and a one-sighting track kept only from a
score of 0.95 (issue 17): 9 of 11, 13 tracks for the 12 known people; still off: the 1080p crowd (14 tracks,
10 in one frame) and the aerial cyclist (SSD sees him at 0.35-0.52 in four frames, below the 0.5 a track
starts from). 7 of 11 before, with the fused pair and the old tracker (then the 1080p crowd was held to
15-25 in one frame: off either way).
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

# (file under video/, fewest and most people the description gives: in one frame, or for the 1080p crowd
# (CLIP_COUNTS) in the whole clip, the description)
EXPECTED: list[tuple[str, int, int, str]] = [
    ("intel_one_by_one.mp4", 1, 1, "people enter and leave one at a time, 139 s"),
    ("hamilton_short.mp4", 1, 4, "1-4 faces per shot, several shots"),
    ("crowd_walking_1080p.mp4", 15, 25, "~15-25 pedestrians towards the camera (13 in its first frame)"),
    ("intel_gifs/classroom.gif", 4, 4, "4 people seated, static"),
    ("intel_gifs/face-demographics-walking.gif", 2, 2, "2 people walking towards camera"),
    ("intel_gifs/face-demographics-walking-and-pause.gif", 3, 3, "3 people, frontal faces"),
    ("intel_gifs/head-pose-face-detection-female-and-male.gif", 2, 2, "2 people, head turns"),
    ("intel_gifs/people-detection.gif", 1, 2, "1-2 people leaving a room"),
    ("intel_gifs/store-aisle-detection.gif", 2, 4, "2-4 shoppers"),
    ("intel_gifs/worker-zone-detection.gif", 1, 1, "1 worker in a hall"),
    ("intel_gifs/person-bicycle-car-detection.gif", 1, 2, "aerial: a cyclist/pedestrian"),
]
CLIP_COUNTS = {"crowd_walking_1080p.mp4"}  # described by the people in the clip: compared with its tracks
PEOPLE_KNOWN = {"intel_gifs/classroom.gif": 4, "intel_gifs/face-demographics-walking.gif": 2,
                "intel_gifs/face-demographics-walking-and-pause.gif": 3,
                "intel_gifs/head-pose-face-detection-female-and-male.gif": 2,
                "intel_gifs/worker-zone-detection.gif": 1}


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

    print(f"\n{'file':<52} {'max':>4} {'at s':>6} {'tracks':>6} {'faces':>5}  described  description")
    within = 0
    for name, low, high, words in EXPECTED:
        r = rows.get(Path(name).name)
        if r is None:
            print(f"{name:<52} {'failed':>4}")
            continue
        held = r["tracks"] if name in CLIP_COUNTS else r["max_people_in_frame"]
        ok = low <= held <= high
        within += ok
        at = "-" if r["at"] is None else f"{r['at']:.2f}"
        what = "tracks " if name in CLIP_COUNTS else "in frame "
        print(f"{name:<52} {r['max_people_in_frame']:>4} {at:>6} {r['tracks']:>6} {r['faces']:>5}  "
              f"{what}{low}-{high:<3} {'ok ' if ok else 'OFF'}  {words}")
    for failure in out.get("failed", []):
        print(f"failed: {failure}")
    known = [(rows[Path(n).name]["tracks"], people) for n, people in PEOPLE_KNOWN.items()
             if Path(n).name in rows]
    print(f"\nthe described count: {within}/{len(EXPECTED)} clips; fragments where the people are known: "
          f"{sum(t for t, _ in known)} tracks for {sum(p for _, p in known)} people in {len(known)} clips; "
          f"{crops} best-crop/face files written; people stage {seconds:.1f} s on one worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
