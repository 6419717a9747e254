"""Capture: a post's media fetched from its link with yt-dlp (as a library), stored like any added file,
with the page's web archive beside it.

For each URL, yt-dlp's extractor for the site (its generic one for a plain page with a ``<video>`` or
``og:video``, or a direct media link) downloads the file the platform serves, as served: no re-encoding,
the best single file; where the site serves video and audio apart (DASH, HLS), the best of each, both
kept as attachments (``served-video``, ``served-audio``) and joined without re-encoding (media/remux.py)
into the file that becomes the item. Its ``.info.json`` becomes the item's source (sidecars.py: page URL,
platform, account, UTC posting time, caption) and is kept as an attachment of the item, as written. The
page itself is archived (archive.py: WARC and WACZ of its HTTP exchanges, a full-page screenshot, the TLS
certificate chain), each part an attachment of the items it gave. The custody log gets a ``capture`` event
per URL: when, vericount's and yt-dlp's versions, the extractor, the page's response headers, the
info.json's SHA-256, whether cookies or a proxy were used (never what they are). The same bytes captured
again are the same item.

Only this module (and timestamps.py) touches the network, and only when asked. One URL that fails is one
line naming it and one explicit state (``STATES``); nothing of it is stored; the other URLs go on. A
playlist or channel is refused unless ``max_items`` says how many of its posts to take.

``recheck`` visits captured links again and records whether each post is still up and serves the same
bytes (a deleted post is evidence too); it stores nothing new.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from vericount import __version__
from vericount.archive import Access, PageArchive, archive
from vericount.attachments import keep
from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.ingest import AddReport, add
from vericount.report import sha256_file
from vericount.run.executors import Executor
from vericount.sidecars import Sidecar, read_sidecar
from vericount.store.schema import AuditEvent

STATES = {
    "captured": "stored (new or already held)",
    "bad-link": "not an http or https link",
    "unreachable": "the host could not be reached (name, route or refused connection)",
    "timeout": "the site did not answer in time",
    "not-found": "the site says the post does not exist (404, 410)",
    "removed": "the platform says the post was removed or deleted",
    "login-required": "private, age-gated or behind a login: give --cookies",
    "geo-blocked": "not served in the country the request came from: give --proxy",
    "no-media": "the page holds no media yt-dlp can take",
    "playlist": "a playlist or channel: give --max N",
    "extractor-failed": "yt-dlp's extractor for the site failed (often: yt-dlp is too old for the site)",
    "failed": "anything else (the line says what)",
}
STALE_DAYS = 60
# The best video and the best audio where the site serves them apart (both kept, and joined without
# re-encoding into the item); else the best single file.
FORMAT = "bv+ba/b"  # a yt-dlp release older than this is named when an extractor fails


class CaptureFailed(InvalidValue):
    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state


@dataclass
class Captured:
    url: str
    items: list[str] = field(default_factory=list)  # sha256 of each file stored (new or already held)
    new: int = 0
    error: str | None = None
    state: str = "captured"
    retrieved: str | None = None  # when the download ended
    kept: list[str] = field(default_factory=list)  # attachment roles kept with its items
    problems: list[str] = field(default_factory=list)  # parts of the web archive not made


@dataclass
class CaptureReport:
    urls: list[Captured] = field(default_factory=list)
    add: AddReport | None = None

    @property
    def ok(self) -> bool:
        return all(u.error is None for u in self.urls) and (self.add is None or self.add.ok)


@dataclass
class Fetched:
    files: dict[Path, Sidecar]
    media: list[tuple[str, Path]]  # (the URL each file was served from, the file)
    page: PageArchive | None = None
    parts: dict[Path, list[tuple[str, Path]]] = field(default_factory=dict)  # joined file -> streams served


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
    from yt_dlp.version import __version__ as version

    return str(version)


def capture(case: Case, urls: list[str], executor: Executor, *, max_items: int | None = None,
            access: Access | None = None, web_archive: bool = True,
            browser: str | None = None) -> CaptureReport:
    """Fetch each URL's media (and archive its page), then store it all in one ``add`` batch.
    ``browser``: BROWSER[:PROFILE] whose cookies to use (instead of ``access.cookies``)."""
    access = access or Access()
    report = CaptureReport()
    with tempfile.TemporaryDirectory(prefix="vericount-capture-") as tmp:
        cookies = browser_cookies(browser, Path(tmp)) if browser else _private_copy(access.cookies, Path(tmp))
        access = replace(access, cookies=cookies)
        fetched: dict[int, Fetched] = {}
        for number, url in enumerate(urls):
            got = Captured(url)
            report.urls.append(got)
            folder = Path(tmp) / f"{number:05d}"
            try:
                fetched[number] = _fetch(url, folder, max_items, access)
                got.retrieved = datetime.now(UTC).isoformat()
            except CaptureFailed as exc:
                got.error, got.state = str(exc), exc.state
                continue
            if web_archive:
                page = archive(url, folder / "archive", fetched[number].media, access,
                               {"yt-dlp": yt_dlp_version()})
                fetched[number].page, got.problems = page, page.problems
        given = {path: sidecar for f in fetched.values() for path, sidecar in f.files.items()}
        if given:
            report.add = add(case, list(given), executor, given=given)
        stored = report.add.stored if report.add else {}
        added = set(report.add.added) if report.add else set()
        with case.session() as s:
            for number, got in enumerate(report.urls):
                if got.error is not None:
                    case.record(s, "capture.failed", None, url=got.url, state=got.state, error=got.error,
                                tool=f"yt-dlp {yt_dlp_version()}")
                    continue
                _record(case, s, got, fetched[number], stored, added, access)
    return report


def _record(case: Case, s: Any, got: Captured, fetched: Fetched, stored: dict[str, str], added: set[str],
            access: Access) -> None:
    for path in fetched.files:
        item = stored.get(str(path))
        if item is not None and item not in got.items:
            got.items.append(item)
    got.new = len(set(got.items) & added)
    if not got.items:
        got.error, got.state = "fetched, but nothing could be stored (see the lines above)", "failed"
        return
    for path, streams in fetched.parts.items():
        joined = stored.get(str(path))
        if joined is None:
            continue
        for role, part in streams:
            keep(case, s, [joined], part, role, url=got.url)
            got.kept.append(role)
    page = fetched.page
    if page is not None:
        for role, file in page.files.items():
            keep(case, s, got.items, file, role, url=got.url)
            got.kept.append(role)
    sidecar = next(iter(fetched.files.values()))
    for item in got.items:
        case.record(s, "capture", item, url=got.url, retrieved_at=got.retrieved, vericount=__version__,
                    tool=f"yt-dlp {yt_dlp_version()}", platform=sidecar.source.platform,
                    info_json_sha256=sidecar.sha256, cookies=access.cookies is not None,
                    proxy=bool(access.proxy), archive=got.kept, archive_problems=got.problems,
                    responses=page.headers() if page else [])


def browser_cookies(spec: str, tmp: Path) -> Path:
    """The cookies of a browser profile (``firefox``, ``chrome:Profile 1``, ``firefox:/path/to/profile``:
    yt-dlp's reader, decrypting where the browser encrypts) in a private cookies file for this capture."""
    from yt_dlp.cookies import SUPPORTED_BROWSERS, extract_cookies_from_browser

    name, _, profile = spec.partition(":")
    if name.lower() not in SUPPORTED_BROWSERS:
        known = ", ".join(sorted(SUPPORTED_BROWSERS))
        raise InvalidValue(f"{spec}: not a browser yt-dlp reads cookies from ({known})")
    try:
        jar = extract_cookies_from_browser(name.lower(), profile or None, logger=_Quiet())
    except (OSError, ValueError, RuntimeError) as exc:
        raise InvalidValue(f"{spec}: cannot read the browser's cookies ({exc})") from None
    out = tmp / "cookies.txt"
    jar.save(str(out), ignore_discard=True, ignore_expires=True)
    out.chmod(0o600)
    return out


def _private_copy(cookies: Path | None, tmp: Path) -> Path | None:
    """yt-dlp writes its cookie jar back to the file it read: give it a copy, never the user's file."""
    if cookies is None:
        return None
    copy = tmp / "cookies.txt"
    try:
        shutil.copyfile(cookies, copy)
    except OSError as exc:
        raise InvalidValue(f"{cookies}: cannot read the cookies file ({exc.strerror})") from None
    copy.chmod(0o600)
    return copy


def _fetch(url: str, folder: Path, max_items: int | None, access: Access) -> Fetched:
    """Download ``url``'s media into ``folder``; each file with its parsed info.json."""
    import yt_dlp

    if urlsplit(url).scheme not in ("http", "https"):
        raise CaptureFailed("bad-link", f"{url}: only http and https links are captured")
    folder.mkdir(parents=True)
    quiet = _Quiet()
    options: dict[str, Any] = {
        "outtmpl": str(folder / "%(id).80B.%(ext)s"), "writeinfojson": True, "format": FORMAT,
        "ffmpeg_location": str(folder / "no-ffmpeg"),  # yt-dlp never merges: remux.py joins, alike everywhere
        "ignoreerrors": "only_download",  # as its CLI: else it refuses to take two formats it cannot merge
        "noplaylist": True, "logger": quiet, "noprogress": True, "socket_timeout": access.timeout,
        "retries": 1, "extractor_retries": 0, "restrictfilenames": True, "overwrites": True,
        "playlistend": max_items or 1, "max_filesize": None}
    if access.cookies is not None:
        options["cookiefile"] = str(access.cookies)
    if access.proxy:
        options["proxy"] = access.proxy
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False, process=False)
            if info and info.get("_type") in ("playlist", "multi_video") and max_items is None:
                raise CaptureFailed("playlist", f"{url}: a playlist or channel, not a post; give --max N to "
                                    "take its first N posts")
            ydl.extract_info(url, download=True)
    except yt_dlp.utils.DownloadError as exc:
        state, reason = classify(quiet.errors[-1] if quiet.errors else str(exc))
        raise CaptureFailed(state, f"{url}: {reason}") from None
    if quiet.errors:  # a download that failed (reported, not raised: see "ignoreerrors"): nothing half-kept
        state, reason = classify(quiet.errors[-1])
        raise CaptureFailed(state, f"{url}: {reason}")
    files: dict[Path, Sidecar] = {}
    media: list[tuple[str, Path]] = []
    parts: dict[Path, list[tuple[str, Path]]] = {}
    for info_json in sorted(folder.glob("*.info.json")):
        if access.cookies is not None:
            _withhold_cookies(info_json)
        stem = info_json.name.removesuffix(".info.json")
        found = [p for p in folder.iterdir() if p.name.startswith(stem + ".")
                 and not p.name.endswith((".info.json", ".part", ".ytdl"))]
        try:
            sidecar = read_sidecar(info_json)
            data = json.loads(info_json.read_text(encoding="utf-8"))
        except (InvalidValue, ValueError, OSError) as exc:
            raise CaptureFailed("failed", f"{url}: yt-dlp wrote an unreadable info.json ({exc})") from None
        source = sidecar.source if sidecar.source.url else replace(sidecar.source, url=url)
        sidecar = replace(sidecar, tool="yt-dlp capture", source=source, seen_as=url)
        streams = _served_apart(data, folder, stem)
        if streams:
            media += [(u, p) for _, u, p in streams]
            joined = _join(url, streams, folder / stem)
            files[joined] = sidecar
            parts[joined] = [(role, p) for role, _, p in streams]
            continue
        served = data.get("url")
        for path in found:
            files[path] = sidecar
            media.append((served if isinstance(served, str) and served.startswith("http") else url, path))
    if not files:
        raise CaptureFailed("no-media", f"{url}: no media found on the page")
    return Fetched(files, media, parts=parts)


