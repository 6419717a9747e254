"""probe(): technical metadata of generated videos, images and text reports."""

from __future__ import annotations

import json
import pickle
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest

from vericount.errors import ProbeError, UnsupportedFile
from vericount.media.probe import Probed, probe
from vericount.media.sniff import HEAD_SIZE, Kind, sniff

from . import mediagen

SHARED = Path(__file__).resolve().parents[2] / "shared"


def run_probe(path: Path, kind: Kind, **kwargs: Any) -> Probed:
    """probe() on a generated file, checking what every result must satisfy."""
    assert SHARED not in path.resolve().parents, "tests use generated media, never the shared data folder"
    result = probe(path, kind, **kwargs)
    json.dumps(result.metadata, allow_nan=False)  # JSON-serialisable, no NaN
    assert all("\n" not in w for w in result.warnings)
    return result


def refusal(path: Path, kind: Kind, **kwargs: Any) -> str:
    with pytest.raises(ProbeError) as info:
        probe(path, kind, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) not in message  # the caller names the file
    return message


# ---------------------------------------------------------------------------------------- video

CONTAINERS = [
    (".mp4", "h264", "mov,mp4,m4a,3gp,3g2,mj2"),
    (".mov", "h264", "mov,mp4,m4a,3gp,3g2,mj2"),
    (".mkv", "h264", "matroska,webm"),
    (".webm", "vp8", "matroska,webm"),
    (".avi", "mpeg4", "avi"),
    (".3gp", "h264", "mov,mp4,m4a,3gp,3g2,mj2"),
]


@pytest.mark.parametrize(("suffix", "codec", "container"), CONTAINERS)
def test_video_basics(tmp_path: Path, suffix: str, codec: str, container: str) -> None:
    path = mediagen.make_video(tmp_path / f"clip{suffix}", seconds=2.0, size=(64, 48), fps=10)
    result = run_probe(path, "video")
    md = result.metadata
    assert result.kind == "video"
    assert result.warnings == ()
    assert md["container"] == container
    assert md["duration_s"] == pytest.approx(2.0, abs=0.15)
    assert md["frame_rate"] == pytest.approx(10.0)
    assert md["frame_rate_nominal"] == pytest.approx(10.0)
    assert (md["width"], md["height"]) == (64, 48)
    assert (md["display_width"], md["display_height"]) == (64, 48)
    assert md["codec"] == codec
    assert md["pixel_format"] == "yuv420p"
    assert md["rotation"] == 0
    assert md["variable_frame_rate"] is False
    assert md["frames_checked"] == 20
    assert (md["video_streams"], md["audio_streams"]) == (1, 0)
    assert md["audio"] == {"present": False, "codec": None, "sample_rate": None, "channels": None}
    assert md["gps"] is None
    assert md["creation_time"] is None
    assert isinstance(md["raw_tags"], dict)
    assert all(isinstance(v, str) for v in md["raw_tags"].values())


def test_mp4_tags(tmp_path: Path) -> None:
    md = run_probe(mediagen.make_video(tmp_path / "clip.mp4"), "video").metadata
    assert md["major_brand"] == "isom"
    assert md["handler_names"] == ["VideoHandler"]
    assert str(md["encoder"]).startswith("Lavf")
    assert md["raw_tags"]["container.major_brand"] == "isom"
    assert md["raw_tags"]["stream0.handler_name"] == "VideoHandler"


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm"])
@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_display_rotation(tmp_path: Path, suffix: str, rotation: int) -> None:
    path = mediagen.make_video(tmp_path / f"r{suffix}", seconds=0.5, size=(64, 48), rotation=rotation)
    md = run_probe(path, "video").metadata
    assert md["rotation"] == rotation
    assert (md["width"], md["height"]) == (64, 48)
    expected = (48, 64) if rotation in (90, 270) else (64, 48)
    assert (md["display_width"], md["display_height"]) == expected


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_location_and_creation_time(tmp_path: Path, suffix: str) -> None:
    path = mediagen.make_video(
        tmp_path / f"geo{suffix}",
        location="-33.4489-070.6693+520.5/",
        creation_time="2024-08-07T11:03:22Z",
    )
    md = run_probe(path, "video").metadata
    gps = md["gps"]
    assert isinstance(gps, dict)
    assert gps["lat"] == pytest.approx(-33.4489)
    assert gps["lon"] == pytest.approx(-70.6693)
    assert gps["alt"] == pytest.approx(520.5)
    assert str(gps["raw"]).startswith("-33.4489-070.6693")
    assert md["creation_time"] == "2024-08-07T11:03:22+00:00"


