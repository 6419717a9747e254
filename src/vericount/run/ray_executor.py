"""The ``ray`` executor: a stage's work on a Ray cluster (PyPI ``ray``, the optional extra
``vericount[cluster]``; imported only when this executor is chosen).

What crosses the network is small: the stage (its settings; heavy models are loaded by each worker process
once, from the installed package, and kept for the next task, as in the local pool) and tasks that carry an
item's id and the path of its original in the evidence store. Workers read that path, so every Ray node must
see the case folder at the same path (a shared filesystem: NFS or the like), and every node must have the same
vericount installed. Results come back to the process that runs the command, which alone writes the database.

Tasks travel in chunks, as in the local pool. A chunk whose worker died (killed, out of memory, its node lost)
is not retried as a whole: each of its tasks runs again alone, so that one item that crashes its decoder
costs only itself, and a task whose worker dies again is recorded on its item as failed. Ray runs each task
at most ``ALONE_TRIES`` times alone; only the result of the run that finished comes back, so nothing is
written twice.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sized
from itertools import islice
from typing import Any, TypeVar

from vericount.errors import InvalidValue
from vericount.run.executors import Executor, Failure, Outcome, call_many

T = TypeVar("T")
R = TypeVar("R")

ALONE_TRIES = 2  # a task whose worker died is run alone up to this many times before it is a failure
IN_FLIGHT_PER_CPU = 3  # chunks submitted per CPU of the cluster ahead of the results
NOT_INSTALLED = "the ray executor needs Ray: pip install 'vericount[cluster]'"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InvalidValue(NOT_INSTALLED) from None
    return ray


class RayExecutor(Executor):
    """Tasks on a Ray cluster: the one at ``address`` (``HOST:PORT`` of its head, or ``auto`` for the one this
    machine belongs to), else a Ray instance started on this machine with ``jobs`` CPUs (default: all)."""

    name = "ray"

    def __init__(self, jobs: int | None = None, address: str | None = None) -> None:
        self.jobs = jobs
        self.address = address or None

    def check(self) -> None:
        """A missing Ray, or an address nobody answers at (a run with nothing pending would not connect at
        all)."""
        _ray()
        if self.address:
            _reachable(self.address)

    def connect(self) -> Any:
        """Ray, connected (started, for a local instance) once per process."""
        ray = _ray()
        if ray.is_initialized():
            return ray
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING, "include_dashboard": False}
        if self.address:
            _reachable(self.address)  # Ray itself waits for minutes on an address nobody answers at
        try:
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(num_cpus=self.jobs or os.cpu_count() or 1, **quiet)
        except (ConnectionError, TimeoutError, ValueError, RuntimeError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise InvalidValue(f"could not reach {where}: {str(exc).strip().splitlines()[0]}") from None
        return ray

    def cpus(self, ray: Any) -> int:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def run(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[Outcome[T, R]]:
        ray = self.connect()
        cpus = self.cpus(ray)
        # as in the local pool: chunks small enough to spread the work, big enough to hide the overhead
        chunk = max(1, min(32, len(tasks) // (cpus * 8))) if isinstance(tasks, Sized) else 8
        fn_ref = ray.put(fn)  # sent to each node once, not with every task
        together = ray.remote(num_cpus=1, max_retries=0)(call_many)
        alone = ray.remote(num_cpus=1, max_retries=ALONE_TRIES - 1)(call_many)
        todo = iter(tasks)
        chunks = iter(lambda: list(islice(todo, chunk)), [])
        running: dict[Any, tuple[list[T], bool]] = {}  # object ref -> (its tasks, run alone)

        def fill() -> None:
            for part in chunks:
                running[together.remote(fn_ref, part)] = (part, False)
                if len(running) >= cpus * IN_FLIGHT_PER_CPU:
                    break

        fill()
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            ref = ready[0]
            part, was_alone = running.pop(ref)
            try:
                outcomes: list[Outcome[T, R]] = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the worker could not run the code at all
                message = _first_line(exc.cause if exc.cause is not None else exc)
                failure = Failure(f"the Ray worker could not run it: {message}", str(exc))
                for task in part:
                    yield Outcome(task, None, failure, 0.0)
            except ray.exceptions.RayError as exc:  # the worker (or its node) died
                if was_alone:
                    yield Outcome(part[0], None, Failure(
                        f"the worker process crashed on this item ({type(exc).__name__})", str(exc)), 0.0)
                else:
                    for task in part:  # each alone, so a crash is pinned on the task that caused it
                        running[alone.remote(fn_ref, [task])] = ([task], True)
            else:
                yield from outcomes
            fill()


CONNECT_SECONDS = 10.0


def _reachable(address: str) -> None:
    """Refuse at once, in one line, a ``HOST:PORT`` at which nothing answers (``auto`` and ``ray://`` are
    Ray's to resolve)."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidValue(f"--address {address!r}: HOST:PORT of the Ray head is expected (or auto)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise InvalidValue(f"could not reach the Ray cluster at {address}: "
                           f"{exc.strerror or type(exc).__name__}") from None


def _first_line(exc: BaseException) -> str:
    lines = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return lines[0] if lines else type(exc).__name__
