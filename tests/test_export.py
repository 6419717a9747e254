"""Export and import, through the CLI: a case written to files and read back into a new case gives the same
tally and its certificate still holds; bad or changed exports are refused with nothing written."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests import onnxgen
from tests.conftest import Cli, fresh_database
from tests.mediagen import make_image
from vericount.case import Case
from vericount.report.export import GROUPS, NOT_EXPORTED, TABLES, columns
from vericount.store.db import SCHEMA_HEAD
from vericount.store.schema import Base, FingerprintRow, PersonTrack, utcnow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def other_db(backend: str) -> Iterator[str | None]:
    """A second database for the case the export is imported into (None: SQLite, the case's own file)."""
    yield from fresh_database(backend)


@pytest.fixture
def new_cli(tmp_path: Path, other_db: str | None) -> Cli:
    root = tmp_path / "new-case"
    Case.create(root, other_db, actor="tester").close()
    return Cli(root)


def _add_items(cli: Cli, tmp_path: Path, n: int) -> list[str]:
    ids = []
    for k in range(n):
        path = tmp_path / f"photo{k}.png"
        Image.new("RGB", (64, 48), (40 * k, 90, 200 - 30 * k)).save(path)
        added = cli("add", str(path), "--source-url", f"https://t.me/x/{k}", "--platform", "telegram")
        assert added.exit_code == 0, added.output
        ids.append(json.loads(cli("show", path.name, "--json").stdout)["id"])
    return ids


def _face(axis: int) -> bytes:
    v = np.zeros(128, np.float32)
    v[axis] = 1.0
    return v.tobytes()


DETECTOR = "nanodet-m-416+ssd-mobilenetv2-coco"


def _track(case: Case, item: str, number: int, t: float, box: list[float], face: bytes | None = None) -> None:
    with case.session() as s:
        s.add(PersonTrack(item_id=item, number=number, source="detector", start=t, end=t, frame_width=640,
                          frame_height=480, boxes=[[t, *box, 0.9]], best_t=t, best_box=box, crop=None,
                          face_t=t if face else None, face_box=box if face else None,
                          face_size=120 if face else None, face_sharpness=400.0 if face else None,
                          face_embedding=face, created_at=utcnow(), detector=DETECTOR,
                          score=0.75 if face else None))


def _build(cli: Cli, tmp_path: Path) -> list[str]:
    """Three photos: a repost pair, tracks with faces, judgments (same, different, one undone), a tally."""
    x, y, z = _add_items(cli, tmp_path, 3)
    with Case.open(cli.case_dir, actor="tester") as case:
        _track(case, x, 1, 0.0, [10, 10, 100, 300])
        _track(case, x, 2, 0.0, [200, 10, 290, 300], _face(0))
        _track(case, y, 1, 0.0, [10, 10, 100, 300])
        _track(case, z, 1, 0.0, [10, 10, 100, 300], _face(1))
        _track(case, z, 2, 1.0, [300, 10, 390, 300])
        with case.session() as s:
            s.add(FingerprintRow(item_id=x, kind="image", duration=0.0, decoded=1, frames=1, dropped=0,
                                 shots=1, min_quality=50, data=bytes(range(256)) * 3, matched=None))
    for item in (x, y, z):
        assert cli("status", item, "verified", "--note", "checked").exit_code == 0
    assert cli("match", "confirm", x, y, "--reason", "the same photo").exit_code == 0
    assert cli("tag", x, "day-1").exit_code == 0
    assert cli("note", z, "ask the uploader").exit_code == 0
    assert cli("judge", f"{x[:8]}:1", f"{z[:8]}:1", "different", "--reason", "beard").exit_code == 0
    assert cli("judge", f"{z[:8]}:2", f"{y[:8]}:1", "same").exit_code == 0
    assert cli("judge", f"{z[:8]}:2", f"{x[:8]}:2", "cant-tell").exit_code == 0
    assert cli("judge", f"{z[:8]}:2", f"{x[:8]}:2", "cant-tell", "--undo").exit_code == 0
    assert cli("people", "confirm", x, y, z).exit_code == 0
    model = onnxgen.rtdetr_own(tmp_path / "rtdetr.onnx")  # a person detector added to the case
    assert cli("models", "add", str(model), "--name", "rtdetr-r18", "--licence", "Apache-2.0").exit_code == 0
    assert cli("judge-group", "different", f"{x[:8]}:2", "--against", f"{z[:8]}:1",
               "--reason", "another face").exit_code == 0
    return [x, y, z]


def _tally(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("tally", "--json", *args)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _export(cli: Cli, out: Path, fmt: str = "json") -> dict[str, Any]:
    result = cli("export", "--out", str(out), "--format", fmt, "--json")
    assert result.exit_code == 0, result.output
    done: dict[str, Any] = json.loads(result.stdout)
    return done


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _case_id(cli: Cli) -> str:
    return str(json.loads((cli.case_dir / "case.json").read_text())["case_id"])


def test_export_import_round_trip(cli: Cli, new_cli: Cli, tmp_path: Path) -> None:
    x, y, z = _build(cli, tmp_path)
    cert_path = tmp_path / "cert.json"
    before = _tally(cli, "--out", str(cert_path))
    assert before["at_least"] == 3
    assert {p["reason"] for p in before["certificate"]["pairs"]} == {"same_frame", "judged_different",
                                                                     "group_different"}
    cli("user", "add", "ana", "--role", "admin", "--password-stdin", input="secret-password\n")

    out = tmp_path / "export"
    out.mkdir()  # an empty folder is taken
    done = _export(cli, out)
    names = {p.name for p in out.iterdir()}
    extras = {"tally.json", "certificate.json", "export.json"}
    assert names == {f"{t}.json" for t in (*TABLES, GROUPS)} | extras
    assert not names & {f"{t}.json" for t in NOT_EXPORTED}
    assert "secret" not in "".join(p.read_text() for p in out.iterdir())
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["format"] == "vericount-export/1" and manifest["schema"] == SCHEMA_HEAD
    assert manifest["case"] == _case_id(cli) == done["case"] and manifest["exported_by"] == "tester"
    assert manifest["tables"]["items"]["rows"] == 3 and manifest["tables"]["judgments"]["rows"] == 3
    assert manifest["tables"]["track_reviews"]["rows"] == 5
    assert manifest["tables"]["group_judgments"]["rows"] == 1
    assert all(_sha(out / e["file"]) == e["sha256"] for e in manifest["tables"].values())
    tracks = json.loads((out / "tracks.json").read_text())
    assert base64.b64decode(tracks[1]["face_embedding"]) == _face(0)
    assert tracks[0]["created_at"].endswith("Z") and tracks[0]["boxes"] == [[0.0, 10, 10, 100, 300, 0.9]]
    assert [(t["detector"], t["score"]) for t in tracks[:2]] == [(DETECTOR, None), (DETECTOR, 0.75)]
    (model,) = json.loads((out / "models.json").read_text())
    assert (model["name"], model["layout"], model["added_at"][-1]) == ("rtdetr-r18", "rtdetr", "Z")
    groups = json.loads((out / "groups.json").read_text())
    assert {g["item_id"] for g in groups} == {x, y} and sum(g["earliest"] for g in groups) == 1
    assert json.loads((out / "certificate.json").read_text()) == before["certificate"]
    assert json.loads((out / "tally.json").read_text())["at_least"] == 3
    assert "case.export" in cli("log", "--json").stdout

    originals = out / "originals"  # two of the three originals come with the export
    originals.mkdir()
    for item in (x, y):
        shutil.copyfile(cli.case_dir / "evidence" / item[:2] / item, originals / f"{item}.png")
    imported = new_cli("import", str(out))
    assert imported.exit_code == 0, imported.output
    assert "2 stored" in imported.stdout and "1 missing" in imported.stdout

    again = _export(new_cli, tmp_path / "again")  # the same rows, byte for byte, but the custody log
    for name in (*TABLES, GROUPS, "tally"):
        if name != "audit_events":
            assert _sha(tmp_path / "again" / f"{name}.json") == _sha(out / f"{name}.json"), name
    kept = new_cli.case_dir / "imported" / manifest["case"] / "audit_events.json"
    assert kept.read_bytes() == (out / "audit_events.json").read_bytes()
    log = json.loads(new_cli("log", "--json").stdout)
    events = log if isinstance(log, list) else log["events"]
    event = next(e for e in events if e["action"] == "case.import")
    assert event["detail"]["source_case"] == manifest["case"]
    assert event["detail"]["export_sha256"] == _sha(out / "export.json")
    assert event["detail"]["source_audit_chain"] == "intact" and again["rows"]["items"] == 3

    after = _tally(new_cli)
    assert (after["at_least"], after["estimate"], after["at_most"]) == (
        before["at_least"], before["estimate"], before["at_most"])
    checked = new_cli("tally", "--check", str(cert_path))
    assert checked.exit_code == 0, checked.output
    verified = new_cli("verify")
    assert verified.exit_code == 1 and z in verified.output and x not in verified.output

    # ids continue after the imported ones (PostgreSQL: the sequences were moved past them)
    assert new_cli("judge", f"{y[:8]}:1", f"{z[:8]}:1", "different", "--reason", "height").exit_code == 0
    judged = json.loads(new_cli("judgments", "--json", "--all").stdout)["judgments"]
    assert [j["id"] for j in judged] == [1, 2, 3, 4]
    assert new_cli("note", x, "imported").exit_code == 0
    assert new_cli("import", str(out)).exit_code == 1  # the case is no longer empty


def test_csv_export(cli: Cli, new_cli: Cli, tmp_path: Path) -> None:
    _build(cli, tmp_path)
    _tally(cli)
    as_json, as_csv = tmp_path / "j", tmp_path / "c"
    _export(cli, as_json)
    done = _export(cli, as_csv, "csv")
    assert json.loads((as_csv / "export.json").read_text())["table_format"] == "csv"
    for name in (*TABLES, GROUPS):
        with (as_csv / f"{name}.csv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == columns(name), name
        expected = len(json.loads((as_json / f"{name}.json").read_text()))
        expected += name == "audit_events"  # the JSON export's own event
        assert len(rows) - 1 == expected == done["rows"][name], name
    with (as_csv / "tracks.csv").open(encoding="utf-8", newline="") as f:
        tracks = list(csv.DictReader(f))
    assert json.loads(tracks[0]["boxes"]) == [[0.0, 10, 10, 100, 300, 0.9]]
    assert tracks[0]["face_embedding"] == "" and base64.b64decode(tracks[1]["face_embedding"]) == _face(0)
    assert (as_csv / "certificate.json").is_file()

    refused = new_cli("import", str(as_csv))
    assert refused.exit_code == 1 and "CSV export" in refused.stderr and "--format json" in refused.stderr
    busy = cli("export", "--out", str(as_csv))
    assert busy.exit_code == 1 and "not an empty folder" in busy.stderr


def _rewrite(src: Path, dest: Path, name: str, change: Any, reseal: bool = True) -> Path:
    """A copy of the export with one file changed (and export.json's SHA-256 for it updated if reseal)."""
    shutil.copytree(src, dest)
    path = dest / name
    path.write_bytes(change(path.read_bytes()))
    if reseal and name != "export.json":
        manifest = json.loads((dest / "export.json").read_text())
        entry = next(e for e in manifest["tables"].values() if e["file"] == name)
        entry["sha256"] = _sha(path)
        (dest / "export.json").write_text(json.dumps(manifest))
    return dest


def _row_change(row: int, field: str, value: Any) -> Any:
    def change(data: bytes) -> bytes:
        rows = json.loads(data)
        rows[row][field] = value
        return json.dumps(rows).encode()
    return change


def test_import_refuses_bad_exports(cli: Cli, new_cli: Cli, tmp_path: Path) -> None:
    x, _y, _z = _build(cli, tmp_path)
    out = tmp_path / "export"
    _export(cli, out)
    log_before = new_cli("log", "--json").stdout

    cases = {
        "changed": (_rewrite(out, tmp_path / "a", "judgments.json",
                             lambda b: b.replace(b'"different"', b'"same"'), reseal=False),
                    ["judgments.json", "changed since the export"]),
        "truncated": (_rewrite(out, tmp_path / "b", "tracks.json", lambda b: b[: len(b) // 2]),
                      ["tracks.json", "not valid JSON"]),
        "manifest": (_rewrite(out, tmp_path / "c", "export.json", lambda b: b[:-20]),
                     ["export.json", "not valid JSON"]),
        "unknown column": (_rewrite(out, tmp_path / "d", "notes.json", _row_change(0, "mood", "x")),
                           ["notes.json", "row 1", "unknown column 'mood'"]),
        "bad value": (_rewrite(out, tmp_path / "e", "tracks.json", _row_change(2, "start", "soon")),
                      ["tracks.json", "row 3, start", "not a number"]),
        "bad time": (_rewrite(out, tmp_path / "f", "judgments.json", _row_change(0, "at", "2024-08-07")),
                     ["judgments.json", "row 1, at", "no UTC offset"]),
        "bad bytes": (_rewrite(out, tmp_path / "g", "fingerprints.json", _row_change(0, "data", "%%")),
                      ["fingerprints.json", "row 1, data", "base64"]),
        "no manifest": (tmp_path / "h", ["no export.json"]),
        "no folder": (tmp_path / "nowhere", ["no such folder"]),
        "format": (_rewrite(out, tmp_path / "i", "export.json",
                            lambda b: b.replace(b"-export/1", b"-export/9")),
                   ["export.json", "vericount-export/9"]),
    }
    (tmp_path / "h").mkdir()
    wrong = tmp_path / "wrong"  # an original whose bytes are not what its name says
    wrong.mkdir()
    (wrong / f"{x}.png").write_bytes(b"not the photo")
    cases["original"] = (out, ["--originals", str(wrong), f"{x}.png", "SHA-256"])
    for label, (src, expect) in cases.items():
        extra = [a for a in expect if a.startswith("--") or a == str(wrong)]
        result = new_cli("import", str(src), *extra)
        assert result.exit_code == 1, label
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (label, result.stderr)
        for part in expect:
            if part not in extra:
                assert part in lines[0], (label, lines[0])
    assert json.loads(new_cli("items", "--json").stdout) in ([], {"items": []})
    assert new_cli("log", "--json").stdout == log_before  # nothing recorded
    assert new_cli("verify").exit_code == 0  # no stray original left in the evidence store
    assert not (new_cli.case_dir / "imported").exists()

    full = cli("import", str(out))  # the source case is not empty
    assert full.exit_code == 1 and "import fills a new case" in full.stderr


def test_every_exported_column_is_documented() -> None:
    doc = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")
    for name in (*TABLES, GROUPS):
        for column in columns(name):
            assert f"`{name}.{column}`" in doc, f"docs/export.md does not describe {name}.{column}"
    for key in ("format", "table_format", "case", "schema", "tool_version", "exported_at", "exported_by",
                "tables"):
        assert f"`export.json` `{key}`" in doc or f"`{key}`" in doc, key


def test_every_table_is_exported_or_kept_back() -> None:
    """A new table must be added to TABLES or to NOT_EXPORTED: nothing leaves the case by default."""
    assert set(Base.metadata.tables) == set(TABLES) | set(NOT_EXPORTED)
    assert not set(TABLES) & set(NOT_EXPORTED)


def test_attachments_travel_with_an_export(cli: Cli, new_cli: Cli, tmp_path: Path) -> None:
    media = tmp_path / "downloads"
    media.mkdir()
    make_image(media / "post [p1].png", size=(40, 30))
    (media / "post [p1].info.json").write_text(json.dumps({"extractor": "generic", "id": "p1",
                                                           "webpage_url": "https://example.org/p1"}))
    assert cli("add", str(media)).exit_code == 0
    item = json.loads(cli("items", "--json").stdout)[0]["id"]
    [kept] = json.loads(cli("show", item, "--json").stdout)["attachments"]
    out = tmp_path / "export"
    _export(cli, out)
    rows = json.loads((out / "attachments.json").read_text())
    assert [(a["item_id"], a["sha256"], a["role"]) for a in rows] == [(item, kept["sha256"], "sidecar")]
    (out / "originals").mkdir()
    for sha in (item, kept["sha256"]):  # the attachment travels as the originals do
        shutil.copyfile(cli.case_dir / "evidence" / sha[:2] / sha, out / "originals" / sha)
    imported = new_cli("import", str(out))
    assert imported.exit_code == 0, imported.output
    assert json.loads(new_cli("show", item, "--json").stdout)["attachments"] == [kept]
    verified = new_cli("verify")
    assert verified.exit_code == 0 and "1 originals and 1 attachments" in verified.stdout, verified.output
