"""Lines of text a stage found in an item (on screen, said), written in one place for every such stage.

A stage's ``compute`` returns ``Line`` records; its ``save`` calls ``replace_lines``, which replaces what
that stage found in the item before (a re-run is not added to the last one), keeps the search entries in
step (search.py) and, for on-screen text, proposes the sources the lines suggest (hints.py). Lines a
reviewer marked relevant survive a re-run when the same text is found again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vericount.store.schema import Item, SearchEntry, TextLine
from vericount.text.search import fold

KINDS = ("ocr", "speech")


@dataclass(frozen=True)
class Line:
    text: str
    start: float | None = None  # seconds; None for an image
    end: float | None = None
    confidence: float | None = None  # 0..1
    lang: str | None = None
    box: tuple[float, float, float, float] | None = None  # x, y, w, h as fractions of the frame


def replace_lines(session: Session, item: Item, kind: str, lines: list[Line]) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind of text {kind!r}")
    marked = {
        (r.text, r.marked_by, r.marked_at)
        for r in session.scalars(
            select(TextLine).where(
                TextLine.item_id == item.id, TextLine.kind == kind, TextLine.marked_by.is_not(None)
            )
        )
    }
    marks = {t: (by, at) for t, by, at in marked}
    old = select(TextLine.id).where(TextLine.item_id == item.id, TextLine.kind == kind)
    session.execute(delete(SearchEntry).where(SearchEntry.kind == kind, SearchEntry.ref.in_(old)))
    session.execute(delete(TextLine).where(TextLine.item_id == item.id, TextLine.kind == kind))
    rows = []
    for line in lines:
        by, at = marks.get(line.text, (None, None))
        rows.append(
            TextLine(
                item_id=item.id,
                kind=kind,
                start=line.start,
                end=line.end,
                text=line.text,
                lang=line.lang,
                confidence=line.confidence,
                box=list(line.box) if line.box else None,
                marked_by=by,
                marked_at=at,
            )
        )
    session.add_all(rows)
    session.flush()
    session.add_all(
        SearchEntry(
            kind=kind, item_id=item.id, ref=r.id, start=r.start, end=r.end, body=r.text, norm=fold(r.text)
        )
        for r in rows
    )
    if kind == "ocr":
        from vericount.text.hints import propose

        propose(session, item.id, lines)
