"""`vericount capture` against a local web server on 127.0.0.1: yt-dlp's generic extractor, as on a site."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import Cli


def test_capture_a_page_and_a_direct_link(cli: Cli, site: str, tmp_path: Path) -> None:
    result = cli("capture", f"{site}/post.html", f"{site}/clip_b.mp4", "--timeout", "5", "--no-archive")
    assert result.exit_code == 0, result.output
    assert "captured 2 of 2 link(s)" in result.stdout
    items = json.loads(cli("items", "--json").stdout)
    assert len(items) == 2
    served = {hashlib.sha256((tmp_path / "site" / n).read_bytes()).hexdigest() for n in ("clip_a.mp4",
                                                                                          "clip_b.mp4")}
    assert {i["id"] for i in items} == served  # the bytes as served, not re-encoded
    page = json.loads(cli("show", items[0]["id"], "--json").stdout)
    sources = {s["url"] for i in items for s in json.loads(cli("show", i["id"], "--json").stdout)["sources"]}
    assert sources == {f"{site}/post.html", f"{site}/clip_b.mp4"}
    assert page["sources"][0]["notes"].startswith("from yt-dlp sidecar")
    seen = {p for i in items for p in json.loads(cli("show", i["id"], "--json").stdout)["paths"]}
    assert seen == {f"{site}/post.html", f"{site}/clip_b.mp4"}  # seen at the link, not in a temp folder
    log = json.loads(cli("log", "--json", "--action", "capture").stdout)
    assert sorted(e["detail"]["url"] for e in log) == sorted([f"{site}/post.html", f"{site}/clip_b.mp4"])
    assert all(e["detail"]["tool"].startswith("yt-dlp ") and e["detail"]["retrieved_at"] for e in log)
    # captured again: a capture in the log, no second item, no second source
    again = cli("capture", f"{site}/clip_b.mp4", "--no-archive")
    assert again.exit_code == 0 and "1 file(s), 0 new" in again.stdout
    assert len(json.loads(cli("items", "--json").stdout)) == 2
    assert len(json.loads(cli("log", "--json", "--action", "capture").stdout)) == 3
    assert cli("verify").exit_code == 0  # names, sources and items agree with the log


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_each_bad_link_is_one_line_and_the_rest_goes_on(cli: Cli, site: str) -> None:
    bad = [f"{site}/missing.mp4", f"{site}/empty.html", f"{site}/slow/clip.mp4", "ftp://127.0.0.1/x.mp4",
           "http://127.0.0.1:9/nothing-listens-here"]
    result = cli("capture", *bad, f"{site}/clip_b.mp4", "--timeout", "1", "--no-archive")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == len(bad), errors
    for url in bad:
        assert sum(url in line for line in errors) == 1, (url, errors)
    assert any("404" in e for e in errors)
    assert any("only http and https" in e for e in errors)
    states = dict(zip(bad, ["not-found", "no-media", "timeout", "bad-link", "unreachable"], strict=True))
    for url, state in states.items():  # one explicit state per link, first on its line
        assert any(url in e and e.startswith(f"error: {state}: ") for e in errors), (url, state, errors)
    assert "captured 1 of 6 link(s)" in result.stdout
    assert len(json.loads(cli("items", "--json").stdout)) == 1
    assert len(json.loads(cli("log", "--json", "--action", "capture.failed").stdout)) == len(bad)


@pytest.mark.sqlite_only  # the capture, not the database, is under test
def test_a_page_of_several_posts_needs_max(cli: Cli, site: str) -> None:
    refused = cli("capture", f"{site}/two.html")
    assert refused.exit_code == 1 and "a playlist or channel, not a post; give --max N" in refused.stderr
    assert json.loads(cli("items", "--json").stdout) == []
    taken = cli("capture", f"{site}/two.html", "--max", "2")
    assert taken.exit_code == 0 and "2 file(s), 2 new" in taken.stdout
