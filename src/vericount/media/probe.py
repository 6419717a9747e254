"""Technical metadata of a stored file (video, image or text report). See docs/metadata.md.

`probe` runs in worker processes: a plain module-level function over picklable arguments. It
reads headers and demuxes packets; it decodes only what a check needs (one video frame for the
display rotation, a reduced or bounded decode of an image to prove its data is complete).

This module is the public API: `probe` dispatches to probe_video, probe_image and probe_text;
shared types and helpers live in _common. Names other modules use are re-exported here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import assert_never
from warnings import catch_warnings, simplefilter

from vericount.media._common import JSON, TAG_VALUE_MAX, Probed, _clean, _clip
from vericount.media.probe_image import _PIL_ERRORS, FULL_DECODE_PIXELS, _probe_image
from vericount.media.probe_text import NUL_SCAN, TEXT_CHUNK, TITLE_SCAN, _probe_text
from vericount.media.probe_video import DECODE_PACKETS, VFR_TOLERANCE, VIDEO_DEMUXERS, _probe_video
from vericount.media.sniff import Kind

__all__ = [
    "DECODE_PACKETS",
    "FULL_DECODE_PIXELS",
    "JSON",
    "NUL_SCAN",
    "TAG_VALUE_MAX",
    "TEXT_CHUNK",
    "TITLE_SCAN",
    "VFR_TOLERANCE",
    "VIDEO_DEMUXERS",
    "_PIL_ERRORS",
    "Probed",
    "_clean",
    "_clip",
    "probe",
]


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
