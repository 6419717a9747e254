"""Claims in what an item shows and says: the captions of its sources, the lines read on its screen (ocr) and
what is said in it (speech), read by the same rules as reports (English, Russian and Ukrainian: stage.py).

Each claim is kept with where it was read (``origin``: report, caption, ocr, speech) and, in a video, when
(``at``, seconds). Like a report's claims they are entries of the ledger that `claims compare` sets against
the certified count, never part of it. The ocr and speech stages read the claims of their lines in their
workers and replace them when they replace the lines; ingest reads a caption's when it adds the source.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import delete

from vericount.store.schema import ClaimRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.claims.extract import Claim, Extraction

ORIGINS = ("report", "caption", "ocr", "speech")
# The post's own words in a source's notes, as ingest writes them (sidecars.py, telegram.py): the title, up
# to the next field, and the caption or message text, last. The rest (post id, views, message number) is
# vericount's own record, never read for claims.
TITLE = re.compile(r"(?:^|; )title: (.*?)(?=; (?:views|likes|comments|caption): |$)", re.DOTALL)
CAPTION = re.compile(r"(?:^|; )(?:caption|text): (.*)$", re.DOTALL)
Found = list[tuple["Claim", float | None]]  # a claim and the time of the line it was read in


def _read(text: str) -> Extraction | None:
    """The claims of a text in a language the rules read; None for any other."""
    from vericount.claims.stage import LANGUAGES, extraction, language

    found = language(text)
    return extraction(text, found) if found in LANGUAGES else None


def claims_in_lines(lines: list[tuple[str, float | None]]) -> Found:
    """Each line on its own (lines on screen are captions of their own, not one text)."""
    out: Found = []
    for text, at in lines:
        if any(c.isalnum() for c in text):
            read = _read(text)
            out += [(c, at) for c in read.claims] if read else []
    return out


def claims_in_speech(lines: list[tuple[str, float | None]]) -> Found:
    """What is said, read as one text (a sentence runs over the pieces a transcript is cut into); each claim
    takes the time of the piece its sentence starts in."""
    text, starts = "", []
    for piece, at in lines:
        starts.append((len(text), at))
        text += piece.strip() + " "
    read = _read(text) if text.strip() else None
    if read is None:
        return []
    return [(c, max((s for s in starts if s[0] <= c.start), default=(0, None))[1]) for c in read.claims]


def post_words(notes: str) -> list[str]:
    """The words of the post itself in a source's notes: its title and its caption or text."""
    found = (TITLE.search(notes), CAPTION.search(notes))
    return [m.group(1).strip() for m in found if m and m.group(1).strip()]


def replace_claims(session: Session, item_id: str, origin: str, found: Found) -> None:
    """The item's claims of this origin, replaced by ``found``."""
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin of a claim {origin!r}")
    session.execute(delete(ClaimRow).where(ClaimRow.item_id == item_id, ClaimRow.origin == origin))
    session.add_all(ClaimRow(item_id=item_id, origin=origin, at=at, **claim.to_json()) for claim, at in found)
