"""OCR benchmark: text burned into real frames, read back by the ocr stage's reader.

    python bench/ocr.py [--data ../shared/data] [--frames 6]

Backgrounds are frames of the real videos in ../shared/data/video (scaled to 1280 x 720). Onto each, one
text is drawn: Russian, Ukrainian and English captions and channel handles ("@kursk_now",
"t.me/kursk_now/123"), in several fonts (DejaVu Sans, DejaVu Serif Bold, Liberation Sans, DejaVu Sans
Condensed Oblique), at several heights (16, 24, 32, 48 px: the height of the drawn text's box), in four
places (top-left corner, top-right, centre, bottom caption); every text in each of three styles (white on a
half-transparent black box, white with a black outline, yellow with no box). The reader (``OcrStage.read``,
what the stage runs on every frame it reads) gets the whole frame; the lines whose middle lies within the
drawn text's rows and that overlap it across are its reading, every other line is noise.

Printed: character error rate (edit distance / length, capped at 1) per language and height; handle
recall (the handle read exactly, case aside) per height; noise lines per frame and CER at several
confidence thresholds (what justifies the stage's MIN_CONFIDENCE); seconds per frame.
Floors (issue 20): CER <= 0.10 for text at least 24 px high; handle recall >= 0.95 at that height.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE.parent / "src"))

from vericount.text.ocr import HANDLE, MIN_CONFIDENCE, OcrStage, keeps  # noqa: E402

TEXTS = {
    "ru": [
        "Пленные военнослужащие под Суджей",
        "Министерство обороны сообщило",
        "сто два человека за сутки",
        "Колонна техники на въезде в Суджу",
        "Сдались в плен более сорока",
    ],
    "uk": [
        "Полонені біля Суджі",
        "Генеральний штаб повідомив",
        "Їхні підрозділи відступили",
        "Оточення триває третю добу",
        "Понад сто полонених",
    ],
    "en": [
        "They surrendered near Sudzha",
        "Ministry of Defence statement",
        "102 captured in one day",
        "Convoy at the entrance to the town",
        "More than forty gave up",
    ],
    "handle": ["@kursk_now", "@front_notes", "t.me/kursk_now/123", "@DeepStateUA", "@rybar"],
}
FONTS = [
    "dejavu/DejaVuSans.ttf",
    "dejavu/DejaVuSerif-Bold.ttf",
    "liberation/LiberationSans-Regular.ttf",
    "dejavu/DejaVuSansCondensed-Oblique.ttf",
]
HEIGHTS = [16, 24, 32, 48]
PLACES = ["top-left", "top-right", "centre", "bottom"]
STYLES = ["box", "outline", "yellow"]
THRESHOLDS = [0.0, 0.4, 0.6, 0.8]
MAX_WIDTH = 1180  # a text wider than this at its height is drawn smaller (and counted at the height drawn)


def backgrounds(data: Path, per_video: int) -> list[Image.Image]:
    out = []
    for video in sorted((data / "video").glob("*.mp4")):
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            step = max(1, (stream.frames or 250) // per_video)
            kept = []
            for index, frame in enumerate(container.decode(stream)):
                if index % step == 0:
                    kept.append(frame.to_image().convert("RGB").resize((1280, 720)))
                if len(kept) == per_video:
                    break
        out += kept
    return out


def font_for(path: str, height: int, text: str) -> ImageFont.FreeTypeFont:
    """The font at the size whose drawing of ``text`` is ``height`` pixels high."""
    size = height
    for _ in range(8):
        font = ImageFont.truetype(f"/usr/share/fonts/truetype/{path}", size)
        box = font.getbbox(text)
        drawn = box[3] - box[1]
        if abs(drawn - height) <= 1:
            break
        size = max(6, round(size * height / max(1, drawn)))
    while font.getbbox(text)[2] - font.getbbox(text)[0] > MAX_WIDTH:  # it must fit the frame: smaller, then
        size -= 1
        font = ImageFont.truetype(f"/usr/share/fonts/truetype/{path}", size)
    return font


def draw(
    background: Image.Image, text: str, font: ImageFont.FreeTypeFont, place: str, style: str
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    frame = background.copy().convert("RGBA")
    layer = Image.new("RGBA", frame.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(layer)
    box = pen.textbbox((0, 0), text, font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    x, y = {
        "top-left": (24, 20),
        "top-right": (1280 - w - 24, 20),
        "centre": ((1280 - w) // 2, (720 - h) // 2),
        "bottom": ((1280 - w) // 2, 720 - h - 48),
    }[place]
    x, y = x - box[0], y - box[1]
    if style == "box":
        pen.rectangle((x + box[0] - 8, y + box[1] - 6, x + box[2] + 8, y + box[3] + 6), fill=(0, 0, 0, 128))
        pen.text((x, y), text, font=font, fill=(255, 255, 255, 255))
    elif style == "outline":
        pen.text(
            (x, y),
            text,
            font=font,
            fill=(255, 255, 255, 255),
            stroke_width=max(1, h // 12),
            stroke_fill=(0, 0, 0, 255),
        )
    else:
        pen.text((x, y), text, font=font, fill=(255, 230, 0, 255))
    return Image.alpha_composite(frame, layer).convert("RGB"), (
        x + box[0],
        y + box[1],
        x + box[2],
        y + box[3],
    )


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def overlaps(line_box: tuple[float, float, float, float], truth: tuple[int, int, int, int]) -> bool:
    """The line read is (part of) the drawn text: its middle lies within the text's rows, and it overlaps
    the text across. A line of the picture behind that only grazes the text is noise."""
    x, y, w, h = line_box[0] * 1280, line_box[1] * 720, line_box[2] * 1280, line_box[3] * 720
    return x < truth[2] and truth[0] < x + w and truth[1] <= y + h / 2 <= truth[3]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--frames", type=int, default=6, help="background frames per video")
    args = parser.parse_args()
    if not (args.data / "video").is_dir():
        sys.exit(f"{args.data / 'video'} is missing: this benchmark reads ../shared/data")
    print("$ python bench/ocr.py " + " ".join(sys.argv[1:]))
    stage = OcrStage()
    print(f"languages: {'+'.join(stage.langs)}; the stage keeps lines at confidence >= {MIN_CONFIDENCE}")
    frames = backgrounds(args.data, args.frames)
    combos = list(itertools.product(TEXTS.items(), HEIGHTS))
    rows: list[dict[str, Any]] = []
    seconds: list[float] = []
    for n, ((lang, texts), height) in enumerate(combos):
        for (k, text), (s, style) in itertools.product(enumerate(texts), enumerate(STYLES)):
            i = n * len(texts) + k
            font = font_for(FONTS[i % len(FONTS)], height, text)
            drawn = font.getbbox(text)[3] - font.getbbox(text)[1]
            height_drawn = min(HEIGHTS, key=lambda h: abs(h - drawn))
            picture, truth = draw(
                frames[(i * len(STYLES) + s) % len(frames)], text, font, PLACES[(i + s) % len(PLACES)], style
            )
            start = time.perf_counter()
            lines = stage.read(np.asarray(picture), None, min_confidence=0.0)
            seconds.append(time.perf_counter() - start)
            rows.append(
                {
                    "lang": lang,
                    "height": height_drawn,
                    "style": style,
                    "text": text,
                    "lines": lines,
                    "truth": truth,
                }
            )
    # at each threshold: the reading is the kept lines over the text, joined; the rest is noise
    print(
        f"\n{len(rows)} frames (1280 x 720, {len(frames)} backgrounds from {args.data / 'video'}); "
        f"{statistics.mean(seconds):.2f} s per frame (median {statistics.median(seconds):.2f}, "
        f"max {max(seconds):.2f}), 1 thread"
    )
    by_threshold = {}
    by_row_cer: list[float] = []
    for threshold in THRESHOLDS:
        cer: dict[tuple[str, int], list[float]] = defaultdict(list)
        handles: dict[int, list[bool]] = defaultdict(list)
        noise = []
        row_cer: list[float] = []
        for r in rows:
            kept = [line for line in r["lines"] if keeps(line.text, line.confidence or 0, threshold)]
            over = [line for line in kept if line.box and overlaps(line.box, r["truth"])]
            noise.append(len(kept) - len(over))
            reading = " ".join(line.text for line in over)
            row_cer.append(min(1.0, edit_distance(reading, r["text"]) / len(r["text"])))
            cer[(r["lang"], r["height"])].append(row_cer[-1])
            if r["lang"] == "handle":
                handles[r["height"]].append(
                    any(r["text"].casefold() in line.text.casefold() for line in over)
                )
        by_threshold[threshold] = (cer, handles, noise)
        if threshold == MIN_CONFIDENCE:
            by_row_cer = row_cer
    cer, handles, noise = by_threshold[MIN_CONFIDENCE]
    print(f"\nCharacter error rate at the stage's threshold ({MIN_CONFIDENCE}), by language and height:")
    print("lang     " + "".join(f"{h:>8} px" for h in HEIGHTS))
    for lang in TEXTS:
        print(f"{lang:8} " + "".join(f"{statistics.mean(cer[(lang, h)]):>11.3f}" for h in HEIGHTS))
    big = [c for (lang, h), values in cer.items() if h >= 24 and lang != "handle" for c in values]
    big_all = [c for (_, h), values in cer.items() if h >= 24 for c in values]
    print(
        f"\nCER, text >= 24 px: {statistics.mean(big):.3f} captions, {statistics.mean(big_all):.3f} "
        "with handles (floor <= 0.10)"
    )
    print(
        "handle recall per height: "
        + ", ".join(f"{h} px {sum(handles[h])}/{len(handles[h])}" for h in HEIGHTS)
    )
    found = [x for h in HEIGHTS if h >= 24 for x in handles[h]]
    print(f"handle recall, >= 24 px: {sum(found) / len(found):.3f} (floor >= 0.95)")
    styles: dict[str, list[float]] = defaultdict(list)
    for r, c in zip(rows, by_row_cer, strict=True):
        if r["height"] >= 24:
            styles[r["style"]].append(c)
    print(
        "CER by style, >= 24 px: "
        + ", ".join(f"{k} {statistics.mean(v):.3f} ({len(v)})" for k, v in styles.items())
    )
    blank = [stage.read(np.asarray(frame), None, min_confidence=0.0) for frame in frames]
    print(
        "\nBy confidence threshold (all heights): CER of captions >= 24 px, noise lines per frame (other "
        "lines in a frame with text drawn); on the backgrounds alone (text of the picture itself, or noise), "
        "lines per frame and the handles read (each would be a false source hint)"
    )
    for threshold, (c, _, n) in by_threshold.items():
        values = [x for (lang, h), v in c.items() if h >= 24 and lang != "handle" for x in v]
        mark = "   <- the stage" if threshold == MIN_CONFIDENCE else ""
        on_blank = [
            [line for line in lines if keeps(line.text, line.confidence or 0, threshold)] for lines in blank
        ]
        handles_read = sum(bool(HANDLE.search(line.text)) for lines in on_blank for line in lines)
        print(
            f"  >= {threshold:.1f}: CER {statistics.mean(values):.3f}, "
            f"noise {statistics.mean(n):.2f} per frame; backgrounds: "
            f"{statistics.mean(len(x) for x in on_blank):.2f} lines per frame, {handles_read} handles{mark}"
        )


if __name__ == "__main__":
    main()