def test_apple_quicktime_keys(tmp_path: Path) -> None:
    apple = {
        "com.apple.quicktime.location.accuracy.horizontal": "4.7",
        "com.apple.quicktime.location.ISO6709": "+37.3349-122.0090+012.345/",
        "com.apple.quicktime.make": "Apple",
        "com.apple.quicktime.model": "iPhone 15",
        "com.apple.quicktime.software": "17.5.1",
        "com.apple.quicktime.creationdate": "2024-08-07T14:03:22+0300",
    }
    path = mediagen.make_video(tmp_path / "IMG_0001.MOV", seconds=0.5, tags=apple)
    result = run_probe(path, "video")
    md = result.metadata
    assert result.warnings == ()
    assert md["gps"] == {"lat": 37.3349, "lon": -122.009, "alt": 12.345, "raw": "+37.3349-122.0090+012.345/"}
    assert (md["make"], md["model"]) == ("Apple", "iPhone 15")
    assert str(md["encoder"]).startswith("Lavf")  # the last writer; the iOS version stays in raw_tags
    assert md["raw_tags"]["container.com.apple.quicktime.software"] == "17.5.1"
    assert md["creation_date_local"] == "2024-08-07T14:03:22+03:00"
    assert md["major_brand"] == "qt"


def test_location_without_altitude_and_in_degrees_minutes(tmp_path: Path) -> None:
    plain = mediagen.make_video(tmp_path / "a.mov", seconds=0.3, location="+51.7308+036.1920/")
    assert run_probe(plain, "video").metadata["gps"] == {
        "lat": 51.7308,
        "lon": 36.192,
        "raw": "+51.7308+036.1920/",
    }
    # ISO 6709 also allows ±DDMM.MM±DDDMM.MM: 51°43.848' = 51.7308°.
    minutes = mediagen.make_video(tmp_path / "b.mov", seconds=0.3, location="+5143.848+03611.520/")
    gps = run_probe(minutes, "video").metadata["gps"]
    assert isinstance(gps, dict)
    assert (gps["lat"], gps["lon"]) == (pytest.approx(51.7308), pytest.approx(36.192))


def test_unreadable_location_is_a_warning(tmp_path: Path) -> None:
    path = mediagen.make_video(tmp_path / "a.mov", seconds=0.3, location="somewhere near Kharkiv")
    result = run_probe(path, "video")
    assert result.metadata["gps"] is None
    assert result.warnings == ("unreadable location tag 'somewhere near Kharkiv'",)


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "aac"), (".mkv", "aac"), (".webm", "opus")])
def test_audio_present(tmp_path: Path, suffix: str, codec: str) -> None:
    md = run_probe(mediagen.make_video(tmp_path / f"a{suffix}", audio=True), "video").metadata
    assert md["audio"] == {
        "present": True,
        "codec": codec,
        "sample_rate": 48000 if codec == "opus" else 16000,
        "channels": 1,
    }
    assert (md["video_streams"], md["audio_streams"]) == (1, 1)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".gif"])
