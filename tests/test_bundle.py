"""The evidence bundle: `export --bundle` then `verify-bundle`; a changed, missing or added file is named;
`sha256sum -c` agrees; a re-signed but altered audit log or certificate is still caught."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import Cli
from tests.test_tally import _add_items, _track
from vericount.case import Case


def _case(cli: Cli, case_dir: Path, tmp_path: Path) -> list[str]:
    """Three verified items, three people in one frame and one judged different: at least 4."""
    x, y, z = _add_items(cli, tmp_path, 3)
    with Case.open(case_dir, actor="tester") as case:
        _track(case, x, 1, [[0.0, 10, 10, 100, 300]])
        _track(case, x, 2, [[0.0, 200, 10, 290, 300]])
        _track(case, x, 3, [[0.0, 400, 10, 490, 300]])
        _track(case, y, 1, [[0.0, 10, 10, 100, 300]])
    for item in (x, y, z):
        assert cli("status", item, "verified", "--note", "checked").exit_code == 0
    confirmed = cli("people", "confirm", f"{x}:1", f"{x}:2", f"{x}:3", f"{y}:1")  # a person saw them
    assert confirmed.exit_code == 0, confirmed.output
    for number in (1, 2, 3):
        judged = cli("judge", f"{y}:1", f"{x}:{number}", "different", "--reason", "other uniform")
        assert judged.exit_code == 0
    return [x, y, z]


def _bundle(cli: Cli, path: Path, *extra: str) -> dict[str, object]:
    result = cli("export", "--bundle", str(path), "--json", *extra)
    assert result.exit_code == 0, result.output
    made: dict[str, object] = json.loads(result.stdout)
    return made


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None], resign: bool = False) -> None:
    """A copy of the bundle with some members replaced (None: removed); with ``resign`` both manifests are
    brought in line with the new content, as a forger would."""
    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    for name, data in change.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    if resign:
        manifest = json.loads(members["manifest.json"])
        for entry in manifest["files"]:
            if entry["path"] in members:
                entry["sha256"] = hashlib.sha256(members[entry["path"]]).hexdigest()
                entry["size"] = len(members[entry["path"]])
        members["manifest.json"] = json.dumps(manifest).encode()
        lines = [f"{e['sha256']}  {e['path']}" for e in manifest["files"]]
        lines.append(f"{hashlib.sha256(members['manifest.json']).hexdigest()}  manifest.json")
        members["MANIFEST.sha256"] = ("\n".join(lines) + "\n").encode()
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)


def _verify(cli: Cli, path: Path) -> tuple[int, dict[str, object]]:
    result = cli("verify-bundle", str(path), "--json")
    return result.exit_code, json.loads(result.stdout)


def test_bundle_verifies_and_names_a_tampered_file(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    ids = _case(cli, case_dir, tmp_path)
    path = tmp_path / "case.zip"
    made = _bundle(cli, path, "--with-originals")
    assert made["at_least"] == 4 and made["originals"] == 3 and made["blurred"] is True
    assert made["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    logged = json.loads(cli("log", "--action", "case.bundle", "--json").stdout)
    assert logged[-1]["detail"]["sha256"] == made["sha256"]
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {"MANIFEST.sha256", "manifest.json", "README.txt", "custody.json", "report/report.html",
                "report/report.pdf", "report/certificate.json", "export/export.json",
                "export/audit_events.json", "export/judgments.json", "export/certificate.json"} <= names
        for item in ids:  # the originals, byte for byte, named by their hash
            original = next(n for n in names if n.startswith(f"originals/{item}"))
            assert hashlib.sha256(zf.read(original)).hexdigest() == item
        custody = json.loads(zf.read("custody.json"))
        assert {i["sha256"] for i in custody["items"]} == set(ids)
        assert all(any(e["action"] == "item.add" for e in i["events"]) for i in custody["items"])
    code, out = _verify(cli, path)
    assert code == 0 and out["ok"] and out["at_least"] == 4, out

    sha256sum = shutil.which("sha256sum")
    if sha256sum:  # the manifest is plain `sha256sum -c` input
        unpacked = tmp_path / "unpacked"
        with zipfile.ZipFile(path) as zf:
            zf.extractall(unpacked)
        ok = subprocess.run([sha256sum, "-c", "MANIFEST.sha256"], cwd=unpacked, capture_output=True,
                            text=True, check=False)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        (unpacked / "export" / "judgments.json").write_text("[]\n")
        bad = subprocess.run([sha256sum, "-c", "--quiet", "MANIFEST.sha256"], cwd=unpacked,
                             capture_output=True, text=True, check=False)
        assert bad.returncode == 1 and "export/judgments.json: FAILED" in bad.stdout

    original = next(n for n in names if n.startswith(f"originals/{ids[0]}"))
    cases = {
        "changed": ({"export/judgments.json": b"[]\n"}, "export/judgments.json: changed"),
        "original": ({original: b"not the photo"}, f"{original}: changed"),
        "missing": ({"report/report.pdf": None}, "report/report.pdf: listed in MANIFEST.sha256 but missing"),
        "added": ({"export/extra.json": b"{}"},
                  "export/extra.json: in the bundle but not in MANIFEST.sha256"),
    }
    for label, (change, expected) in cases.items():
        tampered = tmp_path / f"{label}.zip"
        _rewrite(path, tampered, change)
        code, out = _verify(cli, tampered)
        problems = out["problems"]
        assert code == 1 and isinstance(problems, list), label
        assert any(p.startswith(expected) for p in problems), (label, problems)
        assert len(problems) == 1, (label, problems)  # only what was done is reported

    text = cli("verify-bundle", str(tmp_path / "changed.zip"))
    assert text.exit_code == 1 and "DIFFERENT export/judgments.json: changed" in text.stdout


def test_a_resigned_forgery_is_still_caught(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    """Manifests brought in line with altered content: the audit chain and the certificate check fail."""
    _case(cli, case_dir, tmp_path)
    path = tmp_path / "case.zip"
    _bundle(cli, path)
    with zipfile.ZipFile(path) as zf:
        events = json.loads(zf.read("export/audit_events.json"))
        cert = json.loads(zf.read("report/certificate.json"))
    events[2]["actor"] = "someone else"  # history rewritten
    forged = tmp_path / "log.zip"
    _rewrite(path, forged, {"export/audit_events.json": json.dumps(events).encode()}, resign=True)
    code, out = _verify(cli, forged)
    assert code == 1 and any("audit_events.json: event" in p and "altered" in p for p in out["problems"]), out

    pair = next(p for p in cert["pairs"] if p["reason"] == "judged_different")
    pair["reason"] = "same_frame"  # a reason that the case does not bear out
    forged = tmp_path / "cert.zip"
    _rewrite(path, forged, {"report/certificate.json": json.dumps(cert).encode()}, resign=True)
    code, out = _verify(cli, forged)
    assert code == 1 and any(p.startswith("report/certificate.json:") for p in out["problems"]), out


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"not a zip at all"])
def test_a_broken_bundle_gets_one_line(cli: Cli, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(content)
    result = cli("verify-bundle", str(path))
    assert result.exit_code == 1 and "not a readable zip file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unsafe_names_and_bad_options(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("MANIFEST.sha256", f"{'0' * 64}  ../escape.txt\n")
        zf.writestr("manifest.json", json.dumps({"format": "vericount-bundle/1", "files": []}))
        zf.writestr("../escape.txt", b"x")
    code, out = _verify(cli, path)
    assert code == 1 and any("unsafe path" in p for p in out["problems"])
    assert not (tmp_path.parent / "escape.txt").exists()
    assert cli("export", "--bundle", str(tmp_path)).exit_code in (1, 2)  # a folder, not a file
    assert cli("export").exit_code == 2  # neither --out nor --bundle
    assert cli("export", "--out", str(tmp_path / "o"), "--with-originals").exit_code == 2


# -- forgeries with every manifest recomputed ------------------------------------------------------------

def _forge(src: Path, dst: Path, change: dict[str, bytes | None], own_key: bool = False) -> None:
    """A forger's copy: members changed, export.json, manifest.json and MANIFEST.sha256 recomputed to
    match; the signature kept (it no longer verifies), or, with ``own_key``, made with the forger's key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from vericount.store.keys import public_of

    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    for name, data in change.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    export = json.loads(members["export/export.json"])
    for entry in export["tables"].values():
        data = members.get(f"export/{entry['file']}")
        if data is not None:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            if entry["file"].endswith(".json") and isinstance(json.loads(data), list):
                entry["rows"] = len(json.loads(data))
    members["export/export.json"] = json.dumps(export).encode()
    manifest = json.loads(members["manifest.json"])
    if own_key:
        key = Ed25519PrivateKey.generate()
        public = public_of(key)
        members["public_key.pem"] = public.pem()
        manifest["key"] = public.to_json()
    manifest["files"] = [{"path": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                         for n, d in sorted(members.items())
                         if n not in ("MANIFEST.sha256", "manifest.json", "signature.ed25519")]
    members["manifest.json"] = json.dumps(manifest).encode()
    lines = [f"{e['sha256']}  {e['path']}" for e in manifest["files"]]
    lines.append(f"{hashlib.sha256(members['manifest.json']).hexdigest()}  manifest.json")
    members["MANIFEST.sha256"] = ("\n".join(lines) + "\n").encode()
    if own_key:
        members["signature.ed25519"] = key.sign(members["MANIFEST.sha256"])
        assert key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)


