"""Capture: a post's media fetched from its link with yt-dlp (as a library), stored like any added file.

For each URL, yt-dlp's extractor for the site (its generic one for a plain page with a ``<video>`` or
``og:video``, or a direct media link) downloads the file the platform serves, as served: no re-encoding,
one file that already holds video and audio (``best``; a site that serves them apart gives its best
pre-merged one). Its ``.info.json`` becomes the item's source (sidecars.py: page URL, platform, account,
UTC posting time, caption), and the custody log gets a ``capture`` event per URL: when, yt-dlp's version,
the extractor, the items and the info.json's SHA-256. The same bytes captured again are the same item.

Only this module and only when asked touches the network. One URL that fails (unreachable, 404, no media,
a private or deleted post, a timeout, a scheme other than http/https) is one line naming it; nothing of it
is stored; the other URLs go on. A playlist or channel is refused unless ``max_items`` says how many of its
posts to take.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.ingest import AddReport, add
from vericount.run.executors import Executor
from vericount.sidecars import Sidecar, read_sidecar


@dataclass
class Captured:
    url: str
    items: list[str] = field(default_factory=list)  # sha256 of each file stored (new or already held)
    new: int = 0
    error: str | None = None
    retrieved: str | None = None  # when the download ended


@dataclass
class CaptureReport:
    urls: list[Captured] = field(default_factory=list)
    add: AddReport | None = None

    @property
    def ok(self) -> bool:
        return all(u.error is None for u in self.urls) and (self.add is None or self.add.ok)


class _Quiet:
    """yt-dlp's logger: nothing on the terminal; the last error kept for the one line of the URL."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        self.errors.append(msg)


def yt_dlp_version() -> str:
    from yt_dlp.version import __version__

    return str(__version__)


def capture(case: Case, urls: list[str], executor: Executor, *, max_items: int | None = None,
            timeout: float = 30.0) -> CaptureReport:
    """Fetch each URL's media, then store it all in one ``add`` batch with its sources."""
    report = CaptureReport()
    with tempfile.TemporaryDirectory(prefix="vericount-capture-") as tmp:
        given: dict[Path, Sidecar] = {}
        for number, url in enumerate(urls):
            got = Captured(url)
            report.urls.append(got)
            folder = Path(tmp) / f"{number:05d}"
            try:
                given.update(_fetch(url, folder, max_items, timeout))
                got.retrieved = datetime.now(UTC).isoformat()
            except InvalidValue as exc:
                got.error = str(exc)
        if given:
            report.add = add(case, list(given), executor, given=given)
        stored = report.add.stored if report.add else {}
        added = set(report.add.added) if report.add else set()
        with case.session() as s:
            for number, got in enumerate(report.urls):
                if got.error is not None:
                    case.record(s, "capture.failed", None, url=got.url, error=got.error)
                    continue
                for path, sidecar in given.items():
                    item = stored.get(str(path))
                    if path.parent.name != f"{number:05d}" or item is None:
                        continue
                    got.items.append(item)
                    case.record(s, "capture", item, url=got.url, retrieved_at=got.retrieved,
                                tool=f"yt-dlp {yt_dlp_version()}", platform=sidecar.source.platform,
                                info_json_sha256=sidecar.sha256)
                got.new = len(set(got.items) & added)
                if not got.items:
                    got.error = "fetched, but nothing could be stored (see the lines above)"
    return report


def _fetch(url: str, folder: Path, max_items: int | None, timeout: float) -> dict[Path, Sidecar]:
    """Download ``url``'s media into ``folder``; each file with its parsed info.json."""
    import yt_dlp

    if urlsplit(url).scheme not in ("http", "https"):
        raise InvalidValue(f"{url}: only http and https links are captured")
    folder.mkdir(parents=True)
    quiet = _Quiet()
    options: dict[str, Any] = {
        "outtmpl": str(folder / "%(id).80B.%(ext)s"), "writeinfojson": True, "format": "best",
        "noplaylist": True, "logger": quiet, "noprogress": True, "socket_timeout": timeout,
        "retries": 1, "extractor_retries": 0, "restrictfilenames": True, "overwrites": True,
        "playlistend": max_items or 1, "max_filesize": None}
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False, process=False)
            if info and info.get("_type") in ("playlist", "multi_video") and max_items is None:
                raise InvalidValue(f"{url}: a playlist or channel, not a post; give --max N to take its "
                                   "first N posts")
            ydl.extract_info(url, download=True)
    except yt_dlp.utils.DownloadError as exc:
        raise InvalidValue(f"{url}: {_reason(quiet.errors[-1] if quiet.errors else str(exc))}") from None
    out: dict[Path, Sidecar] = {}
    for info_json in sorted(folder.glob("*.info.json")):
        stem = info_json.name.removesuffix(".info.json")
        media = [p for p in folder.iterdir() if p.name.startswith(stem + ".")
                 and not p.name.endswith((".info.json", ".part", ".ytdl"))]
        try:
            sidecar = read_sidecar(info_json)
        except InvalidValue as exc:
            raise InvalidValue(f"{url}: yt-dlp wrote an unreadable info.json ({exc})") from None
        source = sidecar.source if sidecar.source.url else replace(sidecar.source, url=url)
        for path in media:
            out[path] = replace(sidecar, tool="yt-dlp capture", source=source, seen_as=url)
    if not out:
        raise InvalidValue(f"{url}: no media found on the page")
    return out


def _reason(message: str) -> str:
    """yt-dlp's error, as one line: its prefixes and the exception chain dropped."""
    line = message.strip().splitlines()[0] if message.strip() else "failed"
    line = line.removeprefix("ERROR: ")
    if line.startswith("[") and "] " in line:
        line = line.split("] ", 1)[1]
        if ": " in line:
            head, rest = line.split(": ", 1)
            line = rest if " " not in head else line
    return line.split(" (caused by ")[0]

