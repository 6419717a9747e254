"""The evidence bundle (``vericount export --bundle FILE.zip``); its check is report/bundle_check.py.

A bundle is a zip that stands on its own::

    MANIFEST.sha256        every other file's sha256, in ``sha256sum -c`` format (all but itself and the
                           signature)
    signature.ed25519      the case key's Ed25519 signature of MANIFEST.sha256 (64 raw bytes)
    public_key.pem         the case's public key (its fingerprint: SHA-256 of the 32 raw key bytes)
    manifest.json          the same with sizes, plus what the bundle is (case, time, who, blur, originals),
                           the audit log's head (count, hash) and the certified N, both from the export
    README.txt             how to check it, with and without vericount
    report/                report.html, report.pdf, certificate.json (faces blurred unless --no-blur)
    export/                the case's JSON export: items, sources, decisions (statuses, matches, judgments),
                           tracks, tally, certificate, the hash-chained audit log (docs/export.md)
    custody.json           every item: sha256, size, names, sources, who added it when, its events
    originals/SHA256.EXT   the original files, byte for byte, with --with-originals (never blurred)
    attachments/SHA256     the files kept with the items (a capture's web archive and screenshot, sidecars,
                           export files; export/attachments.json names each), with --with-originals

The signature covers MANIFEST.sha256, which covers every other file (manifest.json included), so a bundle
changed in any way and re-hashed no longer verifies with the case's key; a forger's own key has another
fingerprint than the one the case prints (``vericount verify``) and the recipient checks
(``verify-bundle --key``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from vericount import __version__
from vericount.errors import InvalidValue
from vericount.report import sha256_file
from vericount.store.schema import utcnow

if TYPE_CHECKING:
    from vericount.case import Case

FORMAT = "vericount-bundle/2"
FORMATS = ("vericount-bundle/1", FORMAT)  # /1: unsigned, README.txt not listed
MANIFEST = "MANIFEST.sha256"
MANIFEST_JSON = "manifest.json"
SIGNATURE = "signature.ed25519"
PUBLIC_KEY = "public_key.pem"
README_NAME = "README.txt"
README = """This is a vericount evidence bundle ({format}) of case {case}, made {at} by {by}.
It is signed by the case's Ed25519 key, fingerprint
    {fingerprint}
Compare that with the fingerprint you were given by whoever keeps the case (`vericount verify` prints it):
the signature proves only that whoever holds that key made the bundle.

Check it with vericount installed:
    vericount verify-bundle {name} --key {fingerprint}

Or with standard tools only:
    unzip {name} -d bundle && cd bundle
    sha256sum -c MANIFEST.sha256                      # every file against the manifest
    openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in MANIFEST.sha256 -sigfile signature.ed25519
    openssl pkey -pubin -in public_key.pem -outform DER | tail -c 32 | sha256sum   # the key's fingerprint

