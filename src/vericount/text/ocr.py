"""The ``ocr`` stage: the text on screen, read with Tesseract (Debian's ``tesseract-ocr`` with its ``-rus``,
``-ukr`` and ``-eng`` data, through pytesseract).

Frames come from the shared sampler (media/frames.py) at ``FPS`` a second, plus the first frame of every
shot. A frame is read only when it starts a shot or its picture changed since the last frame read (more
than ``CHANGED_SHARE`` of a 64 x 36 grey thumbnail's pixels changed by over ``PIXEL_CHANGE``): a caption
that stays for a minute is read once. In a frame read, a text detector finds the lines (text/detect.py);
each is cut out of the channel where it stands out most (grey, the brightest or the darkest of R, G, B),
made dark on light, cleared of what touches its edges (the caption box's border, the picture behind),
scaled and stacked on one sheet, which Tesseract reads once per script (Cyrillic, Latin); each line keeps
the surer reading. A line is kept with its box (fractions of the frame), its time span (from the frame it
was first read in to the last sampled frame it stood in) and its confidence (the mean of its words').
Lines under ``MIN_CONFIDENCE``, or with fewer than two letters or digits, are dropped (bench/ocr.py: at 0.4
the error rate on captions is near that of keeping everything, with fewer stray lines).

Only the languages installed are used (``tesseract --list-langs``); the stage's parameters name them, so
installing one runs the stage again. Without Tesseract the stage says so, once, for every item.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.errors import DecodeError
from vericount.media.frames import Sampler, SampleStats
from vericount.run.stage import Stage, Task
from vericount.text.lines import Line, replace_lines

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy.orm import Session

    from vericount.store.schema import Item

LANGS = ("rus", "ukr", "eng")
FPS = 1.0
MAX_SIDE = 1600
THUMB = (64, 36)  # the grey thumbnail frames are compared by
PIXEL_CHANGE = 24.0  # a thumbnail pixel changed by more than this (0-255) has changed
CHANGED_SHARE = 0.01  # a frame with more than this share of changed pixels is a new picture, read again
MIN_CONFIDENCE = 0.4
LINE_HEIGHT = 48  # each detected box is scaled to this height before it is read
PAD = 0.3  # of a box's height, added above and below it before it is read
SIDE_PAD = 1.2  # of a box's height, added left and right
GAP = 24  # white between the boxes on the sheet Tesseract reads
PSM = 6  # the sheet is a uniform block of lines, one per detected box
UKRAINIAN = set("іїєґІЇЄҐ")


@dataclass
class OcrResult:
    lines: list[Line] = field(default_factory=list)
    frames_read: int = 0
    frames_seen: int = 0
    notes: list[str] = field(default_factory=list)


def installed_langs() -> list[str]:
    if shutil.which("tesseract") is None:
        return []
    import pytesseract

    try:
        have = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractError, OSError):
        return []
    return [lang for lang in LANGS if lang in have]


class OcrStage(Stage[OcrResult]):
    name = "ocr"
    version = "1"

    def __init__(self, langs: list[str] | None = None, fps: float = FPS) -> None:
        self.langs = langs if langs is not None else installed_langs()
        self.fps = fps

    def params(self) -> dict[str, Any]:
        return {
            "langs": self.langs,
            "fps": self.fps,
            "max_side": MAX_SIDE,
            "thumb": THUMB,
            "pixel_change": PIXEL_CHANGE,
            "changed_share": CHANGED_SHARE,
            "min_confidence": MIN_CONFIDENCE,
            "psm": PSM,
        }

    def accepts(self, item: Item) -> bool:
        return item.kind in ("image", "video")

    def compute(self, task: Task) -> OcrResult:
        if not self.langs:
            raise DecodeError(
                "Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-rus "
                "tesseract-ocr-ukr): no on-screen text read"
            )
        out = OcrResult()
        stats = SampleStats()
        last: NDArray[np.float32] | None = None
        standing: dict[str, Line] = {}  # text -> its line, while it stays on screen
        for frame in Sampler(fps=self.fps, max_side=MAX_SIDE).frames(task.path, task.kind, stats):
            out.frames_seen += 1
            thumb = _thumbnail(frame.image)
            if frame.reason in ("first", "shot", "image") or last is None or _changed(thumb, last):
                last = thumb
                out.frames_read += 1
                read = {
                    line.text: line
                    for line in self.read(frame.image, frame.t if task.kind == "video" else None)
                }
                for text, line in standing.items():
                    if text not in read:
                        out.lines.append(line)
                standing = {
                    t: replace(line, start=standing[t].start) if t in standing else line
                    for t, line in read.items()
                }
            if task.kind == "video":
                standing = {t: replace(line, end=frame.t) for t, line in standing.items()}
        out.lines += standing.values()
        out.lines.sort(key=lambda line: (line.start or 0.0, line.box[1] if line.box else 0.0))
        out.notes += stats.warnings
        return out

    def read(
        self, image: NDArray[np.uint8], t: float | None, min_confidence: float = MIN_CONFIDENCE
    ) -> list[Line]:
        """The lines of one RGB frame: the text detector's boxes (text/detect.py), each cut out of the channel
        where it stands out most, made dark on light, scaled to ``LINE_HEIGHT`` and stacked with white between
        them; Tesseract reads the sheet once per script (Cyrillic, Latin) and each line keeps the reading it
        is surer of; noise dropped."""
        from vericount.text.detect import text_boxes

        height, width = image.shape[:2]
        boxes = text_boxes(image)
        if not boxes:
            return []
        sheet, rows = _sheet(image, boxes)
        best: dict[int, tuple[str, float]] = {}
        for langs in _groups(self.langs):  # mixed in one model, Cyrillic and Latin trade letters
            for row, reading in _read_sheet(sheet, rows, langs).items():
                if row not in best or reading[1] > best[row][1]:
                    best[row] = reading
        lines = []
        for row, (text, confidence) in sorted(best.items()):
            if confidence < min_confidence or sum(c.isalnum() for c in text) < 2:
                continue
            x0, y0, x1, y1, _ = boxes[row]
            box = (
                round(x0 / width, 4),
                round(y0 / height, 4),
                round((x1 - x0) / width, 4),
                round((y1 - y0) / height, 4),
            )
            lines.append(Line(text, t, t, round(confidence, 3), _lang(text), box))
        return lines

    def save(self, session: Session, item: Item, result: OcrResult) -> str | None:
        replace_lines(session, item, "ocr", result.lines)
        return "; ".join(result.notes) or None


def _groups(langs: list[str]) -> list[str]:
    """The Tesseract language sets a sheet is read with: Latin and Cyrillic apart, when both are there."""
    latin = [x for x in langs if x == "eng"]
    cyrillic = [x for x in langs if x in ("rus", "ukr")]
    return ["+".join(g) for g in (cyrillic, latin) if g] or ["+".join(langs)]


def _read_sheet(sheet: Any, rows: list[tuple[int, int]], langs: str) -> dict[int, tuple[str, float]]:
    """Each row's text and mean word confidence (0..1), as Tesseract reads the sheet in ``langs``."""
    import pytesseract

    data = pytesseract.image_to_data(
        sheet, lang=langs, config=f"--psm {PSM}", output_type=pytesseract.Output.DICT
    )
    words: dict[int, list[tuple[int, str, float]]] = {}
    for i, word in enumerate(data["text"]):
        conf = float(data["conf"][i])
        if not word.strip() or conf < 0:
            continue
        middle = data["top"][i] + data["height"][i] / 2
        row = next((k for k, (top, bottom) in enumerate(rows) if top <= middle < bottom), None)
        if row is not None:
            words.setdefault(row, []).append((data["left"][i], word.strip(), conf / 100))
    return {
        row: (" ".join(w[1] for w in sorted(found)), sum(w[2] for w in found) / len(found))
        for row, found in words.items()
    }


