"""Person detection: the bundled NanoDet on sample photos, tiling, merging, a user's YOLO export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vericount.errors import InvalidValue
from vericount.people.detect import Detection, NanoDet, Tiler, YoloOnnx, decode_yolo, iou
from vericount.people.runtime import bundled_model

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"


def _photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / name).convert("RGB"))


def test_bundled_model_is_the_documented_file() -> None:
    import hashlib

    digest = hashlib.sha256(bundled_model("nanodet_m.onnx").read_bytes()).hexdigest()
    readme = bundled_model("README.md").read_text()
    assert digest in readme


def test_finds_the_people_in_sample_photos() -> None:
    detector = NanoDet()
    biden = _photo("biden.jpg")
    (person,) = detector.detect(biden)
    h, w = biden.shape[:2]
    x0, y0, x1, y1 = person.box
    assert 0 <= x0 < w / 2 < x1 <= w and 0 <= y0 < h / 2 < y1 <= h  # the one person, centred
    assert person.area > 0.2 * w * h
    group = Tiler().detect(detector, _photo("obama_and_biden.jpg"))
    obama, biden = (939, 231, 1925, 1401), (191, 248, 1128, 1395)  # the two men, whole (boxed by the pair)
    assert [max(iou(d.box, man) for d in group) > 0.6 for man in (obama, biden)] == [True, True]
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert detector.detect(np.zeros((1, 1, 3), np.uint8)) == []


def test_tiles_cover_the_frame_with_overlap() -> None:
    tiler = Tiler()
    assert tiler.tiles(640, 480) == []  # small frames are not tiled
    tiles = tiler.tiles(1920, 1080)
    assert len(tiles) >= 4
    covered = np.zeros((1080, 1920), bool)
    for x0, y0, x1, y1 in tiles:
        assert 0 <= x0 < x1 <= 1920 and 0 <= y0 < y1 <= 1080
        covered[y0:y1, x0:x1] = True
    assert covered.all()


class _Fake:
    """A detector that sees a person cut by the tile edge in the left tile and the whole person overall."""

    name = "fake"

    def detect(self, image: np.ndarray) -> list[Detection]:
        w = image.shape[1]
        if w == 1920:  # the whole frame
            return [Detection((900.0, 100.0, 1100.0, 700.0), 0.9)]
        if image[0, 0, 0] == 1:  # the left tile: the same person, cut at its right edge
            return [Detection((900.0, 100.0, float(w), 700.0), 0.8)]
        return []


def test_tile_cut_boxes_give_way_to_whole_ones() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[0, 0, 0] = 1
    merged = Tiler().detect(_Fake(), frame)
    assert [d.box for d in merged] == [(900.0, 100.0, 1100.0, 700.0)]


class _Behind:
    """The whole frame sees one man in front; a tile sees, wholly inside it and taller than half of it, a
    second man half hidden behind him, or, for a lone man, his upper half (a piece of him)."""

    name = "behind"

    def __init__(self, lone: bool) -> None:
        self.lone = lone

    def detect(self, image: np.ndarray) -> list[Detection]:
        if image.shape[1] == 1920:
            return [Detection((800.0, 300.0, 1000.0, 1000.0), 0.9)]
        if image[0, 0, 0] == 1:  # the second tile of the top row (x from 452, y from 0, 600 tall)
            if self.lone:
                return [Detection((800.0 - 452, 260.0, 1000.0 - 452, 590.0), 0.7)]  # his upper half
            return [Detection((880.0 - 452, 150.0, 990.0 - 452, 560.0), 0.6)]  # a head above his shoulder
        return []


def test_a_tall_tile_box_stays_unless_it_is_a_piece_of_a_larger_one() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    tiler = Tiler()
    assert (452, 0, 1017, 600) in tiler.tiles(1920, 1080)
    frame[0, 452, 0] = 1
    both = tiler.detect(_Behind(lone=False), frame)
    assert sorted(d.box for d in both) == [(800.0, 300.0, 1000.0, 1000.0), (880.0, 150.0, 990.0, 560.0)]
    lone = tiler.detect(_Behind(lone=True), frame)
    assert [d.box for d in lone] == [(800.0, 300.0, 1000.0, 1000.0)]


def test_yolo_outputs_in_both_layouts() -> None:
    v8 = np.zeros((1, 84, 100), np.float32)
    v8[0, :4, 0] = [100, 100, 40, 80]
    v8[0, 4, 0] = 0.9  # person
    v8[0, :4, 1] = [200, 200, 10, 10]
    v8[0, 5, 1] = 0.9  # a bicycle: not a person
    boxes, scores = decode_yolo(v8, 0.3)
    assert boxes.tolist() == [[80.0, 60.0, 120.0, 140.0]] and scores.tolist() == pytest.approx([0.9])
    v5 = np.zeros((1, 2, 85), np.float32)
    v5[0, 0, :6] = [50, 50, 20, 20, 0.8, 0.9]
    v5[0, 1, :6] = [60, 60, 20, 20, 0.2, 0.9]
    boxes, scores = decode_yolo(v5, 0.3)
    assert boxes.tolist() == [[40.0, 40.0, 60.0, 60.0]] and scores.tolist() == pytest.approx([0.72])


def test_a_bad_detector_file_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match="no such file"):
        YoloOnnx(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(InvalidValue, match=r"junk\.onnx: not a usable ONNX model"):
        YoloOnnx(junk)
    with pytest.raises(InvalidValue, match=r"output must be \[1, 4 \+ classes, N\]"):
        YoloOnnx(bundled_model("nanodet_m.onnx"))  # an ONNX detector, but not in YOLO's layout
