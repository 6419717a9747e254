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


def read_json(path: Path, limit: int, noun: str = "") -> tuple[Any, str]:
    """A JSON file's value and its bytes' SHA-256; InvalidValue naming the file (``noun``: what it is, as
    in "sidecar is not valid JSON") when it cannot be read, is over ``limit`` bytes, or does not parse."""
    try:
        with path.open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise InvalidValue(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > limit:
        raise InvalidValue(f"{path}: over {limit // 1_000_000:,} MB; not read")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidValue(f"{path}: {noun}not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        cut = " (cut short?)" if exc.pos >= len(raw.rstrip()) - 1 else ""
        raise InvalidValue(f"{path}: {noun}not valid JSON{cut} ({exc.msg} at line {exc.lineno})") from None
    return data, hashlib.sha256(raw).hexdigest()


def read_sidecar(path: Path) -> Sidecar:
    """Parse a sidecar; InvalidValue (naming the file and what is wrong) when it cannot be used."""
    data, sha = read_json(path, MAX_SIDECAR, "sidecar is ")
    if not isinstance(data, dict):
        raise InvalidValue(f"{path}: sidecar is JSON but not an object of fields")
    if "extractor" in data or "extractor_key" in data or "webpage_url" in data:
        return Sidecar(path, "yt-dlp", sha, _yt_dlp(path, data))
    if "category" in data:
        return Sidecar(path, "gallery-dl", sha, _gallery_dl(path, data))
    raise InvalidValue(f"{path}: not a yt-dlp or gallery-dl sidecar (no extractor or category field)")


def _yt_dlp(path: Path, d: dict[str, Any]) -> SourceInfo:
    url = text_field(d.get("webpage_url")) or text_field(d.get("original_url"))
    extractor = (text_field(d.get("extractor_key")) or text_field(d.get("extractor")) or "").lower()
    platform = PLATFORMS.get(extractor.split(":")[0]) or _host(url) or extractor or None
    handle = text_field(d.get("uploader_id"))
    account = (handle if handle and handle.startswith("@") else None) or text_field(d.get("channel")) \
        or text_field(d.get("uploader")) or handle or text_field(d.get("channel_id"))
    posted = _epoch(path, d.get("timestamp")) or _epoch(path, d.get("release_timestamp")) \
        or _day(d.get("upload_date"))
    notes = _notes("yt-dlp", path, [("post id", d.get("id")), ("title", d.get("title")),
                                    ("views", d.get("view_count")), ("likes", d.get("like_count")),
                                    ("comments", d.get("comment_count")),
                                    ("caption", d.get("description"))])
    return SourceInfo(url=url, platform=platform, account=account, posted_at=posted, notes=notes)


def _gallery_dl(path: Path, d: dict[str, Any]) -> SourceInfo:
    category = (text_field(d.get("category")) or "").lower()
    author = next((v for k in ("author", "user", "owner") if isinstance(v := d.get(k), dict)), {})
    account = text_field(author.get("name")) or text_field(author.get("username")) \
        or text_field(d.get("username")) or text_field(d.get("channel")) or text_field(d.get("uploader"))
    post_id = d.get("tweet_id") or d.get("post_id") or d.get("id")
    url = text_field(d.get("post_url")) or text_field(d.get("webpage_url"))
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


def text_field(value: Any) -> str | None:
    """A field's value as text (numbers too), trimmed and cut to MAX_FIELD; None when empty or other."""
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
    parts = [f"{name}: {text}" for name, value in fields if (text := text_field(value))]
    return f"from {tool} sidecar {path.name}" + ("; " + "; ".join(parts) if parts else "")[:MAX_FIELD]
