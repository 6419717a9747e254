"""A dishonest copy of a case: events deleted from the end or the whole chain rewritten behind the
triggers' back, rows changed in SQL, the key replaced. `vericount verify` names each; an older case without
a key or an anchor still verifies, with a note, and is anchored from then on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import Cli
from vericount.case import Case
from vericount.store import anchor, audit, db, keys
from vericount.store.schema import CaseInfo, utcnow

ROOT = Path(__file__).resolve().parent.parent


def _items(cli: Cli, tmp_path: Path, n: int) -> list[str]:
    folder = tmp_path / "media"
    folder.mkdir(exist_ok=True)
    ids = []
    for k in range(n):
        path = folder / f"p{k}.png"
        Image.new("RGB", (32, 24), (30 * k, 80, 160)).save(path)
        assert cli("add", str(path), "--source-url", f"https://t.me/x/{k}").exit_code == 0
        ids.append(json.loads(cli("show", path.name, "--json").stdout)["id"])
    return ids


def _verify(cli: Cli, *args: str) -> tuple[int, dict[str, object], str]:
    result = cli("verify", "--json", *args)
    return result.exit_code, json.loads(result.stdout), result.stdout


def _problems(out: dict[str, object]) -> list[str]:
    problems = out["problems"]
    assert isinstance(problems, list)
    return [f"{p['item'] or 'audit log'}: {p['problem']}: {p['detail']}" for p in problems]


def _untrigger(case: Case) -> None:
    """What someone with the database does first: take the append-only triggers away."""
    with case.engine.begin() as conn:
        if case.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))


def _rewrite_chain(case: Case, event_id: int, actor: str) -> None:
    """Change one event and recompute every hash from there: a chain that checks out by itself."""
    with case.engine.begin() as conn:
        rows = conn.execute(text("SELECT id, at, actor, action, item_id, detail, tool_version, prev_hash "
                                 "FROM audit_events ORDER BY id")).mappings().all()
        prev = audit.GENESIS
        for row in rows:
            who = actor if row["id"] == event_id else row["actor"]
            detail = row["detail"] if isinstance(row["detail"], dict) else json.loads(row["detail"])
            digest = audit.event_hash(prev, row["at"], who, row["action"], row["item_id"], detail,
                                      row["tool_version"])
            conn.execute(text("UPDATE audit_events SET actor = :a, prev_hash = :p, hash = :h WHERE id = :i"),
                         {"a": who, "p": prev, "h": digest, "i": row["id"]})
            prev = digest


def test_deleting_the_last_events_is_named(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    _items(cli, tmp_path, 3)
    assert cli("note", "p2.png", "last words").exit_code == 0
    code, out, _ = _verify(cli)
    assert code == 0 and out["ok"], out
    head = out["head"]
    assert isinstance(head, dict)
    with Case.open(case_dir) as case:
        _untrigger(case)
        with case.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE id > :n"), {"n": head["id"] - 2})
    code, out, _ = _verify(cli)
    problems = _problems(out)
    assert code == 1
    assert any(f"but {head['count']} events were anchored" in p and "events were deleted" in p
               for p in problems), problems
    assert not any("audit: audit event" in p for p in problems), "the chain itself still checks out"
    assert any(f"the case_info table counts {head['count']} events but the log holds" in p for p in problems)
    # the head recorded elsewhere says the same, even with anchors.log and case.json gone
    (case_dir / "anchors.log").unlink()
    code, out, _ = _verify(cli, "--expect-head", f"{head['count']}:{head['hash']}")
    assert code == 1 and any("--expect-head" in p and "events were deleted" in p for p in _problems(out))


def test_a_rewritten_chain_contradicts_the_anchors(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    _items(cli, tmp_path, 2)
    code, out, _ = _verify(cli)
    head = out["head"]
    assert code == 0 and isinstance(head, dict)
    with Case.open(case_dir) as case:
        _untrigger(case)
        _rewrite_chain(case, 2, "mallory")
    # the forger also puts the new head into case.json: the heads in anchors.log still disagree
    with Case.open(case_dir) as case, case.session() as s:
        new_head = s.execute(text("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")).scalar()
    info = json.loads((case_dir / "case.json").read_text())
    info["audit_head"]["hash"] = new_head
    (case_dir / "case.json").write_text(json.dumps(info))
    code, out, _ = _verify(cli)
    problems = _problems(out)
    assert code == 1 and any("the log was rewritten" in p for p in problems), problems
    assert not any("audit: audit event" in p for p in problems), "the rewritten chain checks out by itself"
    code, out, _ = _verify(cli, "--expect-head", str(head["hash"]))
    assert code == 1 and any("no event of the log has hash" in p for p in _problems(out))


def test_rows_changed_behind_the_log_are_named(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    x, y, z = _items(cli, tmp_path, 3)
    assert cli("status", y, "rejected", "--note", "staged").exit_code == 0
    assert cli("tag", z, "day-1").exit_code == 0
    code, out, _ = _verify(cli)
    assert code == 0 and "items" in out["state_checked"], out  # type: ignore[operator]
    with Case.open(case_dir) as case, case.engine.begin() as conn:
        conn.execute(text("UPDATE items SET status = 'verified' WHERE id = :x"), {"x": x})
        conn.execute(text("UPDATE items SET status = 'verified', status_note = NULL WHERE id = :y"), {"y": y})
        conn.execute(text("UPDATE sources SET url = 'https://example.org/other' WHERE item_id = :z"),
                     {"z": z})
        conn.execute(text("DELETE FROM tags WHERE item_id = :z"), {"z": z})
    code, out, _ = _verify(cli)
    problems = _problems(out)
    assert code == 1
    assert any(p.startswith(f"{x}: state: status is 'verified' but the log") for p in problems), problems
    assert any(p.startswith(f"{y}: state: status is 'verified'") for p in problems), problems
    assert any(p.startswith(f"{z}: state: source (") and "no event recorded it" in p for p in problems)
    assert any(p.startswith(f"{z}: state: the log records tag") for p in problems), problems

    # a logged change afterwards hides the row's value, but not what it replaced
    assert cli("status", x, "needs-info", "--note", "ask").exit_code == 0
    code, out, _ = _verify(cli)
    assert any(p.startswith(f"{x}: state: status was 'verified' when event") and "behind the log's back" in p
               for p in _problems(out)), _problems(out)

    # an item deleted with its file
    with Case.open(case_dir) as case:
        path = case.evidence.path(z)
        with case.engine.begin() as conn:
            for table in ("sources", "item_names", "tags", "stage_states"):
                conn.execute(text(f"DELETE FROM {table} WHERE item_id = :z"), {"z": z})
            conn.execute(text("DELETE FROM items WHERE id = :z"), {"z": z})
    path.chmod(0o600)
    path.unlink()
    code, out, _ = _verify(cli)
    problems = _problems(out)
    assert code == 1 and any(p.startswith(f"{z}: state: was added (event") and "deleted behind" in p
                             for p in problems), problems


def test_a_replaced_case_key_is_named(cli: Cli, case_dir: Path) -> None:
    code, out, _ = _verify(cli)
    info = json.loads((case_dir / "case.json").read_text())
    assert code == 0 and out["key_fingerprint"] == info["key"]["fingerprint"]
    assert len(out["key_fingerprint"]) == 64  # type: ignore[arg-type]
    assert (case_dir / "keys" / "case-ed25519.pem").stat().st_mode & 0o777 == 0o600
    result = cli("verify")
    assert f"case key: ed25519 fingerprint {info['key']['fingerprint']}" in result.stdout
    (case_dir / "keys" / "case-ed25519.pem").unlink()
    (case_dir / "keys" / "case-ed25519.pub.pem").unlink()
    other = keys.generate(case_dir)  # a forger's key, put in case.json
    info["key"] = other.to_json()
    (case_dir / "case.json").write_text(json.dumps(info))
    code, out, _ = _verify(cli)
    problems = _problems(out)
    assert code == 1 and any("the case key was replaced" in p for p in problems), problems


def _old_case(root: Path, db_url: str | None) -> None:
    """A case as vericount made it before keys and anchors: case.json, the database, one event."""
    root.mkdir()
    (root / "evidence").mkdir()
    (root / "derived").mkdir()
    url = db_url or db.sqlite_url(root / "case.db")
    engine = db.make_engine(url)
    db.migrate(engine)
    case_id = str(uuid.uuid4())
    with Session(engine) as s, s.begin():
        s.add_all([CaseInfo(key="case_id", value=case_id),
                   CaseInfo(key="created_at", value=utcnow().isoformat())])
        audit.record(s, "tester", "case.init", None, root=str(root), database="old", case_id=case_id)
    engine.dispose()
    (root / "case.json").write_text(json.dumps({"format": 1, "case_id": case_id, "db": db_url,
                                                "created_by": "0.1.0"}))


def test_an_old_case_verifies_with_a_note_and_is_anchored_from_then_on(tmp_path: Path,
                                                                        db_url: str | None) -> None:
    root = tmp_path / "old"
    _old_case(root, db_url)
    cli = Cli(root)
    result = cli("verify")
    assert result.exit_code == 0, result.output
    assert "note: this case's custody log was never anchored" in result.stdout
    assert "it is anchored from now on" in result.stdout
    assert "no key yet" in result.stdout
    assert (root / "anchors.log").is_file()
    again = cli("verify")
    assert again.exit_code == 0 and "never anchored" not in again.stdout, again.output  # said once
    assert "anchored from event 2 on" in again.stdout
    # its first bundle makes the key, recorded in the log
    assert cli("export", "--bundle", str(tmp_path / "b.zip")).exit_code == 0
    logged = json.loads(cli("log", "--action", "case.key", "--json").stdout)
    fingerprint = json.loads((root / "case.json").read_text())["key"]["fingerprint"]
    assert [e["detail"]["key"]["fingerprint"] for e in logged] == [fingerprint]
    code, out, _ = _verify(cli)
    assert code == 0 and out["key_fingerprint"] == fingerprint, out
    checked = cli("verify-bundle", str(tmp_path / "b.zip"), "--key", fingerprint)
    assert checked.exit_code == 0 and ": intact;" in checked.stdout, checked.output


def test_a_lost_race_never_puts_an_older_head_over_a_newer(case_dir: Path, case: Case) -> None:
    newer = anchor.Head(50, 50, "b" * 64, "2024-01-01T00:00:01.000000Z")
    older = anchor.Head(49, 49, "a" * 64, "2024-01-01T00:00:00.000000Z")
    anchor.write(case_dir, newer)
    anchor.write(case_dir, older)
    assert json.loads((case_dir / "case.json").read_text())["audit_head"]["count"] == 50
    lines = (case_dir / "anchors.log").read_text().splitlines()
    assert [json.loads(line)["count"] for line in lines[-2:]] == [50, 49]


WRITER = """
import sys
from pathlib import Path
from vericount.case import Case
with Case.open(Path(sys.argv[1]), actor=sys.argv[2]) as case:
    for k in range(int(sys.argv[3])):
        with case.session() as s:
            case.record(s, "note.test", None, k=k)
