"""Files kept as evidence with an item, beside its original: the sidecar a download tool wrote, and what a
capture keeps of the page (its web archive as WARC and WACZ, a full-page screenshot, the site's TLS
certificate chain).

An attachment's bytes enter the evidence store as an original's do (streamed, hashed, read-only, under
their SHA-256); the ``attachments`` table says whose it is and what it is, and the custody log records
each with an ``item.attach`` event, so that ``vericount verify`` hashes it again and names one that was
changed, removed, or added behind the log's back. It is never media of the case: no stage reads it and it
is never counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vericount.case import Case
from vericount.store.schema import Attachment, utcnow

ROLES = {
    "sidecar": "the metadata file a download tool wrote beside the media (yt-dlp, gallery-dl)",
    "export": "the chat export's result.json that lists the message (Telegram Desktop)",
    "info-json": "yt-dlp's metadata of the captured post, as it wrote it",
    "served-video": "the video stream as the site served it, apart from its audio (joined into the item)",
    "served-audio": "the audio stream as the site served it, apart from its video (joined into the item)",
    "warc": "the page's HTTP exchanges as captured (WARC)",
    "wacz": "the page's web archive, packaged for replay (WACZ)",
    "screenshot": "the page as headless Chromium rendered it, full length (PNG)",
    "tls-chain": "the certificate chain the site presented (PEM)",
}


@dataclass(frozen=True)
class Kept:
    role: str
    sha256: str
    size: int
    name: str
    url: str | None


def keep(case: Case, s: Session, item_ids: list[str], path: Path, role: str, url: str | None = None,
         name: str | None = None) -> Kept:
    """Store ``path`` and attach it to each of ``item_ids`` (once per item, role and content)."""
    if role not in ROLES:
        raise ValueError(f"unknown attachment role {role!r}")
    with path.open("rb") as f:
        stored = case.evidence.put_stream(f)
    kept = Kept(role, stored.sha256, stored.size, name or path.name, url)
    held = set(s.scalars(select(Attachment.item_id).where(
        Attachment.item_id.in_(item_ids), Attachment.role == role, Attachment.sha256 == stored.sha256)))
    now = utcnow()
    for item_id in dict.fromkeys(item_ids):
        if item_id in held:
            continue
        s.add(Attachment(item_id=item_id, role=role, sha256=stored.sha256, size=stored.size, name=kept.name,
                         url=url, added_at=now, added_by=case.actor))
        case.record(s, "item.attach", item_id, role=role, sha256=stored.sha256, size=stored.size,
                    name=kept.name, url=url)
    s.flush()
    return kept


def of_item(s: Session, item_id: str) -> list[Kept]:
    rows = s.scalars(select(Attachment).where(Attachment.item_id == item_id).order_by(Attachment.id))
    return [Kept(r.role, r.sha256, r.size, r.name, r.url) for r in rows]
