"""A web archive of a captured page: its HTTP exchanges as WARC, packaged as WACZ, a full-page screenshot
and the TLS certificate chain the site presented.

- **WARC** (ISO 28500, written with warcio): a ``warcinfo`` record (vericount's and yt-dlp's versions),
  then for each hop of the page's redirect chain the ``request`` sent and the ``response`` received, with
  its status line and headers as the server sent them (``Transfer-Encoding`` aside: the body is kept
  de-chunked, and asked for without compression) and its body up to ``MAX_BODY`` bytes (beyond that, the
  record says ``WARC-Truncated: length``). The media files yt-dlp downloaded follow as ``resource``
  records under their own URLs, so that a replay shows them. Written with the same cookies and proxy as
  the capture.
- **WACZ** (the Webrecorder package: the WARC, a CDX index, the page list and a datapackage with each
  file's SHA-256), made by PyPI ``wacz`` and readable by ReplayWeb.page.
- **Screenshot**: headless Chromium (Debian's ``chromium``, driven by Playwright as the desk's browser
  tests drive it), 1280 px wide, the page's whole length up to ``MAX_SCREENSHOT_HEIGHT``.
- **TLS chain**: for an https page, the certificates the server sent (``openssl s_client -showcerts``),
  as PEM.

Each part that cannot be made is one line in ``problems``; the others are still made. The capture goes on
without them: the media and its info.json are the evidence, the archive is the context.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import LoadError, MozillaCookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from vericount import __version__

MAX_BODY = 50_000_000
MAX_HOPS = 10
MAX_SCREENSHOT_HEIGHT = 16_384
WIDTH = 1280
CHROMIUM_ENV = "VERICOUNT_CHROMIUM"
WITHHELD = "(withheld by vericount)"  # the value of a Cookie header: a login is never kept
HEADERS = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/140.0.0.0 Safari/537.36",
           "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "Accept-Language": "en-us,en;q=0.5", "Accept-Encoding": "identity"}


@dataclass
class Exchange:
    url: str
    request: list[tuple[str, str]]
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool = False


@dataclass
class PageArchive:
    url: str
    exchanges: list[Exchange] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # role (attachments.ROLES) -> file
    title: str | None = None
    problems: list[str] = field(default_factory=list)

    def headers(self) -> list[dict[str, Any]]:
        """The response headers of each hop, for the custody log."""
        return [{"url": e.url, "status": e.status, "headers": [list(h) for h in e.headers]}
                for e in self.exchanges]


@dataclass(frozen=True)
class Access:
    """How the capture reaches the site: a cookies file (Netscape format, as yt-dlp reads it), a proxy."""

    cookies: Path | None = None
    proxy: str | None = None
    timeout: float = 30.0


def archive(url: str, folder: Path, media: list[tuple[str, Path]], access: Access,
            tool_versions: dict[str, str]) -> PageArchive:
    """Everything this module makes of ``url``, in ``folder``; ``media``: (its URL, the file yt-dlp wrote)."""
    out = PageArchive(url)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        out.exchanges = fetch(url, access)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        out.problems.append(f"web archive: the page could not be fetched again ({_why(exc)})")
    if out.exchanges:
        out.title = _title(out.exchanges[-1])
    shot = folder / "screenshot.png"
    problem = screenshot(url, shot, access, out.problems)
    if problem:
        out.problems.append(f"screenshot not taken: {problem}")
    else:
        out.files["screenshot"] = shot
    if out.exchanges or media:
        warc = folder / "page.warc.gz"
        write_warc(warc, out.exchanges, media, tool_versions)
        out.files["warc"] = warc
        wacz = folder / "page.wacz"
        problem = package(warc, wacz, out.url, out.title)
        if problem:
            out.problems.append(f"WACZ not made: {problem}")
        else:
            out.files["wacz"] = wacz
    if urlsplit(url).scheme == "https":
        chain = folder / "tls-chain.pem"
        problem = tls_chain(url, chain, access)
        if problem:
            out.problems.append(f"TLS certificate chain not saved: {problem}")
        else:
            out.files["tls-chain"] = chain
    return out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # each hop is fetched, and recorded, by ``fetch``


def opener(access: Access) -> urllib.request.OpenerDirector:
    handlers: list[Any] = [_NoRedirect()]
    if access.cookies is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(_jar(access.cookies)))
    if access.proxy:
        handlers.append(urllib.request.ProxyHandler({"http": access.proxy, "https": access.proxy}))
    else:
        handlers.append(urllib.request.ProxyHandler({}))  # only the proxy asked for, never the environment's
    return urllib.request.build_opener(*handlers)


def fetch(url: str, access: Access) -> list[Exchange]:
    """The page's exchanges, one per hop of its redirects (at most ``MAX_HOPS``, http and https only)."""
    hops: list[Exchange] = []
    fetcher = opener(access)
    for _ in range(MAX_HOPS):
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"redirected to {url}: only http and https are followed")
        request = urllib.request.Request(url, headers=HEADERS)  # noqa: S310 - scheme checked above
        try:
            response = fetcher.open(request, timeout=access.timeout)
        except urllib.error.HTTPError as exc:
            response = exc  # a 3xx, 4xx or 5xx answer is still an exchange to keep
        with response:
            body = response.read(MAX_BODY + 1)
            sent = [(k, WITHHELD if k.lower() == "cookie" else v) for k, v in request.header_items()]
            sent.insert(0, ("Host", urlsplit(url).netloc))
            version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(getattr(response, "version", 11), "HTTP/1.1")
            hop = Exchange(url, sent, response.status or 0, response.reason or "", version,
                           [(k, _withhold(k, v)) for k, v in response.headers.items()
                            if k.lower() != "transfer-encoding"], body[:MAX_BODY], len(body) > MAX_BODY)
        hops.append(hop)
        location = {k.lower(): v for k, v in hop.headers}.get("location")
        if hop.status not in (301, 302, 303, 307, 308) or not location:
            return hops
        url = urljoin(url, location)
    raise ValueError(f"more than {MAX_HOPS} redirects")


