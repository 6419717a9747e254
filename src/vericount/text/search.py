"""``vericount search``: one full-text search over every text of the case, on both back ends.

What is searched (``search_entries``, one row per text): on-screen lines (``ocr``), transcripts
(``speech``), the captions and notes of sources (``caption``), reviewers' notes (``note``) and the
sentences of claims (``claim``). The stages write their rows as they save; sources, notes and claims are
brought up to date when a search starts (``sync``: only ids are compared).

Text is folded the same way for both back ends before it is indexed and before it is looked for: its
words only (runs of letters and digits), Unicode NFKC, case folded, ``ё`` as ``е``. SQLite searches it
with FTS5 (``search_fts``, an external-content index over ``search_entries`` with triggers that keep it in
step, made when first needed: it is an index, not evidence, and is rebuilt from the table); PostgreSQL
with ``to_tsvector('simple', norm)`` and a GIN index.
Every word of the query must be in a hit; hits are ranked by BM25 (SQLite) or ``ts_rank`` (PostgreSQL).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, delete, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.store.schema import ClaimRow, ItemName, Note, SearchEntry, Source

KINDS = ("ocr", "speech", "caption", "note", "claim")
WORD = re.compile(r"[^\W_]+")
MAX_QUERY = 500


def fold(value: str) -> str:
    """The text as both back ends index it: its words only (letters and digits; "@kursk_now" and
    "t.me/kursk_now/7" hold the words "kursk" and "now"), NFKC, case folded, ё as е."""
    return " ".join(WORD.findall(unicodedata.normalize("NFKC", value).casefold().replace("ё", "е")))


@dataclass(frozen=True)
class Hit:
    kind: str
    item: str
    name: str | None
    start: float | None
    end: float | None
    text: str


def sync(session: Session) -> None:
    """Bring the entries of sources (link, account and notes: the caption is in the notes), notes and
    claims up to date with their tables."""
    tables: list[tuple[str, Any, list[Any]]] = [
        ("caption", Source, [Source.url, Source.platform, Source.account, Source.notes]),
        ("note", Note, [Note.text]),
        ("claim", ClaimRow, [ClaimRow.sentence]),
    ]
    for kind, model, fields in tables:
        have = set(session.scalars(select(SearchEntry.ref).where(SearchEntry.kind == kind)))
        rows: dict[int, tuple[str, str]] = {}
        for ref, item, *parts in session.execute(select(model.id, model.item_id, *fields)):
            body = " ".join(p.strip() for p in parts if p and p.strip())
            if body:
                rows[ref] = (item, body)
        gone = have - set(rows)
        if gone:
            session.execute(delete(SearchEntry).where(SearchEntry.kind == kind, SearchEntry.ref.in_(gone)))
        session.add_all(
            SearchEntry(kind=kind, item_id=rows[ref][0], ref=ref, body=rows[ref][1], norm=fold(rows[ref][1]))
            for ref in set(rows) - have
        )
    session.flush()


def search(case: Case, query: str, kinds: list[str] | None = None, limit: int = 50) -> list[Hit]:
    if len(query) > MAX_QUERY:
        raise InvalidValue(f"the search is over {MAX_QUERY} characters")
    words = WORD.findall(fold(query))
    if not words:
        raise InvalidValue(f"{query!r}: nothing to search for (give a word)")
    for kind in kinds or ():
        if kind not in KINDS:
            raise InvalidValue(f"{kind!r}: not a kind of text ({', '.join(KINDS)})")
    with case.session() as s:
        sync(s)
        if case.dialect == "sqlite":
            _fts5(s)
            match = " ".join(f'"{w}"' for w in words)
            fts = table("search_fts", column("rowid"), column("search_fts"))
            ranked = (
                select(SearchEntry)
                .join(fts, fts.c.rowid == SearchEntry.id)
                .where(fts.c.search_fts.op("MATCH")(match))
                .order_by(func.bm25(literal_column("search_fts")))
            )
        else:
            s.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_search_entries_fts ON search_entries "
                    "USING gin (to_tsvector('simple', norm))"
                )
            )
            vector, wanted = (
                func.to_tsvector("simple", SearchEntry.norm),
                func.plainto_tsquery("simple", " ".join(words)),
            )
            ranked = (
                select(SearchEntry)
                .where(vector.op("@@")(wanted))
                .order_by(func.ts_rank(vector, wanted).desc())
            )
        if kinds:
            ranked = ranked.where(SearchEntry.kind.in_(kinds))
        rows = list(s.scalars(ranked.order_by(SearchEntry.item_id, SearchEntry.start).limit(limit)))
        names = dict(
            s.execute(
                select(ItemName.item_id, func.min(ItemName.name))
                .where(ItemName.item_id.in_({r.item_id for r in rows}))
                .group_by(ItemName.item_id)
            ).all()
        )
        return [Hit(r.kind, r.item_id, names.get(r.item_id), r.start, r.end, r.body) for r in rows]


def _fts5(s: Session) -> None:
    """The FTS5 index and the triggers that keep it in step with ``search_entries``, made (and filled
    from the table) the first time a search needs them."""
    if s.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'search_fts'")).first():
        return
    for statement in (
        "CREATE VIRTUAL TABLE search_fts USING fts5(norm, content='search_entries', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 0')",
        "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_entries BEGIN "
        "INSERT INTO search_fts(rowid, norm) VALUES (new.id, new.norm); END",
        "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_entries BEGIN "
        "INSERT INTO search_fts(search_fts, rowid, norm) VALUES ('delete', old.id, old.norm); END",
        "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
    ):
        s.execute(text(statement))
