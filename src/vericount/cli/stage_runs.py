"""What the commands that run a stage over the case share: the run with its progress bar, and the lines
(or JSON) for the items that failed or got a warning."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vericount.cli.output import error, interactive, progress_bar, warning

if TYPE_CHECKING:
    from vericount.case import Case
    from vericount.run.runner import StageReport
    from vericount.run.stage import Stage

F = TypeVar("F", bound=Callable[..., Any])


def executor_options(command: F) -> F:
    """``--executor`` and ``--address``, for the commands that run a stage over the case's items."""
    command = click.option(
        "--address", default=None, metavar="HOST:PORT",
        help="The Ray cluster's head (implies --executor ray; `auto`: the cluster this machine is in). "
             "Default: the case's setting, else a Ray instance started on this machine.")(command)
    return click.option(
        "--executor", type=click.Choice(["local", "ray"]), default=None,
        help="Where the work runs: worker processes on this machine, or a Ray cluster (pip install "
             "'vericount[cluster]'; docs/scale.md). Default: the case's setting (`vericount executor`), "
             "else local.")(command)


def run_shown(case: Case, stage: Stage[Any], jobs: int | None, quiet: bool, executor: str | None = None,
              address: str | None = None) -> StageReport:
    """Run ``stage`` on every pending item with the chosen executor (run/choice.py), a progress bar unless
    ``quiet``."""
    from vericount.run.choice import choose
    from vericount.run.runner import run_stage

    chosen = choose(case, executor, jobs, address)
    with progress_bar(interactive() and not quiet) as bar:
        return run_stage(case, stage, chosen,
                         on_start=lambda n: bar.start(stage.name, n), on_item=lambda _: bar.advance(1))


def troubles_json(report: StageReport) -> dict[str, list[dict[str, str]]]:
    return {"failed": [{"item": i, "error": m} for i, m in report.failed],
            "warnings": [{"item": i, "warning": m} for i, m in report.notes]}


def say_troubles(report: StageReport, names: dict[str, str], failed_as: str) -> None:
    """One line on stderr per failed item ("NAME (ID): FAILED_AS: why") and per warning."""
    for item_id, message in report.failed:
        error(f"{names.get(item_id, '?')} ({item_id[:12]}): {failed_as}: {message}")
    for item_id, message in report.notes:
        warning(f"{names.get(item_id, '?')} ({item_id[:12]}): {message}")
