"""Technical metadata of a stored file (video, image or text report). See docs/metadata.md.

`probe` runs in worker processes: a plain module-level function over picklable arguments. It
reads headers and demuxes packets; it decodes only what a check needs (one video frame for the
display rotation, a reduced or bounded decode of an image to prove its data is complete).
"""

from __future__ import annotations

import codecs
import functools
import html
import math
import re
import statistics
import struct
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeAlias, assert_never, cast
from warnings import catch_warnings, simplefilter

from vericount.errors import ProbeError
from vericount.media.sniff import Kind

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.codeccontext import VideoCodecContext
    from av.video.stream import VideoStream
    from PIL import Image

JSON: TypeAlias = str | int | float | bool | list["JSON"] | dict[str, "JSON"] | None

TAG_VALUE_MAX = 256  # characters kept of one raw tag value
DECODE_PACKETS = 64  # video packets fed to the decoder, at most, to get the first frame
FULL_DECODE_PIXELS = 24_000_000  # images up to this size are fully decoded to prove they are whole
VFR_TOLERANCE = 0.05  # relative spread of frame intervals still called constant
VIDEO_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,gif,mpegts,mpeg,flv,asf,h264,hevc"
TEXT_CHUNK = 1 << 20
NUL_SCAN = 8 << 10
TITLE_SCAN = 64 << 10

# What Pillow and its plugins raise for bad input (UnidentifiedImageError is an OSError; the AVIF
# plugin raises RuntimeError "Failed to decode ...").
_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError,
               ZeroDivisionError, RuntimeError)  # fmt: skip
_ISO6709 = re.compile(r"([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)([+-](?:\d+(?:\.\d*)?|\.\d+))?(?:CRS[^/]*)?/?")
_EXIF_DATETIME = re.compile(r"(\d{4}):(\d\d):(\d\d)[ T](\d\d):(\d\d):(\d\d)")
_EXIF_OFFSET = re.compile(r"[+-]\d\d:\d\d")
# Stored originals have no extension: recognise HTML by its tags near the start.
_HTML_HINT = re.compile(r"<(?:!doctype\s+html|html|head|body|title)\b", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title\b[^>]{0,1000}>", re.IGNORECASE)  # bounded: no quadratic scan
_HTML_TITLE_END = re.compile(r"</title", re.IGNORECASE)
_MODE_BITS = {
    "1": 1, "I": 32, "F": 32, "I;16": 16, "I;16L": 16, "I;16B": 16, "I;16N": 16,
    **dict.fromkeys(("L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB"), 8),
}  # fmt: skip
_IFD_POINTERS = (0x8769, 0x8825, 0xA005)
_FFMPEG_OPTIONS = {"format_whitelist": VIDEO_DEMUXERS, "protocol_whitelist": "file"}
_VIDEO_STREAM_FIELDS = ("width", "height", "codec", "pixel_format", "bit_rate", "frame_rate",
                        "frame_rate_nominal", "frame_count", "variable_frame_rate", "frames_checked",
                        "rotation", "display_width", "display_height")  # fmt: skip


@dataclass(frozen=True)
class Probed:
    kind: Kind  # may differ from the input: an animated GIF becomes "video"
    metadata: dict[str, JSON]  # the fields documented in docs/metadata.md
    warnings: tuple[str, ...]  # worth telling the user, not failures


def probe(path: Path, kind: Kind, *, max_image_pixels: int = 250_000_000, vfr_packets: int = 2000) -> Probed:
    """Read the technical metadata of `path`, stored as `kind`. Raises ProbeError."""
    if kind == "video":
        metadata, warnings = _probe_video(path, vfr_packets, max_image_pixels)
        return Probed("video", metadata, tuple(warnings))
    if kind == "image":
        with catch_warnings(record=True) as caught:  # Pillow warns about corrupt EXIF and the like
            simplefilter("always")
            result = _probe_image(path, max_image_pixels, vfr_packets)
        told = (
            f"image reader: {_clean(w.message, path)}" for w in caught if issubclass(w.category, UserWarning)
        )
        return replace(result, warnings=result.warnings + tuple(dict.fromkeys(told)))
    if kind == "text":
        return _probe_text(path)
    assert_never(kind)


def _clean(message: object, path: Path) -> str:
    """One line, without the file's path (the caller names the file)."""
    text = str(message).replace(repr(str(path)), "").replace(str(path), "")
    return " ".join(text.split()).rstrip(":, ") or "no detail"


def _clip(value: str) -> str:
    """A tag value fit for JSON columns: no NUL, no lone surrogate, at most TAG_VALUE_MAX characters."""
    value = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "").strip()
    return value if len(value) <= TAG_VALUE_MAX else value[: TAG_VALUE_MAX - 1] + "…"


# ---------------------------------------------------------------------------------------- video


