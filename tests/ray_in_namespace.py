"""The ray executor on a real local Ray instance. Run by tests/test_ray.py inside a network namespace that has
only loopback (Ray would otherwise bind to and talk over the machine's network interface), with PostgreSQL
reached over its Unix socket; not collected on its own (the name does not start with test_)."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import Cli
from tests.stages_for_tests import ModelStage, SizeStage, SlowStage, put
from vericount.case import Case
from vericount.run.ray_executor import RayExecutor
from vericount.run.runner import run_stage
from vericount.store.schema import AuditEvent, Item, StageState

PIDS = Path(tempfile.mkdtemp(prefix="vericount-ray-pids-"))
os.environ["VERICOUNT_TEST_PIDS"] = str(PIDS)  # before Ray starts: its workers inherit it
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "media"


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    import ray

    RayExecutor(jobs=2).connect()
    assert ray.util.get_node_ip_address() == "127.0.0.1"  # only loopback here
    yield
    ray.shutdown()


def sizes(case: Case, ids: list[str]) -> dict[str, int]:
    with case.session() as s:
        return {i: s.get(Item, i).media_meta["size_seen"] for i in ids}


def test_the_same_results_as_in_one_process_and_failures_recorded(case: Case) -> None:
    good = [put(case, f"item {i}".encode()) for i in range(40)]
    failing = put(case, b"Fails: this file starts with F")
    crashing = put(case, b"K crashes its worker every time")
    report = run_stage(case, SizeStage(), RayExecutor())
    assert sorted(report.done) == sorted(good)
    assert dict(report.failed)[failing] == "this file starts with F"
    assert dict(report.failed)[crashing].startswith("the worker process crashed on this item")
    assert len(report.failed) == 2
    assert sizes(case, good) == {i: len(f"item {n}") for n, i in enumerate(good)}
    with case.session() as s:
        state = s.get(StageState, (crashing, "size"))
        assert state.status == "failed" and "crashed" in state.error
        run = [e.detail for e in s.query(AuditEvent).filter_by(action="stage.run")]
    assert run == [{"stage": "size", "version": "1", "params": {"factor": 1}, "done": 40, "failed": 2,
                    "executor": "ray"}]


def test_a_worker_killed_mid_task_costs_nothing(case: Case) -> None:
    ids = [put(case, f"item {i}".encode()) for i in range(12)]
    slow = put(case, b"S is slow: its worker is killed while it works")
    killed: list[int] = []

    def kill_when_started() -> None:
        pid_file = PIDS / f"{slow}.pid"
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    report = run_stage(case, SlowStage(), RayExecutor())
    killer.join()
    assert killed, "the slow item never started"
    # the killed worker's items ran again, alone: every item done once, none failed, none twice
    assert report.failed == []
    assert sorted(report.done) == sorted([*ids, slow])
    assert int((PIDS / f"{slow}.pid").read_text()) != killed[0]  # done by another worker
    assert sizes(case, [slow])[slow] == len(b"S is slow: its worker is killed while it works")
    with case.session() as s:
        assert s.query(StageState).filter_by(stage="slow", status="done").count() == 13


def test_models_load_once_per_worker(case: Case) -> None:
    for i in range(60):
        put(case, f"item {i}".encode())
    report = run_stage(case, ModelStage(), RayExecutor())
    assert len(report.done) == 60
    loads = (PIDS / "loads").read_text().split()
    assert 1 <= len(loads) <= 2 and len(set(loads)) == len(loads)  # two CPUs: at most two workers


@pytest.mark.sqlite_only  # the runner's PostgreSQL path is the tests' above
def test_the_commands_run_through_ray_with_the_case_setting(cli: Cli, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    Image.open(SAMPLES / "obama.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(media / "flip.jpg")
    for name in ("obama.jpg", "biden.jpg"):
        (media / name).write_bytes((SAMPLES / name).read_bytes())
    assert cli("add", str(media)).exit_code == 0
    assert cli("executor").stdout.strip() == "executor: local"
    assert cli("executor", "ray").stdout.strip() == "executor: ray"
    out = cli("reposts", "--json")
    assert out.exit_code == 0, out.output
    found = json.loads(out.stdout)
    assert found["fingerprinted"] == 3
    assert [sorted(g["members"]) for g in found["groups"]] == [sorted(
        json.loads(cli("show", name, "--json").stdout)["id"] for name in ("obama.jpg", "flip.jpg"))]
    people = cli("people", "--json")
    assert people.exit_code == 0, people.output
    assert len(json.loads(people.stdout)["items"]) == 3
    runs = [e["detail"] for e in json.loads(cli("log", "--action", "stage.run", "--json").stdout)]
    assert {(r["stage"], r["executor"]) for r in runs} >= {("reposts", "ray"), ("people", "ray")}
    assert cli("executor", "local").stdout.strip() == "executor: local"
