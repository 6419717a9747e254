"""Repost benchmark: vericount's repost matcher against vPDQ on transformed copies of ../shared/data media.

    python bench/reposts.py [--data ../shared/data] [--work DIR] [--keep] [--quick]

The set it builds in a scratch folder (deleted at the end unless --keep):
- sources: the videos of video/ (crowd_walking_1080p, hamilton_short, the first 30 s of intel_one_by_one
  re-encoded with PyAV, then the Intel GIF previews, sorted; at most 8, 3 with --quick) and photos of people/
  and faces/face_recognition/*/ (25 spread evenly over the sorted list, 8 with --quick);
- one copy of every source per family, made with PyAV (libx264, yuv420p) and Pillow: reencode (crf 35; JPEG
  quality 30 for photos), downscale_360p (short side 360, or 60% where it is that small already), crop10 and
  crop25 (not centred: 60% of the share off the left, 40% off the bottom), mirror, rotate90, letterbox
  (landscape into 9:16, portrait and square into 16:9, black bars), caption (large burned-in text, the same
  on every copy, and a corner watermark), greyscale, screen_recording (720 x 1280, status and caption bars),
  and for videos only excerpt (3 s, or 60% of a shorter clip, from the middle), speed125 (every frame,
  retimed), fps_change (15 fps, or half the rate of a clip at 20 fps or less) and gif (10 fps, 320 px wide);
- every file named in reposts/pairs.csv, with its labels: family "natural", or "exact" for byte-identical
  pairs, which vericount holds as one item and which count as found when the two fingerprints are equal.
Files with the same bytes, the labelled positives of pairs.csv, two_people.jpg with obama3.jpg and biden.jpg
(its two halves) and the intel excerpt with its full video are each one origin. Positives: every source with
each of its copies, and the labelled positive pairs. Negatives: every pair of items of different origins (all
of them, copy against copy included; the "different" pairs of pairs.csv are family hard_negative). Other pairs
within an origin (two copies of one source) are not judged. vPDQ runs with its documented settings: a hash
a second, PDQ distance <= 31, quality >= 50, a match when >= 80% of either side's unique frames match.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import itertools
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
PHOTO_FAMILIES = ("reencode", "downscale_360p", "crop10", "crop25", "mirror", "rotate90", "letterbox",
                  "caption", "greyscale", "screen_recording")
VIDEO_FAMILIES = (*PHOTO_FAMILIES, "excerpt", "speed125", "fps_change", "gif")
SAME_ORIGIN = [  # unlabelled overlaps: two_people.jpg is obama3.jpg (left) beside biden.jpg (right)
    ("faces/face_recognition/obama/obama3.jpg", "faces/face_recognition/_multi_person/two_people.jpg"),
    ("faces/face_recognition/biden/biden.jpg", "faces/face_recognition/_multi_person/two_people.jpg"),
    ("gen/intel_one_by_one_30s.mp4", "video/intel_one_by_one.mp4")]
VPDQ_DISTANCE, VPDQ_QUALITY, VPDQ_PERCENT = 31, 50, 80.0
LEVELS = {"confirmed": {"confirmed"}, "conf+sugg": {"confirmed", "suggested"}}
Job = tuple[str, str, str]  # name, path, kind


@dataclass
class Media:
    name: str  # data-relative path, or gen/<source>__<family>.<ext>
    path: Path
    kind: str  # image | video
    role: str  # source | natural | the family of a generated copy
    source: str | None = None


# -- building the set (in the pool) -------------------------------------------------------------------------

def video_frames(path: Path, limit: float = 1e9) -> Iterator[tuple[float, Any]]:
    """(seconds from the first frame, RGB PIL image) of every frame."""
    with av.open(str(path)) as container:
        first = None
        for frame in container.decode(container.streams.video[0]):
            t = float(frame.time or 0.0)
            first = t if first is None else first
            if t - first >= limit:
                break
            yield t - first, frame.to_image().convert("RGB")


def video_info(path: Path) -> tuple[Fraction, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25).limit_denominator(1001)
        return rate, (container.duration or 0) / 1e6


def write_video(path: Path, images: Iterator[Any], rate: Fraction, crf: int = 23) -> None:
    with av.open(str(path), "w") as out:
        stream, size = None, (0, 0)
        for i, img in enumerate(images):
            if stream is None:
                size = (img.width // 2 * 2, img.height // 2 * 2)  # yuv420p wants even sizes
                stream = out.add_stream("libx264", rate=rate)
                stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast"}
            frame = av.VideoFrame.from_image(img.crop((0, 0, *size)) if img.size != size else img)
            frame.pts, frame.time_base = i, 1 / rate
            out.mux(stream.encode(frame))
        if stream is not None:
            out.mux(stream.encode())


def thin(frames: Iterator[tuple[float, Any]], fps: float) -> Iterator[tuple[float, Any]]:
    next_t = 0.0
    for t, img in frames:
        if t + 1e-6 >= next_t:
            while next_t <= t + 1e-6:
                next_t += 1.0 / fps
            yield t, img


def _font(size: int) -> Any:
    return ImageFont.load_default(size=max(10, size))


def screen_recording(img: Any) -> Any:
    (w, h), (width, height, top, bottom) = img.size, (720, 1280, 64, 170)
    canvas = Image.new("RGB", (width, height), (10, 10, 10))
    s = min(width / w, (height - top - bottom) / h)
    clip = img.resize((round(w * s), round(h * s)), Image.Resampling.BILINEAR)
    canvas.paste(clip, ((width - clip.width) // 2, (height - clip.height) // 2))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, top), fill=(45, 45, 45))
    draw.text((24, 12), "9:41", font=_font(34), fill="white")
    draw.rectangle((630, 20, 690, 44), outline="white", width=3)
    draw.rectangle((635, 25, 670, 39), fill="white")
    for i in range(4):
        draw.rectangle((560 + 12 * i, 40 - 6 * i, 568 + 12 * i, 44), fill="white")
    draw.rectangle((0, height - bottom, width, height), fill=(45, 45, 45))
    draw.text((24, height - bottom + 22), "@someone_reposts  Follow", font=_font(34), fill="white")
    draw.text((24, height - bottom + 84), "12.3K likes  245 comments  Share", font=_font(28), fill="white")
    return canvas


def transform(img: Any, family: str) -> Any:
    w, h = img.size
    if family in ("downscale_360p", "gif"):
        s = (360 if min(w, h) > 400 else 0.6 * min(w, h)) / min(w, h) if family != "gif" else 320 / w
        return img.resize((max(2, round(w * s)), max(2, round(h * s))), Image.Resampling.BILINEAR)
    if family in ("crop10", "crop25"):
        share = 0.10 if family == "crop10" else 0.25
        return img.crop((round(0.6 * share * w), 0, w, h - round(0.4 * share * h)))
    if family == "letterbox":
        cw, ch = (w, round(w * 16 / 9)) if w / h > 1.3 else (round(h * 16 / 9), h)
        canvas = Image.new("RGB", (cw, ch))
        canvas.paste(img, ((cw - w) // 2, (ch - h) // 2))
        canvas.thumbnail((1920, 1920), Image.Resampling.BILINEAR)
        return canvas
    if family == "caption":
        out, text = img.copy(), "BREAKING: watch until the end"
        draw, font = ImageDraw.Draw(out), _font(min(h // 10, int(w / (0.6 * len(text)))))
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=3)
        draw.text(((w - x1 + x0) // 2, int(0.78 * h) - (y1 - y0) // 2), text, font=font, fill="white",
                  stroke_width=3, stroke_fill="black")
        draw.text((int(0.62 * w), int(0.04 * h)), "@viral_clips", font=_font(h // 22), fill=(235, 235, 235))
        return out
    steps = {"mirror": ImageOps.mirror, "rotate90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
             "greyscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
             "screen_recording": screen_recording}
    return steps[family](img) if family in steps else img  # reencode, excerpt, speed125, fps_change: as is


def make_copy(job: tuple[str, str, str, str]) -> None:
    family, kind, src, out = job
    source, target = Path(src), Path(out)
    if kind == "image":
        with Image.open(source) as im:
            img = (ImageOps.exif_transpose(im) or im).convert("RGB")
        transform(img, family).save(target, "JPEG", quality=30 if family == "reencode" else 90)
        return
    rate, duration = video_info(source)
    frames = video_frames(source, 30.0 if family == "cut30" else 1e9)
    if family == "excerpt":
        middle, half = duration / 2, min(1.5, 0.3 * duration)
        frames = ((t, img) for t, img in frames if middle - half <= t < middle + half)
    elif family == "speed125":
        rate *= Fraction(5, 4)
    elif family == "fps_change":
        rate = Fraction(15) if rate > 20 else rate / 2
        frames = thin(frames, float(rate))
    elif family == "gif":
        images = [transform(img, family) for _, img in thin(frames, 10.0)]
        images[0].save(target, save_all=True, append_images=images[1:], duration=100, loop=0)
        return
    crf = {"reencode": 35, "cut30": 18}.get(family, 23)
    write_video(target, (transform(img, family) for _, img in frames), rate, crf)


def build(data: Path, gen: Path, quick: bool, pool: Any) -> tuple[dict[str, Media], list[list[str]]]:
    """The media of the benchmark by name, and the rows (a, b, relation) of pairs.csv."""
    videos = [data / "video" / n for n in ("crowd_walking_1080p.mp4", "hamilton_short.mp4",
                                           "intel_one_by_one.mp4")]
    videos = (videos + sorted((data / "video" / "intel_gifs").glob("*.gif")))[: 3 if quick else 8]
    if (intel := data / "video" / "intel_one_by_one.mp4") in videos:
        cut = gen / "intel_one_by_one_30s.mp4"
        pool.apply(make_copy, (("cut30", "video", str(intel), str(cut)),))
        videos[videos.index(intel)] = cut
    photos = sorted(p for p in [*(data / "people").rglob("*"), *(data / "faces/face_recognition").glob("*/*")]
                    if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    cap = 8 if quick else 25
    photos = [photos[i * len(photos) // cap] for i in range(cap)] if len(photos) > cap else photos
    files: dict[str, Media] = {}
    jobs = []
    for path, kind in [*((v, "video") for v in videos), *((p, "image") for p in photos)]:
        name = path.relative_to(data if path.is_relative_to(data) else gen.parent).as_posix()
        files[name] = Media(name, path, kind, "source")
        slug = "-".join(path.with_suffix("").parts[-2:]) if kind == "image" else path.stem
        for family in VIDEO_FAMILIES if kind == "video" else PHOTO_FAMILIES:
            ext = ".gif" if family == "gif" else ".mp4" if kind == "video" else ".jpg"
            out = gen / f"{slug}__{family}{ext}"
            jobs.append((family, kind, str(path), str(out)))
            files[f"gen/{out.name}"] = Media(f"gen/{out.name}", out, kind, family, name)
    for _ in pool.imap_unordered(make_copy, jobs):
        pass
    with (data / "reposts" / "pairs.csv").open(newline="") as fh:
        pairs = [[r["a"], r["b"], r["relation"]] for r in csv.DictReader(fh)]
    for name in sorted({n for a, b, _ in pairs for n in (a, b)} - set(files)):
        kind = "video" if Path(name).suffix.lower() in (".mp4", ".gif", ".avi") else "image"
        files[name] = Media(name, data / name, kind, "natural")
    return files, pairs


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

class Origins:
    """Union-find over names: which files show the same original."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        while self.parent.setdefault(x, x) != x:
            self.parent[x] = x = self.parent[self.parent[x]]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


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
    origins, digest = Origins(), {}
    for m in files.values():
        digest[m.name] = hashlib.sha256(m.path.read_bytes()).hexdigest()
        origins.union(m.name, f"sha:{digest[m.name]}")
        origins.union(m.name, m.source or m.name)
    for a, b in [*SAME_ORIGIN, *((a, b) for a, b, rel in pairs if rel != "different")]:
        origins.union(a, b)
    rank = {name: (m.role != "source", m.role == "natural", name) for name, m in files.items()}
    item_of = {name: min((n for n in files if digest[n] == digest[name]), key=rank.__getitem__)
               for name in files}
    items = sorted(set(item_of.values()))
    kinds = Counter(f"{m.kind} {'copy' if m.source else m.role}" for m in files.values())
    print(f"set: {len(files)} files, {len(items)} distinct ({dict(sorted(kinds.items()))}); "
          f"built in {time.perf_counter() - clock:.0f} s in {work}")

    # fingerprints, and speed on the source and generated videos: each measure twice, interleaved
    jobs = sorted(((m.name, str(m.path), m.kind) for m in files.values()),
                  key=lambda j: -Path(j[1]).stat().st_size)  # the big ones first: the pool ends together
    video_jobs = [j for j in jobs if j[2] == "video" and files[j[0]].role != "natural"]
    walls: dict[str, list[float]] = defaultdict(list)
    results: dict[str, dict[str, tuple[Any, float]]] = {}
    pool.map(warm, range(4))
    for _ in range(2):
        for mode in ("vericount", "vPDQ", "decode-only"):
            wall, results[mode] = timed(pool, mode, video_jobs)
            walls[mode].append(wall)
    rest = [j for j in jobs if j not in video_jobs]
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
    from vericount.reposts.match import Library, MatchParams

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

    positives = [(m.source, m.name, m.role) for m in files.values() if m.source]
    positives += [(a, b, "exact" if r == "exact" else "natural") for a, b, r in pairs if r != "different"]
    hard = {frozenset((item_of[a], item_of[b])) for a, b, rel in pairs if rel == "different"}
    assert all(origins.find(a) != origins.find(b) for a, b, rel in pairs if rel == "different")
    negatives = {frozenset((a, b)): ("hard_negative",) if frozenset((a, b)) in hard
                 else tuple(sorted({files[a].role, files[b].role}))
                 for a, b in itertools.combinations(items, 2) if origins.find(a) != origins.find(b)}
    neg_n = Counter(f for fams in negatives.values() for f in fams)
    neg_n["all"] = len(negatives)

    same = {(a, b): equal(prints[a], prints[b]) for a, b, _ in positives}
    same_vp = {(a, b): equal(results["vPDQ"][a][0], results["vPDQ"][b][0]) for a, b, _ in positives}
    tables = {lvl: score(positives, negatives, item_of, same, vc_pred, LEVELS[lvl]) for lvl in LEVELS}
    tables["vPDQ"] = score(positives, negatives, item_of, same_vp, vp_pred, {"confirmed"})

    fallback = sum(len(v) == 3 for v, _ in results["vPDQ"].values() if isinstance(v, tuple))
    fallback = f", but for {fallback} that it could not open: pdqhash on their one frame" if fallback else ""
    order = [*VIDEO_FAMILIES, "natural", "exact", "source", "hard_negative", "all"]
    print(f"\nmatching: {len(positives)} positive pairs, {len(negatives)} negative pairs (a negative pair "
          f"counts for the family of either side); vPDQ hashed the photos itself (one frame each)"
          f"{fallback}\n")
    print("| family | pos | neg | vc confirmed P | vc confirmed R | vc conf+sugg P | vc conf+sugg R | vPDQ P "
          "| vPDQ R | floors |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    fails = []
    for family in (f for f in order if neg_n[f] or f in tables["confirmed"]):
        c, s, v = (tables[t].get(family, (0, 0, 0)) for t in ("confirmed", "conf+sugg", "vPDQ"))
        floor = 0.95 if family == "all" else 0.90
        checks = [f"c+s R>={floor} {verdict(s[0] >= floor * s[1])}"] if s[1] else []
        if family == "all":
            checks.append(f"conf P>=0.99 {verdict(c[0] >= 0.99 * (c[0] + c[2]))}")
        fails += [f"{family} {x}" for x in checks if x.endswith("FAIL")]
        cells = [ratio(c[0], c[0] + c[2]), ratio(c[0], c[1]), ratio(s[0], s[0] + s[2]), ratio(s[0], s[1]),
                 ratio(v[0], v[0] + v[2]), ratio(v[0], v[1])]
        row = [family, str(c[1]), str(neg_n[family]), *map(fmt, cells), "; ".join(checks)]
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
    print(f"\nspeed: {len(video_jobs)} video files (sources and copies), {seconds:.0f} s of video, Pool of 2 "
          f"processes, best of 2 interleaved runs")
    for label, wall in best.items():
        print(f"  {label:<12} {wall:6.2f} s wall (runs: {walls[label][0]:.2f}, {walls[label][1]:.2f})  "
              f"{speed[label]:6.1f} s of video per second")
    for label, value, floor in (("vericount / vPDQ", r_vp, 2.0), ("vericount / decode-only", r_dec, 0.6)):
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

    (ct, cn, cf), (st, sn, sf), (vt, vn, vf) = (tables[t]["all"] for t in ("confirmed", "conf+sugg", "vPDQ"))
    print("\n## summary\n\n| measure | value | floor |\n|---|---|---|")
    for row in [
        ("items / positive / negative pairs", f"{len(items)} / {len(positives)} / {len(negatives)}", ""),
        ("vericount confirmed P / R", f"{fmt(ratio(ct, ct + cf))} / {fmt(ratio(ct, cn))}",
         f"P >= 0.99 {verdict(ct >= 0.99 * (ct + cf))}"),
        ("vericount confirmed+suggested P / R", f"{fmt(ratio(st, st + sf))} / {fmt(ratio(st, sn))}",
         f"R >= 0.95 {verdict(st >= 0.95 * sn)}, >= 0.90 per family "
         f"{verdict(not any('R>=0.9 ' in x for x in fails))}"),
        ("vPDQ P / R", f"{fmt(ratio(vt, vt + vf))} / {fmt(ratio(vt, vn))}", ""),
        ("s of video per s: vericount / vPDQ / decode-only",
         " / ".join(f"{speed[k]:.1f}" for k in ("vericount", "vPDQ", "decode-only")), ""),
        ("vericount / vPDQ; vericount / decode-only", f"{r_vp:.2f}x; {r_dec:.2f}x",
         f">= 2.0 {verdict(r_vp >= 2)}; >= 0.6 {verdict(r_dec >= 0.6)}"),
        ("1M hashes: ms per query r32 / Library radius; planted recall",
         f"{sc['ms_32']:.2f} / {sc['ms_wide']:.2f}; "
         f"{sc['recall']:.3f}", ""),
        ("Library.match ms per item: mean / max", f"{1e3 * np.mean(match_s):.1f} / {1e3 * max(match_s):.0f}",
         ""),
    ]:
        print("| " + " | ".join(row) + " |")
    print(f"\nfloors: {'all PASS' if not fails else 'FAIL: ' + '; '.join(fails)}")
    print(f"total {time.perf_counter() - clock:.0f} s on {os.cpu_count()} cores\n$ {command}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
