"""Content Credentials (C2PA): files signed here with c2pa-python and a throwaway CA are read into the item's
metadata, shown by `show`, the desk and the report (hostile text inert, escaped); a damaged manifest is an
error entry, not a failed item; a remote manifest is never fetched."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from tests import mediagen
from tests.conftest import Cli
from vericount.media.c2pa import (
    MAX_LISTED,
    TRUST_NOTE,
    credentials_warning,
    read_credentials,
    summarise,
    summary_lines,
)

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_TITLE = "<script>alert(1)</script>\x1b[31m"
CREATED = {"action": "c2pa.created", "softwareAgent": "TestCam 1.0", "when": "2024-08-07T11:03:22Z",
           "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Throwaway Test CA")])


def _usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=sign, crl_sign=sign,
                         encipher_only=False, decipher_only=False)


@pytest.fixture(scope="module")
def signer_pems() -> tuple[bytes, bytes]:
    """An ES256 leaf (digitalSignature, emailProtection EKU) issued by a throwaway CA: c2pa refuses a
    self-signed signing certificate. Returns (leaf + CA chain, leaf key), PEM."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject: str, issuer: x509.Name, public: Any, signing: Any, ca: bool) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer).public_key(public)
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(_usage(sign=ca), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
        if not ca:
            b = (b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                                 critical=False)
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                critical=False))
        return b.sign(signing, hashes.SHA256())

    root = cert("Test Root", _name("Test Root"), ca_key.public_key(), ca_key, ca=True)
    leaf = cert("Test Signer", root.subject, key.public_key(), ca_key, ca=False)
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, root))
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    return chain, pkcs8


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def sign(pems: tuple[bytes, bytes], out: Path, *, title: str = "photo.jpg", actions: list[Any] | None = None,
         parent: Path | None = None, remote_url: str | None = None, source: bytes | None = None) -> Path:
    """A JPEG signed with a manifest: claim generator "vericount-test 1.0", the title and actions given."""
    manifest = {"claim_generator_info": [{"name": "vericount-test", "version": "1.0"}], "title": title,
                "assertions": [{"label": "c2pa.actions", "data": {"actions": actions or [CREATED]}}]}
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, *pems, None))
    with signer, c2pa.Builder(manifest) as builder:
        if parent is not None:
            with parent.open("rb") as fh:
                ingredient = {"title": "original.jpg", "relationship": "parentOf", "label": "parent"}
                builder.add_ingredient(ingredient, "image/jpeg", fh)
        if remote_url is not None:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        signed = io.BytesIO()
        builder.sign(signer, "image/jpeg", io.BytesIO(source or _jpeg()), signed)
    out.write_bytes(signed.getvalue())
    return out


def damage(path: Path, out: Path, needle: bytes, replacement: bytes | None = None) -> Path:
    """A copy of a signed JPEG with the first `needle` inside its APP11 (JUMBF) segment replaced by
    `replacement` (same length), or its bytes inverted."""
    data = bytearray(path.read_bytes())
    app11 = data.find(b"\xff\xeb")
    at = data.find(needle, app11)
    assert app11 > 0 and at > app11
    data[at:at + len(needle)] = replacement or bytes(b ^ 0xFF for b in needle)
    out.write_bytes(bytes(data))
    return out


def credentials(path: Path) -> Any:
    """read_credentials() on a file that has some, checked to be standard JSON."""
    found = read_credentials(path)
    assert found is not None
    json.dumps(found, allow_nan=False)
    return found


# ---------------------------------------------------------------- read_credentials


def test_signed_jpeg_is_summarised(signer_pems: tuple[bytes, bytes], tmp_path: Path) -> None:
    c = credentials(sign(signer_pems, tmp_path / "s.jpg", title=HOSTILE_TITLE))
    assert c["claim_generator"] == "vericount-test 1.0"
    assert c["title"] == HOSTILE_TITLE  # stored as the file says; made inert where shown
    assert c["signer"] == {"issuer": "Throwaway Test CA", "common_name": "Test Signer", "alg": "Es256",
                           "serial": c["signer"]["serial"]}
    assert c["signed_at"] is None  # no time-stamp authority was used
    assert c["actions"] == [{"action": "c2pa.created", "software_agent": "TestCam 1.0",
                             "when": "2024-08-07T11:03:22Z", "digital_source_type": "digitalCapture"}]
    assert c["ingredients"] == [] and c["manifests"] == 1
    # The signature and hashes check out; no trust list is configured, so the signer is untrusted.
    assert c["validation_state"] == "Valid"
    assert c["failures"] == ["signingCredential.untrusted"] and c["trust"] == TRUST_NOTE
    assert credentials_warning(c) is None


