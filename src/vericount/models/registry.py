"""A case's own person detectors: ``vericount models add``, ``models remove``, ``people --detector``.

A model is part of the evidence of how a count was made, so it is kept in the case like an original: its
bytes are read once, hashed, checked (people/layouts.py loads them with onnxruntime and reads the input and
output shapes) and only then copied to ``CASE/models/<ab>/<sha256>`` (read-only, through a fsynced temporary
file, as store/evidence.py keeps originals), recorded in the ``models`` table and in the custody log. The
people stage runs that copy, after checking that it still hashes to its record; tracks name it as
``NAME@SHA256[:12]``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from vericount.errors import InvalidValue
from vericount.models.catalog import BUNDLED_NAMES, ModelInfo, file_sha256
from vericount.people.layouts import LAYOUTS, DetectorModel, Layout, read_layout
from vericount.store.evidence import EvidenceStore
from vericount.store.schema import AddedModel, PeopleItem, PersonTrack, utcnow

if TYPE_CHECKING:
    from vericount.case import Case

ROLE = "person detector"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_BYTES = (1 << 31) - 1  # protobuf's limit: a larger model keeps its weights in other files
UNSTATED = "not stated (added by people --detector; add it with vericount models add --licence to say)"
FOLDER = "models"


@dataclass(frozen=True)
class Added:
    model: ModelInfo
    new: bool  # False: these bytes were already added under this name
    restored: bool = False  # the case's copy was missing and was stored again
    file_licence: str | None = None  # what the file's own metadata says its licence is


def store(case: Case) -> EvidenceStore:
    return EvidenceStore(case.root / FOLDER)


def add(case: Case, path: Path, name: str, licence: str, classes: str | None = None,
        person_class: int | None = None) -> Added:
    """Add the ONNX person detector at ``path`` to the case as ``name``. Nothing is stored unless its
    layout is one vericount reads."""
    check_name(name)
    licence = licence.strip()
    if not licence:
        raise InvalidValue("--licence: say under which licence the model may be used")
    data, sha = _read(path, str(path))
    with case.session() as s:
        same = s.scalar(select(AddedModel).where(AddedModel.sha256 == sha))
    if same is not None:
        if same.name != name:
            raise InvalidValue(f"{path}: these bytes are already in the case as {same.name} (sha256 "
                               f"{sha[:12]}, added by {same.added_by}); nothing changed")
        return Added(info(case, same), new=False, restored=_restore(case, same, data))
    return _add_new(case, path, data, sha, name, licence, classes, person_class)


def detector(case: Case, ref: str) -> tuple[DetectorModel, Added | None]:
    """The person detector ``people --detector REF`` runs: the case's model named REF, or the ONNX file REF,
    added to the case first under its file name (unless the case has its bytes already)."""
    with case.session() as s:
        row = s.scalar(select(AddedModel).where(AddedModel.name == ref))
    added = None
    if row is None:
        if ref in BUNDLED_NAMES:
            raise InvalidValue(f"--detector {ref}: a bundled model; the bundled pair runs without --detector")
        path = Path(ref)
        if not path.exists():
            raise InvalidValue(f"--detector {ref}: no model of that name in this case (vericount models) "
                               "and no such file")
        data, sha = _read(path, f"--detector {ref}")
        with case.session() as s:
            row = s.scalar(select(AddedModel).where(AddedModel.sha256 == sha))
        if row is None:
            added = _add_new(case, path, data, sha, _name_for(path), UNSTATED, None, None,
                             via="people --detector")
            with case.session() as s:
                row = s.scalar(select(AddedModel).where(AddedModel.sha256 == sha))
            assert row is not None
    model = info(case, row)
    if model.state != "ok":
        raise InvalidValue(f"--detector {ref}: {model.problem()}; add the file again (vericount models add) "
                           "to restore it")
    chosen = DetectorModel(row.name, row.sha256, row.layout, row.input_size, row.person_class, model.path)
    return chosen, added


def remove(case: Case, name: str) -> ModelInfo:
    """Take a model out of the case, refused while any track or item's people summary names it."""
    with case.session() as s:
        row = s.scalar(select(AddedModel).where(AddedModel.name == name))
        if row is None:
            raise InvalidValue(f"no model named {name!r} in this case (vericount models lists them)")
        label = f"{row.name}@{row.sha256[:12]}"
        tracks = sum(n for d, n in s.execute(select(PersonTrack.detector, func.count())
                                             .group_by(PersonTrack.detector))
                     if d and label in d.split("+"))
        items = s.scalar(select(func.count()).select_from(PeopleItem).where(PeopleItem.detector == label))
        if tracks or items:
            raise InvalidValue(f"{name}: {tracks} track(s) and {items} item(s) were made with it; it stays "
                               "in the case so that they keep pointing to it")
        gone = info(case, row)
        case.record(s, "models.remove", None, name=row.name, sha256=row.sha256)
        s.delete(row)
    gone.path.unlink(missing_ok=True)
    return gone


def listed(case: Case) -> list[ModelInfo]:
    with case.session() as s:
        return [info(case, row) for row in s.scalars(select(AddedModel).order_by(AddedModel.name))]


