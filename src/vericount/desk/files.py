"""Files the desk reads and writes inside the case: only regular files that lie inside their store.

A file is served (or decoded) only when its last component is no symbolic link, it is a regular file (no
folder, FIFO or device), and its real path, every link on the way resolved, lies inside the store's real
folder (evidence/ or derived/). It is opened with O_NOFOLLOW, so a link swapped in after the check is
refused too. The desk writes its thumbnails through a new temporary file (O_EXCL: never through a planted
link) renamed over the old name (a rename replaces a link, never follows it).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from starlette.responses import FileResponse

FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def regular_file(root: Path, path: Path) -> tuple[Path, os.stat_result] | None:
    """``path``'s real path and status when it is a regular file, no link, inside ``root``; else None."""
    try:
        seen = os.lstat(path)
        if not stat.S_ISREG(seen.st_mode):
            return None
        real = path.resolve(strict=True)
        if not real.is_relative_to(root.resolve(strict=True)):
            return None
        fd = os.open(real, FLAGS)  # O_NONBLOCK: a FIFO swapped in does not hang the open
        try:
            opened = os.fstat(fd)
        finally:
            os.close(fd)
    except (OSError, RuntimeError):  # missing, a loop of links, a link swapped in (ELOOP)
        return None
    if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
        return None
    return real, opened


class NoFollowFileResponse(FileResponse):
    """A FileResponse (ranges, ETag, Last-Modified) that opens its file with O_NOFOLLOW."""

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[Any]:
        file = await anyio.open_file(self.path, mode="rb", opener=_no_follow)
        try:
            yield file
        finally:
            with anyio.CancelScope(shield=True):
                await file.aclose()


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def file_response(root: Path, path: Path, media_type: str, headers: dict[str, str]) -> FileResponse | None:
    """The response serving ``path`` when it is a regular file inside ``root`` (see regular_file)."""
    found = regular_file(root, path)
    if found is None:
        return None
    real, status = found
    return NoFollowFileResponse(real, media_type=media_type, headers=headers, stat_result=status)


def write_inside(root: Path, path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` (a file in a folder under ``root``) whole, or not at all; False when the
    folder is not a real folder inside ``root`` (a link planted there)."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode) or \
                not folder.resolve(strict=True).is_relative_to(root.resolve(strict=True)):
            return False
    except OSError:
        return False
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
