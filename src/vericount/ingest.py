"""Ingest: files and folders into the evidence store, with names, sources and metadata.

Each file is read once: its first bytes decide whether vericount takes it at all (nothing is written
for a refused file), and the same pass hashes it and copies it into the store. Database rows follow in
batches, after the evidence files they describe are durable, so a killed run leaves no row without its
file; the next run finds the stored bytes by hash and completes the rows. Metadata is then read by the
``metadata`` stage on every item that still needs it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from vericount.case import Case
from vericount.errors import IngestError, VericountError
from vericount.media.sniff import HEAD_SIZE, FileType, sniff
from vericount.run.executors import Executor
from vericount.run.runner import StageReport, run_stage
from vericount.sources import SourceInfo, SourceRow
from vericount.stages import MetadataStage
from vericount.store.evidence import Stored
from vericount.store.schema import Item, ItemName, Source, utcnow

BATCH = 256
IO_THREADS = 4


class IngestProgress(Protocol):
    def files(self, count: int, total_bytes: int) -> None: ...
    def bytes_done(self, n: int) -> None: ...  # called from I/O threads
    def stage(self, name: str, total: int) -> None: ...
    def stage_step(self) -> None: ...


@dataclass(frozen=True)
class FileFailure:
    path: str
    message: str


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)  # new items
    known: list[str] = field(default_factory=list)  # bytes the case already held
    failed: list[FileFailure] = field(default_factory=list)  # nothing stored for these
    metadata: StageReport | None = None
    hidden_skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not (self.metadata and self.metadata.failed)


@dataclass(frozen=True)
class _Stored:
    path: Path
    stored: Stored
    filetype: FileType


def add(case: Case, paths: Iterable[Path], executor: Executor, *,
        source: SourceInfo | None = None, rows: list[SourceRow] | None = None,
        progress: IngestProgress | None = None) -> AddReport:
    report = AddReport()
    rows = rows or []
    used_rows: set[int] = set()
    case.evidence.clean_temporaries()
    files = _collect(case, paths, report)
    if report.failed:
        with case.session() as s:
            for failure in report.failed:
                case.record(s, "add.failed", None, path=failure.path, error=failure.message)
    if progress:
        progress.files(len(files), sum(size for _, size in files))
    on_bytes = progress.bytes_done if progress else None

    def store(path: Path) -> _Stored | FileFailure:
        try:
            return _store_one(case, path, on_bytes)
        except VericountError as exc:
            return FileFailure(str(path), str(exc))

    with ThreadPoolExecutor(IO_THREADS) as pool:
        for batch in _batched(pool.map(store, [p for p, _ in files]), BATCH):
            with case.session() as s:
                for result in batch:
                    if isinstance(result, FileFailure):
                        report.failed.append(result)
                        case.record(s, "add.failed", None, path=result.path, error=result.message)
                    else:
                        _register(case, s, result, source, rows, used_rows, report)
    _apply_leftover_rows(case, rows, used_rows, report)
    report.metadata = run_stage(
        case, MetadataStage(), executor,
        on_start=(lambda n: progress.stage("metadata", n)) if progress else None,
        on_item=(lambda _o: progress.stage_step()) if progress else None,
    )
    return report


def _collect(case: Case, paths: Iterable[Path], report: AddReport) -> list[tuple[Path, int]]:
    """Expand folders (recursively, following links once), skip hidden files inside folders and the
    case's own folder; return (path, size) and record what cannot be read at all."""
    out: list[tuple[Path, int]] = []
    seen_dirs: set[tuple[int, int]] = set()

    def visit(path: Path, explicit: bool) -> None:
        if case.contains(path):
            return
        try:
            st = path.stat()
        except FileNotFoundError:
            if path.is_symlink():
                target = path.readlink()
                report.failed.append(FileFailure(str(path), f"broken symbolic link (to {target})"))
            else:
                report.failed.append(FileFailure(str(path), "no such file or folder"))
            return
        except OSError as exc:
            report.failed.append(FileFailure(str(path), f"cannot read: {exc.strerror}"))
            return
        if stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) in seen_dirs:
                return
            seen_dirs.add((st.st_dev, st.st_ino))
            try:
                children = sorted(path.iterdir())
            except OSError as exc:
                report.failed.append(FileFailure(str(path), f"cannot list folder: {exc.strerror}"))
                return
            for child in children:
                if child.name.startswith("."):
                    report.hidden_skipped += 1
                    continue
                visit(child, explicit=False)
        elif stat.S_ISREG(st.st_mode):
            out.append((path, st.st_size))
        elif explicit:
            report.failed.append(FileFailure(str(path), "not a regular file (device, pipe or socket)"))

    for p in paths:
        visit(Path(p).absolute(), explicit=True)
    return out


