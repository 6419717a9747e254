"""Decide what kind of file this is from its first bytes; the name only settles what the bytes leave open.

The content decides. Rules, in order: (1) magic bytes that identify a supported format decide, whatever
the name; (2) bytes of a supported container that do not say which member of its family they are (an ISO
media file of an unknown brand, a QuickTime file without a file-type box, a RIFF or ISO header cut short)
take the type the extension names within that family; (3) a head shorter than a supported format's
magic, which begins that magic, is that format when the extension agrees (a truncated file, kept as
evidence; its probe then records the failure); (4) text (no NUL bytes, or a UTF-16/32 byte-order mark)
with a .txt/.text/.html/.htm name is a text report; (5) everything else is refused with
`UnsupportedFile`, naming the extension and what the content looks like: a ZIP archive or an ELF
executable named .jpg is "content looks like ZIP archive, not JPEG", and nothing is stored for it.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from vericount.errors import UnsupportedFile

Kind = Literal["image", "video", "text"]
HEAD_SIZE = 4096  # bytes the caller reads first and passes in

ACCEPTED = (
    "vericount takes images (JPEG, PNG, WebP, HEIC, TIFF, BMP, GIF), "
    "videos (MP4, MOV, MKV, WebM, AVI, 3GP) and TXT/HTML reports"
)


@dataclass(frozen=True)
class FileType:
    kind: Kind
    media_type: str  # MIME type, e.g. "video/mp4"
    label: str  # short format name, e.g. "MP4", "JPEG", "HEIC"


JPEG = FileType("image", "image/jpeg", "JPEG")
PNG = FileType("image", "image/png", "PNG")
WEBP = FileType("image", "image/webp", "WebP")
HEIC = FileType("image", "image/heic", "HEIC")
HEIF = FileType("image", "image/heif", "HEIF")
AVIF = FileType("image", "image/avif", "AVIF")
TIFF = FileType("image", "image/tiff", "TIFF")
BMP = FileType("image", "image/bmp", "BMP")
GIF = FileType("image", "image/gif", "GIF")
MP4 = FileType("video", "video/mp4", "MP4")
MOV = FileType("video", "video/quicktime", "MOV")
MKV = FileType("video", "video/x-matroska", "MKV")
WEBM = FileType("video", "video/webm", "WebM")
AVI = FileType("video", "video/x-msvideo", "AVI")
GP3 = FileType("video", "video/3gpp", "3GP")
GP3_2 = FileType("video", "video/3gpp2", "3G2")
TXT = FileType("text", "text/plain", "TXT")
HTML = FileType("text", "text/html", "HTML")

MEDIA_EXTENSIONS: dict[str, FileType] = {
    **dict.fromkeys((".jpg", ".jpeg", ".jpe", ".jfif"), JPEG),
    ".png": PNG,
    ".webp": WEBP,
    **dict.fromkeys((".heic", ".hif"), HEIC),
    ".heif": HEIF,
    ".avif": AVIF,
    **dict.fromkeys((".tif", ".tiff"), TIFF),
    ".bmp": BMP,
    ".gif": GIF,
    **dict.fromkeys((".mp4", ".m4v"), MP4),
    **dict.fromkeys((".mov", ".qt"), MOV),
    ".mkv": MKV,
    ".webm": WEBM,
    ".avi": AVI,
    ".3gp": GP3,
    ".3g2": GP3_2,
}
TEXT_EXTENSIONS: dict[str, FileType] = {".txt": TXT, ".text": TXT, ".html": HTML, ".htm": HTML}

# ISO BMFF (ftyp) brands, checked on the major brand first, then on the compatible brands.
_HEIC_BRANDS = frozenset({"heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"})
_AVIF_BRANDS = frozenset({"avif", "avis"})
_HEIF_BRANDS = frozenset({"mif1", "msf1", "mif2", "miaf"})
_MP4_BRANDS = frozenset(
    {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9", "mp41", "mp42",
     "avc1", "hvc1", "dash", "m4v ", "m4vh", "m4vp", "f4v ", "mmp4", "xavc", "msnv", "ndas",
     "mp71", "cmfc", "cmf2", "caqv", "mqt "}
)  # fmt: skip
_BRAND_TYPES: dict[str, FileType | str] = {
    **dict.fromkeys(_HEIC_BRANDS, HEIC),
    **dict.fromkeys(_AVIF_BRANDS, AVIF),
    **dict.fromkeys(_MP4_BRANDS, MP4),
    "qt  ": MOV,
    "m4a ": "M4A audio",
    "m4b ": "M4B audiobook",
    "m4p ": "M4P audio",
    "crx ": "Canon CR3 raw image",
}
_SIMPLE_MAGIC: tuple[tuple[bytes, FileType], ...] = (
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    *((magic, TIFF) for magic in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
)

_HTML_START = re.compile(rb"\s*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})

# Formats we recognise only to refuse them with a helpful message.
_UNSUPPORTED_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "PDF"),
    (0, b"PK\x03\x04", "ZIP archive (or an Office/ODF document)"),
    (0, b"PK\x05\x06", "ZIP archive"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"MZ", "Windows executable"),
    (0, b"\xca\xfe\xba\xbe", "Mach-O or Java class file"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (0, b"Rar!\x1a\x07", "RAR archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (0, b"\x1f\x8b", "gzip data"),
    (0, b"BZh", "bzip2 data"),
    (0, b"\xfd7zXZ\x00", "xz data"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office document"),
    (0, b"{\\rtf", "RTF document"),
    (0, b"ID3", "MP3 audio"),
    (0, b"fLaC", "FLAC audio"),
    (0, b"OggS", "Ogg media"),
    (0, b"FLV\x01", "Flash video"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "ASF/WMV video"),
    (0, b"\x00\x00\x01\xba", "MPEG program stream"),
    (0, b"\x00\x00\x01\xb3", "MPEG video"),
    (0, b"8BPS", "Photoshop document"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (0, b"\xff\x0a", "JPEG XL"),
    (0, b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)


_TRUNCATED_ISO = "truncated ISO media"
_QUICKTIME_NO_FTYP = "QuickTime media without a file-type box"
_TRUNCATED_RIFF = "truncated RIFF data"
_UNKNOWN_BRAND = "ISO media of brand"
_ISO_FAMILY = frozenset({MP4, MOV, GP3, GP3_2, HEIC, HEIF, AVIF})
# Atoms a QuickTime file may start with when it has no ftyp box (files written before ftyp existed).
_QT_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_TRUNCATABLE: tuple[tuple[bytes, FileType], ...] = (
    *_SIMPLE_MAGIC, (b"\x1a\x45\xdf\xa3", MKV), (b"\x1a\x45\xdf\xa3", WEBM), (b"BM", BMP))


def _family(found: str) -> frozenset[FileType]:
    """What a recognised container that does not say which of its formats it is may be (rule 2)."""
    if found in (_TRUNCATED_ISO, _QUICKTIME_NO_FTYP) or found.startswith(_UNKNOWN_BRAND):
        return _ISO_FAMILY
    return frozenset({WEBP, AVI}) if found == _TRUNCATED_RIFF else frozenset()


def _truncated_magic(head: bytes) -> set[FileType]:
    """The formats whose magic ``head`` begins but is too short to hold (or, for BMP, to check)."""
    return {ftype for magic, ftype in _TRUNCATABLE
            if head and len(head) < (18 if ftype is BMP else len(magic))
            and (magic.startswith(head) or head.startswith(magic))}


def _is_text(head: bytes) -> bool:
    """Text in some encoding: no NUL byte, or a UTF-16/UTF-32 byte-order mark (whose text has NULs)."""
    return bool(head) and (b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff")))


def sniff(head: bytes, name: str) -> FileType:
    """Return the file type decided from `head` (the first bytes) and the file `name`.

    Raises `UnsupportedFile` when the content is not a supported kind, whatever the name says.
    """
    ext = PurePath(name).suffix.lower()
    found = _by_magic(head, ext)
    if isinstance(found, FileType):
        return found
    named = MEDIA_EXTENSIONS.get(ext) or TEXT_EXTENSIONS.get(ext)
    if found is not None and named in _family(found):
        return named  # rule 2: the container does not say which of its formats; the name does
    if found == _QUICKTIME_NO_FTYP:
        return MOV
    if found is None and named is not None and named.kind == "text" and _is_text(head):
        return named
    if found is None and named in _truncated_magic(head):
        return named
    seen = found or _describe_unknown(head)
    where = ext or "no extension"
    mismatch = f", not {named.label}" if named is not None else ""
    raise UnsupportedFile(f"unsupported file type ({where}, content looks like {seen}{mismatch}); "
                          f"{ACCEPTED}")


def looks_like_html(head: bytes) -> bool:
    """True when the content starts (after an optional BOM and whitespace) like an HTML page."""
    text = _strip_bom_to_ascii(head)
    return _HTML_START.match(text) is not None


def _by_magic(head: bytes, ext: str) -> FileType | str | None:
    """A supported FileType, a description of a recognised unsupported format, or None."""
    for magic, ftype in _SIMPLE_MAGIC:
        if head.startswith(magic):
            return ftype
    for check in (_riff, _bmp, _bmff, _quicktime, _matroska, _html):
        found = check(head, ext)
        if found is not None:
            return found
    for offset, magic, label in _UNSUPPORTED_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return label
    return "MPEG transport stream" if _is_mpeg_ts(head) else None


def _riff(head: bytes, _ext: str) -> FileType | str | None:
    if head[:4] != b"RIFF":
        return None
    if len(head) < 12:
        return _TRUNCATED_RIFF
    fourcc = head[8:12]
    known: dict[bytes, FileType | str] = {b"WEBP": WEBP, b"AVI ": AVI, b"WAVE": "WAV audio"}
    return known.get(fourcc, f"RIFF data ({fourcc.decode('latin-1')!r})")


def _bmp(head: bytes, _ext: str) -> FileType | None:
    # "BM" alone is too weak (text can start with it): also require a known DIB header size.
    if head[:2] != b"BM" or len(head) < 18:
        return None
    (dib_size,) = struct.unpack_from("<I", head, 14)
    return BMP if dib_size in _BMP_DIB_SIZES else None


def _ftyp_brands(head: bytes) -> tuple[str, list[str]]:
    """Major and compatible brands of an ISO BMFF `ftyp` box at the start of `head` (lowercased)."""
    (size,) = struct.unpack_from(">I", head, 0)
    end = min(len(head), max(size, 16))
    major = head[8:12].decode("latin-1").lower()
    compatible = [head[i : i + 4].decode("latin-1").lower() for i in range(16, end - 3, 4)]
    return major, compatible


def _bmff(head: bytes, _ext: str) -> FileType | str | None:
    if head[4:8] != b"ftyp":
        return None
    if len(head) < 12:
        return _TRUNCATED_ISO
    major, compatible = _ftyp_brands(head)
    image_brands = set(compatible) & (_HEIC_BRANDS | _AVIF_BRANDS)
    for brand in (major, *compatible):
        found = _BRAND_TYPES.get(brand)
        if found is None and brand.startswith(("3gp", "3gg", "3gs", "3ge", "3g2")):
            found = GP3_2 if brand.startswith("3g2") else GP3
        if found is None and brand in _HEIF_BRANDS and not image_brands:
            found = HEIF
        if found is not None:
            return found
    return f"{_UNKNOWN_BRAND} {major.strip()!r}"


def _quicktime(head: bytes, _ext: str) -> str | None:
    if len(head) < 8 or head[4:8] not in _QT_ATOMS:
        return None
    (size,) = struct.unpack_from(">I", head, 0)
    return _QUICKTIME_NO_FTYP if size in (0, 1) or size >= 8 else None


def _matroska(head: bytes, ext: str) -> FileType | None:
    if head[:4] != b"\x1a\x45\xdf\xa3":
        return None
    # EBML header: the DocType element (ID 0x4282) holds "webm" or "matroska".
    match = re.search(rb"\x42\x82[\x80-\xff](webm|matroska)", head[:64])
    if match:
        return WEBM if match.group(1) == b"webm" else MKV
    return WEBM if ext == ".webm" else MKV


def _html(head: bytes, _ext: str) -> FileType | None:
    return HTML if looks_like_html(head) else None


def _is_mpeg_ts(head: bytes) -> bool:
    return len(head) >= 3 * 188 and all(head[i] == 0x47 for i in range(0, 3 * 188, 188))


def _strip_bom_to_ascii(head: bytes) -> bytes:
    """The first bytes as (roughly) ASCII, whatever the BOM; good enough to match a prefix."""
    if head.startswith(b"\xef\xbb\xbf"):
        return head[3:256]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        return head[2:512].decode(codec, errors="replace").encode("ascii", errors="replace")
    return head[:256]


def _describe_unknown(head: bytes) -> str:
    if not head:
        return "empty"
    if b"\x00" not in head[:8192]:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the head is still text.
            if exc.start < len(head) - 3:
                return "binary data"
        return "text"
    return "binary data"