report/      the report (HTML, PDF) and its certificate; faces {blur}
export/      the case as JSON (see the export.json there for its tables)
custody.json every item's hash, names, sources and custody events
originals/   {originals}
"""


def make_bundle(case: Case, path: Path, with_originals: bool = False, blur: bool = True) -> dict[str, Any]:
    """Write the bundle to ``path`` (a .zip; written under a temporary name and renamed when whole)."""
    from vericount.report.build import write_report
    from vericount.report.export import export_case
    from vericount.signing import ensure_key, sign

    if path.exists() and path.is_dir():
        raise InvalidValue(f"{path}: is a folder; give the bundle's file name (FILE.zip)")
    if not path.parent.is_dir():
        raise InvalidValue(f"{path.parent}: no such folder")
    public = ensure_key(case)  # before the export, so that a new key's event is in the bundled log
    with tempfile.TemporaryDirectory(prefix="vericount-bundle-") as tmp:
        staging = Path(tmp)
        write_report(case, staging / "report", blur=blur)
        export_case(case, staging / "export", "json")
        custody = custody_of(staging / "export")
        missing = [i["sha256"] for i in custody["items"] if not case.evidence.path(i["sha256"]).is_file()]
        (staging / "custody.json").write_text(
            json.dumps(custody, indent=1, ensure_ascii=False, allow_nan=False), "utf-8")
        (staging / PUBLIC_KEY).write_bytes(public.pem())
        originals: list[tuple[str, Path]] = []
        if with_originals:
            for item in custody["items"]:
                source = case.evidence.path(item["sha256"])
                if source.is_file():
                    originals.append((f"originals/{item['sha256']}{_extension(item)}", source))
            kept = json.loads((staging / "export" / "attachments.json").read_text("utf-8"))
            for sha in sorted({row["sha256"] for row in kept}):  # a capture's web archive, sidecars...
                source = case.evidence.path(sha)
                if source.is_file():
                    originals.append((f"attachments/{sha}", source))
                else:
                    missing.append(sha)
        cert = json.loads((staging / "report" / "certificate.json").read_text("utf-8"))
        at_least = cert.get("at_least") if isinstance(cert, dict) else None
        case_id = custody["case"]
        now = utcnow()
        readme = README.format(format=FORMAT, case=case_id, at=now.strftime("%Y-%m-%d %H:%M UTC"),
                               by=case.actor, name=path.name, fingerprint=public.fingerprint,
                               blur="pixelated" if blur else "NOT blurred (--no-blur)",
                               originals="the original files, byte for byte (faces not blurred)"
                               if with_originals else "not included (export --bundle --with-originals)")
        (staging / README_NAME).write_text(readme, "utf-8")
        files = [(p.relative_to(staging).as_posix(), p) for p in sorted(staging.rglob("*")) if p.is_file()]
        files += originals
        entries: list[dict[str, Any]] = [{"path": name, "sha256": sha256_file(p), "size": p.stat().st_size}
                                         for name, p in files]
        manifest = {"format": FORMAT, "case": case_id, "created_at": now.isoformat(),
                    "created_by": case.actor,
                    "tool_version": __version__, "blurred": blur, "with_originals": with_originals,
                    "originals_missing": missing if with_originals else [], "at_least": at_least,
                    "audit_head": custody["audit_head_event"], "key": public.to_json(),
                    "signature": {"algorithm": "ed25519", "file": SIGNATURE, "signs": MANIFEST},
                    "files": entries}
        manifest_bytes = json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False).encode()
        listed = [*entries, {"path": MANIFEST_JSON, "sha256": hashlib.sha256(manifest_bytes).hexdigest()}]
        sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in listed).encode()
        signature, signer = sign(case, sums)
        assert signer.raw == public.raw
        _write_zip(path, [(MANIFEST, sums), (SIGNATURE, signature), (MANIFEST_JSON, manifest_bytes)], files)
    digest = sha256_file(path)
    head = custody["audit_head_event"]
    with case.session() as s:
        case.record(s, "case.bundle", None, path=str(path), sha256=digest, files=len(entries),
                    with_originals=with_originals, blur=blur, at_least=at_least,
                    key_fingerprint=public.fingerprint,
                    audit_head=None if head is None else {"count": head["count"], "hash": head["hash"]})
    return {"path": str(path), "sha256": digest, "size": path.stat().st_size, "files": len(entries) + 3,
            "originals": len(originals), "originals_missing": missing if with_originals else [],
            "blurred": blur, "at_least": at_least, "key_fingerprint": public.fingerprint,
            "audit_head": head}


def _write_zip(path: Path, written: list[tuple[str, bytes]], files: list[tuple[str, Path]]) -> None:
    """The zip, under a temporary name renamed when whole: ``written`` first, then ``files``."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in written:
                zf.writestr(name, data)
            for name, source in files:
                media = name.startswith("originals/") or name.endswith(".pdf")
                zf.write(source, name, compress_type=zipfile.ZIP_STORED if media else zipfile.ZIP_DEFLATED)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def custody_of(export: Path) -> dict[str, Any]:
    """Per item: hash, size, names, sources and the custody events about it, from a JSON export (the one
    just made, or, in verify-bundle, the bundled one: custody.json must be what its export gives)."""
    def rows(name: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads((export / f"{name}.json").read_text("utf-8"))
        return data

    meta = json.loads((export / "export.json").read_text("utf-8"))
    audit = rows("audit_events")
    names, sources, events = _by_item(rows("item_names")), _by_item(rows("sources")), _by_item(audit)
    items = [{"sha256": i["id"], "kind": i["kind"], "media_type": i["media_type"], "size": i["size"],
              "added_at": i["added_at"], "added_by": i["added_by"], "status": i["status"],
              "names": [n["name"] for n in names.get(i["id"], [])],
              "sources": [{k: v for k, v in src.items() if k not in ("id", "item_id")}
                          for src in sources.get(i["id"], [])],
              "events": [{"at": e["at"], "actor": e["actor"], "action": e["action"], "hash": e["hash"]}
                         for e in events.get(i["id"], [])]}
             for i in rows("items")]
    last = audit[-1] if audit else None
    return {"case": meta.get("case"), "items": items, "audit_events": len(audit),
            "audit_head": last["hash"] if last else None,
            "audit_head_event": None if last is None else {"count": len(audit), "id": last["id"],
                                                           "hash": last["hash"], "at": last["at"]}}


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