def _served_apart(data: dict[str, Any], folder: Path, stem: str) -> list[tuple[str, str, Path]]:
    """(served-video | served-audio, its URL, its file) when yt-dlp took the video and the audio as two
    formats (``format_id`` "V+A"); [] for a single file."""
    ids = str(data.get("format_id") or "").split("+")
    if len(ids) != 2:
        return []
    formats = {str(f.get("format_id")): f for f in data.get("formats") or [] if isinstance(f, dict)}
    out = []
    for fid in ids:
        fmt = formats.get(fid, {})
        path = folder / f"{stem}.f{fid}.{fmt.get('ext', '')}"
        if not path.is_file():
            return []
        role = "served-audio" if fmt.get("vcodec") == "none" else "served-video"
        out.append((role, str(fmt.get("url") or ""), path))
    return out if {r for r, _, _ in out} == {"served-video", "served-audio"} else []


def _join(url: str, streams: list[tuple[str, str, Path]], stem: Path) -> Path:
    from vericount.media.remux import join_streams

    video = next(p for r, _, p in streams if r == "served-video")
    audio = next(p for r, _, p in streams if r == "served-audio")
    try:
        return join_streams(video, audio, stem.with_name(stem.name + ".joined"))
    except InvalidValue as exc:
        raise CaptureFailed("failed", f"{url}: the site served video and audio apart and {exc}") from None