def test_edited_file_lists_its_ingredient_and_actions(signer_pems: tuple[bytes, bytes],
                                                      tmp_path: Path) -> None:
    original = sign(signer_pems, tmp_path / "o.jpg", title="original.jpg")
    edited = sign(signer_pems, tmp_path / "e.jpg", title="edited.jpg", parent=original, actions=[
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
        {"action": "c2pa.edited", "softwareAgent": {"name": "Editor", "version": "2"},
         "when": "2024-08-08T10:00:00Z"}])
    c = credentials(edited)
    assert c["manifests"] == 2 and c["title"] == "edited.jpg"
    assert c["ingredients"] == [{"title": "original.jpg", "relationship": "parentOf", "format": "image/jpeg"}]
    assert [a["action"] for a in c["actions"]] == ["c2pa.opened", "c2pa.edited"]
    assert c["actions"][1]["software_agent"] == "Editor 2"
    lines = summary_lines({"c2pa": c})
    assert "ingredient original.jpg (parentOf, image/jpeg)" in lines
    assert "action c2pa.edited by Editor 2 at 2024-08-08T10:00:00Z" in lines


def test_files_without_a_manifest_have_none(tmp_path: Path) -> None:
    assert read_credentials(mediagen.make_image(tmp_path / "plain.jpg")) is None
    assert read_credentials(mediagen.make_image(tmp_path / "plain.png")) is None
    assert read_credentials(mediagen.make_video(tmp_path / "plain.mp4")) is None
    assert read_credentials(mediagen.make_video(tmp_path / "plain.mkv")) is None  # a format c2pa cannot read
    assert summary_lines({"format": "JPEG"}) == [] and summary_lines(None) == []


def test_damaged_manifest_is_an_error_entry(signer_pems: tuple[bytes, bytes], tmp_path: Path) -> None:
    signed = sign(signer_pems, tmp_path / "s.jpg")
    broken = credentials(damage(signed, tmp_path / "broken.jpg", b"jumd"))
    assert set(broken) == {"error"}
    error = str(broken["error"])
    assert error.startswith("unreadable Content Credentials (") and "\n" not in error
    assert str(tmp_path) not in error  # the caller names the file
    warning = credentials_warning(broken)
    assert warning is not None and warning.startswith("Content Credentials: unreadable")
    # Readable, but an assertion no longer matches its hash: the library says Invalid, and why.
    tampered = credentials(damage(signed, tmp_path / "tampered.jpg", b"TestCam", b"FakeCam"))
    assert tampered["validation_state"] == "Invalid"
    assert "assertion.hashedURI.mismatch" in tampered["failures"]
    assert credentials_warning(tampered) == (
        "Content Credentials do not validate: assertion.hashedURI.mismatch, signingCredential.untrusted")


@pytest.fixture
def web() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request (and answers 404): the base URL and the paths asked."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_remote_manifest_is_never_fetched(signer_pems: tuple[bytes, bytes], tmp_path: Path,
                                          web: tuple[str, list[str]]) -> None:
    base, asked = web
    path = sign(signer_pems, tmp_path / "remote.jpg", remote_url=f"{base}/manifest.c2pa")
    c = read_credentials(path)
    assert c == {"error": f"the manifest is stored remotely ({base}/manifest.c2pa) and was not fetched",
                 "remote_url": f"{base}/manifest.c2pa"}
    assert asked == []
    with path.open("rb") as fh, pytest.raises(c2pa.C2paError):  # the library's default would fetch it
        c2pa.Reader(fh)
    assert asked == ["/manifest.c2pa"]


def test_summary_of_a_hostile_store_is_bounded_and_typed() -> None:
    signature = {"issuer": "A\x00B", "common_name": "x" * 1000, "time": "2024-08-07T11:03:22+00:00"}
    actions = {"actions": [{"action": f"a{i}"} for i in range(60)]}
    store = {
        "active_manifest": "m",
        "manifests": {"m": {
            "claim_generator": "OldTool/1.0 c2pa-rs/0.20", "title": ["not", "text"],
            "signature_info": signature,
            "assertions": [{"label": "c2pa.actions", "data": actions},
                           {"label": "c2pa.actions.v2", "data": "junk"}, "junk"],
            "ingredients": [{"title": "i"}, 7]}},
        "validation_status": [{"code": "claimSignature.mismatch"}] * 2 + ["junk"],
    }
    c: Any = summarise(store)
    json.dumps(c, allow_nan=False)
    assert c["claim_generator"] == "OldTool/1.0 c2pa-rs/0.20" and c["title"] is None
    assert c["signer"]["issuer"] == "AB" and len(c["signer"]["common_name"]) == 256
    assert c["signed_at"] == "2024-08-07T11:03:22+00:00"
    assert len(c["actions"]) == MAX_LISTED and c["actions_not_listed"] == 10
    assert c["ingredients"] == [{"title": "i", "relationship": None, "format": None}, {"title": "7"}]
    assert c["failures"] == ["claimSignature.mismatch"] and c["validation_state"] is None
    lines = summary_lines({"c2pa": c})
    assert "signed by " + "x" * 255 + "… (issuer AB), time-stamped 2024-08-07T11:03:22+00:00" in lines
    assert "10 more actions not listed" in lines


