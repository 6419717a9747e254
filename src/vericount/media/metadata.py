"""The ``metadata`` stage: technical metadata of each stored original (see docs/metadata.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vericount.media.probe import Probed, probe
from vericount.run.stage import Stage, Task

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.store.schema import Item

MAX_IMAGE_PIXELS = 250_000_000
VFR_PACKETS = 2000


class MetadataStage(Stage[Probed]):
    name = "metadata"
    version = "1"

    def params(self) -> dict[str, Any]:
        return {"max_image_pixels": MAX_IMAGE_PIXELS, "vfr_packets": VFR_PACKETS}

    def compute(self, task: Task) -> Probed:
        kind: Any = task.kind
        return probe(task.path, kind, max_image_pixels=MAX_IMAGE_PIXELS, vfr_packets=VFR_PACKETS)

    def save(self, session: Session, item: Item, result: Probed) -> str | None:
        item.kind = result.kind
        item.media_meta = result.metadata
        return "; ".join(result.warnings) or None