def _json_member(path: Path, name: str) -> object:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read(name))


def _dump(value: object) -> bytes:
    return json.dumps(value, indent=1).encode()


@pytest.mark.sqlite_only  # a bundle is files and signatures: the database under the case changes nothing
def test_forged_bundles_fail_against_the_case_key(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    ids = _case(cli, case_dir, tmp_path)
    path = tmp_path / "case.zip"
    made = _bundle(cli, path, "--with-originals")
    fingerprint = json.loads((case_dir / "case.json").read_text())["key"]["fingerprint"]
    assert made["key_fingerprint"] == fingerprint
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        html = zf.read("report/report.html").decode()
    items = _json_member(path, "export/items.json")
    sources = _json_member(path, "export/sources.json")
    custody = _json_member(path, "custody.json")
    events = _json_member(path, "export/audit_events.json")
    manifest = _json_member(path, "manifest.json")
    assert isinstance(items, list) and isinstance(custody, dict) and isinstance(events, list)
    assert isinstance(manifest, dict) and isinstance(sources, list)
    assert manifest["at_least"] == 4 and manifest["audit_head"]["count"] == len(events)
    assert manifest["audit_head"]["hash"] == events[-1]["hash"] == custody["audit_head"]
    first = next(n for n in names if n.startswith(f"originals/{ids[0]}"))

    status = json.loads(json.dumps(items))
    status[2]["status"] = "rejected"
    status_custody = json.loads(json.dumps(custody))
    next(i for i in status_custody["items"] if i["sha256"] == status[2]["id"])["status"] = "rejected"
    source = [*sources, {"id": 99, "item_id": ids[1], "url": "https://forged.example/1", "platform": "x",
                         "account": None, "posted_at": None, "notes": None, "added_at": items[1]["added_at"],
                         "added_by": "tester"}]
    truncated = events[:-1]
    trunc_custody = {**custody, "audit_events": len(truncated), "audit_head": truncated[-1]["hash"]}
    trunc_manifest_head = {"count": len(truncated), "hash": truncated[-1]["hash"]}
    cert = _json_member(path, "report/certificate.json")
    assert isinstance(cert, dict)
    pair = next(p for p in cert["pairs"] if p["reason"] == "judged_different")
    pair["reason"] = "same_frame"
    other = tmp_path / "other.png"
    Image.new("RGB", (64, 48), (1, 2, 3)).save(other)
    other_sha = hashlib.sha256(other.read_bytes()).hexdigest()
    forgeries: dict[str, tuple[dict[str, bytes | None], str | None]] = {
        "headline": ({"report/report.html": html.replace('<div class="n">at least 4</div>',
                                                         '<div class="n">at least 40</div>').encode()},
                     "report/report.html: says at least 40, but the certificate checked gives at least 4"),
        "certificate": ({"report/certificate.json": _dump(cert), "export/certificate.json": _dump(cert)},
                        "report/certificate.json: pair "),
        "status": ({"export/items.json": _dump(status), "custody.json": _dump(status_custody)},
                   f"export/: item {status[2]['id']}: status is 'rejected' but the log"),
        "source": ({"export/sources.json": _dump(source)}, f"export/: item {ids[1]}: source ("),
        "truncated": ({"export/audit_events.json": _dump(truncated), "custody.json": _dump(trunc_custody),
                       "manifest.json": _dump({**manifest, "audit_head": trunc_manifest_head})}, None),
        "removed original": ({first: None}, f"originals/: item {ids[0]} has no original in the bundle"),
        "swapped original": ({first: None, f"originals/{other_sha}.png": other.read_bytes()},
                             f"originals/{other_sha}.png: not an original of any item"),
    }
    for label, (change, caught) in forgeries.items():
        forged = tmp_path / f"{label}.zip"
        _forge(path, forged, change)
        result = cli("verify-bundle", str(forged), "--key", fingerprint, "--json")
        out = json.loads(result.stdout)
        assert result.exit_code == 1, (label, out)
        assert any(p.startswith("signature.ed25519: does not verify") for p in out["problems"]), (label, out)
        # signed again with the forger's own key: the signature holds, the signer is not the case
        _forge(path, forged, change, own_key=True)
        result = cli("verify-bundle", str(forged), "--key", fingerprint, "--json")
        out = json.loads(result.stdout)
        assert result.exit_code == 1 and any(p.startswith("signed by key ") and fingerprint in p
                                             for p in out["problems"]), (label, out)
        # without a key: caught by what the bundle's files say of each other, or said to be self-consistent
        plain = cli("verify-bundle", str(forged))
        if caught is None:
            assert plain.exit_code == 0, plain.stdout
            assert "self-consistent only: anyone can make a bundle" in plain.stdout
        else:
            assert plain.exit_code == 1 and f"DIFFERENT {caught}" in plain.stdout, (label, plain.stdout)
    # the truncation that nothing in the bundle contradicts shows against the head recorded from the case
    code, out = _verify(cli, path)
    assert code == 0
    head = out["audit_head"]
    assert isinstance(head, dict)
    result = cli("verify-bundle", str(tmp_path / "truncated.zip"), "--expect-head",
                 f"{head['count']}:{head['hash']}")
    assert result.exit_code == 1 and "events were deleted" in result.stdout, result.stdout


def test_verify_bundle_prints_the_checked_certificates_n(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    _case(cli, case_dir, tmp_path)
    path = tmp_path / "case.zip"
    made = _bundle(cli, path)
    manifest = _json_member(path, "manifest.json")
    assert isinstance(manifest, dict)
    forged = tmp_path / "n.zip"
    _forge(path, forged, {"manifest.json": _dump({**manifest, "at_least": 9})}, own_key=True)
    code, out = _verify(cli, forged)
    assert code == 1 and out["at_least"] == 4, out
    assert "manifest.json: says at least 9, but the certificate checked gives at least 4" in out["problems"]
    text = cli("verify-bundle", str(forged)).stdout
    assert "certificate: at least 4" in text and "certificate: at least 9" not in text

    # --expect-sha256: the bundle that was exported, and nothing else
    good = cli("verify-bundle", str(path), "--expect-sha256", str(made["sha256"]))
    assert good.exit_code == 0 and ": intact;" in good.stdout and "self-consistent only" not in good.stdout
    bad = cli("verify-bundle", str(forged), "--expect-sha256", str(made["sha256"]), "--json")
    assert bad.exit_code == 1 and any("--expect-sha256" in p for p in json.loads(bad.stdout)["problems"])
    assert cli("verify-bundle", str(path), "--key", "not-a-key").exit_code == 1


def test_the_public_key_file_and_case_folder_work_as_key(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "case.zip"
    _bundle(cli, path)
    for key in (case_dir / "keys" / "case-ed25519.pub.pem", case_dir, case_dir / "case.json"):
        result = cli("verify-bundle", str(path), "--key", str(key), "--json")
        out = json.loads(result.stdout)
        assert result.exit_code == 0 and out["authenticated"] and out["key_checked"], (key, out)
    with zipfile.ZipFile(path) as zf:
        assert "keys/case-ed25519.pem" not in zf.namelist()
        assert not any(b"PRIVATE KEY" in zf.read(n) for n in zf.namelist())


def test_every_bundle_file_and_key_is_documented(cli: Cli, tmp_path: Path) -> None:
    _add_items(cli, tmp_path, 1)
    path = tmp_path / "case.zip"
    _bundle(cli, path, "--with-originals")
    doc = (Path(__file__).resolve().parent.parent / "docs" / "export.md").read_text(encoding="utf-8")
    section = doc[doc.index("## The evidence bundle"):]
    with zipfile.ZipFile(path) as zf:
        tops = {n.split("/")[0] + ("/" if "/" in n else "") for n in zf.namelist()}
        manifest = json.loads(zf.read("manifest.json"))
        custody = json.loads(zf.read("custody.json"))
    for name in tops:
        assert f"\n{name}" in section, f"docs/export.md does not describe the bundle's {name}"
    for key in (*manifest, *custody, *custody["items"][0]):
        assert f"`{key}`" in section, f"docs/export.md does not describe the bundle's key {key}"


def test_a_bundle_with_originals_carries_the_files_kept_with_the_items(cli: Cli, tmp_path: Path) -> None:
    from tests.mediagen import make_image

    folder = tmp_path / "post"
    folder.mkdir()
    make_image(folder / "photo.jpg")
    sidecar = folder / "photo.jpg.json"
    sidecar.write_text(json.dumps({"category": "telegram", "url": "https://t.me/kursk_now/123"}))
    assert cli("add", str(folder)).exit_code == 0
    kept = hashlib.sha256(sidecar.read_bytes()).hexdigest()
    path = tmp_path / "case.zip"
    _bundle(cli, path, "--with-originals")
    with zipfile.ZipFile(path) as zf:
        assert zf.read(f"attachments/{kept}") == sidecar.read_bytes()  # byte for byte, named by its hash
    code, out = _verify(cli, path)
    assert code == 0 and out["ok"], out

    # a forger who removes it, or plants another, and signs again with a key of their own: named
    for change, caught in (({f"attachments/{kept}": None}, f"attachments/: {kept} is kept with an item but "
                            "not in the bundle"),
                           ({f"attachments/{'0' * 64}": b"planted"}, f"attachments/{'0' * 64}: not an "
                            "attachment of any item")):
        forged = tmp_path / "forged.zip"
        _forge(path, forged, change, own_key=True)
        result = cli("verify-bundle", str(forged))
        assert result.exit_code == 1 and caught in result.output, result.output
    plain = tmp_path / "plain.zip"  # without --with-originals: no attachment files, and none missed
    _bundle(cli, plain)
    with zipfile.ZipFile(plain) as zf:
        assert not [n for n in zf.namelist() if n.startswith("attachments/")]
    assert _verify(cli, plain)[0] == 0
