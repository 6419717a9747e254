"""Frames of a stored item, decoded once and streamed: the sampler the reposts and people stages share.

A video (an animated GIF is one) is decoded frame by frame with PyAV; nothing but the current frame, the
previous frame's small luma signature and the last frame are held, so memory does not grow with length.
Frames come out upright (display rotation applied), as RGB arrays whose longest side is at most
``max_side``, at ``fps`` frames per second plus the first frame, the first frame of every shot and the
last frame. An image is a one-frame item (EXIF orientation applied).

Each item has a budget: a small file can hold a very long animation (100,000 one-pixel GIF frames fit in
2.3 MB and play for 16:40), so decoding stops after ``max_frames`` decoded frames or ``max_decode_seconds``
spent decoding and converting (the sampler's own time, not the stage's work on the frames it yields). The
last frame decoded is still yielded, and a note (``SampleStats.budget``, also in ``warnings``) says how far
it got: "sampled only the first 8:20 of 16:40 (50,000 frames decoded): the per-item budget of 50,000
decoded frames".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.errors import DecodeError

if TYPE_CHECKING:
    from numpy.typing import NDArray

MAX_IMAGE_PIXELS = 250_000_000
MAX_VIDEO_PIXELS = 8192 * 8192  # 8K is 7680 x 4320; refuse what no real camera writes
# The budget an item gets (see the module's docstring): 50,000 frames are 27:46 of 30 fps video, 13:53 of
# 60 fps, 8:20 of a 100 fps GIF (32 s in reposts, 166 s in people, against 178 s and 517 s for all 100,000).
# 300 s is more than 50,000 frames of 1080p H.264 take (3-4.4 ms a decoded frame, measured on a loaded
# 2-core machine: 150-220 s); 4K, about four times slower, meets it first, near 11 minutes of 30 fps.
MAX_FRAMES = 50_000
MAX_DECODE_SECONDS = 300.0
_YUV_PLANAR = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12",
                         "nv21", "yuv420p10le", "gray", "yuv411p", "yuv410p"})  # fmt: skip
_GRID = (9, 16)  # rows, columns of the shot-change signature
# 8-bit formats whose first plane is the luma, for grey frames read straight from it
_LUMA_8BIT = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21",
                        "gray", "yuv411p", "yuv410p"})  # fmt: skip
# limited-range luma (16-235) to full range (0-255), as swscale's grey conversion does
_FULL_RANGE = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Frame:
    t: float  # seconds from the start of the item (0 for an image)
    index: int  # number of the decoded frame, from 0
    reason: str  # first | rate | shot | last | image
    image: NDArray[np.uint8]  # height x width x 3, RGB, upright (height x width with Sampler.grey)


@dataclass
class SampleStats:
    """What decoding an item found, filled in as frames are yielded."""

    decoded: int = 0
    duration: float = 0.0
    shots: list[float] = field(default_factory=list)  # start time of every shot after the first
    warnings: list[str] = field(default_factory=list)
    budget: str | None = None  # the note when the item's budget stopped decoding early


@dataclass(frozen=True)
class Sampler:
    fps: float = 1.0
    max_side: int = 512
    # A shot starts where the mean absolute luma change (0-255) of a 9 x 16 grid of block means exceeds
    # shot_threshold and is shot_ratio times the recent average change (so steady motion is no cut).
    shot_threshold: float = 14.0
    shot_ratio: float = 3.0
    min_shot_seconds: float = 0.5
    threads: int = 1  # decoder threads per item (items run in parallel already)
    # Skip H.264/HEVC deblocking while decoding: 20-35% faster; measured effect on PDQ at most 2 bits of 256.
    skip_loop_filter: bool = True
    # Do not decode non-reference frames (B-frames) that lie away from every sampling time: the sampled
    # frames are the same as with a full decode, at a fraction of the work when a codec uses B-frames.
    skip_unneeded: bool = True
    # Only the first frame at or after this time (the last frame if the video is shorter), and nothing
    # else is converted: what a reviewer's mark at a paused time needs.
    at: float | None = None
    # Frames as grey (H x W) instead of RGB: what only looks at luma (the repost fingerprints) saves the
    # conversion of the chroma planes.
    grey: bool = False
    # The item's budget: decoded frames, and seconds spent decoding and converting them.
    max_frames: int = MAX_FRAMES
    max_decode_seconds: float = MAX_DECODE_SECONDS

    def params(self) -> dict[str, Any]:
        return {"fps": self.fps, "max_side": self.max_side, "shot_threshold": self.shot_threshold,
                "shot_ratio": self.shot_ratio, "min_shot_seconds": self.min_shot_seconds,
                "skip_loop_filter": self.skip_loop_filter, "skip_unneeded": self.skip_unneeded,
                "max_frames": self.max_frames, "grey": self.grey,
                "max_decode_seconds": self.max_decode_seconds}  # fmt: skip

    def frames(self, path: Path, kind: str, stats: SampleStats | None = None) -> Iterator[Frame]:
        """Yield the sampled frames of the file; raise DecodeError when not one frame decodes."""
        stats = stats if stats is not None else SampleStats()
        if kind == "image":
            yield from self._image(path, stats)
        elif kind == "video":
            yield from self._video(path, stats)
        else:
            raise DecodeError(f"{path.name}: a {kind} item has no frames")

    # -- images -------------------------------------------------------------------------------------

    def _image(self, path: Path, stats: SampleStats) -> Iterator[Frame]:
        from PIL import Image, ImageFile, ImageOps

        from vericount.media.probe_image import _PIL_ERRORS, _register_heif

        _register_heif()
        saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = None, False
        try:
            with Image.open(path) as im:
                if im.width * im.height > MAX_IMAGE_PIXELS:
                    raise DecodeError(f"{path.name}: {im.width} x {im.height} pixels is over the "
                                      f"{MAX_IMAGE_PIXELS / 1e6:g}-megapixel safety limit")
                im.draft("RGB", (self.max_side, self.max_side))  # JPEG: decode at a reduced scale
                upright = ImageOps.exif_transpose(im) or im
                rgb = _to_rgb(upright)
                rgb.thumbnail((self.max_side, self.max_side), Image.Resampling.BILINEAR)
                array = np.asarray(rgb.convert("L") if self.grey else rgb, dtype=np.uint8)
        except DecodeError:
            raise
        except _PIL_ERRORS as exc:
            raise DecodeError(f"{path.name}: image does not decode ({_first_line(exc)})") from exc
        finally:
            Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved
        stats.decoded = 1
        yield Frame(0.0, 0, "image", array)

    # -- videos -------------------------------------------------------------------------------------

    def _video(self, path: Path, stats: SampleStats) -> Iterator[Frame]:
        import av

        try:
            container = av.open(str(path), metadata_errors="ignore")
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise DecodeError(f"{path.name}: cannot open as video ({_first_line(exc)})") from exc
        with container:
            if not container.streams.video:
                raise DecodeError(f"{path.name}: no video stream (audio only?)")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if ctx.width * ctx.height > MAX_VIDEO_PIXELS:
                raise DecodeError(f"{path.name}: {ctx.width} x {ctx.height} video is over the "
                                  f"{MAX_VIDEO_PIXELS / 1e6:g}-megapixel safety limit")
            if self.threads > 1:
                stream.thread_type, ctx.thread_count = "AUTO", self.threads
            if self.skip_loop_filter:
                ctx.options = {"skip_loop_filter": "all"}
            origin = float(stream.start_time * stream.time_base) \
                if stream.start_time is not None and stream.time_base else 0.0
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            sar = stream.sample_aspect_ratio
            if self.at is not None:
                yield from self._first_at(self.at, container, stream, origin, rate, sar, stats)
            else:
                yield from self._decode(container, stream, origin, rate, sar, path, stats)
                if stats.budget is not None:
                    stats.budget = stats.budget.format(total=_of_total(container, stream))
                    stats.warnings.append(stats.budget)
        if stats.decoded == 0:
            raise DecodeError(f"{path.name}: no frame could be decoded")

    def _decode(self, container: Any, stream: Any, origin: float, rate: float, sar: Fraction | None,
                path: Path, stats: SampleStats) -> Iterator[Frame]:
        import av

        step = 1.0 / self.fps if self.fps > 0 else float("inf")
        next_t, last_shot = 0.0, 0.0
        previous: NDArray[np.float32] | None = None
        # running average of the change between frames, kept apart for consecutive frames and for frames
        # with skipped ones between them (a longer gap changes more)
        motion = [0.0, 0.0]
        seen = [False, False]
        previous_t = 0.0
        held: tuple[Any, float, int] | None = None  # the last decoded frame, yielded at the end
        emitted = -1
        decoding = _Clock()
        # One converter for the item: a frame's own to_ndarray() sets up a new swscale context each time
        # (0.5 ms, most of the cost of a 100,000-frame GIF, whose frames are bgra, not planar YUV).
        reformatter = av.video.reformatter.VideoReformatter()
        for index, frame in _until_error(self._decoded(container, stream, origin, rate, step), stats):
            t = float(frame.time) - origin if frame.time is not None else index / rate
            t = max(t, 0.0)
            signature = _signature(frame, reformatter)
            change = float(np.abs(signature - previous).mean()) if previous is not None else 0.0
            gap = 0 if t - previous_t <= 1.5 / rate else 1
            reason = None
            if index == 0:
                reason = "first"
            elif seen[gap] and change > self.shot_threshold * (1 + gap) \
                    and change > self.shot_ratio * (1 + gap) * motion[gap] \
                    and t - last_shot >= self.min_shot_seconds:
                reason, last_shot = "shot", t
                stats.shots.append(round(t, 3))
            elif t + 1e-6 >= next_t:
                reason = "rate"
            if index > 0 and reason != "shot":
                motion[gap] = 0.8 * motion[gap] + 0.2 * change if seen[gap] else change
                seen[gap] = True
            previous, previous_t = signature, t
            if reason is not None:
                while next_t <= t + 1e-6:
                    next_t += step
                emitted = index
                sampled = Frame(t, index, reason, self._rgb(frame, sar))
                with decoding.paused():  # the consumer's work on the frame is not decoding
                    yield sampled
            held = (frame, t, index)
            stats.decoded = index + 1
            stats.duration = max(stats.duration, t + 1.0 / rate)
            if stats.decoded >= self.max_frames or decoding.seconds() >= self.max_decode_seconds:
                stats.budget = self._budget_note(stats)
                break
        if held is not None and held[2] != emitted:
            frame, t, index = held
            yield Frame(t, index, "last", self._rgb(frame, sar))

    def _budget_note(self, stats: SampleStats) -> str:
        """The note, with ``{total}`` left for the caller (who knows the container's duration)."""
        limit = (f"{self.max_frames:,} decoded frames" if stats.decoded >= self.max_frames
                 else f"{self.max_decode_seconds:g} s of decoding")
        return (f"sampled only the first {clock(stats.duration)}{{total}} ({stats.decoded:,} frames "
                f"decoded): the per-item budget of {limit}")

    def _first_at(self, at: float, container: Any, stream: Any, origin: float, rate: float,
                  sar: Fraction | None, stats: SampleStats) -> Iterator[Frame]:
        import av

        held: tuple[Any, float, int] | None = None
        try:
            for index, frame in enumerate(self._decoded(container, stream, origin, rate, float("inf"))):
                t = max(float(frame.time) - origin if frame.time is not None else index / rate, 0.0)
                held, stats.decoded = (frame, t, index), index + 1
                if t + 1e-3 >= at:
                    break
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            stats.warnings.append(f"decoding stopped after {stats.decoded} frames: {_first_line(exc)}")
        if held is not None:
            frame, t, index = held
            yield Frame(t, index, "at", self._rgb(frame, sar))

    def _decoded(self, container: Any, stream: Any, origin: float, rate: float, step: float) -> Iterator[Any]:
        """Decoded frames; non-reference frames more than 1.5 frame intervals from a sampling time are
        skipped by the decoder (only frames that are sampled, or needed to decode those, are decoded)."""
        ctx, base = stream.codec_context, stream.time_base
        # only where packets carry real presentation times (not AVI's packed B-frames)
        skip = self.skip_unneeded and step != float("inf") and base is not None \
            and container.format.name.split(",")[0] in ("mov", "matroska")
        window = 1.5 / rate
        for packet in container.demux(stream):
            if skip:
                wanted = True
                if packet.pts is not None and packet.size:
                    t = float(packet.pts * base) - origin
                    phase = t % step
                    wanted = t < window or min(phase, step - phase) <= window
                ctx.skip_frame = "DEFAULT" if wanted else "NONREF"
            yield from packet.decode()

    def _rgb(self, frame: Any, sar: Fraction | None) -> NDArray[np.uint8]:
        # swscale's bilinear widens its filter when shrinking (no aliasing), at a third of the cost of AREA
        width, height = frame.width, frame.height
        display_width = width * float(sar) if sar and sar > 0 else float(width)
        scale = min(1.0, self.max_side / max(display_width, height))
        out_w, out_h = max(2, round(display_width * scale)), max(2, round(height * scale))
        array: NDArray[np.uint8]
        if self.grey and frame.format.name in _LUMA_8BIT:
            array = _luma(frame, out_w, out_h)
        else:
            array = frame.to_ndarray(format="gray" if self.grey else "rgb24", width=out_w, height=out_h,
                                     interpolation="BILINEAR")
        turns = (-(frame.rotation or 0)) % 360 // 90  # clockwise quarter turns that make it upright
        return np.ascontiguousarray(np.rot90(array, k=-turns)) if turns else array


class _Clock:
    """Seconds spent in the sampler, leaving out the time its consumer holds a yielded frame."""

    def __init__(self) -> None:
        self.spent, self.since = 0.0, time.perf_counter()

    def seconds(self) -> float:
        return self.spent + time.perf_counter() - self.since

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.spent += time.perf_counter() - self.since
        try:
            yield
        finally:
            self.since = time.perf_counter()


def _until_error(decoder: Iterator[Any], stats: SampleStats) -> Iterator[tuple[int, Any]]:
    """Numbered decoded frames; a decoder error ends them with a warning (what was decoded counts)."""
    import av

    index = -1
    while True:
        try:
            frame = next(decoder)
        except StopIteration:
            return
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            stats.warnings.append(f"decoding stopped after {index + 1} frames: {_first_line(exc)}")
            return
        index += 1
        yield index, frame


def clock(seconds: float) -> str:
    """Seconds into a video as a clock: ``1:05``, or ``1:30:00`` past an hour."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _of_total(container: Any, stream: Any) -> str:
    """" of 16:40" when the file says how long it is, else nothing."""
    if stream.duration is not None and stream.time_base:
        total = float(stream.duration * stream.time_base)
    elif container.duration:
        total = container.duration / 1_000_000
    else:
        return ""
    return f" of {clock(total)}"


def _luma(frame: Any, width: int, height: int) -> NDArray[np.uint8]:
    """The frame's luma plane scaled to ``width`` x ``height`` by area averaging, in full range: 40% of
    the cost of swscale's grey conversion of a 1080p frame (1.0 ms against 1.8), no aliasing."""
    import cv2

    luma = _y_plane(frame)
    out = cv2.resize(luma, (width, height), interpolation=cv2.INTER_AREA) \
        if (width, height) != luma.shape[::-1] else luma.copy()
    if frame.format.name not in ("yuvj420p", "yuvj422p", "yuvj444p", "gray") and frame.color_range != 2:
        out = cv2.LUT(out, _FULL_RANGE)  # 2: AVCOL_RANGE_JPEG, already full
    return np.asarray(out, np.uint8)


def _y_plane(frame: Any) -> NDArray[np.uint8]:
    """A view of the luma plane of a planar YUV or grey frame (of yuv420p10le, its high bytes)."""
    plane = frame.planes[0]
    deep = frame.format.name == "yuv420p10le"
    luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width * (1 + deep)]
    return luma[:, 1::2] if deep else luma


