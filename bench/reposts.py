"""Repost benchmark: vericount's repost matcher against vPDQ on transformed copies of ../shared/data media,
and on hard negatives.

    python bench/reposts.py [--data ../shared/data] [--work DIR] [--keep] [--quick] [--fps F]

The set (bench/reposts_set.py says what it holds, and which pairs are copies) is built in a scratch folder,
deleted at the end unless --keep. Every item is fingerprinted by the reposts stage's own fingerprinter and
by vPDQ with its documented settings (a hash a second, PDQ distance <= 31, quality >= 50, a match when >= 80%
of either side's unique frames match), and matched once against the items before it, as the stage does.
Printed: precision and recall of confirmed and of confirmed+suggested pairs per family (a negative pair counts
for each of its families), every miss and every false pair, fingerprinting speed on the videos against vPDQ
and against decoding alone, the index at a million hashes, and adding 10 items to a case of 10,000.

Floors (issue 18): confirmed precision 1.000 and no pair confirmed in any hard-negative family;
confirmed+suggested recall >= 0.97 in all and >= 0.90 in every family; throughput >= 1.0x vPDQ's on the same
files, one process each (goal 2x); 10 items added to 10,000 fingerprinted and matched in under 5 s.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from reposts_incremental import incremental  # noqa: E402
from reposts_set import NEGATIVE_FAMILIES, VIDEO_FAMILIES, build, judge  # noqa: E402

DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
VPDQ_DISTANCE, VPDQ_QUALITY, VPDQ_PERCENT = 31, 50, 80.0
LEVELS = {"confirmed": {"confirmed"}, "conf+sugg": {"confirmed", "suggested"}}
Job = tuple[str, str, str]  # name, path, kind


# -- measuring (in the pool) ---------------------------------------------------------------------------------

def warm(_: object = None) -> None:
    import cv2  # noqa: F401
    import pdqhash  # noqa: F401
    import vpdq  # noqa: F401

    from vericount.reposts.fingerprint import Fingerprinter  # noqa: F401


def _fingerprinter() -> Any:
    """The reposts stage's own fingerprinter (sampling rate from VERICOUNT_BENCH_FPS when set)."""
    from dataclasses import replace

    from vericount.reposts.stage import RepostsStage

    fingerprinter = RepostsStage().fingerprinter
    if os.environ.get("VERICOUNT_BENCH_FPS"):
        fps = float(os.environ["VERICOUNT_BENCH_FPS"])
        fingerprinter = replace(fingerprinter, sampler=replace(fingerprinter.sampler, fps=fps))
    return fingerprinter


def measure(mode: str, job: Job) -> tuple[str, Any, float]:
    """One file: vericount's fingerprint, vPDQ's (hashes, qualities), or decoding alone (decode-only)."""
    import vpdq

    fingerprinter = _fingerprinter()
    start = time.perf_counter()
    value: Any = None
    try:
        if mode == "vericount":
            value = fingerprinter.fingerprint(Path(job[1]), job[2])
        elif mode == "vPDQ":
            try:
                features = vpdq.computeHash(job[1], seconds_per_hash=1, thread_count=1)
                hexes = "".join(f.hex for f in features)
                value = (np.frombuffer(bytes.fromhex(hexes), np.uint8).reshape(-1, 32),
                         np.array([f.quality for f in features], np.int32))
            except Exception:
                if job[2] != "image":
                    raise
                import pdqhash  # the same hash on the one frame of a photo vPDQ cannot open

                with Image.open(job[1]) as im:
                    bits, quality = pdqhash.compute(np.asarray(im.convert("RGB")))
                value = (np.packbits(np.asarray(bits, np.uint8))[None], np.array([quality]), "pdqhash")
        else:
            for _ in fingerprinter.sampler.frames(Path(job[1]), job[2]):  # the same sampling, no hashing
                pass
    except Exception as exc:
        value = f"{type(exc).__name__}: {exc}"
    return job[0], value, time.perf_counter() - start