"""


def test_several_writer_processes_anchor_every_head(case_dir: Path, cli: Cli) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(case_dir), f"w{k}", "15"], env=env)
             for k in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    code, out, _ = _verify(cli)
    assert code == 0, _problems(out)
    head = out["head"]
    assert isinstance(head, dict) and head["count"] == 61
    assert json.loads((case_dir / "case.json").read_text())["audit_head"]["count"] == 61
    counts = sorted(json.loads(line)["count"] for line in (case_dir / "anchors.log").read_text().splitlines())
    assert counts == list(range(1, 62))  # every commit's head, none lost


@pytest.mark.parametrize("value", ["12", "x:" + "a" * 64, "3:abc"])
def test_a_bad_expect_head_is_one_line(cli: Cli, value: str) -> None:
    result = cli("verify", "--expect-head", value)
    assert result.exit_code == 1 and result.stderr.startswith("error: --expect-head")
    assert result.stderr.count("\n") == 1


def test_an_imported_case_is_checked_against_its_sources_log(cli: Cli, tmp_path: Path) -> None:
    x, _ = _items(cli, tmp_path, 2)
    assert cli("status", x, "verified", "--note", "seen").exit_code == 0
    assert cli("export", "--out", str(tmp_path / "out")).exit_code == 0
    Case.create(tmp_path / "new", None, actor="tester").close()
    new = Cli(tmp_path / "new")
    assert new("import", str(tmp_path / "out"), "--originals", str(cli.case_dir / "evidence")).exit_code == 0
    code, out, _ = _verify(new)
    assert code == 0 and "items" in out["state_checked"], _problems(out)  # type: ignore[operator]
    with Case.open(tmp_path / "new") as case, case.engine.begin() as conn:
        conn.execute(text("UPDATE items SET status = 'rejected' WHERE id = :x"), {"x": x})
    code, out, _ = _verify(new)
    assert code == 1 and any(p.startswith(f"{x}: state: status is 'rejected'") for p in _problems(out))
    kept = next((tmp_path / "new" / "imported").glob("*/audit_events.json"))
    kept.chmod(0o600)
    kept.write_text("[]")
    code, out, _ = _verify(new)
    assert code == 1 and any("changed since the import" in p for p in _problems(out)), _problems(out)
