"""The bundled SSD-MobileNetV2 on sample photos, and weighted box fusion of several detectors' boxes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vericount.people.detect import Detection
from vericount.people.fuse import FusedDetector, fuse
from vericount.people.runtime import bundled_model
from vericount.people.ssd import SSD_FILE, SsdMobileNet

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"


def _photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / name).convert("RGB"))


def test_the_ssd_file_is_the_documented_one_with_its_licence() -> None:
    digest = hashlib.sha256(bundled_model(SSD_FILE).read_bytes()).hexdigest()
    assert digest in bundled_model("README.md").read_text()
    assert "Apache" in bundled_model("ssd_mobilenetv2_coco.LICENSE.txt").read_text()


def test_ssd_finds_the_one_person_centred() -> None:
    biden = _photo("biden.jpg")
    (person,) = SsdMobileNet(min_score=0.5).detect(biden)
    h, w = biden.shape[:2]
    x0, y0, x1, y1 = person.box
    assert 0 <= x0 < w / 2 < x1 <= w and 0 <= y0 < h / 2 < y1 <= h
    assert person.score > 0.8
    assert SsdMobileNet().detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert SsdMobileNet().detect(np.zeros((1, 1, 3), np.uint8)) == []


def test_fusion_averages_agreeing_boxes_and_discounts_a_lone_one() -> None:
    a = [Detection((0, 0, 100, 200), 0.9), Detection((300, 0, 340, 80), 0.6)]
    b = [Detection((10, 0, 110, 200), 0.9)]
    fused = fuse([a, b], iou=0.55)
    assert len(fused) == 2
    both, lone = fused
    assert both.box == pytest.approx((5, 0, 105, 200))  # equal weights: the mean box
    assert both.score == pytest.approx(0.9)
    assert lone.score == pytest.approx(0.3)  # one source of two saw it
    assert [d.score for d in fuse([a, b], min_score=0.5)] == [pytest.approx(0.9)]


def test_the_fused_pair_finds_the_four_people_of_the_group_photo() -> None:
    from vericount.people.detect import NanoDet

    detector = FusedDetector([NanoDet(min_score=0.15), SsdMobileNet(min_score=0.4)], flip=False,
                             min_score=0.175)
    assert len(detector.detect(_photo("obama_and_biden.jpg"))) == 4
    mirrored = FusedDetector([SsdMobileNet(min_score=0.5)], flip=True)
    (person,) = mirrored.detect(_photo("biden.jpg"))  # the mirrored pass lands on the same person
    assert person.score > 0.8
