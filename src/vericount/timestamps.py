"""Trusted timestamps (RFC 3161): a time-stamping authority signs that the case's originals existed.

``stamp`` takes the SHA-256 of every original (and attachment: a capture's web archive, a sidecar) that
this TSA has not stamped yet, builds a Merkle tree over them (leaf ``sha256(0x00 || digest)``, node
``sha256(0x01 || left || right)``, an odd node carried up), and asks the TSA for one token over the root.
Kept beside the case, in ``timestamps/``: the token (``ROOT.tsr``), the TSA's CA certificate the user gave
(``ca-SHA12.pem``), and a manifest (``ROOT.json``: the TSA, the root, the time the TSA signed, and each
file's path to the root). Anyone can check a file against it with SHA-256 alone, and the token with
``openssl ts -verify -digest ROOT -in ROOT.tsr -CAfile ca-....pem``. The custody log records each token's
SHA-256.

``check`` does that offline for every manifest (``vericount verify`` calls it): the token verifies
against the CA and carries the root; every item's path leads to the root; the token is the one the log
recorded. OpenSSL's ``ts`` command does the ASN.1 and the signature checks (Debian's ``openssl``).

The case may name several TSAs (``remember``; kept in ``timestamps/authorities.json`` with their CAs, each
change logged), so that one authority's failure or distrust does not leave the evidence unstamped:
``stamp_all`` asks each, and one that fails is one line while the others still stamp. What a TSA has not
stamped yet (a capture made offline, a TSA that was down) is stamped at its next run; the manifest and the
log record the gap from the oldest original's adding to the signing.

Only ``stamp`` touches the network, and only the TSA named.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.store.schema import Attachment, AuditEvent, Item

FOLDER = "timestamps"
AUTHORITIES = "authorities.json"
MAX_REPLY = 1_000_000


@dataclass(frozen=True)
class Stamped:
    root: str
    items: int
    tsa: str
    signed_at: str | None
    gap_s: float | None = None  # from the oldest original's adding to the signing
    attachments: int = 0  # stamped with the originals (``items``)


def merkle(leaves: list[str]) -> tuple[str, dict[str, list[list[str]]]]:
    """The root over sorted hex digests, and each digest's path: [side, sibling] pairs, leaf upwards."""
    if not leaves:
        raise ValueError("no leaves")
    order = sorted(set(leaves))
    level = [hashlib.sha256(b"\0" + bytes.fromhex(d)).digest() for d in order]
    members = [[d] for d in order]
    paths: dict[str, list[list[str]]] = {d: [] for d in order}
    while len(level) > 1:
        nxt, grouped = [], []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                nxt.append(level[i])
                grouped.append(members[i])
                continue
            left, right = level[i], level[i + 1]
            for d in members[i]:
                paths[d].append(["right", right.hex()])
            for d in members[i + 1]:
                paths[d].append(["left", left.hex()])
            nxt.append(hashlib.sha256(b"\1" + left + right).digest())
            grouped.append(members[i] + members[i + 1])
        level, members = nxt, grouped
    return level[0].hex(), paths


def climb(digest: str, path: list[list[str]]) -> str:
    """The root that ``digest`` and its path lead to."""
    node = hashlib.sha256(b"\0" + bytes.fromhex(digest)).digest()
    for side, sibling in path:
        other = bytes.fromhex(sibling)
        node = hashlib.sha256(b"\1" + (other + node if side == "left" else node + other)).digest()
    return node.hex()


