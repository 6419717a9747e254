"""Commands about the text in the footage: ocr, text, hints, search."""

from __future__ import annotations

import sys

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, say, table, warning
from vericount.cli.stage_runs import executor_options

pass_ctx = click.make_pass_decorator(Context)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _span(start: float | None, end: float | None) -> str:
    if start is None:
        return "-"
    return _clock(start) if end is None or int(end) == int(start) else f"{_clock(start)}-{_clock(end)}"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the per-item results as JSON.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: the number of cores).",
)
@executor_options
@pass_ctx
def ocr(ctx: Context, as_json: bool, jobs: int | None, executor: str | None, address: str | None) -> None:
    """Read the text on screen in every pending image and video (Tesseract: Russian, Ukrainian, English,
    those installed): each line with its box, time span and confidence, once per shot and again only when
    the picture changes. Channel handles, links and platform watermarks it shows become proposed sources
    (`vericount hints`). Exit status 1 when any item could not be read (one line each on stderr)."""
    from sqlalchemy import func, select

    from vericount.cli.stage_runs import run_shown, say_troubles, troubles_json
    from vericount.items import first_names
    from vericount.store.schema import SourceHint, TextLine
    from vericount.text.ocr import OcrStage

    with ctx.open_case() as case:
        stage = OcrStage()
        if not stage.langs:
            warning(
                "Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-rus "
                "tesseract-ocr-ukr): no on-screen text is read"
            )
        report = run_shown(case, stage, jobs, as_json, executor, address)
        with case.reading() as s:
            counts = dict(
                s.execute(
                    select(TextLine.item_id, func.count())
                    .where(TextLine.kind == "ocr")
                    .group_by(TextLine.item_id)
                ).all()
            )
            hints = s.scalar(select(func.count()).select_from(SourceHint).where(SourceHint.state == "open"))
        names = first_names(case, set(counts) | {i for i, _ in report.failed + report.notes})
    if as_json:
        emit_json(
            {
                "languages": stage.langs,
                "items": [{"item": i, "lines": n} for i, n in counts.items()],
                "open_hints": hints,
                **troubles_json(report),
            }
        )
    else:
        say_troubles(report, names, "on-screen text not read")
        say(
            f"read {len(report.done)} item(s) ({'+'.join(stage.langs) or 'no languages'}); "
            f"{sum(counts.values())} line(s) of on-screen text in {len(counts)} item(s); "
            f"{hints} source hint(s) open (vericount hints); {len(report.failed)} failed"
        )
    sys.exit(1 if report.failed else 0)


@click.command("text")
@click.argument("item")
@click.option("--kind", type=click.Choice(["ocr", "speech"]), default=None, help="Only this kind of text.")
@click.option("--json", "as_json", is_flag=True, help="Print the lines as JSON.")
@pass_ctx
def text_cmd(ctx: Context, item: str, kind: str | None, as_json: bool) -> None:
    """The text found in ITEM: on screen (ocr) and said (speech), each line with its id, time, confidence,
    and whether a reviewer marked it relevant (`vericount mark-text`)."""
    from sqlalchemy import select

    from vericount.items import resolve
    from vericount.store.schema import TextLine

    with ctx.open_case() as case, case.reading() as s:
        item_id = resolve(s, item).id
        query = select(TextLine).where(TextLine.item_id == item_id)
        if kind:
            query = query.where(TextLine.kind == kind)
        rows = [
            {
                "id": r.id,
                "kind": r.kind,
                "start": r.start,
                "end": r.end,
                "text": r.text,
                "lang": r.lang,
                "confidence": r.confidence,
                "box": r.box,
                "marked_by": r.marked_by,
            }
            for r in s.scalars(query.order_by(TextLine.kind, TextLine.start, TextLine.id))
        ]
    if as_json:
        emit_json({"item": item_id, "lines": rows})
        return
    table(
        f"{len(rows)} line(s) of text",
        ["id", "kind", "when", "conf", "lang", "text", "marked"],
        [
            [
                r["id"],
                r["kind"],
                _span(r["start"], r["end"]),
                "-" if r["confidence"] is None else f"{r['confidence']:.2f}",
                r["lang"] or "-",
                r["text"],
                r["marked_by"] or "",
            ]
            for r in rows
        ],
    )