def _withhold(name: str, value: str) -> str:
    """A Set-Cookie keeps its name and attributes; its value (a session, often) is not kept."""
    if name.lower() != "set-cookie" or "=" not in value:
        return value
    head, rest = value.split("=", 1)
    return f"{head}=(withheld){(';' + rest.split(';', 1)[1]) if ';' in rest else ''}"


def write_warc(path: Path, exchanges: list[Exchange], media: list[tuple[str, Path]],
               tool_versions: dict[str, str]) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        software = "; ".join([f"vericount {__version__}", *(f"{k} {v}" for k, v in tool_versions.items())])
        writer.write_record(writer.create_warcinfo_record(path.name, {
            "software": software, "format": "WARC File Format 1.1",
            "description": "captured by vericount capture"}))
        for hop in exchanges:
            split = urlsplit(hop.url)
            target = (split.path or "/") + (f"?{split.query}" if split.query else "")
            request = writer.create_warc_record(hop.url, "request", payload=io.BytesIO(b""),
                                                http_headers=StatusAndHeaders(
                                                    f"GET {target} HTTP/1.1", hop.request,
                                                    is_http_request=True))
            extra = {"WARC-Truncated": "length"} if hop.truncated else None
            response = writer.create_warc_record(
                hop.url, "response", payload=io.BytesIO(hop.body), warc_headers_dict=extra,
                http_headers=StatusAndHeaders(f"{hop.status} {hop.reason}".strip(), hop.headers,
                                              protocol=hop.version))
            writer.write_request_response_pair(request, response)
        for url, file in media:
            with file.open("rb") as body:
                writer.write_record(writer.create_warc_record(
                    url, "resource", payload=body, length=file.stat().st_size,
                    warc_content_type=_media_type(file)))
    partial.replace(path)


def package(warc: Path, wacz: Path, url: str, title: str | None) -> str | None:
    """The WARC as a WACZ beside it (None), or why not (one line)."""
    import json

    from wacz.main import main as wacz_main

    pages = warc.with_name("pages.jsonl")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages.write_text(json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}) + "\n"
                     + json.dumps({"id": "1", "url": url, "title": title or url, "ts": now}) + "\n")
    partial = wacz.with_name(wacz.name + ".partial")
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):  # it prints its progress
            code = wacz_main(["create", "-o", str(partial), "-p", str(pages), "--copy-pages",
                              "--title", (title or url)[:200], "--hash-type", "sha256", str(warc)])
    except Exception as exc:  # noqa: BLE001 - a third-party packager's failure is a line, not a crash
        return f"{type(exc).__name__}: {exc}"
    finally:
        pages.unlink(missing_ok=True)
    if code != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        last = said.getvalue().strip().splitlines()
        return f"wacz create exited {code}" + (f" ({last[-1]})" if last else "")
    partial.replace(wacz)
    return None


