"""Small generated media for tests: each function writes one file (well under 1 MB, well under a
second) and returns its Path. Shared by the sniff/probe tests and by other test modules."""

from __future__ import annotations

import math
import random
import shutil
import struct
import zlib
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageDraw

# Default video codec and pixel format per container suffix.
VIDEO_DEFAULTS: dict[str, tuple[str, str]] = {
    ".mp4": ("libx264", "yuv420p"),
    ".m4v": ("libx264", "yuv420p"),
    ".mov": ("libx264", "yuv420p"),
    ".mkv": ("libx264", "yuv420p"),
    ".3gp": ("libx264", "yuv420p"),
    ".webm": ("libvpx", "yuv420p"),
    ".avi": ("mpeg4", "yuv420p"),
    ".gif": ("gif", "rgb8"),
}
AUDIO_CODECS = {".webm": "libopus", ".avi": "mp3", ".gif": ""}
# Frame intervals (ms) cycled through by make_video(vfr=True).
VFR_INTERVALS_MS = (50, 150, 100, 30)

IMAGE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".heic": "HEIF",
    ".avif": "AVIF",
}


def pattern(size: tuple[int, int], step: int = 0) -> Image.Image:
    """An RGB test picture: a gradient with a white bar that moves with `step`."""
    width, height = size
    im = Image.new("RGB", size, (20, 40, 90))
    draw = ImageDraw.Draw(im)
    for x in range(0, width, 8):
        draw.rectangle([x, 0, x + 3, height // 4], fill=(x * 255 // max(width, 1), 120, 60))
    bar = (step * 6) % max(width, 1)
    draw.rectangle([bar, height // 4, bar + 5, height - 1], fill=(255, 255, 255))
    draw.ellipse([width // 3, height // 3, width // 3 + 10, height // 3 + 10], fill=(200, 30, 30))
    return im


def make_video(
    path: Path,
    *,
    seconds: float = 1.0,
    size: tuple[int, int] = (64, 48),
    fps: int = 10,
    codec: str | None = None,
    rotation: int | None = None,
    location: str | None = None,
    creation_time: str | datetime | None = None,
    audio: bool = False,
    vfr: bool = False,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write a short video; the container comes from the suffix.

    `rotation` is the clockwise display rotation a player should apply (the convention probe()
    reports), written as a display matrix. `location` is an ISO 6709 string (e.g.
    "+48.8577+002.2950+035.000/"). `vfr=True` writes irregular frame intervals
    (VFR_INTERVALS_MS) instead of 1/fps. `tags` are extra container tags (any key; MP4/MOV keep
    them as QuickTime metadata keys, e.g. "com.apple.quicktime.make").
    """
    suffix = path.suffix.lower()
    default_codec, pix_fmt = VIDEO_DEFAULTS[suffix]
    codec = codec or default_codec
    n_frames = max(1, round(seconds * fps))
    options = {"movflags": "use_metadata_tags"} if tags and suffix in (".mp4", ".mov") else None
    with av.open(str(path), "w", options=options) as container:
        container.metadata.update(tags or {})
        if location is not None:
            container.metadata["location"] = location
        if creation_time is not None:
            stamp = creation_time
            if isinstance(stamp, datetime):
                stamp = stamp.isoformat().replace("+00:00", "Z")
            container.metadata["creation_time"] = stamp
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        if vfr:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            # PyAV's set_display_rotation takes counter-clockwise degrees.
            stream.set_display_rotation(-rotation)
        audio_stream = _add_audio(container, suffix) if audio else None
        pts = 0
        for i in range(n_frames):
            frame = av.VideoFrame.from_image(pattern(size, i))
            if vfr:
                frame.pts, frame.time_base = pts, Fraction(1, 1000)
                pts += VFR_INTERVALS_MS[i % len(VFR_INTERVALS_MS)]
            else:
                frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if audio_stream is not None:
            _write_tone(container, audio_stream, seconds)
    return path


def _add_audio(container: Any, suffix: str) -> Any:
    codec = AUDIO_CODECS.get(suffix, "aac")
    if not codec:
        raise ValueError(f"no audio in {suffix} files")
    stream = container.add_stream(codec, rate=16000 if codec != "mp3" else 22050)
    stream.layout = "mono"
    return stream


def _write_tone(container: Any, stream: Any, seconds: float) -> None:
    """A 440 Hz tone, written sample by sample without numpy."""
    rate = stream.codec_context.sample_rate
    fmt = stream.codec_context.format.name
    frame_size = stream.codec_context.frame_size or 1024
    total = int(seconds * rate)
    for start in range(0, total, frame_size):
        values = [0.2 * math.sin(2 * math.pi * 440 * (start + k) / rate) for k in range(frame_size)]
        if fmt.startswith("s16"):
            data = struct.pack(f"<{frame_size}h", *(int(v * 32767) for v in values))
        elif fmt.startswith("s32"):
            data = struct.pack(f"<{frame_size}i", *(int(v * 2**31 - 1) for v in values))
        else:
            data = struct.pack(f"<{frame_size}f", *values)
        frame = av.AudioFrame(format=fmt, layout="mono", samples=frame_size)
        frame.planes[0].update(data)
        frame.sample_rate = rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An .mp4 (or .m4a) holding a single AAC stream."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        _write_tone(container, stream, seconds)
    return path


def _rational(value: float) -> Fraction:
    return Fraction(value).limit_denominator(1_000_000)


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return Fraction(degrees), Fraction(minutes), _rational(seconds)


def build_exif(exif: dict[str, Any]) -> Image.Exif:
    """An Image.Exif from friendly keys: make, model, software, lens_model, orientation,
    datetime_original, offset_time_original, datetime_digitized, offset_time_digitized,
    gps=(lat, lon[, alt]), gps_timestamp=("YYYY:MM:DD", (h, m, s))."""
    out = Image.Exif()
    for key, tag in (("make", 271), ("model", 272), ("software", 305), ("orientation", 274)):
        if key in exif:
            out[tag] = exif[key]
    sub = out.get_ifd(0x8769)
    for key, tag in (
        ("datetime_original", 36867),
        ("datetime_digitized", 36868),
        ("offset_time_original", 36881),
        ("offset_time_digitized", 36882),
        ("lens_model", 42036),
    ):
        if key in exif:
            sub[tag] = exif[key]
    if "gps" in exif:
        lat, lon, *rest = exif["gps"]
        gps = out.get_ifd(0x8825)
        gps[0] = b"\x02\x03\x00\x00"
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(lat)
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(lon)
        if rest:
            gps[5], gps[6] = (b"\x00" if rest[0] >= 0 else b"\x01"), _rational(abs(rest[0]))
        if "gps_timestamp" in exif:
            date, (hour, minute, second) = exif["gps_timestamp"]
            gps[29], gps[7] = date, (Fraction(hour), Fraction(minute), _rational(second))
    return out


def make_image(
    path: Path,
    *,
    size: tuple[int, int] = (64, 48),
    exif: dict[str, Any] | None = None,
    mode: str = "RGB",
) -> Path:
    """A still image; format from the suffix. `mode` "RGB", "RGBA", "L", "CMYK" (JPEG/TIFF),
    "I;16" (16-bit grayscale PNG) or "RGB;16" (16-bit-per-channel RGB PNG, written by hand)."""
    fmt = IMAGE_FORMATS[path.suffix.lower()]
    if mode == "RGB;16":
        return _write_png16_rgb(path, size)
    im = pattern(size)
    if mode == "RGBA":
        im.putalpha(Image.linear_gradient("L").resize(size))
    elif mode == "I;16":
        im = im.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    elif mode != "RGB":
        im = im.convert(mode)
    kwargs: dict[str, Any] = {}
    if exif:
        kwargs["exif"] = build_exif(exif).tobytes()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
        kwargs["quality"] = 50
    im.save(path, format=fmt, **kwargs)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_png16_rgb(path: Path, size: tuple[int, int]) -> Path:
    width, height = size
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += struct.pack(">HHH", x * 65535 // width, y * 65535 // height, 30000)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows)))
        + _png_chunk(b"IEND", b"")
    )
    return path


def make_animated_gif(path: Path, frames: int = 5, duration_ms: int = 100) -> Path:
    """An animated GIF of `frames` frames, `duration_ms` each (a single frame if frames == 1)."""
    images = [pattern((64, 48), i).convert("P", palette=Image.Palette.ADAPTIVE) for i in range(frames)]
    images[0].save(
        path, format="GIF", save_all=frames > 1, append_images=images[1:], duration=duration_ms,
        loop=0,
    )  # fmt: skip
    return path


def make_bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A valid-looking PNG whose IHDR declares width x height RGB pixels, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )
    return path


def truncate(path: Path, keep_fraction: float = 0.5) -> Path:
    """Copy `path` to `<stem>-truncated<suffix>` keeping the first `keep_fraction` of its bytes."""
    out = path.with_name(f"{path.stem}-truncated{path.suffix}")
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * keep_fraction)])
    return out


def copy_as(path: Path, name: str) -> Path:
    """Copy `path` next to itself under another name (e.g. to give it a misleading extension)."""
    out = path.with_name(name)
    shutil.copyfile(path, out)
    return out


def random_bytes(path: Path, n: int = 4096, seed: int = 1234) -> Path:
    """`n` deterministic pseudo-random bytes (they start with no known magic)."""
    data = random.Random(seed).randbytes(n)
    path.write_bytes(b"\x00\x13\x37\x42" + data[4:])
    return path


def make_clip_from(
    src: Path,
    dst: Path,
    *,
    start: float = 0.0,
    end: float | None = None,
    transform: Any = None,
    size: tuple[int, int] | None = None,
    fps: int = 10,
) -> Path:
    """Re-encode part of a video (seconds start..end from its first frame) as H.264 .mp4 at `fps`, each
    frame passed through `transform` (a PIL.Image -> PIL.Image function) and resized to `size` if given."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as out:
        stream = None
        count, next_t, origin = 0, start, None
        for frame in source.decode(video=0):
            origin = float(frame.time or 0.0) if origin is None else origin
            t = float(frame.time or 0.0) - origin
            if t < next_t - 1e-6 or (end is not None and t > end):
                continue
            next_t += 1 / fps
            image = frame.to_image()
            if transform is not None:
                image = transform(image)
            if size is not None:
                image = image.resize(size)
            image = image.crop((0, 0, image.width - image.width % 2, image.height - image.height % 2))
            if stream is None:
                stream = out.add_stream("libx264", rate=fps)
                stream.width, stream.height, stream.pix_fmt = image.width, image.height, "yuv420p"
            new = av.VideoFrame.from_image(image.convert("RGB"))
            new.pts = count
            count += 1
            out.mux(stream.encode(new))
        if stream is not None:
            out.mux(stream.encode())
    return dst


def make_two_shot_video(path: Path, seconds: float = 2.0, fps: int = 10) -> Path:
    """A clip that cuts from a dark scene to a bright one halfway through."""
    size = (96, 64)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        n = round(seconds * fps)
        for i in range(n):
            im = pattern(size, i)
            if i >= n // 2:
                im = Image.eval(im, lambda v: 255 - v)
            frame = av.VideoFrame.from_image(im)
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def make_black_video(path: Path, seconds: float = 1.0, size: tuple[int, int] = (64, 48),
                     fps: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_image(Image.new("RGB", size))
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def make_many_frame_gif(path: Path, frames: int = 1000, size: tuple[int, int] = (160, 120),
                        delay_cs: int = 1) -> Path:
    """An animated GIF of `frames` frames that each change one pixel of a `size` canvas (about 23 bytes
    a frame: a small file that decodes into a very long animation). Written by hand, in well under a second
    for 100,000 frames; a delay under 2 centiseconds plays (in FFmpeg and browsers) as 10."""
    width, height = size
    palette = bytes([0, 0, 0, 255, 255, 255, 200, 30, 30, 30, 30, 200])
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0xF1, 0, 0) + palette)
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for i in range(frames):
        x, y, colour = (i * 7) % width, (i * 13) % height, 1 + i % 3
        out += b"\x21\xf9\x04\x04" + struct.pack("<H", delay_cs) + b"\x00\x00"  # keep the canvas
        out += b"\x2c" + struct.pack("<HHHHB", x, y, 1, 1, 0)
        codes = 4 | (colour << 3) | (5 << 6)  # clear, the pixel, end: 3-bit LZW codes, LSB first
        out += b"\x02\x02" + struct.pack("<H", codes) + b"\x00"
    out += b"\x3b"
    path.write_bytes(bytes(out))
    return path
