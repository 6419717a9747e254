"""Repost matching at scale: the library's two indexes filled with generated fingerprints, queried as one new
one-minute item would query them (issue 22's index question; generated data, so it reads no shared data).

    python bench/scale_index.py [--hashes 1000000] [--descriptors 10000000] [--threads 1]

What one new one-minute item asks (reposts/fingerprint.py, reposts/library.py): 2 frames a second, each
frame's 8 PDQ variants, each a range search of radius 65 bits over the stored frame hashes; a keyframe
every 3 s with up to 500 ORB descriptors, and its mirror image, each a range search of radius 48 over the
stored descriptors. Stored hashes and descriptors are uniformly random 256-bit strings, and copies of the
queries are planted at known Hamming distances, so that what an index misses is counted (recall), not
guessed. Printed: build time and memory of each index, and query time per new item, for the flat index the
library uses for PDQ today and for the inverted file (IndexBinaryIVF, 4 sqrt(n) lists, 16 probed) it uses
for descriptors past 250,000. Floor (issue 22): under 1 s per new one-minute item.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

BITS = 256
FRAMES = 120  # one minute at 2 frames a second
VARIANTS = 8
KEYFRAMES = 20  # one every 3 s
FEATURES = 500  # ORB descriptors a keyframe holds at most
PDQ_RADIUS = 65
DESC_RADIUS = 48
PLANTED = (8, 16, 32, 48, 64)  # bit distances of the planted copies of the queries
PROBE = 16


def random_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, BITS // 8), dtype=np.uint8)


def flipped(rng: np.random.Generator, codes: np.ndarray, bits: int) -> np.ndarray:
    """Each code with ``bits`` of its bits flipped, at random places."""
    out = codes.copy()
    for row in out:
        for bit in rng.choice(BITS, bits, replace=False):
            row[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def build(kind: str, stored: np.ndarray) -> tuple[Any, float]:
    start = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexBinaryFlat(BITS)
    else:
        lists = int(4 * np.sqrt(len(stored)))
        quantizer = faiss.IndexBinaryFlat(BITS)
        index = faiss.IndexBinaryIVF(quantizer, BITS, lists)
        size = min(len(stored), max(100_000, 40 * lists))  # as many as faiss asks for, at least 100,000
        sample = stored[np.random.default_rng(1).choice(len(stored), size, replace=False)]
        index.train(sample)
        index.nprobe = PROBE
    index.add(stored)
    return index, time.perf_counter() - start


def measure(name: str, kind: str, stored: np.ndarray, queries: np.ndarray, radius: int,
            planted: dict[int, range]) -> None:
    before = rss_mb()
    index, built = build(kind, stored)
    grown = rss_mb() - before
    start = time.perf_counter()
    lims, _, rows = index.range_search(queries, radius + 1)
    seconds = time.perf_counter() - start
    found = {}
    for bits, where in planted.items():  # query q's copy is stored at where.start + q
        hit = 0
        for q in range(len(where)):
            got = rows[lims[q]:lims[q + 1]]
            hit += bool((got == where.start + q).any())
        found[bits] = hit / len(where)
    recall = ", ".join(f"{bits} bits {share:.2f}" for bits, share in found.items() if bits <= radius)
    print(f"  {name:34} built in {built:6.1f} s, memory +{grown:7.0f} MB; {len(queries):,} queries "
          f"(one new item) in {seconds:6.2f} s; planted copies found: {recall}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--descriptors", type=int, default=10_000_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(f"$ python bench/scale_index.py {' '.join(sys.argv[1:])}".rstrip())
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    queries = random_codes(rng, FRAMES * VARIANTS)
    copies = [flipped(rng, queries[:200], bits) for bits in PLANTED]  # 200 frames' copies at each distance
    stored = np.concatenate([*copies, random_codes(rng, args.hashes - 200 * len(PLANTED))])
    planted = {bits: range(200 * k, 200 * k + 200) for k, bits in enumerate(PLANTED)}
    print(f"\nPDQ frame hashes: {len(stored):,} stored; a new one-minute item asks {len(queries):,} range "
          f"searches of radius {PDQ_RADIUS} bits ({args.threads} thread(s))")
    for name, kind in (("flat (the library's PDQ index)", "flat"), (f"IVF, nprobe {PROBE}", "ivf")):
        measure(name, kind, stored, queries, PDQ_RADIUS, planted)
    del stored

    queries = random_codes(rng, KEYFRAMES * FEATURES * 2)
    copies = [flipped(rng, queries[:200], bits) for bits in PLANTED if bits <= DESC_RADIUS]
    stored = np.concatenate([*copies, random_codes(rng, args.descriptors - 200 * len(copies))])
    planted = {bits: range(200 * k, 200 * k + 200) for k, bits in enumerate(p for p in PLANTED
                                                                             if p <= DESC_RADIUS)}
    print(f"\nORB descriptors: {len(stored):,} stored; a new one-minute item asks {len(queries):,} range "
          f"searches of radius {DESC_RADIUS} bits ({KEYFRAMES} keyframes x {FEATURES} features x 2: "
          "the mirror image)")
    measure(f"IVF, nprobe {PROBE} (the library's)", "ivf", stored, queries, DESC_RADIUS, planted)
    print("\nThe floor (issue 22): under 1 s per new one-minute item, both indexes together.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
