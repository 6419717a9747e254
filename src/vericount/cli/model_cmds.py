"""Commands about models: models (list), models add, models remove."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, say, table, warning

pass_ctx = click.make_pass_decorator(Context)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the models as JSON.")
@click.pass_context
def models(click_ctx: click.Context, as_json: bool) -> None:
    """List the models vericount runs, bundled with it (and with the extras installed: Whisper base for
    vericount[speech]), and the person detectors added to the case: name,
    role, file, SHA-256, licence, classes, input, and who added each and when. Outside a case, the bundled
    ones only.

    Each file is hashed as it is now and compared with the SHA-256 recorded (in vericount's own table for a
    bundled model, in the case for an added one). Exit status 1 when a file is missing or was changed (each
    named on stderr).
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    from vericount.models import catalog, registry

    found = catalog.bundled() + catalog.extras()
    case = _case_or_none(ctx)
    if case is not None:
        with case:
            found += registry.listed(case)
    problems = [p for m in found if (p := m.problem())]
    if as_json:
        emit_json({"models": [m.to_json() for m in found], "case": str(case.root) if case else None,
                   "problems": problems})
    else:
        table(f"{len(found)} models" + ("" if case else " (outside a case: the bundled ones)"),
              ["name", "role", "origin", "sha256", "licence", "classes", "input", "file"],
              [[m.name, m.role, _origin(m), m.sha256 or "missing", m.licence, m.classes,
                f"{m.input}; {m.layout}" if m.layout else m.input, m.file] for m in found])
    for problem in problems:
        error(problem)
    sys.exit(1 if problems else 0)


@models.command("add")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="What the case calls it (letters, digits, '.', '_', '-'); "
                                            "`people --detector NAME` runs it.")
@click.option("--licence", required=True,
              help="Under which licence the model may be used, in words (ultralytics weights: AGPL-3.0).")
@click.option("--classes", default=None,
              help="What its classes are, in words (default: from the file, e.g. 'COCO 80, person = 0').")
@click.option("--person-class", type=click.IntRange(min=0), default=None,
              help="The class index that is a person (default: the class the file names 'person', else 0).")
@click.option("--json", "as_json", is_flag=True, help="Print the model as JSON.")
@pass_ctx
def add(ctx: Context, file: Path, name: str, licence: str, classes: str | None, person_class: int | None,
        as_json: bool) -> None:
    """Add a person detector (an ONNX file) to the case, for `vericount people --detector NAME`.

    Its layout is checked first (onnxruntime loads it and its input and output shapes are read): an
    ultralytics YOLOv8/YOLO11 or YOLOv5 export, ultralytics' RT-DETR export, or RT-DETR's own
    (tools/export_onnx.py); docs/models.md. A file in another layout is refused and nothing is stored. The
    file is copied into the case (CASE/models/, read-only, by its SHA-256) and the addition is recorded in
    the custody log. The same file again under the same name changes nothing.
    """
    from vericount.models import registry

    with ctx.open_case() as case:
        done = registry.add(case, file, name, licence, classes, person_class)
    m = done.model
    if as_json:
        emit_json({"model": m.to_json(), "new": done.new, "restored": done.restored,
                   "file_licence": done.file_licence})
        return
    if done.file_licence and done.file_licence.lower() not in licence.lower():
        warning(f"{file}: the file's own metadata says its licence is: {done.file_licence}")
    if not done.new:
        say(f"{file} is already in the case as {m.name} (sha256 {m.recorded_sha256[:12]}, added by "
            f"{m.added_by}); " + ("its missing copy was stored again" if done.restored
                                  else "nothing changed"))
        return
    say(f"added {m.name}: {m.layout}, {m.input}; classes {m.classes}; sha256 {m.recorded_sha256}; "
        f"stored as {m.file}")


@models.command("remove")
@click.argument("name")
@pass_ctx
def remove(ctx: Context, name: str) -> None:
    """Take an added model out of the case (recorded in the custody log). Refused while any track or item
    was made with it: they keep pointing to it."""
    from vericount.models import registry

    with ctx.open_case() as case:
        gone = registry.remove(case, name)
    say(f"removed {gone.name} (sha256 {gone.recorded_sha256[:12]})")


def _case_or_none(ctx: Context) -> Any:
    """The case, or None when no case was asked for and the current folder is none."""
    from vericount.case import CASE_FILE, ENV_CASE

    if ctx.case_dir is None and not os.environ.get(ENV_CASE) and not (Path.cwd() / CASE_FILE).exists():
        return None
    return ctx.open_case()


def _origin(m: Any) -> str:
    if m.origin == "bundled":
        return "bundled"
    if m.origin == "extra":
        return "extra" + ("" if m.sha256 else f" ({m.state})")
    when = m.added_at.strftime("%Y-%m-%d %H:%M UTC") if m.added_at else "?"
    return f"added by {m.added_by}, {when}"


COMMANDS = [models]
