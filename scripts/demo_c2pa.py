"""A photo with Content Credentials (C2PA) for the demo: a drawn picture (no people), signed with c2pa-python
by a throwaway CA made here. Never a real signer: its certificates live a day and its keys are discarded.

    python scripts/demo_c2pa.py OUT.jpg
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image, ImageDraw


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vericount demo (throwaway)")])


def _pems() -> tuple[bytes, bytes]:
    """An ES256 signing certificate issued by a throwaway CA (c2pa refuses a self-signed one)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject: str, issuer: x509.Name, public: Any, ca: bool) -> x509.Certificate:
        usage = x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                              encipher_only=False, decipher_only=False)
        b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer).public_key(public)
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(usage, critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
        if not ca:
            email = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION])
            b = (b.add_extension(email, critical=False)
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                critical=False))
        return b.sign(ca_key, hashes.SHA256())

    root = cert("Demo Root", _name("Demo Root"), ca_key.public_key(), ca=True)
    leaf = cert("Demo Newsroom Camera", root.subject, key.public_key(), ca=False)
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, root))
    return chain, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())


def main(out: Path) -> None:
    picture = Image.new("RGB", (640, 360), (90, 120, 150))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 250, 640, 360), fill=(70, 70, 60))
    draw.rectangle((240, 90, 400, 170), fill=(20, 90, 40))
    draw.text((262, 120), "SUDZHA  12 km", fill=(240, 240, 240))
    raw = io.BytesIO()
    picture.save(raw, "JPEG", quality=90)
    manifest = {"claim_generator_info": [{"name": "vericount demo camera app", "version": "1.0"}],
                "title": "road_sign.jpg",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created", "softwareAgent": "vericount demo camera app 1.0",
                     "when": "2024-08-08T06:40:00Z",
                     "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]}
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, *_pems(), None))
    with signer, c2pa.Builder(manifest) as builder:
        signed = io.BytesIO()
        builder.sign(signer, "image/jpeg", io.BytesIO(raw.getvalue()), signed)
    out.write_bytes(signed.getvalue())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
