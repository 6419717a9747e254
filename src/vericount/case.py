"""A case: one investigation, in one folder.

    DIR/case.json   what the case is: its id, for PostgreSQL the database URL, its public key and the
                    custody log's newest head (store/anchor.py)
    DIR/case.db     the SQLite database (when no --db was given)
    DIR/anchors.log every head the custody log had after a commit, one JSON line each (store/anchor.py)
    DIR/keys/       the case's Ed25519 key pair, which signs its evidence bundles (store/keys.py)
    DIR/evidence/   originals, content-addressed and read-only (store/evidence.py)
    DIR/derived/    thumbnails, crops and other files computed from the originals
    DIR/models/     person detectors added to the case, read-only by SHA-256 (models/registry.py)
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from vericount import __version__
from vericount.errors import CaseError, CaseNotFound
from vericount.signing import KEY_INFO
from vericount.store import anchor, audit, db, keys
from vericount.store.evidence import EvidenceStore
from vericount.store.schema import CaseInfo, utcnow

CASE_FILE = "case.json"
ENV_CASE = "VERICOUNT_CASE"


class Case:
    def __init__(self, root: Path, engine: Engine, actor: str) -> None:
        self.root = root
        self.engine = engine
        self.actor = actor
        self.evidence = EvidenceStore(root / "evidence")
        self.derived = root / "derived"
        self._sessions: sessionmaker[Session] = db.session_factory(engine)
        self._readers: sessionmaker[Session] = db.session_factory(
            engine.execution_options(**{db.READ_ONLY: True}))

    # -- opening and creating -------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, db_url: str | None = None, actor: str | None = None) -> Case:
        root = root.absolute()
        if (root / CASE_FILE).exists():
            raise CaseError(f"{root} is already a case")
        if root.exists() and not root.is_dir():
            raise CaseError(f"{root} exists and is not a folder")
        # a relative SQLite path given here is read from the current folder, and kept absolute
        url = db.resolve_sqlite(db.normalise_url(db_url), Path.cwd()) if db_url else db.sqlite_url(
            root / "case.db")
        engine = db.make_engine(url)
        if db_url is not None:
            db.current_revision(engine)  # fail early, before anything is written, if unreachable
        case_id = str(uuid.uuid4())
        actor = actor or audit.default_actor()
        root.mkdir(parents=True, exist_ok=True)
        (root / "evidence").mkdir(exist_ok=True)
        (root / "derived").mkdir(exist_ok=True)
        try:
            db.migrate(engine)
            with engine.connect() as conn:
                taken = conn.execute(select(CaseInfo.value).where(CaseInfo.key == "case_id"))
                if taken.scalar() is not None:
                    raise CaseError("that database already holds another case; give each case its own")
        except CaseError:
            engine.dispose()
            raise
        case = cls(root, engine, actor)
        public = keys.generate(root)
        with case.session() as s:
            s.add_all([CaseInfo(key="case_id", value=case_id),
                       CaseInfo(key="created_at", value=utcnow().isoformat()),
                       CaseInfo(key=KEY_INFO, value=json.dumps(public.to_json()))])
            audit.record(s, actor, "case.init", None, root=str(root), database=_safe_url(url),
                         case_id=case_id, key=public.to_json(), anchors=anchor.ANCHORS)
        head = anchor.last_logged(root)
        _write_case_file(root, {"format": 1, "case_id": case_id,
                                "db": None if db_url is None else url, "created_by": __version__,
                                "key": public.to_json(),
                                "audit_head": head.to_json() if head is not None else None})
        return case

    @classmethod
    def open(cls, root: Path, actor: str | None = None) -> Case:
        root = root.absolute()
        try:
            info = json.loads((root / CASE_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CaseNotFound(f"{root} is not a vericount case (no {CASE_FILE})") from None
        except (OSError, ValueError) as exc:
            raise CaseError(f"{root / CASE_FILE} is unreadable: {exc}") from exc
        if info.get("db") is None and not (root / "case.db").is_file():
            raise CaseError(f"{root / 'case.db'} is missing")
        # a relative SQLite path in case.json is read from the case folder, wherever the command runs
        url = db.resolve_sqlite(str(info.get("db") or db.sqlite_url(root / "case.db")), root)
        try:
            engine = db.open_existing(url)  # never creates (or migrates) a database that is not a case
        except CaseError as exc:
            raise CaseError(f"{root / CASE_FILE}: {exc}") from None
        with engine.connect() as conn:
            stored = conn.execute(select(CaseInfo.value).where(CaseInfo.key == "case_id")).scalar()
        if stored != info.get("case_id"):
            engine.dispose()
            raise CaseError(f"the database of {root} belongs to another case ({stored})")
        db.migrate(engine)
        return cls(root, engine, actor or audit.default_actor())

    @classmethod
    def find(cls, explicit: Path | None = None, actor: str | None = None) -> Case:
        """The case named by --case, else $VERICOUNT_CASE, else the current folder."""
        if explicit is not None:
            return cls.open(explicit, actor)
        env = os.environ.get(ENV_CASE)
        if env:
            return cls.open(Path(env), actor)
        here = Path.cwd()
        if not (here / CASE_FILE).exists():
            raise CaseNotFound(
                f"not in a vericount case ({here}); give --case DIR, set {ENV_CASE}, "
                "or run 'vericount init DIR'"
            )
        return cls.open(here, actor)

    def as_actor(self, actor: str) -> Case:
        """The same open case (engine, sessions) acting for another person: the desk's signed-in user."""
        other = object.__new__(Case)
        other.__dict__.update(self.__dict__)
        other.actor = actor
        return other

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and the audit log -----------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions() as s, s.begin():
            s.info["derived"] = self.derived  # where stages' save() writes crops and other files
            s.info[audit.ANCHOR] = self.root  # where the log's head is anchored after the commit
            yield s

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads (rolled back at the end). On SQLite it does not take the write
        lock, so the desk's page views never queue behind each other or behind a writer."""
        with self._readers() as s, s.begin():
            s.info["derived"] = self.derived
            yield s
            s.rollback()

    def record(self, s: Session, action: str, item_id: str | None = None, **detail: object) -> None:
        audit.record(s, self.actor, action, item_id, **detail)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def contains(self, path: Path) -> bool:
        """Whether ``path`` lies inside this case's folder (never ingest the case into itself)."""
        try:  # "case/../file" is outside; a link is where it leads (realpath: a link loop never raises)
            Path(os.path.realpath(path)).relative_to(os.path.realpath(self.root))
        except ValueError:
            return False
        return True


def _write_case_file(root: Path, info: dict[str, object]) -> None:
    tmp = root / (CASE_FILE + ".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    tmp.replace(root / CASE_FILE)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
