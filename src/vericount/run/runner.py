"""Running a stage over the items that need it, recording each item's outcome and going on.

An item needs a stage when the stage accepts it, every stage it needs is done on it, and it has no state
for the stage yet, or failed, or was done by another version or other parameters.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from vericount.case import Case
from vericount.run.executors import Executor, Failure, Outcome
from vericount.run.stage import Stage, Task
from vericount.store.schema import Item, StageState, utcnow

SAVE_EVERY_ITEMS = 200
SAVE_EVERY_SECONDS = 1.0


@dataclass
class StageReport:
    stage: str
    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item id, message)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (item id, warning)
    seconds: float = 0.0


def pending(session: Session, stage: Stage[Any], only: Iterable[str] | None = None) -> list[Item]:
    state = aliased(StageState)
    query = (
        select(Item)
        .outerjoin(state, and_(state.item_id == Item.id, state.stage == stage.name))
        .where(or_(state.item_id.is_(None), state.status != "done",
                   state.version != stage.version, state.params_hash != stage.params_hash()))
        .order_by(Item.added_at, Item.id)
    )
    for need in stage.needs:
        query = query.where(exists().where(StageState.item_id == Item.id,
                                           StageState.stage == need, StageState.status == "done"))
    if only is not None:
        query = query.where(Item.id.in_(list(only)))
    return [item for item in session.scalars(query) if stage.accepts(item)]


def run_stage(case: Case, stage: Stage[Any], executor: Executor, *,
              only: Iterable[str] | None = None,
              on_start: Callable[[int], None] | None = None,
              on_item: Callable[[Outcome[Task, Any]], None] | None = None) -> StageReport:
    """Run ``stage`` on every item that needs it (or on those of ``only`` that need it)."""
    with case.session() as s:
        tasks = [task_for(case, item) for item in pending(s, stage, only)]
    if on_start is not None:
        on_start(len(tasks))
    if not tasks:
        return StageReport(stage.name)
    return run_tasks(case, stage, executor, tasks, on_item=on_item)


def task_for(case: Case, item: Item) -> Task:
    return Task(item.id, item.kind, case.evidence.path(item.id))


def run_tasks(case: Case, stage: Stage[Any], executor: Executor, tasks: Iterable[Task], *,
              on_item: Callable[[Outcome[Task, Any]], None] | None = None) -> StageReport:
    """Run ``stage`` on the given tasks, saving outcomes in batches as they arrive."""
    start = time.perf_counter()
    report = StageReport(stage.name)
    batch: list[Outcome[Task, Any]] = []
    last_save = time.monotonic()
    for outcome in executor.run(stage.compute, tasks):
        batch.append(outcome)
        if on_item is not None:
            on_item(outcome)
        if len(batch) >= SAVE_EVERY_ITEMS or time.monotonic() - last_save > SAVE_EVERY_SECONDS:
            save_outcomes(case, stage, batch, report)
            batch, last_save = [], time.monotonic()
    save_outcomes(case, stage, batch, report)
    report.seconds = time.perf_counter() - start
    record_run(case, stage, executor, report)
    return report


def record_run(case: Case, stage: Stage[Any], executor: Executor, report: StageReport) -> None:
    """One audit event per run of a stage (per-item outcomes live in stage_states)."""
    if not report.done and not report.failed:
        return
    with case.session() as s:
        case.record(s, "stage.run", None, stage=stage.name, version=stage.version,
                    params=stage.params(), done=len(report.done), failed=len(report.failed),
                    executor=executor.name)


def save_outcomes(case: Case, stage: Stage[Any], batch: list[Outcome[Task, Any]],
                  report: StageReport) -> None:
    """Write a batch of outcomes and the stage's state on each item, in one transaction."""
    if not batch:
        return
    ids = [o.task.item_id for o in batch]
    with case.session() as s:
        items = {i.id: i for i in s.scalars(select(Item).where(Item.id.in_(ids)))}
        states = {st.item_id: st for st in s.scalars(
            select(StageState).where(StageState.stage == stage.name, StageState.item_id.in_(ids)))}
        for outcome in batch:
            item = items.get(outcome.task.item_id)
            if item is None:  # removed meanwhile
                continue
            state = states.get(item.id) or StageState(item_id=item.id, stage=stage.name)
            state.version, state.params = stage.version, stage.params()
            state.params_hash, state.updated_at = stage.params_hash(), utcnow()
            state.seconds = outcome.seconds
            failure = outcome.failure
            if failure is None:
                saved = _save_one(s, stage, item, outcome.result)
                if isinstance(saved, Failure):
                    failure = saved
                else:
                    state.status, state.error, state.detail = "done", None, saved
                    report.done.append(item.id)
                    if saved:
                        report.notes.append((item.id, saved))
            if failure is not None:
                state.status, state.error = "failed", failure.message
                state.detail = failure.trace or None
                report.failed.append((item.id, failure.message))
            s.add(state)


def _save_one(s: Session, stage: Stage[Any], item: Item, result: Any) -> str | Failure | None:
    """``stage.save`` in a savepoint: when it fails, only this item's changes are undone and the failure is
    returned to be recorded on the item; the rest of the batch is saved."""
    before = {key: list(value) if isinstance(value, list) else value for key, value in s.info.items()}
    try:
        with s.begin_nested():
            return stage.save(s, item, result)
    except Exception as exc:  # noqa: BLE001 - any error saving one item is that item's failure, recorded
        s.info.clear()  # what save() queued for the commit (audit events, files to remove) goes too
        s.info.update(before)
        message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return Failure(f"saving {stage.name} results: {message[0] if message else type(exc).__name__}",
                       traceback.format_exc())
