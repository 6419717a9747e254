"""The set bench/reposts.py measures on: copies made from ../shared/data media, the labelled natural pairs,
and hard negatives, with which pairs are copies and which are not.

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
- the small, low-resolution clips (the Intel GIFs in the set and the PETS09 clip) also as a phone's picture
  in picture (pip: the clip scaled to 40-75% of a 720 x 1280 frame, bars of a colour of its own, a channel
  handle and a like counter around it; at most the first 20 s) and mirrored with a caption (mirror_caption);
- every file named in reposts/pairs.csv, with its labels: family "natural", or "exact" for byte-identical
  pairs, which vericount holds as one item and which count as found when the two fingerprints are equal;
- hard negatives, each its own family: every photo of a person in faces/face_recognition/<person>/ (the
  same person in other photos: same_person), two stretches of a fixed camera a minute or more apart (15 s of
  intel_one_by_one from 40 s and from 115 s, of the PETS09 clip from 0 s and from 62 s: same_camera), the
  crowd clips against each other (crowd_walking_1080p, the overhead hall, PETS09: lookalike_scene), and the
  "different" pairs of pairs.csv (hard_negative).

Files with the same bytes, the labelled positives of pairs.csv, two_people.jpg with obama3.jpg and biden.jpg
(its two halves) and the intel excerpt with its full video are each one origin. Positives: every source with
each of its copies, each stretch with the clip it was cut from, and the labelled positive pairs. Negatives:
every pair of items of different origins, and two pieces of one fixed camera's footage that share no moment
(a stretch against another, or against the first 30 s of intel_one_by_one and its copies). Other pairs within
an origin (two copies of one source) are not judged.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageDraw, ImageFont, ImageOps

PHOTO_FAMILIES = ("reencode", "downscale_360p", "crop10", "crop25", "mirror", "rotate90", "letterbox",
                  "caption", "greyscale", "screen_recording")
VIDEO_FAMILIES = (*PHOTO_FAMILIES, "excerpt", "speed125", "fps_change", "gif")
LOWRES_FAMILIES = ("pip", "mirror_caption")
NEGATIVE_FAMILIES = ("same_person", "same_camera", "lookalike_scene", "hard_negative")
SAME_ORIGIN = [  # unlabelled overlaps: two_people.jpg is obama3.jpg (left) beside biden.jpg (right)
    ("faces/face_recognition/obama/obama3.jpg", "faces/face_recognition/_multi_person/two_people.jpg"),
    ("faces/face_recognition/biden/biden.jpg", "faces/face_recognition/_multi_person/two_people.jpg"),
    ("gen/intel_one_by_one_30s.mp4", "video/intel_one_by_one.mp4")]
PETS = "reposts/natural_pairs/pets09_s2l1_reencode_A__arjun-234_OpenCVTutorial_vtest.avi"
# fixed cameras: (clip, its stretches (from, to) in seconds, a minute or more apart)
STRETCHES = {"video/intel_one_by_one.mp4": ((40.0, 55.0), (115.0, 130.0)), PETS: ((0.0, 15.0), (62.0, 77.0))}
CROWDS = ("video/crowd_walking_1080p.mp4",
          "reposts/natural_pairs/NEGATIVE_same_name_vtest_crowd_overhead__lamminhthien.avi", PETS)
PIP_SECONDS = 20.0


@dataclass
class Media:
    name: str  # data-relative path, or gen/<source>__<family>.<ext>
    path: Path
    kind: str  # image | video
    role: str  # source | natural | portrait | the family of a generated copy
    source: str | None = None
    span: tuple[float, float] | None = None  # the seconds of its origin's footage it shows (None: all)


# -- building the set (in the pool) -------------------------------------------------------------------------

def video_frames(path: Path, limit: float = 1e9, start: float = 0.0) -> Iterator[tuple[float, Any]]:
    """(seconds from ``start``, RGB PIL image) of every frame from ``start`` for ``limit`` seconds."""
    with av.open(str(path)) as container:
        first = None
        for frame in container.decode(container.streams.video[0]):
            t = float(frame.time or 0.0)
            first = t if first is None else first
            if t - first < start:
                continue
            if t - first - start >= limit:
                break
            yield t - first - start, frame.to_image().convert("RGB")


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


PIP_LOOKS = (((12, 12, 14), (255, 255, 255)), ((236, 236, 240), (20, 20, 20)),  # (bars, text): dark, light,
             ((24, 40, 90), (250, 250, 200)), ((70, 16, 16), (255, 230, 230)))  # blue, red interfaces


def pip(img: Any, key: str) -> Any:
    """A phone's screen recording of a small clip: the clip scaled to 40-75% of the 720-pixel width (by
    ``key``), a little above the middle of a 720 x 1280 frame of one colour, a channel handle above it, a
    like counter and a caption line below."""
    digest = hashlib.sha256(key.encode()).digest()
    share = 0.40 + 0.35 * digest[0] / 255
    bars, ink = PIP_LOOKS[digest[1] % len(PIP_LOOKS)]
    (w, h), width, height = img.size, 720, 1280
    clip = img.resize((round(width * share), max(2, round(width * share * h / w))), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (width, height), bars)
    x, y = (width - clip.width) // 2, int(0.42 * height - clip.height / 2)
    canvas.paste(clip, (x, y))
    draw = ImageDraw.Draw(canvas)
    draw.text((x, y - 64), f"@{key[:10].lower()}_news", font=_font(36), fill=ink)
    draw.text((24, 16), "9:41", font=_font(30), fill=ink)
    draw.text((x, y + clip.height + 24), "48.1K likes   1,204 comments   share", font=_font(30), fill=ink)
    draw.text((24, height - 140), "They say this happened this morning. Watch.", font=_font(28), fill=ink)
    return canvas


def transform(img: Any, family: str, key: str = "") -> Any:
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
    if family == "mirror_caption":
        return transform(ImageOps.mirror(img), "caption")
    if family == "pip":
        return pip(img, key)
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
    if family.startswith("stretch"):  # stretch:FROM:TO
        start, end = (float(v) for v in family.split(":")[1:])
        write_video(target, (img for _, img in video_frames(source, end - start, start)), rate, 23)
        return
    limit = 30.0 if family == "cut30" else PIP_SECONDS if family == "pip" else 1e9
    frames = video_frames(source, limit)
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
    write_video(target, (transform(img, family, source.stem) for _, img in frames), rate, crf)


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

    def add_copy(path: Path, name: str, kind: str, family: str, slug: str, span: Any = None) -> None:
        ext = ".gif" if family == "gif" else ".mp4" if kind == "video" else ".jpg"
        out = gen / f"{slug}__{family.replace(':', '_')}{ext}"
        jobs.append((family, kind, str(path), str(out)))
        role = "stretch" if family.startswith("stretch") else family
        files[f"gen/{out.name}"] = Media(f"gen/{out.name}", out, kind, role, name, span)

    for path, kind in [*((v, "video") for v in videos), *((p, "image") for p in photos)]:
        name = path.relative_to(data if path.is_relative_to(data) else gen.parent).as_posix()
        span = (0.0, 30.0) if path.name == "intel_one_by_one_30s.mp4" else None
        files[name] = Media(name, path, kind, "source", span=span)
        slug = "-".join(path.with_suffix("").parts[-2:]) if kind == "image" else path.stem
        for family in VIDEO_FAMILIES if kind == "video" else PHOTO_FAMILIES:
            add_copy(path, name, kind, family, slug, span)
        if path.suffix == ".gif":
            for family in LOWRES_FAMILIES:
                add_copy(path, name, kind, family, slug)
    with (data / "reposts" / "pairs.csv").open(newline="") as fh:
        pairs = [[r["a"], r["b"], r["relation"]] for r in csv.DictReader(fh)]
    for name in sorted({n for a, b, _ in pairs for n in (a, b)} - set(files)):
        kind = "video" if Path(name).suffix.lower() in (".mp4", ".gif", ".avi") else "image"
        files[name] = Media(name, data / name, kind, "natural")
    for family in LOWRES_FAMILIES:  # the PETS09 clip as a picture in picture, and mirrored with a caption
        add_copy(data / PETS, PETS, "video", family, "pets09",
                 (0.0, PIP_SECONDS) if family == "pip" else None)
    for clip, stretches in STRETCHES.items():
        for start, end in stretches:
            add_copy(data / clip, clip, "video", f"stretch:{start:g}:{end:g}", Path(clip).stem[:20],
                     (start, end))
    for photo in sorted((data / "faces/face_recognition").glob("*/*")):
        name = photo.relative_to(data).as_posix()
        if photo.parent.name[0] != "_" and name not in files:
            files[name] = Media(name, photo, "image", "portrait")
    for _ in pool.imap_unordered(make_copy, jobs):
        pass
    return files, pairs


# -- which pairs are copies ----------------------------------------------------------------------------------

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


@dataclass
class Judged:
    items: list[str]  # one name per distinct file (the source's, else the first)
    item_of: dict[str, str]  # every file's item
    positives: list[tuple[str, str, str]]  # (a, b, family)
    negatives: dict[frozenset[str], tuple[str, ...]]  # item pair -> its families


def judge(files: dict[str, Media], pairs: list[list[str]], digest: dict[str, str]) -> Judged:
    """Origins, positives and negatives of the set (see the module's docstring)."""
    origins = Origins()
    for m in files.values():
        origins.union(m.name, f"sha:{digest[m.name]}")
        if m.role != "stretch":  # a stretch is its own origin: two of one camera share no moment
            origins.union(m.name, m.source or m.name)
    for a, b in [*SAME_ORIGIN, *((a, b) for a, b, rel in pairs if rel != "different")]:
        origins.union(a, b)
    rank = {name: (m.role not in ("source", "stretch"), m.role == "natural", name)
            for name, m in files.items()}
    item_of = {name: min((n for n in files if digest[n] == digest[name]), key=rank.__getitem__)
               for name in files}
    items = sorted(set(item_of.values()))
    positives = [(m.source, m.name, m.role) for m in files.values() if m.source]
    positives += [(a, b, "exact" if r == "exact" else "natural") for a, b, r in pairs if r != "different"]
    hard = {frozenset((item_of[a], item_of[b])) for a, b, rel in pairs if rel == "different"}
    assert all(origins.find(a) != origins.find(b) for a, b, rel in pairs if rel == "different")
    person = {name: Path(name).parent.name for name, m in files.items()
              if name.startswith("faces/face_recognition/") and not Path(name).parent.name.startswith("_")}
    crowd = {origins.find(c) for c in CROWDS if c in files}
    stretched = {origins.find(clip): clip for clip in STRETCHES if clip in files}
    camera = {name: origins.find(m.source or name) for name, m in files.items()
              if m.role == "stretch" or origins.find(name) in stretched}  # the footage of a fixed camera
    negatives: dict[frozenset[str], tuple[str, ...]] = {}
    for a, b in itertools.combinations(items, 2):
        oa, ob = origins.find(a), origins.find(b)
        families = []
        if a in camera and b in camera and camera[a] == camera[b]:
            sa, sb = files[a].span, files[b].span
            if sa is None or sb is None or (files[a].role != "stretch" and files[b].role != "stretch"):
                continue  # one holds the other, or two copies of one piece: not judged here
            if sa[0] < sb[1] and sb[0] < sa[1]:
                continue  # they share moments: a copy, not a negative (the positives list the stretches)
            families.append("same_camera")
        elif oa == ob:
            continue
        if frozenset((a, b)) in hard:
            families.append("hard_negative")
        if a in person and person.get(a) == person.get(b):
            families.append("same_person")
        if oa in crowd and ob in crowd and oa != ob:
            families.append("lookalike_scene")
        negatives[frozenset((a, b))] = tuple(families) or tuple(sorted({files[a].role, files[b].role}))
    return Judged(items, item_of, positives, negatives)
