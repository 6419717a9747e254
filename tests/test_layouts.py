"""A user's person detector: which export layout a file has, and each layout's boxes in frame pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

from tests import onnxgen
from vericount.errors import InvalidValue
from vericount.people.layouts import DetectorModel, open_detector, read_layout, yolov5_boxes
from vericount.people.rtdetr import decode_rtdetr, decode_rtdetr_own
from vericount.people.runtime import bundled_model

COCO = "{0: 'person', 1: 'bicycle', 2: 'car'}"


def _read(path: Path) -> object:
    return read_layout(path.read_bytes(), str(path))


def test_each_layout_is_recognised(tmp_path: Path) -> None:
    v8 = _read(onnxgen.yolov8(tmp_path / "v8.onnx", size=256))
    assert (v8.layout, v8.input_size, v8.classes) == ("yolov8", 256, 80)  # type: ignore[attr-defined]
    v5 = _read(onnxgen.yolov5(tmp_path / "v5.onnx", size=64))
    assert (v5.layout, v5.input_size, v5.classes) == ("yolov5", 64, 80)  # type: ignore[attr-defined]
    rt = _read(onnxgen.rtdetr_ultralytics(tmp_path / "rt.onnx", size=64))
    assert (rt.layout, rt.classes) == ("rtdetr-ultralytics", 80)  # type: ignore[attr-defined]
    own = _read(onnxgen.rtdetr_own(tmp_path / "own.onnx", size=64))
    assert (own.layout, own.input_size, own.classes) == ("rtdetr", 64, None)  # type: ignore[attr-defined]
    assert yolov5_boxes(640) == (25200, 25500)  # YOLOv5's [1, 25200, 85] at 640


def test_ultralytics_metadata_tells_rtdetr_and_names_the_person_class(tmp_path: Path) -> None:
    # 3 classes: [1, 300, 7] could be a YOLOv5-style row of 2 classes; the metadata says RT-DETR
    meta = {"author": "Ultralytics", "description": "Ultralytics rtdetr-l model trained on x.yaml",
            "task": "detect", "names": "{0: 'car', 1: 'person', 2: 'dog'}",
            "license": "AGPL-3.0 License (https://ultralytics.com/license)"}
    layout = read_layout(onnxgen.rtdetr_ultralytics(tmp_path / "r.onnx", classes=3, metadata=meta)
                         .read_bytes(), "r.onnx")
    assert (layout.layout, layout.classes, layout.person_class()) == ("rtdetr-ultralytics", 3, 1)
    assert layout.licence is not None and "AGPL" in layout.licence
    # an ultralytics end-to-end output of 300 boxes that is not RT-DETR is not guessed at
    e2e = onnxgen.rtdetr_ultralytics(tmp_path / "e2e.onnx", classes=2,
                                     metadata={"author": "Ultralytics", "task": "detect"})
    with pytest.raises(InvalidValue, match=r"e2e\.onnx: not a detector layout .*output0 \[1, 300, 6\]"):
        _read(e2e)


def test_files_in_no_known_layout_are_refused_with_their_shapes(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match=r"cls\.onnx: not a detector layout vericount reads \(inputs "
                                           r"images \[1, 3, 64, 64\]; outputs output0 \[1, 10\]\)"):
        _read(onnxgen.classifier(tmp_path / "cls.onnx"))
    nanodet = bundled_model("nanodet_m.onnx")  # a detector, but six outputs of its own layout
    with pytest.raises(InvalidValue, match=r"nanodet_m\.onnx: not a detector layout.*and 2 more"):
        _read(nanodet)
    dynamic = onnxgen.yolov8(tmp_path / "dyn.onnx", size=64, batch="batch", side="height")
    with pytest.raises(InvalidValue, match="fixed square size"):
        _read(dynamic)
    half = onnxgen.yolov8(tmp_path / "half.onnx", size=64, input_type=TensorProto.FLOAT16)
    with pytest.raises(InvalidValue, match=r"float32, not tensor\(float16\)"):
        _read(half)
    pose = onnxgen.yolov8(tmp_path / "pose.onnx", size=64, metadata={"task": "pose"})
    with pytest.raises(InvalidValue, match="an ultralytics 'pose' model"):
        _read(pose)
    wrong = onnxgen.yolov8(tmp_path / "names.onnx", size=128, metadata={"names": COCO})
    with pytest.raises(InvalidValue, match="80 classes but its metadata names 3"):
        _read(wrong)
    with pytest.raises(InvalidValue, match=r"junk\.onnx: not a usable ONNX model"):
        read_layout(b"not a model", "junk.onnx")


def test_ultralytics_rtdetr_rows_become_frame_pixels() -> None:
    raw = np.zeros((1, 300, 84), np.float32)
    raw[0, 0, :4] = [0.5, 0.25, 0.2, 0.5]  # cx, cy, w, h in 0..1 of the (stretched) input
    raw[0, 0, 4] = 0.9  # person
    raw[0, 1, :4] = [0.1, 0.1, 0.1, 0.1]
    raw[0, 1, 6] = 0.95  # a car: not a person
    raw[0, 2, :4] = [0.8, 0.8, 0.1, 0.1]
    raw[0, 2, 4] = 0.2  # a person below the threshold
    boxes, scores = decode_rtdetr(raw, 0.35, 0, 640, 480)
    assert boxes.tolist() == [[256.0, 0.0, 384.0, 240.0]] and scores.tolist() == pytest.approx([0.9])
    boxes, _ = decode_rtdetr(raw, 0.35, 2, 640, 480)  # a model whose person is class 2
    assert boxes.shape == (1, 4) and boxes[0].tolist() == pytest.approx([32.0, 24.0, 96.0, 72.0])


def test_rtdetr_own_outputs_are_kept_for_the_person_label() -> None:
    labels = np.array([[0, 2, 0, 0]], np.int64)
    boxes = np.array([[[10, 20, 110, 220], [0, 0, 5, 5], [50, 50, 60, 60], [1, 2, 3, 4]]], np.float32)
    scores = np.array([[0.8, 0.9, 0.1, 0.5]], np.float32)
    kept, kept_scores = decode_rtdetr_own(labels, boxes, scores, 0.35, 0)
    assert kept.tolist() == [[10, 20, 110, 220], [1, 2, 3, 4]]
    assert kept_scores.tolist() == pytest.approx([0.8, 0.5])
    empty, _ = decode_rtdetr_own(labels, boxes, scores, 0.95, 0)
    assert empty.shape == (0, 4)


@pytest.mark.parametrize("layout", ["yolov8", "yolov5", "rtdetr-ultralytics", "rtdetr"])
def test_each_reader_puts_a_known_box_in_frame_pixels(tmp_path: Path, layout: str) -> None:
    """A 640 x 480 frame; each model reports one person whose box in the frame is (160, 120, 320, 360)."""
    path = tmp_path / f"{layout}.onnx"
    if layout == "yolov8":  # letterboxed into 256: scale 0.4, 32 pixels of grey above and below
        onnxgen.yolov8(path, size=256, boxes=[(96, 128, 64, 96, 0.9, 0), (10, 10, 5, 5, 0.9, 3)])
    elif layout == "yolov5":  # into 64: scale 0.1, 8 pixels above and below
        onnxgen.yolov5(path, size=64, boxes=[(24, 32, 16, 24, 0.9, 1.0, 0), (5, 5, 2, 2, 0.2, 1.0, 0)])
    elif layout == "rtdetr-ultralytics":  # stretched: boxes in 0..1 of the frame
        onnxgen.rtdetr_ultralytics(path, boxes=[(0.375, 0.5, 0.25, 0.5, 0.9, 0)])
    else:
        onnxgen.rtdetr_own(path, boxes=[(0.25, 0.25, 0.5, 0.75, 0, 0.9), (0.0, 0.0, 0.1, 0.1, 1, 0.9)])
    found = read_layout(path.read_bytes(), path.name)
    assert found.layout == layout
    detector = open_detector(path, layout, "test@0123", 0)
    (person,) = detector.detect(np.zeros((480, 640, 3), np.uint8))
    assert person.box == pytest.approx((160.0, 120.0, 320.0, 360.0), abs=0.01)
    assert person.score == pytest.approx(0.9) and detector.name == "test@0123"
    model = DetectorModel("test", "0123456789abcdef" * 4, layout, found.input_size, 0, path)
    assert model.label == "test@0123456789ab" and model.params()["sha256"] == model.sha256
