"""Sources proposed from what an item shows on screen: a channel handle burned into a corner ("@kursk_now"),
a link ("t.me/kursk_now/123"), a platform's watermark ("TikTok"). Each is a proposal with its time span and
the reading's confidence; a reviewer accepts it (it becomes one of the item's sources, logged as any
source is) or rejects it (``vericount hints``). A machine's reading never becomes a source by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from vericount.errors import InvalidValue
from vericount.store.schema import Item, Source, SourceHint, utcnow

if TYPE_CHECKING:
    from vericount.case import Case
    from vericount.text.lines import Line

HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_]{3,31})\b")
LINK = re.compile(
    r"\b((?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|youtube\.com|youtu\.be|x\.com|twitter\.com|"
    r"tiktok\.com|instagram\.com|vk\.com|facebook\.com|rutube\.ru)/[A-Za-z0-9_./?=&%-]+)",
    re.I,
)
WATERMARKS = {
    "tiktok": "TikTok",
    "telegram": "Telegram",
    "youtube": "YouTube",
    "instagram": "Instagram",
    "вконтакте": "VK",
    "rutube": "Rutube",
}
WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Found:
    kind: str  # handle | link | watermark
    value: str
    start: float | None
    end: float | None
    confidence: float | None


def find(lines: Iterable[Line]) -> list[Found]:
    """Every handle, link and watermark in the lines, each once with the span of the lines it is in."""
    spans: dict[tuple[str, str], Found] = {}

    def add(kind: str, value: str, line: Line) -> None:
        old = spans.get((kind, value))
        starts = [t for t in (old.start if old else None, line.start) if t is not None]
        ends = [t for t in (old.end if old else None, line.end) if t is not None]
        confs = [c for c in (old.confidence if old else None, line.confidence) if c is not None]
        spans[(kind, value)] = Found(
            kind,
            value,
            min(starts) if starts else None,
            max(ends) if ends else None,
            max(confs) if confs else None,
        )

    for line in lines:
        for link in LINK.findall(line.text):
            add("link", link.rstrip("./").removeprefix("https://").removeprefix("http://"), line)
        for handle in HANDLE.findall(line.text):
            add("handle", "@" + handle, line)
        for word in WORD.findall(line.text.casefold()):
            if word in WATERMARKS:
                add("watermark", WATERMARKS[word], line)
    return sorted(spans.values(), key=lambda f: (f.start or 0.0, f.kind, f.value))


def propose(session: Session, item_id: str, lines: Iterable[Line]) -> None:
    """Open proposals for what the lines show; one already decided keeps its decision."""
    held = {
        (h.kind, h.value): h for h in session.scalars(select(SourceHint).where(SourceHint.item_id == item_id))
    }
    for f in find(lines):
        hint = held.get((f.kind, f.value))
        if hint is None:
            session.add(
                SourceHint(
                    item_id=item_id,
                    kind=f.kind,
                    value=f.value,
                    start=f.start,
                    end=f.end,
                    confidence=f.confidence,
                    state="open",
                )
            )
        elif hint.state == "open":
            hint.start, hint.end, hint.confidence = f.start, f.end, f.confidence


def decide(case: Case, hint_id: int, accept: bool, note: str | None = None) -> SourceHint:
    """Accept (the hint becomes a source of its item) or reject a proposal; either is logged."""
    with case.session() as s:
        hint = s.get(SourceHint, hint_id)
        if hint is None:
            raise InvalidValue(f"no source hint {hint_id}")
        if hint.state != "open":
            raise InvalidValue(f"hint {hint_id} was already {hint.state} by {hint.decided_by}")
        hint.state, hint.decided_by, hint.decided_at = (
            ("accepted" if accept else "rejected"),
            case.actor,
            utcnow(),
        )
        case.record(
            s,
            "hint.accept" if accept else "hint.reject",
            hint.item_id,
            hint=hint.id,
            kind=hint.kind,
            value=hint.value,
            note=note,
        )
        if accept:
            item = s.get(Item, hint.item_id)
            assert item is not None
            where = f" at {_clock(hint.start)}-{_clock(hint.end)}" if hint.start is not None else ""
            fields = {
                "url": _url(hint.value) if hint.kind == "link" else None,
                "platform": hint.value if hint.kind == "watermark" else _platform(hint.value),
                "account": hint.value if hint.kind == "handle" else None,
                "notes": f"{hint.kind} {hint.value} read on screen{where} (hint {hint.id}, accepted)"
                + (f": {note}" if note else ""),
            }
            s.add(Source(item=item, **fields, posted_at=None, added_at=utcnow(), added_by=case.actor))
            case.record(s, "item.source", item.id, **{k: v for k, v in fields.items() if v})
        s.flush()
        s.expunge(hint)
        return hint


def _url(value: str) -> str:
    return value if value.startswith(("http://", "https://")) else f"https://{value}"


def _platform(value: str) -> str | None:
    lower = value.casefold()
    for host, name in (
        ("t.me", "telegram"),
        ("telegram.me", "telegram"),
        ("youtu", "youtube"),
        ("x.com", "x"),
        ("twitter.com", "x"),
        ("tiktok", "tiktok"),
        ("instagram", "instagram"),
        ("vk.com", "vk"),
        ("facebook", "facebook"),
        ("rutube", "rutube"),
    ):
        if host in lower:
            return name
    return None


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