def chromium() -> str | None:
    found = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and Path(found).is_file() else None


def screenshot(url: str, out: Path, access: Access, cut: list[str] | None = None) -> str | None:
    """A full-page PNG of ``url`` (None), or why not (one line); ``cut`` gets a line when the page was
    longer than the screenshot."""
    cut = cut if cut is not None else []
    browser_path = chromium()
    if browser_path is None:
        return f"chromium not found (apt-get install chromium, or set {CHROMIUM_ENV})"
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=browser_path, headless=True,
                proxy={"server": access.proxy} if access.proxy else None,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"])
            try:
                context = browser.new_context(viewport={"width": WIDTH, "height": 900},
                                              user_agent=HEADERS["User-Agent"])
                if access.cookies is not None:
                    context.add_cookies(_cookies(access.cookies))  # type: ignore[arg-type]
                page = context.new_page()
                page.goto(url, wait_until="load", timeout=access.timeout * 1000)
                with contextlib.suppress(PlaywrightError):  # a page that keeps polling: as it stands
                    page.wait_for_load_state("networkidle", timeout=3000)
                height = int(page.evaluate("document.documentElement.scrollHeight"))
                if height > MAX_SCREENSHOT_HEIGHT:
                    page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": WIDTH,
                                                         "height": MAX_SCREENSHOT_HEIGHT}, full_page=True)
                    cut.append(f"screenshot cut at {MAX_SCREENSHOT_HEIGHT} px: the page is {height} px long "
                               "(the WARC holds all of it)")
                else:
                    page.screenshot(path=str(out), full_page=True)
            finally:
                browser.close()
    except (PlaywrightError, ValueError) as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return None


def tls_chain(url: str, out: Path, access: Access) -> str | None:
    """The certificates an https server sends, as PEM in ``out`` (None), or why not (one line)."""
    if shutil.which("openssl") is None:
        return "openssl not found (apt-get install openssl)"
    split = urlsplit(url)
    host, port = split.hostname or "", split.port or 443
    command = ["openssl", "s_client", "-showcerts", "-connect", f"{host}:{port}", "-servername", host]
    if access.proxy:
        proxy = urlsplit(access.proxy)
        command += ["-proxy", f"{proxy.hostname}:{proxy.port or 8080}"]
    try:
        done = subprocess.run(command, input=b"", capture_output=True, timeout=access.timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"{host}:{port} did not answer within {access.timeout:g} s"
    pems = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", done.stdout, re.S)
    if not pems:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return lines[0] if lines else f"no certificate from {host}:{port}"
    out.write_bytes(b"\n".join(pems) + b"\n")
    return None


def _jar(path: Path) -> MozillaCookieJar:
    """A Netscape cookies file, read; ValueError naming it when it is not one."""
    jar = MozillaCookieJar()
    try:
        jar.load(str(path), ignore_discard=True, ignore_expires=True)
    except (OSError, LoadError) as exc:
        raise ValueError(f"{path}: not a cookies file ({exc})") from None
    return jar


def _cookies(path: Path) -> list[dict[str, Any]]:
    """A Netscape cookies file as Playwright's cookie list."""
    return [{"name": c.name, "value": c.value or "", "domain": c.domain, "path": c.path or "/",
             "secure": bool(c.secure), **({"expires": float(c.expires)} if c.expires else {})}
            for c in _jar(path)]


def _title(hop: Exchange) -> str | None:
    found = re.search(rb"<title[^>]*>(.*?)</title>", hop.body[:1_000_000], re.I | re.S)
    if not found:
        return None
    return " ".join(found.group(1).decode("utf-8", "replace").split())[:300] or None


def _media_type(file: Path) -> str:
    import mimetypes

    return mimetypes.guess_type(file.name)[0] or "application/octet-stream"


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__
