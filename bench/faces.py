"""Face identity benchmark: CenterFace boxes + dlib embeddings on the labelled photos of ../shared/data/faces.

    python bench/faces.py [--data ../shared/data] [--threads 1]

The photos: every image under faces/face_recognition/<person>/ and
faces/facenet_pytorch/test_images*/<person>/, named by faces/identities.csv (the folder name where the CSV has
no row). In each, the largest face CenterFace finds is that person. A crop of another photo (identities.csv's
notes: obama_partial_face*.jpg are crops of obama.jpg, test_images_aligned/<p>/1.png of
test_images/<p>/1.jpg) shares that photo's source: pairs within one source are near-duplicates, shown apart
and left out of the same-person set. The group photos
(_multi_person/, multiface.jpg) name their people but give no boxes, so their faces are not labelled; two
faces in one photo are two different people, though, so every pair of faces found in a group photo is a
different-person pair ("within-photo").

Prints: the counts; the distance percentiles of same-person and different-person pairs; a ROC table; the
threshold for the machine's "clearly different" call (the smallest t with at most 1 in 1,000 same-person
pairs over it; with fewer than 1,000 pairs, the largest same-person distance plus MARGIN) and the share of
different-person pairs it catches; the same on faces scaled down to a few pixel sizes (what
MIN_FACE_PIXELS rests on); detection and embedding times; a markdown summary.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
EXTENSIONS = {".jpg", ".jpeg", ".png"}
MARGIN = 0.05  # added to the largest same-person distance when there are too few pairs for a 1/1000 tail
RATE = 1000  # the call may be wrong on at most 1 in RATE same-person pairs
PERCENTILES = (0, 1, 5, 25, 50, 75, 95, 99, 100)
ROC_THRESHOLDS = (0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75)
SMALL_SIDES = (12, 16, 20, 24, 28, 32, 40, 48, 64)


@dataclass
class Shot:
    """The face used from one photo."""

    path: str  # data-relative
    person: str
    source: str  # the photo it was taken from (itself, unless a crop of another)
    image: np.ndarray
    box: tuple[float, float, float, float]
    faces: int  # faces found in the photo
    embedding: np.ndarray
    size: int = 0  # the face box's shorter side, pixels
    sharpness: float = 0.0  # variance of the Laplacian at 96 px (people.faces.face_quality)
    yaw: float = 0.0  # |nose - midpoint of the eyes| / eye distance: 0 frontal, ~0.5 and more turned


def load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray((ImageOps.exif_transpose(im) or im).convert("RGB"))


def photos(data: Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(path, person, source) of the single-person photos, and the group photos' paths."""
    rows = {r["file"]: r for r in csv.DictReader((data / "faces" / "identities.csv").open())}
    faces = data / "faces"
    roots = [faces / "face_recognition", *sorted((faces / "facenet_pytorch").glob("test_images*"))]
    single, multi = [], []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS):
            name = path.relative_to(data).as_posix()
            row = rows.get(name, {"identity": path.parent.name, "type": "single", "note": ""})
            if row["type"] == "multi" or path.parent.name == "_multi_person":
                multi.append(name)
                continue
            single.append((name, row["identity"], source_of(name, row["note"])))
    multi += [n for n, r in rows.items() if r["type"] == "multi" and n not in multi and (data / n).is_file()]
    return single, sorted(multi)


def source_of(name: str, note: str) -> str:
    marker = "crop of the same photo as "
    if marker in note:
        return "faces/face_recognition/" + note.split(marker)[1].split(maxsplit=1)[0]
    if "/test_images_aligned/" in name:
        return name.replace("/test_images_aligned/", "/test_images/").rsplit(".", 1)[0] + ".jpg"
    return name


