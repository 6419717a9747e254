"""The tally in a case, through the CLI: judgments, the three numbers, the certificate and its checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import Cli
from vericount.case import Case
from vericount.store.schema import PersonTrack, utcnow

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"
CHECKER = Path(__file__).resolve().parent.parent / "src" / "vericount" / "tally" / "check.py"


def _add_items(cli: Cli, tmp_path: Path, n: int) -> list[str]:
    ids = []
    for k in range(n):
        path = tmp_path / f"photo{k}.png"
        Image.new("RGB", (64, 48), (40 * k, 90, 200 - 30 * k)).save(path)
        assert cli("add", str(path)).exit_code == 0
        ids.append(json.loads(cli("show", path.name, "--json").stdout)["id"])
    return ids


def _track(case: Case, item: str, number: int, boxes: list[list[float]], score: float | None = None) -> None:
    with case.session() as s:
        s.add(PersonTrack(item_id=item, number=number, source="detector", start=boxes[0][0], end=boxes[-1][0],
                          frame_width=640, frame_height=480, boxes=[[*b, score or 0.9] for b in boxes],
                          best_t=boxes[0][0], best_box=boxes[0][1:5], crop=None, created_at=utcnow(),
                          score=score))


def _tally(cli: Cli, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("tally", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_judge_tally_and_check(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    x, y, z = _add_items(cli, tmp_path, 3)
    with Case.open(case_dir, actor="tester") as case:
        _track(case, x, 1, [[0.0, 10, 10, 100, 300], [0.25, 12, 10, 102, 300]])  # three people in one frame
        _track(case, x, 2, [[0.0, 200, 10, 290, 300]])
        _track(case, x, 3, [[0.0, 400, 10, 490, 300]])
        _track(case, y, 1, [[0.0, 10, 10, 100, 300]])
        _track(case, z, 1, [[0.0, 10, 10, 100, 300]])
    code, out = _tally(cli)
    assert code == 0 and out["at_least"] == 0 and out["items"] == 0  # nothing verified yet
    code, out = _tally(cli, "--include-unreviewed")
    assert (out["at_least"], out["proposed"]["at_least"], out["at_most"], out["include_unreviewed"]) == (
        0, 3, 5, True)  # nobody confirmed a person yet: the three in one frame are the machine's proposal
    assert out["proposed"]["machine_calls"] == 3 and out["proposed"]["certificate"]["kind"] == "proposed"
    assert "reviewed or not" in out["headline"] and "3 proposed" in out["headline"]
    for item in (x, y, z):
        assert cli("status", item, "verified", "--note", "checked").exit_code == 0
    code, out = _tally(cli)
    top = out["proposals"][0]
    assert top["kind"] == "confirm" and top["gain"] == 3 and top["actions"] == 1, top
    assert top["commands"] == [f"vericount people confirm {x[:12]}:1 {x[:12]}:2 {x[:12]}:3"]
    done = cli(*top["commands"][0].split()[1:])  # the command the proposal gives, as a script would run it
    assert done.exit_code == 0 and "3 track(s) confirmed" in done.stdout, done.output
    code, out = _tally(cli)
    assert (out["at_least"], out["estimate"], out["at_most"], out["optimal"]) == (3, 5, 5, True)
    assert {p["reason"] for p in out["certificate"]["pairs"]} == {"same_frame"}
    assert out["certificate"]["kind"] == "certified" and out["certificate"]["machine_calls"] == 0
    assert all(c["by"] == "tester" and c["review"] for m in out["certificate"]["members"]
               for c in m["confirmed"])
    assert cli("people", "confirm", y, z).exit_code == 0
    code, out = _tally(cli)
    assert out["at_least"] == 3
    group = out["proposals"][0]  # y (or z) against the three it is not yet proved different from: +1
    assert group["kind"] == "group" and group["gain"] == 1 and group["tracks"][0] in {f"{y}:1", f"{z}:1"}
    assert len(group["against"]) == 3 and group["needs_reason"]
    assert group["commands"][0].startswith(f"vericount judge-group different {group['tracks'][0][:12]}")

    assert cli("judge", f"{y[:8]}:1", f"{x[:8]}:1", "different").exit_code == 1  # a reason is required
    assert cli("judge", f"{y[:8]}:1", f"{x[:8]}:9", "same").exit_code == 1  # no such track
    for other in (1, 2, 3):
        done = cli("judge", f"{y[:8]}:1", f"{x[:8]}:{other}", "different", "--reason", "beard")
        assert done.exit_code == 0, done.output
    code, out = _tally(cli)
    assert out["at_least"] == 4 and out["judgments"] == 3
    assert sum(p["reason"] == "judged_different" for p in out["certificate"]["pairs"]) == 3
    cert_path = tmp_path / "cert.json"
    cert_path.write_text(json.dumps(out))
    assert cli("tally", "--check", str(cert_path)).exit_code == 0
    if (case_dir / "case.db").exists():  # SQLite: the stdlib script agrees
        standalone = subprocess.run([sys.executable, str(CHECKER), str(cert_path), str(case_dir / "case.db")],
                                    capture_output=True, text=True, check=False)
        assert standalone.returncode == 0 and "holds" in standalone.stdout, standalone.stdout

    # undo one "different": the certificate on file no longer holds, and says which pair
    assert cli("judge", f"{y[:8]}:1", f"{x[:8]}:2", "different", "--undo").exit_code == 0
    checked = cli("tally", "--check", str(cert_path))
    assert checked.exit_code == 1
    assert f"{y}:1 ~ {x}:2" in checked.stderr or f"{x}:2 ~ {y}:1" in checked.stderr
    assert "undone" in checked.stderr
    assert _tally(cli)[1]["at_least"] == 3

    # same: z is y (one person in two photos); then z different from y's "same" chain: blocked
    assert cli("judge", f"{z[:8]}:1", f"{y[:8]}:1", "same").exit_code == 0
    code, out = _tally(cli)
    assert out["at_most"] == 4 and out["at_least"] == 3
    assert cli("judge", f"{z[:8]}:1", f"{x[:8]}:2", "same").exit_code == 0
    assert cli("judge", f"{y[:8]}:1", f"{x[:8]}:2", "different", "--reason", "height").exit_code == 0
    code, out = _tally(cli)
    assert code == 1 and out["at_least"] is None and out["certificate"] is None
    assert len(out["contradictions"]) == 1
    listed = json.loads(cli("judgments", "--json", "--all").stdout)["judgments"]
    assert sum(j["undone"] for j in listed) == 1 and len(listed) == 6
    log = cli("log", "--json")
    assert log.stdout.count("judgment.add") == 6 and log.stdout.count("judgment.undo") == 1


def test_scope_by_dates_and_stale_judgments(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    x, y = _add_items(cli, tmp_path, 2)
    with Case.open(case_dir, actor="tester") as case:
        _track(case, x, 1, [[0.0, 10, 10, 100, 300]])
        _track(case, x, 2, [[0.0, 200, 10, 290, 300]])
        _track(case, y, 1, [[0.0, 10, 10, 100, 300]])
    for item in (x, y):
        assert cli("status", item, "verified", "--note", "ok").exit_code == 0
    assert cli("date", x, "2024-08-07").exit_code == 0
    assert cli("date", y, "2024-08-20").exit_code == 0
    assert cli("people", "confirm", x, y).exit_code == 0
    assert _tally(cli, "--from", "2024-08-06", "--to", "2024-08-12")[1]["items"] == 1
    assert _tally(cli, "--from", "2024-08-06")[1]["items"] == 2
    bad = cli("tally", "--from", "6 August")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr
    assert cli("judge", f"{x[:8]}:1", f"{y[:8]}:1", "different", "--reason", "scar").exit_code == 0
    assert _tally(cli)[1]["at_least"] == 2
    with Case.open(case_dir, actor="tester") as case, case.session() as s:
        track = s.query(PersonTrack).filter_by(item_id=y, number=1).one()
        track.start, track.end = 3.0, 4.0  # the people stage ran again and track 1 is someone else now
    out = _tally(cli)[1]
    assert out["at_least"] == 2 and len(out["stale_judgments"]) == 1  # x:1 and x:2 still in one frame
    assert "judge the pair again" in out["stale_judgments"][0]


@pytest.mark.sqlite_only  # the chain's database half is the other tally tests' (suite time)
def test_people_photos_counted(cli: Cli, tmp_path: Path) -> None:
    """The real chain on the sample photos: the people stage, then the count. Obama's three photos and
    Biden's, and the group photo of four. The machine proposes; nothing is certified until a reviewer
    confirms the people, and the two boxes that overlap in the group photo need a reviewer's "different"."""
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "obama_and_biden.jpg"):
        (tmp_path / name).write_bytes((SAMPLES / name).read_bytes())
        assert cli("add", str(tmp_path / name)).exit_code == 0
        assert cli("status", name, "verified", "--note", "sample").exit_code == 0
    assert cli("people").exit_code == 0
    code, out = _tally(cli)
    assert code == 0, out
    assert out["at_least"] == 0 and out["proposed"]["at_least"] == 4  # proposals only
    # 11 tracks: one per portrait, four in the group photo, and four the detector doubts (scores under 0.5:
    # the blurred woman at obama2.jpg's right edge, who is one, and the curtain behind Biden, his raised arm
    # in the group photo and a dark shape behind Obama, which are not): asked last, never confirmed in bulk
    assert out["at_most"] == 11 and out["proposed"]["at_least"] <= out["estimate"] < out["at_most"]
    assert out["proposals"][0]["kind"] == "confirm"
    for command in out["proposals"][0]["commands"]:
        assert cli(*command.split()[1:]).exit_code == 0
    code, out = _tally(cli)
    assert out["at_least"] == 3  # the group photo: two of its four boxes overlap too much to be sure
    pair = next(p for p in out["proposals"] if p["kind"] == "different")
    a, b = pair["tracks"]
    assert a.rpartition(":")[0] == b.rpartition(":")[0]  # both in the group photo
    assert cli("judge", a, b, "different", "--reason", "two faces side by side").exit_code == 0
    code, out = _tally(cli)
    assert out["at_least"] == 4
    cert = out["certificate"]
    assert len(cert["members"]) == 4 and len(cert["pairs"]) == 6 and cert["machine_calls"] == 0
    assert all(m["crop"] for m in cert["members"])
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(cert))
    assert cli("tally", "--check", str(path)).exit_code == 0