def _sheet(
    image: NDArray[np.uint8], boxes: list[tuple[int, int, int, int, float]]
) -> tuple[Any, list[tuple[int, int]]]:
    """The boxes cut out of the frame in grey, each dark text on light ground, LINE_HEIGHT high, one under
    another with GAP of white between; and each one's rows on the sheet (top, bottom)."""
    import cv2
    from PIL import Image

    channels = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), image.max(axis=2), image.min(axis=2)]
    pieces = []
    height, width = image.shape[:2]
    for x0, y0, x1, y1, _ in boxes:
        # the detector's box can leave out an underscore, a descender or the first character's edge
        pad, side = max(2, round((y1 - y0) * PAD)), max(3, round((y1 - y0) * SIDE_PAD))
        window = (
            slice(max(0, y0 - pad), min(height, y1 + pad)),
            slice(max(0, x0 - side), min(width, x1 + side)),
        )
        crop = max((c[window] for c in channels), key=_separation)
        scale = LINE_HEIGHT / max(1, crop.shape[0])
        crop = cv2.resize(
            crop, (max(1, round(crop.shape[1] * scale)), LINE_HEIGHT), interpolation=cv2.INTER_CUBIC
        )
        split, ink = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        band = crop[
            LINE_HEIGHT // 4 : 3 * LINE_HEIGHT // 4
        ]  # the middle of the line: mostly ground, some ink
        if (band > split).mean() < 0.5:  # the light pixels are the fewer there: light text on dark ground
            ink = 255 - ink
        ink = _clear_edges(ink)
        pieces.append(Image.fromarray(ink))
    width = max(p.width for p in pieces) + 2 * GAP
    sheet = Image.new("L", (width, GAP + len(pieces) * (LINE_HEIGHT + GAP)), 255)
    rows = []
    for k, piece in enumerate(pieces):
        top = GAP + k * (LINE_HEIGHT + GAP)
        sheet.paste(piece, (GAP, top))
        rows.append((top - GAP // 2, top + LINE_HEIGHT + GAP // 2))
    return sheet, rows


def _clear_edges(ink: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Dark blobs that touch the cut-out's edge (the caption box's border, the picture behind it) made white:
    the letters, padded all round, touch no edge."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink < 128).astype(np.uint8), connectivity=8)
    height, width = ink.shape
    out = ink.copy()
    for label in range(1, count):
        x, y, w, h, _ = stats[label]
        if x == 0 or y == 0 or x + w >= width or y + h >= height:
            out[labels == label] = 255
    return out


def _separation(pixels: NDArray[np.uint8]) -> float:
    """How well one threshold splits the pixels in two (Otsu's between-class share of the variance): the
    channel in which text stands out most from its ground (grey, the brightest or the darkest of R, G, B:
    yellow text on a bright sky stands out in the darkest)."""
    values = pixels.astype(np.float32).ravel()
    total = float(values.var())
    if total < 1e-6:
        return 0.0
    import cv2

    split, _ = cv2.threshold(pixels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    low, high = values[values <= split], values[values > split]
    if not len(low) or not len(high):
        return 0.0
    share = len(low) / len(values)
    return float(share * (1 - share) * (low.mean() - high.mean()) ** 2 / total)


def _thumbnail(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    from PIL import Image

    grey = Image.fromarray(image).convert("L").resize(THUMB, Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32)


def _changed(a: NDArray[np.float32], b: NDArray[np.float32]) -> bool:
    """A new picture: enough of the thumbnail changed by more than compression noise does (a caption
    that appears changes a few percent of it; a still shot, none)."""
    return float((np.abs(a - b) > PIXEL_CHANGE).mean()) > CHANGED_SHARE


def _lang(text: str) -> str | None:
    if any(c in UKRAINIAN for c in text):
        return "uk"
    if any("а" <= c.lower() <= "я" or c.lower() == "ё" for c in text):
        return "ru"
    if any(c.isascii() and c.isalpha() for c in text):
        return "en"
    return None
