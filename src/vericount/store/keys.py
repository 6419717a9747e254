"""The case key: an Ed25519 key pair that signs what leaves the case (the evidence bundle).

    DIR/keys/case-ed25519.pem       the private key (PKCS#8 PEM, mode 0600): never exported
    DIR/keys/case-ed25519.pub.pem   the public key (SubjectPublicKeyInfo PEM): hand it out freely

Its fingerprint is the SHA-256 of the 32-byte raw public key, in hex. The public key and fingerprint are
also kept in case.json, in the case_info table and in the audit log (``case.init``, or ``case.key`` for a
case made before vericount made keys), so replacing the key shows in ``vericount verify``; what pins it
for someone outside is the fingerprint they recorded (``verify-bundle --key``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vericount.errors import CaseError, InvalidValue

ALGORITHM = "ed25519"
KEYS = "keys"
PRIVATE = "case-ed25519.pem"
PUBLIC = "case-ed25519.pub.pem"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PublicKey:
    """A case's public key: the raw 32 bytes, with its fingerprint."""

    raw: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    def pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def to_json(self) -> dict[str, str]:
        return {"algorithm": ALGORITHM, "public_key": self.b64, "fingerprint": self.fingerprint}

    def verifies(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def private_path(root: Path) -> Path:
    return root / KEYS / PRIVATE


def generate(root: Path) -> PublicKey:
    """Make the case's key pair in ``root/keys`` (refused if one is there); returns the public key."""
    folder = root / KEYS
    folder.mkdir(mode=0o700, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(folder / PRIVATE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CaseError(f"{folder / PRIVATE} already exists; not replacing a case key") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    public = PublicKey(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw))
    (folder / PUBLIC).write_bytes(public.pem())
    return public


def load_private(root: Path) -> Ed25519PrivateKey:
    path = private_path(root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CaseError(f"{path} is missing: the case key cannot sign") from None
    except OSError as exc:
        raise CaseError(f"{path} cannot be read ({exc.strerror})") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CaseError(f"{path} is not a readable private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CaseError(f"{path} is not an Ed25519 private key")
    return key


def public_of(key: Ed25519PrivateKey) -> PublicKey:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PublicKey(raw)


def from_b64(text: str) -> PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise InvalidValue(f"public key {text[:20]!r}: not base64") from exc
    if len(raw) != 32:
        raise InvalidValue(f"public key: {len(raw)} bytes, an Ed25519 key has 32")
    return PublicKey(raw)


def from_pem(data: bytes, where: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InvalidValue(f"{where}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidValue(f"{where}: not an Ed25519 public key")
    return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def from_case_file(info: dict[str, Any], where: str) -> PublicKey | None:
    """The public key recorded in a case.json (None when the case has none yet)."""
    entry = info.get("key")
    if entry is None:
        return None
    if not isinstance(entry, dict) or entry.get("algorithm") != ALGORITHM or \
            not isinstance(entry.get("public_key"), str):
        raise InvalidValue(f"{where}: its 'key' is not an {ALGORITHM} public key")
    return from_b64(entry["public_key"])


def expected_fingerprint(value: str) -> str:
    """What ``--key`` names, as a fingerprint: a case folder, its case.json, a PEM public key file, or the
    fingerprint itself (64 hex digits; colons and spaces are ignored)."""
    path = Path(value)
    if path.is_dir():
        path = path / "case.json"
        if not path.is_file():
            raise InvalidValue(f"--key {value}: a folder, but not a case (no case.json)")
    if path.is_file():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidValue(f"--key {value}: cannot be read ({exc.strerror})") from exc
        if data.lstrip().startswith(b"-----BEGIN"):
            return from_pem(data, f"--key {value}").fingerprint
        try:
            info = json.loads(data)
        except ValueError:
            info = None
        if isinstance(info, dict):
            key = from_case_file(info, f"--key {value}")
            if key is None:
                raise InvalidValue(f"--key {value}: that case has no key yet")
            return key.fingerprint
        text = data.decode("ascii", "replace")
    else:
        text = value
    clean = re.sub(r"[\s:]", "", text).lower()
    if not _HEX64.fullmatch(clean):
        raise InvalidValue(f"--key {value!r}: not a case folder, case.json, PEM public key file or 64-hex "
                           "fingerprint")
    return clean
