"""A case as files, and back: ``vericount export`` and ``vericount import``.

An export is a folder with one file per table (every column, written generically from the schema, so a
new column is exported without a change here), the repost groups, the latest tally and its certificate, and
``export.json`` naming each file with its row count and SHA-256. JSON is the export that imports; CSV is for
spreadsheets. docs/export.md says what every file and column means.

Import fills a new, empty case from a JSON export in one transaction: every file is checked against
export.json and every row against the schema before anything is written, ids are kept as exported (the
judgments and matches a certificate names stay the same), and the source's custody log is kept as a file
beside the new case's own log, never spliced into its hash chain.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Column, Float, Integer, LargeBinary, String, Table, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from vericount import __version__
from vericount.errors import CaseError, InvalidValue
from vericount.report import sha256_file, write_whole
from vericount.store.audit import check_events
from vericount.store.db import SCHEMA_HEAD
from vericount.store.schema import Base, CaseInfo, TallyRow, UTCDateTime, utcnow
from vericount.values import strict_json, strict_loads

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.case import Case

FORMAT = "vericount-export/1"
FORMATS = ("json", "csv")
MANIFEST = "export.json"
AUDIT = "audit_events"
# Every table of the case, in the order written. A new table must be added here or to NOT_EXPORTED (a test
# checks), so nothing private leaves the case by accident.
TABLES = ("items", "item_names", "sources", "stage_states", "fingerprints", "matches", "models",
          "people_items", "tracks", "track_numbers", "track_reviews", "judgments",
          "group_judgments", "tallies", "reports", "claims", "tags", "notes", "attachments", "source_hints",
          AUDIT)
# Tables added after the first export format: an export made before the schema that brought one has no
# file for it, and reads as if the table were empty.
SINCE = {"track_numbers": "0007", "track_reviews": "0008", "group_judgments": "0008", "models": "0010",
         "attachments": "0012", "source_hints": "0013"}
# Password hashes, cookies, the client addresses of failed sign-ins; the case id is in export.json.
NOT_EXPORTED = ("users", "web_sessions", "sign_in_throttle", "case_info",
                # what the ocr and speech stages read: a transcript may name people and never leaves the case
                # whole (the report quotes the lines a reviewer marked); the stages read them again, and the
                # search entries are an index built from the tables
                "text_lines", "search_entries")
GROUPS = "groups"
GROUP_COLUMNS = ("item_id", "group", "earliest", "earliest_basis", "earliest_time")
TALLY = "tally"  # tally.json: the latest tally's whole result, or null
CERTIFICATE = "certificate"  # certificate.json: its certificate, when it has one
IMPORTED = "imported"  # CASE/imported/<source case id>/: the source's custody log and export.json
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # as the database keeps times (store/schema.py UTCDateTime)
_CHUNK = 1000
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


# -- columns and values -----------------------------------------------------------------------------------

def table(name: str) -> Table:
    return Base.metadata.tables[name]


def columns(name: str) -> list[str]:
    """The columns of an exported file, in the order written (the database's column names)."""
    if name == GROUPS:
        return list(GROUP_COLUMNS)
    return [c.name for c in table(name).columns]


_KINDS: tuple[tuple[type[Any], str], ...] = (
    (UTCDateTime, "datetime"), (LargeBinary, "bytes"), (JSON, "json"), (Boolean, "bool"), (Integer, "int"),
    (Float, "float"), (String, "str"))


def _kind(col: Column[Any]) -> str:
    for type_, kind in _KINDS:
        if isinstance(col.type, type_):
            return kind
    raise TypeError(f"column {col.table.name}.{col.name}: no export encoding for {col.type!r}")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_STAMP)


