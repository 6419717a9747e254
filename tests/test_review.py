"""Finding items by reference, and the reviewer's edits: status, place, date, all in the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import mediagen as mg
from .conftest import Cli


@pytest.fixture
def two(cli: Cli, tmp_path: Path) -> dict[str, str]:
    a = mg.make_image(tmp_path / "a.jpg")
    b = mg.make_image(tmp_path / "b.png", size=(30, 30))
    assert cli("add", str(a), str(b)).exit_code == 0
    return {i["names"][0]: i["id"] for i in json.loads(cli("items", "--json").stdout)}


def test_show_by_prefix_or_name(cli: Cli, two: dict[str, str]) -> None:
    a = two["a.jpg"]
    by_prefix = json.loads(cli("show", a[:8], "--json").stdout)
    by_name = json.loads(cli("show", "a.jpg", "--json").stdout)
    assert by_prefix["id"] == by_name["id"] == a
    assert by_name["metadata"]["format"] == "JPEG"
    short = cli("show", a[:5])
    assert short.exit_code == 1 and "at least 6 hex digits" in short.stderr
    missing = cli("show", "nothing.jpg")
    assert missing.exit_code == 1 and missing.stderr == "error: no item matches 'nothing.jpg'\n"


def test_ambiguous_references_list_the_candidates(cli: Cli, tmp_path: Path) -> None:
    # Two different files under the same name (the hard negative of the repost set).
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    mg.make_image(tmp_path / "x" / "vtest.jpg")
    mg.make_image(tmp_path / "y" / "vtest.jpg", size=(20, 20))
    assert cli("add", str(tmp_path / "x"), str(tmp_path / "y")).exit_code == 0
    result = cli("show", "vtest.jpg")
    assert result.exit_code == 1
    assert "'vtest.jpg' matches 2 items" in result.stderr
    ids = [i["id"] for i in json.loads(cli("items", "--json").stdout)]
    assert all(i[:12] in result.stderr for i in ids)


def test_status_needs_a_note_to_verify_or_reject(cli: Cli, two: dict[str, str]) -> None:
    result = cli("status", "a.jpg", "verified")
    assert result.exit_code == 1 and "a note (--note) is required" in result.stderr
    assert cli("status", "a.jpg", "needs-info").exit_code == 0
    ok = cli("status", "a.jpg", "verified", "--note", "matched to the original post",
             actor="alice")
    assert ok.exit_code == 0
    item = json.loads(cli("show", "a.jpg", "--json").stdout)
    assert (item["status"], item["status_note"]) == ("verified", "matched to the original post")
    bad = cli("status", "a.jpg", "approved")
    assert bad.exit_code == 2  # click refuses the choice
    log = json.loads(cli("log", "--json", "--item", "a.jpg").stdout)
    last = log[-1]
    assert last["action"] == "item.status" and last["actor"] == "alice"
    assert last["detail"]["before"] == {"status": "needs-info", "note": None}
    listed = json.loads(cli("items", "--json", "--status", "verified").stdout)
    assert [i["id"] for i in listed] == [two["a.jpg"]]


def test_locate_and_date(cli: Cli, two: dict[str, str]) -> None:
    ok = cli("locate", "b.png", "51.73", "36.19", "--precision", "50", "--method", "skyline")
    assert ok.exit_code == 0, ok.output
    assert cli("locate", "b.png", "91", "0").exit_code == 1
    assert cli("date", "b.png", "2024-08-06", "2024-08-12", "--method", "weather").exit_code == 0
    backwards = cli("date", "b.png", "2024-08-12", "2024-08-06")
    assert backwards.exit_code == 1 and "before FROM" in backwards.stderr
    naive = cli("date", "b.png", "2024-08-06T10:00")
    assert naive.exit_code == 1 and "no UTC offset" in naive.stderr
    item = json.loads(cli("show", "b.png", "--json").stdout)
    assert item["geolocation"] == {"lat": 51.73, "lon": 36.19, "precision_m": 50.0,
                                   "method": "skyline"}
    assert item["chronolocation"] == {"from": "2024-08-06", "to": "2024-08-12", "method": "weather"}
    actions = [e["action"] for e in json.loads(cli("log", "--json", "--item", "b.png").stdout)]
    assert actions == ["item.add", "item.locate", "item.date"]
