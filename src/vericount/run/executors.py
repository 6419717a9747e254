"""Executors run one function over many tasks and hand back each outcome as it arrives.

The interface is one method, so a cluster executor runs next to ``local`` without touching any stage: stages
give a picklable function and picklable tasks. ``ray`` (run/ray_executor.py) is the cluster one.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Generic, TypeVar

from vericount.errors import InvalidValue, VericountError

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Failure:
    message: str  # one line for the user
    trace: str  # for --debug


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    task: T
    result: R | None
    failure: Failure | None
    seconds: float


def call(fn: Callable[[T], R], task: T) -> Outcome[T, R]:
    """Run one task, turning an exception into a recorded failure. Runs inside the worker."""
    import time

    start = time.perf_counter()
    try:
        result = fn(task)
    except VericountError as exc:
        return Outcome(task, None, Failure(str(exc), traceback.format_exc()), _since(start))
    except Exception as exc:  # noqa: BLE001 - a bug or an unexpected library error must not stop the batch
        message = f"unexpected {type(exc).__name__}: {exc}".splitlines()[0]
        return Outcome(task, None, Failure(message, traceback.format_exc()), _since(start))
    return Outcome(task, result, None, _since(start))


def call_many(fn: Callable[[T], R], tasks: list[T]) -> list[Outcome[T, R]]:
    return [call(fn, task) for task in tasks]


def _since(start: float) -> float:
    import time

    return time.perf_counter() - start


class Executor(ABC):
    name: str

    @abstractmethod
    def run(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[Outcome[T, R]]:
        """Yield one Outcome per task, in any order. ``fn`` and the tasks must be picklable."""

    def check(self) -> None:  # noqa: B027 - most executors have nothing to check
        """Refuse now, before any work, what would keep this executor from running (commands call it)."""


class SerialExecutor(Executor):
    """Everything in this process, in order: for one item, for tests, for debugging."""

    name = "serial"

    def run(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[Outcome[T, R]]:
        for task in tasks:
            yield call(fn, task)


class LocalExecutor(Executor):
    """A pool of worker processes on this machine. A worker that dies (a decoder crash) costs only the
    task it was running: the pool is rebuilt and the tasks that were in flight are retried one at a time.
    Workers end with the process that owns the pool, even when it is killed (see ``_die_with``).
    """

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs or os.cpu_count() or 1

    def run(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[Outcome[T, R]]:
        """Tasks may be a list or a stream (consumed as it comes, for pipelines)."""
        if isinstance(tasks, Sized):
            if self.jobs == 1 or len(tasks) <= 1:
                yield from SerialExecutor().run(fn, tasks)
                return
            # Small tasks travel in chunks so inter-process overhead stays small next to the work.
            chunk = max(1, min(32, len(tasks) // (self.jobs * 8)))
        else:
            chunk = 8
        pending: Iterable[T] = tasks
        while True:
            in_flight: list[T] = []
            rest: list[T] = []
            yield from _pool_run(fn, iter(pending), self.jobs, chunk, in_flight, rest)
            for task in in_flight:  # each alone, so a crash is pinned on the task that caused it
                crashed: list[T] = []
                yield from _pool_run(fn, iter([task]), 1, 1, crashed, [])
                if crashed:
                    yield Outcome(task, None, Failure("the worker process crashed on this item", ""),
                                  0.0)
            if not rest:
                return
            pending = rest


def _pool_run(fn: Callable[[T], R], todo: Iterator[T], jobs: int, chunk: int, in_flight: list[T],
              rest: list[T]) -> Iterator[Outcome[T, R]]:
    """Run tasks in a fresh pool. If a worker dies, stop: the tasks that were running go to
    ``in_flight`` (one of them is the culprit) and those never started go to ``rest``."""
    import multiprocessing

    chunks = iter(lambda: list(islice(todo, chunk)), [])
    ctx = multiprocessing.get_context("forkserver")  # no inherited threads or locks, unlike fork
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_die_with,
                             initargs=(os.getpid(),)) as pool:
        running: dict[Future[list[Outcome[T, R]]], list[T]] = {}

        def fill() -> None:
            for tasks in chunks:
                running[pool.submit(call_many, fn, tasks)] = tasks
                if len(running) >= jobs * 3:
                    break

        fill()
        broken = False
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                tasks = running.pop(fut)
                try:
                    yield from fut.result()
                except BrokenProcessPool:
                    broken = True
                    in_flight.extend(tasks)
            if broken:
                for tasks in running.values():
                    in_flight.extend(tasks)
                for tasks in chunks:
                    rest.extend(tasks)
                return
            fill()


PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_SECONDS = 0.25


def _die_with(owner: int) -> None:
    """Worker initializer: end this worker when the pool's owner ends, kill -9 included, rather than when
    its current item is done (a long video: minutes). A worker's parent is the forkserver, which exits
    when the owner does; on Linux the kernel then kills the worker (PR_SET_PDEATHSIG). A thread also
    watches the owner and the parent, for other systems and for a parent that lingers."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent or not _alive(owner):  # gone before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(owner, parent), name="vericount-owner-watch",
                     daemon=True).start()


def _watch(owner: int, parent: int) -> None:
    while os.getppid() == parent and _alive(owner):
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    proc = Path("/proc")
    if (proc / "self").exists():
        try:
            state = (proc / str(pid) / "stat").read_bytes().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            return False
        return state not in (b"Z", b"X")
    try:  # no /proc: ask the kernel
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ray(jobs: int | None, address: str | None) -> Executor:
    from vericount.run.ray_executor import RayExecutor  # Ray is an optional extra: imported when chosen

    return RayExecutor(jobs, address)


EXECUTORS: dict[str, Callable[[int | None, str | None], Executor]] = {
    "local": lambda jobs, _address: LocalExecutor(jobs),
    "serial": lambda _jobs, _address: SerialExecutor(),
    "ray": _ray,
}


def get_executor(name: str = "local", jobs: int | None = None, address: str | None = None) -> Executor:
    """The executor called ``name``; ``address`` is the cluster's, for executors that have one (ray)."""
    try:
        factory = EXECUTORS[name]
    except KeyError:
        raise InvalidValue(f"executor {name!r} is unknown; known: {', '.join(EXECUTORS)}") from None
    if jobs is not None and jobs < 1:
        raise InvalidValue(f"--jobs must be 1 or more, not {jobs}")
    if address is not None and name != "ray":
        raise InvalidValue(f"--address is for the ray executor, not {name!r}")
    return factory(jobs, address)
