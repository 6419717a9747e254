"""sniff(): file type from the first bytes and the name."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from vericount.errors import UnsupportedFile
from vericount.media.sniff import HEAD_SIZE, FileType, looks_like_html, sniff

from . import mediagen


def head_of(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(HEAD_SIZE)


def sniff_file(path: Path, name: str | None = None) -> FileType:
    return sniff(head_of(path), name or path.name)


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08free"


IMAGES = [
    (".jpg", "image/jpeg", "JPEG"),
    (".png", "image/png", "PNG"),
    (".webp", "image/webp", "WebP"),
    (".tif", "image/tiff", "TIFF"),
    (".bmp", "image/bmp", "BMP"),
    (".gif", "image/gif", "GIF"),
    (".heic", "image/heic", "HEIC"),
    (".avif", "image/avif", "AVIF"),
]
VIDEOS = [
    (".mp4", "video/mp4", "MP4"),
    (".mov", "video/quicktime", "MOV"),
    (".mkv", "video/x-matroska", "MKV"),
    (".webm", "video/webm", "WebM"),
    (".avi", "video/x-msvideo", "AVI"),
    (".3gp", "video/3gpp", "3GP"),
]


@pytest.mark.parametrize(("suffix", "media_type", "label"), IMAGES)
def test_generated_images_are_recognised_by_content(
    tmp_path: Path, suffix: str, media_type: str, label: str
) -> None:
    path = mediagen.make_image(tmp_path / f"picture{suffix}")
    expected = FileType("image", media_type, label)
    assert sniff_file(path) == expected
    # The content decides, whatever the name says.
    assert sniff_file(path, "renamed.bin") == expected
    assert sniff_file(path, "renamed.mp4") == expected


@pytest.mark.parametrize(("suffix", "media_type", "label"), VIDEOS)
def test_generated_videos_are_recognised_by_content(
    tmp_path: Path, suffix: str, media_type: str, label: str
) -> None:
    path = mediagen.make_video(tmp_path / f"clip{suffix}", seconds=0.3)
    expected = FileType("video", media_type, label)
    assert sniff_file(path) == expected
    assert sniff_file(path, "no_extension") == expected


def test_animated_gif_is_an_image_at_sniff_time(tmp_path: Path) -> None:
    path = mediagen.make_animated_gif(tmp_path / "anim.gif")
    assert sniff_file(path) == FileType("image", "image/gif", "GIF")


def test_magic_beats_extension(tmp_path: Path) -> None:
    jpeg = mediagen.make_image(tmp_path / "photo.jpg")
    mkv = mediagen.make_video(tmp_path / "clip.mkv", seconds=0.3)
    assert sniff_file(jpeg, "photo.png").label == "JPEG"
    assert sniff_file(jpeg, "report.txt").label == "JPEG"
    assert sniff_file(mkv, "clip.mp4") == FileType("video", "video/x-matroska", "MKV")
    mov = mediagen.make_video(tmp_path / "clip.mov", seconds=0.3)
    assert sniff_file(mov, "clip.mp4").label == "MOV"


@pytest.mark.parametrize(
    ("head", "label", "media_type"),
    [
        (ftyp(b"heic", b"mif1", b"heic"), "HEIC", "image/heic"),
        (ftyp(b"mif1", b"mif1", b"heic"), "HEIC", "image/heic"),
        (ftyp(b"heix", b"mif1"), "HEIC", "image/heic"),
        (ftyp(b"mif1", b"mif1", b"miaf"), "HEIF", "image/heif"),
        (ftyp(b"msf1", b"msf1"), "HEIF", "image/heif"),
        (ftyp(b"avif", b"mif1", b"miaf"), "AVIF", "image/avif"),
        (ftyp(b"mif1", b"avif", b"miaf"), "AVIF", "image/avif"),
        (ftyp(b"qt  ", b"qt  "), "MOV", "video/quicktime"),
        (ftyp(b"mp42", b"isom", b"mp42"), "MP4", "video/mp4"),
        (ftyp(b"isom", b"isom", b"avc1"), "MP4", "video/mp4"),
        (ftyp(b"M4V ", b"M4V ", b"M4A ", b"mp42"), "MP4", "video/mp4"),
        (ftyp(b"3gp4", b"3gp4", b"isom"), "3GP", "video/3gpp"),
        (ftyp(b"3g2a", b"3g2a"), "3G2", "video/3gpp2"),
        (ftyp(b"XAVC", b"XAVC", b"mp42"), "MP4", "video/mp4"),
    ],
)
def test_iso_bmff_brands(head: bytes, label: str, media_type: str) -> None:
    found = sniff(head, "file.dat")
    assert (found.label, found.media_type) == (label, media_type)
    assert found.kind == ("video" if media_type.startswith("video/") else "image")


def test_audio_brand_is_refused() -> None:
    with pytest.raises(UnsupportedFile, match=r"\(\.m4a, content looks like M4A audio\)"):
        sniff(ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "song.m4a")


def test_unknown_brand_falls_back_to_extension() -> None:
    head = ftyp(b"zzzz", b"zzzz")
    assert sniff(head, "clip.MOV").label == "MOV"
    with pytest.raises(UnsupportedFile, match="ISO media of brand 'zzzz'"):
        sniff(head, "clip.xyz")


@pytest.mark.parametrize(
    ("name", "label"),
    [("x.mp4", "MP4"), ("X.MP4", "MP4"), ("clip.MoV", "MOV"), ("a.webm", "WebM"), ("a.3gp", "3GP"),
     ("IMG_0001.JPG", "JPEG"), ("IMG_0001.HEIC", "HEIC"), ("scan.tiff", "TIFF")],
)  # fmt: skip
def test_bytes_of_no_known_type_are_refused_whatever_the_extension(
    tmp_path: Path, name: str, label: str
) -> None:
    path = mediagen.random_bytes(tmp_path / name)
    ext = Path(name).suffix.lower()
    assert f"({ext}, content looks like binary data, not {label})" in _refusal(head_of(path), name)


@pytest.mark.parametrize(
    ("head", "seen"),
    [(b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP archive (or an Office/ODF document)"),
     (b"\x7fELF\x02\x01\x01" + bytes(57), "ELF executable"),
     (b"%PDF-1.7\n", "PDF"),
     (b"Ukraine said it captured 102 soldiers.\n", "text")],
)  # fmt: skip
@pytest.mark.parametrize(("name", "label"), [("photo.jpg", "JPEG"), ("clip.mp4", "MP4"), ("a.gif", "GIF")])
def test_a_known_other_type_renamed_as_media_is_refused(head: bytes, seen: str, name: str,
                                                        label: str) -> None:
    ext = Path(name).suffix
    assert f"({ext}, content looks like {seen}, not {label}); " in _refusal(head, name)


@pytest.mark.parametrize(
    ("head", "seen"),
    [(b"PK\x03\x04\x14\x00", "ZIP archive (or an Office/ODF document)"),
     (b"\x7fELF\x02\x01\x01" + bytes(57), "ELF executable"),
     (b"\x00\x13\x37\x42binary\x00\x01", "binary data")],
)  # fmt: skip
def test_binary_named_as_a_text_report_is_refused(head: bytes, seen: str) -> None:
    assert f"(.txt, content looks like {seen}, not TXT)" in _refusal(head, "notes.txt")
    assert f"(.html, content looks like {seen}, not HTML)" in _refusal(head, "page.html")


def test_text_in_other_encodings_is_a_text_report() -> None:
    assert sniff("Україна заявила".encode("cp1251"), "report.txt").label == "TXT"
    assert sniff("\ufeffUkraine said".encode("utf-16-le"), "report.txt").label == "TXT"
    assert sniff("\ufeffUkraine said".encode("utf-16-be"), "report.text").label == "TXT"


def test_quicktime_without_a_file_type_box_is_mov_unless_named_otherwise() -> None:
    head = b"\x00\x00\x00\x08wide\x00\x10\x00\x00mdat" + bytes(64)
    assert sniff(head, "old.mov").label == "MOV"
    assert sniff(head, "old").label == "MOV"
    assert sniff(head, "old.mp4").label == "MP4"
    assert sniff(b"\x00\x00\x01\x00moov" + bytes(64), "old.qt").label == "MOV"


@pytest.mark.parametrize(
    ("name", "media_type", "label"),
    [
        ("notes.txt", "text/plain", "TXT"),
        ("notes.TEXT", "text/plain", "TXT"),
        ("page.html", "text/html", "HTML"),
        ("page.HTM", "text/html", "HTML"),
    ],
)
def test_text_reports_by_extension(name: str, media_type: str, label: str) -> None:
    assert sniff(b"Some report text\nwith lines\n", name) == FileType("text", media_type, label)


@pytest.mark.parametrize(
    "head",
    [
        b"<!DOCTYPE html>\n<html><head><title>x</title>",
        b"<!doctype HTML><html>",
        b"\xef\xbb\xbf  \n\t<html lang='en'>",
        b"<html>",
        "\ufeff<!DOCTYPE html><html>".encode("utf-16-le"),
    ],
)
def test_html_content_is_recognised_whatever_the_name(head: bytes) -> None:
    assert looks_like_html(head)
    assert sniff(head, "saved_page.dat") == FileType("text", "text/html", "HTML")


def test_html_lookalikes_are_not_html() -> None:
    assert not looks_like_html(b"<htmlx>")
    assert not looks_like_html(b"text before <html>")
    assert not looks_like_html(b"")


def test_text_starting_with_bm_is_not_a_bmp() -> None:
    assert sniff(b"BMW sightings on the bridge, 14:00\n", "log.txt").label == "TXT"


def _refusal(head: bytes, name: str) -> str:
    with pytest.raises(UnsupportedFile) as info:
        sniff(head, name)
    message = str(info.value)
    assert "\n" not in message
    assert "vericount takes images (JPEG, PNG, WebP, HEIC, TIFF, BMP, GIF)" in message
    assert name not in message  # the caller prefixes the file name
    return message


def test_pdf_is_refused() -> None:
    message = _refusal(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "secret-dossier.pdf")
    assert message.startswith("unsupported file type (.pdf, content looks like PDF); ")
    assert message.endswith("videos (MP4, MOV, MKV, WebM, AVI, 3GP) and TXT/HTML reports")


def test_docx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "statement.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert "(.docx, content looks like ZIP archive" in _refusal(head_of(path), path.name)


def test_executables_are_refused() -> None:
    elf = b"\x7fELF\x02\x01\x01" + bytes(57)
    assert "(no extension, content looks like ELF executable)" in _refusal(elf, "tool")
    assert "(.exe, content looks like Windows executable)" in _refusal(b"MZ\x90\x00", "setup.exe")
    assert "(.exe, content looks like ELF executable)" in _refusal(elf, "setup.exe")


def test_unknown_text_extension_is_refused() -> None:
    message = _refusal(b"T1\tPerson 10 20 30 40\tsoldier\n", "frame_0001.ann")
    assert "(.ann, content looks like text)" in message


def test_unknown_binary_is_refused(tmp_path: Path) -> None:
    path = mediagen.random_bytes(tmp_path / "blob.dat")
    assert "(.dat, content looks like binary data)" in _refusal(head_of(path), path.name)


def test_empty_head_is_refused() -> None:
    assert "(.mp4, content looks like empty, not MP4)" in _refusal(b"", "empty.mp4")
    assert "(.txt, content looks like empty, not TXT)" in _refusal(b"", "empty.txt")
    assert "(.xyz, content looks like empty)" in _refusal(b"", "empty.xyz")


@pytest.mark.parametrize(
    ("head", "name", "label"),
    [(b"\xff", "x.jpg", "JPEG"), (b"\x89PNG", "x.png", "PNG"), (b"RIFF", "x.webp", "WebP"),
     (b"RIFF\x00\x00\x00\x00WE", "x.avi", "AVI"), (b"\x00\x00\x00\x08ftyp", "x.mp4", "MP4"),
     (b"BM\x00", "x.bmp", "BMP"), (b"GIF8", "x.gif", "GIF"), (b"\x1a\x45", "x.webm", "WebM")],
)  # fmt: skip
def test_a_file_cut_inside_its_magic_is_its_type_when_the_name_agrees(head: bytes, name: str,
                                                                     label: str) -> None:
    assert sniff(head, name).label == label  # kept as evidence; the probe records the failure
    _refusal(head, "x.mkv" if label != "WebM" else "x.png")  # the name disagrees: too little to tell
    with pytest.raises(UnsupportedFile):
        sniff(head, "x.unknown")


def test_wav_and_mpeg_ts_are_named() -> None:
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt "
    assert "content looks like WAV audio" in _refusal(wav, "call.wav")
    ts = (b"\x47" + bytes(187)) * 4
    assert "content looks like MPEG transport stream" in _refusal(ts, "00001.mts")


def test_file_type_is_a_frozen_value() -> None:
    found = sniff(b"\xff\xd8\xff\xe0", "a.jpg")
    with pytest.raises(AttributeError):
        found.kind = "video"  # type: ignore[misc]
    assert len({found, sniff(b"\xff\xd8\xff\xe1", "b.jpeg")}) == 1
