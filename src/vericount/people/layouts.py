"""A user's person detector: which ONNX export layout a file has, and the detector that reads it.

A file is read by its inputs, outputs and (for ultralytics exports) its metadata, never run on trust:

- ``yolov8``: ultralytics YOLOv8 and later (YOLO11): input ``[1, 3, S, S]`` RGB 0..1 letterboxed with grey
  114, output ``[1, 4 + classes, N]`` (cx, cy, w, h in input pixels, class scores). people/detect.py.
- ``yolov5``: ultralytics YOLOv5: the same input, output ``[1, N, 5 + classes]`` with objectness, N being
  3 anchors on each cell of strides 8, 16, 32 (and 64 for the P6 models). people/detect.py.
- ``rtdetr-ultralytics``: ultralytics' RT-DETR export: input ``[1, 3, S, S]`` RGB 0..1 stretched to the
  square (its predictor's scale-fill), output ``[1, 300, 4 + classes]``: cx, cy, w, h in 0..1 of the input,
  sigmoid class scores, no objectness. Told from YOLOv5 by the file's ultralytics metadata (``head``
  RTDETRDecoder, or "rtdetr" in its description), else by the 300 queries. people/rtdetr.py.
- ``rtdetr``: RT-DETR's own export (lyuwenyu/RT-DETR, ``tools/export_onnx.py``): inputs ``images``
  ``[N, 3, S, S]`` RGB 0..1 and ``orig_target_sizes`` ``[N, 2]`` (width, height), outputs ``labels``,
  ``boxes`` (x0, y0, x1, y1 in pixels of orig_target_sizes) and ``scores``. people/rtdetr.py.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vericount.errors import InvalidValue

if TYPE_CHECKING:
    from vericount.people.detect import Detector

LAYOUTS = {
    "yolov8": "ultralytics YOLOv8 and later: output [1, 4 + classes, N]",
    "yolov5": "ultralytics YOLOv5: output [1, N, 5 + classes]",
    "rtdetr-ultralytics": "ultralytics RT-DETR: output [1, 300, 4 + classes]",
    "rtdetr": "RT-DETR's own export: labels, boxes, scores",
}
READS = ("YOLOv8/YOLO11 [1, 4+classes, N], YOLOv5 [1, N, 5+classes], ultralytics RT-DETR [1, 300, 4+classes] "
         "or RT-DETR's own images+orig_target_sizes -> labels, boxes, scores (docs/models.md)")
MIN_SCORE = 0.35  # a box of a user's detector counts from this person score (not calibrated: no labelled set)


@dataclass(frozen=True)
class Layout:
    """What a file was found to be."""

    layout: str  # a key of LAYOUTS
    input_size: int
    classes: int | None  # None: its shapes do not say (RT-DETR's own export)
    names: dict[int, str] | None = None  # class names from an ultralytics export's metadata
    licence: str | None = None  # the licence the file's own metadata states, if any

    def person_class(self) -> int | None:
        """The class named "person" in the file's metadata (None: it names none, or has no names)."""
        if self.names is None:
            return None
        found = [k for k, v in sorted(self.names.items()) if v.strip().lower() == "person"]
        return found[0] if found else None


@dataclass(frozen=True)
class DetectorModel:
    """An added person detector as the people stage runs it (picklable: it goes to the workers)."""

    name: str
    sha256: str
    layout: str
    input_size: int
    person_class: int
    path: Path  # the case's read-only copy

    @property
    def label(self) -> str:
        """How tracks and the people summary name it: NAME@first 12 hex digits of its SHA-256."""
        return f"{self.name}@{self.sha256[:12]}"

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "layout": self.layout,
                "input_size": self.input_size, "person_class": self.person_class,
                "min_score": MIN_SCORE}  # fmt: skip

    def open(self, threads: int = 1) -> Detector:
        return open_detector(self.path, self.layout, self.label, self.person_class, threads)


def open_detector(path: Path, layout: str, name: str, person_class: int = 0, threads: int = 1) -> Detector:
    from vericount.people.detect import YoloOnnx
    from vericount.people.rtdetr import RtDetrOwn, RtDetrUltralytics

    if layout in ("yolov8", "yolov5"):
        return YoloOnnx(path, MIN_SCORE, threads, name=name, person_class=person_class)
    if layout == "rtdetr-ultralytics":
        return RtDetrUltralytics(path, name, person_class, MIN_SCORE, threads)
    if layout == "rtdetr":
        return RtDetrOwn(path, name, person_class, MIN_SCORE, threads)
    raise InvalidValue(f"{name}: unknown detector layout {layout!r}")


