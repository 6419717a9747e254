"""The case: creation, finding it, the schema under migrations, the append-only audit log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from vericount.case import Case
from vericount.errors import CaseError, CaseNotFound
from vericount.store import db
from vericount.store.audit import check_chain, events

from .conftest import Cli


def test_init_makes_the_layout(case_dir: Path, case: Case, backend: str) -> None:
    assert (case_dir / "evidence").is_dir()
    assert (case_dir / "derived").is_dir()
    info = json.loads((case_dir / "case.json").read_text())
    assert len(info["case_id"]) == 36
    if backend == "sqlite":
        assert info["db"] is None
        con = sqlite3.connect(case_dir / "case.db")
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        con.close()
    else:
        assert info["db"].startswith("postgresql+psycopg://")
        assert not (case_dir / "case.db").exists()
    assert case.dialect == backend
    with case.session() as s:
        (first,) = events(s)
    assert first.action == "case.init" and first.actor == "tester"


def test_init_twice_is_refused(case_dir: Path) -> None:
    with pytest.raises(CaseError, match="already a case"):
        Case.create(case_dir)


def test_two_cases_cannot_share_one_database(tmp_path: Path, db_url: str | None) -> None:
    if db_url is None:
        pytest.skip("SQLite cases each have their own case.db")
    Case.create(tmp_path / "a", db_url).close()
    with pytest.raises(CaseError, match="another case"):
        Case.create(tmp_path / "b", db_url)


def test_case_is_found_from_option_env_then_cwd(case_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CaseNotFound, match="not in a vericount case"):
        Case.find()
    monkeypatch.setenv("VERICOUNT_CASE", str(case_dir))
    with Case.find() as c:
        assert c.root == case_dir
    monkeypatch.delenv("VERICOUNT_CASE")
    monkeypatch.chdir(case_dir)
    with Case.find() as c:
        assert c.root == case_dir
    with Case.find(case_dir) as c:
        assert c.root == case_dir


def test_cli_outside_a_case_says_so_in_one_line(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from vericount.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VERICOUNT_CASE", raising=False)
    result = CliRunner().invoke(main, ["items"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: not in a vericount case")


def test_cli_init_and_unreachable_postgres(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from vericount.cli import main

    result = CliRunner().invoke(main, ["init", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "case.db").is_file()
    bad = CliRunner().invoke(main, ["init", str(tmp_path / "d"), "--db",
                                    "postgresql://nobody@127.0.0.1:1/none"])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    assert not (tmp_path / "d").exists(), "nothing is written when the database is unreachable"


def test_schema_head_matches_alembic_and_models(case: Case) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from vericount.store.schema import Base

    cfg = Config()
    cfg.set_main_option("script_location", "vericount.store:migrations")
    assert ScriptDirectory.from_config(cfg).get_current_head() == db.SCHEMA_HEAD
    assert db.current_revision(case.engine) == db.SCHEMA_HEAD
    with case.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"migrations and models disagree: {diff}"


def test_audit_log_is_append_only(case: Case) -> None:
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), case.engine.begin() as conn:
            conn.execute(text(statement))
    with case.session() as s:
        assert [e.actor for e in events(s)] == ["tester"]


def test_audit_chain_shows_an_edited_event(case: Case, cli: Cli) -> None:
    cli("log")  # reading changes nothing
    with case.session() as s:
        case.record(s, "note", None, text="first")
        case.record(s, "note", None, text="second")
    with case.session() as s:
        assert list(check_chain(s)) == []
    # An attacker with direct database access removes the trigger and edits history.
    with case.engine.begin() as conn:
        if case.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE id = 2"))
    with case.session() as s:
        problems = list(check_chain(s))
    assert [p.event_id for p in problems] == [2]
    result = cli("verify")
    assert result.exit_code == 1
    assert "audit event 2 content does not match its hash" in result.stderr


def test_log_json_and_filters(case: Case, cli: Cli) -> None:
    with case.session() as s:
        case.record(s, "item.status", None, status="verified")
    out = json.loads(cli("log", "--json").stdout)
    assert [e["action"] for e in out] == ["case.init", "item.status"]
    assert all(e["version"] and len(e["hash"]) == 64 for e in out)
    only = json.loads(cli("log", "--json", "--action", "item.").stdout)
    assert [e["action"] for e in only] == ["item.status"]
    last = json.loads(cli("log", "--json", "--limit", "1").stdout)
    assert [e["action"] for e in last] == ["item.status"]


def _point_case_json_at(case_dir: Path, url: str) -> None:
    path = case_dir / "case.json"
    info = json.loads(path.read_text())
    info["db"] = url
    path.write_text(json.dumps(info))


def test_a_missing_database_is_refused_not_created(case_dir: Path, tmp_path: Path, backend: str) -> None:
    missing = tmp_path / "gone" / ".." / "nothere.db"
    if backend == "sqlite":
        _point_case_json_at(case_dir, f"sqlite:///{missing}")
        expected = r"case\.json: the SQLite database .*nothere\.db does not exist"
    else:
        url = json.loads((case_dir / "case.json").read_text())["db"]
        _point_case_json_at(case_dir, url.rpartition("/")[0] + "/vc_never_created")
        expected = r"case\.json: cannot open the case database: .*vc_never_created"
    with pytest.raises(CaseError, match=expected):
        Case.open(case_dir)
    assert not (tmp_path / "nothere.db").exists()
    result = Cli(case_dir)("items")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "error: " in result.stderr
    assert not (tmp_path / "nothere.db").exists()


def test_a_database_without_a_case_is_refused_and_left_untouched(case_dir: Path, tmp_path: Path,
                                                                 backend: str) -> None:
    from sqlalchemy import create_engine, inspect

    from .conftest import fresh_database

    if backend == "sqlite":
        empty = tmp_path / "empty.db"
        sqlite3.connect(empty).close()  # a valid, empty SQLite file
        before = empty.read_bytes()
        _point_case_json_at(case_dir, f"sqlite:///{empty}")
        with pytest.raises(CaseError, match=r"holds no vericount case"):
            Case.open(case_dir)
        assert empty.read_bytes() == before
        assert not Path(f"{empty}-wal").exists()
        return
    databases = fresh_database(backend)
    url = next(databases)
    assert url is not None
    try:
        _point_case_json_at(case_dir, url)
        with pytest.raises(CaseError, match=r"holds no vericount case"):
            Case.open(case_dir)
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []  # nothing migrated into it
        engine.dispose()
    finally:
        next(databases, None)


def test_a_relative_sqlite_path_is_read_from_the_case_folder(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "case"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kept").mkdir()
    Case.create(root, "sqlite:///kept/elsewhere.db").close()  # relative to where init ran
    info = json.loads((root / "case.json").read_text())
    assert info["db"] == f"sqlite:///{tmp_path / 'kept' / 'elsewhere.db'}"
    _point_case_json_at(root, "sqlite:///../kept/elsewhere.db")  # hand-edited, relative to the case
    other = tmp_path / "somewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    with Case.open(root) as case:
        assert Path(case.engine.url.database or "") == root / ".." / "kept" / "elsewhere.db"
    assert list(other.iterdir()) == []  # nothing created where the command ran
