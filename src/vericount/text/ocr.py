"""The ``ocr`` stage: the text on screen, read with Tesseract (Debian's ``tesseract-ocr`` with its ``-rus``,
``-ukr`` and ``-eng`` data, through pytesseract).

Frames come from the shared sampler (media/frames.py) at ``FPS`` a second, plus the first frame of every
shot. A frame is read only when it starts a shot or its picture changed since the last frame read (more
than ``CHANGED_SHARE`` of a 64 x 36 grey thumbnail's pixels changed by over ``PIXEL_CHANGE``): a caption
that stays for a minute is read once. Frames are read in grey, enlarged to ``READ_HEIGHT`` when lower. Each
line Tesseract finds is kept with its box (fractions of the frame), its time span (from the frame it was
first read in to the last sampled frame it stood in) and its confidence (the mean of its words'). Lines
under ``MIN_CONFIDENCE``, or with fewer than two letters or digits, are dropped: Tesseract reads texture as
text, and those lines are almost all noise (bench/ocr.py measures it).

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
MIN_CONFIDENCE = 0.6
READ_HEIGHT = 720  # frames lower than this are enlarged before reading
PSM = 11  # sparse text: captions, handles and signs scattered over a picture, not a page
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

    def read(self, image: NDArray[np.uint8], t: float | None) -> list[Line]:
        """The lines Tesseract reads in one RGB frame, noise dropped."""
        import pytesseract
        from PIL import Image

        height, width = image.shape[:2]
        # grey, as Tesseract reads best (its own conversion of colour frames loses light text on some
        # backgrounds), and enlarged until the frame is READ_HEIGHT high: small captions come out right
        scale = max(1.0, READ_HEIGHT / height)
        picture = Image.fromarray(image).convert("L")
        if scale > 1:
            picture = picture.resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)
        data = pytesseract.image_to_data(
            picture,
            lang="+".join(self.langs),
            config=f"--psm {PSM}",
            output_type=pytesseract.Output.DICT,
        )
        words: dict[tuple[int, int, int], list[tuple[str, float, int, int, int, int]]] = {}
        for i, word in enumerate(data["text"]):
            conf = float(data["conf"][i])
            if not word.strip() or conf < 0:
                continue
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            words.setdefault(key, []).append(
                (
                    word.strip(),
                    conf / 100,
                    data["left"][i],
                    data["top"][i],
                    data["width"][i],
                    data["height"][i],
                )
            )
        lines = []
        for group in words.values():
            text = " ".join(w[0] for w in group)
            confidence = sum(w[1] for w in group) / len(group)
            if confidence < MIN_CONFIDENCE or sum(c.isalnum() for c in text) < 2:
                continue
            x0, y0 = min(w[2] for w in group), min(w[3] for w in group)
            x1, y1 = max(w[2] + w[4] for w in group), max(w[3] + w[5] for w in group)
            lines.append(
                Line(
                    text,
                    t,
                    t,
                    round(confidence, 3),
                    _lang(text),
                    (
                        round(x0 / picture.width, 4),
                        round(y0 / picture.height, 4),
                        round((x1 - x0) / picture.width, 4),
                        round((y1 - y0) / picture.height, 4),
                    ),
                )
            )
        return lines

    def save(self, session: Session, item: Item, result: OcrResult) -> str | None:
        replace_lines(session, item, "ocr", result.lines)
        return "; ".join(result.notes) or None


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
