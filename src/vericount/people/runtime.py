"""ONNX Runtime sessions for the bundled models: CUDA where the installed onnxruntime has it, else the CPU.

One session per model file and thread count per process, made on first use.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

from vericount.errors import InvalidValue


def providers() -> list[str]:
    """onnxruntime providers: CUDA first where the installed onnxruntime has it, else the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def bundled_model(name: str) -> Path:
    """A model file shipped in the package (vericount/models, see its README.md)."""
    return Path(str(resources.files("vericount.models").joinpath(name)))


@functools.cache
def session(path: str, threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(path, sess_options=options, providers=providers())
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidValue(f"{Path(path).name}: not a usable ONNX model ({reason})") from exc
