"""Speech benchmark: espeak-ng speaking Russian, Ukrainian and English, mixed into real clips' audio, read
back by the speech stage.

    python bench/speech.py [--data ../shared/data] [--voices default,f4] [--snr 10,0] [--quick]

Synthetic speech is a harsh, lower-bound test: espeak-ng's formant voices sound like no speaker Whisper was
trained on (its Russian and Ukrainian voices least of all), so these error rates are worse than on people
talking. They compare settings and noise levels with each other; they are not what a clip of a person gives.

Five sentences a language (written here, no digits), each spoken by espeak-ng (-s 140) in each voice (the
language's default voice and its variants named by --voices, e.g. "f4" for ru+f4), 0.5 s of lead-in and
tail. Conditions: clean (silence around the speech), and mixed into the audio of two real clips in
../shared/data/video, looped to length, at each signal-to-noise ratio (speech power over noise power):
hamilton_short.mp4 (a stage performance: piano, singing, applause) and crowd_walking_1080p.mp4 (street
crowd). Each mixture is written as an MP4 with an AAC stream (16 kHz mono) and the speech stage's own
``compute`` runs on it: PyAV decoding, voice activity detection, Whisper base int8 on 2 threads.

Printed, per language, voice and condition: word and character error rate (Levenshtein edits over
reference length, summed over sentences; text lower-cased, ё as е, punctuation dropped; characters include
spaces) with the stage's default (the language detected), detected-language accuracy (the language of the
lines; a clip with no line counts as wrong) and what was detected; then the error rates when the stage is
told the language (``--languages ru``: the recogniser alone, language identification apart); then the
real-time factor of the default (compute seconds over audio seconds, model load apart). No floor on WER
(issue 20).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import av
import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE.parent / "src"))

from vericount.run.stage import Task  # noqa: E402
from vericount.text import speech as speech_stage  # noqa: E402
from vericount.text import whisper  # noqa: E402
from vericount.text.speech import RATE, SpeechStage  # noqa: E402

SENTENCES = {
    "en": [
        "We are conscripts, and nobody told us where we were going.",
        "The bridge near the village was destroyed this morning.",
        "My name is Pavel and I come from a small town near Kursk.",
        "Please tell my mother that I am alive and well.",
        "The soldiers surrendered after three days without food or water.",
    ],
    "ru": [
        "Мы призывники, и нам никто не сказал, куда нас везут.",
        "Мост возле деревни был разрушен сегодня утром.",
        "Меня зовут Павел, я из маленького города под Курском.",
        "Передайте моей маме, что я жив и здоров.",
        "Солдаты сдались после трёх дней без еды и воды.",
    ],
    "uk": [
        "Ми призовники, і нам ніхто не сказав, куди нас везуть.",
        "Міст біля села був зруйнований сьогодні вранці.",
        "Мене звати Павло, я з маленького міста біля Курська.",
        "Передайте моїй мамі, що я живий і здоровий.",
        "Солдати здалися після трьох днів без їжі та води.",
    ],
}
NOISES = {"stage": "video/hamilton_short.mp4", "street": "video/crowd_walking_1080p.mp4"}


def read_audio(path: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        blocks = [
            o.to_ndarray().reshape(-1) for f in container.decode(audio=0) for o in resampler.resample(f)
        ]
    return np.concatenate(blocks).astype(np.float32)


def speak(text: str, voice: str, work: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
    wav = work / "said.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(wav), text], check=True)
    return read_audio(wav)


def mix(speech: np.ndarray, noise: np.ndarray | None, snr: float | None) -> np.ndarray:
    pad = np.zeros(RATE // 2, dtype=np.float32)
    clean = np.concatenate([pad, speech, pad])
    if noise is None or snr is None:
        return clean
    bed = np.resize(noise, len(clean))  # looped to length
    gain = np.sqrt(np.mean(speech**2) / (np.mean(bed**2) * 10 ** (snr / 10)))
    out = clean + gain * bed
    return (out / max(1.0, float(np.abs(out).max()))).astype(np.float32)  # no clipping


def write_mp4(samples: np.ndarray, path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=RATE)
        stream.layout = "mono"
        size = stream.codec_context.frame_size or 1024
        for start in range(0, len(samples), size):
            block = np.zeros(size, dtype=np.float32)
            block[: len(samples[start : start + size])] = samples[start : start + size]
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = RATE, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def normalise(text: str) -> str:
    text = text.lower().replace("ё", "е").replace("-", " ")
    kept = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    return " ".join(kept.split())


def edits(ref: list[str] | str, hyp: list[str] | str) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1]


def score(sums: Counter[str], sentence: str, result: Any, lang: str) -> str:
    """Add one clip's errors to ``sums``; the language it was heard in ("none" with no line)."""
    heard = normalise(" ".join(line.text for line in result.lines))
    ref = normalise(sentence)
    sums["wedits"] += edits(ref.split(), heard.split())
    sums["words"] += len(ref.split())
    sums["cedits"] += edits(ref, heard)
    sums["chars"] += len(ref)
    sums["n"] += 1
    got = Counter(line.lang or "-" for line in result.lines).most_common(1)
    got_lang = got[0][0] if got else "none"
    sums["lang_ok"] += got_lang == lang
    return got_lang


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--voices", default="default,f4", help="default and/or espeak-ng variants")
    parser.add_argument("--snr", default="10,0", help="signal-to-noise ratios in dB")
    parser.add_argument("--quick", action="store_true", help="two sentences a language")
    parser.add_argument("--temperatures", default=None, help="e.g. 0,0.4,0.8 (default: the stage's)")
    args = parser.parse_args()
    if not all((args.data / p).is_file() for p in NOISES.values()):
        raise SystemExit(f"{args.data}/video is absent; this benchmark reads ../shared/data")
    if not whisper.installed():
        raise SystemExit(whisper.NOT_INSTALLED)
    if args.temperatures:
        speech_stage.TEMPERATURES = tuple(float(x) for x in args.temperatures.split(","))
    print(f"$ python bench/speech.py {' '.join(sys.argv[1:])}\n")
    print("Synthetic speech (espeak-ng) is a harsh, lower-bound test: people talking are heard better.\n")
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    snrs = [float(s) for s in args.snr.split(",") if s.strip()]
    conditions: list[tuple[str, str | None, float | None]] = [("clean", None, None)]
    conditions += [(f"{name} {snr:g} dB", name, snr) for name in NOISES for snr in snrs]
    noises = {name: read_audio(args.data / path) for name, path in NOISES.items()}

    started = time.perf_counter()
    whisper.load()
    print(
        f"model: {whisper.MODEL_NAME}, sha256 {whisper.MODEL_SHA256}; loaded in "
        f"{time.perf_counter() - started:.1f} s; {whisper.threads()} threads, {os.cpu_count()} cores; "
        f"beam {speech_stage.BEAM_SIZE}, temperatures {speech_stage.TEMPERATURES}\n"
    )
    stage = SpeechStage()
    told = {lang: SpeechStage(languages=(lang,)) for lang in SENTENCES}
    sums: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)  # any language (detected)
    given: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)  # told the language
    detected: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    compute = audio = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for lang, sentences in SENTENCES.items():
            for voice in voices:
                for sentence in sentences[: 2 if args.quick else None]:
                    said = speak(sentence, lang if voice == "default" else f"{lang}+{voice}", work)
                    for label, noise, snr in conditions:
                        samples = mix(said, noises[noise] if noise else None, snr)
                        clip = work / "clip.mp4"
                        write_mp4(samples, clip)
                        t0 = time.perf_counter()
                        result = stage.compute(Task("bench", "video", clip))
                        compute += time.perf_counter() - t0
                        audio += len(samples) / RATE
                        for key in ((lang, label), (f"{lang} {voice}", label)):
                            detected[key][score(sums[key], sentence, result, lang)] += 1
                        if set(result.languages) != {lang}:  # else told the language, the same
                            result = told[lang].compute(Task("bench", "video", clip))
                        for key in ((lang, label), (f"{lang} {voice}", label)):
                            score(given[key], sentence, result, lang)
    labels = [c[0] for c in conditions]
    print("Any language (the default: detected) | told the language (--languages LANG)")
    print("| language | voice | condition | clips | WER | CER | language right | heard as | WER | CER |")
    print("|---|---|---|--:|--:|--:|--:|---|--:|--:|")
    for key in sorted(sums, key=lambda k: (k[0].split()[0], " " in k[0], k[0], labels.index(k[1]))):
        s, n = sums[key], given[key]
        lang, _, voice = key[0].partition(" ")
        seen = ", ".join(f"{k} {v}" for k, v in detected[key].most_common(3))
        print(
            f"| {lang} | {voice or 'all'} | {key[1]} | {s['n']} | {s['wedits'] / s['words']:.2f} | "
            f"{s['cedits'] / s['chars']:.2f} | {s['lang_ok'] / s['n']:.2f} | {seen} | "
            f"{n['wedits'] / n['words']:.2f} | {n['cedits'] / n['chars']:.2f} |"
        )
    print(
        f"\nreal-time factor (any language, the default): {compute / audio:.3f} ({compute:.1f} s of compute "
        f"for {audio:.1f} s of audio, {whisper.threads()} threads, model load apart); "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
