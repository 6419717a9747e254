"""Where items came from: the --source-url/--platform/... options and the --sources CSV file."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path

from vericount.errors import InvalidValue
from vericount.values import parse_when

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# CSV column -> SourceInfo field; the left-hand names are what users write.
COLUMNS = {
    "file": "file", "name": "file", "sha256": "file",
    "source_url": "url", "url": "url", "platform": "platform", "account": "account",
    "posted_at": "posted_at", "notes": "notes",
}
MAX_FIELD = 10_000


@dataclass(frozen=True)
class SourceInfo:
    url: str | None = None
    platform: str | None = None
    account: str | None = None
    posted_at: str | None = None
    notes: str | None = None

    def is_empty(self) -> bool:
        return not any((self.url, self.platform, self.account, self.posted_at, self.notes))

    def merged(self, other: SourceInfo) -> SourceInfo:
        """Fields of ``other`` where it has them, else ours (CSV rows refine the command line)."""
        return replace(self, **{k: v for k, v in vars(other).items() if v})


@dataclass(frozen=True)
class SourceRow:
    line: int
    key: str  # a file name, a path ending, or a sha256
    info: SourceInfo

    def matches(self, path: Path | None, sha256: str | None, names: list[str]) -> bool:
        key = self.key
        if SHA256.match(key.lower()):
            return sha256 == key.lower()
        if "/" in key:
            return path is not None and (path.as_posix() == key or path.as_posix().endswith("/" + key))
        return (path is not None and path.name == key) or key in names


def source_from_options(url: str | None, platform: str | None, account: str | None,
                        posted_at: str | None, notes: str | None = None) -> SourceInfo:
    return SourceInfo(url=url or None, platform=platform or None, account=account or None,
                      posted_at=parse_when(posted_at, "--posted-at") if posted_at else None,
                      notes=notes or None)


def read_sources_csv(path: Path) -> list[SourceRow]:
    """Read and check the whole file first; any bad row refuses the file, naming line and field."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            unknown = [h for h in header if h.strip().lower() not in COLUMNS]
            if unknown:
                raise InvalidValue(f"{path}: unknown column(s) {', '.join(map(repr, unknown))}; "
                                   f"known: {', '.join(COLUMNS)}")
            if not any(COLUMNS[h.strip().lower()] == "file" for h in header):
                raise InvalidValue(f"{path}: needs a 'file' (or 'sha256') column")
            return [_row(path, reader.line_num, raw) for raw in reader]
    except UnicodeDecodeError as exc:
        raise InvalidValue(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise InvalidValue(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise InvalidValue(f"{path}: cannot read ({exc.strerror})") from None


def _row(path: Path, line: int, raw: dict[str | None, str | list[str] | None]) -> SourceRow:
    if None in raw:
        raise InvalidValue(f"{path} line {line}: more fields than columns")
    values: dict[str, str] = {}
    for col, value in raw.items():
        assert col is not None
        text = (value or "").strip() if isinstance(value, str) else ""
        if len(text) > MAX_FIELD:
            raise InvalidValue(f"{path} line {line}, field {col}: longer than {MAX_FIELD} characters")
        if text:
            values[COLUMNS[col.strip().lower()]] = text
    key = values.pop("file", "")
    if not key:
        raise InvalidValue(f"{path} line {line}, field file: empty")
    posted = values.pop("posted_at", None)
    if posted:
        posted = parse_when(posted, f"{path} line {line}, field posted_at")
    return SourceRow(line, key, SourceInfo(posted_at=posted, **values))
