"""``vericount verify-bundle``: what an evidence bundle (report/bundle.py) proves, and what it does not.

Who made it: the signature of MANIFEST.sha256 by the bundled public key, and that key against the one the
user gives (``--key``, a fingerprint recorded from the case), or the whole zip's SHA-256 against the one
printed and logged at export (``--expect-sha256``). Without either, a bundle that passes is only
self-consistent: anyone can make one, and the output says so.

What is in it: every file against both manifests (changed, missing, unlisted); the audit log's hash chain;
the tables of the export against the events that made them (verify_state.py); custody.json against the
export it was made from; manifest.json's audit head and the report's certificate against the export; the
originals against the items; the certificate re-checked against the export (imported into a throwaway
case), and the "at least N" printed is the certificate's, only once it holds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from vericount.errors import InvalidValue
from vericount.report.bundle import (
    FORMAT,
    FORMATS,
    MANIFEST,
    MANIFEST_JSON,
    PUBLIC_KEY,
    README_NAME,
    SIGNATURE,
)
from vericount.store import anchor, keys

_CHUNK = 1 << 20
SELF_CONSISTENT = ("self-consistent only: anyone can make a bundle that passes this; give --key or "
                   "--expect-sha256 to check who made it")


@dataclass
class BundleCheck:
    path: str
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    at_least: int | None = None  # from the certificate checked against the bundled export, once it holds
    sha256: str = ""
    signed_by: str | None = None  # the bundled key's fingerprint, when its signature verifies
    key_checked: bool = False  # the signer is the key the user gave
    sha256_checked: bool = False  # the zip is the one whose sha256 the user gave
    audit_head: dict[str, Any] | None = None  # the bundled export's log head (count, hash)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def authenticated(self) -> bool:
        return self.ok and (self.key_checked or self.sha256_checked)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "authenticated": self.authenticated,
                "assurance": "authenticated" if self.authenticated else
                ("self-consistent only" if self.ok else "failed"),
                "files": self.files, "bytes": self.bytes, "sha256": self.sha256, "signed_by": self.signed_by,
                "key_checked": self.key_checked, "sha256_checked": self.sha256_checked,
                "audit_head": self.audit_head, "at_least": self.at_least, "notes": self.notes,
                "problems": self.problems}


def verify_bundle(path: Path, key: str | None = None, expect_sha256: str | None = None,
                  expect_head: anchor.Expected | None = None) -> BundleCheck:
    """Every difference between the bundle and its manifests, signature, audit chain, tables and
    certificate; ``key`` is the fingerprint the signer must have (keys.expected_fingerprint)."""
    check = BundleCheck(str(path))
    check.sha256 = _sha256(path)
    if expect_sha256 is not None:
        want = expect_sha256.strip().lower()
        if check.sha256 != want:
            check.problems.append(f"the bundle's sha256 is {check.sha256}, not {want} (--expect-sha256): it "
                                  "is not the bundle that was exported")
        else:
            check.sha256_checked = True
    before = len(check.problems)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InvalidValue(f"{path}: not a readable zip file ({exc})") from exc
    with zf:
        names = {i.filename for i in zf.infolist() if not i.is_dir()}
        for required in (MANIFEST, MANIFEST_JSON):
            if required not in names:
                raise InvalidValue(f"{path}: no {required} in it (not a vericount bundle)")
        sums_bytes = zf.read(MANIFEST)
        manifest = _check_files(zf, names, sums_bytes, check)
        files_hold = len(check.problems) == before
        _check_signature(zf, names, sums_bytes, manifest, key, check)
        if files_hold:  # the content is what the manifests list: now whether it holds together
            check.problems.extend(_check_content(zf, manifest, expect_head, check))
    if check.ok and not check.authenticated:
        check.notes.append(SELF_CONSISTENT)
    return check


def _check_files(zf: zipfile.ZipFile, names: set[str], sums_bytes: bytes,
                 check: BundleCheck) -> dict[str, Any]:
    """Every file against MANIFEST.sha256 and manifest.json; returns manifest.json ({} if unreadable)."""
    sums = _read_sums(sums_bytes, check)
    try:
        manifest: dict[str, Any] = json.loads(zf.read(MANIFEST_JSON))
        listed = {e["path"]: e for e in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        check.problems.append(f"{MANIFEST_JSON}: not a readable manifest ({exc})")
        manifest, listed = {}, {}
    form = manifest.get("format")
    if form not in (None, *FORMATS):
        check.problems.append(f"{MANIFEST_JSON}: format {form!r}, expected {FORMAT}")
    unlisted = {MANIFEST, SIGNATURE} | ({README_NAME} if form != FORMAT else set())
    check.problems.extend(f"{name}: an unsafe path in the zip (absolute or with '..')"
                          for name in sorted(names) if _unsafe(name))
    check.problems.extend(f"{name}: in the bundle but not in {MANIFEST} (added)"
                          for name in sorted(names - unlisted) if name not in sums)
    for name, expected in sorted(sums.items()):
        if name not in names:
            check.problems.append(f"{name}: listed in {MANIFEST} but missing from the bundle")
            continue
        check.problems.extend(_check_member(zf, name, expected, listed if manifest else None, check))
    check.problems.extend(f"{name}: in {MANIFEST_JSON} but not in {MANIFEST}"
                          for name in sorted(set(listed) - set(sums)))
    return manifest


def _check_signature(zf: zipfile.ZipFile, names: set[str], sums: bytes, manifest: dict[str, Any],
                     key: str | None, check: BundleCheck) -> None:
    if SIGNATURE not in names:
        if manifest.get("format") == FORMAT:
            check.problems.append(f"{SIGNATURE}: missing (a {FORMAT} bundle is signed)")
        else:
            check.notes.append("an unsigned bundle (made before vericount signed bundles)")
        if key is not None:
            check.problems.append("the bundle is not signed, so it cannot be checked against --key")
        return
    try:
        public = keys.from_pem(zf.read(PUBLIC_KEY), PUBLIC_KEY)
    except KeyError:
        check.problems.append(f"{PUBLIC_KEY}: missing (the signature cannot be checked)")
        return
    except InvalidValue as exc:
        check.problems.append(str(exc))
        return
    if not public.verifies(zf.read(SIGNATURE), sums):
        check.problems.append(f"{SIGNATURE}: does not verify with {PUBLIC_KEY} ({public.fingerprint}): "
                              f"{MANIFEST} was changed after it was signed")
        return
    check.signed_by = public.fingerprint
    said = (manifest.get("key") or {}).get("fingerprint")
    if said != public.fingerprint:
        check.problems.append(f"{MANIFEST_JSON}: names key {said}, but the bundle is signed by "
                              f"{public.fingerprint}")
    if key is not None:
        if key == public.fingerprint:
            check.key_checked = True
        else:
            check.problems.append(f"signed by key {public.fingerprint}, not by the key given ({key}) "
                                  "(--key): someone else made this bundle")


def _check_member(zf: zipfile.ZipFile, name: str, expected: str, listed: dict[str, Any] | None,
                  check: BundleCheck) -> list[str]:
    """One file against MANIFEST.sha256 and manifest.json (None: manifest.json is unreadable)."""
    digest, size = _hash_member(zf, name)
    check.files += 1
    check.bytes += size
    problems = []
    if digest != expected:
        problems.append(f"{name}: changed (sha256 {digest}, {MANIFEST} says {expected})")
    entry = listed.get(name) if listed is not None else None
    if name != MANIFEST_JSON and listed is not None:
        if entry is None:
            problems.append(f"{name}: not in {MANIFEST_JSON}")
        elif entry.get("sha256") != expected:
            problems.append(f"{name}: {MANIFEST_JSON} gives another sha256 than {MANIFEST}")
        elif digest == expected and entry.get("size") != size:
            problems.append(f"{name}: {MANIFEST_JSON} gives another size ({entry.get('size')})")
    named = PurePosixPath(name).name.split(".")[0]
    if name.startswith("originals/") and digest == expected and named != digest:
        problems.append(f"{name}: an original's bytes must hash to its name (they hash to {digest})")
    return problems


def _check_content(zf: zipfile.ZipFile, manifest: dict[str, Any], expect_head: anchor.Expected | None,
                   check: BundleCheck) -> list[str]:
    """The export's chain, state, custody, head and certificate, and the originals, against each other."""
    from vericount.report.bundle_content import check_export

    members = [n for n in zf.namelist() if n.startswith("export/") and not n.endswith("/")]
    if not members:
        return ["export/: missing (the bundle holds no export to check the certificate against)"]
    with tempfile.TemporaryDirectory(prefix="vericount-verify-") as tmp:
        root = Path(tmp)
        for name in members:
            target = root / "export" / PurePosixPath(name).relative_to("export")
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(name) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
        return check_export(zf, root, manifest, expect_head, check)


def _unsafe(name: str) -> bool:
    return name.startswith("/") or ".." in PurePosixPath(name).parts or "\\" in name


def _read_sums(data: bytes, check: BundleCheck) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            check.problems.append(f"{MANIFEST} line {number}: not 'SHA256  PATH'")
            continue
        sums[name] = digest
    return sums


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InvalidValue(f"{path}: cannot be read ({exc.strerror})") from exc
    return digest.hexdigest()


def _hash_member(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    try:
        with zf.open(name) as fh:
            for chunk in _read(fh):
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, OSError) as exc:  # a CRC error: the zip itself was altered
        return f"unreadable ({exc})", size
    return digest.hexdigest(), size


def _read(fh: Any) -> Iterator[bytes]:
    while chunk := fh.read(_CHUNK):
        yield chunk
