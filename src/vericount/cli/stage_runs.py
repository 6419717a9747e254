"""What the commands that run a stage over the case share: the run with its progress bar, and the lines
(or JSON) for the items that failed or got a warning."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vericount.cli.output import error, interactive, progress_bar, warning

if TYPE_CHECKING:
    from vericount.case import Case
    from vericount.run.runner import StageReport
    from vericount.run.stage import Stage


def run_shown(case: Case, stage: Stage[Any], jobs: int | None, quiet: bool) -> StageReport:
    """Run ``stage`` on every pending item with the local executor, a progress bar unless ``quiet``."""
    from vericount.run.executors import get_executor
    from vericount.run.runner import run_stage

    with progress_bar(interactive() and not quiet) as bar:
        return run_stage(case, stage, get_executor("local", jobs),
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
