"""Ingest: files and folders into the evidence store, with names, sources and metadata.

Each file is read once: its first bytes decide whether vericount takes it at all (nothing is written
for a refused file), and the same pass hashes it and copies it into the store. Inside folders, hidden
files, symbolic links (unless ``follow_links``), pipes, devices and sockets are skipped, and each skip is
reported with its reason; a link named by the caller is followed. Nothing is opened before it is known to
be a regular file, and then without blocking, so a pipe never hangs the batch. Database rows follow in
batches, after the evidence files they describe are durable, so a killed run leaves no row without its
file; the next run finds the stored bytes by hash and completes the rows. Metadata is then read by the
``metadata`` stage on every item that still needs it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from vericount.attachments import keep
from vericount.case import Case
from vericount.errors import IngestError, VericountError
from vericount.media.sniff import HEAD_SIZE, FileType, sniff
from vericount.run.executors import Executor, Outcome
from vericount.run.runner import StageReport, pending, record_run, save_outcomes, task_for
from vericount.run.stage import Task
from vericount.sidecars import Sidecar, find_sidecar, read_sidecar, sidecar_names
from vericount.sources import SourceInfo, SourceRow
from vericount.stages import MetadataStage
from vericount.store.evidence import Stored
from vericount.store.schema import Item, ItemName, Source, StageState, utcnow

BATCH = 256
IO_THREADS = 4

# Why an entry found inside a folder was not taken (AddReport.skipped keys), and how a person reads it.
HIDDEN, LINK, SPECIAL, CASE_FOLDER, SEEN = "hidden", "link", "special", "case", "seen"
SKIP_REASONS = {
    HIDDEN: "hidden",
    LINK: "symbolic link not followed",
    SPECIAL: "not a regular file (pipe, device or socket)",
    CASE_FOLDER: "the case's own folder",
    SEEN: "folder seen already (through a link)",
}


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
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason (SKIP_REASONS) -> paths
    sidecars: list[str] = field(default_factory=list)  # yt-dlp/gallery-dl sidecars read into sources
    stored: dict[str, str] = field(default_factory=dict)  # each file stored (new or held) -> its item

    @property
    def own(self) -> set[str]:
        """The items this batch's files are (new or already held)."""
        return set(self.added) | set(self.known)

    @property
    def hidden_skipped(self) -> int:
        return len(self.skipped.get(HIDDEN, []))

    def metadata_failures(self, earlier: bool = False) -> list[tuple[str, str]]:
        """Metadata failures of this batch's items (or, ``earlier``, of items an interrupted run left)."""
        own = self.own
        return [(i, m) for i, m in (self.metadata.failed if self.metadata else [])
                if (i not in own) == earlier]

    @property
    def ok(self) -> bool:
        """Every file of this batch stored and read (an earlier run's leftovers do not count)."""
        return not self.failed and not self.metadata_failures()


@dataclass(frozen=True)
class _Stored:
    path: Path
    stored: Stored
    filetype: FileType


@dataclass(frozen=True)
class _Found:
    path: Path
    size: int
    follow: bool  # the path is a symbolic link to follow (else it must not be one when opened)


