"""Models: the bundled ones listed with their checked SHA-256; a user's detector added to a case (its layout
checked, its file kept read-only, the event logged), run by name, and named by every track it made."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests import onnxgen
from tests.conftest import Cli, fresh_database
from tests.mediagen import make_image
from vericount.case import Case
from vericount.cli import main
from vericount.models import catalog
from vericount.people.runtime import bundled_model

ROOT = Path(__file__).resolve().parent.parent
# One person in a 320 x 240 photo: letterboxed into 256 (scale 0.8, 32 pixels of grey above and below),
# the box (80, 60, 176, 204) of the frame is (64, 80, 140.8, 195.2) of the model's input.
PERSON = (102.4, 137.6, 76.8, 115.2, 0.9, 0)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _added(cli: Cli) -> list[dict[str, Any]]:
    return [m for m in _json(cli("models", "--json"))["models"] if m["origin"] == "added"]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_bundled_models_are_listed_with_their_sha256(cli: Cli, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from vericount.text import whisper

    listed = {m["name"]: m for m in _json(cli("models", "--json"))["models"]}
    extra = {"whisper-base"} if whisper.installed() else set()  # the speech extra's model, where installed
    assert set(listed) == {"nanodet-m-416", "ssd-mobilenetv2-coco", "centerface", "body-mobilenetv2",
                           "ppocr-det-v4", "dlib-resnet-face-v1", "dlib-shape-predictor-5"} | extra
    assert all(listed[name]["origin"] == "extra" for name in extra)
    readme = bundled_model("README.md").read_text(encoding="utf-8")
    for name, file in (("nanodet-m-416", "nanodet_m.onnx"), ("centerface", "centerface.onnx"),
                       ("ssd-mobilenetv2-coco", "ssd_mobilenetv2_coco.onnx"),
                       ("body-mobilenetv2", "body_mobilenetv2.onnx"), ("ppocr-det-v4", "ppocr_det_v4.onnx")):
        digest = _sha(bundled_model(file))
        assert listed[name]["sha256"] == listed[name]["recorded_sha256"] == digest and digest in readme
        assert listed[name]["file"] == f"vericount/models/{file}" and listed[name]["origin"] == "bundled"
    assert listed["nanodet-m-416"]["role"] == "person detector"
    assert listed["nanodet-m-416"]["classes"] == "COCO 80, person = 0"
    assert "416,416" in listed["nanodet-m-416"]["input"]
    assert listed["nanodet-m-416"]["licence"].startswith("Apache-2.0")
    face = listed["dlib-resnet-face-v1"]  # not vendored: its file inside face_recognition_models
    assert face["role"] == "face embedder" and face["licence"].startswith("CC0")
    assert face["file"] == "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"
    assert face["sha256"] == _sha(Path(face["path"])) and face["state"] == "ok"
    assert {m["role"] for m in listed.values()} >= {"person detector", "face detector", "face embedder",
                                                    "body embedder"}

    # outside a case the bundled ones are listed all the same
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VERICOUNT_CASE", raising=False)
    outside = CliRunner().invoke(main, ["models", "--json"])
    assert outside.exit_code == 0 and json.loads(outside.stdout)["case"] is None
    assert len(json.loads(outside.stdout)["models"]) == 7 + len(extra)


def test_a_changed_bundled_file_is_reported(cli: Cli, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "nanodet_m.onnx"
    shutil.copyfile(bundled_model("nanodet_m.onnx"), copy)
    with copy.open("r+b") as f:  # one byte changed
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    real = catalog.package_file
    monkeypatch.setattr(catalog, "package_file", lambda package, file: (
        copy if file.endswith("nanodet_m.onnx") else real(package, file)))
    result = cli("models", "--json")
    assert result.exit_code == 1
    nanodet = next(m for m in json.loads(result.stdout)["models"] if m["name"] == "nanodet-m-416")
    assert nanodet["state"] == "altered" and nanodet["sha256"] == _sha(copy) != nanodet["recorded_sha256"]
    assert result.stderr.count("\n") == 1 and "nanodet-m-416" in result.stderr and "changed" in result.stderr
    copy.unlink()
    gone = cli("models")
    assert gone.exit_code == 1 and "is missing" in gone.stderr


def test_models_add_accepts_each_layout_and_keeps_the_file(cli: Cli, tmp_path: Path) -> None:
    files = {"yolo11s": onnxgen.yolov8(tmp_path / "yolo11s.onnx", boxes=[PERSON]),
             "yolov5s": onnxgen.yolov5(tmp_path / "yolov5s.onnx"),
             "rtdetr-l": onnxgen.rtdetr_ultralytics(tmp_path / "rtdetr-l.onnx"),
             "rtdetr-r18": onnxgen.rtdetr_own(tmp_path / "rtdetr_r18.onnx")}
    layouts = {"yolo11s": "yolov8", "yolov5s": "yolov5", "rtdetr-l": "rtdetr-ultralytics",
               "rtdetr-r18": "rtdetr"}
    for name, path in files.items():
        added = cli("models", "add", str(path), "--name", name, "--licence", "AGPL-3.0 (ultralytics)",
                    actor="ana")
        assert added.exit_code == 0, added.output
        assert f"added {name}: {layouts[name]}" in added.stdout
    listed = {m["name"]: m for m in _added(cli)}
    assert set(listed) == set(files)
    for name, path in files.items():
        m = listed[name]
        sha = _sha(path)
        assert m["sha256"] == m["recorded_sha256"] == sha and m["state"] == "ok"
        assert m["layout"].startswith(layouts[name] + ":") and m["origin"] == "added"
        assert m["added_by"] == "ana" and m["added_at"] and m["source"] == path.name
        assert m["licence"] == "AGPL-3.0 (ultralytics)" and m["role"] == "person detector"
        stored = cli.case_dir / m["file"]
        assert stored == cli.case_dir / "models" / sha[:2] / sha and _sha(stored) == sha
        assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)  # read-only
    assert listed["yolo11s"]["classes"] == "80 (COCO assumed: the file does not name them), person = 0"
    assert "256,256" in listed["yolo11s"]["input"] and "letterboxed" in listed["yolo11s"]["input"]
    own = listed["rtdetr-r18"]["input"]
    assert "stretched" in own and "orig_target_sizes" in own

    events = _json(cli("log", "--json", "--action", "models.add"))
    assert [e["detail"]["name"] for e in events] == list(files)
    assert events[0]["actor"] == "ana" and events[0]["detail"]["sha256"] == _sha(files["yolo11s"])
    assert events[0]["detail"]["layout"] == "yolov8" and events[0]["detail"]["input_size"] == 256

    # the same bytes again: under the same name nothing changes; under another name it is refused
    again = cli("models", "add", str(files["yolo11s"]), "--name", "yolo11s", "--licence", "AGPL-3.0")
    assert again.exit_code == 0 and "nothing changed" in again.stdout
    other = cli("models", "add", str(files["yolo11s"]), "--name", "another", "--licence", "AGPL-3.0")
    assert other.exit_code == 1 and "already in the case as yolo11s" in other.stderr
    # a name already taken by another model is refused in one line
    clash = cli("models", "add", str(onnxgen.yolov8(tmp_path / "b.onnx", size=128)), "--name", "yolo11s",
                "--licence", "AGPL-3.0")
    assert clash.exit_code == 1 and clash.stderr.count("\n") == 1
    assert "the name yolo11s is taken by another model" in clash.stderr and "b.onnx" in clash.stderr
    assert len(_json(cli("log", "--json", "--action", "models."))) == 4


def test_models_add_refuses_bad_files_and_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "notes.onnx").write_text("these are my notes, not a model\n")
    bad = {
        "wrong.onnx": (onnxgen.classifier(tmp_path / "wrong.onnx"),
                       "not a detector layout vericount reads (inputs images [1, 3, 64, 64]; outputs "
                       "output0 [1, 10])"),
        "notes.onnx": (tmp_path / "notes.onnx", "not a usable ONNX model"),
        "empty.onnx": (tmp_path / "empty.onnx", "an empty file"),
        "missing.onnx": (tmp_path / "missing.onnx", "no such file"),
        "folder": (tmp_path, "not a file"),
    }
    log_before = cli("log", "--json").stdout
    for label, (path, message) in bad.items():
        result = cli("models", "add", str(path), "--name", "mine", "--licence", "Apache-2.0")
        assert result.exit_code == 1, label
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), (label, result.stderr)
        assert message in lines[0], (label, lines[0])
    for name, message in (("bad name!", "--name 'bad name!'"), ("nanodet-m-416", "a bundled model")):
        good = onnxgen.yolov8(tmp_path / "ok.onnx")
        result = cli("models", "add", str(good), "--name", name, "--licence", "x")
        assert result.exit_code == 1 and message in result.stderr
    assert cli("log", "--json").stdout == log_before
    assert _added(cli) == [] and _files(cli.case_dir / "models") == []


def test_people_with_an_added_detector_names_it_on_every_track(cli: Cli, tmp_path: Path) -> None:
    photo = make_image(tmp_path / "photo.png", size=(320, 240))
    assert cli("add", str(photo)).exit_code == 0
    model = onnxgen.yolov8(tmp_path / "yolo11s.onnx", boxes=[PERSON])
    sha = _sha(model)
    assert cli("models", "add", str(model), "--name", "yolo11s", "--licence", "AGPL-3.0").exit_code == 0
    ran = cli("people", "--detector", "yolo11s", "--json")
    assert ran.exit_code == 0, ran.output
    (row,) = json.loads(ran.stdout)["items"]
    assert row["max_people_in_frame"] == 1
    (track,) = _json(cli("tracks", "photo.png", "--json"))["tracks"]
    # the model's own score (no calibration for an added model): the mean of one source is that source
    assert track["detector"] == f"yolo11s@{sha[:12]}" and track["score"] == pytest.approx(0.9)
    assert track["best_box"] == pytest.approx([80.0, 60.0, 176.0, 204.0], abs=0.2)
    table = cli("tracks", "photo.png")
    assert f"yolo11s@{sha[:12]}" in table.stdout and "detector" in table.stdout
    with Case.open(cli.case_dir) as case, case.session() as s:
        from sqlalchemy import select

        from vericount.store.schema import PeopleItem, StageState

        params = s.scalar(select(StageState.params).where(StageState.stage == "people"))
        assert params["detector"]["sha256"] == sha and params["detector"]["layout"] == "yolov8"
        assert s.scalar(select(PeopleItem.detector)) == f"yolo11s@{sha[:12]}"
    # a mark made by a reviewer names no detector
    assert cli("mark", "photo.png", "0.9", "0.9").exit_code == 0
    marks = [t for t in _json(cli("tracks", "photo.png", "--json"))["tracks"] if t["source"] == "mark"]
    assert marks[0]["detector"] is None

    # the model cannot be removed while its track points to it; an unused one can
    refused = cli("models", "remove", "yolo11s")
    assert refused.exit_code == 1 and "1 track(s)" in refused.stderr
    spare = onnxgen.rtdetr_own(tmp_path / "spare.onnx")
    assert cli("models", "add", str(spare), "--name", "spare", "--licence", "Apache-2.0").exit_code == 0
    removed = cli("models", "remove", "spare")
    assert removed.exit_code == 0, removed.output
    assert [m["name"] for m in _added(cli)] == ["yolo11s"]
    assert not (cli.case_dir / "models" / _sha(spare)[:2] / _sha(spare)).exists()
    removals = _json(cli("log", "--json", "--action", "models.remove"))
    assert [(e["actor"], e["detail"]["name"]) for e in removals] == [("tester", "spare")]


def test_people_with_a_detector_file_adds_it_first(cli: Cli, tmp_path: Path) -> None:
    assert cli("add", str(make_image(tmp_path / "photo.png", size=(320, 240)))).exit_code == 0
    model = onnxgen.yolov8(tmp_path / "my detector.onnx", boxes=[PERSON])
    ran = cli("people", "--detector", str(model))
    assert ran.exit_code == 0, ran.output
    assert "added" in ran.stderr and "licence is not stated" in ran.stderr
    (m,) = _added(cli)
    assert m["name"] == "my-detector" and m["sha256"] == _sha(model) and m["licence"].startswith("not stated")
    (track,) = _json(cli("tracks", "photo.png", "--json"))["tracks"]
    assert track["detector"] == f"my-detector@{_sha(model)[:12]}"
    # the same file again (any name, any folder) is the model already added; a changed model runs again
    copy = tmp_path / "copy.onnx"
    shutil.copyfile(model, copy)
    assert cli("people", "--detector", str(copy)).exit_code == 0
    assert len(_added(cli)) == 1
    changed = onnxgen.yolov8(tmp_path / "my detector.onnx", boxes=[(*PERSON[:4], 0.8, 0)])
    assert cli("people", "--detector", str(changed)).exit_code == 1  # its name is taken by the first one
    assert cli("models", "add", str(changed), "--name", "second", "--licence", "x").exit_code == 0
    assert cli("people", "--detector", "second").exit_code == 0
    (track,) = _json(cli("tracks", "photo.png", "--json"))["tracks"]
    assert track["detector"] == f"second@{_sha(changed)[:12]}"
    missing = cli("people", "--detector", "nothing-here")
    assert missing.exit_code == 1 and "no model of that name in this case" in missing.stderr


@pytest.fixture
def new_cli(tmp_path: Path, backend: str) -> Iterator[Cli]:
    """A second, empty case on the same back end (for an import)."""
    for url in fresh_database(backend):
        Case.create(tmp_path / "new-case", url, actor="tester").close()
        yield Cli(tmp_path / "new-case")


def test_an_imported_case_has_the_record_but_not_the_file(cli: Cli, new_cli: Cli, tmp_path: Path) -> None:
    model = onnxgen.rtdetr_ultralytics(tmp_path / "rtdetr-l.onnx")
    assert cli("models", "add", str(model), "--name", "rtdetr-l", "--licence", "AGPL-3.0").exit_code == 0
    out = tmp_path / "export"
    assert cli("export", "--out", str(out), "--format", "json").exit_code == 0
    (row,) = json.loads((out / "models.json").read_text())
    assert (row["name"], row["sha256"], row["layout"]) == ("rtdetr-l", _sha(model), "rtdetr-ultralytics")
    assert new_cli("import", str(out)).exit_code == 0
    listed = new_cli("models")
    assert listed.exit_code == 1 and "rtdetr-l: its file" in listed.stderr and "is missing" in listed.stderr
    assert new_cli("people", "--detector", "rtdetr-l").exit_code == 1
    restored = new_cli("models", "add", str(model), "--name", "rtdetr-l", "--licence", "AGPL-3.0")
    assert restored.exit_code == 0 and "stored again" in restored.stdout
    assert new_cli("models").exit_code == 0
    assert "models.restore" in new_cli("log", "--action", "models.").stdout


def test_migration_0010_names_the_detector_of_earlier_tracks(case: Case) -> None:
    """Tracks from before schema 0010 get their item's recorded detector; marks stay null."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from vericount.store import db

    item = "ab" * 32
    with case.engine.begin() as conn:
        conn.execute(text("INSERT INTO items (id, kind, media_type, size, added_at, added_by, status, "
                          "revision) VALUES (:i, 'image', 'image/png', 1, 'x', 't', 'unreviewed', 1)"),
                     {"i": item})
        conn.execute(text("INSERT INTO people_items VALUES (:i, 1, 1, :d, 2)"),
                     {"i": item, "d": "nanodet-m-416+ssd-mobilenetv2-coco"})
        for number, source in ((1, "detector"), (2, "mark")):
            conn.execute(text(
                "INSERT INTO tracks (item_id, number, source, start, \"end\", frame_width, frame_height, "
                "boxes, best_t, best_box, created_at) "
                "VALUES (:i, :n, :s, 0, 0, 10, 10, '[]', 0, '[]', 'x')"),
                {"i": item, "n": number, "s": source})
    cfg = Config()
    cfg.set_main_option("script_location", "vericount.store:migrations")
    with case.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    assert db.current_revision(case.engine) == "0009"
    assert db.migrate(case.engine)
    with case.engine.connect() as conn:
        rows = conn.execute(text("SELECT number, detector, score FROM tracks ORDER BY number")).all()
        assert conn.execute(text("SELECT COUNT(*) FROM models")).scalar() == 0
    assert [tuple(r) for r in rows] == [(1, "nanodet-m-416+ssd-mobilenetv2-coco", None), (2, None, None)]


def test_a_person_only_a_face_stood_for_names_centerface_too(cli: Cli, tmp_path: Path) -> None:
    """A detector that sees nobody: the portrait's person comes from the face CenterFace found."""
    shutil.copyfile(ROOT / "samples" / "media" / "biden.jpg", tmp_path / "biden.jpg")
    assert cli("add", str(tmp_path / "biden.jpg")).exit_code == 0
    blind = onnxgen.yolov8(tmp_path / "blind.onnx")
    assert cli("models", "add", str(blind), "--name", "blind", "--licence", "none").exit_code == 0
    assert cli("people", "--detector", "blind").exit_code == 0
    (track,) = _json(cli("tracks", "biden.jpg", "--json"))["tracks"]
    assert track["detector"] == f"blind@{_sha(blind)[:12]}+centerface" and track["has_face"]