@click.command("mark-text")
@click.argument("lines", nargs=-1, type=int, required=True)
@click.option("--undo", is_flag=True, help="Unmark them.")
@pass_ctx
def mark_text(ctx: Context, lines: tuple[int, ...], undo: bool) -> None:
    """Mark lines of text (ids from `vericount text`) as relevant: the report quotes marked lines only,
    never whole transcripts (they may name people)."""
    from vericount.text.marks import mark

    with ctx.open_case() as case:
        done = mark(case, list(lines), not undo)
    say(f"{'unmarked' if undo else 'marked'} {done} line(s)")


@click.group(invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Also the hints already decided.")
@click.option("--json", "as_json", is_flag=True, help="Print the hints as JSON.")
@click.pass_context
def hints(click_ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """Sources proposed from on-screen text: channel handles, links and platform watermarks, with when
    they show. Each is a proposal: `vericount hints accept ID` makes it a source of its item (logged),
    `vericount hints reject ID` sets it aside."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    from sqlalchemy import select

    from vericount.items import first_names
    from vericount.store.schema import SourceHint

    with ctx.open_case() as case:
        with case.reading() as s:
            query = select(SourceHint).order_by(SourceHint.item_id, SourceHint.start, SourceHint.id)
            if not show_all:
                query = query.where(SourceHint.state == "open")
            rows = [
                {
                    "id": h.id,
                    "item": h.item_id,
                    "kind": h.kind,
                    "value": h.value,
                    "start": h.start,
                    "end": h.end,
                    "confidence": h.confidence,
                    "state": h.state,
                    "decided_by": h.decided_by,
                }
                for h in s.scalars(query)
            ]
        names = first_names(case, {r["item"] for r in rows})
    if as_json:
        emit_json({"hints": rows})
        return
    table(
        f"{len(rows)} source hint(s)",
        ["id", "item", "kind", "value", "when", "conf", "state"],
        [
            [
                r["id"],
                names.get(r["item"], r["item"][:12]),
                r["kind"],
                r["value"],
                _span(r["start"], r["end"]),
                "-" if r["confidence"] is None else f"{r['confidence']:.2f}",
                r["state"],
            ]
            for r in rows
        ],
    )


@hints.command("accept")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--note", default=None, help="Why (kept with the source).")
@pass_ctx
def accept(ctx: Context, ids: tuple[int, ...], note: str | None) -> None:
    """Make each hint a source of its item (account for a handle, URL for a link, platform for a
    watermark), logged as any source is."""
    _decide(ctx, ids, True, note)


@hints.command("reject")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--note", default=None, help="Why.")
@pass_ctx
def reject(ctx: Context, ids: tuple[int, ...], note: str | None) -> None:
    """Set each hint aside (logged); it is not proposed again for that item."""
    _decide(ctx, ids, False, note)


def _decide(ctx: Context, ids: tuple[int, ...], accepted: bool, note: str | None) -> None:
    from vericount.errors import InvalidValue
    from vericount.text.hints import decide

    failed = 0
    with ctx.open_case() as case:
        for hint_id in ids:
            try:
                hint = decide(case, hint_id, accepted, note)
            except InvalidValue as exc:
                error(str(exc))
                failed += 1
                continue
            say(
                f"{hint.state} hint {hint.id}: {hint.kind} {hint.value}"
                + (" (now a source of its item)" if accepted else "")
            )
    sys.exit(1 if failed else 0)


@click.command()
@click.argument("query")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["ocr", "speech", "caption", "note", "claim"]),
    help="Only this kind of text (repeat for several).",
)
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@pass_ctx
def search(ctx: Context, query: str, kinds: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Search every text of the case: on-screen text, transcripts, the captions of sources, notes and
    claims; each hit with its item and time. Every word must be found; case and ё/е do not matter."""
    from vericount.text.search import search as run_search

    with ctx.open_case() as case:
        hits = run_search(case, query, list(kinds) or None, limit)
    if as_json:
        emit_json(
            {
                "query": query,
                "hits": [
                    {
                        "kind": h.kind,
                        "item": h.item,
                        "name": h.name,
                        "start": h.start,
                        "end": h.end,
                        "text": h.text,
                    }
                    for h in hits
                ],
            }
        )
        return
    table(
        f"{len(hits)} hit(s)",
        ["item", "name", "kind", "when", "text"],
        [
            [
                h.item[:12],
                h.name or "-",
                h.kind,
                _span(h.start, h.end),
                h.text if len(h.text) <= 160 else h.text[:157] + "...",
            ]
            for h in hits
        ],
    )


COMMANDS = [ocr, text_cmd, mark_text, hints, search]