def stamp(case: Case, tsa: str, ca_file: Path, timeout: float = 30.0) -> Stamped | None:
    """One token from ``tsa`` over every original it has not stamped; None when there is none."""
    if not tsa.startswith(("http://", "https://")):
        raise InvalidValue(f"{tsa}: a TSA is reached over http or https")
    ca = _read_ca(ca_file)
    folder = case.root / FOLDER
    done = {d for m in manifests(case) if m.get("tsa") == tsa for d in m.get("items", {})}
    with case.reading() as s:
        added = {i: at for i, at in s.execute(select(Item.id, Item.added_at)) if i not in done}
        originals = len(added)
        for sha, at in s.execute(select(Attachment.sha256, func.min(Attachment.added_at))
                                 .group_by(Attachment.sha256)):  # a capture's archive, an add's sidecar
            if sha not in done and sha not in added:
                added[sha] = at
    todo = list(added)
    if not todo:
        return None
    root, paths = merkle(todo)
    with tempfile.TemporaryDirectory(prefix="vericount-tsa-") as tmp:
        query, reply, ca_path = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr", Path(tmp) / "ca.pem"
        ca_path.write_bytes(ca)
        _openssl(["ts", "-query", "-digest", root, "-sha256", "-cert", "-out", str(query)], "make the query")
        token = _post(tsa, query.read_bytes(), timeout)
        reply.write_bytes(token)
        text = _openssl(["ts", "-reply", "-in", str(reply), "-text"], f"{tsa}: read the reply")
        if "Status: Granted" not in text:
            status = re.search(r"Status: (.*)", text)
            raise InvalidValue(f"{tsa}: the TSA did not grant a token ({status.group(1) if status else '?'})")
        _openssl(["ts", "-verify", "-queryfile", str(query), "-in", str(reply), "-CAfile", str(ca_path)],
                 f"{tsa}: its token does not verify against {ca_file.name}")
        signed = re.search(r"Time stamp: (.*)", text)
        folder.mkdir(exist_ok=True)
        ca_name = f"ca-{hashlib.sha256(ca).hexdigest()[:12]}.pem"
        if not (folder / ca_name).exists():
            shutil.copyfile(ca_path, folder / ca_name)
        shutil.copyfile(reply, folder / f"{root}.tsr")
    signed_at = _iso(signed.group(1)) if signed else None
    oldest = min(added.values())
    gap = _gap(oldest, signed_at)
    manifest = {"format": 1, "tsa": tsa, "ca": ca_name, "root": root, "signed_at": signed_at,
                "requested_at": datetime.now(UTC).isoformat(), "oldest_added_at": oldest.isoformat(),
                "gap_s": gap, "items": paths}
    partial = folder / f"{root}.json.partial"
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    partial.replace(folder / f"{root}.json")
    with case.session() as s:
        case.record(s, "timestamp", None, tsa=tsa, root=root, items=len(paths), signed_at=signed_at,
                    token_sha256=hashlib.sha256(token).hexdigest(), oldest_added_at=oldest.isoformat(),
                    gap_s=gap)
    return Stamped(root, originals, tsa, signed_at, gap, len(paths) - originals)


def _gap(oldest: datetime, signed_at: str | None) -> float | None:
    """Seconds from the oldest original's adding to the TSA's signing: how long the proof of existence
    came after the fact (a capture made offline, stamped when next online)."""
    try:
        signed = datetime.fromisoformat(signed_at) if signed_at else None
    except ValueError:
        return None
    if signed is None:
        return None
    when = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
    return round(max(0.0, (signed - when).total_seconds()), 1)


def authorities(case: Case) -> list[dict[str, str]]:
    """The TSAs the case stamps with when none is named (timestamps/authorities.json): url and CA file."""
    path = case.root / FOLDER / AUTHORITIES
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidValue(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(d, dict) and isinstance(d.get("url"), str)
                                             and isinstance(d.get("ca"), str) for d in data):
        raise InvalidValue(f"{path}: not a list of {{url, ca}}")
    return data


def remember(case: Case, tsa: str, ca_file: Path) -> None:
    """Add ``tsa`` to the case's TSAs (its CA kept in timestamps/), or update its CA."""
    if not tsa.startswith(("http://", "https://")):
        raise InvalidValue(f"{tsa}: a TSA is reached over http or https")
    ca = _read_ca(ca_file)
    folder = case.root / FOLDER
    folder.mkdir(exist_ok=True)
    ca_name = f"ca-{hashlib.sha256(ca).hexdigest()[:12]}.pem"
    if not (folder / ca_name).exists():
        (folder / ca_name).write_bytes(ca)
    kept = [a for a in authorities(case) if a["url"] != tsa] + [{"url": tsa, "ca": ca_name}]
    _write_authorities(case, kept)
    with case.session() as s:
        case.record(s, "timestamp.authority", None, tsa=tsa, ca=ca_name, change="remembered")


def forget(case: Case, tsa: str) -> bool:
    known = authorities(case)
    kept = [a for a in known if a["url"] != tsa]
    if len(kept) == len(known):
        return False
    _write_authorities(case, kept)
    with case.session() as s:
        case.record(s, "timestamp.authority", None, tsa=tsa, change="forgotten")
    return True


def _write_authorities(case: Case, kept: list[dict[str, str]]) -> None:
    path = case.root / FOLDER / AUTHORITIES
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(kept, indent=1))
    partial.replace(path)


@dataclass(frozen=True)
class Outcome:
    tsa: str
    stamped: Stamped | None = None  # None with no error: nothing was left to stamp
    error: str | None = None