def add(case: Case, paths: Iterable[Path], executor: Executor, *,
        source: SourceInfo | None = None, rows: list[SourceRow] | None = None,
        progress: IngestProgress | None = None, follow_links: bool = False,
        given: dict[Path, Sidecar] | None = None, failed: list[FileFailure] | None = None) -> AddReport:
    """Store files and folders (recursively). Links given in ``paths`` are followed; links found inside
    folders only with ``follow_links``. ``given``: sources read for some of the paths already (a
    Telegram export's messages), by absolute path; ``failed``: what the caller could not take."""
    report = AddReport(failed=list(failed or []))
    rows = rows or []
    used_rows: set[int] = set()
    case.evidence.clean_temporaries()
    files, beside = _collect(case, paths, report, follow_links)
    sidecars = _read_sidecars(beside, report) | (given or {})
    if report.failed:
        with case.session() as s:
            for failure in report.failed:
                case.record(s, "add.failed", None, path=failure.path, error=failure.message)
    if progress:
        progress.files(len(files), sum(f.size for f in files))
    on_bytes = progress.bytes_done if progress else None

    def store(found: _Found) -> _Stored | FileFailure:
        try:
            return _store_one(case, found, on_bytes)
        except VericountError as exc:
            return FileFailure(str(found.path), str(exc))

    # Metadata is read in worker processes while later files are still being stored.
    stage = MetadataStage()
    pipe = _Pipeline(case, stage, executor, progress)
    try:
        with ThreadPoolExecutor(IO_THREADS) as pool:
            for batch in _batched(pool.map(store, files), BATCH):
                with case.session() as s:
                    new = _register_batch(case, s, batch, source, rows, used_rows, report, sidecars)
                pipe.feed(new)
                pipe.save_ready()
        _apply_leftover_rows(case, rows, used_rows, report)
        with case.session() as s:  # this batch's items that still need it, and an interrupted run's
            pipe.feed([task_for(case, item) for item in _still_pending(s, stage, report.own)])
    finally:
        report.metadata = pipe.finish()
    return report


