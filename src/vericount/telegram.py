"""A Telegram Desktop export ("Export chat history", JSON): each message's media file with its source.

The export is a folder with ``result.json`` and the media it names (``photos/``, ``video_files/``,
``files/``...). For each message that carries a file, the source is: platform ``telegram``, the chat's name
as account (the sender's, in a group, when it differs), the message's link, its time (``date_unixtime``,
a UTC epoch; an old export's ``date`` is the exporting computer's local time, so only its day is kept), and
in the notes the message id, its text (entities flattened), whom it was forwarded from and which message
it replies to. A channel's public username is not in the export: the link is the members' form
``https://t.me/c/<chat id>/<message id>``.

Nothing here touches the network. A result.json that does not parse refuses the export; a message whose
file is missing, or was not exported (Telegram's size limit), is one failure naming the message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vericount.errors import InvalidValue
from vericount.sidecars import Sidecar, read_json, text_field
from vericount.sources import MAX_FIELD, SourceInfo

MAX_RESULT = 2_000_000_000  # bytes of result.json read at most
MEDIA_FIELDS = ("photo", "file")  # where a message names its file (file: videos, documents, GIFs, voice)


@dataclass(frozen=True)
class ExportFile:
    path: Path
    message: int
    sidecar: Sidecar  # the message's source, with result.json as what it was read from


@dataclass(frozen=True)
class Export:
    chat: str
    files: list[ExportFile]
    failures: list[tuple[str, str]]  # (what, why): one line each
    messages: int
    without_media: int
    texts: list[tuple[int, str, Sidecar]] = field(default_factory=list)  # messages without media


def read_export(folder: Path) -> Export:
    """Read a Telegram Desktop JSON export; InvalidValue when it cannot be read at all."""
    result = folder / "result.json"
    data, sha = _load(folder, result)
    chat = text_field(data.get("name")) or "?"
    chat_id = data.get("id")
    files: list[ExportFile] = []
    failures: list[tuple[str, str]] = []
    without = 0
    texts: list[tuple[int, str, Sidecar]] = []
    root = folder.resolve()
    for message in data["messages"]:
        if not isinstance(message, dict) or message.get("type", "message") != "message":
            continue
        number = message.get("id")
        named = [message[k] for k in MEDIA_FIELDS if isinstance(message.get(k), str)]
        if not named:
            without += 1
            text = flatten(message.get("text"))
            if text and isinstance(number, int):
                try:
                    info = _source(message, chat, chat_id, f"{result} message {number}")
                except InvalidValue:
                    continue
                texts.append((number, text, Sidecar(result, "telegram-export", sha, info, seen_as=info.url)))
            continue
        where = f"{result} message {number}"
        for name in named:
            if name.startswith("(File not included"):
                failures.append((where, f"its file was not exported ({name.strip('()')})"))
                continue
            path = Path(os.path.normpath(folder.absolute() / name))
            if not path.resolve().is_relative_to(root):
                failures.append((where, f"names {name!r}, outside the export folder: not read"))
            elif not path.is_file():
                failures.append((where, f"names {name}, which is missing from the export"))
            else:
                try:
                    info = _source(message, chat, chat_id, where)
                except InvalidValue as exc:
                    failures.append((where, str(exc)))
                    continue
                files.append(ExportFile(path, int(number) if isinstance(number, int) else -1,
                                        Sidecar(result, "telegram-export", sha, info)))
    return Export(chat, files, failures, len(data["messages"]), without, texts)


def _load(folder: Path, result: Path) -> tuple[dict[str, Any], str]:
    """result.json's fields and its SHA-256."""
    if not result.is_file():
        raise InvalidValue(f"{folder}: not a Telegram Desktop export (no result.json; export as JSON)")
    data, sha = read_json(result, MAX_RESULT)
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise InvalidValue(f"{result}: no list of messages (a single chat's export is needed, not "
                           "'Export Telegram data')")
    return data, sha


def _source(message: dict[str, Any], chat: str, chat_id: Any, where: str) -> SourceInfo:
    number = message.get("id")
    url = f"https://t.me/c/{chat_id}/{number}" \
        if isinstance(chat_id, int) and isinstance(number, int) else None
    sender = text_field(message.get("from"))
    posted = None
    stamp = message.get("date_unixtime")
    if stamp is not None:
        try:
            posted = datetime.fromtimestamp(int(stamp), UTC).isoformat()
        except (TypeError, ValueError, OverflowError, OSError):
            raise InvalidValue(f"date_unixtime {stamp!r} is not a time") from None
    elif isinstance(message.get("date"), str) and len(message["date"]) >= 10:
        posted = message["date"][:10]  # the exporting computer's local time: only the day is sure enough
    parts = [f"message {number}"]
    if sender and sender != chat:
        parts.append(f"from {sender}")
    for key, label in (("forwarded_from", "forwarded from"), ("reply_to_message_id", "reply to message"),
                       ("edited", "edited")):
        if (value := text_field(message.get(key))) is not None:
            parts.append(f"{label} {value}")
    if text := flatten(message.get("text")):
        parts.append(f"text: {text}")
    notes = f"from Telegram export of {chat}; " + "; ".join(parts)
    return SourceInfo(url=url, platform="telegram", account=chat, posted_at=posted, notes=notes[:MAX_FIELD])


def flatten(text: Any) -> str:
    """A message's text: a string, or a list of strings and entities ({"type": ..., "text": ...})."""
    if isinstance(text, str):
        return text.strip()
    if isinstance(text, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", ""))
                       for part in text if isinstance(part, str | dict)).strip()
    return ""
