"""The case's key in use: signing with it (made at first need for a case from before keys), and where it
is recorded (case.json, the case_info table, the audit log), for ``vericount verify`` to compare."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vericount.errors import CaseError, InvalidValue
from vericount.store import anchor, keys
from vericount.store.schema import CaseInfo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.case import Case

KEY_INFO = "key"  # case_info: the public key as keys.PublicKey.to_json gives it (also case.json's "key")
KEY_EVENTS = ("case.init", "case.key")


def sign(case: Case, message: bytes) -> tuple[bytes, keys.PublicKey]:
    """The Ed25519 signature of ``message`` by the case's key, and the public key."""
    private = keys.load_private(case.root) if keys.private_path(case.root).is_file() else None
    if private is None:
        ensure_key(case)
        private = keys.load_private(case.root)
    public = keys.public_of(private)
    recorded = recorded_key(case)
    if recorded is None or recorded.raw != public.raw:
        raise CaseError(f"{keys.private_path(case.root)} is not the key case.json records: not signing "
                        "with it (vericount verify says more)")
    return private.sign(message), public


def recorded_key(case: Case) -> keys.PublicKey | None:
    """The public key case.json records (None: the case has none yet)."""
    try:
        info = json.loads((case.root / anchor.CASE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CaseError(f"{case.root / anchor.CASE_FILE} is unreadable: {exc}") from exc
    try:
        return keys.from_case_file(info, str(case.root / anchor.CASE_FILE))
    except InvalidValue as exc:
        raise CaseError(str(exc)) from exc


def ensure_key(case: Case) -> keys.PublicKey:
    """The case's public key; a case made before vericount made keys gets one now (``case.key`` in the
    log). Serialised between processes, so two bundles at once never make two keys."""
    folder = case.root / keys.KEYS
    folder.mkdir(mode=0o700, exist_ok=True)
    with (folder / ".lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        current = recorded_key(case)
        if current is not None:
            return current
        with case.session() as s:
            if s.get(CaseInfo, KEY_INFO) is not None:
                raise CaseError("the case database records a key but case.json does not: not making "
                                "another (vericount verify says more)")
            public = keys.generate(case.root)
            s.add(CaseInfo(key=KEY_INFO, value=json.dumps(public.to_json())))
            case.record(s, "case.key", None, key=public.to_json(),
                        reason="a case made before vericount made case keys: made at first need")
        anchor.update_case_file(case.root, key=public.to_json())
        return public


@dataclass
class KeyCheck:
    """Where the case's key is recorded, and whether the records agree."""

    key: keys.PublicKey | None = None  # case.json's
    problems: list[str] = field(default_factory=list)


def check_key(case: Case, s: Session, key_events: Iterable[Mapping[str, Any]]) -> KeyCheck:
    """case.json's key against the case_info table, the log's key events and the private key file."""
    out = KeyCheck()
    try:
        out.key = recorded_key(case)
    except CaseError as exc:
        out.problems.append(str(exc))
        return out
    stored = s.scalar(select(CaseInfo.value).where(CaseInfo.key == KEY_INFO))
    logged = [ev for ev in key_events if isinstance(ev["detail"], dict) and ev["detail"].get("key")]
    fingerprint = out.key.fingerprint if out.key is not None else None
    if stored is not None:
        try:
            in_table = json.loads(stored).get("fingerprint")
        except (ValueError, AttributeError):
            in_table = "unreadable"
        if in_table != fingerprint:
            out.problems.append(f"the case_info table records key {in_table}, case.json {fingerprint}: the "
                                "case key was replaced")
    elif fingerprint is not None:
        out.problems.append("case.json records a key that the case_info table does not")
    if len(logged) > 1:
        out.problems.append(f"the log records {len(logged)} case keys (events "
                            f"{', '.join(str(ev['id']) for ev in logged)}): a case has one")
    if logged:
        in_log = logged[0]["detail"]["key"].get("fingerprint")
        if in_log != fingerprint:
            out.problems.append(f"the log (event {logged[0]['id']}) records key {in_log}, case.json "
                                f"{fingerprint}: the case key was replaced")
    elif fingerprint is not None:
        out.problems.append("case.json records a key that no event of the log records")
    if out.key is not None:
        out.problems += _check_private(case, out.key)
    return out


def _check_private(case: Case, key: keys.PublicKey) -> list[str]:
    path = keys.private_path(case.root)
    if not path.is_file():
        return []  # checked when it must sign
    try:
        if keys.public_of(keys.load_private(case.root)).raw != key.raw:
            return [f"{path} is not the private half of the key case.json records"]
    except CaseError as exc:
        return [str(exc)]
    return []
