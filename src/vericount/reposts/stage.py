"""The ``reposts`` stage: fingerprint each image and video (in a worker), store the fingerprint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vericount.reposts.fingerprint import Fingerprint, Fingerprinter
from vericount.run.stage import Stage, Task

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.store.schema import Item


class RepostsStage(Stage[Fingerprint]):
    name = "reposts"
    version = "3"
    needs = ("metadata",)  # the metadata stage tells an animated GIF (a video) from an image

    def __init__(self, fingerprinter: Fingerprinter | None = None) -> None:
        self.fingerprinter = fingerprinter or Fingerprinter()

    def params(self) -> dict[str, Any]:
        return self.fingerprinter.params()

    def accepts(self, item: Item) -> bool:
        return item.kind in ("image", "video")

    def compute(self, task: Task) -> Fingerprint:
        return self.fingerprinter.fingerprint(task.path, task.kind)

    def save(self, session: Session, item: Item, result: Fingerprint) -> str | None:
        from vericount.store.schema import FingerprintRow

        row = session.get(FingerprintRow, item.id) or FingerprintRow(item_id=item.id)
        row.kind, row.duration, row.decoded = result.kind, result.duration, result.decoded
        row.frames, row.dropped, row.shots = len(result.times), result.dropped, result.shots
        row.min_quality, row.data, row.matched = result.min_quality, result.to_bytes(), None
        session.add(row)
        notes = list(result.warnings)
        if result.dropped:
            notes.append(f"{result.dropped} of {len(result.times)} sampled frames too flat to match "
                         f"(PDQ quality < {result.min_quality})")
        return "; ".join(notes) or None
