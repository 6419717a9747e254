"""The evidence bundle (``vericount export --bundle FILE.zip``) and its check (``vericount verify-bundle``).

A bundle is a zip that stands on its own::

    MANIFEST.sha256        every other file's sha256, in ``sha256sum -c`` format
    manifest.json          the same with sizes, plus what the bundle is (case, time, who, blur, originals)
    README.txt             how to check it, with and without vericount
    report/                report.html, report.pdf, certificate.json (faces blurred unless --no-blur)
    export/                the case's JSON export: items, sources, decisions (statuses, matches, judgments),
                           tracks, tally, certificate, the hash-chained audit log (docs/export.md)
    custody.json           every item: sha256, size, names, sources, who added it when, its events
    originals/SHA256.EXT   the original files, byte for byte, with --with-originals (never blurred)

``verify_bundle`` re-hashes every file against both manifests and names each one that is changed, missing
or not listed; re-checks the audit log's hash chain; and re-checks the certificate against the exported
case, imported into a throwaway SQLite case, with the same checker ``vericount tally --check`` uses.
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
from typing import TYPE_CHECKING, Any

from vericount import __version__
from vericount.errors import InvalidValue
from vericount.report import sha256_file
from vericount.store.schema import utcnow

if TYPE_CHECKING:
    from vericount.case import Case

FORMAT = "vericount-bundle/1"
MANIFEST = "MANIFEST.sha256"
MANIFEST_JSON = "manifest.json"
README = """This is a vericount evidence bundle ({format}) of case {case}, made {at} by {by}.

Check it with vericount installed:
    vericount verify-bundle {name}

