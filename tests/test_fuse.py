"""The bundled SSD-MobileNetV2 on sample photos, and weighted box fusion of several detectors' boxes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vericount.people.detect import Detection
from vericount.people.fuse import FusedDetector, cluster, fuse
from vericount.people.runtime import bundled_model
from vericount.people.score import CalibratedScore
from vericount.people.ssd import SSD_FILE, SsdMobileNet
from vericount.people.stage import _bundled

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
    clusters = cluster([a, b])
    assert [c.scores for c in clusters] == [(0.9, 0.9), (0.6, 0.0)]  # each source's best, 0 where unseen


def test_the_calibrated_score_keeps_the_order_and_reads_as_a_probability() -> None:
    score = CalibratedScore()
    means = np.linspace(0, 1, 101)
    values = [score(float(m)) for m in means]
    assert values == sorted(values)  # monotone: the ranking of the mean stays
    assert values[0] > 0 and values[-1] < 1  # never certain either way
    assert score(0.05) < 0.05 and score(0.4) > 0.8  # a box both models barely see, one SSD alone sees at 0.8
    with pytest.raises(ValueError):
        CalibratedScore(((0.0, 0.5), (1.0, 0.2)))


def test_the_stage_pair_proposes_the_four_people_of_the_group_photo_and_one_per_portrait() -> None:
    detector = _bundled()
    found = detector.detect(_as_sampled("obama_and_biden.jpg"))
    assert len(found) == 4
    assert all(d.score >= 0.25 for d in found)
    assert sorted(d.score for d in found)[-2] > 0.9  # Biden and Obama: both models, whole people
    (person,) = detector.detect(_as_sampled("obama_partial_face.jpg"))
    assert person.score > 0.9  # a close-up's upper half found in a tile gives way to the whole person
    mirrored = FusedDetector([SsdMobileNet(min_score=0.5)], flip=True)
    (person,) = mirrored.detect(_photo("biden.jpg"))  # the mirrored pass lands on the same person
    assert person.score > 0.8


def _as_sampled(name: str) -> np.ndarray:
    """The photo as the people stage samples it (longer side at most 1280)."""
    import cv2

    image = _photo(name)
    scale = min(1.0, 1280 / max(image.shape[:2]))
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
