"""Technical metadata of a stored image, via Pillow (and pillow_heif). See docs/metadata.md.

A reduced or bounded decode proves the image data is complete; EXIF tags give times and GPS.
"""

from __future__ import annotations

import functools
import math
import re
import struct
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from vericount.errors import ProbeError
from vericount.media._common import JSON, Probed, _clean, _clip
from vericount.media.probe_video import _probe_video

if TYPE_CHECKING:
    from PIL import Image

FULL_DECODE_PIXELS = 24_000_000  # images up to this size are fully decoded to prove they are whole

# What Pillow and its plugins raise for bad input (UnidentifiedImageError is an OSError; the AVIF
# plugin raises RuntimeError "Failed to decode ...").
_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError,
               ZeroDivisionError, RuntimeError)  # fmt: skip
_EXIF_DATETIME = re.compile(r"(\d{4}):(\d\d):(\d\d)[ T](\d\d):(\d\d):(\d\d)")
_EXIF_OFFSET = re.compile(r"[+-]\d\d:\d\d")
_MODE_BITS = {
    "1": 1, "I": 32, "F": 32, "I;16": 16, "I;16L": 16, "I;16B": 16, "I;16N": 16,
    **dict.fromkeys(("L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB"), 8),
}  # fmt: skip
_IFD_POINTERS = (0x8769, 0x8825, 0xA005)


@functools.cache
def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def _probe_image(path: Path, max_pixels: int, vfr_packets: int) -> Probed:
    from PIL import Image, ImageFile, UnidentifiedImageError

    _register_heif()
    saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    # Our own size check below replaces Pillow's; it runs before anything is decoded.
    Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = None, False
    try:
        with Image.open(path) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise ProbeError(
                    f"image declares {width} x {height} pixels ({width * height / 1e6:.1f} "
                    f"megapixels), over the {max_pixels / 1e6:g}-megapixel safety limit; "
                    "stored but not decoded"
                )
            md, warnings = _image_fields(path, im)
        if md["format"] == "GIF" and cast(int, md["n_frames"]) > 1:
            vmd, vwarnings = _probe_video(path, vfr_packets, max_pixels)
            vmd.update(frame_count=md["n_frames"], image_format="GIF", raw_tags=md["raw_tags"])
            with path.open("rb") as fh:
                if fh.seek(-1, 2) and fh.read(1) != b";":
                    vwarnings.append("GIF trailer missing: the file looks truncated")
            return Probed("video", vmd, tuple(warnings + vwarnings))
        md["decode_check"] = _check_decodes(path, str(md["format"]), width * height)
    except UnidentifiedImageError as exc:
        raise ProbeError("not a readable image (no image format recognises the content)") from exc
    except _PIL_ERRORS as exc:
        raise ProbeError(_image_failure(exc, path, "not a readable image")) from exc
    finally:
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved
    return Probed("image", md, tuple(warnings))


def _check_decodes(path: Path, fmt: str, pixels: int) -> str:
    """Prove the image data is complete, without a full-size decode of a large image."""
    from PIL import Image

    with Image.open(path) as im:
        try:
            if fmt in ("JPEG", "MPO"):
                im.draft(None, (1, 1))  # DCT scaling: the whole stream at 1/8 size
                im.load()
                return "decoded at reduced size" if pixels > im.width * im.height else "decoded"
            if pixels <= FULL_DECODE_PIXELS:
                im.load()
                return "decoded"
            if fmt == "PNG":
                im.verify()  # chunk CRCs up to IEND, no pixel buffer
                return "chunks verified"
        except _PIL_ERRORS as exc:
            raise ProbeError(_image_failure(exc, path, "image data is corrupt")) from exc
    return f"skipped (over {FULL_DECODE_PIXELS // 1_000_000} megapixels)"


def _image_failure(exc: Exception, path: Path, otherwise: str) -> str:
    detail = _clean(exc, path)
    if "truncat" in detail.lower():
        return f"image data is truncated ({detail})"
    if isinstance(exc, EOFError | IndexError | struct.error):
        return f"image data ends early or is corrupt ({type(exc).__name__}: {detail})"
    return f"{otherwise} ({detail})"


def _image_fields(path: Path, im: Image.Image) -> tuple[dict[str, JSON], list[str]]:
    warnings: list[str] = []
    try:
        n_frames = int(getattr(im, "n_frames", 1))
    except TypeError as exc:  # Pillow's TIFF reader signals a broken IFD this way, as its open() knows
        raise ProbeError(f"image data is corrupt ({_clean(exc, path)})") from exc
    width, height = im.size
    raw: dict[str, JSON] = {}
    md: dict[str, JSON] = {
        "format": im.format,
        "width": width,
        "height": height,
        "mode": im.mode,
        "bit_depth": _bit_depth(path, im),
        "n_frames": n_frames,
        "animated": bool(getattr(im, "is_animated", False)),
    }
    if n_frames > 1 and im.format != "GIF":
        warnings.append(f"{n_frames} frames in this {im.format}; only the first is used")
    try:
        md.update(_exif_fields(im, raw, warnings))
    except _PIL_ERRORS as exc:
        warnings.append(f"EXIF block unreadable ({_clean(exc, path)})")
        md.update(_exif_fields(None, raw, warnings))
    swap = md["orientation"] in (5, 6, 7, 8)
    md["display_width"], md["display_height"] = (height, width) if swap else (width, height)
    raw.update({f"info.{k}": _clip(v) for k, v in im.info.items() if isinstance(v, str)})
    md["raw_tags"] = raw
    return md, warnings


