"""Technical metadata of a stored video (or animated GIF), via PyAV. See docs/metadata.md.

It reads headers and demuxes packets; it decodes one video frame at most, for the display
rotation. Also: ISO 6709 locations, creation times and variable-frame-rate detection.
"""

from __future__ import annotations

import re
import statistics
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, cast

from vericount.errors import ProbeError
from vericount.media._common import JSON, _clean, _clip

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.codeccontext import VideoCodecContext
    from av.video.stream import VideoStream

DECODE_PACKETS = 64  # video packets fed to the decoder, at most, to get the first frame
VFR_TOLERANCE = 0.05  # relative spread of frame intervals still called constant
VIDEO_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,gif,mpegts,mpeg,flv,asf,h264,hevc"

_ISO6709 = re.compile(r"([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)([+-](?:\d+(?:\.\d*)?|\.\d+))?(?:CRS[^/]*)?/?")
_FFMPEG_OPTIONS = {"format_whitelist": VIDEO_DEMUXERS, "protocol_whitelist": "file"}
_VIDEO_STREAM_FIELDS = ("width", "height", "codec", "pixel_format", "bit_rate", "frame_rate",
                        "frame_rate_nominal", "frame_count", "variable_frame_rate", "frames_checked",
                        "rotation", "display_width", "display_height")  # fmt: skip


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