def stamp_all(case: Case, timeout: float = 30.0) -> list[Outcome]:
    """Stamp with every TSA the case names; one that fails is one outcome, the others still stamp."""
    known = authorities(case)
    if not known:
        raise InvalidValue("the case names no TSA: vericount timestamp --tsa URL --tsa-ca CA.pem --remember")
    out = []
    for a in known:
        try:
            out.append(Outcome(a["url"], stamp(case, a["url"], case.root / FOLDER / a["ca"], timeout)))
        except InvalidValue as exc:
            out.append(Outcome(a["url"], error=str(exc)))
            with case.session() as s:
                case.record(s, "timestamp.failed", None, tsa=a["url"], error=str(exc))
    return out


def _read_ca(ca_file: Path) -> bytes:
    try:
        ca = ca_file.read_bytes()
    except OSError as exc:
        raise InvalidValue(f"{ca_file}: cannot read the TSA's CA certificate ({exc.strerror})") from None
    if b"-----BEGIN CERTIFICATE-----" not in ca:
        raise InvalidValue(f"{ca_file}: not a PEM certificate (the TSA's CA, to check its tokens offline)")
    return ca


def _iso(text: str) -> str:
    """OpenSSL's "Dec  7 06:29:04 2026 GMT" (fractions of a second possible) as ISO 8601 in UTC."""
    words = text.split()
    try:
        words[2] = words[2].split(".")[0]
        when = datetime.strptime(" ".join(words[:4]), "%b %d %H:%M:%S %Y")
    except (ValueError, IndexError):
        return text.strip()
    return when.replace(tzinfo=UTC).isoformat() if words[4:5] == ["GMT"] else text.strip()


def manifests(case: Case) -> list[dict[str, Any]]:
    out = []
    for path in sorted((case.root / FOLDER).glob("*.json")):
        if path.name == AUTHORITIES:
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {"unreadable": str(path)}
        out.append(data if isinstance(data, dict) else {"unreadable": str(path)})
    return out


def check(case: Case) -> tuple[int, list[tuple[str | None, str]]]:
    """Every token checked offline: (tokens checked, [(item or None, problem)])."""
    problems: list[tuple[str | None, str]] = []
    folder = case.root / FOLDER
    with case.reading() as s:
        logged = {e.get("root"): e.get("token_sha256") for e in s.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "timestamp"))}
        held = set(s.scalars(select(Item.id))) | set(s.scalars(select(Attachment.sha256)))
    checked = 0
    for m in manifests(case):
        if "unreadable" in m:
            problems.append((None, f"{m['unreadable']}: manifest unreadable"))
            continue
        root = str(m.get("root", ""))
        token = folder / f"{root}.tsr"
        name = f"{FOLDER}/{root[:12]}...tsr"
        checked += 1
        if not token.is_file():
            problems.append((None, f"{name}: token missing"))
            continue
        if logged.get(root) != hashlib.sha256(token.read_bytes()).hexdigest():
            problems.append((None, f"{name}: not the token the custody log recorded for this root"))
        try:
            _openssl(["ts", "-verify", "-digest", root, "-in", str(token), "-CAfile",
                      str(folder / str(m.get("ca")))], "verify")
        except InvalidValue as exc:
            problems.append((None, f"{name}: the token does not verify for this root ({exc})"))
        for item, path in dict(m.get("items", {})).items():
            if climb(item, path) != root:
                problems.append((item, f"its path in {name} does not lead to the stamped root"))
            elif item not in held:
                problems.append((item, f"stamped in {name} but no longer in the case"))
    return checked, problems


def _post(tsa: str, query: bytes, timeout: float) -> bytes:
    request = urllib.request.Request(tsa, data=query, method="POST",  # noqa: S310 - stamp() allows http(s) only
                                     headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            body: bytes = response.read(MAX_REPLY + 1)
    except urllib.error.HTTPError as exc:
        raise InvalidValue(f"{tsa}: the TSA answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InvalidValue(f"{tsa}: cannot reach the TSA ({reason})") from None
    if len(body) > MAX_REPLY:
        raise InvalidValue(f"{tsa}: the reply is over {MAX_REPLY // 1000} kB: not a timestamp token")
    return body


def _openssl(args: list[str], what: str) -> str:
    if shutil.which("openssl") is None:
        raise InvalidValue("openssl is not installed (apt-get install openssl): timestamps need it")
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0 or "Verification: FAILED" in done.stdout:
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "failed")
        raise InvalidValue(f"{what}: {last.split(':')[-1].strip() or last}")
    return done.stdout
