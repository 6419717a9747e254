"""Commands about people: people, tracks, mark."""

from __future__ import annotations

import sys

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, say, table, warning
from vericount.cli.stage_runs import executor_options, run_shown

pass_ctx = click.make_pass_decorator(Context)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the per-item counts as JSON.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of cores).")
@click.option("--detector", "detector", metavar="NAME|FILE.onnx", default=None,
              help="A person detector added to the case (vericount models add), or an ONNX file (added "
                   "to the case under its file name first), instead of the bundled NanoDet-m and "
                   "SSD-MobileNetV2 (a change runs every item again; docs/models.md).")
@click.option("--fps", type=click.FloatRange(min=0.1, max=30), default=None,
              help="Frames looked at per second of video (default 4).")
@executor_options
@click.pass_context
def people(click_ctx: click.Context, as_json: bool, jobs: int | None, detector: str | None,
           fps: float | None, executor: str | None, address: str | None) -> None:
    """Detect and track the people in every pending image and video; print per item the most people in
    one frame (and when), the tracks (people followed through a shot) and the faces found.

    Every track is a proposal until a reviewer decides on it: `vericount people confirm` (it shows one real
    person; a whole item, or a page of tracks, in one action) and `vericount people reject` (it does not).
    Only confirmed tracks are members of the certified count.

    Exit status 1 when any item could not be read (one line each on stderr).
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    from vericount.items import first_names
    from vericount.models import registry
    from vericount.people.service import summaries
    from vericount.people.stage import PEOPLE_FPS, PeopleStage
    with ctx.open_case() as case:
        model = None
        if detector is not None:  # refuse a bad model once, here, not once per item
            model, added = registry.detector(case, detector)
            if added is not None:
                say(f"added {detector} to the case as {model.name} (sha256 {model.sha256[:12]}, "
                    f"{model.layout}); its licence is not stated: vericount models", err=True)
            model.open()
        stage = PeopleStage(detector=model, fps=fps or PEOPLE_FPS)
        report = run_shown(case, stage, jobs, as_json, executor, address)
        rows = summaries(case)
        names = first_names(case, {r.id for r in rows} | {i for i, _ in report.failed + report.notes})
    if as_json:
        emit_json({"items": [r.to_json() for r in rows],
                   "failed": [{"item": i, "error": m} for i, m in report.failed],
                   "warnings": [{"item": i, "warning": m} for i, m in report.notes]})
    else:
        for item_id, message in report.failed:
            error(f"{names.get(item_id, '?')} ({item_id[:12]}): people not found: {message}")
        for item_id, message in report.notes:
            warning(f"{names.get(item_id, '?')} ({item_id[:12]}): {message}")
        table(f"{len(rows)} items with people results",
              ["id", "name", "max in frame", "at (s)", "tracks", "faces", "marks"],
              [[r.id[:12], names.get(r.id, "?"), r.max_people_in_frame,
                "-" if r.at is None else f"{r.at:.2f}", r.tracks, r.faces, r.marks] for r in rows])
        say(f"looked at {len(report.done)} item(s), {len(report.failed)} failed")
    sys.exit(1 if report.failed else 0)


@click.command()
@click.argument("item")
@click.option("--json", "as_json", is_flag=True, help="Print the tracks as JSON.")
@pass_ctx
def tracks(ctx: Context, item: str, as_json: bool) -> None:
    """List the tracks (people) of ITEM: time span, boxes, how sure the detector is that each is a person
    (its calibrated score; "doubtful" under 0.5), face, the models that made each, best crop."""
    from vericount.people.service import list_tracks

    with ctx.open_case() as case:
        found = list_tracks(case, item)
    if as_json:
        emit_json({"tracks": [t.to_json() for t in found]})
        return
    table(f"{len(found)} tracks",
          ["#", "source", "from (s)", "to (s)", "boxes", "score", "face", "detector", "best crop"],
          [[t.number, t.source, f"{t.start:.2f}", f"{t.end:.2f}", t.boxes, _score(t.score),
            "yes" if t.has_face else "-", t.detector or "-", t.crop or "-"] for t in found])


def _score(score: float | None) -> str:
    from vericount.people.score import DOUBTFUL

    if score is None:
        return "-"
    return f"{score:.2f}" + (" doubtful" if score < DOUBTFUL else "")


@click.command()
@click.argument("item")
@click.argument("points", nargs=-1, type=float, required=True)
@click.option("--time", "time_", type=float, default=0.0, show_default=True,
              help="Seconds from the start of a video (ignored for a photo).")
@pass_ctx
def mark(ctx: Context, item: str, points: tuple[float, ...], time_: float) -> None:
    """Add people the detector missed: X Y pairs, fractions of the frame's width and height (0 0 is the
    top left), on the frame at --time. Each becomes a one-frame track (audit-logged)."""
    from vericount.people.service import mark as add_marks

    if len(points) % 2:
        raise click.UsageError("give X Y pairs: an even number of values")
    pairs = list(zip(points[::2], points[1::2], strict=True))
    with ctx.open_case() as case:
        added = add_marks(case, item, time_, pairs)
    for t in added:
        say(f"marked person #{t.number} at {t.start:.2f}s: {t.crop}")


COMMANDS = [people, tracks, mark]
