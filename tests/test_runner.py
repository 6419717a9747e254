"""The stage runner: only what is new, failed or stale is run; failures are recorded and the batch
goes on; a crashing worker costs only its own item."""

from __future__ import annotations

import pytest

from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.run.executors import LocalExecutor, SerialExecutor, get_executor
from vericount.run.runner import pending, run_stage
from vericount.store.schema import AuditEvent, Item, StageState

from .stages_for_tests import NeedsSize, SizeStage, put


def states(case: Case, stage: str) -> dict[str, tuple[str, str | None]]:
    with case.session() as s:
        return {st.item_id: (st.status, st.error)
                for st in s.query(StageState).filter_by(stage=stage)}


def test_reruns_do_only_new_failed_or_stale(case: Case) -> None:
    a, b = put(case, b"aaaa"), put(case, b"Fail me")
    report = run_stage(case, SizeStage(), SerialExecutor())
    assert report.done == [a] and report.failed == [(b, "this file starts with F")]
    assert states(case, "size") == {a: ("done", None), b: ("failed", "this file starts with F")}

    c = put(case, b"cc")
    again = run_stage(case, SizeStage(), SerialExecutor())
    assert sorted(again.done) == [c] and [i for i, _ in again.failed] == [b]

    with case.session() as s:
        assert [i.id for i in pending(s, SizeStage())] == [b]
        assert sorted(i.id for i in pending(s, SizeStage(factor=2))) == sorted([a, b, c])

    SizeStage.version = "2"
    try:
        stale = run_stage(case, SizeStage(), SerialExecutor())
        assert sorted(stale.done) == sorted([a, c])
    finally:
        SizeStage.version = "1"
    with case.session() as s:
        assert s.get(Item, a).media_meta == {"size_seen": 4}
        events = [e.action for e in s.query(AuditEvent)]
    assert events.count("stage.run") == 3


def test_a_stage_waits_for_the_stages_it_needs(case: Case) -> None:
    a = put(case, b"aaaa")
    assert run_stage(case, NeedsSize(), SerialExecutor()).done == []
    run_stage(case, SizeStage(), SerialExecutor())
    assert run_stage(case, NeedsSize(), SerialExecutor()).done == [a]


def test_process_pool_gives_the_same_results(case: Case) -> None:
    ids = [put(case, f"item {i}".encode()) for i in range(12)]
    report = run_stage(case, SizeStage(), LocalExecutor(jobs=2))
    assert sorted(report.done) == sorted(ids)
    with case.session() as s:
        assert {i: s.get(Item, i).media_meta["size_seen"] for i in ids} == {
            i: len(f"item {n}") for n, i in enumerate(ids)}


def test_a_crashing_worker_costs_only_its_item(case: Case) -> None:
    good = [put(case, f"good {i}".encode()) for i in range(6)]
    bad = put(case, b"K crashes the worker")
    report = run_stage(case, SizeStage(), LocalExecutor(jobs=2))
    assert sorted(report.done) == sorted(good)
    assert report.failed == [(bad, "the worker process crashed on this item")]


def test_executor_registry() -> None:
    assert get_executor("local", 3).jobs == 3  # type: ignore[attr-defined]
    assert get_executor("serial").name == "serial"
    with pytest.raises(InvalidValue, match="unknown"):
        get_executor("ray-but-not-installed")
    with pytest.raises(InvalidValue, match="--jobs"):
        get_executor("local", 0)
