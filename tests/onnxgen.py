"""Tiny ONNX person detectors in each export layout vericount reads, built with onnx.helper.

Each model's output is a constant (the boxes given) that still depends on the picture (plus 0 x its mean), so
onnxruntime runs the whole graph; RT-DETR's own export scales its 0..1 boxes by ``orig_target_sizes`` as the
real post-processor does. Only the shapes, names and arithmetic of the layouts are real: no weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def _save(path: Path, nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: list[Any],
          metadata: dict[str, str] | None) -> Path:
    graph = helper.make_graph(nodes, "detector", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def _constant_of_image(image: str, const: np.ndarray, out: str) -> tuple[list[Any], list[Any]]:
    """Nodes giving ``out`` = const + 0 * mean(image)."""
    nodes = [helper.make_node("ReduceMean", [image], [f"{out}_mean"], keepdims=0),
             helper.make_node("Mul", [f"{out}_mean", "zero"], [f"{out}_zero"]),
             helper.make_node("Add", [f"{out}_zero", f"{out}_const"], [out])]
    inits = [numpy_helper.from_array(const.astype(np.float32), f"{out}_const")]
    return nodes, inits


def _single(path: Path, size: int, const: np.ndarray, metadata: dict[str, str] | None,
            input_type: int = TensorProto.FLOAT, batch: Any = 1, side: Any = None) -> Path:
    side = size if side is None else side
    image = helper.make_tensor_value_info("images", input_type, [batch, 3, side, side])
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(const.shape))
    if input_type != TensorProto.FLOAT:  # a half-precision export: only its declared input matters here
        nodes = [helper.make_node("Cast", ["images"], ["as_float"], to=TensorProto.FLOAT)]
        more, inits = _constant_of_image("as_float", const, "output0")
        nodes += more
    else:
        nodes, inits = _constant_of_image("images", const, "output0")
    inits.append(numpy_helper.from_array(np.array(0, np.float32), "zero"))
    return _save(path, nodes, [image], [output], inits, metadata)


def yolov8(path: Path, size: int = 256, boxes: list[tuple[float, ...]] = (), classes: int = 80,
           metadata: dict[str, str] | None = None, **kw: Any) -> Path:
    """Output [1, 4 + classes, N], N one box per cell of strides 8, 16, 32; each box (cx, cy, w, h, score,
    class) in input pixels."""
    n = sum((size // s) ** 2 for s in (8, 16, 32))
    const = np.zeros((1, 4 + classes, n), np.float32)
    for j, (cx, cy, w, h, score, cls) in enumerate(boxes):
        const[0, :4, j] = [cx, cy, w, h]
        const[0, 4 + int(cls), j] = score
    return _single(path, size, const, metadata, **kw)


def yolov5_boxes(size: int) -> int:
    return 3 * sum((size // s) ** 2 for s in (8, 16, 32))


def yolov5(path: Path, size: int = 64, boxes: list[tuple[float, ...]] = (), classes: int = 80) -> Path:
    """Output [1, N, 5 + classes], N the boxes of 3 anchors on strides 8, 16, 32; each box (cx, cy, w, h,
    objectness, class score, class)."""
    const = np.zeros((1, yolov5_boxes(size), 5 + classes), np.float32)
    for j, (cx, cy, w, h, obj, score, cls) in enumerate(boxes):
        const[0, j, :5] = [cx, cy, w, h, obj]
        const[0, j, 5 + int(cls)] = score
    return _single(path, size, const, None)


def rtdetr_ultralytics(path: Path, size: int = 64, boxes: list[tuple[float, ...]] = (), classes: int = 80,
                       metadata: dict[str, str] | None = None) -> Path:
    """Output [1, 300, 4 + classes]; each box (cx, cy, w, h in 0..1, score, class)."""
    const = np.zeros((1, 300, 4 + classes), np.float32)
    for j, (cx, cy, w, h, score, cls) in enumerate(boxes):
        const[0, j, :4] = [cx, cy, w, h]
        const[0, j, 4 + int(cls)] = score
    return _single(path, size, const, metadata)


def rtdetr_own(path: Path, size: int = 64, boxes: list[tuple[float, ...]] = ()) -> Path:
    """RT-DETR's own export: inputs images [N, 3, S, S] and orig_target_sizes [N, 2] int64 (width, height);
    outputs labels [N, 300] int64, boxes [N, 300, 4] (x0, y0, x1, y1 in pixels of orig_target_sizes) and
    scores [N, 300]. Each box (x0, y0, x1, y1 in 0..1, label, score)."""
    norm = np.zeros((1, 300, 4), np.float32)
    labels = np.full((1, 300), 7, np.int64)
    scores = np.zeros((1, 300), np.float32)
    for j, (x0, y0, x1, y1, label, score) in enumerate(boxes):
        norm[0, j] = [x0, y0, x1, y1]
        labels[0, j], scores[0, j] = label, score
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, size, size]),
              helper.make_tensor_value_info("orig_target_sizes", TensorProto.INT64, ["N", 2])]
    outputs = [helper.make_tensor_value_info("labels", TensorProto.INT64, ["N", 300]),
               helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["N", 300, 4]),
               helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 300])]
    nodes, inits = _constant_of_image("images", scores, "scores")
    nodes += [
        helper.make_node("Cast", ["orig_target_sizes"], ["wh"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["wh", "wh"], ["whwh"], axis=1),  # [N, 4]: w, h, w, h
        helper.make_node("Unsqueeze", ["whwh", "axis1"], ["scale"]),  # [N, 1, 4]
        helper.make_node("Mul", ["norm", "scale"], ["boxes"]),
        helper.make_node("Identity", ["labels_const"], ["labels"]),
    ]
    inits += [numpy_helper.from_array(np.array(0, np.float32), "zero"),
              numpy_helper.from_array(norm, "norm"), numpy_helper.from_array(labels, "labels_const"),
              numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    return _save(path, nodes, inputs, outputs, inits, None)


def classifier(path: Path, size: int = 64) -> Path:
    """An image classifier: output [1, 10], no layout a detector has."""
    return _single(path, size, np.zeros((1, 10), np.float32), None)
