"""verify-bundle's content checks: a bundle's files against each other, once every file is what its
manifests list (report/bundle_check.py). Each finding is one line naming the file it is about."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from vericount.errors import InvalidValue
from vericount.report.bundle import MANIFEST_JSON, custody_of
from vericount.store import anchor
from vericount.store.audit import check_events
from vericount.verify_state import Tables, check_state

if TYPE_CHECKING:
    from vericount.report.bundle_check import BundleCheck

AUDIT = "export/audit_events.json"
CERT = "report/certificate.json"
HTML = "report/report.html"
_HEADLINE = re.compile(r'<div class="n">(at least (\d+)|no certified count)</div>')


def check_export(zf: zipfile.ZipFile, root: Path, manifest: dict[str, Any],
                 expect_head: anchor.Expected | None, check: BundleCheck) -> list[str]:
    """``root/export`` holds the bundle's export, unpacked."""
    export = root / "export"
    problems: list[str] = []
    try:
        events = _rows(export, "audit_events")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{AUDIT}: not readable ({exc})"]
    problems += [f"{AUDIT}: event {p.event_id} {p.problem}" for p in check_events(events)]
    problems += _check_head(events, manifest, expect_head, check)
    problems += _check_custody(zf, export)
    problems += _check_state(export, events, check)
    problems += _check_originals(zf, export, manifest)
    problems += _check_certificate(zf, root, manifest, check)
    return problems


def _rows(export: Path, name: str) -> list[dict[str, Any]]:
    data = json.loads((export / f"{name}.json").read_text("utf-8"))
    if not isinstance(data, list):
        raise TypeError(f"{name}.json is not a list of rows")
    return data


def _check_head(events: list[dict[str, Any]], manifest: dict[str, Any], expect_head: anchor.Expected | None,
                check: BundleCheck) -> list[str]:
    problems = []
    last = events[-1] if events else None
    check.audit_head = None if last is None else {"count": len(events), "id": last["id"],
                                                  "hash": last["hash"]}
    said = manifest.get("audit_head")
    agrees = (said is None and last is None) or (
        isinstance(said, dict) and last is not None and said.get("hash") == last["hash"]
        and said.get("count") == len(events))
    if "audit_head" in manifest and not agrees:
        problems.append(f"{MANIFEST_JSON}: the audit head it names ({_head_text(said)}) is not the bundled "
                        f"log's ({len(events)}:{(last or {}).get('hash')}): the log was truncated or "
                        "rewritten")
    if expect_head is not None:
        seen = {k: anchor.Seen(k, int(ev["id"]), ev["hash"]) for k, ev in enumerate(events, 1)}
        by_hash = {s.hash: s for s in seen.values()}
        found = anchor.check_expected(expect_head, seen, by_hash, len(events))
        if found:
            problems.append(f"{AUDIT}: {found}")
    return problems


def _head_text(head: Any) -> str:
    return f"{head.get('count')}:{head.get('hash')}" if isinstance(head, dict) else "none"


def _check_custody(zf: zipfile.ZipFile, export: Path) -> list[str]:
    """custody.json must be exactly what the bundled export gives."""
    try:
        bundled = json.loads(zf.read("custody.json"))
    except KeyError:
        return ["custody.json: missing"]
    except ValueError as exc:
        return [f"custody.json: not readable ({exc})"]
    try:
        expected = custody_of(export)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"custody.json: the export it comes from is not readable ({exc})"]
    if not isinstance(bundled, dict):
        return ["custody.json: not a JSON object"]
    problems = [f"custody.json: {key} is {bundled.get(key)!r} but the bundled export gives {expected[key]!r}"
                for key in ("case", "audit_events", "audit_head") if bundled.get(key) != expected[key]]
    have = {i.get("sha256"): i for i in bundled.get("items") or [] if isinstance(i, dict)}
    want = {i["sha256"]: i for i in expected["items"]}
    for sha in sorted(set(have) | set(want), key=str):
        if sha not in want:
            problems.append(f"custody.json: item {sha} is not an item of the bundled export")
        elif sha not in have:
            problems.append(f"custody.json: item {sha} of the bundled export is missing from it")
        else:
            problems += [f"custody.json: item {sha}: {key} is {have[sha].get(key)!r} but the bundled "
                         f"export gives {value!r}" for key, value in want[sha].items()
                         if have[sha].get(key) != value]
    return problems


