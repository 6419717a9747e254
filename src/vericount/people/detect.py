"""Person detection on frames: the bundled NanoDet-m (ONNX), or a user's YOLO export, with tiling.

NanoDet-m (COCO, Apache-2.0; the ONNX conversion and its provenance are in ``vericount/models``) takes a
416 x 416 RGB picture scaled to 0..1 and gives, for each of three strides (8, 16, 32), per-cell class
probabilities and a box as four side distances, each a distribution over 11 bins (generalised focal loss):
the distance is the expectation of the softmax, times the stride.

A user-supplied detector (``--detector PATH.onnx``) is read as an ultralytics-style YOLO export: input
``[1, 3, S, S]`` RGB 0..1 letterboxed with grey 114, output ``[1, 4 + classes, N]`` (YOLOv8 and later: cx, cy,
w, h, class scores) or ``[1, N, 5 + classes]`` (YOLOv5: with objectness). Class 0 is a person (COCO) unless
the model was added with another. Which layout a file has: people/layouts.py; RT-DETR: people/rtdetr.py.

Small, distant people vanish when a 1080p frame is squeezed into 416 pixels, so large frames are also cut
into overlapping tiles; the boxes of the whole frame and the tiles are merged by non-maximum suppression, and
a box cut by a tile's inner edge gives way to a box that contains most of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from vericount.errors import InvalidValue
from vericount.people.runtime import bundled_model, session

if TYPE_CHECKING:
    from numpy.typing import NDArray

NANODET_FILE = "nanodet_m.onnx"


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the frame
    score: float

    @property
    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


class Detector(Protocol):
    name: str

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        """People in an RGB frame (height x width x 3), before tiling and merging."""
        ...


class NanoDet:
    """The bundled person detector."""

    name = "nanodet-m-416"
    size = 416
    strides = (8, 16, 32)
    bins = 11
    max_aspect = 4 / 3  # bench/people.py: better than 1 (letterbox) and 16:9

    # bench/people.py: at 0.25 with tiling, precision 1.000, recall 0.826, count MAE 0.79 (labelled photos)
    def __init__(self, min_score: float = 0.25, threads: int = 1, path: Path | None = None) -> None:
        self.min_score = min_score
        self.session = session(str(path or bundled_model(NANODET_FILE)), threads)
        outputs = self.session.get_outputs()
        self._scores = {int(o.shape[1]): o.name for o in outputs if o.shape[2] == 80}
        self._boxes = {int(o.shape[1]): o.name for o in outputs if o.shape[2] == 4 * self.bins}
        self._input = self.session.get_inputs()[0].name

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        import cv2

        height, width = image.shape[:2]
        if height < 2 or width < 2:
            return []
        # NanoDet-m was trained on pictures stretched to a square (keep_ratio False), so frames are stretched
        # too; but a picture longer than max_aspect is padded to that aspect first (a tall photo squeezed
        # into a square splits a person into pieces).
        pad_w = max(width, round(height / self.max_aspect))
        pad_h = max(height, round(width / self.max_aspect))
        sx, sy = self.size / pad_w, self.size / pad_h
        new_w, new_h = max(1, round(width * sx)), max(1, round(height * sy))
        canvas = np.zeros((self.size, self.size, 3), np.uint8)
        canvas[:new_h, :new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA
                                            if sx * sy < 1 else cv2.INTER_LINEAR)
        blob = (canvas.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        names = [self._scores[n] for n in sorted(self._scores)]
        names += [self._boxes[n] for n in sorted(self._boxes)]
        results = dict(zip(names, self.session.run(names, {self._input: blob}), strict=True))
        boxes, scores = [], []
        for stride in self.strides:
            grid = self.size // stride
            cells = grid * grid
            person = results[self._scores[cells]][0, :, 0]
            keep = np.flatnonzero(person >= self.min_score)
            if not len(keep):
                continue
            logits = results[self._boxes[cells]][0, keep].reshape(-1, 4, self.bins)
            logits = logits - logits.max(axis=2, keepdims=True)
            weights = np.exp(logits)
            weights /= weights.sum(axis=2, keepdims=True)
            distance = (weights * np.arange(self.bins)).sum(axis=2) * stride  # left, top, right, bottom
            cx = (keep % grid + 0.5) * stride
            cy = (keep // grid + 0.5) * stride
            boxes.append(np.stack([cx - distance[:, 0], cy - distance[:, 1], cx + distance[:, 2],
                                   cy + distance[:, 3]], axis=1))
            scores.append(person[keep])
        if not boxes:
            return []
        all_boxes = (np.concatenate(boxes) / np.array([sx, sy, sx, sy], np.float32)).astype(np.float32)
        found: list[Detection] = _nms(all_boxes, np.concatenate(scores).astype(np.float32), 0.5,
                                      (width, height))
        return found


class YoloOnnx:
    """A user's YOLO model in the common (ultralytics) ONNX export layout; class 0 is a person."""

    def __init__(self, path: Path, min_score: float = 0.35, threads: int = 1, name: str | None = None,
                 person_class: int = 0) -> None:
        if not path.is_file():
            raise InvalidValue(f"--detector {path}: no such file")
        self.session = session(str(path), threads)
        shape = self.session.get_inputs()[0].shape
        if len(shape) != 4 or not isinstance(shape[2], int) or shape[1] != 3:
            raise InvalidValue(f"--detector {path.name}: input must be [1, 3, S, S] (an ultralytics YOLO "
                               f"ONNX export), not {shape}")
        outputs = self.session.get_outputs()
        out = outputs[0].shape
        if len(outputs) > 2 or len(out) != 3:  # detection exports have one output (segmentation two)
            raise InvalidValue(f"--detector {path.name}: output must be [1, 4 + classes, N] or "
                               f"[1, N, 5 + classes], not {out}")
        self.size = int(shape[2])
        self.min_score = min_score
        self.name = name or f"yolo-onnx:{path.name}"
        self.person_class = person_class
        self._input = self.session.get_inputs()[0].name

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        import cv2

        height, width = image.shape[:2]
        if height < 2 or width < 2:
            return []
        scale = min(self.size / width, self.size / height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        canvas = np.full((self.size, self.size, 3), 114, np.uint8)
        left, top = (self.size - new_w) // 2, (self.size - new_h) // 2
        canvas[top:top + new_h, left:left + new_w] = cv2.resize(image, (new_w, new_h))
        blob = (canvas.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        raw = self.session.run(None, {self._input: blob})[0]
        boxes, scores = decode_yolo(raw, self.min_score, self.person_class)
        boxes = ((boxes - np.array([left, top, left, top], np.float32)) / scale).astype(np.float32)
        found: list[Detection] = _nms(boxes, scores, 0.5, (width, height))
        return found


def decode_yolo(raw: NDArray[np.float32], min_score: float, person_class: int = 0
                ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Person boxes (x0, y0, x1, y1 in model-input pixels) and scores from a YOLO export's first output."""
    rows = raw[0]
    if rows.shape[0] < rows.shape[1] and rows.shape[0] >= 5:  # [4 + classes, N]: YOLOv8 and later
        rows = rows.T
        person = rows[:, 4 + person_class]
    elif rows.shape[1] >= 6:  # [N, 5 + classes]: YOLOv5, objectness times the class score
        person = rows[:, 4] * rows[:, 5 + person_class]
    else:
        raise InvalidValue(f"YOLO output of shape {list(raw.shape)} has no class scores")
    keep = person >= min_score
    cx, cy, w, h = (rows[keep, i] for i in range(4))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return boxes, person[keep].astype(np.float32)


@dataclass(frozen=True)
class Tiler:
    """Whole frame plus overlapping tiles for frames much larger than the model's input."""

    model_side: int = 416
    overlap: float = 0.2
    min_ratio: float = 1.6  # tile when the frame's long side is this many times the model's input
    iou: float = 0.5
    contained: float = 0.8  # a tile-cut box inside another box by this share of its area gives way
    # Tiles are for the small people the whole frame misses; a tile's box taller than this share of the tile
    # that touches one of the tile's inner edges is a piece of a person (a torso cut by the tile) and is
    # dropped. One wholly inside the tile is kept unless it lies mostly inside a larger box (an upper body
    # inside the whole person): a person partly hidden behind another, whom the whole frame's pass gives up
    # on, stays (bench/people_proposals.py: an occluded skier, 21 -> 22 of 23 labelled people).
    tile_max_height: float = 0.5

    def params(self) -> dict[str, Any]:
        return {"overlap": self.overlap, "min_ratio": self.min_ratio, "iou": self.iou,
                "contained": self.contained, "tile_max_height": self.tile_max_height}  # fmt: skip

    def tiles(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        long_side = max(width, height)
        if long_side < self.min_ratio * self.model_side:
            return []
        across = max(2, round(width / (self.model_side * 1.25))) if width >= height else 2
        down = max(2, round(height / (self.model_side * 1.25))) if height > width else 2
        across = min(across, 4)
        down = min(down, 4)
        tile_w = width / (across - (across - 1) * self.overlap)
        tile_h = height / (down - (down - 1) * self.overlap)
        out = []
        for row in range(down):
            for col in range(across):
                x0 = round(col * tile_w * (1 - self.overlap))
                y0 = round(row * tile_h * (1 - self.overlap))
                out.append((x0, y0, min(width, round(x0 + tile_w)), min(height, round(y0 + tile_h))))
        return out

    def detect(self, detector: Detector, image: NDArray[np.uint8]) -> list[Detection]:
        height, width = image.shape[:2]
        found = [(d, False) for d in detector.detect(image)]
        for x0, y0, x1, y1 in self.tiles(width, height):
            for d in detector.detect(np.ascontiguousarray(image[y0:y1, x0:x1])):
                bx0, by0, bx1, by1 = d.box
                cut = (bx0 <= 2 and x0 > 0) or (by0 <= 2 and y0 > 0) or \
                    (bx1 >= x1 - x0 - 2 and x1 < width) or (by1 >= y1 - y0 - 2 and y1 < height)
                if cut and by1 - by0 > self.tile_max_height * (y1 - y0):
                    continue
                cut = cut or by1 - by0 > self.tile_max_height * (y1 - y0)  # maybe a piece: see below
                found.append((Detection((bx0 + x0, by0 + y0, bx1 + x0, by1 + y0), d.score), cut))
        if not found:
            return []
        boxes = np.array([d.box for d, _ in found], np.float32)
        scores = np.array([d.score for d, _ in found], np.float32)
        kept = _nms(boxes, scores, self.iou, (width, height), return_index=True)
        survivors = [found[i] for i in kept]
        out = []
        for i, (det, cut) in enumerate(survivors):
            if cut and any(_inside(det, other) >= self.contained
                           for j, (other, _) in enumerate(survivors) if j != i and other.area > det.area):
                continue
            out.append(det)
        return out


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _inside(a: Detection, b: Detection) -> float:
    """Share of a's area inside b."""
    x0, y0 = max(a.box[0], b.box[0]), max(a.box[1], b.box[1])
    x1, y1 = min(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / a.area if a.area > 0 else 0.0


def _nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float, size: tuple[int, int],
         return_index: bool = False) -> Any:
    import cv2

    width, height = size
    boxes = boxes.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    valid = np.flatnonzero((boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 2))
    if not len(valid):
        return [] if not return_index else np.zeros(0, np.int64)
    xywh = [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes[valid]]
    picked = cv2.dnn.NMSBoxes(xywh, [float(s) for s in scores[valid]], 0.0, iou)
    index = valid[np.asarray(picked, np.int64).reshape(-1)]
    index = index[np.argsort(-scores[index], kind="stable")]
    if return_index:
        return index
    return [Detection((float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(s))
            for b, s in zip(boxes[index], scores[index], strict=True)]
