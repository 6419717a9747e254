"""Where the text is in a frame: PP-OCRv4's text detector (a DB network; PaddleOCR, Apache-2.0, the ONNX file
PyPI ``rapidocr-onnxruntime`` 1.4.4 ships), run with onnxruntime. It finds text of any script, so Tesseract
is then asked to read only the boxes it finds, each as one line, instead of a whole busy frame.

The network gives each pixel the probability that it lies in text. Pixels over ``THRESH`` are joined into
regions; a region whose mean probability is under ``BOX_THRESH`` is dropped; each kept region's rotated
rectangle is grown by ``UNCLIP`` (area x ratio / perimeter on each side, as DB does) and returned as an
upright box in the frame's pixels; boxes side by side on one line are joined (``_join_lines``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

MODEL = "models/ppocr_det_v4.onnx"
SIDE = 736  # the shorter side the frame is scaled to (a multiple of 32 is taken)
THRESH = 0.3
BOX_THRESH = 0.5
UNCLIP = 1.6
MIN_SIDE = 3
JOIN_GAP = 1.0


@functools.cache
def _session() -> Any:
    import onnxruntime as ort

    from vericount.models.catalog import bundled_path

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    model = str(bundled_path("ppocr-det-v4"))
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def text_boxes(image: NDArray[np.uint8]) -> list[tuple[int, int, int, int, float]]:
    """(x0, y0, x1, y1, score) of each text region in an RGB frame, top to bottom."""
    import cv2

    height, width = image.shape[:2]
    scale = SIDE / min(height, width)
    h, w = max(32, round(height * scale / 32) * 32), max(32, round(width * scale / 32) * 32)
    resized = cv2.resize(image, (w, h))[:, :, ::-1].astype(np.float32)  # BGR, as PaddleOCR feeds it
    blob = ((resized / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
    session = _session()
    prob = session.run(None, {session.get_inputs()[0].name: blob})[0][0, 0]
    mask = cv2.dilate((prob > THRESH).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < MIN_SIDE:
            continue
        x, y, bw, bh = cv2.boundingRect(contour)
        score = float(prob[y : y + bh, x : x + bw][mask[y : y + bh, x : x + bw] > 0].mean())
        if score < BOX_THRESH:
            continue
        grow = rw * rh * UNCLIP / (2 * (rw + rh))
        box = cv2.boxPoints(((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle))
        x0, y0 = box.min(axis=0)
        x1, y1 = box.max(axis=0)
        sx, sy = width / w, height / h
        out.append(
            (
                max(0, int(x0 * sx)),
                max(0, int(y0 * sy)),
                min(width, int(x1 * sx) + 1),
                min(height, int(y1 * sy) + 1),
                round(score, 3),
            )
        )
    return sorted(_join_lines(out), key=lambda b: (b[1], b[0]))


def _join_lines(boxes: list[tuple[int, int, int, int, float]]) -> list[tuple[int, int, int, int, float]]:
    """Boxes side by side on one line (the network cuts a caption at a wide space) joined into one: they
    share at least half the lower one's height and stand at most ``JOIN_GAP`` heights apart."""
    boxes = sorted(boxes)
    joined = True
    while joined:
        joined = False
        for i, a in enumerate(boxes):
            for j in range(i + 1, len(boxes)):
                b = boxes[j]
                overlap = min(a[3], b[3]) - max(a[1], b[1])
                height = max(a[3] - a[1], b[3] - b[1])
                gap = max(a[0], b[0]) - min(a[2], b[2])
                if overlap >= 0.5 * min(a[3] - a[1], b[3] - b[1]) and gap <= JOIN_GAP * height:
                    boxes[i] = (
                        min(a[0], b[0]),
                        min(a[1], b[1]),
                        max(a[2], b[2]),
                        max(a[3], b[3]),
                        max(a[4], b[4]),
                    )
                    del boxes[j]
                    joined = True
                    break
            if joined:
                break
    return boxes