def _signature(frame: Any, reformatter: Any = None) -> NDArray[np.float32]:
    """Mean luma over a coarse grid: cheap (a strided view of the Y plane) and blind to small motion."""
    rows, cols = _GRID
    if frame.format.name in _YUV_PLANAR:
        luma = _y_plane(frame)
    else:
        size = {"format": "gray", "width": cols * 8, "height": rows * 8}
        luma = (reformatter.reformat(frame, **size) if reformatter is not None
                else frame.reformat(**size)).to_ndarray()
    h, w = luma.shape
    sy, sx = max(1, h // (rows * 8)), max(1, w // (cols * 8))
    sub = luma[::sy, ::sx]
    h2, w2 = (sub.shape[0] // rows) * rows, (sub.shape[1] // cols) * cols
    if h2 == 0 or w2 == 0:
        return np.zeros(_GRID, np.float32)
    grid: NDArray[np.float32] = sub[:h2, :w2].reshape(rows, h2 // rows, cols, w2 // cols).mean(
        axis=(1, 3), dtype=np.float32)
    return grid


def _to_rgb(image: Any) -> Any:
    """8-bit RGB; 16-bit and 32-bit grey are scaled down, not clipped (Pillow's convert clips them white)."""
    from PIL import Image

    if image.mode.startswith("I;16"):
        return Image.fromarray((np.asarray(image, np.uint16) >> 8).astype(np.uint8)).convert("RGB")
    if image.mode in ("I", "F"):
        values = np.asarray(image, np.float64)
        top = float(values.max()) if values.size else 0.0
        scaled = (values * (255.0 / top)).clip(0, 255) if top > 0 else np.zeros_like(values)
        return Image.fromarray(scaled.astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
