"""The ``metadata`` stage: technical metadata of each stored original (see docs/metadata.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from vericount.media.c2pa import credentials_warning, read_credentials
from vericount.media.probe import Probed, probe
from vericount.run.stage import Stage, Task

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.store.schema import Item

MAX_IMAGE_PIXELS = 250_000_000
VFR_PACKETS = 2000


class MetadataStage(Stage[Probed]):
    name = "metadata"
    version = "2"  # 2: Content Credentials (C2PA) read into "c2pa"

    def params(self) -> dict[str, Any]:
        return {"max_image_pixels": MAX_IMAGE_PIXELS, "vfr_packets": VFR_PACKETS}

    def compute(self, task: Task) -> Probed:
        kind: Any = task.kind
        probed = probe(task.path, kind, max_image_pixels=MAX_IMAGE_PIXELS, vfr_packets=VFR_PACKETS)
        if probed.kind == "text":
            return probed
        credentials = read_credentials(task.path)  # never raises: a bad manifest is an "error" entry
        if credentials is None:
            return probed
        warning = credentials_warning(credentials)
        return replace(probed, metadata={**probed.metadata, "c2pa": credentials},
                       warnings=probed.warnings + ((warning,) if warning else ()))

    def save(self, session: Session, item: Item, result: Probed) -> str | None:
        item.kind = result.kind
        item.media_meta = result.metadata
        return "; ".join(result.warnings) or None