def _encode(kind: str, value: Any) -> Any:
    """A database value as a JSON value: times as ISO 8601 UTC, bytes as base64."""
    if value is None:
        return None
    if kind == "datetime":
        return _iso(value)
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _cell(value: Any, json_column: bool) -> str:
    """A JSON value as a CSV cell: empty for null, true/false, JSON columns as JSON text."""
    if value is None:
        return ""
    if json_column:
        return strict_json(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Bad(Exception):
    """One value that does not fit its column (the caller adds the file and row)."""


def _decode(col: Column[Any], kind: str, value: Any) -> Any:
    if value is None:
        if not col.nullable:
            raise _Bad("is null but the column requires a value")
        return None
    if kind == "datetime":
        return _decode_time(value)
    if kind == "bytes":
        if not isinstance(value, str):
            raise _Bad("is not base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise _Bad("is not base64") from None
    if kind == "bool" and not isinstance(value, bool):
        raise _Bad(f"{value!r:.40} is not true or false")
    if kind in ("int", "float") and (isinstance(value, bool) or not isinstance(value, int | float)
                                     or (kind == "int" and not isinstance(value, int))):
        raise _Bad(f"{value!r:.40} is not {'an integer' if kind == 'int' else 'a number'}")
    if kind == "str":
        if not isinstance(value, str):
            raise _Bad(f"{value!r:.40} is not text")
        length = getattr(col.type, "length", None)
        if length is not None and len(value) > length:
            raise _Bad(f"is {len(value)} characters, more than the column's {length}")
    return float(value) if kind == "float" else value


def _decode_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Bad("is not an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{value[:40]!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise _Bad(f"{value[:40]!r} has no UTC offset")
    return parsed.astimezone(UTC)


# -- export -----------------------------------------------------------------------------------------------

def export_case(case: Case, out: Path, fmt: str) -> dict[str, Any]:
    """Write the case to the new folder ``out`` (one file per table, export.json); returns what was written.

    The files are written into a temporary folder beside ``out`` and renamed to it at the end: a failure
    leaves nothing."""
    if fmt not in FORMATS:
        raise InvalidValue(f"export format {fmt!r}: must be json or csv")
    out = out.absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidValue(f"{out} exists and is not an empty folder: give a new folder for the export")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise InvalidValue(f"{out}: cannot write there ({exc.strerror})") from exc
    try:
        manifest = write_export(case, tmp, fmt)
        digest = sha256_file(tmp / MANIFEST)
        tmp.rename(out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InvalidValue(f"{out}: the export could not be written ({exc.strerror}: {exc.filename})"
                           ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rows = {name: entry["rows"] for name, entry in manifest["tables"].items()}
    with case.session() as s:
        case.record(s, "case.export", None, format=fmt, out=str(out), rows=rows, export_sha256=digest)
    return {"out": str(out), "format": fmt, "case": manifest["case"],
            "files": sorted([MANIFEST, *(e["file"] for e in manifest["tables"].values())]),
            "rows": rows, "export_sha256": digest}


def write_export(case: Case, folder: Path, fmt: str) -> dict[str, Any]:
    """Write every file of the export into ``folder`` (existing, empty); returns export.json's content."""
    from vericount.reposts.service import groups

    files: dict[str, dict[str, Any]] = {}
    with case.reading() as s:
        if case.dialect == "postgresql":  # one snapshot for every table, as SQLite's read transaction is
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        case_id = s.scalar(select(CaseInfo.value).where(CaseInfo.key == "case_id"))
        for name in TABLES:
            files[name] = _write_table(folder, name, fmt, _rows(s, table(name)))
        latest = s.scalar(select(TallyRow.result).order_by(TallyRow.id.desc()).limit(1))
    grouped = [{"item_id": m, "group": g.id, "earliest": m == g.earliest, "earliest_basis": g.earliest_basis,
                "earliest_time": g.earliest_time} for g in groups(case) for m in g.members]
    files[GROUPS] = _write_table(folder, GROUPS, fmt, iter(grouped))
    files[TALLY] = _write_json(folder / f"{TALLY}.json", latest, 0 if latest is None else 1)
    cert = latest.get("certificate") if isinstance(latest, dict) else None
    if cert is not None:
        files[CERTIFICATE] = _write_json(folder / f"{CERTIFICATE}.json", cert, 1)
    manifest = {"format": FORMAT, "table_format": fmt, "case": case_id, "schema": SCHEMA_HEAD,
                "tool_version": __version__, "exported_at": utcnow().isoformat(), "exported_by": case.actor,
                "tables": files}
    text = strict_json(manifest, indent=2, ensure_ascii=False) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    return manifest


def _rows(s: Session, t: Table) -> Iterator[dict[str, Any]]:
    kinds = [(c, _kind(c)) for c in t.columns]
    query = select(t).order_by(*t.primary_key.columns).execution_options(yield_per=_CHUNK)
    for row in s.execute(query).mappings():
        yield {c.name: _encode(kind, row[c]) for c, kind in kinds}


def _write_table(folder: Path, name: str, fmt: str, rows: Iterator[dict[str, Any]]) -> dict[str, Any]:
    path = folder / f"{name}.{fmt}"
    count = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        if fmt == "json":
            f.write("[")
            for count, row in enumerate(rows, 1):
                f.write(("\n" if count == 1 else ",\n") + strict_json(row, ensure_ascii=False))
            f.write("\n]\n" if count else "]\n")
        else:
            names = columns(name)
            json_columns = set() if name == GROUPS else {c.name for c in table(name).columns
                                                         if _kind(c) == "json"}
            writer = csv.writer(f)
            writer.writerow(names)
            for row in rows:
                writer.writerow([_cell(row[c], c in json_columns) for c in names])
                count += 1
    return {"file": path.name, "rows": count, "sha256": sha256_file(path)}


def _write_json(path: Path, value: Any, rows: int) -> dict[str, Any]:
    path.write_text(strict_json(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return {"file": path.name, "rows": rows, "sha256": sha256_file(path)}




# -- import -----------------------------------------------------------------------------------------------

def import_case(case: Case, src: Path, originals: Path | None = None) -> dict[str, Any]:
    """Fill the empty ``case`` from the JSON export in ``src``, and put the originals found in
    ``src/originals/`` (or ``originals``) into its evidence store. All or nothing."""
    src = src.absolute()
    if not src.is_dir():
        raise InvalidValue(f"{src}: no such folder")
    if originals is not None and not originals.is_dir():
        raise InvalidValue(f"--originals {originals}: no such folder")
    export = _read_export(src)
    manifest, source_case = export.manifest, export.manifest["case"]
    chain = _chain_problems(export.data[AUDIT])
    with case.reading() as s:
        _require_empty(s)
    folder = originals if originals is not None else src / "originals"
    item_ids = {row["id"] for row in export.data["items"]}
    item_ids |= {row["sha256"] for row in export.data.get("attachments", [])}  # kept beside, as originals
    plan, ignored = _plan_originals(folder, item_ids) if folder.is_dir() else ({}, [])
    kept = case.root / IMPORTED / source_case
    created: list[Path] = []
    kept_existed = kept.exists()
    try:
        stored, present = _store_originals(case, plan, created)
        with case.session() as s:
            _require_empty(s)
            for t in Base.metadata.sorted_tables:
                if t.name in export.data and t.name != AUDIT and t.name in manifest["tables"]:
                    _insert(s, t, export.data[t.name], manifest["tables"][t.name]["file"])
            if case.dialect == "postgresql":
                _reset_sequences(s)
            kept.mkdir(parents=True, exist_ok=True)
            audit_file = manifest["tables"][AUDIT]["file"]
            for name, content in ((audit_file, export.raw[AUDIT]), (MANIFEST, export.manifest_bytes)):
                write_whole(kept / name, content)
            detail = {"source_case": source_case,
                      "export_sha256": hashlib.sha256(export.manifest_bytes).hexdigest(),
                      "source_schema": manifest["schema"],
                      "source_tool_version": manifest.get("tool_version"),
                      "exported_at": manifest.get("exported_at"),
                      "rows": {name: len(export.data[name]) for name in TABLES},
                      "originals": {"stored": len(stored), "already_stored": len(present),
                                    "missing": len(item_ids) - len(stored) - len(present),
                                    "ignored": len(ignored)},
                      "source_audit_log": f"{IMPORTED}/{source_case}/{audit_file}",
                      "source_audit_chain": chain or "intact"}
            case.record(s, "case.import", None, **detail)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        if not kept_existed:
            shutil.rmtree(kept, ignore_errors=True)
        raise
    detail["originals"]["ignored"] = ignored
    return {"source": str(src), **detail}


@dataclass
class _Export:
    manifest: dict[str, Any]
    manifest_bytes: bytes
    raw: dict[str, bytes]  # each table's file as checked: what is parsed and kept is what was checked
    data: dict[str, list[dict[str, Any]]]  # each table's rows as database values


def _read_export(src: Path) -> _Export:
    """The export in ``src``, every file checked against export.json and every row against the schema."""
    manifest, manifest_bytes = _read_manifest(src)
    raw: dict[str, bytes] = {}
    for name, entry in manifest["tables"].items():
        path = src / entry["file"]
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise InvalidValue(f"{path}: missing (export.json lists it)") from None
        except OSError as exc:
            raise InvalidValue(f"{path}: cannot be read ({exc.strerror})") from exc
        if hashlib.sha256(content).hexdigest() != entry["sha256"]:
            raise InvalidValue(f"{path}: changed since the export (its SHA-256 is not the one export.json "
                               "records)")
        if name in TABLES:
            raw[name] = content
    data = {name: _read_rows(src / manifest["tables"][name]["file"], raw[name], name,
                             manifest["tables"][name]["rows"]) if name in raw else [] for name in TABLES}
    return _Export(manifest, manifest_bytes, raw, data)


def _read_manifest(src: Path) -> tuple[dict[str, Any], bytes]:
    path = src / MANIFEST
    if not path.is_file():
        raise InvalidValue(f"{src}: no {MANIFEST} (not a vericount export)")
    content = _read(path)
    doc = _load_json(path, content)
    form = doc.get("format") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not isinstance(form, str) or not form.startswith("vericount-export/"):
        raise InvalidValue(f"{path}: not a vericount export manifest (format {form!r})")
    if form != FORMAT:
        raise InvalidValue(f"{path}: format {form!r}; this vericount reads {FORMAT!r} (a newer vericount "
                           "made it)")
    tables = doc.get("tables")
    fmt = doc.get("table_format")
    if fmt == "csv" or (isinstance(tables, dict) and any(str(e.get("file", "")).endswith(".csv")
                                                         for e in tables.values() if isinstance(e, dict))):
        raise InvalidValue(f"{src} is a CSV export (for spreadsheets); import reads a JSON export: make one "
                           "with 'vericount export --out DIR --format json'")
    schema = doc.get("schema")
    if not isinstance(schema, str) or schema > SCHEMA_HEAD:
        raise InvalidValue(f"{path}: schema {schema!r} is newer than this vericount's {SCHEMA_HEAD}; "
                           "import it with a newer vericount")
    case_id = doc.get("case")
    if not isinstance(case_id, str) or not _SAFE_NAME.fullmatch(case_id):
        raise InvalidValue(f"{path}: case {case_id!r} is not a case id")
    if not isinstance(tables, dict):
        raise InvalidValue(f"{path}: no 'tables'")
    for name in TABLES:
        if name not in tables and schema >= SINCE.get(name, ""):
            raise InvalidValue(f"{path}: table {name} is not listed")
    for name, entry in tables.items():
        ok = (isinstance(entry, dict) and isinstance(entry.get("file"), str)
              and _SAFE_NAME.fullmatch(entry["file"]) is not None and entry["file"] != MANIFEST
              and isinstance(entry.get("rows"), int) and isinstance(entry.get("sha256"), str))
        if not ok:
            raise InvalidValue(f"{path}: the entry for {name!r} needs a plain file name, rows and sha256")
    return doc, content


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidValue(f"{path}: cannot be read ({exc.strerror})") from exc


def _load_json(path: Path, content: bytes) -> Any:
    try:
        return strict_loads(content.decode("utf-8"))
    except InvalidValue as exc:
        raise InvalidValue(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InvalidValue(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise InvalidValue(f"{path}: not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno}; "
                           "truncated?)") from exc


def _read_rows(path: Path, content: bytes, name: str, expected: int) -> list[dict[str, Any]]:
    """The rows of one table's file, checked against the schema and converted to database values."""
    doc = _load_json(path, content)
    if not isinstance(doc, list):
        raise InvalidValue(f"{path}: a table's file holds a JSON list of rows")
    if len(doc) != expected:
        raise InvalidValue(f"{path}: {len(doc)} rows, but export.json says {expected}")
    cols = {c.name: (c, _kind(c)) for c in table(name).columns}
    out = []
    for n, row in enumerate(doc, 1):
        if not isinstance(row, dict):
            raise InvalidValue(f"{path}: row {n} is not a JSON object")
        unknown = [k for k in row if k not in cols]
        if unknown:
            raise InvalidValue(f"{path}: row {n}: unknown column {unknown[0]!r} (not in this vericount's "
                               f"{name} table)")
        values = {}
        for col_name, (col, kind) in cols.items():
            if col_name not in row and col.default is not None and getattr(col.default, "is_scalar", False):
                values[col.key] = col.default.arg  # type: ignore[attr-defined]
                continue
            try:
                values[col.key] = _decode(col, kind, row.get(col_name))
            except _Bad as exc:
                raise InvalidValue(f"{path}: row {n}, {col_name}: {exc}") from None
        out.append(values)
    return out


def _chain_problems(events: list[dict[str, Any]]) -> str | None:
    """Whether the exported custody log's hash chain holds (None) or where it breaks."""
    broken = sorted({int(p.event_id) for p in check_events(sorted(events, key=lambda e: int(e["id"])))})
    if not broken:
        return None
    return f"{len(broken)} event(s) do not follow the chain, first {broken[0]}"


def _require_empty(s: Session) -> None:
    for name in TABLES:
        if name == AUDIT:
            continue
        n = s.scalar(select(func.count()).select_from(table(name)))
        if n:
            what = "items" if name == "items" else f"rows in its {name} table"
            raise CaseError(f"this case already holds {n} {what}; import fills a new case: run "
                            "'vericount init DIR' and import there")


def _plan_originals(folder: Path, item_ids: set[str]) -> tuple[dict[str, Path], list[str]]:
    """The files of ``folder`` named by an item's sha256 (any extension), and the names of the others."""
    plan: dict[str, Path] = {}
    ignored: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.name.startswith(".") or not path.is_file():
            continue
        sha = path.name.split(".", 1)[0].lower()
        if _SHA256.fullmatch(sha) and sha in item_ids:
            plan.setdefault(sha, path)
        else:
            ignored.append(str(path.relative_to(folder)))
    return plan, ignored


def _store_originals(case: Case, plan: dict[str, Path], created: list[Path]) -> tuple[list[str], list[str]]:
    stored, present = [], []
    for sha, path in sorted(plan.items()):
        if case.evidence.has(sha):
            present.append(sha)
            continue
        try:
            with path.open("rb") as f:
                got = case.evidence.put_stream(f)
        except OSError as exc:
            raise InvalidValue(f"{path}: cannot be read ({exc.strerror})") from exc
        if got.new:
            created.append(got.path)
        if got.sha256 != sha:
            raise InvalidValue(f"{path}: its SHA-256 is {got.sha256}, not the item {sha} its name says")
        stored.append(sha)
    return stored, present


def _insert(s: Session, t: Table, rows: list[dict[str, Any]], file: str) -> None:
    try:
        for k in range(0, len(rows), _CHUNK):
            s.execute(insert(t), rows[k:k + _CHUNK])
    except SQLAlchemyError as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        first = lines[0] if lines else type(exc).__name__
        raise InvalidValue(f"{file}: its rows do not fit the case ({first})") from exc


def _reset_sequences(s: Session) -> None:
    """PostgreSQL: move each id sequence past the ids inserted, so the next row does not collide."""
    for name in _serial_tables():
        t = table(name)
        col = t.autoincrement_column
        assert col is not None
        s.execute(select(func.setval(func.pg_get_serial_sequence(name, col.name),
                                     func.coalesce(func.max(col), 0) + 1, False)))


def _serial_tables() -> Iterable[str]:
    return [name for name in TABLES if name != AUDIT and table(name).autoincrement_column is not None]