def test_variable_frame_rate(tmp_path: Path, suffix: str) -> None:
    vfr = run_probe(mediagen.make_video(tmp_path / f"vfr{suffix}", vfr=True), "video").metadata
    cfr = run_probe(mediagen.make_video(tmp_path / f"cfr{suffix}"), "video").metadata
    assert vfr["variable_frame_rate"] is True
    assert cfr["variable_frame_rate"] is False
    # 10 frames of 50/150/100/30 ms intervals: the last one starts at 0.78 s.
    assert vfr["duration_s"] == pytest.approx(0.81, abs=0.06)


def test_vfr_scan_is_bounded_by_vfr_packets(tmp_path: Path) -> None:
    path = mediagen.make_video(tmp_path / "clip.mp4", seconds=3.0)
    assert run_probe(path, "video", vfr_packets=7).metadata["frames_checked"] == 7
    # B-frames arrive out of pts order; sorting keeps a CFR clip CFR.
    assert run_probe(path, "video", vfr_packets=7).metadata["variable_frame_rate"] is False


def test_audio_only_is_not_a_failure(tmp_path: Path) -> None:
    result = run_probe(mediagen.make_audio_only(tmp_path / "voice.mp4"), "video")
    md = result.metadata
    assert result.kind == "video"
    assert result.warnings == ("no video stream (audio only)",)
    assert (md["video_streams"], md["audio_streams"]) == (0, 1)
    assert md["width"] is None
    assert md["rotation"] is None
    assert md["audio"] == {"present": True, "codec": "aac", "sample_rate": 16000, "channels": 1}
    assert md["duration_s"] == pytest.approx(1.0, abs=0.1)


def test_truncated_mp4_is_refused(tmp_path: Path) -> None:
    full = mediagen.make_video(tmp_path / "clip.mp4", seconds=2.0)
    assert refusal(mediagen.truncate(full, 0.5), "video") == "truncated video: moov atom not found"


def test_truncated_mkv_with_some_packets_warns(tmp_path: Path) -> None:
    full = mediagen.make_video(tmp_path / "clip.mkv", seconds=4.0)
    result = run_probe(mediagen.truncate(full, 0.5), "video")
    assert len(result.warnings) == 1
    assert result.warnings[0].endswith("the file looks truncated")
    assert result.metadata["duration_s"] == pytest.approx(4.0, abs=0.15)


def test_mkv_cut_in_its_header_is_refused(tmp_path: Path) -> None:
    full = mediagen.make_video(tmp_path / "clip.mkv", seconds=2.0)
    assert refusal(mediagen.truncate(full, 0.05), "video").startswith("not a decodable video (")


def test_random_bytes_named_mp4_are_refused_by_sniff_and_by_probe(tmp_path: Path) -> None:
    path = mediagen.random_bytes(tmp_path / "noise.mp4")
    with pytest.raises(UnsupportedFile, match="content looks like binary data, not MP4"):
        sniff(path.read_bytes()[:HEAD_SIZE], path.name)
    assert refusal(path, "video") == "not a decodable video (Invalid data found when processing input)"


def test_names_are_not_ffmpeg_protocols_and_playlists_are_not_followed(tmp_path: Path) -> None:
    colon = mediagen.copy_as(mediagen.make_video(tmp_path / "a.mp4", seconds=0.3), "concat:a.mp4")
    assert run_probe(colon, "video").metadata["codec"] == "h264"
    target = mediagen.make_video(tmp_path / "target.mp4", seconds=0.3)
    playlist = tmp_path / "3f7a9c0e51d2"  # stored originals have no extension
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{target}\n#EXT-X-ENDLIST\n")
    assert refusal(playlist, "video").startswith("not a decodable video (")


def test_missing_file_is_a_probe_error(tmp_path: Path) -> None:
    assert refusal(tmp_path / "gone.mp4", "video").startswith("cannot open the file (")
    assert refusal(tmp_path / "gone.txt", "text").startswith("cannot read the file (")


# ---------------------------------------------------------------------------------------- GIF