def timed(pool: Any, mode: str, jobs: list[Job]) -> tuple[float, dict[str, tuple[Any, float]]]:
    start = time.perf_counter()
    out = {name: (value, s) for name, value, s in pool.imap_unordered(functools.partial(measure, mode), jobs)}
    return time.perf_counter() - start, out


# -- judging -------------------------------------------------------------------------------------------------

def vpdq_matches(items: list[str], prints: dict[str, tuple[Any, Any]]) -> set[frozenset[str]]:
    """ThreatExchange's brute-force vPDQ match (vpdq 0.2.5 ships none): unique frames of quality >= 50; a
    pair matches when >= 80% of either side's frames have one of the other within distance 31; all pairs at
    once."""
    empty = (np.zeros((0, 32), np.uint8), np.zeros(0))
    rows = [np.unique(h[q >= VPDQ_QUALITY], axis=0) for h, q in
            (prints[i][:2] if isinstance(prints[i], tuple) else empty for i in items)]
    owner = np.repeat(np.arange(len(items)), [len(r) for r in rows])
    starts = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    bits = np.unpackbits(np.concatenate(rows), axis=1).astype(np.float32)
    close = bits @ (1 - bits).T + (1 - bits) @ bits.T <= VPDQ_DISTANCE + 0.5
    i, j = np.nonzero(close)
    found = set()
    for a, b in {(int(a), int(b)) for a, b in zip(owner[i], owner[j], strict=True) if a < b}:
        block = close[starts[a]:starts[a + 1], starts[b]:starts[b + 1]]
        if max(block.any(axis=1).mean(), block.any(axis=0).mean()) * 100 >= VPDQ_PERCENT:
            found.add(frozenset((items[a], items[b])))
    return found


def score(positives: list[tuple[str, str, str]], negatives: dict[frozenset[str], tuple[str, ...]],
          item_of: dict[str, str], same: dict[tuple[str, str], bool], predicted: dict[frozenset[str], Any],
          level: set[str]) -> dict[str, tuple[int, int, int]]:
    """Per family and 'all': (true positives, positives, false positives)."""
    tp, n, fp = Counter(), Counter(), Counter()
    for a, b, family in positives:
        ia, ib = item_of[a], item_of[b]
        hit = same[a, b] if ia == ib else predicted.get(frozenset((ia, ib))) in level
        for f in (family, "all"):
            n[f], tp[f] = n[f] + 1, tp[f] + hit
    for key, state in predicted.items():
        if state in level and key in negatives:
            for f in (*negatives[key], "all"):
                fp[f] += 1
    return {f: (tp[f], n[f], fp[f]) for f in set(n) | set(fp)}


def equal(a: Any, b: Any) -> bool:
    """Whether two fingerprints (vericount's, or vPDQ's hashes and qualities) are the same."""
    arrays = [x[:2] if isinstance(x, tuple) else (x.hashes, x.times)
              for x in (a, b) if not isinstance(x, str)]
    return len(arrays) == 2 and all(np.array_equal(x, y) for x, y in zip(*arrays, strict=True))


def ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- scale ---------------------------------------------------------------------------------------------------

def rss_mb() -> float:
    lines = Path("/proc/self/status").read_text().splitlines()
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:")), 0.0)


