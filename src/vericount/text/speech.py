"""The ``speech`` stage: what is said in a clip, as lines with their time, detected language and
confidence, transcribed by Whisper base (multilingual, MIT) through faster-whisper (whisper.py).

The audio of the first audio stream is decoded with PyAV, resampled to 16 kHz mono float32 and handed on
in pieces of about ``CHUNK_SECONDS`` (cut at the quietest 50 ms of the piece's last ``CUT_WINDOW``
seconds, so a word is rarely cut in two): a 2-hour file is never held in memory at once. Each piece is
transcribed on its own (int8, ``BEAM_SIZE``, Silero voice activity detection first, so silence and music
without speech cost almost nothing), with its own language detection (on its first 30 s of speech), so
a clip that changes language between pieces gets each piece's language; ``languages`` narrows what may be
detected (``--languages ru,uk,en``) or names the language (``--languages ru``). Only the first
``MAX_MINUTES`` are transcribed; the rest is named in a note. Lines where the decoder repeated itself (a
known Whisper failure on noise) are left out and counted in a note.

A clip without an audio stream is done at once, with no lines and no model loaded. Silence gives no lines.
An audio stream that does not decode (more than half its packets fail) fails that item in one line; a
few bad packets are skipped and named in a note. Without the ``speech`` extra every clip with audio fails
with one line saying so.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.claims.said import Found, claims_in_speech, replace_claims
from vericount.errors import DecodeError
from vericount.media.frames import clock
from vericount.run.stage import Stage, Task
from vericount.text import whisper
from vericount.text.lines import Line, replace_lines

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy.orm import Session

    from vericount.store.schema import Item

RATE = 16_000
CHUNK_SECONDS = 300.0
CUT_WINDOW = 10.0  # seconds at the end of a piece searched for the quietest place to cut
MAX_MINUTES = 120.0
BEAM_SIZE = 2
# no sampled fallback (Whisper's own is 0.2, 0.4 ... 1.0): CTranslate2's sampling cannot be seeded per
# clip, so a fallback would make a second run give other lines; without it a clip always gives the same
# lines, faster. What a fallback mends, a decode that repeats itself, is left out instead (below).
TEMPERATURES = (0.0,)
# a line whose text compresses more than this (zlib) is the decoder repeating itself, Whisper's own test
# (its compression_ratio_threshold, on a line here): it is left out, and counted in a note
COMPRESSION_LIMIT = 2.4
BAD_SHARE = 0.5  # an audio stream with more than this share of packets that fail to decode is corrupt


@dataclass
class SpeechResult:
    lines: list[Line] = field(default_factory=list)
    audio: bool = False  # the clip has an audio stream
    seconds: float = 0.0  # of audio transcribed
    languages: list[str] = field(default_factory=list)  # the language of each piece, as detected or given
    looped: int = 0  # stretches dropped: the decoder repeated itself
    notes: list[str] = field(default_factory=list)
    claims: Found = field(default_factory=list)  # the quantitative claims said (claims/said.py)


@dataclass
class _Decoded:
    packets: int = 0
    bad: int = 0
    first_error: str = ""
    cut_short: str = ""
    seconds: float = 0.0
    truncated_at: float | None = None  # MAX_MINUTES reached


class SpeechStage(Stage[SpeechResult]):
    name = "speech"
    version = "2"  # 2: the claims said are read too

    def __init__(
        self, max_minutes: float = MAX_MINUTES, beam_size: int = BEAM_SIZE, languages: tuple[str, ...] = ()
    ) -> None:
        self.max_minutes = max_minutes
        self.beam_size = beam_size
        self.languages = languages  # () for any language Whisper knows

    def params(self) -> dict[str, Any]:
        return {
            "model": whisper.MODEL_NAME,
            "sha256": whisper.MODEL_SHA256,
            "beam_size": self.beam_size,
            "temperatures": TEMPERATURES,
            "compression_limit": COMPRESSION_LIMIT,
            "vad": True,
            "condition_on_previous_text": False,
            "chunk_seconds": CHUNK_SECONDS,
            "max_minutes": self.max_minutes,
            "languages": list(self.languages),
        }

    def accepts(self, item: Item) -> bool:
        # every video, even one whose metadata says it has no audio: it is then done at once, no lines
        return item.kind == "video"

    def compute(self, task: Task) -> SpeechResult:
        import av

        out = SpeechResult()
        try:
            container = av.open(
                f"file:{task.path.resolve()}",
                metadata_errors="ignore",
                options={"protocol_whitelist": "file"},
            )
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise DecodeError(f"cannot open for its audio ({_first_line(exc)})") from exc
        with container:
            if not container.streams.audio:
                return out  # nothing said: done, no model loaded
            out.audio = True
            if not whisper.installed():
                raise whisper.NotInstalled(whisper.NOT_INSTALLED)
            state = _Decoded()
            model: Any = None
            for offset, samples in _pieces(container, self.max_minutes * 60, state):
                if model is None:
                    model = whisper.load()
                out.languages.append(self._transcribe(model, samples, offset, out))
            out.seconds = state.seconds
        if state.packets and state.bad > state.packets * BAD_SHARE:
            raise DecodeError(
                f"the audio stream does not decode ({state.bad} of "
                f"{state.packets} packets bad: {state.first_error})"
            )
        if state.bad:
            out.notes.append(
                f"{state.bad} of {state.packets} audio packets did not decode and were "
                f"skipped ({state.first_error})"
            )
        if out.looped:
            out.notes.append(
                f"{out.looped} stretch(es) of speech left out: Whisper repeated itself there "
                "(a decoding failure, not what was said)"
            )
        if state.cut_short:
            out.notes.append(f"the audio stops at {clock(state.seconds)}: {state.cut_short}")
        if state.truncated_at is not None:
            out.notes.append(
                f"only the first {self.max_minutes:g} minutes were transcribed "
                f"(the audio goes on past {clock(state.truncated_at)})"
            )
        out.claims = claims_in_speech([(line.text, line.start) for line in out.lines])
        return out

    def _transcribe(self, model: Any, samples: NDArray[np.float32], offset: float, out: SpeechResult) -> str:
        """Add the lines said in one piece to ``out``; return the piece's language."""

        def run(language: str | None) -> Any:
            return model.transcribe(
                samples,
                language=language,
                beam_size=self.beam_size,
                temperature=list(TEMPERATURES),
                vad_filter=True,
                condition_on_previous_text=False,
            )

        # transcribe() detects the language at once and decodes lazily, when its segments are read: a
        # language outside the ones asked for costs a second detection pass, not a decode
        segments, info = run(self.languages[0] if len(self.languages) == 1 else None)
        if len(self.languages) > 1 and info.language not in self.languages:
            probs = dict(info.all_language_probs or [])
            segments, info = run(max(self.languages, key=lambda lang: probs.get(lang, 0.0)))
        end_of_piece = offset + len(samples) / RATE
        for seg in segments:  # a generator: the decoding happens here
            text = seg.text.strip()
            if not text:
                continue
            if _compression(text) > COMPRESSION_LIMIT:  # a loop, not speech: left out
                out.looped += 1
                continue
            # exp(avg_logprob) is the geometric mean of the probabilities the decoder gave its tokens:
            # 1 when sure; under 0.37 (avg_logprob < -1) where Whisper itself counts a decode as failed
            confidence = min(1.0, max(0.0, math.exp(seg.avg_logprob)))
            out.lines.append(
                Line(
                    text,
                    round(min(offset + seg.start, end_of_piece), 2),
                    round(min(offset + seg.end, end_of_piece), 2),
                    round(confidence, 3),
                    info.language,
                )
            )
        return str(info.language)

    def save(self, session: Session, item: Item, result: SpeechResult) -> str | None:
        replace_lines(session, item, "speech", result.lines)
        replace_claims(session, item.id, "speech", result.claims)
        return "; ".join(result.notes) or None


