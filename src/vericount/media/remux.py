"""Join a video stream and an audio stream, served apart (DASH, HLS with a separate audio rendition), into
one file without re-encoding: their packets, interleaved by time, in MP4 when the codecs allow it and in
Matroska otherwise. The same inputs give the same bytes (no creation time is written), so capturing the
same post again gives the same item.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vericount.errors import InvalidValue

MP4_VIDEO = {"h264", "hevc", "av1", "mpeg4"}
MP4_AUDIO = {"aac", "mp3", "alac"}


def join_streams(video: Path, audio: Path, out_stem: Path) -> Path:
    """``out_stem`` + ".mp4" or ".mkv": the first video stream of ``video`` and the first audio stream of
    ``audio``, packets copied as they are. InvalidValue (one line) when either cannot be read."""
    import av

    try:
        with av.open(str(video)) as vin, av.open(str(audio)) as ain:
            if not vin.streams.video or not ain.streams.audio:
                raise InvalidValue(f"{video.name} has no video stream or {audio.name} no audio stream")
            vs, aus = vin.streams.video[0], ain.streams.audio[0]
            mp4 = vs.codec_context.name in MP4_VIDEO and aus.codec_context.name in MP4_AUDIO
            out = out_stem.with_name(out_stem.name + (".mp4" if mp4 else ".mkv"))
            partial = out.with_name(out.name + ".partial")
            with av.open(str(partial), "w", format="mp4" if mp4 else "matroska",
                         container_options={"fflags": "+bitexact"}) as muxer:
                streams = {vs: muxer.add_stream_from_template(vs), aus: muxer.add_stream_from_template(aus)}
                for packet in heapq.merge(_timed(vin.demux(vs)), _timed(ain.demux(aus)),
                                          key=lambda p: float(p.dts * p.time_base)):
                    packet.stream = streams[packet.stream]
                    muxer.mux(packet)
    except av.FFmpegError as exc:
        raise InvalidValue(f"cannot join {video.name} and {audio.name}: {exc}") from None
    partial.replace(out)
    return out


def _timed(packets: Iterator[Any]) -> Iterator[Any]:
    """The packets that carry data (the demuxer's final empty packets dropped), in demux order."""
    for p in packets:
        if p.dts is not None and p.size:
            yield p
