"""The ``ocr`` stage: the text on screen, read with Tesseract 5 in process (the tesserocr binding, whose
wheel carries libtesseract) from Debian's language data (``tesseract-ocr-eng``, ``-rus``, ``-ukr``).

Frames come from the shared sampler (media/frames.py) at ``FPS`` a second, plus the first frame of every
shot. A frame is read only when it starts a shot or its picture changed since the last frame read (more
than ``CHANGED_SHARE`` of a 64 x 36 grey thumbnail's pixels changed by over ``PIXEL_CHANGE``): a caption
that stays for a minute is read once. In a frame read, a text detector finds the lines (text/detect.py).
Each line is cut out once per likely text colour (_inks: the colours of the box's inside, in Lab, whose
pixels make letter-shaped blobs), as dark where a pixel has that colour and white elsewhere, cleared of
what is not letters (_clear_edges: the caption box's border, the picture behind), and read by Tesseract as
one line once per script (Cyrillic, Latin). The surest reading wins; handles and t.me links are taken
from the Latin reading (a Russian caption that names its channel) and read again larger, the spelling most
readings agree on kept. A line is kept with its box (fractions of the frame), its time span (from the frame
it was first read in to the last sampled frame it stood in) and its confidence (the mean of its words').
Lines under ``MIN_CONFIDENCE`` (``HANDLE_CONFIDENCE`` where they hold a handle), or with fewer than two
letters or digits, are dropped. bench/ocr.py measures all of it on text burned into real frames.

Only the languages installed are used; the stage's parameters name them, so installing one runs the stage
again. Without Tesseract's data the stage says so, once, for every item.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.claims.said import Found, claims_in_lines, replace_claims
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
HANDLE_SCALES = (1.5, 2.0)  # a handle is read again at these sizes, and the spelling most agree on kept
HANDLE_CONFIDENCE = 0.2  # a line holding a handle or t.me link is kept from this (noise rarely reads as one)
LINE_HEIGHT = 48  # each detected box is scaled to this height before it is read
PAD = 0.3  # of a box's height, added above and below it before it is read
SIDE_PAD = 1.2  # of a box's height, added left and right
GAP = 16  # white around a line Tesseract reads
KMEANS = 4  # colours the inside of a box is split into, to find the text's
NEAR = 40.0  # Lab distance (OpenCV's 8-bit scale) within which a pixel has the text's colour
COLOURS = 3  # likely text colours each box is read in
SURE = 0.85  # a reading this sure ends the search for the line's text colour
STRAY = 0.9  # a mark at a line's end that is no letter, digit, @ or #, read less surely than this: a speck
# (a letter's own confidence is near 0.99 where the line is clear; a speck's, 0.5 to 0.85)
HANDLE = re.compile(r"@[A-Za-z0-9_]{3,}|t\.me/[A-Za-z0-9_]{3,}")  # a channel or account name, or link
TESSDATA = [
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
]
UKRAINIAN = set("іїєґІЇЄҐ")


@dataclass
class OcrResult:
    lines: list[Line] = field(default_factory=list)
    frames_read: int = 0
    frames_seen: int = 0
    notes: list[str] = field(default_factory=list)
    claims: Found = field(default_factory=list)  # the quantitative claims on screen (claims/said.py)


def tessdata() -> str | None:
    """Where Tesseract's language data is: ``TESSDATA_PREFIX`` if set, else where Debian, Fedora, Homebrew or
    a source build puts it (the first folder that holds a ``.traineddata`` file)."""
    places = [os.environ.get("TESSDATA_PREFIX", ""), *TESSDATA]
    for place in filter(None, places):
        if any(Path(place).glob("*.traineddata")):
            return str(Path(place)) + "/"
    return None


def installed_langs() -> list[str]:
    """The languages of ``LANGS`` whose data is installed; none where the tesserocr binding or the data is
    missing."""
    path = tessdata()
    if path is None or importlib.util.find_spec("tesserocr") is None:
        return []
    import tesserocr

    have = set(tesserocr.get_languages(path)[1])
    return [lang for lang in LANGS if lang in have]


def keeps(text: str, confidence: float, min_confidence: float = MIN_CONFIDENCE) -> bool:
    """Whether a line read is kept: two letters or digits at least, read at ``min_confidence`` or over, or
    at ``HANDLE_CONFIDENCE`` where it holds a handle or t.me link (noise rarely reads as one: bench/ocr.py
    counts the handles read on frames with none)."""
    floor = min(min_confidence, HANDLE_CONFIDENCE) if HANDLE.search(text) else min_confidence
    return confidence >= floor and sum(c.isalnum() for c in text) >= 2


class OcrStage(Stage[OcrResult]):
    name = "ocr"
    version = "2"  # 2: each line read in its text colour, one at a time; the claims on screen read too

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
            "colours": COLOURS,
            "sure": SURE,
        }

    def accepts(self, item: Item) -> bool:
        return item.kind in ("image", "video")

    def compute(self, task: Task) -> OcrResult:
        if not self.langs:
            raise DecodeError(
                "Tesseract is not installed: no language data found (apt-get install tesseract-ocr "
                "tesseract-ocr-rus tesseract-ocr-ukr, or set TESSDATA_PREFIX): no on-screen text read"
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
        out.claims = claims_in_lines([(line.text, line.start) for line in out.lines])
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
        lines = []
        for x0, y0, x1, y1, _ in text_boxes(image):
            text, confidence = self._read_box(image, (x0, y0, x1, y1))
            if not keeps(text, confidence, min_confidence):
                continue
            box = (
                round(x0 / width, 4),
                round(y0 / height, 4),
                round((x1 - x0) / width, 4),
                round((y1 - y0) / height, 4),
            )
            lines.append(Line(text, t, t, round(confidence, 3), _lang(text), box))
        return lines

    def _read_box(self, image: NDArray[np.uint8], box: tuple[int, int, int, int]) -> tuple[str, float]:
        """One detected line's text and confidence: cut out in each of its likeliest text colours (_inks),
        each read once per script (Cyrillic, Latin: mixed in one model they trade letters); the surest
        reading wins, with the handles the Latin reading found (_with_handles); a reading at ``SURE`` or
        over ends the search."""
        x0, y0, x1, y1 = box
        height, width = image.shape[:2]
        # the detector's box can leave out an underscore, a descender or the first character's edge
        pad, side = max(2, round((y1 - y0) * PAD)), max(3, round((y1 - y0) * SIDE_PAD))
        top, left = max(0, y0 - pad), max(0, x0 - side)
        window = image[top : min(height, y1 + pad), left : min(width, x1 + side)]
        margin = (y1 - y0) // 5
        inner = (slice(y0 - top + margin, y1 - top - margin), slice(x0 - left, x1 - left))
        # a reading of a few marks where the box holds many letters is noise read surely: it counts for less
        letters = (x1 - x0) / (y1 - y0)  # about half the letters a line of this shape holds

        def score(reading: _Reading) -> float:
            return reading.confidence * min(1.0, len(reading.text.replace(" ", "")) / letters)

        best, best_piece = _Reading(), None
        for ink in _inks(window, inner, y1 - y0)[:COLOURS]:
            piece = _piece(ink)
            readings = [_tesseract(langs).read(piece) for langs in _groups(self.langs)]
            reading = max((_with_handles(r, readings) for r in readings), key=score)
            if score(reading) > score(best):
                best, best_piece = reading, piece
            if best.confidence >= SURE:
                break
        if best_piece is not None and "eng" in self.langs and any(HANDLE.search(w.text) for w in best.words):
            best = _vote_handles(best, best_piece)
        return best.text, best.confidence

    def save(self, session: Session, item: Item, result: OcrResult) -> str | None:
        replace_lines(session, item, "ocr", result.lines)
        replace_claims(session, item.id, "ocr", result.claims)
        return "; ".join(result.notes) or None


def _groups(langs: list[str]) -> list[str]:
    """The Tesseract language sets a sheet is read with: Latin and Cyrillic apart, when both are there."""
    latin = [x for x in langs if x == "eng"]
    cyrillic = [x for x in langs if x in ("rus", "ukr")]
    return ["+".join(g) for g in (cyrillic, latin) if g] or ["+".join(langs)]


@dataclass
class _Word:
    text: str
    confidence: float  # 0..1
    left: int
    right: int


@dataclass
class _Reading:
    words: list[_Word] = field(default_factory=list)
    latin: bool = False

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        return sum(w.confidence for w in self.words) / len(self.words) if self.words else 0.0


class _Tesseract:
    """One Tesseract engine for one language set, reading a line at a time (psm 7) in this process."""

    def __init__(self, langs: str) -> None:
        import tesserocr

        self.latin = langs == "eng"
        self.api = tesserocr.PyTessBaseAPI(
            path=tessdata() or "", lang=langs, psm=tesserocr.PSM.SINGLE_LINE, oem=tesserocr.OEM.LSTM_ONLY
        )

    def read(self, piece: Any) -> _Reading:
        """The line's words, each with its place and confidence. Unsure marks at either end (a speck, a
        caption box's border read as ``|``) are whited out and the line read again: Tesseract's confidence in
        a word is that of its least sure letter, so a speck read into a word would sink it."""
        words, strays = self._recognise(piece)
        if strays:
            from PIL import ImageDraw

            piece = piece.copy()
            for left, right in strays:
                ImageDraw.Draw(piece).rectangle((left, 0, right, piece.height), fill=255)
            words, _ = self._recognise(piece)
        return _Reading(words, self.latin)

    def _recognise(self, piece: Any) -> tuple[list[_Word], list[tuple[int, int]]]:
        """The words read, and where the stray marks at either end of the line are (left, right)."""
        from tesserocr import RIL, iterate_level

        self.api.SetImage(piece)
        self.api.Recognize()
        words = []
        for word in iterate_level(self.api.GetIterator(), RIL.WORD):
            try:
                text = (word.GetUTF8Text(RIL.WORD) or "").strip()
            except RuntimeError:  # the line is empty: the iterator stands on nothing
                break
            box = word.BoundingBox(RIL.WORD)
            if text and box:
                words.append(_Word(text, word.Confidence(RIL.WORD) / 100, box[0], box[2]))
        marks = []
        for symbol in iterate_level(self.api.GetIterator(), RIL.SYMBOL):
            try:
                text = (symbol.GetUTF8Text(RIL.SYMBOL) or "").strip()
            except RuntimeError:
                break
            box = symbol.BoundingBox(RIL.SYMBOL)
            if text and box:
                marks.append(_Word(text, symbol.Confidence(RIL.SYMBOL) / 100, box[0], box[2]))
        strays = []
        for run in (marks, marks[::-1]):
            for mark in run:
                if not _stray(mark):
                    break
                strays.append((mark.left, mark.right))
        return words, strays


def _stray(mark: _Word) -> bool:
    """A mark at a line's end that is no part of it: a caption box's border read as ``|``, an unsure speck."""
    return mark.text == "|" or (not mark.text.isalnum() and mark.text not in "@#" and mark.confidence < STRAY)


def _with_handles(best: _Reading, readings: list[_Reading]) -> _Reading:
    """``best`` with the handles and t.me links the Latin reading found put in place of the words under them:
    in a Russian caption that names its channel, the caption is read in Cyrillic and the handle in Latin.
    The handle is as sure as the surer of the two readings of its place: both read a word there."""
    latin = next((r for r in readings if r.latin), None)
    if latin is None or best.latin:
        return best
    words = list(best.words)
    for handle in (w for w in latin.words if HANDLE.search(w.text)):
        under = [w for w in words if _overlap(w, handle.left, handle.right) > 0.5]
        if under:
            at = words.index(under[0])
            sure = max(handle.confidence, min(w.confidence for w in under))
            words = [w for w in words if w not in under]
            words.insert(at, replace(handle, confidence=sure))
    return _Reading(words, best.latin)


def _vote_handles(reading: _Reading, piece: Any) -> _Reading:
    """The reading with each handle read again, larger (``HANDLE_SCALES``), and the spelling most of the
    readings agree on kept: a handle is the clue a source hint rests on, and one letter wrong (U read as V
    at a small size) points at another channel."""
    from PIL import Image

    votes: list[list[str]] = [[w.text] if HANDLE.search(w.text) else [] for w in reading.words]
    for scale in HANDLE_SCALES:
        size = (round(piece.width * scale), round(piece.height * scale))
        larger = piece.resize(size, Image.Resampling.BICUBIC)
        for word in _tesseract("eng").read(larger).words:
            if not HANDLE.search(word.text):
                continue
            for k, mine in enumerate(reading.words):
                if votes[k] and _overlap(mine, word.left / scale, word.right / scale) > 0.5:
                    votes[k].append(word.text)
    words = [
        replace(w, text=max(v, key=v.count)) if v else w  # max keeps the first of equals: the first reading
        for w, v in zip(reading.words, votes, strict=True)
    ]
    return _Reading(words, reading.latin)


def _overlap(word: _Word, left: float, right: float) -> float:
    """The share of ``word``'s width that lies between ``left`` and ``right``."""
    return (min(word.right, right) - max(word.left, left)) / max(1, word.right - word.left)