Or with standard tools only (every file's SHA-256 against the manifest):
    unzip {name} -d bundle && cd bundle && sha256sum -c MANIFEST.sha256

report/      the report (HTML, PDF) and its certificate; faces {blur}
export/      the case as JSON (see the export.json there for its tables)
custody.json every item's hash, names, sources and custody events
originals/   {originals}
"""
_CHUNK = 1 << 20


@dataclass
class BundleCheck:
    path: str
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    at_least: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "files": self.files, "bytes": self.bytes,
                "at_least": self.at_least, "problems": self.problems}


def make_bundle(case: Case, path: Path, with_originals: bool = False, blur: bool = True) -> dict[str, Any]:
    """Write the bundle to ``path`` (a .zip; written under a temporary name and renamed when whole)."""
    from vericount.report.build import write_report
    from vericount.report.export import export_case

    if path.exists() and path.is_dir():
        raise InvalidValue(f"{path}: is a folder; give the bundle's file name (FILE.zip)")
    if not path.parent.is_dir():
        raise InvalidValue(f"{path.parent}: no such folder")
    with tempfile.TemporaryDirectory(prefix="vericount-bundle-") as tmp:
        staging = Path(tmp)
        written = write_report(case, staging / "report", blur=blur)
        export_case(case, staging / "export", "json")
        custody, missing = _custody(case, staging / "export")
        (staging / "custody.json").write_text(
            json.dumps(custody, indent=1, ensure_ascii=False, allow_nan=False), "utf-8")
        originals: list[tuple[str, Path]] = []
        if with_originals:
            for item in custody["items"]:
                source = case.evidence.path(item["sha256"])
                if source.is_file():
                    originals.append((f"originals/{item['sha256']}{_extension(item)}", source))
        case_id = custody["case"]
        now = utcnow()
        files = [(p.relative_to(staging).as_posix(), p) for p in sorted(staging.rglob("*")) if p.is_file()]
        files += originals
        entries: list[dict[str, Any]] = [{"path": name, "sha256": sha256_file(p), "size": p.stat().st_size}
                                         for name, p in files]
        manifest = {"format": FORMAT, "case": case_id, "created_at": now.isoformat(),
                    "created_by": case.actor,
                    "tool_version": __version__, "blurred": blur, "with_originals": with_originals,
                    "originals_missing": missing if with_originals else [], "at_least": written.at_least,
                    "files": entries}
        manifest_bytes = json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False).encode()
        listed = [*entries, {"path": MANIFEST_JSON, "sha256": hashlib.sha256(manifest_bytes).hexdigest()}]
        sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in listed).encode()
        readme = README.format(format=FORMAT, case=case_id, at=now.strftime("%Y-%m-%d %H:%M UTC"),
                               by=case.actor, name=path.name,
                               blur="pixelated" if blur else "NOT blurred (--no-blur)",
                               originals="the original files, byte for byte (faces not blurred)"
                               if with_originals else "not included (export --bundle --with-originals)")
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(MANIFEST, sums)
                zf.writestr(MANIFEST_JSON, manifest_bytes)
                zf.writestr("README.txt", readme)
                for name, source in files:
                    media = name.startswith("originals/") or name.endswith(".pdf")
                    zf.write(source, name,
                             compress_type=zipfile.ZIP_STORED if media else zipfile.ZIP_DEFLATED)
            temporary.replace(path)
        finally:
            temporary.unlink(missing_ok=True)
    digest = sha256_file(path)
    with case.session() as s:
        case.record(s, "case.bundle", None, path=str(path), sha256=digest, files=len(entries),
                    with_originals=with_originals, blur=blur, at_least=written.at_least)
    return {"path": str(path), "sha256": digest, "size": path.stat().st_size, "files": len(entries) + 3,
            "originals": len(originals), "originals_missing": missing if with_originals else [],
            "blurred": blur, "at_least": written.at_least}


def verify_bundle(path: Path) -> BundleCheck:
    """Every difference between the bundle and its manifests, its audit chain and its certificate."""
    check = BundleCheck(str(path))
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InvalidValue(f"{path}: not a readable zip file ({exc})") from exc
    with zf:
        names = {i.filename for i in zf.infolist() if not i.is_dir()}
        for required in (MANIFEST, MANIFEST_JSON):
            if required not in names:
                raise InvalidValue(f"{path}: no {required} in it (not a vericount bundle)")
        sums = _read_sums(zf, check)
        try:
            manifest = json.loads(zf.read(MANIFEST_JSON))
            listed = {e["path"]: e for e in manifest["files"]}
        except (ValueError, KeyError, TypeError) as exc:
            check.problems.append(f"{MANIFEST_JSON}: not a readable manifest ({exc})")
            manifest, listed = {}, {}
        if manifest.get("format") not in (None, FORMAT):
            check.problems.append(f"{MANIFEST_JSON}: format {manifest.get('format')!r}, expected {FORMAT}")
        check.at_least = manifest.get("at_least")
        check.problems.extend(f"{name}: an unsafe path in the zip (absolute or with '..')"
                              for name in sorted(names) if _unsafe(name))
        for name in sorted(names - {MANIFEST, "README.txt"}):
            if name not in sums:
                check.problems.append(f"{name}: in the bundle but not in {MANIFEST} (added)")
        for name, expected in sorted(sums.items()):
            if name not in names:
                check.problems.append(f"{name}: listed in {MANIFEST} but missing from the bundle")
                continue
            check.problems.extend(_check_member(zf, name, expected, listed if manifest else None, check))
        for name in sorted(set(listed) - set(sums)):
            check.problems.append(f"{name}: in {MANIFEST_JSON} but not in {MANIFEST}")
        if not check.problems:  # the content is what was bundled: now whether it holds together
            check.problems.extend(_check_content(zf))
    return check


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


def _check_content(zf: zipfile.ZipFile) -> list[str]:
    """The audit chain and the certificate, re-checked from the bundled export."""
    from vericount.case import Case
    from vericount.report.export import import_case
    from vericount.tally.service import check_certificate

    problems: list[str] = []
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
        try:
            audit = json.loads((root / "export" / "audit_events.json").read_text("utf-8"))
            problems.extend(_chain(audit))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"export/audit_events.json: not readable ({exc})")
        cert_name = "report/certificate.json"
        try:
            cert = json.loads(zf.read(cert_name))
        except (KeyError, ValueError) as exc:
            return [*problems, f"{cert_name}: not readable ({exc})"]
        if cert is None:
            return problems  # a blocked tally has no certificate; the report says why
        case = Case.create(root / "case", None, actor="verify-bundle")
        try:
            import_case(case, root / "export")
            found = check_certificate(case, cert)
        except InvalidValue as exc:
            found = [f"the export could not be read back: {exc}"]
        finally:
            case.close()
        problems.extend(f"{cert_name}: {p}" for p in found)
    return problems


def _unsafe(name: str) -> bool:
    return name.startswith("/") or ".." in PurePosixPath(name).parts or "\\" in name


def _chain(events: list[dict[str, Any]]) -> list[str]:
    from vericount.store.audit import check_events

    return [f"export/audit_events.json: event {p.event_id} {p.problem}" for p in check_events(events)]


def _read_sums(zf: zipfile.ZipFile, check: BundleCheck) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(zf.read(MANIFEST).decode("utf-8", "replace").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            check.problems.append(f"{MANIFEST} line {number}: not 'SHA256  PATH'")
            continue
        sums[name] = digest
    return sums


def _custody(case: Case, export: Path) -> tuple[dict[str, Any], list[str]]:
    """Per item: hash, size, names, sources and the custody events about it, from the export just made."""
    def rows(name: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads((export / f"{name}.json").read_text("utf-8"))
        return data

    meta = json.loads((export / "export.json").read_text("utf-8"))
    names, sources, events = _by_item(rows("item_names")), _by_item(rows("sources")), \
        _by_item(rows("audit_events"))
    items = [{"sha256": i["id"], "kind": i["kind"], "media_type": i["media_type"], "size": i["size"],
              "added_at": i["added_at"], "added_by": i["added_by"], "status": i["status"],
              "names": [n["name"] for n in names.get(i["id"], [])],
              "sources": [{k: v for k, v in src.items() if k not in ("id", "item_id")}
                          for src in sources.get(i["id"], [])],
              "events": [{"at": e["at"], "actor": e["actor"], "action": e["action"], "hash": e["hash"]}
                         for e in events.get(i["id"], [])]}
             for i in rows("items")]
    audit = rows("audit_events")
    missing = [i["sha256"] for i in items if not case.evidence.path(i["sha256"]).is_file()]
    return {"case": meta.get("case"), "items": items, "audit_events": len(audit),
            "audit_head": audit[-1]["hash"] if audit else None}, missing


def _by_item(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("item_id"):
            out.setdefault(row["item_id"], []).append(row)
    return out


def _extension(item: dict[str, Any]) -> str:
    for name in item["names"]:
        suffix = PurePosixPath(name).suffix.lower()
        if suffix and len(suffix) <= 6 and suffix[1:].isalnum():
            return suffix
    return ""




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