def _check_state(export: Path, events: list[dict[str, Any]], check: BundleCheck) -> list[str]:
    try:
        tables = Tables(items=_rows(export, "items"), item_names=_rows(export, "item_names"),
                        sources=_rows(export, "sources"), tags=_rows(export, "tags"),
                        notes=_rows(export, "notes"), judgments=_rows(export, "judgments"),
                        matches=_rows(export, "matches"),
                        marks=[t for t in _rows(export, "tracks") if t.get("source") == "mark"],
                        tallies=_rows(export, "tallies"), users=None,
                        attachments=_rows(export, "attachments") if (export / "attachments.json").is_file()
                        else None)
        state = check_state(events, tables, where="the export")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"export/: its tables are not readable ({exc})"]
    check.notes += [f"not checked against the log: {s}" for s in state.skipped if not s.startswith("users")]
    return [f"export/: item {p.item}: {p.detail}" if p.item else f"export/: {p.detail}"
            for p in state.problems]


def _check_originals(zf: zipfile.ZipFile, export: Path, manifest: dict[str, Any]) -> list[str]:
    try:
        items = {row["id"] for row in _rows(export, "items")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"export/items.json: not readable ({exc})"]
    present: dict[str, str] = {}
    problems = []
    for name in zf.namelist():
        if name.startswith("originals/") and not name.endswith("/"):
            sha = PurePosixPath(name).name.split(".")[0]
            present[sha] = name
            if sha not in items:
                problems.append(f"{name}: not an original of any item in the bundled export")
    if manifest.get("with_originals"):
        missing = set(manifest.get("originals_missing") or [])
        problems += [f"originals/: item {sha} has no original in the bundle (and {MANIFEST_JSON} does not "
                     "say it was missing from the case)" for sha in sorted(items - set(present) - missing)]
    return problems + _check_attachments(zf, export, manifest)


def _check_attachments(zf: zipfile.ZipFile, export: Path, manifest: dict[str, Any]) -> list[str]:
    """attachments/SHA256: each one of the export's attachments, and all of them with --with-originals (an
    export made before attachments were kept has none)."""
    try:
        kept = {row["sha256"] for row in _rows(export, "attachments")} \
            if (export / "attachments.json").is_file() else set()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"export/attachments.json: not readable ({exc})"]
    present = {PurePosixPath(n).name for n in zf.namelist()
               if n.startswith("attachments/") and not n.endswith("/")}
    problems = [f"attachments/{sha}: not an attachment of any item in the bundled export"
                for sha in sorted(present - kept)]
    if manifest.get("with_originals"):
        missing = set(manifest.get("originals_missing") or [])
        problems += [f"attachments/: {sha} is kept with an item but not in the bundle (and {MANIFEST_JSON} "
                     "does not say it was missing from the case)" for sha in sorted(kept - present - missing)]
    return problems


def _check_certificate(zf: zipfile.ZipFile, root: Path, manifest: dict[str, Any],
                       check: BundleCheck) -> list[str]:
    """The certificate re-checked against the bundled export; N is taken from it, once it holds."""
    from vericount.case import Case
    from vericount.report.export import import_case
    from vericount.tally.service import check_certificate

    try:
        cert = json.loads(zf.read(CERT))
    except (KeyError, ValueError) as exc:
        return [f"{CERT}: not readable ({exc})"]
    problems = []
    export_cert_path = root / "export" / "certificate.json"
    exported = json.loads(export_cert_path.read_text("utf-8")) if export_cert_path.is_file() else None
    if exported != cert:
        problems.append(f"{CERT}: not the certificate of the bundled export (export/certificate.json)")
    tally = json.loads((root / "export" / "tally.json").read_text("utf-8")) \
        if (root / "export" / "tally.json").is_file() else None
    n: int | None = None
    if cert is not None:
        if not isinstance(cert, dict):
            return [*problems, f"{CERT}: not a certificate"]
        case = Case.create(root / "case", None, actor="verify-bundle")
        try:
            import_case(case, root / "export")
            found = check_certificate(case, cert)
        except InvalidValue as exc:
            found = [f"the export could not be read back: {exc}"]
        finally:
            case.close()
        problems += [f"{CERT}: {p}" for p in found]
        if found:
            return problems
        n = int(cert["at_least"])
        check.at_least = n
    claims: list[tuple[str, Any]] = [(HTML, _headline(zf))]
    if "at_least" in manifest:
        claims.append((MANIFEST_JSON, manifest["at_least"]))
    if isinstance(tally, dict):
        claims.append(("export/tally.json", tally.get("at_least")))
    proves = "no certified count" if n is None else f"at least {n}"
    for where, said in claims:
        if said not in (n, "absent"):
            says = "no certified count" if said is None else f"at least {said}"
            problems.append(f"{where}: says {says}, but the certificate checked gives {proves}")
    return problems


def _headline(zf: zipfile.ZipFile) -> Any:
    """The N of the report's headline (None: no certified count; "absent": no headline to read)."""
    try:
        html = zf.read(HTML).decode("utf-8", "replace")
    except KeyError:
        return "absent"
    found = _HEADLINE.search(html)
    if found is None:
        return "absent"
    return int(found.group(2)) if found.group(2) else None
