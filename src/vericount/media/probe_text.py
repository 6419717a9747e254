"""Technical metadata of a stored text report (plain text or HTML). See docs/metadata.md."""

from __future__ import annotations

import codecs
import html
import re
from pathlib import Path
from typing import BinaryIO

from vericount.errors import ProbeError
from vericount.media._common import JSON, Probed, _clip

TEXT_CHUNK = 1 << 20
NUL_SCAN = 8 << 10
TITLE_SCAN = 64 << 10
# Stored originals have no extension: recognise HTML by its tags near the start.
_HTML_HINT = re.compile(r"<(?:!doctype\s+html|html|head|body|title)\b", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title\b[^>]{0,1000}>", re.IGNORECASE)  # bounded: no quadratic scan
_HTML_TITLE_END = re.compile(r"</title", re.IGNORECASE)


def _probe_text(path: Path) -> Probed:
    try:
        with path.open("rb") as fh:
            head = fh.read(NUL_SCAN)
            md, warnings = _text_fields(path, fh, head)
    except OSError as exc:
        raise ProbeError(f"cannot read the file ({exc.strerror or exc})") from exc
    return Probed("text", md, tuple(warnings))


def _text_fields(path: Path, stream: BinaryIO, head: bytes) -> tuple[dict[str, JSON], list[str]]:
    boms = ((codecs.BOM_UTF8, "utf-8", "utf-8 with BOM"),
            (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le with BOM"),
            (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be with BOM"))  # fmt: skip
    bom, codec, label = next(((b, c, n) for b, c, n in boms if head.startswith(b)), (b"", "utf-8", "utf-8"))
    if b"\x00" in head and not codec.startswith("utf-16"):
        raise ProbeError("not text: binary data (NUL bytes) in the first 8 KiB")
    warnings: list[str] = []
    try:
        chars, lines, prefix = _count_text(stream, len(bom), codec)
    except UnicodeDecodeError as exc:
        if codec.startswith("utf-16"):
            raise ProbeError(
                f"not text: invalid UTF-16 after a UTF-16 byte-order mark ({exc.reason})"
            ) from exc
        warnings.append("text is not valid UTF-8; counted as single-byte characters")
        label = "unknown 8-bit"
        chars, lines, prefix = _count_text(stream, len(bom), "latin-1")
    is_html = path.suffix.lower() in (".html", ".htm") or bool(_HTML_HINT.search(prefix, 0, NUL_SCAN))
    opening = _HTML_TITLE.search(prefix) if is_html else None
    closing = _HTML_TITLE_END.search(prefix, opening.end()) if opening else None
    title = None
    if opening and closing:
        title = " ".join(html.unescape(prefix[opening.end() : closing.start()]).split())
    md: dict[str, JSON] = {
        "format": "HTML" if is_html else "TXT",
        "encoding": label,
        "bytes": stream.seek(0, 2),
        "chars": chars,
        "lines": lines,
        "title": _clip(title) if title else None,
    }
    return md, warnings


def _count_text(fh: BinaryIO, start: int, codec: str) -> tuple[int, int, str]:
    """Characters, lines and the first TITLE_SCAN characters, read in bounded chunks."""
    fh.seek(start)
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    chars = lines = 0
    prefix, last = "", ""
    while True:
        chunk = fh.read(TEXT_CHUNK)
        text = decoder.decode(chunk, final=not chunk)
        chars += len(text)
        lines += text.count("\n")
        if len(prefix) < TITLE_SCAN:
            prefix += text[: TITLE_SCAN - len(prefix)]
        last = text[-1:] or last
        if not chunk:
            break
    return chars, lines + (1 if last and last != "\n" else 0), prefix