def test_animated_gif_becomes_a_video(tmp_path: Path) -> None:
    path = mediagen.make_animated_gif(tmp_path / "loop.gif", frames=5, duration_ms=100)
    result = run_probe(path, "image")
    md = result.metadata
    assert result.kind == "video"
    assert result.warnings == ()
    assert md["image_format"] == "GIF"
    assert md["container"] == "gif"
    assert md["frame_count"] == 5
    assert md["duration_s"] == pytest.approx(0.5, abs=0.02)
    assert md["frame_rate"] == pytest.approx(10.0)
    assert md["variable_frame_rate"] is False
    assert (md["width"], md["height"]) == (64, 48)


def test_single_frame_gif_stays_an_image(tmp_path: Path) -> None:
    for path in (
        mediagen.make_animated_gif(tmp_path / "one.gif", frames=1),
        mediagen.make_image(tmp_path / "still.gif"),
    ):
        result = run_probe(path, "image")
        assert result.kind == "image"
        assert (result.metadata["format"], result.metadata["n_frames"]) == ("GIF", 1)
        assert result.metadata["animated"] is False


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.85, 0.999])
def test_truncated_animated_gif_is_refused_or_flagged(tmp_path: Path, keep: float) -> None:
    # Cut inside a frame, Pillow fails to count frames; cut between frames, the trailer is missing.
    path = mediagen.truncate(mediagen.make_animated_gif(tmp_path / "loop.gif", frames=8), keep)
    try:
        result = run_probe(path, "image")
    except ProbeError as exc:
        assert str(exc).startswith(("image data ends early or is corrupt (", "image data is truncated ("))
    else:
        assert "GIF trailer missing: the file looks truncated" in result.warnings


# ---------------------------------------------------------------------------------------- image

EXIF = {
    "make": "Apple",
    "model": "iPhone 12",
    "software": "17.5.1",
    "lens_model": "iPhone 12 back camera 4.2mm f/1.6",
    "datetime_original": "2024:08:07 14:03:22",
    "offset_time_original": "+03:00",
    "datetime_digitized": "2024:08:07 14:03:23",
    "gps": (-33.4489, -70.6693, 520.0),
    "gps_timestamp": ("2024:08:07", (11, 3, 22)),
}


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_exif_fields(tmp_path: Path, suffix: str) -> None:
    result = run_probe(mediagen.make_image(tmp_path / f"photo{suffix}", exif=EXIF), "image")
    md = result.metadata
    assert result.warnings == ()
    assert (md["make"], md["model"], md["software"]) == ("Apple", "iPhone 12", "17.5.1")
    assert md["lens"] == "iPhone 12 back camera 4.2mm f/1.6"
    assert md["datetime_original"] == {"value": "2024-08-07T14:03:22+03:00", "timezone": "+03:00"}
    assert md["datetime_digitized"] == {
        "value": "2024-08-07T14:03:23",
        "timezone": None,
        "note": "local time of unknown zone",
    }
    assert md["gps"] == {
        "lat": pytest.approx(-33.4489),
        "lon": pytest.approx(-70.6693),
        "alt": pytest.approx(520.0),
        "timestamp": "2024-08-07T11:03:22+00:00",
    }
    raw = md["raw_tags"]
    assert isinstance(raw, dict)
    assert raw["Make"] == "Apple"
    assert raw["DateTimeOriginal"] == "2024:08:07 14:03:22"
    assert (raw["GPSLatitudeRef"], raw["GPSLongitudeRef"]) == ("S", "W")


def test_datetime_without_offset_is_never_called_utc(tmp_path: Path) -> None:
    exif = {"make": "Canon", "datetime_original": "2024:08:07 14:03:22", "gps": (48.5, 35.25)}
    md = run_probe(mediagen.make_image(tmp_path / "p.jpg", exif=exif), "image").metadata
    original = md["datetime_original"]
    assert original == {
        "value": "2024-08-07T14:03:22",
        "timezone": None,
        "note": "local time of unknown zone",
    }
    assert "Z" not in json.dumps(original)
    assert "+00:00" not in json.dumps(original)
    assert md["gps"] == {"lat": 48.5, "lon": 35.25}  # N/E positive, no altitude, no timestamp