_engines = threading.local()


def _tesseract(langs: str) -> _Tesseract:
    """This thread's engine for ``langs``, loaded once (Tesseract's API is not shared between threads)."""
    engines: dict[str, _Tesseract] = _engines.__dict__.setdefault("by_langs", {})
    if langs not in engines:
        engines[langs] = _Tesseract(langs)
    return engines[langs]


def _piece(ink: NDArray[np.uint8]) -> Any:
    """A cut-out made ready for Tesseract: LINE_HEIGHT high, cleared of what touches its edges, with GAP of
    white all round."""
    import cv2
    from PIL import Image

    scale = LINE_HEIGHT / max(1, ink.shape[0])
    size = (max(1, round(ink.shape[1] * scale)), LINE_HEIGHT)
    line = _clear_edges(np.asarray(cv2.resize(ink, size, interpolation=cv2.INTER_CUBIC), dtype=np.uint8))
    return Image.fromarray(np.pad(line, GAP, constant_values=255))


def _inks(window: NDArray[np.uint8], inner: tuple[slice, slice], line: int) -> list[NDArray[np.uint8]]:
    """The cut-out as grey images, dark where a pixel is near a likely text colour and white where far from
    it. The colours tried are the centres of the box's inner pixels (k-means in Lab); a colour is likely
    text when the pixels near it make letter-like blobs (_letters): the ``COLOURS`` likeliest are
    returned."""
    import cv2

    lab = cv2.cvtColor(window, cv2.COLOR_RGB2LAB).astype(np.float32)
    core = lab[inner].reshape(-1, 3)
    if len(core) < KMEANS:
        return []
    sample = np.ascontiguousarray(core[:: max(1, len(core) // 3000)])
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(0)
    kmeans: Any = cv2.kmeans  # its stubs want an array for the labels, which may be None
    _, _, centres = kmeans(sample, KMEANS, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    scored = []
    for centre in centres:
        distance = np.linalg.norm(lab - centre, axis=2)
        share = _letters(distance < NEAR, line)
        if share > 0:
            ramp = (distance - 0.5 * NEAR) * (255 / NEAR)  # near: black, past 1.5 x NEAR: white
            scored.append((share, np.clip(ramp, 0, 255).astype(np.uint8)))
    scored.sort(key=lambda x: -x[0])
    return [ink for _, ink in scored[:COLOURS]]


def _letters(mask: NDArray[np.bool_], line: int) -> float:
    """The share of the cut-out covered by blobs shaped like letters of a line ``line`` pixels high: not
    touching its edge, from a third of the line high to a little over it, at most two lines wide."""
    import cv2

    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    height, width = mask.shape
    area = 0
    for x, y, w, h, pixels in stats[1:]:
        inside = x > 0 and y > 0 and x + w < width and y + h < height
        if inside and line / 3 <= h <= 1.2 * line and w <= 2 * line:
            area += int(pixels)
    return area / mask.size


def _clear_edges(ink: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """What is not the line's letters made white: dark blobs that touch the cut-out's edge (the caption box's
    border, the picture behind it: the letters, padded all round, touch no edge), blobs too big to be a
    letter, and specks away from the letters' band."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink < 128).astype(np.uint8), connectivity=8)
    height, width = ink.shape
    line = height / (1 + 2 * PAD)  # the detected box's height
    keep = np.zeros(count, bool)
    letters = []
    for label in range(1, count):
        x, y, w, h, _ = stats[label]
        inside = x > 0 and y > 0 and x + w < width and y + h < height
        keep[label] = inside and h <= 1.2 * line and w <= 3 * line
        if keep[label] and h >= line / 3:
            letters.append((x, y, w, h))
    if letters:
        top = float(np.median([y for _, y, _, _ in letters]))
        bottom = float(np.median([y + h for _, y, _, h in letters]))
        left = min(x for x, _, _, _ in letters) - line
        right = max(x + w for x, _, w, _ in letters) + line
        for label in range(1, count):
            x, y, w, h, _ = stats[label]
            if keep[label] and h < line / 3:  # a speck: a dot, a comma, a diacritic, if near the letters
                keep[label] = top - 0.6 * line <= y and y + h <= bottom + 0.6 * line and left <= x <= right
    out = ink.copy()
    out[~keep[labels]] = 255
    return out


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