def _pieces(
    container: Any, max_seconds: float, state: _Decoded
) -> Iterator[tuple[float, NDArray[np.float32]]]:
    """(offset in seconds, 16 kHz mono float32 samples) pieces of the first audio stream, in order."""
    buffered: list[NDArray[np.float32]] = []
    held = 0
    offset = 0.0
    limit = int(max_seconds * RATE)
    for block in _samples(container, state):
        take = block[: max(0, limit - int(offset * RATE) - held)]
        if len(take) < len(block):
            state.truncated_at = offset + (held + len(take)) / RATE
        buffered.append(take)
        held += len(take)
        if held >= CHUNK_SECONDS * RATE:
            audio = np.concatenate(buffered)
            cut = _quiet_cut(audio, int(CHUNK_SECONDS * RATE))
            yield offset, audio[:cut]
            offset += cut / RATE
            buffered, held = [audio[cut:]], len(audio) - cut
        if state.truncated_at is not None:
            break
    state.seconds = offset + held / RATE
    if held:
        yield offset, np.concatenate(buffered)


def _samples(container: Any, state: _Decoded) -> Iterator[NDArray[np.float32]]:
    import av

    stream = container.streams.audio[0]
    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as exc:  # the file ends inside a packet, or the demuxer gives up
            state.cut_short = _first_line(exc)
            break
        if packet.size == 0:
            continue  # the flush packet
        state.packets += 1
        try:
            frames = packet.decode()
        except (av.error.FFmpegError, ValueError) as exc:
            state.bad += 1
            state.first_error = state.first_error or _first_line(exc)
            continue
        for frame in frames:
            frame.pts = None  # resample by count: a jump in timestamps must not stall the resampler
            for converted in resampler.resample(frame):
                yield converted.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    try:
        for converted in resampler.resample(None):
            yield converted.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    except (av.error.FFmpegError, ValueError):
        pass
    if state.packets == 0 and not state.cut_short:
        raise DecodeError("the audio stream holds no packet")


def _quiet_cut(audio: NDArray[np.float32], at: int) -> int:
    """The sample to cut ``audio`` at: the middle of the quietest 50 ms in the CUT_WINDOW before ``at``."""
    hop = RATE // 20
    start = max(0, at - int(CUT_WINDOW * RATE))
    window = audio[start : start + (at - start) // hop * hop]
    if len(window) < hop:
        return at
    energy = (window.reshape(-1, hop) ** 2).mean(axis=1)
    return start + int(np.argmin(energy)) * hop + hop // 2


def _compression(text: str) -> float:
    """How much zlib shrinks the line: Whisper's test for a decode that repeats itself."""
    import zlib

    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