def test_gps_below_sea_level_and_impossible_gps_time(tmp_path: Path) -> None:
    exif = {"gps": (10.0, 20.0, -12.5), "gps_timestamp": ("2024:08:07", (25, 3, 22))}
    md = run_probe(mediagen.make_image(tmp_path / "p.jpg", exif=exif), "image").metadata
    assert md["gps"] == {"lat": 10.0, "lon": 20.0, "alt": -12.5}  # no timestamp: 25 h is not a time


def test_gps_with_zero_denominators_is_a_warning(tmp_path: Path) -> None:
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    exif = mediagen.build_exif({"make": "X", "gps": (10.0, 20.0)})
    exif.get_ifd(0x8825)[2] = (IFDRational(1, 0), IFDRational(0, 0), IFDRational(5, 0))
    path = tmp_path / "p.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif.tobytes())
    result = run_probe(path, "image")
    assert result.metadata["gps"] is None
    assert result.warnings == ("GPS block present but its latitude/longitude are unreadable",)


def test_unreadable_exif_date_is_a_warning(tmp_path: Path) -> None:
    exif = {"datetime_original": "0000:00:00 00:00:00"}
    result = run_probe(mediagen.make_image(tmp_path / "p.jpg", exif=exif), "image")
    assert result.metadata["datetime_original"] is None
    assert result.warnings == ("unreadable EXIF date '0000:00:00 00:00:00'",)


def test_no_exif(tmp_path: Path) -> None:
    md = run_probe(mediagen.make_image(tmp_path / "plain.jpg"), "image").metadata
    for field in ("make", "model", "software", "lens", "datetime_original", "gps", "orientation"):
        assert md[field] is None
    assert md["raw_tags"] == {}  # Pillow writes a JFIF header but no string info for this JPEG


@pytest.mark.parametrize(("orientation", "swapped"), [(1, False), (3, False), (6, True), (8, True)])
def test_exif_orientation_gives_display_size(tmp_path: Path, orientation: int, swapped: bool) -> None:
    path = mediagen.make_image(tmp_path / "o.jpg", size=(80, 40), exif={"orientation": orientation})
    md = run_probe(path, "image").metadata
    assert md["orientation"] == orientation
    assert (md["width"], md["height"]) == (80, 40)
    assert (md["display_width"], md["display_height"]) == ((40, 80) if swapped else (80, 40))


@pytest.mark.parametrize(
    ("name", "mode", "fmt", "bit_depth"),
    [
        ("rgba.png", "RGBA", "PNG", 8),
        ("gray16.png", "I;16", "PNG", 16),
        ("rgb16.png", "RGB;16", "PNG", 16),
        ("cmyk.jpg", "CMYK", "JPEG", 8),
        ("gray.jpg", "L", "JPEG", 8),
        ("rgb.bmp", "RGB", "BMP", 8),
        ("rgb.webp", "RGB", "WEBP", 8),
        ("rgb.avif", "RGB", "AVIF", 8),
        ("cmyk.tif", "CMYK", "TIFF", 8),
    ],
)
def test_image_modes(tmp_path: Path, name: str, mode: str, fmt: str, bit_depth: int) -> None:
    result = run_probe(mediagen.make_image(tmp_path / name, mode=mode), "image")
    md = result.metadata
    assert result.kind == "image"
    assert md["format"] == fmt
    assert md["mode"] == ("RGB" if mode == "RGB;16" else mode)  # Pillow reads 48-bit RGB as 8-bit
    assert md["bit_depth"] == bit_depth
    assert (md["width"], md["height"], md["n_frames"]) == (64, 48, 1)
    assert str(md["decode_check"]).startswith("decoded")