def _probe_video(path: Path, vfr_packets: int, max_pixels: int) -> tuple[dict[str, JSON], list[str]]:
    import av
    from av.stream import Disposition

    try:
        # "file:" keeps a ':' in a name from being read as a protocol; the whitelists keep a hostile
        # file (a playlist, an image sequence pattern) from making FFmpeg open anything else.
        container = av.open(f"file:{path.resolve()}", metadata_errors="replace", options=_FFMPEG_OPTIONS)
    except av.error.FFmpegError as exc:
        raise ProbeError(_open_failure(path, exc)) from exc
    with container:
        streams = list(container.streams)
        video = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
        audio = list(container.streams.audio)
        if not streams:
            raise ProbeError("no streams in the file")
        if not video and not audio:
            found = ", ".join(sorted({s.type for s in streams}))
            raise ProbeError(f"no video or audio stream (only {found})")
        main = video[0] if video else audio[0]
        ctx = cast("VideoCodecContext | None", video[0].codec_context) if video else None
        decode = ctx is not None and ctx.width * ctx.height <= max_pixels  # one frame, for rotation
        scan = _scan_packets(container, main, vfr_packets, decode)
        if scan.packets == 0:
            detail = f" ({scan.demux_error})" if scan.demux_error else ""
            raise ProbeError(f"truncated video: no packet could be read{detail}")
        notes = [n for n in (scan.decode_note, scan.demux_note, _short_note(container, main, scan)) if n]
        return _video_fields(container, video, audio, scan, notes)


