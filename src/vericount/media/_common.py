"""What the probe modules share: the result type and tag-value helpers. See docs/metadata.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from vericount.media.sniff import Kind

JSON: TypeAlias = str | int | float | bool | list["JSON"] | dict[str, "JSON"] | None

TAG_VALUE_MAX = 256  # characters kept of one raw tag value


@dataclass(frozen=True)
class Probed:
    kind: Kind  # may differ from the input: an animated GIF becomes "video"
    metadata: dict[str, JSON]  # the fields documented in docs/metadata.md
    warnings: tuple[str, ...]  # worth telling the user, not failures


def _clean(message: object, path: Path) -> str:
    """One line, without the file's path (the caller names the file)."""
    text = str(message).replace(repr(str(path)), "").replace(str(path), "")
    return " ".join(text.split()).rstrip(":, ") or "no detail"


def _clip(value: str) -> str:
    """A tag value fit for JSON columns: no NUL, no lone surrogate, at most TAG_VALUE_MAX characters."""
    value = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "").strip()
    return value if len(value) <= TAG_VALUE_MAX else value[: TAG_VALUE_MAX - 1] + "…"