def test_heic(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("encoders"):
        pytest.skip("this pillow-heif wheel has no HEIC encoder")
    path = mediagen.make_image(tmp_path / "IMG_0001.heic", exif=EXIF)
    assert sniff(path.read_bytes()[:HEAD_SIZE], path.name).label == "HEIC"
    md = run_probe(path, "image").metadata
    assert (md["format"], md["width"], md["height"], md["bit_depth"]) == ("HEIF", 64, 48, 8)
    assert md["make"] == "Apple"
    assert md["datetime_original"] == {"value": "2024-08-07T14:03:22+03:00", "timezone": "+03:00"}
    assert isinstance(md["gps"], dict)
    assert md["gps"]["lat"] == pytest.approx(-33.4489)


def test_png_text_chunks_are_raw_tags(tmp_path: Path) -> None:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Source", "Telegram channel export")
    path = tmp_path / "t.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert run_probe(path, "image").metadata["raw_tags"] == {"info.Source": "Telegram channel export"}


def test_binary_maker_note_is_summarised(tmp_path: Path) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[271] = "Nikon"
    exif.get_ifd(0x8769)[37500] = bytes(range(256)) * 4  # MakerNote
    path = tmp_path / "m.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif.tobytes())
    raw = run_probe(path, "image").metadata["raw_tags"]
    assert isinstance(raw, dict)
    assert raw["MakerNote"] == "<1024 bytes>"


def test_corrupt_exif_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    from PIL import Image

    # One IFD entry (Make, ASCII, 64 bytes) whose data offset points past the end of the block.
    tiff = b"II*\x00\x08\x00\x00\x00" + b"\x01\x00" + b"\x0f\x01\x02\x00\x40\x00\x00\x00\xff\x00\x00\x00"
    path = tmp_path / "bad_exif.jpg"
    Image.new("RGB", (16, 16)).save(path, exif=b"Exif\x00\x00" + tiff + bytes(4))
    result = run_probe(path, "image")
    assert result.metadata["make"] is None
    assert result.warnings == ("image reader: Tag data larger than file. Skipping tag 271",)


def test_bomb_png_is_refused_quickly_without_allocating(tmp_path: Path) -> None:
    path = mediagen.make_bomb_png(tmp_path / "bomb.png")
    assert path.stat().st_size < 1000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = refusal(path, "image")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == (
        "image declares 100000 x 100000 pixels (10000.0 megapixels), over the 250-megapixel "
        "safety limit; stored but not decoded"
    )
    assert elapsed < 1.0
    assert peak < 20_000_000


def test_pixel_limit_is_a_parameter_and_pillow_settings_are_restored(tmp_path: Path) -> None:
    from PIL import Image, ImageFile

    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    path = mediagen.make_image(tmp_path / "p.png", size=(100, 50))
    assert "over the 0.004-megapixel safety limit" in refusal(path, "image", max_image_pixels=4000)
    assert run_probe(path, "image", max_image_pixels=5000).metadata["width"] == 100
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_is_refused(tmp_path: Path, keep: float) -> None:
    full = mediagen.make_image(tmp_path / "photo.jpg", size=(320, 240), exif={"make": "Canon"})
    message = refusal(mediagen.truncate(full, keep), "image")
    assert message.startswith("image data is truncated (image file is truncated")


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_other_truncated_images_are_refused(tmp_path: Path, suffix: str) -> None:
    full = mediagen.make_image(tmp_path / f"p{suffix}", size=(160, 120))
    assert refusal(mediagen.truncate(full, 0.7), "image").startswith("image data is truncated (")


def test_random_bytes_named_jpg_are_refused(tmp_path: Path) -> None:
    path = mediagen.random_bytes(tmp_path / "noise.jpg")
    assert refusal(path, "image") == "not a readable image (no image format recognises the content)"


# ----------------------------------------------------------------------------------------- text


def test_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text("Près de Koursk,\n120 prisonniers.\nFin", encoding="utf-8")
    result = run_probe(path, "text")
    assert result.kind == "text"
    assert result.warnings == ()
    assert result.metadata == {
        "format": "TXT",
        "encoding": "utf-8",
        "bytes": len("Près de Koursk,\n120 prisonniers.\nFin".encode()),
        "chars": 36,
        "lines": 3,
        "title": None,
    }


def test_utf8_bom_and_utf16(tmp_path: Path) -> None:
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\n")
    md = run_probe(bom, "text").metadata
    assert (md["encoding"], md["chars"], md["lines"]) == ("utf-8 with BOM", 10, 2)
    wide = tmp_path / "wide.txt"
    wide.write_bytes("один\nдва".encode("utf-16"))  # BOM + little-endian on this machine
    md = run_probe(wide, "text").metadata
    assert (md["encoding"], md["chars"], md["lines"]) == ("utf-16-le with BOM", 8, 2)
    big_endian = tmp_path / "be.txt"
    big_endian.write_bytes(b"\xfe\xff" + "hi\n".encode("utf-16-be"))
    assert run_probe(big_endian, "text").metadata["encoding"] == "utf-16-be with BOM"


def test_eight_bit_text_is_counted_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("Приказ №1\n".encode("cp1251"))
    result = run_probe(path, "text")
    assert result.metadata["encoding"] == "unknown 8-bit"
    assert (result.metadata["chars"], result.metadata["lines"]) == (10, 1)
    assert result.warnings == ("text is not valid UTF-8; counted as single-byte characters",)


def test_html_title(tmp_path: Path) -> None:
    path = tmp_path / "article.html"
    path.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>\n<TITLE data-x='1'>  Captured:\n"
        "  &quot;dozens&quot; &amp; more </TITLE><script>alert(1)</script></head><body>x</body></html>",
        encoding="utf-8",
    )
    md = run_probe(path, "text").metadata
    assert (md["format"], md["title"]) == ("HTML", 'Captured: "dozens" & more')


