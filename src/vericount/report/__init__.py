"""What leaves the case: the HTML/PDF report, CSV/JSON exports and import, the evidence bundle, and the face
blurring every exported image goes through."""

from __future__ import annotations

import hashlib
from pathlib import Path


def write_whole(path: Path, data: bytes) -> None:
    """Write a file whole: a temporary name beside it, then renamed over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