def info(case: Case, row: AddedModel) -> ModelInfo:
    path = store(case).path(row.sha256)
    return ModelInfo(row.name, row.role, f"{FOLDER}/{row.sha256[:2]}/{row.sha256}", path, file_sha256(path),
                     row.sha256, row.licence, row.classes, input_text(row.layout, row.input_size), "added",
                     layout=f"{row.layout}: {LAYOUTS.get(row.layout, '?')}", added_by=row.added_by,
                     added_at=row.added_at, source=row.file_name)


def input_text(layout: str, size: int) -> str:
    if layout == "rtdetr":
        return (f"images float32 [N,3,{size},{size}] RGB 0..1, stretched; orig_target_sizes [N,2] "
                "(width, height)")
    fit = "stretched" if layout.startswith("rtdetr") else "letterboxed (grey 114)"
    return f"float32 [1,3,{size},{size}] RGB 0..1, {fit}"


def check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise InvalidValue(f"--name {name!r}: 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit")
    if name in BUNDLED_NAMES:
        raise InvalidValue(f"--name {name}: the name of a bundled model; choose another")


# -- helpers ----------------------------------------------------------------------------------------------

def _add_new(case: Case, path: Path, data: bytes, sha: str, name: str, licence: str, classes: str | None,
             person_class: int | None, via: str = "models add") -> Added:
    label = str(path) if via == "models add" else f"--detector {path}"
    with case.session() as s:
        taken = s.scalar(select(AddedModel).where(AddedModel.name == name))
    if taken is not None:
        hint = "" if via == "models add" else (f"; add the file with 'vericount models add {path} --name "
                                               "OTHER --licence ...' and give --detector OTHER")
        raise InvalidValue(f"{label}: the name {name} is taken by another model in this case (sha256 "
                           f"{taken.sha256[:12]}){hint}")
    layout = read_layout(data, label)
    person = _person_class(layout, person_class, label)
    described = classes.strip() if classes and classes.strip() else _classes(layout, person)
    stored = store(case).put_stream(io.BytesIO(data))
    try:
        with case.session() as s:
            row = AddedModel(name=name, role=ROLE, sha256=sha, layout=layout.layout,
                             input_size=layout.input_size, classes=described, person_class=person,
                             licence=licence, file_name=path.name, size=len(data), added_by=case.actor,
                             added_at=utcnow())
            s.add(row)
            s.flush()
            case.record(s, "models.add", None, name=name, sha256=sha, role=ROLE, layout=layout.layout,
                        input_size=layout.input_size, classes=described, person_class=person,
                        licence=licence, file_licence=layout.licence, source=str(path.absolute()),
                        size=len(data), via=via)
    except BaseException:
        if stored.new:
            stored.path.unlink(missing_ok=True)
        raise
    return Added(info(case, row), new=True, file_licence=layout.licence)


def _restore(case: Case, row: AddedModel, data: bytes) -> bool:
    """Store the case's copy again when it is missing (a case imported from an export has none)."""
    if file_sha256(store(case).path(row.sha256)) == row.sha256:
        return False
    path = store(case).path(row.sha256)
    path.unlink(missing_ok=True)  # an altered copy gives way to the bytes recorded
    store(case).put_stream(io.BytesIO(data))
    with case.session() as s:
        case.record(s, "models.restore", None, name=row.name, sha256=row.sha256)
    return True


def _read(path: Path, label: str) -> tuple[bytes, str]:
    import hashlib

    if not path.exists():
        raise InvalidValue(f"{label}: no such file")
    if not path.is_file():
        raise InvalidValue(f"{label}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidValue(f"{label}: an empty file, not an ONNX model")
    if size > MAX_BYTES:
        raise InvalidValue(f"{label}: {size} bytes; a model must be one ONNX file under 2 GiB")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidValue(f"{label}: cannot be read ({exc.strerror})") from exc
    return data, hashlib.sha256(data).hexdigest()


def _person_class(layout: Layout, given: int | None, label: str) -> int:
    if given is not None:
        if layout.classes is not None and given >= layout.classes:
            raise InvalidValue(f"--person-class {given}: {label} has {layout.classes} classes (0 to "
                               f"{layout.classes - 1})")
        return given
    named = layout.person_class()
    if named is not None:
        return named
    if layout.names is not None:
        shown = ", ".join(list(layout.names.values())[:5])
        raise InvalidValue(f"{label}: none of its classes ({shown}...) is named person; give "
                           "--person-class N if one of them is")
    return 0


def _classes(layout: Layout, person: int) -> str:
    if layout.names is not None:
        if len(layout.names) == 80 and layout.names.get(0) == "person":
            return f"COCO 80 (named in the file), person = {person}"
        return f"{len(layout.names)} named in the file, person = {person} ({layout.names.get(person, '?')})"
    if layout.classes is None:
        return f"COCO 80 in RT-DETR's label order (not stated in the file), person = {person}"
    if layout.classes == 80:
        return f"80 (COCO assumed: the file does not name them), person = {person}"
    return f"{layout.classes} (not named in the file), person = {person}"


def _name_for(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._")[:64]
    return name if name and name not in BUNDLED_NAMES else f"detector-{name}"[:64].strip("-._")