def test_html_by_content_and_without_title(tmp_path: Path) -> None:
    by_content = tmp_path / "saved.txt"
    by_content.write_text("<html><body>no title here</body></html>")
    assert run_probe(by_content, "text").metadata["format"] == "HTML"
    assert run_probe(by_content, "text").metadata["title"] is None


def test_binary_named_txt_is_refused(tmp_path: Path) -> None:
    path = mediagen.random_bytes(tmp_path / "notes.txt")
    with pytest.raises(UnsupportedFile, match="content looks like binary data, not TXT"):
        sniff(path.read_bytes()[:HEAD_SIZE], path.name)
    assert refusal(path, "text") == "not text: binary data (NUL bytes) in the first 8 KiB"


def test_empty_text(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert run_probe(path, "text").metadata["chars"] == 0


def test_big_text_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    line = "Donetsk oblast, column of vehicles, no casualties reported. " * 2 + "\n"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(line * (20_000_000 // len(line) + 1))
    tracemalloc.start()
    try:
        md = run_probe(path, "text").metadata
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert md["bytes"] == path.stat().st_size > 20_000_000
    assert md["lines"] == 20_000_000 // len(line) + 1
    assert peak < 16_000_000


# ------------------------------------------------------------------------------------- plumbing


@pytest.mark.parametrize(
    ("make", "kind", "check"),
    [
        (lambda d: mediagen.make_video(d / "a.mp4", rotation=90), "video", ("rotation", 90)),
        (lambda d: mediagen.make_video(d / "a.mkv"), "video", ("container", "matroska,webm")),
        (lambda d: mediagen.make_video(d / "a.webm"), "video", ("codec", "vp8")),
        (lambda d: mediagen.make_video(d / "a.avi"), "video", ("container", "avi")),
        (lambda d: mediagen.make_animated_gif(d / "a.gif"), "image", ("frame_count", 5)),
        (lambda d: mediagen.make_image(d / "a.jpg", exif={"make": "Sony"}), "image", ("make", "Sony")),
        (lambda d: mediagen.make_image(d / "a.heic"), "image", ("format", "HEIF")),
        (lambda d: mediagen.make_image(d / "a.webp"), "image", ("format", "WEBP")),
    ],
)
def test_stored_originals_have_no_extension(tmp_path: Path, make: Any, kind: Kind, check: Any) -> None:
    # The evidence store keeps originals as evidence/<ab>/<sha256>: probe must not need the suffix.
    stored = mediagen.copy_as(make(tmp_path), "3f7a9c0e51d2")
    field, expected = check
    assert run_probe(stored, kind).metadata[field] == expected


def test_html_without_extension_or_doctype(tmp_path: Path) -> None:
    path = tmp_path / "3f7a9c0e51d2"
    path.write_text("<!-- saved 2024-08-07 -->\n<head><title>Report</title></head><body>…</body>")
    md = run_probe(path, "text").metadata
    assert (md["format"], md["title"]) == ("HTML", "Report")
    plain = tmp_path / "0badc0ffee"
    plain.write_text("Plain report that mentions no tags at all.\n")
    assert run_probe(plain, "text").metadata["format"] == "TXT"


def test_video_frames_over_the_pixel_limit_are_not_decoded(tmp_path: Path) -> None:
    path = mediagen.make_video(tmp_path / "r.mp4", size=(64, 48), rotation=90)
    result = run_probe(path, "video", max_image_pixels=1000)
    assert result.metadata["rotation"] is None
    assert (result.metadata["display_width"], result.metadata["display_height"]) == (64, 48)
    assert result.warnings == ("display rotation unknown (no frame decoded)",)
    assert result.metadata["frames_checked"] == 10


def test_probe_runs_in_a_worker_process(tmp_path: Path) -> None:
    video = mediagen.make_video(tmp_path / "clip.mp4", seconds=0.5)
    bomb = mediagen.make_bomb_png(tmp_path / "bomb.png")
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        result = pool.submit(probe, video, "video").result(timeout=60)
        with pytest.raises(ProbeError, match="safety limit"):
            pool.submit(probe, bomb, "image").result(timeout=60)
    assert result.metadata["codec"] == "h264"
    assert pickle.loads(pickle.dumps(result)) == result


def test_every_metadata_field_is_documented(tmp_path: Path) -> None:
    docs = (Path(__file__).parents[1] / "docs" / "metadata.md").read_text(encoding="utf-8")
    text = tmp_path / "r.html"
    text.write_text("<html><title>t</title></html>")
    results = [
        run_probe(mediagen.make_video(tmp_path / "v.mp4", audio=True, location="+1+2/"), "video"),
        run_probe(mediagen.make_animated_gif(tmp_path / "a.gif"), "image"),
        run_probe(mediagen.make_image(tmp_path / "i.jpg", exif=EXIF), "image"),
        run_probe(text, "text"),
    ]
    keys = {key for r in results for key in r.metadata}
    for r in results:
        for nested in ("gps", "audio", "datetime_original"):
            if isinstance(r.metadata.get(nested), dict):
                keys |= set(r.metadata[nested])
    undocumented = sorted(k for k in keys if f"`{k}`" not in docs and f'"{k}"' not in docs)
    assert not undocumented


def test_tests_do_not_read_shared_data() -> None:
    here = Path(__file__).parent
    forbidden = ("/work/" + "shared", "../" + "shared")
    for name in ("test_probe.py", "test_sniff.py", "mediagen.py"):
        text = (here / name).read_text(encoding="utf-8")
        assert not any(f in text for f in forbidden), name