def scale_test(n: int = 1_000_000, planted: int = 1000) -> dict[str, float]:
    import faiss

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(7)
    before = rss_mb()
    base = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, (planted, 32), dtype=np.uint8)
    bits = np.unpackbits(queries, axis=1)
    for row, k in zip(bits, rng.integers(8, 31, planted), strict=True):
        row[rng.choice(256, int(k), replace=False)] ^= 1
    start = time.perf_counter()
    index = faiss.IndexBinaryFlat(256)
    index.add(base)
    index.add(np.packbits(bits, axis=1))  # planted copy of query q is row n + q
    out = {"n": float(index.ntotal), "build_s": time.perf_counter() - start,
           "index_mb": index.ntotal * 32 / 1e6, "rss_mb": rss_mb() - before}
    from vericount.reposts.match import MatchParams

    wide = MatchParams().pdq_radius + 1
    for name, radius in (("ms_32", 32), ("ms_wide", wide)):
        start = time.perf_counter()
        lims, _, ids = index.range_search(queries, radius)
        out[name] = (time.perf_counter() - start) * 1000 / planted
        if radius == 32:
            out["recall"] = sum(n + q in ids[lims[q]:lims[q + 1]] for q in range(planted)) / planted
    return out


# -- main ----------------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a fresh temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated set")
    ap.add_argument("--quick", action="store_true", help="3 videos and 8 photos: a smoke run")
    ap.add_argument("--fps", type=float, default=None,
                    help="vericount's sampling rate (default: the reposts stage's own)")
    args = ap.parse_args()
    if not (args.data / "reposts" / "pairs.csv").is_file():
        print(f"bench/reposts.py: {args.data} is absent; this benchmark reads ../shared/data")
        return 2
    if args.fps:
        os.environ["VERICOUNT_BENCH_FPS"] = str(args.fps)  # before the pool forks
    command = "python bench/reposts.py " + " ".join(sys.argv[1:])
    git = [subprocess.run(["git", "-C", str(HERE.parent), *cmd], capture_output=True, check=False).stdout
           for cmd in (["describe", "--always", "--dirty"], ["diff", "HEAD", "--", "src"])]
    print(f"$ {command}\nvericount at {git[0].decode().strip() or '?'}"
          + (f" (src diff sha256 {hashlib.sha256(git[1]).hexdigest()[:12]})" if git[1] else ""))
    pool = multiprocessing.get_context("fork").Pool(2, initializer=warm)  # before faiss is loaded here
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vc-reposts-", dir=args.work))
    (work / "gen").mkdir()
    clock = time.perf_counter()
    try:
        return run(args, pool, work, command, clock)
    finally:
        pool.terminate()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, pool: Any, work: Path, command: str, clock: float) -> int:
    files, pairs = build(args.data.resolve(), work / "gen", args.quick, pool)
    digest = {m.name: hashlib.sha256(m.path.read_bytes()).hexdigest() for m in files.values()}
    judged = judge(files, pairs, digest)
    items, item_of, positives, negatives = judged.items, judged.item_of, judged.positives, judged.negatives
    kinds = Counter(f"{m.kind} {'copy' if m.source else m.role}" for m in files.values())
    print(f"set: {len(files)} files, {len(items)} distinct ({dict(sorted(kinds.items()))}); "
          f"built in {time.perf_counter() - clock:.0f} s in {work}")

    # fingerprints, and speed on the source and generated videos: one process each, twice, interleaved
    jobs = sorted(((m.name, str(m.path), m.kind) for m in files.values()),
                  key=lambda j: -Path(j[1]).stat().st_size)  # the big ones first: the pool ends together
    video_jobs = [j for j in jobs if j[2] == "video" and files[j[0]].role not in ("natural", "stretch")]
    walls: dict[str, list[float]] = defaultdict(list)
    results: dict[str, dict[str, tuple[Any, float]]] = {}
    single = multiprocessing.get_context("fork").Pool(1, initializer=warm)
    single.map(warm, range(2))
    for _ in range(2):
        for mode in ("vericount", "vPDQ", "decode-only"):
            wall, results[mode] = timed(single, mode, video_jobs)
            walls[mode].append(wall)
    single.close()
    rest = [j for j in jobs if j not in video_jobs]
    pool.map(warm, range(4))
    for mode in ("vericount", "vPDQ"):
        results[mode].update(timed(pool, mode, rest)[1])
    pool.close()
    prints = {name: value for name, (value, _) in results["vericount"].items()}
    failed = {name for name, value in prints.items() if isinstance(value, str)}
    for mode in ("vericount", "vPDQ"):
        for name, (value, _) in results[mode].items():
            if isinstance(value, str):
                print(f"  {mode} could not hash {name}: {value}")

    # vericount: one Library, every item matched once against those not matched yet (as the service does)
    from vericount.reposts.library import Library
    from vericount.reposts.match import MatchParams

    library = Library(MatchParams())
    for item in items:
        if item not in failed:
            library.add(item, prints[item])
    found: dict[frozenset[str], Any] = {}
    match_s: list[float] = []
    done: set[str] = set()
    for item in library.ids:
        start = time.perf_counter()
        found.update((frozenset((f.a, f.b)), f) for f in library.match(item, skip=done))
        match_s.append(time.perf_counter() - start)
        done.add(item)
    vc_pred = {key: f.state(library.params) for key, f in found.items()}
    vp_pred = dict.fromkeys(vpdq_matches(items, {n: results["vPDQ"][n][0] for n in items}), "confirmed")

    neg_n = Counter(f for fams in negatives.values() for f in fams)
    neg_n["all"] = len(negatives)

    same = {(a, b): equal(prints[a], prints[b]) for a, b, _ in positives}
    same_vp = {(a, b): equal(results["vPDQ"][a][0], results["vPDQ"][b][0]) for a, b, _ in positives}
    tables = {lvl: score(positives, negatives, item_of, same, vc_pred, LEVELS[lvl]) for lvl in LEVELS}
    tables["vPDQ"] = score(positives, negatives, item_of, same_vp, vp_pred, {"confirmed"})

    fallback = sum(len(v) == 3 for v, _ in results["vPDQ"].values() if isinstance(v, tuple))
    fallback = f", but for {fallback} that it could not open: pdqhash on their one frame" if fallback else ""
    order = [*VIDEO_FAMILIES, "pip", "mirror_caption", "stretch", "natural", "exact", "source", "portrait",
             *NEGATIVE_FAMILIES, "all"]
    print(f"\nmatching: {len(positives)} positive pairs, {len(negatives)} negative pairs (a negative pair "
          f"counts for each of its families); vPDQ hashed the photos itself (one frame each){fallback}\n")
    print("| family | pos | neg | vc confirmed P | vc confirmed R | vc conf+sugg P | vc conf+sugg R | vPDQ P "
          "| vPDQ R | negatives confirmed / suggested | floors |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    fails = []
    for family in [*(f for f in order if neg_n[f] or f in tables["confirmed"]),
                   *sorted(f for f in set(neg_n) | set(tables["confirmed"]) if f not in order)]:
        c, s, v = (tables[t].get(family, (0, 0, 0)) for t in ("confirmed", "conf+sugg", "vPDQ"))
        floor = 0.97 if family == "all" else 0.90
        checks = [f"c+s R>={floor} {verdict(s[0] >= floor * s[1])}"] if s[1] else []
        if family == "all":
            checks.append(f"conf P=1 {verdict(c[2] == 0)}")
        if family in NEGATIVE_FAMILIES:
            checks.append(f"none confirmed {verdict(c[2] == 0)}")
        fails += [f"{family} {x}" for x in checks if x.endswith("FAIL")]
        cells = [ratio(c[0], c[0] + c[2]), ratio(c[0], c[1]), ratio(s[0], s[0] + s[2]), ratio(s[0], s[1]),
                 ratio(v[0], v[0] + v[2]), ratio(v[0], v[1])]
        row = [family, str(c[1]), str(neg_n[family]), *map(fmt, cells), f"{c[2]} / {s[2] - c[2]}",
               "; ".join(checks)]
        print("| " + " | ".join(row) + " |")

    print("\nvericount false negatives (positives not confirmed; score '-': not found, or below 0.5):")
    for a, b, family in positives:
        f = found.get(frozenset((item_of[a], item_of[b])))
        if item_of[a] == item_of[b]:
            if not same[a, b]:
                print(f"  {family:<16} identical bytes, but the fingerprints differ: {a} ~ {b}")
        elif f is None or f.state(library.params) != "confirmed":
            state, shown = (f.state(library.params), f"{f.score:.3f} {f.type}") if f else ("none", "-")
            print(f"  {family:<16} {state:<9} {shown:<17} {a} ~ {b}")
    print("vericount false positives (negatives confirmed or suggested):")
    for key, f in sorted(found.items(), key=lambda kv: -kv[1].score):
        if key in negatives:
            print(f"  {f.state(library.params):<9} {f.score:.3f} {f.type:<9} {'/'.join(negatives[key]):<26} "
                  f"{f.a} ~ {f.b}  {f.evidence}")
    vp_fp = sorted(" ~ ".join(sorted(k)) for k in vp_pred if k in negatives)
    print(f"vPDQ false positives: {len(vp_fp)}" + "".join(f"\n  {x}" for x in vp_fp[:20]))

    seconds = sum(prints[n].duration for n, _, _ in video_jobs if n not in failed)
    best = {label: min(w) for label, w in walls.items()}
    speed = {label: seconds / w for label, w in best.items()}
    per_file = sorted((results["vericount"][n][1], n) for n, _, _ in video_jobs)
    r_vp, r_dec = speed["vericount"] / speed["vPDQ"], speed["vericount"] / speed["decode-only"]
    print(f"\nspeed: {len(video_jobs)} video files (sources and copies), {seconds:.0f} s of video, one "
          f"process each, best of 2 interleaved runs")
    for label, wall in best.items():
        print(f"  {label:<12} {wall:6.2f} s wall (runs: {walls[label][0]:.2f}, {walls[label][1]:.2f})  "
              f"{speed[label]:6.1f} s of video per second")
    for label, value, floor in (("vericount / vPDQ", r_vp, 1.0), ("vericount / decode-only", r_dec, 0.6)):
        print(f"  {label:<24} {value:5.2f}x  (floor >= {floor}) {verdict(value >= floor)}")
        fails += [f"speed {label} {value:.2f}x"] if value < floor else []
    print(f"  vericount seconds per file: median {per_file[len(per_file) // 2][0]:.2f}; slowest "
          + ", ".join(f"{n} {s:.2f}" for s, n in per_file[-3:][::-1]))

    sc = scale_test()
    print(f"\nscale: faiss.IndexBinaryFlat(256) of {sc['n']:,.0f} random hashes (1,000 planted: 8-30 bits "
          f"flipped), 1 thread\n  build {sc['build_s']:.2f} s; index {sc['index_mb']:.0f} MB, process RSS "
          f"growth {sc['rss_mb']:.0f} MB (the generated hashes included)\n  range_search radius 32 (distance "
          f"<= 31): {sc['ms_32']:.2f} ms per query, planted recall {sc['recall']:.3f}; the Library's "
          f"radius (pdq_radius + 1): {sc['ms_wide']:.2f} ms per query\n  Library.match on the {len(library)} "
          f"real items: "
          f"{sum(match_s):.1f} s in all, {1000 * np.mean(match_s):.1f} ms mean, "
          f"{1000 * max(match_s):.0f} ms max ({library.ids[int(np.argmax(match_s))]})")

    chosen: list[tuple[str, str, str]] = []  # 5 pairs of distinct items from 5 families: the 10 items added
    for a, b, family in positives:
        names = {n for pair in chosen for n in pair[:2]}
        taken = {item_of[n] for n in names}
        if (len(chosen) < 5 and family not in {c[2] for c in chosen} and item_of[a] != item_of[b]
                and not {a, b} & (names | failed) and not {item_of[a], item_of[b]} & taken):
            chosen.append((a, b, family))
    inc = incremental(work, [prints[i] for i in library.ids], [files[n].path for c in chosen for n in c[:2]],
                      n=1000 if args.quick else 10_000)
    inc_found = [inc["pairs"].get(frozenset((digest[a], digest[b]))) for a, b, _ in chosen]
    added = 2 * len(chosen)
    inc_ok = inc["fingerprinted"] == inc["matched"] == added and inc["match_s"] < 5
    fails += [] if inc_ok else [f"incremental {inc['fingerprinted']} fingerprinted, {inc['match_s']:.1f} s"]
    print(f"\nincremental: a case of {inc['n']:,} generated items ({inc['hashes']:,} PDQ hashes, "
          f"{inc['descriptors']:,} ORB descriptors, {inc['index']}; built and kept in {inc['build_s']:.0f} "
          f"s), then {added} real items added ({inc['add_s']:.1f} s): `vericount reposts` took "
          f"{inc['reposts_s']:.2f} s, "
          f"fingerprinted {inc['fingerprinted']}, matched {inc['matched']} in {inc['match_s']:.2f} s "
          f"(floor: only the {added}, under 5 s: {verdict(inc_ok)}); the {len(chosen)} pairs among them "
          + ", ".join(f"{family} {state or 'not found'}" for (_, _, family), state in zip(chosen, inc_found,
                                                                                         strict=True)))
    (ct, cn, cf), (st, sn, sf), (vt, vn, vf) = (tables[t]["all"] for t in ("confirmed", "conf+sugg", "vPDQ"))
    print("\n## summary\n\n| measure | value | floor |\n|---|---|---|")
    for row in [
        ("items / positive / negative pairs", f"{len(items)} / {len(positives)} / {len(negatives)}", ""),
        ("vericount confirmed P / R", f"{fmt(ratio(ct, ct + cf))} / {fmt(ratio(ct, cn))}",
         f"P = 1 {verdict(cf == 0)}; none confirmed in a hard-negative family "
         f"{verdict(not any('none confirmed' in x for x in fails))}"),
        ("vericount confirmed+suggested P / R", f"{fmt(ratio(st, st + sf))} / {fmt(ratio(st, sn))}",
         f"R >= 0.97 {verdict(st >= 0.97 * sn)}, >= 0.90 per family "
         f"{verdict(not any('R>=0.9 ' in x for x in fails))}"),
        ("vPDQ P / R", f"{fmt(ratio(vt, vt + vf))} / {fmt(ratio(vt, vn))}", ""),
        ("s of video per s: vericount / vPDQ / decode-only",
         " / ".join(f"{speed[k]:.1f}" for k in ("vericount", "vPDQ", "decode-only")), ""),
        ("vericount / vPDQ; vericount / decode-only", f"{r_vp:.2f}x; {r_dec:.2f}x",
         f">= 1.0 {verdict(r_vp >= 1)} (goal 2); >= 0.6 {verdict(r_dec >= 0.6)}"),
        ("1M hashes: ms per query r32 / Library radius; planted recall",
         f"{sc['ms_32']:.2f} / {sc['ms_wide']:.2f}; "
         f"{sc['recall']:.3f}", ""),
        ("Library.match ms per item: mean / max", f"{1e3 * np.mean(match_s):.1f} / {1e3 * max(match_s):.0f}",
         ""),
        (f"{added} items added to {inc['n']:,}: fingerprinted; matched in", f"{inc['fingerprinted']}; "
         f"{inc['match_s']:.2f} s", f"{added}; < 5 s {verdict(inc_ok)}"),
    ]:
        print("| " + " | ".join(row) + " |")
    print(f"\nfloors: {'all PASS' if not fails else 'FAIL: ' + '; '.join(fails)}")
    print(f"total {time.perf_counter() - clock:.0f} s on {os.cpu_count()} cores\n$ {command}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