def read_layout(data: bytes, label: str) -> Layout:
    """The layout of the ONNX model ``data`` (the bytes of the file ``label``), or InvalidValue naming the
    file and the shapes found."""
    session = _load(data, label)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    meta = dict(session.get_modelmeta().custom_metadata_map or {})
    found = _shapes(inputs, outputs)
    if meta.get("task", "detect") != "detect":
        raise InvalidValue(f"{label}: an ultralytics {meta['task']!r} model; vericount reads detection "
                           f"models ({found})")
    names = _names(meta.get("names"))
    licence = meta.get("license") or meta.get("licence") or None
    in_names = {i.name for i in inputs}
    out_names = {o.name for o in outputs}
    if in_names == {"images", "orig_target_sizes"} and {"labels", "boxes", "scores"} <= out_names:
        image = next(i for i in inputs if i.name == "images")
        return Layout("rtdetr", _square(image, label, found), None, names, licence)
    if len(inputs) != 1 or len(outputs) != 1:
        raise _unknown(label, found)
    size = _square(inputs[0], label, found)
    out = outputs[0].shape
    if len(out) != 3 or not all(isinstance(d, int) for d in out[1:]):
        raise _unknown(label, found)
    rows, cols = int(out[1]), int(out[2])
    description = str(meta.get("description", "")).lower()
    ultralytics = meta.get("author") == "Ultralytics" or description.startswith("ultralytics")
    if (meta.get("head") == "RTDETRDecoder" or "rtdetr" in description) and cols >= 5:
        layout = Layout("rtdetr-ultralytics", size, cols - 4, names, licence)
    elif 5 <= rows < cols:
        layout = Layout("yolov8", size, rows - 4, names, licence)
    elif cols >= 6 and rows in yolov5_boxes(size):
        layout = Layout("yolov5", size, cols - 5, names, licence)
    elif rows == 300 and cols >= 5 and not ultralytics:
        layout = Layout("rtdetr-ultralytics", size, cols - 4, names, licence)
    else:
        raise _unknown(label, found)
    if names is not None and layout.classes is not None and len(names) != layout.classes:
        raise InvalidValue(f"{label}: its output has {layout.classes} classes but its metadata names "
                           f"{len(names)}: not a layout vericount reads ({found})")
    return layout


def yolov5_boxes(size: int) -> tuple[int, int]:
    """How many boxes a YOLOv5 export of input ``size`` gives: 3 anchors on every cell of strides 8, 16, 32
    (P5 models), and of stride 64 too (P6)."""
    p5 = 3 * sum((size // stride) ** 2 for stride in (8, 16, 32))
    return p5, p5 + 3 * (size // 64) ** 2


def _load(data: bytes, label: str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # a user's file may well warn; the refusal says what matters
    try:
        return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidValue(f"{label}: not a usable ONNX model ({reason})") from exc


def _square(arg: Any, label: str, found: str) -> int:
    """The side S of a float32 image input [batch, 3, S, S] with a fixed S."""
    shape = arg.shape
    if len(shape) != 4 or shape[1] != 3:
        raise _unknown(label, found)
    if not (isinstance(shape[2], int) and shape[2] == shape[3]):
        raise InvalidValue(f"{label}: its input must have a fixed square size [1, 3, S, S] (export it "
                           f"without dynamic axes for height and width): {found}")
    if arg.type != "tensor(float)":
        raise InvalidValue(f"{label}: its input must be float32, not {arg.type} (export it without half "
                           f"precision): {found}")
    if not 32 <= shape[2] <= 4096:
        raise InvalidValue(f"{label}: an input of {shape[2]} pixels is not a detector's ({found})")
    return int(shape[2])


def _names(text: Any) -> dict[int, str] | None:
    """An ultralytics export's class names ("{0: 'person', 1: 'bicycle'}"), or None."""
    if not isinstance(text, str) or not text.strip() or len(text) > 100_000:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(value, list | tuple):
        value = dict(enumerate(value))
    if not isinstance(value, dict) or not all(isinstance(k, int) for k in value):
        return None
    return {int(k): str(v) for k, v in value.items()}


def _shapes(inputs: list[Any], outputs: list[Any]) -> str:
    def show(args: list[Any]) -> str:
        parts = [f"{a.name} {list(a.shape)}" for a in args[:4]]
        if len(args) > 4:
            parts.append(f"and {len(args) - 4} more")
        return ", ".join(parts) or "none"

    return f"inputs {show(inputs)}; outputs {show(outputs)}"


def _unknown(label: str, found: str) -> InvalidValue:
    return InvalidValue(f"{label}: not a detector layout vericount reads ({found}); it reads {READS}")
