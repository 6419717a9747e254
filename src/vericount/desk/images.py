"""The pictures the desk makes: item thumbnails and frames, decoded small and a few at a time.

A JPEG is decoded at a reduced scale (Pillow's draft: 1/2 to 1/8 of the side). Other formats (PNG, WebP,
HEIC, TIFF...) cannot be decoded small: they are decoded once, reduced at once (box averaging) and the full
picture dropped, so one costs about its decoded size (4 bytes a pixel for RGB, at most MAX_IMAGE_PIXELS),
not the several full-size copies that turning and converting it first would make (only a palette, alpha,
CMYK or 16-bit picture is converted at full size once, as reduce() needs). At most DECODE_SLOTS decodes run
at once across every process serving the case (lock files under derived/.locks/, held with flock); a
request that finds none free within DECODE_WAIT_S is answered 503 busy.
"""

from __future__ import annotations

import fcntl
import io
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from vericount.case import Case
from vericount.desk.files import regular_file, write_inside
from vericount.desk.guard import Busy
from vericount.errors import DecodeError, InvalidValue
from vericount.store.schema import Item

THUMB_SIDE = 240
FRAME_SIDE = 1280
DECODE_SLOTS = 2
DECODE_WAIT_S = 10.0
_POLL_S = 0.05
_OPENING = threading.Lock()  # Pillow's pixel limit is a process global, changed only while opening
_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
              7: "TRANSVERSE", 8: "ROTATE_90"}


def try_slot(case: Case) -> int | None:
    """A decode slot (an open, flock-ed lock file; close it to give the slot back), or None when all are
    taken, by this process or another."""
    folder = case.derived / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(DECODE_SLOTS):
        fd = os.open(folder / f"decode-{n}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd
    return None


@asynccontextmanager
async def decode_slot(case: Case, wait: float | None = None) -> AsyncIterator[None]:
    """Hold a decode slot for the block; waiting for one costs no thread. Raises Busy after ``wait``."""
    deadline = time.monotonic() + (DECODE_WAIT_S if wait is None else wait)
    while (fd := try_slot(case)) is None:
        if time.monotonic() >= deadline:
            raise Busy("busy making other pictures: try again in a moment")
        await anyio.sleep(_POLL_S)
    try:
        yield
    finally:
        os.close(fd)


def cached_thumbnail(case: Case, item_id: str) -> Path | None:
    """derived/thumbs/<id>.jpg when it is there and a regular file (a planted link is not)."""
    found = regular_file(case.derived, case.derived / "thumbs" / f"{item_id}.jpg")
    return found[0] if found is not None else None


def source(case: Case, item_id: str) -> tuple[Path, str] | None:
    """The item's original (checked: a regular file inside evidence/) and its kind, when it has pictures."""
    with case.reading() as s:
        item = s.get(Item, item_id)
        if item is None or item.kind not in ("image", "video"):
            return None
        kind = item.kind
    found = regular_file(case.evidence.root, case.evidence.path(item_id))
    return (found[0], kind) if found is not None else None


def make_thumbnail(case: Case, item_id: str) -> Path | None:
    """Make derived/thumbs/<id>.jpg from the image or the video's frame at 1 s; None for an item without
    pictures or one that does not decode (it gets the placeholder, not an error page)."""
    found = source(case, item_id)
    if found is None:
        return None
    path, kind = found
    try:
        data = jpeg(path, kind, 1.0 if kind == "video" else 0.0, THUMB_SIDE)
    except Exception:  # noqa: BLE001 - an undecodable item gets the placeholder
        return None
    target = case.derived / "thumbs" / f"{item_id}.jpg"
    return target if write_inside(case.derived, target, data) else None


def frame(case: Case, item_id: str, t: float) -> bytes:
    found = source(case, item_id)
    if found is None:
        raise InvalidValue("this item has no frames")
    path, kind = found
    return jpeg(path, kind, t, FRAME_SIDE)


def jpeg(path: Path, kind: str, t: float, side: int) -> bytes:
    """The picture at ``t`` (an image's only one), upright, longest side at most ``side``, as JPEG."""
    from PIL import Image

    if kind == "image":
        picture = small_image(path, side)
    else:
        from vericount.people.service import frame_at

        picture = Image.fromarray(frame_at(path, kind, t)[1])  # RGB, upright, at most 1280 a side
        picture.thumbnail((side, side))
    out = io.BytesIO()
    picture.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def small_image(path: Path, side: int) -> Any:
    """An image decoded small (see the module's docstring), upright, RGB, longest side at most ``side``."""
    from PIL import Image

    from vericount.media.frames import MAX_IMAGE_PIXELS, _to_rgb
    from vericount.media.probe_image import _PIL_ERRORS, _register_heif

    _register_heif()
    try:
        with _OPENING:
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # our own limit, below
            try:
                im = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
        with im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise DecodeError(f"{path.name}: {im.width} x {im.height} pixels is over the "
                                  f"{MAX_IMAGE_PIXELS / 1e6:g}-megapixel safety limit")
            orientation = im.getexif().get(0x0112, 1)
            im.draft("RGB", (side, side))  # JPEG: decoded at a reduced scale, still at least side
            im.load()
            small = _reduced(im, max(1, max(im.size) // (2 * side)))
        if orientation in _TRANSPOSE:
            small = small.transpose(getattr(Image.Transpose, _TRANSPOSE[orientation]))
        rgb = _to_rgb(small)
        rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    except _PIL_ERRORS as exc:
        raise DecodeError(f"{path.name}: image does not decode ({str(exc).strip()[:200]})") from exc
    return rgb


def _reduced(im: Any, factor: int) -> Any:
    """``im`` shrunk ``factor`` times by box averaging, converting first only where Pillow must."""
    from vericount.media.frames import _to_rgb

    if factor == 1:
        return im.copy()
    if im.mode in ("P", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV") or im.mode.startswith("I;16"):
        im = _to_rgb(im)  # reduce() takes none of these; a palette image grows 4 times here
    return im.reduce(factor)