def _store_one(case: Case, path: Path, on_bytes: Callable[[int], None] | None) -> _Stored:
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise IngestError("not a regular file")
            head = f.read(HEAD_SIZE)
            if not head:
                raise IngestError("empty file (0 bytes): nothing to preserve")
            filetype = sniff(head, path.name)
            stored = case.evidence.put_stream(f, head, on_bytes)
    except FileNotFoundError:
        raise IngestError("the file disappeared before it could be read") from None
    except PermissionError:
        raise IngestError("cannot read: permission denied") from None
    except OSError as exc:
        raise IngestError(f"cannot read: {exc.strerror or exc}") from None
    return _Stored(path, stored, filetype)


def _register(case: Case, s: Session, got: _Stored, source: SourceInfo | None,
              rows: list[SourceRow], used_rows: set[int], report: AddReport) -> None:
    sha, path = got.stored.sha256, got.path
    item = s.get(Item, sha)
    created = item is None
    if item is None:
        item = Item(id=sha, kind=got.filetype.kind, media_type=got.filetype.media_type,
                    size=got.stored.size, added_at=utcnow(), added_by=case.actor,
                    status="unreviewed")
        s.add(item)
        case.record(s, "item.add", sha, name=path.name, path=str(path), size=got.stored.size,
                    kind=got.filetype.kind, media_type=got.filetype.media_type)
        report.added.append(sha)
    else:
        if got.stored.new:
            case.record(s, "evidence.restored", sha, path=str(path))
        report.known.append(sha)
    names = [n.name for n in item.names]
    if not any(n.path == str(path) for n in item.names):
        s.add(ItemName(item=item, name=path.name, path=str(path), seen_at=utcnow(),
                       seen_by=case.actor))
        if not created:
            case.record(s, "item.name", sha, name=path.name, path=str(path))
    # A CSV row that names the file refines the command-line source; otherwise that one applies.
    infos = []
    for row in rows:
        if row.matches(path, sha, names):
            used_rows.add(row.line)
            infos.append((source or SourceInfo()).merged(row.info))
    if not infos and source and not source.is_empty():
        infos = [source]
    for info in infos:
        _add_source(case, s, item, info)


def _add_source(case: Case, s: Session, item: Item, info: SourceInfo) -> None:
    for existing in item.sources:
        if (existing.url, existing.platform, existing.account, existing.posted_at,
                existing.notes) == (info.url, info.platform, info.account, info.posted_at,
                                    info.notes):
            return
    s.add(Source(item=item, url=info.url, platform=info.platform, account=info.account,
                 posted_at=info.posted_at, notes=info.notes, added_at=utcnow(),
                 added_by=case.actor))
    case.record(s, "item.source", item.id, **{k: v for k, v in vars(info).items() if v})


def _apply_leftover_rows(case: Case, rows: list[SourceRow], used: set[int],
                         report: AddReport) -> None:
    """CSV rows that named no file of this batch may name an item the case already holds."""
    left = [r for r in rows if r.line not in used]
    if not left:
        return
    with case.session() as s:
        for row in left:
            key = row.key.lower()
            query = select(Item).where(Item.id == key) if len(key) == 64 else (
                select(Item).join(ItemName).where(ItemName.name == Path(row.key).name).distinct())
            items = list(s.scalars(query))
            if not items:
                msg = f"line {row.line}: {row.key!r} matches no file given and no item of the case"
                report.failed.append(FileFailure("--sources", msg))
                case.record(s, "add.failed", None, path="--sources", error=msg)
                continue
            for item in items:
                _add_source(case, s, item, row.info)


def _batched(results: Iterator[_Stored | FileFailure],
             size: int) -> Iterator[list[_Stored | FileFailure]]:
    batch: list[_Stored | FileFailure] = []
    for r in results:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
