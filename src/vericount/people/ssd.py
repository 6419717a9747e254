"""The bundled SSD-MobileNetV2 COCO detector (TF model zoo, Apache-2.0; see ``vericount/models``).

The ONNX file is a TF object-detection API graph: it takes a uint8 RGB picture of any size, resizes it to
300 x 300 itself, runs non-maximum suppression inside the graph and returns at most 100 boxes as (ymin, xmin,
ymax, xmax) in 0..1 with COCO label ids (person = 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vericount.people.detect import Detection
from vericount.people.runtime import bundled_model, session

if TYPE_CHECKING:
    from numpy.typing import NDArray

SSD_FILE = "ssd_mobilenetv2_coco.onnx"
PERSON = 1


class SsdMobileNet:
    name = "ssd-mobilenetv2-coco"
    size = 300

    def __init__(self, min_score: float = 0.3, threads: int = 1, path: Path | None = None) -> None:
        self.min_score = min_score
        self.session = session(str(path or bundled_model(SSD_FILE)), threads)

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        height, width = image.shape[:2]
        if height < 2 or width < 2:
            return []
        outputs = self.session.run(["detection_scores:0", "detection_boxes:0", "detection_classes:0"],
                                   {"image_tensor:0": np.ascontiguousarray(image)[None]})
        scores, boxes, classes = (o[0] for o in outputs)
        keep = (scores >= self.min_score) & (classes.astype(np.int64) == PERSON)
        return [Detection((float(b[1] * width), float(b[0] * height), float(b[3] * width),
                           float(b[2] * height)), float(s))
                for s, b in zip(scores[keep], boxes[keep], strict=True)]
