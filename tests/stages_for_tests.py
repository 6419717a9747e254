"""Stages used by the runner tests, and ``put``, which stores an item for them. Module-level so that worker
processes can unpickle them."""

from __future__ import annotations

import functools
import io
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.orm import Session

from vericount.errors import ProbeError
from vericount.run.stage import Stage, Task
from vericount.store.schema import Item, utcnow

if TYPE_CHECKING:
    from vericount.case import Case


def put(case: Case, data: bytes) -> str:
    """``data`` stored in the case as a text item (no ingest): what the runner tests run stages on."""
    stored = case.evidence.put_stream(io.BytesIO(data))
    with case.session() as s:
        s.add(Item(id=stored.sha256, kind="text", media_type="text/plain", size=stored.size,
                   added_at=utcnow(), added_by="tester", status="unreviewed"))
    return stored.sha256


class SizeStage(Stage[int]):
    """Reads the stored file's size; fails on files whose first byte is 'F'; crashes on 'K'."""

    name = "size"
    version = "1"
    calls: ClassVar[list[str]] = []

    def __init__(self, factor: int = 1) -> None:
        self.factor = factor

    def params(self) -> dict[str, Any]:
        return {"factor": self.factor}

    def compute(self, task: Task) -> int:
        data = task.path.read_bytes()
        if data[:1] == b"F":
            raise ProbeError("this file starts with F")
        if data[:1] == b"K":
            os._exit(9)  # a worker dying as a decoder crash would kill it
        return len(data) * self.factor

    def save(self, session: Session, item: Item, result: int) -> str | None:
        SizeStage.calls.append(item.id)
        meta = dict(item.media_meta or {})
        meta["size_seen"] = result
        item.media_meta = meta
        return None


class NeedsSize(SizeStage):
    name = "needs_size"
    needs = ("size",)


class SlowStage(SizeStage):
    """For killing a worker mid-task: an item whose file starts with 'S' writes its worker's pid to
    $VERICOUNT_TEST_PIDS/<item id>.pid, then works for two seconds."""

    name = "slow"

    def compute(self, task: Task) -> int:
        if task.path.read_bytes()[:1] == b"S":
            folder = Path(os.environ["VERICOUNT_TEST_PIDS"])
            (folder / f"{task.item_id}.tmp").write_text(str(os.getpid()))
            (folder / f"{task.item_id}.tmp").replace(folder / f"{task.item_id}.pid")
            time.sleep(2.0)
        return super().compute(task)


class ModelStage(SizeStage):
    """Uses a "model" that each worker process loads once (a cache, as the real stages' detectors and
    readers are) and that records every load in $VERICOUNT_TEST_PIDS/loads."""

    name = "model"

    def compute(self, task: Task) -> int:
        return _model() + super().compute(task)


@functools.cache
def _model() -> int:
    with (Path(os.environ["VERICOUNT_TEST_PIDS"]) / "loads").open("a") as f:
        f.write(f"{os.getpid()}\n")
    return 0
