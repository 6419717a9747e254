"""The people stage in a case: counts, tracks with crops and faces, marks, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import Cli
from tests.mediagen import make_audio_only, make_black_video

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"


def _ids(cli: Cli, *names: str) -> dict[str, str]:
    return {n: json.loads(cli("show", n, "--json").stdout)["id"] for n in names}


@pytest.mark.sqlite_only  # the stage's saving on PostgreSQL: test_track_numbers.py (this one is 30 s a run)
def test_people_in_a_case(cli: Cli, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("hamilton_short.mp4", "obama_and_biden.jpg"):
        (media / name).write_bytes((SAMPLES / name).read_bytes())
    make_audio_only(media / "sound.mp4")
    make_black_video(media / "black.mp4", seconds=1.0)
    rgba = Image.open(SAMPLES / "obama.jpg").convert("RGBA")
    rgba.putalpha(128)
    rgba.save(media / "alpha.png")
    Image.open(SAMPLES / "biden.jpg").convert("CMYK").save(media / "cmyk.jpg")
    Image.fromarray(np.asarray(Image.open(SAMPLES / "obama2.jpg").convert("L"), np.uint16) * 257).save(
        media / "deep.png")
    assert cli("add", str(media)).exit_code == 0
    ids = _ids(cli, "hamilton_short.mp4", "obama_and_biden.jpg", "sound.mp4", "black.mp4", "alpha.png",
               "cmyk.jpg", "deep.png")
    result = cli("people", "--json")
    assert result.exit_code == 1, result.output  # the audio-only item fails, the rest go on
    out = json.loads(result.stdout)
    assert [f["item"] for f in out["failed"]] == [ids["sound.mp4"]]
    rows = {r["id"]: r for r in out["items"]}
    # the four people, and a box on Biden's raised arm the detector doubts: a proposal, scored as such
    assert rows[ids["obama_and_biden.jpg"]]["max_people_in_frame"] == 5
    assert rows[ids["obama_and_biden.jpg"]]["faces"] >= 2
    group = json.loads(cli("tracks", "obama_and_biden.jpg", "--json").stdout)["tracks"]
    assert sorted(t["score"] < 0.5 for t in group) == [False] * 4 + [True]
    assert sum(t["score"] > 0.9 for t in group) >= 2  # Biden and Obama, whole, both models sure
    video = rows[ids["hamilton_short.mp4"]]
    assert video["tracks"] >= 2 and video["max_people_in_frame"] >= 1 and video["faces"] >= 1
    assert rows[ids["black.mp4"]]["max_people_in_frame"] == 0 and rows[ids["black.mp4"]]["tracks"] == 0
    for name in ("alpha.png", "cmyk.jpg", "deep.png"):  # odd pixel formats are read, one person each
        assert rows[ids[name]]["max_people_in_frame"] >= 1, name

    listed = json.loads(cli("tracks", "hamilton_short.mp4", "--json").stdout)["tracks"]
    assert [t["number"] for t in listed] == list(range(1, len(listed) + 1))
    for track in listed:
        assert track["end"] >= track["start"] and track["boxes"] >= 1
        with Image.open(track["crop"]) as crop:
            assert crop.format == "JPEG" and crop.width > 10
        if track["has_face"]:
            assert Path(track["face"]).is_file()
    assert any(t["face_embedding"] for t in listed)

    # a reviewer marks two people the detector missed at 8.5 s
    before = video["max_people_in_frame"]
    marked = cli("mark", "hamilton_short.mp4", "--time", "8.5", "0.2", "0.5", "0.9", "0.4")
    assert marked.exit_code == 0, marked.output
    after = json.loads(cli("people", "--json").stdout)
    row = next(r for r in after["items"] if r["id"] == ids["hamilton_short.mp4"])
    assert row["marks"] == 2 and row["max_people_in_frame"] >= 2
    assert row["max_people_in_frame"] >= before
    assert "people.mark" in cli("log", "--action", "people.mark").stdout
    # running the stage again (other settings) keeps the marks with their numbers; tracks it finds anew
    # get numbers never used before, so a judgment can never move to another person
    now = json.loads(cli("tracks", "hamilton_short.mp4", "--json").stdout)["tracks"]
    marks = [(t["number"], t["crop"]) for t in now if t["source"] == "mark"]
    assert cli("people", "--fps", "2").exit_code == 1
    again = json.loads(cli("tracks", "hamilton_short.mp4", "--json").stdout)["tracks"]
    assert [(t["number"], t["crop"]) for t in again if t["source"] == "mark"] == marks
    old = {t["number"]: t for t in listed}
    for track in again:
        if track["source"] == "detector" and track["number"] in old:
            assert track["start"] == old[track["number"]]["start"]  # found again exactly
        assert Path(track["crop"]).is_file()
    assert len({t["number"] for t in again}) == len(again)
    bad = cli("mark", "hamilton_short.mp4", "1.5", "0.5")
    assert bad.exit_code == 1 and "fractions of the frame" in bad.stderr
    odd = cli("mark", "hamilton_short.mp4", "0.5")
    assert odd.exit_code == 2


def test_a_bad_detector_is_refused_before_anything_runs(cli: Cli, tmp_path: Path) -> None:
    junk = tmp_path / "model.onnx"
    junk.write_bytes(b"\x00" * 100)
    result = cli("people", "--detector", str(junk))
    assert result.exit_code == 1 and "model.onnx: not a usable ONNX model" in result.stderr


def test_a_confident_face_no_person_holds_is_a_person() -> None:
    from vericount.people.detect import Detection
    from vericount.people.faces import Face
    from vericount.people.stage import _people_from_faces

    landmarks = np.zeros((5, 2), np.float32)
    body = Detection((100.0, 100.0, 200.0, 400.0), 0.9)
    held = Face((130.0, 110.0, 170.0, 160.0), 0.95, landmarks)  # in the body's upper half
    alone = Face((500.0, 50.0, 540.0, 100.0), 0.9, landmarks)
    unsure = Face((700.0, 50.0, 740.0, 100.0), 0.55, landmarks)
    (person,) = _people_from_faces([held, alone, unsure], [body], 800, 600)
    x0, y0, x1, y1 = person.box
    assert x0 < 500 < 540 < x1 and y0 < 50 and y1 > 100 and person.score == pytest.approx(0.9)


def test_a_close_up_s_face_belongs_to_its_person_box_and_makes_no_second_person() -> None:
    """A tight face crop: the detector's person box is the whole picture and the face's centre is in its
    lower half. The face is that person's, not a second person boxed over the first."""
    from vericount.people.detect import Detection
    from vericount.people.faces import Face
    from vericount.people.stage import _owner, _people_from_faces

    landmarks = np.zeros((5, 2), np.float32)
    whole = Detection((0.0, 0.0, 160.0, 160.0), 0.9)
    face = Face((45.0, 50.0, 115.0, 130.0), 0.99, landmarks)  # centre at y = 90: below the box's middle
    assert _people_from_faces([face], [whole], 160, 160) == []
    assert _owner(face.box, [(7, whole.box)], 160, 160) == 7
    far = Detection((400.0, 0.0, 560.0, 160.0), 0.9)  # a person elsewhere owns nothing of it
    assert _owner(face.box, [(3, far.box)], 800, 160) is None
    assert len(_people_from_faces([face], [far], 800, 160)) == 1
