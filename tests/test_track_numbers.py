"""Track numbers and crops across re-runs of the people stage: a mark never breaks a run, a number never
comes to name another track, and a failed save leaves the committed tracks and their files as they were."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Cli
from vericount.case import Case
from vericount.people import numbering
from vericount.people.stage import FoundTrack, PeopleResult, PeopleStage, people_folder
from vericount.store.schema import Item, PersonTrack

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"


def _add(cli: Cli, tmp_path: Path, *names: str) -> dict[str, str]:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(SAMPLES / name, media / name)
    assert cli("add", *(str(media / n) for n in names)).exit_code == 0
    return {n: json.loads(cli("show", n, "--json").stdout)["id"] for n in names}


def _tracks(cli: Cli, name: str) -> list[dict[str, object]]:
    return json.loads(cli("tracks", name, "--json").stdout)["tracks"]


def _files_are_sound(case_dir: Path, item_id: str, tracks: list[dict[str, object]]) -> None:
    """Every file a track names exists and holds the bytes its name's hash says; no other file is left."""
    folder = people_folder(case_dir / "derived", item_id)
    named = set()
    for track in tracks:
        for key in ("crop", "face"):
            if track[key]:
                path = Path(str(track[key]))
                digest = path.stem.rsplit("-", 1)[1]
                assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(digest), path
                named.add(path.name)
    assert {p.name for p in folder.iterdir()} == named


