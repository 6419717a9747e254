"""What a capture keeps beside the media: yt-dlp's info.json, the page's WARC and WACZ, a full-page
screenshot, the TLS chain; cookies and proxies; rechecking captured links. Against the stand-in site
(tests/sites.py)."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import os
import ssl
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from tests.conftest import Cli
from tests.sites import SESSION
from vericount.archive import Access, chromium, tls_chain
from vericount.case import Case

BROWSER = chromium() is not None
if not BROWSER and os.environ.get("VERICOUNT_REQUIRE_BROWSER") == "1":
    raise RuntimeError("chromium is required here (VERICOUNT_REQUIRE_BROWSER=1): apt-get install chromium")


def _stored(cli: Cli, sha: str) -> Path:
    return cli.case_dir / "evidence" / sha[:2] / sha


def _kept(cli: Cli, item: str) -> dict[str, dict[str, Any]]:
    return {k["role"]: k for k in json.loads(cli("show", item, "--json").stdout)["attachments"]}


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_a_capture_keeps_the_info_json_and_the_page_archive(cli: Cli, site: str, tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    result = cli("capture", f"{site}/post.html", "--json")
    assert result.exit_code == 0, result.output
    captured = json.loads(result.stdout)["captures"][0]
    assert captured["state"] == "captured" and captured["archive_problems"] == []
    item = captured["items"][0]
    kept = _kept(cli, item)
    assert set(kept) == {"info-json", "warc", "wacz"} | ({"screenshot"} if BROWSER else set())
    for k in kept.values():
        path = _stored(cli, k["sha256"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == k["sha256"]
        assert not path.stat().st_mode & 0o222  # read-only, as originals are
        assert k["url"] == f"{site}/post.html"
    info = json.loads(_stored(cli, kept["info-json"]["sha256"]).read_bytes())
    assert info["webpage_url"] == f"{site}/post.html" and info["title"].startswith("Column near Sudzha")

    # the WARC: the page's request and response as served, then the media as a resource under its URL
    page = (tmp_path / "site" / "post.html").read_bytes()
    clip = (tmp_path / "site" / "clip_a.mp4").read_bytes()
    with _stored(cli, kept["warc"]["sha256"]).open("rb") as f:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                    r.http_headers.get_statuscode() if r.http_headers else None, r.content_stream().read())
                   for r in ArchiveIterator(f)]
    kinds = [r[0] for r in records]
    assert kinds == ["warcinfo", "response", "request", "resource"]
    assert records[1][1:] == (f"{site}/post.html", "200", page)
    assert records[2][1] == f"{site}/post.html"
    assert records[3][1] == f"{site}/clip_a.mp4" and records[3][3] == clip

    # the WACZ passes the wacz validator and lists the page
    from wacz.main import main as wacz_main

    wacz = _stored(cli, kept["wacz"]["sha256"])
    assert wacz_main(["validate", "-f", str(wacz)]) == 0
    with zipfile.ZipFile(wacz) as z:
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").splitlines()]
        assert any(p.get("url") == f"{site}/post.html" and p.get("title") == "Column near Sudzha"
                   for p in pages)
        assert any(n.startswith("archive/") and n.endswith(".warc.gz") for n in z.namelist())

    if BROWSER:  # a real PNG of the rendered page, 1280 px wide, not blank
        with Image.open(_stored(cli, kept["screenshot"]["sha256"])) as shot:
            assert shot.format == "PNG" and shot.width == 1280
            low, high = shot.convert("L").getextrema()
            assert high - low > 50

    # the custody log: the page's response headers, the tools' versions, no cookies or proxy
    event = json.loads(cli("log", "--json", "--action", "capture").stdout)[0]["detail"]
    assert event["tool"].startswith("yt-dlp ") and event["vericount"]
    assert event["cookies"] is False and event["proxy"] is False
    headers = {k.lower(): v for k, v in event["responses"][0]["headers"]}
    assert event["responses"][0]["status"] == 200 and headers["content-type"].startswith("text/html")
    assert sorted(event["archive"]) == sorted(set(kept) - {"info-json"})

    checked = cli("verify")
    assert checked.exit_code == 0, checked.output
    assert f"verified 1 originals and {len(kept)} attachments" in checked.stdout


def test_verify_names_an_attachment_changed_or_removed_behind_the_logs_back(cli: Cli, site: str) -> None:
    item = json.loads(cli("capture", f"{site}/clip_b.mp4", "--json", "--no-archive").stdout)[
        "captures"][0]["items"][0]
    kept = _kept(cli, item)
    assert set(kept) == {"info-json"}  # --no-archive: the media and its info.json only
    stored = _stored(cli, kept["info-json"]["sha256"])
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes() + b" ")
    altered = cli("verify", "--json")
    assert altered.exit_code == 1
    problems = json.loads(altered.stdout)["problems"]
    assert [p["problem"] for p in problems] == ["altered"] and str(stored) in problems[0]["detail"]
    stored.unlink()
    with Case.open(cli.case_dir) as case, case.engine.begin() as conn:  # an edit in SQL, either back end
        conn.execute(text("delete from attachments"))
    removed = json.loads(cli("verify", "--json").stdout)["problems"]
    assert [p["problem"] for p in removed] == ["state"]
    assert removed[0]["item"] == item and "the log records attachment ('info-json'" in removed[0]["detail"]


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_cookies_reach_the_site_and_are_never_kept(cli: Cli, site: str, tmp_path: Path) -> None:
    url = f"{site}/members/post.html"
    refused = cli("capture", url, "--json", "--no-archive")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["captures"][0]["state"] == "login-required"
    name, value = SESSION.split("=")
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\t{name}\t{value}\n")
    before = cookies.read_bytes()
    result = cli("capture", url, "--cookies", str(cookies), "--json")
    assert result.exit_code == 0, result.output
    captured = json.loads(result.stdout)["captures"][0]
    assert captured["state"] == "captured" and captured["new"] == 1
    assert cookies.read_bytes() == before  # yt-dlp wrote back to a private copy, not to the user's file
    log = json.loads(cli("log", "--json", "--action", "capture").stdout)
    assert [e["detail"]["cookies"] for e in log if e["action"] == "capture"] == [True]
    # the login is nowhere in the case: not in the info.json, the WARC, the WACZ or the database
    for path in cli.case_dir.rglob("*"):
        if path.is_file():
            assert value.encode() not in _unpacked(path.read_bytes()), path
    assert value not in cli("log", "--json").stdout


def _unpacked(data: bytes) -> bytes:
    """The bytes, with a gzip (WARC) or a zip (WACZ, and the gzip inside it) opened as well."""
    out = [data]
    if data[:2] == b"\x1f\x8b":
        out.append(gzip.decompress(data))
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out += [_unpacked(z.read(n)) for n in z.namelist()]
    return b"".join(out)


class _Proxy(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:  # an absolute-form request, relayed (no proxy of its own)
        self.seen.append(self.path)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(self.path, timeout=5) as upstream:
                body, status, kind = upstream.read(), upstream.status, upstream.headers.get("Content-Type")
        except urllib.error.HTTPError as exc:
            body, status, kind = b"", exc.code, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Proxy", (_Proxy,), {"seen": seen}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_a_proxy_carries_the_capture(cli: Cli, site: str, proxy: tuple[str, list[str]]) -> None:
    address, seen = proxy
    result = cli("capture", f"{site}/clip_b.mp4", "--proxy", address, "--no-archive")
    assert result.exit_code == 0, result.output
    assert f"{site}/clip_b.mp4" in seen
    assert json.loads(cli("log", "--json", "--action", "capture").stdout)[0]["detail"]["proxy"] is True
    bad = cli("capture", f"{site}/clip_b.mp4", "--proxy", "127.0.0.1:3128")
    assert bad.exit_code == 2 and "--proxy" in bad.output


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_recheck_records_what_each_captured_link_serves_now(cli: Cli, site: str, tmp_path: Path) -> None:
    assert cli("capture", f"{site}/clip_a.mp4", f"{site}/clip_b.mp4", f"{site}/post.html",
               "--no-archive").exit_code == 0
    served = tmp_path / "site"
    (served / "clip_b.mp4").write_bytes((served / "clip_b.mp4").read_bytes() + b"\0")  # re-encoded, say
    (served / "post.html").unlink()  # deleted
    result = cli("capture", "--recheck", "--json")
    assert result.exit_code == 0, result.output
    states = {r["url"].rsplit("/", 1)[1]: r for r in json.loads(result.stdout)["rechecked"]}
    assert {k: r["state"] for k, r in states.items()} == {"clip_a.mp4": "same", "clip_b.mp4": "changed",
                                                          "post.html": "gone"}
    assert states["post.html"]["detail"].startswith("not-found")
    now = hashlib.sha256((served / "clip_b.mp4").read_bytes()).hexdigest()
    assert states["clip_b.mp4"]["served"] == [now]
    log = json.loads(cli("log", "--json", "--action", "capture.recheck").stdout)
    assert sorted(e["detail"]["state"] for e in log) == ["changed", "gone", "same"]
    assert len(json.loads(cli("items", "--json").stdout)) == 2  # a recheck stores nothing
    one = cli("capture", "--recheck", f"{site}/clip_a.mp4")
    assert one.exit_code == 0 and "same: " in one.stdout and "rechecked 1 same" in one.stdout


def _https_server(tmp_path: Path) -> tuple[ThreadingHTTPServer, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vericount test site")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "site.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "site.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "site.pem", tmp_path / "site.key")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server, cert.public_bytes(serialization.Encoding.DER)


def test_the_tls_chain_an_https_site_presents_is_saved(tmp_path: Path) -> None:
    import ssl as _ssl

    server, der = _https_server(tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = tmp_path / "chain.pem"
        assert tls_chain(f"https://127.0.0.1:{server.server_address[1]}/", out, Access(timeout=5)) is None
        pems = out.read_text().count("-----BEGIN CERTIFICATE-----")
        assert pems == 1 and _ssl.PEM_cert_to_DER_cert(out.read_text()) == der
    finally:
        server.shutdown()
        server.server_close()
    problem = tls_chain("https://127.0.0.1:9/", tmp_path / "none.pem", Access(timeout=5))
    assert problem and "\n" not in problem and not (tmp_path / "none.pem").exists()


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_video_and_audio_served_apart_are_kept_and_joined(cli: Cli, site: str, tmp_path: Path) -> None:
    import av

    result = cli("capture", f"{site}/post.mpd", "--json", "--no-archive")
    assert result.exit_code == 0, result.output
    captured = json.loads(result.stdout)["captures"][0]
    assert captured["items"] and sorted(captured["archive"]) == ["served-audio", "served-video"]
    item = captured["items"][0]
    kept = _kept(cli, item)
    # what the site served, byte for byte, and which is which
    served = tmp_path / "site"
    for role, name in (("served-video", "dash_video.mp4"), ("served-audio", "dash_audio.m4a")):
        assert _stored(cli, kept[role]["sha256"]).read_bytes() == (served / name).read_bytes()
    # the item: the two joined without re-encoding, one video and one audio stream
    with av.open(str(_stored(cli, item))) as joined, av.open(str(served / "dash_video.mp4")) as video:
        assert [s.type for s in joined.streams] == ["video", "audio"]
        assert [bytes(p) for p in joined.demux(joined.streams.video[0]) if p.size] == \
            [bytes(p) for p in video.demux(video.streams.video[0]) if p.size]
    shown = json.loads(cli("show", item, "--json").stdout)
    assert shown["metadata"]["video_streams"] == 1 and shown["metadata"]["audio_streams"] == 1
    again = json.loads(cli("capture", f"{site}/post.mpd", "--json", "--no-archive").stdout)["captures"][0]
    assert again["items"] == [item] and again["new"] == 0  # joined alike: the same item


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_cookies_from_a_browser_profile(cli: Cli, site: str, tmp_path: Path) -> None:
    import sqlite3

    profile = tmp_path / "firefox-profile"  # a Firefox profile's cookie database, as Firefox keeps it
    profile.mkdir()
    name, value = SESSION.split("=")
    with sqlite3.connect(profile / "cookies.sqlite") as db:
        db.execute("create table moz_cookies (id integer primary key, originAttributes text not null "
                   "default '', name text, value text, host text, path text, expiry integer, "
                   "isSecure integer)")
        db.execute("insert into moz_cookies (name, value, host, path, expiry, isSecure) "
                   "values (?, ?, ?, ?, ?, ?)", (name, value, "127.0.0.1", "/", 4102444800, 0))
    result = cli("capture", f"{site}/members/post.html", "--cookies-from-browser", f"firefox:{profile}",
                 "--no-archive")
    assert result.exit_code == 0, result.output
    for path in cli.case_dir.rglob("*"):
        if path.is_file():
            assert value.encode() not in _unpacked(path.read_bytes()), path
    bad = cli("capture", f"{site}/members/post.html", "--cookies-from-browser", "netscape-navigator")
    assert bad.exit_code == 1 and "not a browser yt-dlp reads cookies from" in bad.stderr
    missing = cli("capture", f"{site}/members/post.html", "--cookies-from-browser",
                  f"firefox:{tmp_path / 'no'}")
    assert missing.exit_code == 1 and "cannot read the browser's cookies" in missing.stderr
    both = cli("capture", f"{site}/clip_a.mp4", "--cookies-from-browser", "firefox", "--cookies",
               str(profile / "cookies.sqlite"))
    assert both.exit_code == 2


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_a_redirect_off_the_web_is_refused(cli: Cli, site: str) -> None:
    result = cli("capture", f"{site}/to-ftp.mp4", f"{site}/to-file.mp4", "--json")
    assert result.exit_code == 1
    captured = json.loads(result.stdout)["captures"]
    assert [c["items"] for c in captured] == [[], []] and all(c["error"] for c in captured)
    assert [c["state"] for c in captured] == ["bad-link", "bad-link"], captured
    assert all("redirected off the web" in c["error"] for c in captured)
    assert json.loads(cli("items", "--json").stdout) == []
    assert "root:" not in result.stdout  # /etc/passwd was never read


@pytest.mark.skipif(not BROWSER, reason="chromium is not installed")
@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_a_very_long_page_is_cut_and_said_so(cli: Cli, site: str) -> None:
    result = cli("capture", f"{site}/long.html", "--json")
    assert result.exit_code == 0, result.output
    captured = json.loads(result.stdout)["captures"][0]
    assert any(p.startswith("screenshot cut at 16384 px") for p in captured["archive_problems"])
    shot = _kept(cli, captured["items"][0])["screenshot"]
    with Image.open(_stored(cli, shot["sha256"])) as image:
        assert image.size == (1280, 16384)
