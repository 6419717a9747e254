"""The claims stage: the text of a report (plain text, or the main text of an HTML page), its language
(English, Russian or Ukrainian: claims/language.py), its quantitative claims read by that language's rules
(extract.py, russian.py, ukrainian.py), and its statements about verification. A text in another language
is stored, and said to be unread."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vericount.errors import DecodeError
from vericount.run.stage import Stage, Task

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.claims.extract import Claim, Extraction
    from vericount.store.schema import Item

MAX_CHARS = 2_000_000  # text beyond this is stored but not read for claims (about 300,000 words)
ENGLISH = {"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "was", "on", "with", "as", "said",
           "by", "at", "he", "from", "his", "be", "have", "are", "has", "were", "not", "this", "they"}
LANGUAGES = {"en": "English", "ru": "Russian", "uk": "Ukrainian"}


@dataclass
class ReportResult:
    title: str | None
    language: str
    chars: int
    sentences: int = 0
    claims: list[Claim] = field(default_factory=list)
    hedges: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_text(path: Path) -> tuple[str, str | None]:
    """The report's text and title: HTML through trafilatura (main text only; markup and scripts dropped,
    nothing executed), plain text decoded as UTF-8 (else Latin-1)."""
    raw = path.read_bytes()
    head = raw[:2048].lstrip().lower()
    if b"\x00" in raw[:8192]:
        raise DecodeError(f"{path.name}: binary data, not text")
    if head.startswith((b"<!doctype html", b"<html")) or path.suffix.lower() in (".html", ".htm"):
        import trafilatura

        html = raw.decode("utf-8", errors="replace")
        text = trafilatura.extract(html, include_comments=False, include_tables=False,
                                   favor_recall=True) or ""
        meta = trafilatura.extract_metadata(html)
        return text, (meta.title if meta is not None else None)
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return raw.decode("latin-1"), None


def is_english(text: str) -> bool:
    words = re.findall(r"[a-z]+", text[:20_000].lower())
    return bool(words) and sum(w in ENGLISH for w in words) / len(words) >= 0.08


def language(text: str) -> str:
    """en, ru or uk where the claims rules read the text; "other" where they do not."""
    from vericount.claims.language import language_of

    found = language_of(text[:20_000])
    return found if found != "en" or is_english(text) else "other"


def extraction(text: str, lang: str) -> Extraction:
    """The claims of a text by the rules of its language (en, ru or uk)."""
    from vericount.claims.extract import extract
    from vericount.claims.russian import extract_russian
    from vericount.claims.ukrainian import extract_ukrainian

    return {"en": extract, "ru": extract_russian, "uk": extract_ukrainian}[lang](text)


class ClaimsStage(Stage[ReportResult]):
    name = "claims"
    version = "2"  # 2: Russian and Ukrainian read too
    needs = ("metadata",)

    def params(self) -> dict[str, Any]:
        from vericount.claims.parse import MODEL

        return {"model": MODEL, "max_chars": MAX_CHARS, "languages": sorted(LANGUAGES),
                "russian": "natasha 1.6.0", "ukrainian": "tokenize-uk 2.0.0"}

    def accepts(self, item: Item) -> bool:
        return item.kind == "text"

    def compute(self, task: Task) -> ReportResult:
        text, title = read_text(task.path)
        result = ReportResult(title, language(text), len(text))
        if not text.strip():
            result.notes.append("no text found in it; nothing to extract")
            return result
        if result.language not in LANGUAGES:
            result.notes.append("stored; claims are read in English, Russian and Ukrainian, and this text is "
                                "in none of them")
            return result
        if len(text) > MAX_CHARS:
            result.notes.append(f"claims read from the first {MAX_CHARS:,} of {len(text):,} characters")
            text = text[:MAX_CHARS]
        found = extraction(text, result.language)
        result.sentences, result.claims, result.hedges = found.sentences, found.claims, found.report_hedges
        if not found.claims:
            result.notes.append("no quantitative claim found")
        return result

    def save(self, session: Session, item: Item, result: ReportResult) -> str | None:
        from sqlalchemy import delete

        from vericount.store.schema import ClaimRow, ReportText

        session.execute(delete(ClaimRow).where(ClaimRow.item_id == item.id, ClaimRow.origin == "report"))
        session.merge(ReportText(item_id=item.id, title=result.title, language=result.language,
                                 chars=result.chars, sentences=result.sentences, hedges=result.hedges))
        for c in result.claims:
            session.add(ClaimRow(item_id=item.id, **c.to_json()))
        return "; ".join(result.notes) or None