def test_scope_by_repost_group(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    """--group ITEM counts only the items of ITEM's repost group (confirmed matches)."""
    x, y, z = _add_items(cli, tmp_path, 3)
    with Case.open(case_dir, actor="tester") as case:
        _track(case, x, 1, [[0.0, 10, 10, 100, 300]])
        _track(case, x, 2, [[0.0, 200, 10, 290, 300]])
        _track(case, y, 1, [[0.0, 10, 10, 100, 300]])
        _track(case, z, 1, [[0.0, 10, 10, 100, 300]])
    assert cli("match", "confirm", x, y, "--reason", "the same clip").exit_code == 0
    code, out = _tally(cli, "--include-unreviewed", "--group", y)
    assert code == 0 and out["items"] == 2 and out["tracks"] == 3
    code, out = _tally(cli, "--include-unreviewed", "--group", z)
    assert code == 0 and out["items"] == 1 and out["tracks"] == 1


def test_doubtful_proposals_are_never_confirmed_in_bulk(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    """Three people in one frame, one of them a box the detector doubts (a calibrated 0.3: more likely a coat
    than a person). Confirming the item leaves it open and says so; the proposals confirm the two sure ones
    on their page and ask about the doubtful one last, on a page of its own where it starts as not a person;
    naming it confirms it."""
    (x,) = _add_items(cli, tmp_path, 1)
    with Case.open(case_dir, actor="tester") as case:
        _track(case, x, 1, [[0.0, 10, 10, 100, 300]], score=0.97)
        _track(case, x, 2, [[0.0, 200, 10, 290, 300]], score=0.3)
        _track(case, x, 3, [[0.0, 400, 10, 490, 300]], score=0.8)
    assert cli("status", x, "verified", "--note", "checked").exit_code == 0
    out = _tally(cli)[1]
    confirms = [p for p in out["proposals"] if p["kind"] == "confirm"]
    sure, doubtful = confirms[0], confirms[-1]
    assert sure["steps"] == [{"do": "confirm", "tracks": [f"{x}:1", f"{x}:3"]}]  # the surest first
    assert doubtful["steps"] == [{"do": "confirm", "tracks": [f"{x}:2"], "doubtful": True}]
    assert out["proposals"].index(doubtful) > out["proposals"].index(sure)
    assert "PEOPLE" in doubtful["commands"][0] and doubtful["effect"].startswith("N up to")
    result = cli("people", "confirm", x)
    assert result.exit_code == 0 and "2 track(s) confirmed" in result.stdout
    assert "1 doubtful track(s) left open" in result.stdout and f"{x[:12]}:2" in result.stdout
    assert _tally(cli)[1]["at_least"] == 2
    assert cli("people", "confirm", f"{x}:2").exit_code == 0  # named: the reviewer looked at it
    assert _tally(cli)[1]["at_least"] == 3
    assert cli("people", "confirm", x, "--undo").exit_code == 0
    done = json.loads(cli("people", "confirm", x, "--with-doubtful", "--json").stdout)
    assert sorted(done["tracks"]) == [f"{x}:1", f"{x}:2", f"{x}:3"] and done["doubtful"] == []
