"""Items: finding them by reference, listing them, and the reviewer's edits (status, place, date)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vericount.case import Case
from vericount.errors import AmbiguousItem, Conflict, InvalidValue, ItemNotFound
from vericount.store.audit import serialise
from vericount.store.schema import AuditEvent, Item, ItemName
from vericount.values import check_lat_lon, check_precision, one_line, parse_status, parse_when

HEX = re.compile(r"^[0-9a-fA-F]{6,64}$")
NEEDS_NOTE = ("verified", "rejected")
MAX_TEXT = 20_000  # characters of a note or a status note
MAX_METHOD = 2_000  # characters of how a place or a date was found
MAX_TAGS = 20  # tags added at once


def _text(value: str | None, what: str, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise InvalidValue(f"{what} has {len(value):,} characters; the limit is {limit:,}")
    return value


@dataclass(frozen=True)
class SourceView:
    url: str | None
    platform: str | None
    account: str | None
    posted_at: str | None
    notes: str | None
    added_by: str
    added_at: str


@dataclass(frozen=True)
class ItemView:
    """An item as the CLI and the desk show it (``items --json``, ``show --json``)."""

    id: str
    names: list[str]
    paths: list[str]
    kind: str
    media_type: str
    size: int
    status: str
    status_note: str | None
    added_at: str
    added_by: str
    metadata: dict[str, Any] | None
    sources: list[SourceView]
    geolocation: dict[str, Any] | None
    chronolocation: dict[str, Any] | None
    stages: dict[str, dict[str, Any]]
    attachments: list[dict[str, Any]] = field(default_factory=list)  # attachments.py; given by ``show``

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def view(item: Item) -> ItemView:
    geo = None
    if item.lat is not None and item.lon is not None:
        geo = {"lat": item.lat, "lon": item.lon, "precision_m": item.geo_precision_m,
               "method": item.geo_method}
    chrono = None
    if item.date_from is not None:
        chrono = {"from": item.date_from, "to": item.date_to, "method": item.date_method}
    return ItemView(
        id=item.id, names=_unique(n.name for n in item.names), paths=[n.path for n in item.names],
        kind=item.kind, media_type=item.media_type, size=item.size, status=item.status,
        status_note=item.status_note, added_at=item.added_at.isoformat(), added_by=item.added_by,
        metadata=item.media_meta,
        sources=[SourceView(src.url, src.platform, src.account, src.posted_at, src.notes,
                            src.added_by, src.added_at.isoformat()) for src in item.sources],
        geolocation=geo, chronolocation=chrono,
        stages={st.stage: {"status": st.status, "version": st.version, "error": st.error,
                           "note": st.detail if st.status == "done" else None}
                for st in item.stages},
    )


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def _loaded() -> Any:
    return select(Item).options(selectinload(Item.names), selectinload(Item.sources),
                                selectinload(Item.stages))


def list_items(case: Case, status: str | None = None, kind: str | None = None) -> list[ItemView]:
    query = _loaded().order_by(Item.added_at, Item.id)
    if status:
        query = query.where(Item.status == parse_status(status))
    if kind:
        query = query.where(Item.kind == kind)
    with case.session() as s:
        return [view(item) for item in s.scalars(query)]


def resolve(s: Session, ref: str) -> Item:
    """An item by sha256 prefix (6+ hex digits) or by a file name (or path) it was seen under."""
    ref = ref.strip()
    candidates: list[Item] = []
    if HEX.match(ref):  # a whole id is looked up by its key (a prefix is a LIKE, which PostgreSQL scans)
        whole = len(ref) == 64
        candidates = list(s.scalars(_loaded().where(Item.id == ref.lower() if whole else
                                                    Item.id.startswith(ref.lower()))))
    if not candidates:
        by_name = select(ItemName.item_id).where((ItemName.name == ref) | (ItemName.path == ref))
        candidates = list(s.scalars(_loaded().where(Item.id.in_(by_name))))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        hint = "" if HEX.match(ref) or not re.fullmatch(r"[0-9a-fA-F]+", ref) else (
            "; a sha256 prefix needs at least 6 hex digits")
        raise ItemNotFound(f"no item matches {one_line(ref)!r}{hint}")
    listed = ", ".join(f"{c.id[:12]} ({one_line(c.names[0].name) if c.names else '?'})"
                       for c in candidates[:10])
    more = f" and {len(candidates) - 10} more" if len(candidates) > 10 else ""
    raise AmbiguousItem(f"{one_line(ref)!r} matches {len(candidates)} items: {listed}{more}; "
                        "give more of the sha256")


def show(case: Case, ref: str) -> ItemView:
    from vericount.attachments import of_item

    with case.session() as s:
        item = view(resolve(s, ref))
        return replace(item, attachments=[asdict(k) for k in of_item(s, item.id)])


MAX_CHANGES_SHOWN = 100  # events listed beside a conflict
EDITS = ("item.status", "item.locate", "item.date")  # the reviewer's edits of an item (its revision moves)


@contextmanager
def editing(case: Case, ref: str, revision: int | None = None) -> Iterator[tuple[Session, Item]]:
    """One item edited in one transaction. With ``revision`` (the item's revision the reviewer's page
    showed), the edit is refused with Conflict unless the item is still at it: checked after taking the
    writers' lock (audit.serialise), so no other process commits in between; and the UPDATE itself names
    the revision it read (the mapper's version column), so a writer that did not take the lock is caught
    too. Nothing is saved on a conflict."""
    from sqlalchemy.orm.exc import StaleDataError

    try:
        with case.session() as s:
            serialise(s)
            item = resolve(s, ref)
            if revision is not None and item.revision != revision:
                raise _changed(s, item.id, item.revision - revision)
            yield s, item
            s.flush()
    except StaleDataError as exc:
        with case.reading() as s:
            raise _changed(s, resolve(s, ref).id, 1) from exc


def _changed(s: Session, item_id: str, since: int) -> Conflict:
    """The refusal of an edit made on an older view of the item, with what changed since."""
    def latest(*where: Any) -> list[AuditEvent]:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.item_id == item_id, *where)
                              .order_by(AuditEvent.id.desc()).limit(min(MAX_CHANGES_SHOWN, max(1, since)))))

    # the edits that move the revision (a judgment or a note on the item does not); else whatever did
    changes = latest(AuditEvent.action.in_(EDITS)) or latest()
    shown: list[dict[str, object]] = [
        {"actor": e.actor, "at": e.at.isoformat(timespec="seconds"), "action": e.action,
         "detail": {k: v for k, v in e.detail.items() if k != "before"}} for e in changes]
    return Conflict("someone else changed this item after you opened it; nothing was saved. "
                    "Their change is below: reload the item and decide again.", shown, item_id=item_id)


def set_status(case: Case, ref: str, status: str, note: str | None, revision: int | None = None) -> ItemView:
    """The item's review status (with the note verified and rejected need); ``revision``: see editing()."""
    status = parse_status(status)
    note = _text((note or "").strip() or None, "the note", MAX_TEXT)
    if status in NEEDS_NOTE and not note:
        raise InvalidValue(f"a note (--note) is required to mark an item {status}")
    with editing(case, ref, revision) as (s, item):
        before = {"status": item.status, "note": item.status_note}
        item.status, item.status_note = status, note
        case.record(s, "item.status", item.id, status=status, note=note, before=before)
        return view(item)


@dataclass(frozen=True)
class Place:
    """Where an item was filmed (``lat``, ``lon``; ``precision_m`` and ``method`` optional)."""

    lat: float
    lon: float
    precision_m: float | None = None
    method: str | None = None


@dataclass(frozen=True)
class When:
    """When an item was filmed: ``start`` (and ``end`` for a range) as dates or times, and how it is known."""

    start: str
    end: str | None = None
    method: str | None = None


def locate(case: Case, ref: str, lat: float, lon: float, precision_m: float | None,
           method: str | None, revision: int | None = None) -> ItemView:
    return place(case, ref, Place(lat, lon, precision_m, method), None, revision)


def set_date(case: Case, ref: str, start: str, end: str | None, method: str | None,
             revision: int | None = None) -> ItemView:
    return place(case, ref, None, When(start, end, method), revision)


def place(case: Case, ref: str, where: Place | None, when: When | None,
          revision: int | None = None) -> ItemView:
    """The item's place, date or both, in one transaction; ``revision``: see editing()."""
    if where is not None:
        check_lat_lon(where.lat, where.lon)
        _text(where.method, "the method", MAX_METHOD)
        check_precision(where.precision_m)
    dates: tuple[str, str | None] | None = None
    if when is not None:
        _text(when.method, "the method", MAX_METHOD)
        start_iso = parse_when(when.start, "FROM")
        end_iso = parse_when(when.end, "TO") if when.end else None
        if end_iso is not None and end_iso[:10] < start_iso[:10]:
            raise InvalidValue(f"TO ({end_iso}) is before FROM ({start_iso})")
        dates = start_iso, end_iso
    with editing(case, ref, revision) as (s, item):
        if where is not None:
            before: dict[str, object] = {"lat": item.lat, "lon": item.lon,
                                         "precision_m": item.geo_precision_m, "method": item.geo_method}
            item.lat, item.lon, item.geo_precision_m, item.geo_method = (where.lat, where.lon,
                                                                         where.precision_m, where.method)
            case.record(s, "item.locate", item.id, lat=where.lat, lon=where.lon,
                        precision_m=where.precision_m, method=where.method, before=before)
        if when is not None and dates is not None:
            before = {"from": item.date_from, "to": item.date_to, "method": item.date_method}
            item.date_from, item.date_to, item.date_method = dates[0], dates[1], when.method
            case.record(s, "item.date", item.id, date_from=dates[0], date_to=dates[1], method=when.method,
                        before=before)
        return view(item)


def first_names(case: Case, ids: set[str]) -> dict[str, str]:
    """The first file name each item was seen under, for labelling item ids in listings."""
    out: dict[str, str] = {}
    if not ids:
        return out
    with case.session() as s:
        for item_id, name in s.execute(select(ItemName.item_id, ItemName.name)
                                       .where(ItemName.item_id.in_(list(ids))).order_by(ItemName.id)):
            out.setdefault(item_id, name)
    return out


TAG = re.compile(r"^[\w][\w .:/#+-]{0,99}$")


def add_tags(case: Case, ref: str, tags: list[str]) -> list[str]:
    """Tags on an item (free words: "kursk", "day-1", "needs translation"); returns the item's tags."""
    from vericount.store.schema import Tag, utcnow

    clean = [t.strip() for t in tags if t.strip()]
    if len(clean) > MAX_TAGS:
        raise InvalidValue(f"{len(clean)} tags at once: at most {MAX_TAGS}")
    for tag in clean:
        if not TAG.match(tag):
            raise InvalidValue(f"tag {one_line(tag)!r}: letters, digits, spaces and . : / # + - only "
                               "(up to 100)")
    with case.session() as s:
        serialise(s)  # the item's tags are read, then added to or taken from
        item = resolve(s, ref)
        have = set(s.scalars(select(Tag.tag).where(Tag.item_id == item.id)))
        for tag in clean:
            if tag not in have:
                s.add(Tag(item_id=item.id, tag=tag, by=case.actor, at=utcnow()))
                have.add(tag)
                case.record(s, "item.tag", item.id, tag=tag)
        return sorted(have)


def remove_tag(case: Case, ref: str, tag: str) -> list[str]:
    from vericount.store.schema import Tag

    with case.session() as s:
        serialise(s)  # the item's tags are read, then added to or taken from
        item = resolve(s, ref)
        row = s.get(Tag, (item.id, tag))
        if row is not None:
            s.delete(row)
            case.record(s, "item.untag", item.id, tag=tag)
        return sorted(set(s.scalars(select(Tag.tag).where(Tag.item_id == item.id))) - {tag})


def add_note(case: Case, ref: str, text: str) -> None:
    from vericount.store.schema import Note, utcnow

    text = text.strip()
    if not text:
        raise InvalidValue("the note is empty")
    _text(text, "the note", MAX_TEXT)
    with case.session() as s:
        item = resolve(s, ref)
        s.add(Note(item_id=item.id, text=text, by=case.actor, at=utcnow()))
        case.record(s, "item.note", item.id, text=text)
