"""Killing `vericount add` with SIGKILL at any point and running it again leaves no partial evidence
file and no orphan row, and ends with every file ingested exactly once; killing a command leaves none of
its worker processes behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vericount.case import Case
from vericount.store.schema import Item, ItemName

N_FILES = 120


def _start(case_dir: Path, folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "vericount", "--case", str(case_dir), "add",
                             str(folder), "--jobs", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc: subprocess.Popen[bytes], evidence: Path, stored_at_least: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        stored = sum(1 for d in evidence.iterdir() if not d.name.startswith(".")
                     for _ in d.iterdir()) if evidence.is_dir() else 0
        if stored >= stored_at_least:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_sigkill_then_rerun_ingests_everything_exactly_once(case_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(N_FILES):
        # ~150 KB of valid text each, so the run takes long enough to be interrupted.
        (folder / f"report_{i:03d}.txt").write_text(f"report {i}\n" + "soldiers captured\n" * 9000)
    evidence = case_dir / "evidence"
    killed = 0
    for threshold in (1, N_FILES // 3, N_FILES):  # early, in the middle, around the metadata phase
        proc = _start(case_dir, folder)
        _kill_when(proc, evidence, threshold)
        killed += proc.returncode == -signal.SIGKILL
    assert killed >= 2, "the runs finished before they could be killed; make the batch bigger"

    final = subprocess.run([sys.executable, "-m", "vericount", "--case", str(case_dir), "add",
                            str(folder), "--json"], capture_output=True, text=True, check=False)
    assert final.returncode == 0, final.stderr
    with Case.open(case_dir) as case:
        with case.session() as s:
            items = {i.id: i for i in s.query(Item)}
            names = [(n.item_id, n.path) for n in s.query(ItemName)]
            states = {(st.item_id, st.stage): st.status for i in items.values() for st in i.stages}
        stored = set(case.evidence.stored_hashes())
        assert not list((evidence / ".tmp").iterdir()), "a temporary file was left behind"
    assert len(items) == N_FILES
    assert stored == set(items), "every row has its file and every file its row"
    assert len(names) == len(set(names)) == N_FILES, "each file recorded exactly once"
    assert set(states.values()) == {"done"} and len(states) == N_FILES
    verify = subprocess.run([sys.executable, "-m", "vericount", "--case", str(case_dir), "verify",
                             "--json"], capture_output=True, text=True, check=False)
    assert verify.returncode == 0 and json.loads(verify.stdout)["checked"] == N_FILES
    assert os.environ.get("VERICOUNT_CASE") is None


def _descendants(root: int) -> set[tuple[int, bytes]]:
    """(pid, start time) of every live process below ``root``, from /proc (no psutil needed)."""
    children: dict[int, list[tuple[int, bytes]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rpartition(b")")[2].split()
        except OSError:
            continue
        if fields[0] not in (b"Z", b"X"):
            children.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found: set[tuple[int, bytes]] = set()
    todo = [root]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            found.add((pid, started))
            todo.append(pid)
    return found


def _running(processes: set[tuple[int, bytes]]) -> set[int]:
    """The pids of ``processes`` still running (the same start time: not a reused pid; not a zombie)."""
    alive = set()
    for pid, started in processes:
        try:
            fields = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()
        except OSError:
            continue
        if fields[19] == started and fields[0] not in (b"Z", b"X"):
            alive.add(pid)
    return alive


@pytest.mark.slow
@pytest.mark.sqlite_only  # which processes end is the executor's doing, not the database's (suite time)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_sigkill_of_the_cli_ends_its_workers_forkserver_and_tracker(case_dir: Path,
                                                                     tmp_path: Path) -> None:
    from . import mediagen as mg

    folder = tmp_path / "gifs"
    folder.mkdir()
    for i in range(4):  # each keeps a worker busy for several seconds
        mg.make_many_frame_gif(folder / f"long_{i}.gif", frames=30_000 + i)
    added = subprocess.run([sys.executable, "-m", "vericount", "--case", str(case_dir), "add",
                            str(folder)], capture_output=True, text=True, check=False)
    assert added.returncode == 0, added.stderr
    proc = subprocess.Popen([sys.executable, "-m", "vericount", "--case", str(case_dir), "reposts",
                             "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    below: set[tuple[int, bytes]] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        below = _descendants(proc.pid)
        if len(below) >= 4:  # the forkserver, its two workers, the resource tracker
            break
        time.sleep(0.05)
    assert proc.poll() is None and len(below) >= 4, f"the pool never started: {below}"
    time.sleep(1.0)  # the workers are into their items
    below |= _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = time.monotonic()
    while _running(below) and time.monotonic() - killed < 10:
        time.sleep(0.05)
    gone_after = time.monotonic() - killed
    left = _running(below)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} of {len(below)} child processes still ran 10 s after kill -9"
    assert gone_after < 2.0, f"the child processes took {gone_after:.1f} s to go"
