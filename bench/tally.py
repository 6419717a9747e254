"""Tally benchmark: the certified count against the truth on ../shared/data, and the solver at scale.

    python bench/tally.py [--data ../shared/data] [--skip-media]

1. Photos: every photo of faces/identities.csv is a verified item of one case; the people stage runs, then
   `vericount tally`, before anyone has reviewed anything. The truth is the people in the photos: the named
   identities, the six of the Friends photo, and the two unnamed people of obama_and_biden.jpg. Certified N
   must not exceed it (it is 0: nobody confirmed anyone); the machine's proposed N' is printed beside it, as
   what the review would start from (bench/review.py measures the review itself).
2. Videos: each clip of ../shared/data/video whose description gives its whole cast (classroom.gif: 4
   seated people, ...) is a case of its own; its proposed N' against that cast. The others are printed for
   what they are, with their descriptions.
3. Scale: a generated case of 10,000 tracks in 2,000 items (1,500 people; 1 to 12 per item, several in each
   frame; 30% of tracks with a face embedding near their person's; 200 items are repost copies of others;
   the people of two items in three confirmed by a reviewer): both graphs, both counts, both certificates and
   the ranked proposals, timed on this machine (floor: under 10 s).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE.parent / "src"))

EXTRA_PEOPLE = {"obama_and_biden.jpg": 2}  # people in a photo that identities.csv does not name
CASTS = {  # clips whose description gives everyone in them (video/videos_scout.csv)
    "intel_gifs/classroom.gif": 4,
    "intel_gifs/face-demographics-walking.gif": 2,
    "intel_gifs/face-demographics-walking-and-pause.gif": 3,
    "intel_gifs/head-pose-face-detection-female-and-male.gif": 2,
    "intel_gifs/worker-zone-detection.gif": 1,
}
OTHER_CLIPS = {
    "hamilton_short.mp4": "Miranda, Lacamoire, the Obamas named; audience shots unlabelled",
    "crowd_walking_1080p.mp4": "~15-25 pedestrians towards the camera",
    "intel_one_by_one.mp4": "people enter and leave one at a time; how many different people is not given",
}


def vericount(case: Path, *args: str) -> str:
    command = ["init", str(case)] if args == ("init",) else ["--case", str(case), *args]
    done = subprocess.run([sys.executable, "-m", "vericount", *command], capture_output=True, text=True,
                          check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"vericount {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def tally_of(case: Path, files: list[Path]) -> dict[str, object]:
    vericount(case, "init")
    vericount(case, "add", *map(str, files))
    for item in json.loads(vericount(case, "items", "--json")):
        vericount(case, "status", item["id"], "verified", "--note", "benchmark")
    vericount(case, "people", "--jobs", "2")
    result: dict[str, object] = json.loads(vericount(case, "tally", "--json"))
    return result


def photos(data: Path, work: Path) -> None:
    rows = list(csv.DictReader((data / "faces" / "identities.csv").open()))
    files, people = [], set()
    for row in rows:
        if "#" in row["file"]:
            continue
        files.append(data / row["file"])
        if row["identity"].startswith("friends_cast"):
            people |= {f"friends_{k}" for k in range(6)}
        else:
            people |= set(row["identity"].split(";"))
        name = Path(row["file"]).name
        people |= {f"{name}_unnamed_{k}" for k in range(EXTRA_PEOPLE.get(name, 0))}
    started = time.perf_counter()
    out = tally_of(work / "photos", files)
    seconds = time.perf_counter() - started
    truth = len(people)
    proposed = (out["proposed"] or {}).get("at_least")
    print(f"\n1. photos of faces/identities.csv: {len(files)} photos, {truth} people in them; nobody has "
          "reviewed anything: certified N rests on reviewers' decisions, so it is 0 until they confirm; "
          "N' is the machine's reading (bench/review.py measures the review)")
    print("| certified N | proposed N' | machine calls under N' | about M | at most K | truth | N <= truth "
          "| N' <= truth | tracks | seconds (people + tally) |")
    print("|--:|--:|--:|--:|--:|--:|---|---|--:|--:|")
    print(f"| {out['at_least']} | {proposed} | {(out['proposed'] or {}).get('machine_calls')} | "
          f"{out['estimate']} | {out['at_most']} | {truth} | "
          f"{'yes' if int(out['at_least'] or 0) <= truth else 'NO'} | "
          f"{'yes' if int(proposed or 0) <= truth else 'no (a proposal, not a claim)'} | {out['tracks']} | "
          f"{seconds:.0f} |")
    cert = (out["proposed"] or {}).get("certificate") or {}
    reasons: dict[str, int] = {}
    for pair in cert.get("pairs", []):
        reasons[pair["reason"]] = reasons.get(pair["reason"], 0) + 1
    print(f"   proposed certificate's pairs by reason: {reasons}; proposals: {len(out['proposals'])}, the "
          f"first: {out['proposals'][0]['why'] if out['proposals'] else '-'}")


def videos(data: Path, work: Path) -> None:
    print("\n2. videos, each a case of its own (nothing reviewed: certified N is 0; N' is the machine's)")
    print("| clip | certified N | proposed N' | about M | at most K | cast | N' <= cast |")
    print("|---|--:|--:|--:|--:|--:|---|")
    for k, (name, cast) in enumerate([*CASTS.items(), *((n, None) for n in OTHER_CLIPS)]):
        out = tally_of(work / f"video{k}", [data / "video" / name])
        proposed = (out["proposed"] or {}).get("at_least")
        verdict = "-" if cast is None else ("yes" if int(proposed or 0) <= cast else "no")
        print(f"| {name} | {out['at_least']} | {proposed} | {out['estimate']} | {out['at_most']} | "
              f"{cast if cast is not None else OTHER_CLIPS[name]} | {verdict} |")


def scale(seed: int = 1) -> None:
    from dataclasses import replace

    from vericount.tally import proposals
    from vericount.tally.certificate import certificate, machine_calls
    from vericount.tally.graph import CERTIFIED, PROPOSED, Alignment, Records, TrackData, count

    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    n_people, n_items, n_tracks = 1500, 2000, 10_000
    identity = nprng.normal(size=(n_people, 128)).astype(np.float32)
    identity *= 0.65 / np.linalg.norm(identity, axis=1, keepdims=True)  # ~0.92 apart
    per_item = np.maximum(1, nprng.multinomial(n_tracks - n_items, [1 / n_items] * n_items) + 1)
    tracks: list[TrackData] = []
    copies: list[Alignment] = []
    originals: list[list[TrackData]] = []
    for item in range(n_items):
        name = f"{item:064x}"
        if item >= n_items - 200:  # a repost copy of an earlier item: the same tracks, another item
            source = originals[rng.randrange(len(originals))]
            tracks += [TrackData(f"{name}:{t.ref.rpartition(':')[2]}", name, t.boxes, t.face,
                                 best_t=t.best_t, best_box=t.best_box) for t in source]
            copies.append(Alignment(item, source[0].item, name, 0.0, 30.0, 0.0, 1.0, (1280, 720),
                                    (1280, 720)))
            continue
        cast = rng.sample(range(n_people), int(min(per_item[item], 12)))
        made = []
        for number, person in enumerate(cast, start=1):
            start = rng.randrange(0, 40)
            times = [round(0.25 * k, 3) for k in range(start, start + rng.randrange(2, 40))]
            x = 100.0 * (number - 1)
            box = (x + 5, 50.0, x + 95, 400.0)
            face = None
            if rng.random() < 0.3:
                noise = nprng.normal(size=128).astype(np.float32)
                face = identity[person] + noise * np.float32(rng.uniform(0.1, 0.45) / np.linalg.norm(noise))
            made.append(TrackData(f"{name}:{number}", name, [(t, box) for t in times], face,
                                  best_t=times[0], best_box=box))
        tracks += made
        originals.append(made)
    confirmed = 0
    for k, t in enumerate(tracks):  # reviewers have confirmed the people of two items in three
        if int(t.item, 16) % 3:
            tracks[k] = replace(t, confirmed={"review": k + 1, "by": "bench", "at": "now"})
            confirmed += 1
    print(f"\n3. scale: {len(tracks):,} tracks in {n_items:,} items ({len(copies)} repost copies), "
          f"{sum(t.face is not None for t in tracks):,} with a face, {confirmed:,} confirmed by a reviewer; "
          f"{os.cpu_count()} cores")
    records = Records(tracks, [], copies)
    clock = time.perf_counter()
    certified_graph = records.graph(CERTIFIED)
    proposed_graph = records.graph(PROPOSED)
    built = time.perf_counter() - clock
    edges = sum(len(a) for a in proposed_graph.adj) // 2
    clock = time.perf_counter()
    certified = count(certified_graph, time_limit=10.0, estimate=False)
    proposed = count(proposed_graph, time_limit=10.0)
    counted = time.perf_counter() - clock
    clock = time.perf_counter()
    cert = certificate(certified_graph, certified)
    calls = machine_calls(proposed_graph, proposed)  # the machine's certificate is written only when small
    ranked = proposals.rank(records, certified_graph, certified, proposed_graph, proposed)
    described = time.perf_counter() - clock
    print(f"   graphs (certified and proposed): {len(proposed_graph.nodes):,} nodes after joins, {edges:,} "
          f"'distinct' edges in the proposed one; built in {built:.2f} s")
    print(f"   count: certified at least {certified.at_least} (proved bound {certified.clique_upper}, "
          f"optimal {certified.optimal}); proposed {proposed.at_least} (optimal {proposed.optimal}, "
          f"{calls:,} machine calls); about {proposed.estimate}, at most {proposed.at_most}; "
          f"{counted:.2f} s")
    print(f"   certificate: {len(cert['pairs']):,} pairs; proposals: {len(ranked)} "
          f"(the first: {ranked[0]['effect'] if ranked else '-'} in "
          f"{ranked[0]['actions'] if ranked else '-'} action(s)); {described:.2f} s")
    total = built + counted + described
    print(f"   total {total:.2f} s (floor: under 10 s) {'ok' if total < 10 else 'OVER'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--skip-media", action="store_true", help="only the generated scale test")
    args = parser.parse_args()
    print(f"$ python bench/tally.py {' '.join(sys.argv[1:])}")
    if not args.skip_media:
        if not (args.data / "faces" / "identities.csv").is_file():
            raise SystemExit(f"{args.data}/faces/identities.csv is absent; this benchmark reads "
                             "../shared/data")
        with tempfile.TemporaryDirectory() as tmp:
            photos(args.data, Path(tmp))
            videos(args.data, Path(tmp))
    scale()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