def test_every_summary_field_is_documented(signer_pems: tuple[bytes, bytes], tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "metadata.md").read_text(encoding="utf-8")
    c = credentials(sign(signer_pems, tmp_path / "s.jpg"))
    keys = [*c, "actions_not_listed", "ingredients_not_listed", "error", "remote_url",
            *c["signer"], *c["actions"][0]]
    for key in keys:
        assert f"`{key}`" in doc, f"docs/metadata.md does not document the c2pa field {key!r}"


# ---------------------------------------------------------------- through the case: add, show, desk, report


@pytest.fixture
def signed_case(cli: Cli, signer_pems: tuple[bytes, bytes], tmp_path: Path) -> Cli:
    media = tmp_path / "media"
    media.mkdir()
    signed = sign(signer_pems, media / "signed.jpg", title=HOSTILE_TITLE)
    damage(signed, media / "damaged.jpg", b"jumd")
    mediagen.make_image(media / "plain.jpg")
    added = cli("add", str(media))
    assert added.exit_code == 0, added.output
    return cli


def _shown(cli: Cli, name: str) -> dict[str, Any]:
    result = cli("show", name, "--json")
    assert result.exit_code == 0, result.output
    item: dict[str, Any] = json.loads(result.stdout)
    return item


def test_add_reads_credentials_into_the_metadata(signed_case: Cli) -> None:
    signed = _shown(signed_case, "signed.jpg")
    assert signed["stages"]["metadata"]["status"] == "done" and signed["stages"]["metadata"]["version"] == "2"
    c = signed["metadata"]["c2pa"]
    assert (c["claim_generator"], c["title"]) == ("vericount-test 1.0", HOSTILE_TITLE)
    assert [a["action"] for a in c["actions"]] == ["c2pa.created"]
    assert "c2pa" not in _shown(signed_case, "plain.jpg")["metadata"]
    damaged = _shown(signed_case, "damaged.jpg")  # stored and probed all the same
    assert damaged["stages"]["metadata"]["status"] == "done" and damaged["metadata"]["format"] == "JPEG"
    assert damaged["metadata"]["c2pa"]["error"].startswith("unreadable Content Credentials")
    assert damaged["stages"]["metadata"]["note"].startswith("Content Credentials: unreadable")


def test_show_prints_the_credentials_inert(signed_case: Cli) -> None:
    out = signed_case("show", "signed.jpg").stdout
    assert f"  Content Credentials (C2PA): Valid; signer {TRUST_NOTE}" in out
    assert "  validation failures: signingCredential.untrusted" in out
    assert "  signed by Test Signer (issuer Throwaway Test CA), Es256, no time-stamp" in out
    assert "  claim generator: vericount-test 1.0" in out
    assert "  title: <script>alert(1)</script>\\x1b[31m" in out  # shown escaped, not acted on
    assert "  action c2pa.created by TestCam 1.0 at 2024-08-07T11:03:22Z (digitalCapture)" in out
    assert "\x1b" not in out and "c2pa: {" not in out
    assert "Content Credentials (C2PA): unreadable" in signed_case("show", "damaged.jpg").stdout
    assert "Content Credentials" not in signed_case("show", "plain.jpg").stdout


def _assert_escaped(page: str) -> None:
    assert "<script>alert(1)</script>" not in page and "\x1b" not in page
    assert "title: &lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31m" in page


def test_desk_item_page_shows_the_credentials_escaped(signed_case: Cli) -> None:
    from fastapi.testclient import TestClient

    from vericount.case import Case
    from vericount.desk.app import create_app
    from vericount.desk.users import add_user
    from vericount.items import show

    with Case.open(signed_case.case_dir, actor="tester") as case:
        add_user(case, "vic", "viewer", "correct horse battery")
        c = TestClient(create_app(case), base_url="http://127.0.0.1")
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
        assert token is not None
        c.post("/login", data={"name": "vic", "password": "correct horse battery", "csrf": token.group(1),
                                "next": "/"})
        page = c.get(f"/items/{show(case, 'signed.jpg').id}").text
        assert "<h2>Content Credentials</h2>" in page and "Content Credentials (C2PA): Valid" in page
        _assert_escaped(page)
        assert "<h2>Content Credentials</h2>" not in c.get(f"/items/{show(case, 'plain.jpg').id}").text


def test_report_lists_the_credentials_escaped(signed_case: Cli) -> None:
    from vericount.case import Case
    from vericount.report.build import gather, render_html

    with Case.open(signed_case.case_dir, actor="tester") as case:
        page = render_html(gather(case))
    assert 'id="credentials">Content Credentials</h3>' in page and "2 item(s) carry a C2PA manifest" in page
    assert "signed.jpg" in page and "Content Credentials (C2PA): unreadable" in page
    _assert_escaped(page)
