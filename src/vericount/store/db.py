"""Opening the case database: SQLite (the default, WAL mode) or PostgreSQL, always migrated to head."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vericount.errors import CaseError

# The newest migration in store/migrations/versions; a test checks it against Alembic's own head.
SCHEMA_HEAD = "0014"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CaseError(f"database URL {url!r} is not valid: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.render_as_string(hide_password=False)
    raise CaseError(f"database URL {url!r}: only sqlite and postgresql are supported")


READ_ONLY = "vericount_read_only"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take over transaction control from the sqlite3 module so that BEGIN IMMEDIATE below is ours.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock at BEGIN, so a read-then-write (the audit chain) never races another writer.
    # Readers (Case.reading) begin deferred: in WAL mode they never wait for a writer.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    from vericount.values import strict_json

    url = normalise_url(url)
    # JSON columns hold standard JSON only: SQLite would keep NaN (PostgreSQL refuses it), and it would
    # come out again in exports and --json output.
    if url.startswith("sqlite"):
        engine = create_engine(url, json_serializer=strict_json)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, json_serializer=strict_json)
    return engine


def limit_lock_waits(engine: Engine, seconds: float) -> None:
    """Make every later connection of ``engine`` wait at most ``seconds`` for another transaction's lock
    (SQLite's busy timeout, PostgreSQL's lock_timeout; else 30 s and no limit), then fail with an
    OperationalError the caller can answer "busy". Connections already pooled are closed."""
    ms = max(1, int(seconds * 1000))

    def _set(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute(f"PRAGMA busy_timeout={ms}")
        else:
            cur.execute(f"SET lock_timeout = {ms}")
            dbapi_conn.commit()  # a SET in a transaction rolled back later would be undone with it
        cur.close()

    event.listen(engine, "connect", _set)
    engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:" or parsed.query.get("uri"):
        raise CaseError(f"database URL {url!r}: a case needs a SQLite file path "
                        "(sqlite:////absolute/path.db), not an in-memory or URI database")
    return Path(parsed.database).expanduser()


def resolve_sqlite(url: str, base: Path) -> str:
    """The URL with a relative SQLite path made absolute against ``base``; other URLs unchanged."""
    path = sqlite_path(url)
    if path is None or path.is_absolute():
        return url
    return make_url(normalise_url(url)).set(database=str(base / path)).render_as_string(
        hide_password=False)


def open_existing(url: str) -> Engine:
    """An engine on a database that already holds a vericount schema. Nothing is created or written to
    find out: a SQLite file is looked at read-only first (connecting would create a missing file, and
    WAL mode would rewrite an empty one); a database without the schema is refused, not migrated."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise CaseError(f"the SQLite database {path} does not exist")
    if path is not None and _sqlite_revision(path) is None:
        raise CaseError(f"the database {path} holds no vericount case (no schema)")
    engine = make_engine(url)
    try:
        if path is None and current_revision(engine) is None:
            where = make_url(url).render_as_string(hide_password=True)
            raise CaseError(f"the database {where} holds no vericount case (no schema)")
    except CaseError:
        engine.dispose()
        raise
    return engine


def _sqlite_revision(path: Path) -> str | None:
    import sqlite3

    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            return None
        raise CaseError(f"cannot open the case database {path}: {exc}") from exc
    return str(row[0]) if row else None


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        raise CaseError(f"cannot open the case database: {_first_line(exc)}") from exc


def migrate(engine: Engine) -> bool:
    """Bring the schema to head. Returns True when a migration ran."""
    if current_revision(engine) == SCHEMA_HEAD:
        return False
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "vericount.store:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _first_line(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip()
    return msg.splitlines()[0] if msg else type(exc).__name__