def _open_failure(path: Path, exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return f"cannot open the file ({exc.strerror})"
    try:
        boxes, overrun = _bmff_boxes(path)
    except OSError:
        boxes, overrun = [], False
    if boxes and b"moov" not in boxes:
        return (
            "truncated video: moov atom not found"
            if overrun
            else "not a decodable video: moov atom not found"
        )
    return f"not a decodable video ({getattr(exc, 'strerror', None) or _clean(exc, path)})"


def _bmff_boxes(path: Path) -> tuple[list[bytes], bool]:
    """Top-level ISO BMFF box types (empty if not ISO BMFF) and whether the last runs past EOF."""
    boxes: list[bytes] = []
    with path.open("rb") as fh:
        size, offset = fh.seek(0, 2), 0
        while offset + 8 <= size and len(boxes) < 1000:
            fh.seek(offset)
            length, box = struct.unpack(">I4s", fh.read(8))
            if length == 1:
                large = fh.read(8)
                length = struct.unpack(">Q", large)[0] if len(large) == 8 else size + 1
            if (not boxes and box != b"ftyp") or 0 < length < 8:
                break
            boxes.append(box)
            offset += length or size - offset  # 0: the box runs to the end of the file
        return boxes, offset > size


@dataclass
class _Scan:
    pts: list[int] = field(default_factory=list)  # of the first `limit` packets
    packets: int = 0
    rotation_ccw: int | None = None  # from the first decoded frame's display matrix
    decode_note: str | None = None
    demux_error: str | None = None
    eof: bool = False  # every packet of the stream was demuxed
    first: int | None = None  # smallest pts (or dts) seen, stream time base
    end: int | None = None  # largest pts + duration seen, stream time base

    @property
    def demux_note(self) -> str | None:
        if self.demux_error and self.packets:
            return f"demuxing stopped early after {self.packets} packets ({self.demux_error})"
        return None


def _short_note(container: InputContainer, stream: Stream, scan: _Scan) -> str | None:
    """A warning when the packets of a fully demuxed stream end well before its declared end."""
    if not scan.eof or scan.first is None or scan.end is None or not stream.time_base:
        return None
    declared = float(stream.duration * stream.time_base) if stream.duration else None
    declared = declared or (container.duration / 1e6 if container.duration else None)
    span = float((scan.end - scan.first) * stream.time_base)
    if declared is None or declared - span <= max(1.0, 0.1 * declared):
        return None
    return f"packets cover {span:.1f} s of the declared {declared:.1f} s; the file looks truncated"


def _scan_packets(container: InputContainer, stream: Stream, limit: int, want_frame: bool) -> _Scan:
    """Demux up to `limit` packets of `stream` (pts kept); decode its first frame for rotation."""
    from av.error import FFmpegError

    scan = _Scan()
    tried = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            scan.packets += 1
            if packet.pts is not None and len(scan.pts) < limit:
                scan.pts.append(packet.pts)
            if (stamp := packet.pts if packet.pts is not None else packet.dts) is not None:
                scan.first = min(stamp, scan.first if scan.first is not None else stamp)
                scan.end = max(stamp + (packet.duration or 0), scan.end or stamp)
            if want_frame and tried < DECODE_PACKETS:
                tried += 1
                scan.rotation_ccw = _first_rotation(stream, packet, scan)
                want_frame = scan.rotation_ccw is None and scan.decode_note is None
            if len(scan.pts) >= limit and not (want_frame and tried < DECODE_PACKETS):
                break
        else:
            scan.eof = True
    except FFmpegError as exc:
        scan.demux_error = exc.strerror
    if want_frame and scan.packets:
        scan.rotation_ccw = _first_rotation(stream, None, scan)  # flush the decoder
        if scan.rotation_ccw is None and scan.decode_note is None:
            scan.decode_note = f"no video frame decoded from the first {tried} packets"
    return scan


def _first_rotation(stream: Stream, packet: Packet[Stream] | None, scan: _Scan) -> int | None:
    """Counter-clockwise display rotation of the first frame decoded; None while none is."""
    from av.error import FFmpegError

    try:
        frames = cast("VideoStream", stream).decode(packet)
    except FFmpegError as exc:
        scan.decode_note = f"first video frame could not be decoded ({exc.strerror})"
        return None
    return frames[0].rotation if frames else None


def _video_fields(
    container: InputContainer,
    video: Sequence[Stream],
    audio: Sequence[Stream],
    scan: _Scan,
    warnings: list[str],
) -> tuple[dict[str, JSON], list[str]]:
    from av.audio.codeccontext import AudioCodecContext

    raw: dict[str, str] = {f"container.{k}": _clip(v) for k, v in container.metadata.items()}
    for s in container.streams:
        raw.update({f"stream{s.index}.{k}": _clip(v) for k, v in s.metadata.items()})
    tags = {k.lower(): _clip(v) for k, v in container.metadata.items()}
    for s in [*video, *audio]:  # container tags first, then the first stream that has one
        tags.update({k.lower(): _clip(v) for k, v in s.metadata.items() if k.lower() not in tags})
    duration = container.duration / 1e6 if container.duration else None
    md: dict[str, JSON] = {
        "container": container.format.name,
        "container_long_name": container.format.long_name,
        "duration_s": duration,
        "container_bit_rate": container.bit_rate or None,
        "video_streams": len(video),
        "audio_streams": len(audio),
    }
    md.update(_video_stream_fields(video[0] if video else None, scan, warnings))
    md["creation_time"] = _iso_time(tags.get("creation_time"))
    md["creation_date_local"] = _iso_time(tags.get("com.apple.quicktime.creationdate"))
    md["encoder"] = tags.get("encoder") or tags.get("software") or tags.get(
        "com.apple.quicktime.software")  # fmt: skip
    md["make"] = tags.get("com.apple.quicktime.make") or tags.get("make")
    md["model"] = tags.get("com.apple.quicktime.model") or tags.get("model")
    md["handler_names"] = [_clip(h) for s in container.streams if (h := s.metadata.get("handler_name"))]
    md["major_brand"] = (tags.get("major_brand") or "").strip() or None
    # Apple's ISO6709 key sorts first; "location" and "location-eng" are FFmpeg's names for ©xyz.
    keys = sorted(k for k in tags if k.endswith(".iso6709") or k.split("-")[0] == "location")
    location = next((tags[k] for k in keys if tags[k]), None)
    md["gps"] = _iso6709(location) if location else None
    if location and md["gps"] is None:
        warnings.append(f"unreadable location tag {location!r}")
    ctx = cast("AudioCodecContext | None", audio[0].codec_context) if audio else None
    md["audio"] = {
        "present": bool(audio),
        "codec": ctx.name if ctx else None,
        "sample_rate": ctx.sample_rate if ctx else None,
        "channels": ctx.channels if ctx else None,
    }
    md["raw_tags"] = cast(dict[str, JSON], raw)
    if not video:
        warnings.insert(0, "no video stream (audio only)")
    return md, warnings


def _video_stream_fields(stream: Stream | None, scan: _Scan, warnings: list[str]) -> dict[str, JSON]:
    ctx = cast("VideoCodecContext | None", stream.codec_context) if stream else None
    if stream is None or ctx is None:
        return dict.fromkeys(_VIDEO_STREAM_FIELDS)
    rotation = (-scan.rotation_ccw) % 360 if scan.rotation_ccw is not None else None
    if rotation is None and (legacy := stream.metadata.get("rotate", "").strip()).lstrip("-").isdigit():
        rotation = int(legacy) % 360
    if rotation is None:
        warnings.append("display rotation unknown (no frame decoded)")
    swap = rotation in (90, 270)
    rates = (float(r) if r else None for r in (stream.average_rate, stream.base_rate))
    values = (ctx.width, ctx.height, ctx.name, ctx.pix_fmt, ctx.bit_rate or None, *rates,
              stream.frames or None, _is_vfr(scan.pts), len(scan.pts), rotation,
              ctx.height if swap else ctx.width, ctx.width if swap else ctx.height)  # fmt: skip
    return dict(zip(_VIDEO_STREAM_FIELDS, values, strict=True))


def _is_vfr(pts: list[int]) -> bool:
    """True when the intervals between (sorted, distinct) timestamps vary beyond rounding."""
    deltas = [b - a for a, b in pairwise(sorted(set(pts)))]
    if len(deltas) < 2:
        return False
    median = statistics.median(deltas)
    tolerance = max(1.0, VFR_TOLERANCE * median)
    return any(abs(d - median) > tolerance for d in deltas)


def _iso_time(raw: str | None) -> str | None:
    """An ISO 8601 string, offset kept (FFmpeg's "...Z" becomes "+00:00"); unparseable as is."""
    if not raw or not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip()).isoformat()
    except ValueError:
        return _clip(raw)