def area(box: tuple[float, float, float, float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def pairs(shots: list[Shot], embeddings: list[np.ndarray] | None = None,
          others: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distances of same-person pairs (different sources), near-duplicate pairs and different-person pairs.

    With ``others``, each pair is (embeddings[i], others[j]) for i != j, both orders (a small face against
    a full-size one)."""
    a = embeddings if embeddings is not None else [s.embedding for s in shots]
    b = others if others is not None else a
    same, dup, diff = [], [], []
    index_pairs = itertools.permutations(range(len(shots)), 2) if others is not None \
        else itertools.combinations(range(len(shots)), 2)
    for i, j in index_pairs:
        d = float(np.linalg.norm(a[i].astype(np.float64) - b[j]))
        if shots[i].person != shots[j].person:
            diff.append(d)
        elif shots[i].source == shots[j].source:
            dup.append(d)
        else:
            same.append(d)
    return np.asarray(same), np.asarray(dup), np.asarray(diff)


def threshold(same: np.ndarray) -> tuple[float, str]:
    """The smallest t with at most 1 in RATE same-person distances over it, and how it was found."""
    if len(same) >= RATE:
        allowed = len(same) // RATE
        t = float(np.sort(same)[len(same) - allowed - 1])
        return t, f"{allowed} of {len(same)} same-person pairs over it (1 in {RATE})"
    t = float(same.max()) + MARGIN
    return t, (f"only {len(same)} same-person pairs (< {RATE}): largest same-person distance "
               f"{same.max():.3f} + margin {MARGIN}")


def percentiles(values: np.ndarray) -> str:
    return " ".join(f"{np.percentile(values, p):.3f}" for p in PERCENTILES)


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads for detection")
    args = ap.parse_args()
    if not (args.data / "faces" / "identities.csv").is_file():
        print(f"bench/faces.py: {args.data}/faces/identities.csv is absent; "
              "this benchmark reads ../shared/data")
        return 2
    command = "python bench/faces.py " + " ".join(sys.argv[1:])
    print(f"$ {command}")
    clock = time.perf_counter()
    import cv2

    from vericount.people.faces import (
        DIFFERENT_DISTANCE,
        MIN_FACE_PIXELS,
        FaceDetector,
        FaceEmbedder,
        face_quality,
    )

    cv2.setNumThreads(1)
    detector, embedder = FaceDetector(threads=args.threads), FaceEmbedder()
    loose = FaceEmbedder(min_face_pixels=1)
    single, multi = photos(args.data)

    shots: list[Shot] = []
    detect_s: list[float] = []
    embed_s: list[float] = []
    skipped: list[str] = []
    for name, person, source in single:
        image = load(args.data / name)
        start = time.perf_counter()
        faces = detector.detect(image)
        detect_s.append(time.perf_counter() - start)
        if not faces:
            skipped.append(f"{name}: no face found")
            continue
        face = max(faces, key=lambda f: area(f.box))
        box = face.box
        start = time.perf_counter()
        embedding = embedder.embed(image, box)
        embed_s.append(time.perf_counter() - start)
        quality = face_quality(image, box)
        shots.append(Shot(name, person, source, image, box, len(faces), embedding, quality["size"],
                          quality["sharpness"], _yaw(face.landmarks)))

    within: list[float] = []
    group_faces = []
    for name in multi:
        image = load(args.data / name)
        found = [f for f in detector.detect(image) if face_quality(image, f.box)["size"] >= MIN_FACE_PIXELS]
        embeddings = [embedder.embed(image, f.box) for f in found]
        within += [float(np.linalg.norm(a - b)) for a, b in itertools.combinations(embeddings, 2)]
        group_faces.append(f"{Path(name).name} {len(found)}")

    same, dup, cross = pairs(shots)
    diff = np.concatenate([cross, np.asarray(within)])
    people = sorted({s.person for s in shots})
    multi_face = [f"{Path(s.path).name} {s.faces}" for s in shots if s.faces > 1]
    print(f"data: {args.data}; {os.cpu_count()} cores")
    print(f"photos: {len(single)} single-person ({len(shots)} with a face, {len(people)} people), "
          f"{len(multi)} group photos ({', '.join(group_faces)} faces of >= {MIN_FACE_PIXELS} px)")
    for line in skipped:
        print(f"  skipped {line}")
    if multi_face:
        print("  single-person photos where more than one face was found (largest used): "
              + ", ".join(multi_face))
    print(f"pairs: {len(same)} same-person (different photos), {len(dup)} near-duplicate (one photo and a "
          f"crop of it, left out), {len(diff)} different-person ({len(cross)} across photos, "
          f"{len(within)} within group photos)")

    print(f"\ndistance percentiles ({', '.join(f'p{p}' for p in PERCENTILES)}):")
    print(f"  same-person       {percentiles(same)}")
    print(f"  near-duplicate    {percentiles(dup)}")
    print(f"  different-person  {percentiles(diff)}")
    print(f"  within-photo      {percentiles(np.asarray(within))}" if within else "")
    hardest = sorted(((float(np.linalg.norm(a.embedding - b.embedding)), a.path, b.path)
                      for a, b in itertools.combinations(shots, 2) if a.person == b.person
                      and a.source != b.source), reverse=True)[:3]
    print("  farthest same-person pairs: " + "; ".join(f"{d:.3f} {Path(a).name} ~ {Path(b).name}"
                                                        for d, a, b in hardest))
    closest = sorted((float(np.linalg.norm(a.embedding - b.embedding)), a.person, b.person)
                     for a, b in itertools.combinations(shots, 2) if a.person != b.person)[:3]
    print("  closest different-person pairs: " + "; ".join(f"{d:.3f} {a} ~ {b}" for d, a, b in closest))

    print("\nROC (\"same person\" when distance <= t; the \"clearly different\" call is distance > t):")
    print("| t | TPR (same <= t) | FPR (different <= t) | same called different | different caught |")
    print("|--:|--:|--:|--:|--:|")
    for t in ROC_THRESHOLDS:
        print(f"| {t:.2f} | {(same <= t).mean():.3f} | {(diff <= t).mean():.4f} | {(same > t).mean():.3f} "
              f"| {(diff > t).mean():.4f} |")

    buckets(shots, DIFFERENT_DISTANCE)

    t, how = threshold(same)
    normal = float(same.mean() + 3.09 * same.std(ddof=1))  # 99.9th percentile of a normal fit
    caught = float((diff > t).mean())
    print(f"\n\"clearly different\" threshold: t = {t:.3f} ({how})")
    print(f"  cross-check: a normal fitted to the same-person distances puts 1 in {RATE} over {normal:.3f}")
    print(f"  different-person pairs over t (caught): {caught:.4f} ({int((diff > t).sum())} of {len(diff)}); "
          f"same-person pairs over t: {int((same > t).sum())}; vericount.people.faces.DIFFERENT_DISTANCE = "
          f"{DIFFERENT_DISTANCE}: caught {(diff > DIFFERENT_DISTANCE).mean():.4f}, same over it "
          f"{int((same > DIFFERENT_DISTANCE).sum())}")

    # faces scaled down: each photo shrunk so its face box's shorter side is `side` pixels, the box scaled
    # with it (detection is counted apart), then embedded and compared with every full-size face and with
    # the other small faces
    print(f"\nfaces scaled down (box's shorter side in pixels; distances to the full-size faces of other "
          f"photos, and between two small faces; t = {t:.3f}):")
    print("| side | detected | drift from own full-size median / max | small~full same > t "
          "| small~small same > t | small~full different caught | small~small different caught "
          "| AUC small~full |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|")
    full = [s.embedding for s in shots]
    small_rows = {}
    for side in SMALL_SIDES:
        small, detected = [], 0
        for shot in shots:
            k = side / min(shot.box[2] - shot.box[0], shot.box[3] - shot.box[1])
            size = (max(1, round(shot.image.shape[1] * k)), max(1, round(shot.image.shape[0] * k)))
            image = cv2.resize(shot.image, size, interpolation=cv2.INTER_AREA)
            box = (shot.box[0] * k, shot.box[1] * k, shot.box[2] * k, shot.box[3] * k)
            detected += any(_iou(f.box, box) >= 0.3 for f in detector.detect(image))
            small.append(loose.embed(image, box))
        drift = np.asarray([np.linalg.norm(a - b) for a, b in zip(small, full, strict=True)])
        s_full, _, d_full = pairs(shots, small, full)
        s_small, _, d_small = pairs(shots, small)
        auc = float((s_full[:, None] < d_full[None, :]).mean())
        small_rows[side] = (s_full > t).mean(), (s_small > t).mean(), (d_full > t).mean()
        print(f"| {side} | {detected}/{len(shots)} | {np.median(drift):.3f} / {drift.max():.3f} "
              f"| {(s_full > t).mean():.3f} | {(s_small > t).mean():.3f} | {(d_full > t).mean():.3f} "
              f"| {(d_small > t).mean():.3f} | {auc:.3f} |")

    # timing: detection on every photo and on a 1280 x 720 frame, embedding per face; 1 and 2 threads
    frame = cv2.resize(shots[0].image, (1280, 720), interpolation=cv2.INTER_AREA)
    timing = {}
    for threads in (1, 2):
        det = FaceDetector(threads=threads)
        det.detect(frame)
        timing[threads] = statistics.median(timed(lambda det=det: det.detect(frame), 10))
    probe = shots[0]
    embed_med = statistics.median(timed(lambda: embedder.embed(probe.image, probe.box), 10))
    print(f"\ntiming ({os.cpu_count()} cores, single calls, median):")
    print(f"  detect, the data's photos (largest side scaled to {detector.max_side}), {args.threads} "
          f"thread(s): median {1e3 * statistics.median(detect_s):.0f} ms, max {1e3 * max(detect_s):.0f} ms "
          f"(the first includes loading the model)")
    print(f"  detect, a 1280 x 720 frame: {1e3 * timing[1]:.0f} ms with 1 thread, {1e3 * timing[2]:.0f} ms "
          f"with 2")
    print(f"  embed (dlib 5-point shape + ResNet, num_jitters=0), per face: median "
          f"{1e3 * statistics.median(embed_s):.0f} ms over the photos, {1e3 * embed_med:.0f} ms repeated")

    body_same, body_diff, body_t, body_caught, body_auc = body_evaluation(shots)
    print("\nbody appearance embedding (people/body.py, MobileNetV2 ImageNet features) on the same photos: "
          "crop = the largest person NanoDet finds, else the whole photo")
    print(f"  same-person       {percentiles(body_same)}")
    print(f"  different-person  {percentiles(body_diff)}")
    print(f"  P(a same-person pair is closer than a different-person pair) = {body_auc:.3f}")
    print(f"  \"clearly different\" threshold by the same rule: t = {body_t:.3f}; different-person pairs "
          f"over it: {body_caught:.4f}")

    print("\n## summary\n\n| measure | value |\n|---|---|")
    for row in [
        ("people / photos with a face / group photos", f"{len(people)} / {len(shots)} / {len(multi)}"),
        ("pairs: same-person / different-person (within group photos)",
         f"{len(same)} / {len(diff)} ({len(within)})"),
        ("same-person distance p50 / p99 / max", f"{np.median(same):.3f} / {np.percentile(same, 99):.3f} / "
         f"{same.max():.3f}"),
        ("different-person distance min / p1 / p50", f"{diff.min():.3f} / {np.percentile(diff, 1):.3f} / "
         f"{np.median(diff):.3f}"),
        ("\"clearly different\" threshold t", f"{t:.3f} ({how})"),
        ("largest same-person distance: here / known (issue 16, one woman 25 years apart)",
         f"{same.max():.3f} / {max(float(same.max()), KNOWN_SAME):.3f}"),
        ("shipped DIFFERENT_DISTANCE (proposals only) / its margin over the largest known",
         f"{DIFFERENT_DISTANCE} / {DIFFERENT_DISTANCE - max(float(same.max()), KNOWN_SAME):.3f}"),
        ("at the shipped value: same-person called different / different-person caught",
         f"{(same > DIFFERENT_DISTANCE).mean():.4f} / {(diff > DIFFERENT_DISTANCE).mean():.4f}"),
        ("at t: same-person called different / different-person caught",
         f"{(same > t).mean():.4f} / {caught:.4f}"),
        ("at t = 0.60: TPR / FPR (same person when <= t)", f"{(same <= 0.6).mean():.3f} / "
         f"{(diff <= 0.6).mean():.4f}"),
        (f"faces of {MIN_FACE_PIXELS} px (MIN_FACE_PIXELS): small~full same > t / different caught",
         " / ".join(f"{v:.3f}" for v in (small_rows.get(MIN_FACE_PIXELS) or (math.nan,) * 3)[0::2])),
        ("detect ms: 1280 x 720 frame, 1 / 2 threads", f"{1e3 * timing[1]:.0f} / {1e3 * timing[2]:.0f}"),
        ("embed ms per face", f"{1e3 * statistics.median(embed_s):.0f}"),
        ("body embedding: P(same closer than different) / threshold t / different caught at t",
         f"{body_auc:.3f} / {body_t:.3f} / {body_caught:.4f}"),
    ]:
        print("| " + " | ".join(row) + " |")
    print(f"\ntotal {time.perf_counter() - clock:.0f} s on {os.cpu_count()} cores\n$ {command}")
    return 0


def body_evaluation(shots: list[Shot]) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Whole-body appearance distances for the same photos, measured the same way (weak, and said so)."""
    from vericount.people.body import BodyEmbedder
    from vericount.people.detect import NanoDet

    detector, embedder = NanoDet(), BodyEmbedder()
    crops = []
    for shot in shots:
        people = detector.detect(shot.image)
        if people:
            x0, y0, x1, y1 = (int(v) for v in max(people, key=lambda d: d.area).box)
            crops.append(shot.image[max(0, y0):max(y0 + 1, y1), max(0, x0):max(x0 + 1, x1)])
        else:
            crops.append(shot.image)
    vectors = list(embedder.embed(crops))
    same, _, diff = pairs(shots, vectors)
    t, _ = threshold(same)
    auc = float((same[:, None] < diff[None, :]).mean()) if len(same) and len(diff) else math.nan
    return same, diff, t, float((diff > t).mean()), auc


KNOWN_SAME = 0.618  # issue 16's held-out set: two photos of one woman 25 years apart (no age labels here)


def _yaw(landmarks: np.ndarray) -> float:
    (lx, _), (rx, _), (nx, _) = landmarks[0], landmarks[1], landmarks[2]
    eyes = max(abs(rx - lx), 1e-6)
    return float(abs(nx - (lx + rx) / 2) / eyes)


def buckets(shots: list[Shot], shipped: float) -> None:
    """Same-person distances by the poorer face of each pair: size, sharpness and pose (yaw). The shared
    data has no ages, so age gaps are not bucketed: the largest one known (KNOWN_SAME) is printed apart."""
    rows = []
    for a, b in itertools.combinations(shots, 2):
        if a.person == b.person and a.source != b.source:
            d = float(np.linalg.norm(a.embedding - b.embedding))
            rows.append((d, min(a.size, b.size), min(a.sharpness, b.sharpness), max(a.yaw, b.yaw)))
    if not rows:
        return
    print(f"\nsame-person pairs by the poorer face of the pair (largest known elsewhere: {KNOWN_SAME}, "
          f"photos 25 years apart; shipped proposal threshold {shipped}):")
    print("| bucket | pairs | median | max | over 0.60 | over 0.65 | over 0.70 | over shipped |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    cuts = [("face size < 80 px", lambda r: r[1] < 80), ("face size 80-159 px", lambda r: 80 <= r[1] < 160),
            ("face size >= 160 px", lambda r: r[1] >= 160), ("sharpness < 100", lambda r: r[2] < 100),
            ("sharpness 100-399", lambda r: 100 <= r[2] < 400), ("sharpness >= 400", lambda r: r[2] >= 400),
            ("frontal (yaw < 0.15)", lambda r: r[3] < 0.15),
            ("turned (yaw 0.15-0.35)", lambda r: 0.15 <= r[3] < 0.35),
            ("profile-ish (yaw >= 0.35)", lambda r: r[3] >= 0.35), ("all", lambda r: True)]
    for name, keep in cuts:
        d = np.asarray([r[0] for r in rows if keep(r)])
        if d.size == 0:
            print(f"| {name} | 0 | - | - | - | - | - | - |")
            continue
        print(f"| {name} | {d.size} | {np.median(d):.3f} | {d.max():.3f} | {(d > 0.6).mean():.3f} | "
              f"{(d > 0.65).mean():.3f} | {(d > 0.7).mean():.3f} | {(d > shipped).mean():.3f} |")


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    return inter / max(area(a) + area(b) - inter, 1e-9)


if __name__ == "__main__":
    sys.exit(main())