WITHHELD = "(withheld by vericount: a capture's cookies are never kept)"


def _withhold_cookies(info_json: Path) -> None:
    """yt-dlp writes the cookies it sent into the info.json (each format's ``cookies``, ``Cookie``
    headers): a login must not end up in the evidence, so their values are replaced before it is kept."""
    try:
        data = json.loads(info_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # read_sidecar names it

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: WITHHELD if k.lower() in ("cookies", "cookie") and isinstance(v, str) else scrub(v)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    info_json.write_text(json.dumps(scrub(data), ensure_ascii=False), encoding="utf-8")


RULES = [  # (words in yt-dlp's message, lower case) -> state; the first that matches
    (("no connection adapters", "unsupported url scheme", "unknown url type"), "bad-link"),  # a redirect
    (("unsupported url",), "no-media"),  # the generic extractor found no media on the page
    (("timed out", "timeout"), "timeout"),
    (("http error 404", "http error 410", "not found"), "not-found"),
    (("removed", "deleted", "no longer available", "has been terminated", "does not exist"), "removed"),
    (("private", "login", "log in", "sign in", "age-restricted", "confirm your age", "cookies",
      "members-only", "http error 401", "http error 403"), "login-required"),
    (("not available in your country", "geo restrict", "geo-restrict"), "geo-blocked"),
    (("connection refused", "name or service not known", "nodename nor servname", "no route to host",
      "network is unreachable", "failed to resolve", "getaddrinfo", "unable to connect"), "unreachable"),
    (("no video formats", "no media", "no suitable"), "no-media"),
    (("unable to extract", "unable to download json", "please report this issue"), "extractor-failed"),
]


def classify(message: str) -> tuple[str, str]:
    """yt-dlp's error as (state, one line): its prefixes and the exception chain dropped; the age of
    yt-dlp named when an extractor failed."""
    line = message.strip().splitlines()[0] if message.strip() else "failed"
    line = line.removeprefix("ERROR: ")
    if line.startswith("[") and "] " in line:
        line = line.split("] ", 1)[1]
        if ": " in line:
            head, rest = line.split(": ", 1)
            line = rest if " " not in head else line
    lower = message.lower()
    line = line.split(" (caused by ")[0].split("; please report this issue")[0]
    state = next((s for words, s in RULES if any(w in lower for w in words)), "failed")
    if state == "bad-link":
        line = f"redirected off the web, only http and https are followed ({line})"
    if state in ("extractor-failed", "no-media"):
        age = _age_days(yt_dlp_version())
        if age is not None and age > STALE_DAYS:
            line += (f" (yt-dlp {yt_dlp_version()} is {age} days old and sites change often: upgrade it, "
                     "pip install -U yt-dlp)")
    return state, line


def _age_days(version: str) -> int | None:
    try:
        year, month, day = (int(p) for p in version.split(".")[:3])
        return (date.today() - date(year, month, day)).days
    except ValueError:
        return None


@dataclass
class Rechecked:
    url: str
    state: str  # same | changed | gone | unknown
    detail: str
    served: list[str] = field(default_factory=list)


def captured_urls(case: Case) -> dict[str, set[str]]:
    """Each link captured so far, with the items it gave."""
    out: dict[str, set[str]] = {}
    with case.reading() as s:
        for item, detail in s.execute(select(AuditEvent.item_id, AuditEvent.detail)
                                      .where(AuditEvent.action == "capture").order_by(AuditEvent.id)):
            if isinstance(detail, dict) and detail.get("url") and item:
                out.setdefault(str(detail["url"]), set()).add(item)
    return out


GONE = {"not-found", "removed", "login-required", "geo-blocked", "no-media"}


def recheck(case: Case, access: Access | None = None, only: list[str] | None = None,
            browser: str | None = None) -> list[Rechecked]:
    """Visit each captured link again: is the post still up, and does it serve the same bytes?"""
    access = access or Access()
    wanted = captured_urls(case)
    if only:
        wanted = {u: wanted.get(u, set()) for u in only}
    out: list[Rechecked] = []
    with tempfile.TemporaryDirectory(prefix="vericount-recheck-") as tmp:
        cookies = browser_cookies(browser, Path(tmp)) if browser else _private_copy(access.cookies, Path(tmp))
        for number, (url, items) in enumerate(sorted(wanted.items())):
            try:
                fetched = _fetch(url, Path(tmp) / f"{number:05d}", max(1, len(items)),
                                 replace(access, cookies=cookies))
            except CaptureFailed as exc:
                state = "gone" if exc.state in GONE else "unknown"
                out.append(Rechecked(url, state, f"{exc.state}: {str(exc).removeprefix(url + ': ')}"))
                continue
            served = sorted({sha256_file(p) for p in fetched.files})
            if set(served) <= items:
                out.append(Rechecked(url, "same", "serves the bytes captured", served))
            else:
                out.append(Rechecked(url, "changed", "serves other bytes than were captured (capture it "
                                     "again to keep them)", served))
    with case.session() as s:
        for r in out:
            case.record(s, "capture.recheck", None, url=r.url, state=r.state, detail=r.detail,
                        served=r.served, tool=f"yt-dlp {yt_dlp_version()}")
    return out