def test_a_mark_before_the_first_run(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    ids = _add(cli, tmp_path, "obama.jpg", "biden.jpg")
    assert cli("mark", "obama.jpg", "0.2", "0.5").exit_code == 0
    result = cli("people", "--json")
    assert result.exit_code == 0, result.output
    done = {r["id"] for r in json.loads(result.stdout)["items"]}
    assert done == set(ids.values())  # every item of the batch got its results
    tracks = _tracks(cli, "obama.jpg")
    assert [(t["number"], t["source"]) for t in tracks] == [(1, "mark"), (2, "detector")]
    _files_are_sound(case_dir, ids["obama.jpg"], tracks)


def test_a_mark_between_runs_keeps_its_number_and_judgments_hold(cli: Cli, case_dir: Path,
                                                                 tmp_path: Path) -> None:
    ids = _add(cli, tmp_path, "obama.jpg", "biden.jpg")
    assert cli("people").exit_code == 0
    first = _tracks(cli, "obama.jpg")
    assert cli("mark", "obama.jpg", "0.2", "0.5").exit_code == 0
    mark = _tracks(cli, "obama.jpg")[-1]
    assert mark["source"] == "mark" and mark["number"] == len(first) + 1
    judged = cli("judge", f"obama.jpg:{mark['number']}", "biden.jpg:1", "different", "--reason", "test")
    assert judged.exit_code == 0, judged.output
    assert cli("people", "--fps", "1").exit_code == 0  # other settings: every item is looked at again
    again = _tracks(cli, "obama.jpg")
    # the photo's people are found again exactly, so they keep their numbers; the mark keeps its own
    assert [(t["number"], t["source"]) for t in again] == [(t["number"], t["source"]) for t in first] + [
        (mark["number"], "mark")]
    assert [t["crop"] for t in again] == [t["crop"] for t in first] + [mark["crop"]]
    _files_are_sound(case_dir, ids["obama.jpg"], again)
    tally = json.loads(cli("tally", "--include-unreviewed", "--json").stdout)
    assert tally["stale_judgments"] == []


def _found(number: int, x: float, look: str = "") -> FoundTrack:
    jpeg = f"crop {number} at {x}{look}".encode()
    boxes = [[0.0, x, 10.0, x + 50.0, 200.0, 0.9], [0.25, x + 1, 10.0, x + 51.0, 200.0, 0.9]]
    return FoundTrack(number, boxes, 0.0, [x, 10.0, x + 50.0, 200.0], jpeg, 0.9)


def _result(*tracks: FoundTrack) -> PeopleResult:
    return PeopleResult(2, 1, "test", 2 * len(tracks), (640, 360), list(tracks))


@pytest.fixture
def item_id(cli: Cli, tmp_path: Path) -> str:
    return _add(cli, tmp_path, "biden.jpg")["biden.jpg"]


def _save(case: Case, item_id: str, result: PeopleResult) -> None:
    with case.session() as s:
        item = s.get(Item, item_id)
        assert item is not None
        PeopleStage().save(s, item, result)


def _rows(case: Case, item_id: str) -> dict[int, PersonTrack]:
    with case.session() as s:  # expire_on_commit is off: the rows keep their values after it
        rows = s.query(PersonTrack).filter(PersonTrack.item_id == item_id).all()
        return {r.number: r for r in rows}


def test_a_number_is_never_issued_twice(case: Case, item_id: str) -> None:
    _save(case, item_id, _result(_found(1, 100.0), _found(2, 300.0)))
    first = _rows(case, item_id)
    # the second run finds the person at x=300 again, loses the one at x=100, and finds a new one
    _save(case, item_id, _result(_found(1, 300.0), _found(2, 500.0)))
    second = _rows(case, item_id)
    assert sorted(second) == [2, 3]
    assert second[2].id == first[2].id and second[2].boxes == first[2].boxes
    assert second[3].best_box[0] == 500.0
    _save(case, item_id, _result(_found(1, 700.0)))
    assert sorted(_rows(case, item_id)) == [4]  # 1, 2 and 3 were issued before: never again


def test_a_failed_save_leaves_the_committed_tracks_and_files(case: Case, item_id: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _save(case, item_id, _result(_found(1, 100.0), _found(2, 300.0)))
    before = {n: (r.crop, (case.derived / str(r.crop)).read_bytes()) for n, r in _rows(case, item_id).items()}

    def broken(*_args: object) -> list[Path]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(numbering, "tidy", broken)  # fails after the new crops are written
    with pytest.raises(RuntimeError):
        # the person at x=300 is found again (same number) with another crop; two new ones too
        _save(case, item_id, _result(_found(1, 300.0, " sharper"), _found(2, 350.0), _found(3, 550.0)))
    after = _rows(case, item_id)
    assert {n: r.crop for n, r in after.items()} == {n: crop for n, (crop, _) in before.items()}
    for crop, content in before.values():
        assert (case.derived / str(crop)).read_bytes() == content
    monkeypatch.undo()
    _save(case, item_id, _result(_found(1, 150.0)))  # the next good run removes what the failed one left
    rows = _rows(case, item_id)
    assert sorted(rows) == [3]  # 1 and 2 were committed; 3 and 4 were issued only in the rolled-back run
    folder = people_folder(case.derived, item_id)
    assert {p.name for p in folder.iterdir()} == {Path(str(rows[3].crop)).name}


def test_one_item_failing_to_save_does_not_cost_the_batch(cli: Cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _add(cli, tmp_path, "obama.jpg", "biden.jpg")
    real = PeopleStage.save

    def flaky(self: PeopleStage, session: object, item: Item, result: PeopleResult) -> str | None:
        if item.id == ids["biden.jpg"]:
            raise ValueError("cannot write the crops")
        return real(self, session, item, result)  # type: ignore[arg-type]

    monkeypatch.setattr(PeopleStage, "save", flaky)
    result = cli("people", "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert [f["item"] for f in out["failed"]] == [ids["biden.jpg"]]
    assert "saving people results: cannot write the crops" in out["failed"][0]["error"]
    assert [t["source"] for t in _tracks(cli, "obama.jpg")] == ["detector"]
    monkeypatch.undo()
    assert cli("people").exit_code == 0  # a re-run does the failed item
    assert [t["score"] > 0.9 for t in _tracks(cli, "biden.jpg")] == [True, False]  # Biden; the curtain
