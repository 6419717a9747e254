"""Metadata files that download tools write beside the media: yt-dlp's ``NAME.info.json`` and gallery-dl's
``NAME.EXT.json`` (or ``NAME.json``). `vericount add` reads them into the item's source (page URL, platform,
account, posting time, and the post's id, title, caption and counts in the notes) instead of leaving a
person to type them, and logs each sidecar's SHA-256 with the item. The sidecar is what the tool wrote: its
fields are the platform's word, recorded as such (the notes say which file they came from).

Times: yt-dlp's ``timestamp`` is a UTC epoch, kept as a UTC time; its ``upload_date`` (a day, in no stated
zone) is kept as a date only. gallery-dl's ``date`` is UTC.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vericount.errors import InvalidValue
from vericount.sources import MAX_FIELD, SourceInfo

MAX_SIDECAR = 20_000_000  # bytes: yt-dlp's info.json lists every format, but not this many
PLATFORMS = {"twitter": "x", "youtube": "youtube", "youtubetab": "youtube", "telegram": "telegram",
             "tiktok": "tiktok", "instagram": "instagram", "facebook": "facebook", "vk": "vk",
             "reddit": "reddit", "rumble": "rumble", "bluesky": "bluesky", "vimeo": "vimeo"}


@dataclass(frozen=True)
class Sidecar:
    path: Path
    tool: str  # yt-dlp | gallery-dl
    sha256: str
    source: SourceInfo
    seen_as: str | None = None  # where the file was found, when not its path here (a captured link)


def sidecar_names(media: Path) -> list[str]:
    """The names a sidecar of ``media`` may have, the most specific first."""
    return [f"{media.stem}.info.json", f"{media.name}.json", f"{media.stem}.json"]


def find_sidecar(media: Path, siblings: set[str]) -> Path | None:
    """The sidecar beside ``media`` among ``siblings`` (names in its folder), if any."""
    for name in sidecar_names(media):
        if name in siblings and name != media.name:
            return media.with_name(name)
    return None


def read_sidecar(path: Path) -> Sidecar:
    """Parse a sidecar; InvalidValue (naming the file and what is wrong) when it cannot be used."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SIDECAR + 1)
    except OSError as exc:
        raise InvalidValue(f"{path}: cannot read sidecar ({exc.strerror})") from None
    if len(raw) > MAX_SIDECAR:
        raise InvalidValue(f"{path}: sidecar over {MAX_SIDECAR // 1_000_000} MB; not read")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidValue(f"{path}: sidecar is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InvalidValue(f"{path}: sidecar is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InvalidValue(f"{path}: sidecar is JSON but not an object of fields")
    sha = hashlib.sha256(raw).hexdigest()
    if "extractor" in data or "extractor_key" in data or "webpage_url" in data:
        return Sidecar(path, "yt-dlp", sha, _yt_dlp(path, data))
    if "category" in data:
        return Sidecar(path, "gallery-dl", sha, _gallery_dl(path, data))
    raise InvalidValue(f"{path}: not a yt-dlp or gallery-dl sidecar (no extractor or category field)")


def _yt_dlp(path: Path, d: dict[str, Any]) -> SourceInfo:
    url = _text(d.get("webpage_url")) or _text(d.get("original_url"))
    extractor = (_text(d.get("extractor_key")) or _text(d.get("extractor")) or "").lower()
    platform = PLATFORMS.get(extractor.split(":")[0]) or _host(url) or extractor or None
    handle = _text(d.get("uploader_id"))
    account = (handle if handle and handle.startswith("@") else None) or _text(d.get("channel")) \
        or _text(d.get("uploader")) or handle or _text(d.get("channel_id"))
    posted = _epoch(path, d.get("timestamp")) or _epoch(path, d.get("release_timestamp")) \
        or _day(d.get("upload_date"))
    notes = _notes("yt-dlp", path, [("post id", d.get("id")), ("title", d.get("title")),
                                    ("views", d.get("view_count")), ("likes", d.get("like_count")),
                                    ("comments", d.get("comment_count")),
                                    ("caption", d.get("description"))])
    return SourceInfo(url=url, platform=platform, account=account, posted_at=posted, notes=notes)


def _gallery_dl(path: Path, d: dict[str, Any]) -> SourceInfo:
    category = (_text(d.get("category")) or "").lower()
    author = next((v for k in ("author", "user", "owner") if isinstance(v := d.get(k), dict)), {})
    account = _text(author.get("name")) or _text(author.get("username")) or _text(d.get("username")) \
        or _text(d.get("channel")) or _text(d.get("uploader"))
    post_id = d.get("tweet_id") or d.get("post_id") or d.get("id")
    url = _text(d.get("post_url")) or _text(d.get("webpage_url"))
    if url is None and category == "twitter" and account and post_id:
        url = f"https://x.com/{account}/status/{post_id}"
    posted = None
    if isinstance(d.get("date"), str):
        try:
            posted = datetime.fromisoformat(d["date"]).replace(tzinfo=UTC).isoformat()
        except ValueError:
            raise InvalidValue(f"{path}: date {d['date']!r} is not a time gallery-dl writes") from None
    notes = _notes("gallery-dl", path, [("post id", post_id), ("caption", d.get("content") or
                                                               d.get("description") or d.get("title"))])
    return SourceInfo(url=url, platform=PLATFORMS.get(category, category or None), account=account,
                      posted_at=posted, notes=notes)


def _text(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_FIELD]


def _host(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def _epoch(path: Path, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidValue(f"{path}: timestamp {value!r} is not a number of seconds")
    try:
        return datetime.fromtimestamp(value, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise InvalidValue(f"{path}: timestamp {value!r} is out of range") from None


def _day(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        return None


def _notes(tool: str, path: Path, fields: list[tuple[str, Any]]) -> str:
    parts = [f"{name}: {text}" for name, value in fields if (text := _text(value))]
    return f"from {tool} sidecar {path.name}" + ("; " + "; ".join(parts) if parts else "")[:MAX_FIELD]
