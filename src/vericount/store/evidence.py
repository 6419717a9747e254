"""The evidence store: originals kept byte for byte under their SHA-256, read-only.

A file enters in one streaming pass: its bytes are hashed and written to a temporary file in
``evidence/.tmp`` at the same time, the temporary file is fsynced, made read-only and renamed to
``evidence/<first two hex digits>/<sha256>``. A killed process leaves at most a temporary file, which the
next writer removes; the store never holds a partial file under a hash name.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    path: Path
    new: bool  # False when the store already held these bytes


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / ".tmp"

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def clean_temporaries(self) -> list[Path]:
        """Remove temporary files left by writers that are no longer running; return them."""
        removed: list[Path] = []
        if not self.tmp.is_dir():
            return removed
        for tmp in self.tmp.iterdir():
            pid = tmp.name.split("-", 1)[0]
            if pid.isdigit() and _alive(int(pid)):
                continue
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        return removed

    def put_stream(
        self, src: BinaryIO, head: bytes = b"", on_bytes: Callable[[int], None] | None = None
    ) -> Stored:
        """Copy ``head`` plus the rest of ``src`` into the store, hashing on the way; never reads twice."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = _mkstemp(self.tmp)
        tmp = Path(tmp_name)
        size = 0
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                for chunk in _chunks(src, head):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path(sha)
            if final.is_file():
                tmp.unlink()
                return Stored(sha, size, final, new=False)
            final.parent.mkdir(exist_ok=True)
            tmp.chmod(READ_ONLY)
            tmp.rename(final)
            _fsync_dir(final.parent)
            return Stored(sha, size, final, new=True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def hash_file(self, sha256: str) -> str:
        """SHA-256 of the stored file as it is on disk now (for verification)."""
        digest = hashlib.sha256()
        with self.path(sha256).open("rb") as f:
            for chunk in _chunks(f, b""):
                digest.update(chunk)
        return digest.hexdigest()

    def stored_hashes(self) -> Iterator[str]:
        """Every hash-named file in the store (whether or not the database knows it)."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.name.startswith(".") or not sub.is_dir():
                continue
            for f in sorted(sub.iterdir()):
                yield f.name


def _chunks(src: BinaryIO, head: bytes) -> Iterator[bytes]:
    if head:
        yield head
    while chunk := src.read(CHUNK):
        yield chunk


def _mkstemp(folder: Path) -> tuple[int, str]:
    import tempfile

    return tempfile.mkstemp(prefix=f"{os.getpid()}-", dir=folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