def _iso6709(raw: str) -> dict[str, JSON] | None:
    match = _ISO6709.fullmatch(raw.strip())
    if not match:
        return None
    lat, lon = _sexagesimal(match[1], 2), _sexagesimal(match[2], 3)
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    out: dict[str, JSON] = {"lat": lat, "lon": lon}
    if match[3]:
        out["alt"] = float(match[3])
    out["raw"] = raw
    return out


def _sexagesimal(text: str, degree_digits: int) -> float | None:
    """ISO 6709 ±DD[D][MM[SS]][.fff] to decimal degrees (fewer degree digits are tolerated)."""
    whole, _, frac = text[1:].partition(".")
    cut = min(len(whole), degree_digits)
    parts = [whole[:cut]] + [whole[i : i + 2] for i in range(cut, len(whole), 2)]
    if len(whole) - cut not in (0, 2, 4) or not whole.isdigit():
        return None
    parts[-1] += f".{frac}" if frac else ""
    value = sum(float(p) / 60.0**i for i, p in enumerate(parts))
    return round(-value if text[0] == "-" else value, 7)


# ---------------------------------------------------------------------------------------- image


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


# ----------------------------------------------------------------------------------------- text


def _probe_text(path: Path) -> Probed:
    try:
        with path.open("rb") as fh:
            head = fh.read(NUL_SCAN)
            md, warnings = _text_fields(path, fh, head)
    except OSError as exc:
        raise ProbeError(f"cannot read the file ({exc.strerror or exc})") from exc
    return Probed("text", md, tuple(warnings))


def _text_fields(path: Path, stream: BinaryIO, head: bytes) -> tuple[dict[str, JSON], list[str]]:
    boms = ((codecs.BOM_UTF8, "utf-8", "utf-8 with BOM"),
            (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le with BOM"),
            (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be with BOM"))  # fmt: skip
    bom, codec, label = next(((b, c, n) for b, c, n in boms if head.startswith(b)), (b"", "utf-8", "utf-8"))
    if b"\x00" in head and not codec.startswith("utf-16"):
        raise ProbeError("not text: binary data (NUL bytes) in the first 8 KiB")
    warnings: list[str] = []
    try:
        chars, lines, prefix = _count_text(stream, len(bom), codec)
    except UnicodeDecodeError as exc:
        if codec.startswith("utf-16"):
            raise ProbeError(
                f"not text: invalid UTF-16 after a UTF-16 byte-order mark ({exc.reason})"
            ) from exc
        warnings.append("text is not valid UTF-8; counted as single-byte characters")
        label = "unknown 8-bit"
        chars, lines, prefix = _count_text(stream, len(bom), "latin-1")
    is_html = path.suffix.lower() in (".html", ".htm") or bool(_HTML_HINT.search(prefix, 0, NUL_SCAN))
    opening = _HTML_TITLE.search(prefix) if is_html else None
    closing = _HTML_TITLE_END.search(prefix, opening.end()) if opening else None
    title = None
    if opening and closing:
        title = " ".join(html.unescape(prefix[opening.end() : closing.start()]).split())
    md: dict[str, JSON] = {
        "format": "HTML" if is_html else "TXT",
        "encoding": label,
        "bytes": stream.seek(0, 2),
        "chars": chars,
        "lines": lines,
        "title": _clip(title) if title else None,
    }
    return md, warnings


def _count_text(fh: BinaryIO, start: int, codec: str) -> tuple[int, int, str]:
    """Characters, lines and the first TITLE_SCAN characters, read in bounded chunks."""
    fh.seek(start)
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    chars = lines = 0
    prefix, last = "", ""
    while True:
        chunk = fh.read(TEXT_CHUNK)
        text = decoder.decode(chunk, final=not chunk)
        chars += len(text)
        lines += text.count("\n")
        if len(prefix) < TITLE_SCAN:
            prefix += text[: TITLE_SCAN - len(prefix)]
        last = text[-1:] or last
        if not chunk:
            break
    return chars, lines + (1 if last and last != "\n" else 0), prefix