def _bit_depth(path: Path, im: Image.Image) -> int | None:
    if im.format == "PNG":  # Pillow reads 16-bit RGB as 8-bit "RGB": ask the IHDR
        with path.open("rb") as fh:
            ihdr = fh.read(25)
        return ihdr[24] if len(ihdr) == 25 and ihdr[12:16] == b"IHDR" else None
    bits = im.info.get("bit_depth")  # set by pillow_heif
    if isinstance(bits, int):
        return bits
    return _MODE_BITS.get(im.mode)


def _exif_fields(im: Image.Image | None, raw: dict[str, JSON], warnings: list[str]) -> dict[str, JSON]:
    from PIL import ExifTags

    exif = im.getexif() if im is not None and (im.format != "PNG" or "exif" in im.info) else None
    base = {k: v for k, v in (exif or {}).items() if k not in _IFD_POINTERS}
    sub = dict(exif.get_ifd(0x8769)) if exif else {}
    gps = dict(exif.get_ifd(0x8825)) if exif else {}
    for tags, names in ((base, ExifTags.TAGS), (sub, ExifTags.TAGS), (gps, ExifTags.GPSTAGS)):
        raw.update({names.get(t, f"Tag0x{t:04X}"): _tag_text(t, v) for t, v in tags.items()})
    text = {t: _tag_text(t, v) or None for t, v in {**base, **sub}.items()}
    orientation = base.get(274)
    return {
        "orientation": orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None,
        "make": text.get(271),
        "model": text.get(272),
        "software": text.get(305),
        "lens": text.get(42036) or text.get(42035),
        "datetime_original": _exif_datetime(text.get(36867), text.get(36881), warnings),
        "datetime_digitized": _exif_datetime(text.get(36868), text.get(36882), warnings),
        "gps": _exif_gps(gps, warnings) if gps else None,
    }


def _tag_text(tag: int, value: object) -> str:
    if isinstance(value, bytes):
        text = value.rstrip(b"\x00 ")
        if tag != 37500 and len(text) <= 64 and text.isascii() and text.decode().isprintable():
            return text.decode()
        return f"<{len(value)} bytes>"
    if isinstance(value, tuple):
        return ", ".join(_tag_text(tag, v) for v in value)
    return _clip(str(value))


def _exif_datetime(raw: str | None, offset: str | None, warnings: list[str]) -> JSON:
    """EXIF local time, with its offset when one is recorded; never assumed to be UTC."""
    if not raw:
        return None
    match = _EXIF_DATETIME.match(raw)
    try:
        year, month, day, hour, minute, second = map(int, match.groups() if match else "")
        value: str | None = datetime(year, month, day, hour, minute, second).isoformat()
    except ValueError:
        value = None
    if value is None:
        warnings.append(f"unreadable EXIF date {raw!r}")
        return None
    if offset and _EXIF_OFFSET.fullmatch(offset):
        return {"value": value + offset, "timezone": offset}
    return {"value": value, "timezone": None, "note": "local time of unknown zone"}


def _exif_gps(gps: dict[int, object], warnings: list[str]) -> dict[str, JSON] | None:
    lat, lon = _degrees(gps.get(2)), _degrees(gps.get(4))
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        warnings.append("GPS block present but its latitude/longitude are unreadable")
        return None
    sign = {"S": -1, "W": -1}
    out: dict[str, JSON] = {
        "lat": round(lat * sign.get(str(gps.get(1, "N")).strip("\x00 ").upper(), 1), 7),
        "lon": round(lon * sign.get(str(gps.get(3, "E")).strip("\x00 ").upper(), 1), 7),
    }
    alt = _degrees(gps.get(6))
    if alt is not None:
        out["alt"] = -alt if gps.get(5) in (1, b"\x01") else alt
    clock, date = _numbers(gps.get(7)), str(gps.get(29, "")).strip()
    if len(clock) == 3 and 0 <= clock[0] < 24 and 0 <= clock[1] < 60 and 0 <= clock[2] < 60:
        hms = ":".join(f"{int(v):02d}" for v in clock)
        with suppress(ValueError):  # an impossible date: no timestamp
            out["timestamp"] = datetime.fromisoformat(f"{date.replace(':', '-')}T{hms}+00:00").isoformat()
    return out


def _numbers(value: object) -> list[float]:
    """One or three finite numbers from an EXIF rational or tuple of rationals; [] if not that."""
    values = value if isinstance(value, tuple) else (value,)
    try:
        parts = [float(cast(float, v)) for v in values] if len(values) in (1, 3) else []
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return []
    return parts if all(math.isfinite(p) for p in parts) else []


def _degrees(value: object) -> float | None:
    """Degrees from an EXIF rational or (degrees, minutes, seconds) rationals."""
    parts = _numbers(value)
    total = sum(p / 60.0**i for i, p in enumerate(parts))
    return total if parts and math.isfinite(total) else None
