"""The speech command: what is said in every pending video, transcribed (the optional ``speech`` extra)."""

from __future__ import annotations

import os
import sys

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, say, warning
from vericount.cli.stage_runs import executor_options

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the per-item results as JSON.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: the cores divided by the threads each uses, "
    "$VERICOUNT_SPEECH_THREADS or 2).",
)
@click.option(
    "--max-minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Transcribe at most this many minutes of each clip (default 120); a change transcribes again.",
)
@click.option(
    "--languages",
    default=None,
    metavar="CODES",
    help="The languages the clips may be in, e.g. ru,uk,en: each clip is transcribed in the most likely of "
    "them (one code: always that one). Default: whichever language Whisper hears.",
)
@executor_options
@pass_ctx
def speech(
    ctx: Context, as_json: bool, jobs: int | None, max_minutes: float | None, languages: str | None,
    executor: str | None, address: str | None,
) -> None:
    """Transcribe what is said in every pending video (Whisper base, multilingual, through faster-whisper;
    the `speech` extra: pip install 'vericount[speech]'): each line with its time, detected language and
    confidence, searchable with `vericount search --kind speech`. A clip without an audio stream is done at
    once. Exit status 1 when any item could not be transcribed (one line each on stderr)."""
    from sqlalchemy import select

    from vericount.cli.stage_runs import run_shown, say_troubles, troubles_json
    from vericount.items import first_names
    from vericount.store.schema import TextLine
    from vericount.text import whisper
    from vericount.text.speech import MAX_MINUTES, SpeechStage

    codes = _languages(languages)
    if jobs is None:
        jobs = max(1, (os.cpu_count() or 1) // whisper.threads())
    with ctx.open_case() as case:
        stage = SpeechStage(max_minutes=max_minutes or MAX_MINUTES, languages=codes)
        if not whisper.installed():
            warning(f"{whisper.NOT_INSTALLED}: no speech is transcribed")
        report = run_shown(case, stage, jobs, as_json, executor, address)
        with case.reading() as s:
            found: dict[str, list[str | None]] = {}
            for item_id, lang in s.execute(
                select(TextLine.item_id, TextLine.lang).where(TextLine.kind == "speech")
            ):
                found.setdefault(item_id, []).append(lang)
        names = first_names(case, set(found) | {i for i, _ in report.failed + report.notes})
    if as_json:
        emit_json(
            {
                "model": whisper.MODEL_NAME,
                "sha256": whisper.MODEL_SHA256,
                "done": len(report.done),
                "items": [
                    {"item": i, "lines": len(langs), "languages": sorted({x for x in langs if x})}
                    for i, langs in found.items()
                ],
                **troubles_json(report),
            }
        )
    else:
        say_troubles(report, names, "speech not transcribed")
        langs = sorted({x for values in found.values() for x in values if x})
        say(
            f"transcribed {len(report.done)} item(s); "
            f"{sum(len(v) for v in found.values())} line(s) of speech in {len(found)} item(s)"
            f"{' (' + ', '.join(langs) + ')' if langs else ''}; {len(report.failed)} failed"
        )
    sys.exit(1 if report.failed else 0)


def _languages(value: str | None) -> tuple[str, ...]:
    from vericount.errors import InvalidValue
    from vericount.text import whisper

    codes = tuple(dict.fromkeys(c.strip().lower() for c in (value or "").split(",") if c.strip()))
    known = whisper.languages()
    for code in codes:
        if not (code.isascii() and code.isalpha() and 2 <= len(code) <= 3) or (known and code not in known):
            raise InvalidValue(f"--languages: {code!r} is not a language Whisper knows (ISO codes: ru,uk,en)")
    return codes


COMMANDS = [speech]
