"""What a stage is.

A stage turns one item's stored file into a result. :meth:`Stage.compute` runs wherever the executor puts
it (another process, another machine) and sees only a :class:`Task`; it must not touch the database.
:meth:`Stage.save` runs in the process that owns the case and writes the result in the same transaction
as the stage's state. Nothing in the runner knows any stage by name.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:  # workers import stages: keep the database layer out of them
    from sqlalchemy.orm import Session

    from vericount.store.schema import Item

R = TypeVar("R")


@dataclass(frozen=True)
class Task:
    """Everything compute() may use: picklable, no database handle."""

    item_id: str
    kind: str
    path: Path


class Stage(ABC, Generic[R]):
    name: ClassVar[str]
    version: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()  # stages that must be done on an item first

    def params(self) -> dict[str, Any]:
        """Settings that change the result; a change makes earlier results stale."""
        return {}

    def accepts(self, item: Item) -> bool:
        """Whether this stage applies to the item at all (by kind, say)."""
        return True

    @abstractmethod
    def compute(self, task: Task) -> R:
        """Do the work. Raise a VericountError with a clear message for bad input."""

    @abstractmethod
    def save(self, session: Session, item: Item, result: R) -> str | None:
        """Write the result; return a short note for the user (a warning), or None."""

    def params_hash(self) -> str:
        blob = json.dumps(self.params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()