class _Pipeline:
    """Runs a stage's compute in worker processes over tasks fed as they become ready. Outcomes are
    saved by the feeding thread (between its own batches), so the case has one writer at a time."""

    def __init__(self, case: Case, stage: MetadataStage, executor: Executor,
                 progress: IngestProgress | None) -> None:
        self.case, self.stage, self.executor, self.progress = case, stage, executor, progress
        self.tasks: Queue[Task | None] = Queue()
        self.outcomes: Queue[Outcome[Task, Any] | None] = Queue()
        self.fed: set[str] = set()
        self.report = StageReport(stage.name)
        self.error: BaseException | None = None
        self.started = time.perf_counter()
        self.thread = threading.Thread(target=self._work, name="vericount-metadata", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            for outcome in self.executor.run(self.stage.compute, self._stream()):
                self.outcomes.put(outcome)
                if self.progress:
                    self.progress.stage_step()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread by finish()
            self.error = exc
        finally:
            self.outcomes.put(None)

    def _stream(self) -> Iterator[Task]:
        while (task := self.tasks.get()) is not None:
            yield task

    def feed(self, tasks: list[Task]) -> None:
        for task in tasks:
            if task.item_id not in self.fed:
                self.fed.add(task.item_id)
                self.tasks.put(task)

    def save_ready(self) -> None:
        """Save whatever outcomes have arrived, without waiting."""
        ready = []
        while not self.outcomes.empty():
            outcome = self.outcomes.get_nowait()
            if outcome is None:
                self.outcomes.put(None)  # keep the end mark for finish()
                break
            ready.append(outcome)
        save_outcomes(self.case, self.stage, ready, self.report)

    def finish(self) -> StageReport:
        if self.progress:
            self.progress.stage("metadata", len(self.fed))
        self.tasks.put(None)
        batch: list[Outcome[Task, Any]] = []
        while (outcome := self.outcomes.get()) is not None:
            batch.append(outcome)
            if len(batch) >= BATCH:
                save_outcomes(self.case, self.stage, batch, self.report)
                batch = []
        save_outcomes(self.case, self.stage, batch, self.report)
        self.thread.join()
        if self.error is not None:
            raise self.error
        self.report.seconds = time.perf_counter() - self.started
        record_run(self.case, self.stage, self.executor, self.report)
        return self.report


def _still_pending(s: Session, stage: MetadataStage, own: set[str]) -> list[Item]:
    """Items that need the stage: this batch's, and those an interrupted or older run left unread. An
    earlier batch's item whose reading failed is not tried again (nor reported again) by an unrelated
    batch; adding its file again retries it, and ``summary`` lists it."""
    failed = set(s.scalars(select(StageState.item_id).where(
        StageState.stage == stage.name, StageState.status == "failed",
        StageState.version == stage.version, StageState.params_hash == stage.params_hash())))
    return [item for item in pending(s, stage) if item.id in own or item.id not in failed]


def _collect(case: Case, paths: Iterable[Path], report: AddReport,
             follow_links: bool) -> tuple[list[_Found], dict[Path, Path]]:
    """Expand folders recursively; record what is skipped inside them (with the reason) and what cannot
    be read at all; set aside the sidecars beside media files (sidecars.py). Only ``lstat``/``stat``
    here: nothing is opened. Returns the files to store, and each media file's sidecar."""
    collector = _Collector(case, report, follow_links)
    for p in paths:
        collector.visit(Path(p).absolute(), explicit=True)
    found = [f for f in collector.found if f.path not in collector.sidecar_paths]
    for f in found:  # a file named on the command line: its sidecar may sit beside it, unlisted
        if f.path not in collector.sidecars:
            for name in sidecar_names(f.path):
                beside = f.path.with_name(name)
                if name != f.path.name and beside.is_file() and not beside.name.startswith("."):
                    collector.sidecars[f.path] = beside
                    break
    used = set(collector.sidecars.values())
    return [f for f in found if f.path not in used], collector.sidecars


def _read_sidecars(beside: dict[Path, Path], report: AddReport) -> dict[Path, Sidecar]:
    """Each media file's sidecar, parsed; one failure line for a sidecar that cannot be used (its media
    file is still added, without the sidecar's source)."""
    out: dict[Path, Sidecar] = {}
    for media, path in beside.items():
        try:
            out[media] = read_sidecar(path)
        except VericountError as exc:
            report.failed.append(FileFailure(str(path), f"sidecar of {media.name} not read: "
                                                        f"{str(exc).removeprefix(f'{path}: ')}"))
        else:
            report.sidecars.append(str(path))
    return out


class _Collector:
    def __init__(self, case: Case, report: AddReport, follow_links: bool) -> None:
        self.case, self.report, self.follow_links = case, report, follow_links
        self.found: list[_Found] = []
        self.seen_dirs: set[tuple[int, int]] = set()
        self.sidecars: dict[Path, Path] = {}  # media file -> its sidecar, in the same folder
        self.sidecar_paths: set[Path] = set()

    def fail(self, path: Path, message: str) -> None:
        self.report.failed.append(FileFailure(str(path), message))

    def skip(self, reason: str, path: Path) -> None:
        self.report.skipped.setdefault(reason, []).append(str(path))

    def visit(self, path: Path, explicit: bool) -> None:
        try:
            st = path.lstat()
            link = stat.S_ISLNK(st.st_mode)
            if link and not (explicit or self.follow_links):
                self.skip(LINK, path)
                return
            if link:
                st = path.stat()
        except OSError as exc:
            self.fail(path, _stat_failure(path, exc))
            return
        if self.case.contains(path):
            if explicit:
                self.fail(path, "inside the case's own folder: not added")
            else:
                self.skip(CASE_FOLDER, path)
        elif stat.S_ISDIR(st.st_mode):
            self.folder(path, st)
        elif stat.S_ISREG(st.st_mode):
            self.found.append(_Found(path, st.st_size, follow=link))
        elif explicit:
            self.fail(path, "not a regular file (device, pipe or socket)")
        else:
            self.skip(SPECIAL, path)

    def folder(self, path: Path, st: os.stat_result) -> None:
        if (st.st_dev, st.st_ino) in self.seen_dirs:
            self.skip(SEEN, path)
            return
        self.seen_dirs.add((st.st_dev, st.st_ino))
        try:
            children = sorted(path.iterdir())
        except OSError as exc:
            self.fail(path, f"cannot list folder: {exc.strerror}")
            return
        names = {c.name for c in children if not c.name.startswith(".")}
        for child in children:
            if child.name.startswith("."):
                continue
            sidecar = find_sidecar(child, names) if child.suffix not in ("", ".json") else None
            if sidecar is not None:
                self.sidecars[child] = sidecar
                self.sidecar_paths.add(sidecar)
        for child in children:
            if child.name.startswith("."):
                self.skip(HIDDEN, child)
            elif child not in self.sidecar_paths:
                self.visit(child, explicit=False)


def _stat_failure(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        if path.is_symlink():
            return f"broken symbolic link (to {path.readlink()})"
        return "no such file or folder"
    return f"cannot read: {exc.strerror or exc}"


def _open(found: _Found) -> int:
    """A descriptor for reading a regular file. O_NONBLOCK: a pipe put in the file's place since it was
    listed must not block the batch; O_NOFOLLOW: nor may a link that was not asked to be followed."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if found.follow else os.O_NOFOLLOW)
    try:
        fd = os.open(found.path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IngestError("symlink loop" if found.follow else
                              "became a symbolic link after it was listed: not followed") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IngestError("not a regular file (device, pipe or socket)")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _store_one(case: Case, found: _Found, on_bytes: Callable[[int], None] | None) -> _Stored:
    path = found.path
    try:
        with os.fdopen(_open(found), "rb") as f:
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


def _register_batch(case: Case, s: Session, batch: list[_Stored | FileFailure],
                    source: SourceInfo | None, rows: list[SourceRow], used_rows: set[int],
                    report: AddReport, sidecars: dict[Path, Sidecar] | None = None) -> list[Task]:
    """Rows for one batch of stored files, with a few set-based queries rather than some per file.
    Returns the tasks of the items it created, for the metadata stage."""
    shas = list({r.stored.sha256 for r in batch if isinstance(r, _Stored)})
    held = set(s.scalars(select(Item.id).where(Item.id.in_(shas))))
    paths: set[tuple[str, str]] = set()
    names: dict[str, list[str]] = defaultdict(list)
    for item_id, name, seen_path in s.execute(select(ItemName.item_id, ItemName.name, ItemName.path)
                                         .where(ItemName.item_id.in_(shas))):
        paths.add((item_id, seen_path))
        names[item_id].append(name)
    known_sources: dict[str, set[tuple[str | None, ...]]] = defaultdict(set)
    for src in s.scalars(select(Source).where(Source.item_id.in_(shas))):
        known_sources[src.item_id].add(_source_key(src))
    new_items: list[dict[str, object]] = []
    new_names: list[dict[str, object]] = []
    new_sources: list[dict[str, object]] = []
    attached: list[tuple[str, Sidecar]] = []
    now = utcnow()
    for got in batch:
        if isinstance(got, FileFailure):
            report.failed.append(got)
            case.record(s, "add.failed", None, path=got.path, error=got.message)
            continue
        sha, path = got.stored.sha256, got.path
        sidecar = (sidecars or {}).get(path)
        seen = sidecar.seen_as if sidecar is not None and sidecar.seen_as else str(path)
        report.stored[str(path)] = sha
        created = sha not in held
        if created:
            held.add(sha)
            new_items.append({"id": sha, "kind": got.filetype.kind, "size": got.stored.size,
                              "media_type": got.filetype.media_type, "added_at": now,
                              "added_by": case.actor, "status": "unreviewed", "revision": 1})
            case.record(s, "item.add", sha, name=path.name, path=seen, size=got.stored.size,
                        kind=got.filetype.kind, media_type=got.filetype.media_type)
            report.added.append(sha)
        else:
            if got.stored.new:
                case.record(s, "evidence.restored", sha, path=seen)
            report.known.append(sha)
        if (sha, seen) not in paths:
            paths.add((sha, seen))
            names[sha].append(path.name)
            new_names.append({"item_id": sha, "name": path.name, "path": seen, "seen_at": now,
                              "seen_by": case.actor})
            if not created:
                case.record(s, "item.name", sha, name=path.name, path=seen)
        if sidecar is not None:
            case.record(s, "item.sidecar", sha, path=str(sidecar.path), sha256=sidecar.sha256,
                        tool=sidecar.tool)
            attached.append((sha, sidecar))
        for info in _sources_for(path, sha, names[sha], source, rows, used_rows,
                                 sidecar.source if sidecar else None):
            key = _source_key(info)
            if key in known_sources[sha]:
                continue
            known_sources[sha].add(key)
            new_sources.append({"item_id": sha, **vars(info), "added_at": now,
                                "added_by": case.actor})
            case.record(s, "item.source", sha, **{k: v for k, v in vars(info).items() if v})
    _insert(s, new_items, new_names, new_sources)
    _keep_sidecars(case, s, attached, report)
    return [Task(str(v["id"]), str(v["kind"]), case.evidence.path(str(v["id"]))) for v in new_items]


def _insert(s: Session, items: list[dict[str, object]], names: list[dict[str, object]],
            sources: list[dict[str, object]]) -> None:
    """The batch's new rows, then the claims of the captions it brought."""
    for table, values in ((Item, items), (ItemName, names), (Source, sources)):
        if values:
            s.execute(insert(table), values)
    _read_captions(s, {str(v["item_id"]) for v in sources if v.get("notes")})


ROLE_OF_TOOL = {"yt-dlp capture": "info-json", "telegram-export": "export"}


def _keep_sidecars(case: Case, s: Session, attached: list[tuple[str, Sidecar]], report: AddReport) -> None:
    """Each sidecar kept as read, beside its item (the source row is only its reading)."""
    for sha, sidecar in attached:
        try:
            keep(case, s, [sha], sidecar.path, ROLE_OF_TOOL.get(sidecar.tool, "sidecar"), url=sidecar.seen_as)
        except OSError as exc:
            report.failed.append(FileFailure(str(sidecar.path), f"sidecar not kept: {exc.strerror}"))


def _sources_for(path: Path, sha: str, names: list[str], source: SourceInfo | None,
                 rows: list[SourceRow], used_rows: set[int],
                 sidecar: SourceInfo | None = None) -> list[SourceInfo]:
    """The file's sidecar refines the command-line source, and a CSV row that names the file refines
    both; otherwise the command-line source applies."""
    if sidecar is not None:
        source = (source or SourceInfo()).merged(sidecar)
    infos = []
    for row in rows:
        if row.matches(path, sha, names):
            used_rows.add(row.line)
            infos.append((source or SourceInfo()).merged(row.info))
    if not infos and source and not source.is_empty():
        infos = [source]
    return infos


def _source_key(src: Source | SourceInfo) -> tuple[str | None, ...]:
    return (src.url, src.platform, src.account, src.posted_at, src.notes)


def _add_source(case: Case, s: Session, item: Item, info: SourceInfo) -> None:
    if any(_source_key(existing) == _source_key(info) for existing in item.sources):
        return
    s.add(Source(item=item, url=info.url, platform=info.platform, account=info.account,
                 posted_at=info.posted_at, notes=info.notes, added_at=utcnow(),
                 added_by=case.actor))
    case.record(s, "item.source", item.id, **{k: v for k, v in vars(info).items() if v})
    if info.notes:
        s.flush()
        _read_captions(s, {item.id})


def _read_captions(s: Session, shas: set[str]) -> None:
    """The claims in the captions of these photos and videos (the post's own words in their sources' notes),
    read again now that they have a new one (claims/said.py). A text item is read whole by the claims
    stage."""
    if not shas:
        return
    from vericount.claims.said import claims_in_lines, post_words, replace_claims

    kinds = {row.id: row.kind for row in s.execute(select(Item.id, Item.kind).where(Item.id.in_(shas)))}
    captions: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
    for row in s.execute(select(Source.item_id, Source.notes)
                         .where(Source.item_id.in_(shas), Source.notes.is_not(None))):
        captions[row.item_id] += [(words, None) for words in post_words(row.notes or "")]
    for sha in sorted(shas):
        if kinds.get(sha) not in (None, "text"):
            replace_claims(s, sha, "caption", claims_in_lines(captions[sha]))


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
