"""Fixtures: a fresh case per test on SQLite and on a real PostgreSQL server, and a guard that fails
any test that logs an error it did not expect."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from vericount.case import Case
from vericount.cli import main

pytest_plugins = ["tests.sites"]  # the stand-in site of the capture tests

PG_ENV = "VERICOUNT_TEST_PG"
DEFAULT_PG = "postgresql://vericount:vericount@127.0.0.1:5432/postgres"


def _pg_admin_url() -> str | None:
    """The server the PostgreSQL half of the suite uses, or None when none is reachable."""
    url = os.environ.get(PG_ENV, DEFAULT_PG)
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return url
    except Exception as exc:
        if os.environ.get("VERICOUNT_REQUIRE_PG"):
            raise RuntimeError(f"VERICOUNT_REQUIRE_PG is set but {url} is unreachable: {exc}") from exc
        return None


_PG = _pg_admin_url()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked sqlite_only runs on SQLite alone: its PostgreSQL twin is deselected, not skipped."""
    dropped = [item for item in items if item.get_closest_marker("sqlite_only")
               and getattr(item, "callspec", None) is not None
               and item.callspec.params.get("backend") == "postgresql"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and _PG is None:
        pytest.skip(f"no PostgreSQL server reachable (set {PG_ENV}; see scripts/postgres-up.sh)")
    return str(request.param)


@pytest.fixture
def db_url(backend: str) -> Iterator[str | None]:
    """None for SQLite (the case's own case.db); a fresh database on the server for PostgreSQL."""
    yield from fresh_database(backend)


def fresh_database(backend: str) -> Iterator[str | None]:
    """The body of a fixture that gives a case its database: None for SQLite, else a new database on the
    server, dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    import psycopg

    assert _PG is not None
    name = f"vc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    from sqlalchemy.engine import make_url

    # make_url keeps a query (?host=/var/run/postgresql: the Unix socket the Ray tests reach it by)
    yield make_url(_PG).set(database=name).render_as_string(hide_password=False)
    # FORCE ends the case's own connections; a server process working on the database for itself
    # (autovacuum) may refuse it for a moment, so try again before giving up.
    for attempt in range(10):
        try:
            with psycopg.connect(_PG, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == 9:
                raise
            time.sleep(0.5)
        else:
            return


@pytest.fixture
def case_dir(tmp_path: Path, db_url: str | None) -> Path:
    root = tmp_path / "case"
    Case.create(root, db_url, actor="tester").close()
    return root


@pytest.fixture
def case(case_dir: Path) -> Iterator[Case]:
    with Case.open(case_dir, actor="tester") as c:
        yield c


@pytest.fixture
def cli(case_dir: Path) -> Cli:
    return Cli(case_dir)


class Cli:
    """The real command, run in-process against the test's case."""

    def __init__(self, case_dir: Path) -> None:
        self.case_dir = case_dir

    def __call__(self, *args: str, actor: str = "tester", input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(main, ["--case", str(self.case_dir), "--actor", actor, *args],
                             input=input, catch_exceptions=False)


@pytest.fixture(autouse=True)
def _fail_on_error_log(request: pytest.FixtureRequest,
                       caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    if request.node.get_closest_marker("allow_error_log"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("the test logged errors: " + "; ".join(
            f"{r.name}: {r.getMessage()}" for r in errors))
