"""A reviewer marks lines of on-screen text or transcript as relevant: the report quotes those and no
others (a transcript may name people; it is never exported whole by default)."""

from __future__ import annotations

from sqlalchemy import select

from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.store.schema import TextLine, utcnow


def mark(case: Case, line_ids: list[int], relevant: bool = True, item_id: str | None = None) -> int:
    """Mark (or unmark) each line; logged per line. Returns how many changed. With ``item_id``, only that
    item's lines are found (the desk marks from an item's page)."""
    with case.session() as s:
        query = select(TextLine).where(TextLine.id.in_(line_ids))
        if item_id is not None:
            query = query.where(TextLine.item_id == item_id)
        rows = {r.id: r for r in s.scalars(query)}
        missing = sorted(set(line_ids) - set(rows))
        if missing:
            raise InvalidValue(
                f"no line of text {', '.join(map(str, missing))} (ids from vericount text ITEM)"
            )
        changed = 0
        for line_id in line_ids:
            row = rows[line_id]
            if (row.marked_by is not None) == relevant:
                continue
            row.marked_by, row.marked_at = (case.actor, utcnow()) if relevant else (None, None)
            case.record(
                s,
                "text.mark" if relevant else "text.unmark",
                row.item_id,
                line=row.id,
                kind=row.kind,
                text=row.text,
            )
            changed += 1
    return changed
