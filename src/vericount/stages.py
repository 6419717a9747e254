"""Every stage vericount runs, by name. A stage's module is imported only when the stage is used."""

from __future__ import annotations

from vericount.claims.stage import ClaimsStage
from vericount.media.metadata import MetadataStage
from vericount.people.stage import PeopleStage
from vericount.reposts.stage import RepostsStage
from vericount.text.ocr import OcrStage
from vericount.text.speech import SpeechStage

STAGES = {
    MetadataStage.name: MetadataStage,
    RepostsStage.name: RepostsStage,
    PeopleStage.name: PeopleStage,
    ClaimsStage.name: ClaimsStage,
    OcrStage.name: OcrStage,
    SpeechStage.name: SpeechStage,
}

__all__ = ["STAGES", "ClaimsStage", "MetadataStage", "OcrStage", "PeopleStage", "RepostsStage", "SpeechStage"]
