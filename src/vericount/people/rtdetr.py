"""RT-DETR person detectors a user adds (people/layouts.py tells the two exports apart).

RT-DETR (Zhao et al. 2023) predicts a fixed set of boxes (300 queries) and needs no non-maximum suppression
of its own; both exports take the picture stretched to the model's square input (no letterbox), RGB 0..1.

- ultralytics' export (``yolo export model=rtdetr-l.pt format=onnx``): one output ``[1, 300, 4 + classes]``,
  each row cx, cy, w, h in 0..1 of the input then the classes' sigmoid scores, no objectness (read from
  ultralytics' ``RTDETRDecoder.forward`` and ``RTDETRPredictor``: it scale-fills the picture and multiplies
  the 0..1 boxes by the original width and height).
- the authors' export (lyuwenyu/RT-DETR ``tools/export_onnx.py``, rtdetr_pytorch and rtdetrv2_pytorch): the
  model and its post-processor in deploy mode. Inputs ``images`` ``[N, 3, S, S]`` and ``orig_target_sizes``
  ``[N, 2]`` (width, height, int64); outputs ``labels`` (the class index of the top-300 class-query pairs,
  before any COCO category remapping: person = 0), ``boxes`` (x0, y0, x1, y1 in pixels of
  orig_target_sizes) and ``scores`` (sigmoid).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vericount.people.detect import Detection, _nms
from vericount.people.runtime import session

if TYPE_CHECKING:
    from numpy.typing import NDArray

NMS_IOU = 0.5  # as the YOLO reader: the same query can come back twice from the authors' top-k


def stretched(image: NDArray[np.uint8], size: int) -> NDArray[np.float32]:
    """The picture resized to size x size (aspect not kept), RGB 0..1, as [1, 3, size, size]."""
    import cv2

    height, width = image.shape[:2]
    small = size * size < width * height
    resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if small else cv2.INTER_LINEAR)
    blob: NDArray[np.float32] = (resized.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(blob)


def decode_rtdetr(raw: NDArray[np.float32], min_score: float, person_class: int, width: int, height: int
                  ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Person boxes (x0, y0, x1, y1 in pixels of a width x height frame) and scores from ultralytics' RT-DETR
    output ``[1, queries, 4 + classes]``."""
    rows = raw[0]
    person = rows[:, 4 + person_class]
    keep = person >= min_score
    cx, cy, w, h = (rows[keep, i] for i in range(4))
    boxes = np.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width,
                      (cy + h / 2) * height], axis=1).astype(np.float32)
    return boxes, person[keep].astype(np.float32)


def decode_rtdetr_own(labels: NDArray[np.int64], boxes: NDArray[np.float32], scores: NDArray[np.float32],
                      min_score: float, person_class: int
                      ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Person boxes and scores from the authors' export (boxes already in pixels of orig_target_sizes)."""
    keep = (labels[0].astype(np.int64) == person_class) & (scores[0] >= min_score)
    return boxes[0][keep].astype(np.float32).reshape(-1, 4), scores[0][keep].astype(np.float32)


class RtDetrUltralytics:
    """ultralytics' RT-DETR ONNX export."""

    def __init__(self, path: Path, name: str, person_class: int = 0, min_score: float = 0.35,
                 threads: int = 1) -> None:
        self.session = session(str(path), threads)
        self.size = int(self.session.get_inputs()[0].shape[2])
        self.name, self.person_class, self.min_score = name, person_class, min_score
        self._input = self.session.get_inputs()[0].name

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        height, width = image.shape[:2]
        if height < 2 or width < 2:
            return []
        raw = self.session.run(None, {self._input: stretched(image, self.size)})[0]
        boxes, scores = decode_rtdetr(raw, self.min_score, self.person_class, width, height)
        found: list[Detection] = _nms(boxes, scores, NMS_IOU, (width, height))
        return found


class RtDetrOwn:
    """RT-DETR's own ONNX export (lyuwenyu/RT-DETR tools/export_onnx.py)."""

    def __init__(self, path: Path, name: str, person_class: int = 0, min_score: float = 0.35,
                 threads: int = 1) -> None:
        self.session = session(str(path), threads)
        inputs = {i.name: i for i in self.session.get_inputs()}
        self.size = int(inputs["images"].shape[2])
        kind = inputs["orig_target_sizes"].type
        self._sizes = {"tensor(int32)": np.int32, "tensor(float)": np.float32}.get(kind, np.int64)
        self.name, self.person_class, self.min_score = name, person_class, min_score

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        height, width = image.shape[:2]
        if height < 2 or width < 2:
            return []
        labels, boxes, scores = self.session.run(
            ["labels", "boxes", "scores"],
            {"images": stretched(image, self.size), "orig_target_sizes": np.array([[width, height]],
                                                                                  self._sizes)})
        kept, kept_scores = decode_rtdetr_own(labels, boxes, scores, self.min_score, self.person_class)
        found: list[Detection] = _nms(kept, kept_scores, NMS_IOU, (width, height))
        return found
