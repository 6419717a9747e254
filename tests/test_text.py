"""Text in the footage: the ocr stage on a generated clip with text burned in, the sources it proposes, the
lines a reviewer marks, and `vericount search` over every text of the case (SQLite FTS5 and PostgreSQL)."""

from __future__ import annotations

import json
import os
from difflib import SequenceMatcher
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import Cli
from vericount.text.ocr import OcrStage, installed_langs

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf")
HAVE_TESSERACT = {"rus", "ukr", "eng"} <= set(installed_langs()) and FONT.is_file()
if not HAVE_TESSERACT and os.environ.get("VERICOUNT_REQUIRE_SYSTEM") == "1":
    raise RuntimeError("tesseract-ocr and fonts-dejavu-core are required here (VERICOUNT_REQUIRE_SYSTEM=1)")
needs_tesseract = pytest.mark.skipif(not HAVE_TESSERACT, reason="tesseract-ocr is not installed")

SHOTS = [  # (seconds, background, [(text, x, y, size)])
    (2.0, (40, 70, 50), [("@kursk_now", 20, 16, 26), ("Пленные под Суджей", 60, 300, 30)]),
    (2.0, (90, 60, 40), [("We are conscripts", 60, 300, 30), ("t.me/kursk_now/123", 360, 16, 22)]),
]


def make_clip(path: Path, fps: int = 10) -> Path:
    """A 640 x 360 clip of two shots, each with its own text burned in."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for seconds, colour, texts in SHOTS:
            picture = Image.new("RGB", (640, 360), colour)
            draw = ImageDraw.Draw(picture)
            for text, x, y, size in texts:
                font = ImageFont.truetype(str(FONT), size)
                box = draw.textbbox((x, y), text, font=font)
                draw.rectangle((box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6), fill=(0, 0, 0))
                draw.text((x, y), text, font=font, fill=(255, 255, 255))
            frame = av.VideoFrame.from_ndarray(np.asarray(picture), format="rgb24")
            for _ in range(round(seconds * fps)):
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _lines(cli: Cli, item: str) -> list[dict[str, object]]:
    result = cli("text", item, "--json")
    assert result.exit_code == 0, result.output
    lines: list[dict[str, object]] = json.loads(result.stdout)["lines"]
    return lines


@needs_tesseract
def test_ocr_reads_each_shot_once_and_proposes_sources(cli: Cli, tmp_path: Path) -> None:
    make_clip(tmp_path / "clip.mp4")
    assert cli("add", str(tmp_path / "clip.mp4")).exit_code == 0
    result = cli("ocr")
    assert result.exit_code == 0, result.output
    lines = {line["text"]: line for line in _lines(cli, "clip.mp4")}
    assert set(lines) >= {"@kursk_now", "Пленные под Суджей", "We are conscripts", "t.me/kursk_now/123"}
    handle, said = lines["@kursk_now"], lines["We are conscripts"]
    assert handle["start"] == 0 and 1.0 <= float(handle["end"]) < 2.0  # the first shot, sampled 1 a second
    assert 1.5 <= float(said["start"]) <= 2.5 and float(said["end"]) >= 3.0
    assert lines["Пленные под Суджей"]["lang"] == "ru" and said["lang"] == "en"
    x, y, w, h = handle["box"]  # type: ignore[misc]
    assert x < 0.1 and y < 0.15 and 0.1 < w < 0.4 and h < 0.15  # the top-left corner
    assert all(float(line["confidence"]) >= 0.4 for line in lines.values())  # type: ignore[arg-type]

    hints = {h["value"]: h for h in json.loads(cli("hints", "--json").stdout)["hints"]}
    assert set(hints) == {"@kursk_now", "t.me/kursk_now/123"}
    assert hints["@kursk_now"]["kind"] == "handle" and hints["t.me/kursk_now/123"]["kind"] == "link"
    assert json.loads(cli("show", "clip.mp4", "--json").stdout)["sources"] == []  # proposals only
    assert cli("hints", "accept", str(hints["@kursk_now"]["id"]), "--note", "same channel").exit_code == 0
    assert cli("hints", "reject", str(hints["t.me/kursk_now/123"]["id"])).exit_code == 0
    [source] = json.loads(cli("show", "clip.mp4", "--json").stdout)["sources"]
    assert source["account"] == "@kursk_now" and "read on screen at 0:00-0:0" in source["notes"]
    again = cli("hints", "accept", str(hints["@kursk_now"]["id"]))
    assert again.exit_code == 1 and "already accepted" in again.stderr
    assert json.loads(cli("hints", "--json").stdout)["hints"] == []  # nothing open
    assert cli("verify").exit_code == 0  # the accepted source is in the log

    # a second run reads nothing again; the same stage version and parameters are done
    rerun = cli("ocr", "--json")
    assert json.loads(rerun.stdout)["items"] == [{"item": source_item(cli), "lines": len(lines)}]
    assert len(_lines(cli, "clip.mp4")) == len(lines)

    # marked lines: the report quotes these and no others
    said_id = str(said["id"])
    assert "marked 1 line(s)" in cli("mark-text", said_id).stdout
    marked = {line["text"]: line["marked_by"] for line in _lines(cli, "clip.mp4")}
    assert marked["We are conscripts"] == "tester"
    assert "unmarked 1" in cli("mark-text", said_id, "--undo").stdout
    assert [e["action"] for e in json.loads(cli("log", "--json", "--action", "text").stdout)] == [
        "text.mark", "text.unmark"]
    missing = cli("mark-text", "9999")
    assert missing.exit_code == 1 and "no line of text 9999" in missing.stderr


def busy_frame() -> Image.Image:
    """A 960 x 540 frame the colour of nothing in particular: grey noise crossed by white and black bars, the
    kind of picture that sinks a reader that thresholds grey levels alone."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(60, 200, (540, 960, 3), dtype=np.uint8)
    for x in range(0, 960, 90):
        pixels[:, x : x + 30] = 245  # bright bars: the colour of white text
        pixels[:, x + 45 : x + 55] = 15  # dark bars: the colour of an outline
    return Image.fromarray(pixels)


@pytest.mark.sqlite_only
@needs_tesseract
def test_reader_finds_each_captions_colour_and_reads_handles_in_latin() -> None:
    frame = busy_frame()
    draw = ImageDraw.Draw(frame)
    outlined, boxed = "Сдались в плен более сорока", "Подписывайтесь на @kursk_now"
    yellow = "They surrendered"
    draw.text((40, 40), outlined, font=ImageFont.truetype(str(FONT), 40), fill="white", stroke_width=3,
              stroke_fill="black")
    font = ImageFont.truetype(str(FONT), 32)
    box = draw.textbbox((40, 240), boxed, font=font)
    draw.rectangle((box[0] - 8, box[1] - 6, box[2] + 8, box[3] + 6), fill=(20, 20, 20))
    draw.text((40, 240), boxed, font=font, fill="white")
    draw.text((40, 420), yellow, font=ImageFont.truetype(str(BOLD), 44), fill=(255, 230, 0))

    lines = OcrStage().read(np.asarray(frame), 1.5)
    texts = [line.text for line in lines]
    for drawn in (outlined, yellow):  # read as drawn, or a letter or two off
        assert any(SequenceMatcher(None, drawn, text).ratio() >= 0.9 for text in texts), (drawn, texts)
    # the caption is read in Cyrillic, and the channel it names in Latin letters, as it is written
    [named] = [line for line in lines if "@" in line.text]
    assert named.text == boxed and named.lang == "ru"
    assert all(line.start == line.end == 1.5 and line.confidence and line.confidence >= 0.4 for line in lines)


def source_item(cli: Cli) -> str:
    return str(json.loads(cli("items", "--json").stdout)[0]["id"])


@needs_tesseract
def test_search_finds_every_kind_of_text_on_both_back_ends(cli: Cli, tmp_path: Path) -> None:
    make_clip(tmp_path / "clip.mp4")
    report = tmp_path / "report.txt"
    report.write_text("The ministry said that 102 soldiers were captured near Sudzha in one day.\n")
    assert cli("add", str(tmp_path / "clip.mp4"), "--source-url", "https://t.me/kursk_now/7",
               "--platform", "telegram").exit_code == 0
    assert cli("ocr").exit_code == 0
    assert cli("note", "clip.mp4", "Ёлки on the left: the same road as in the other clip").exit_code == 0
    assert cli("claims", "add", str(report), "--outlet", "Example News").exit_code == 0

    def hits(query: str, *kinds: str) -> list[dict[str, object]]:
        result = cli("search", query, "--json", *[a for k in kinds for a in ("--kind", k)])
        assert result.exit_code == 0, result.output
        found: list[dict[str, object]] = json.loads(result.stdout)["hits"]
        return found

    # case and ё/е do not matter; each hit has its item, kind and time
    [ocr] = hits("ПЛЁННЫЕ под суджей")
    assert ocr["kind"] == "ocr" and ocr["name"] == "clip.mp4" and ocr["start"] == 0
    assert {h["kind"] for h in hits("kursk_now")} == {"ocr", "caption"}  # on screen and in the source
    assert [h["kind"] for h in hits("kursk_now", "caption")] == ["caption"]
    assert [h["kind"] for h in hits("елки road")] == ["note"]
    assert [h["kind"] for h in hits("captured sudzha")] == ["claim"]
    assert hits("conscripts captured") == []  # every word must be in one text
    # a note added later is found: entries follow their tables
    assert cli("note", "clip.mp4", "second note about conscription").exit_code == 0
    assert len(hits("conscription")) == 1
    nothing = cli("search", "!!! ???")
    assert nothing.exit_code == 1 and "nothing to search for" in nothing.stderr
    assert cli("search", "x", "--kind", "tweets").exit_code == 2


@pytest.mark.sqlite_only
@needs_tesseract
def test_a_two_hour_clip_is_read_as_it_plays_and_each_caption_once(cli: Cli, tmp_path: Path) -> None:
    """Two hours, streamed (never held at once); the caption that stays is read once and spans the whole
    clip, the one that comes at 1:30:00 from then on."""
    path = tmp_path / "long.mp4"
    first, later = Image.new("RGB", (320, 180), (30, 40, 60)), None
    draw = ImageDraw.Draw(first)
    draw.text((12, 10), "@kursk_now", font=ImageFont.truetype(str(FONT), 20), fill="white")
    later = first.copy()
    ImageDraw.Draw(later).text((12, 120), "Still here", font=ImageFont.truetype(str(FONT), 24), fill="yellow")
    with av.open(str(path), "w") as out:  # a frame every 4 seconds: 1,800 frames for the two hours
        stream = out.add_stream("libx264", rate=Fraction(1, 4), options={"preset": "ultrafast", "g": "300"})
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        frames = [av.VideoFrame.from_ndarray(np.asarray(p), format="rgb24") for p in (first, later)]
        for n in range(1800):
            for packet in stream.encode(frames[n * 4 >= 5400]):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert cli("add", str(path)).exit_code == 0
    result = cli("ocr", "--json")
    assert result.exit_code == 0, result.output
    lines = {line["text"]: line for line in _lines(cli, "long.mp4")}
    assert set(lines) == {"@kursk_now", "Still here"}, lines
    assert lines["@kursk_now"]["start"] == 0 and float(lines["@kursk_now"]["end"]) >= 7190
    assert 5396 <= float(lines["Still here"]["start"]) <= 5404 and float(lines["Still here"]["end"]) >= 7190


def test_ocr_without_tesseract_says_so(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.mediagen import make_image

    make_image(tmp_path / "photo.png")
    broken = tmp_path / "broken.mp4"
    make_clip(broken) if HAVE_TESSERACT else broken.write_bytes(b"\0\0\0\x18ftypmp42" + b"\0" * 64)
    broken.write_bytes(broken.read_bytes()[:600])  # cut short: no frame decodes
    assert cli("add", str(tmp_path / "photo.png"), str(broken)).exit_code in (0, 1)
    monkeypatch.setattr("vericount.text.ocr.installed_langs", lambda: [])
    result = cli("ocr")
    assert result.exit_code == 1
    assert "Tesseract is not installed" in result.stderr
    assert all(line.startswith(("warning:", "error:")) for line in result.stderr.splitlines() if line.strip())


def test_text_read_in_a_file_is_printed_inert(cli: Cli, tmp_path: Path) -> None:
    from tests.mediagen import make_image
    from vericount.case import Case
    from vericount.store.schema import Item
    from vericount.text.lines import Line, replace_lines

    make_image(tmp_path / "photo.png")
    assert cli("add", str(tmp_path / "photo.png")).exit_code == 0
    item = json.loads(cli("items", "--json").stdout)[0]["id"]
    hostile = "@kursk_now \x1b]0;pwned\x07 [bold red]loud[/] \u202eevil"
    with Case.open(cli.case_dir) as case, case.session() as s:
        row = s.get(Item, item)
        assert row is not None
        replace_lines(s, row, "ocr", [Line(hostile, None, None, 0.9, "en", (0.1, 0.1, 0.3, 0.05))])
    for args in (("text", item), ("search", "kursk_now"), ("hints",)):
        out = cli(*args).stdout
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, args
        if args[0] != "hints":  # a hint shows only the handle it found
            assert "[bold red]loud[/]" in out, args  # Rich markup shown as text, not applied
    shown = json.loads(cli("text", item, "--json").stdout)["lines"][0]["text"]
    assert shown == hostile  # JSON is faithful


@needs_tesseract
def test_claims_on_screen_and_in_captions_join_the_ledger(cli: Cli, tmp_path: Path) -> None:
    photo = tmp_path / "post" / "still.png"
    photo.parent.mkdir()
    picture = Image.new("RGB", (960, 540), (60, 70, 80))
    draw = ImageDraw.Draw(picture)
    font = ImageFont.truetype(str(FONT), 40)
    box = draw.textbbox((60, 400), "They captured 102 soldiers", font=font)
    draw.rectangle((box[0] - 10, box[1] - 8, box[2] + 10, box[3] + 8), fill=(0, 0, 0))
    draw.text((60, 400), "They captured 102 soldiers", font=font, fill="white")
    picture.save(photo)
    (tmp_path / "post" / "still.png.json").write_text(json.dumps(  # gallery-dl's sidecar: the post's caption
        {"category": "telegram", "content": "Officials said 40 prisoners were exchanged on Monday."}))
    assert cli("add", str(photo.parent)).exit_code == 0
    assert cli("ocr").exit_code == 0
    out = json.loads(cli("claims", "--json").stdout)
    read = {c["origin"]: c for c in out["claims"]}
    assert set(read) == {"caption", "ocr"}, out["claims"]
    assert read["caption"]["value"] == 40 and read["caption"]["speaker"] == "Officials"
    assert read["ocr"]["value"] == 102 and read["ocr"]["at"] is None  # a photo: no time
    assert read["ocr"]["sentence"] == "They captured 102 soldiers"
    compared = json.loads(cli("claims", "compare", "--json").stdout)["claims"]
    assert {c["origin"] for c in compared} == {"caption", "ocr"}  # set against the count like a report's
    assert cli("ocr").exit_code == 0  # read again (nothing pending): the claims are not doubled
    assert len(json.loads(cli("claims", "--json").stdout)["claims"]) == 2


def test_only_the_posts_own_words_are_read_for_claims() -> None:
    from vericount.claims.said import post_words

    assert post_words("from Telegram export of Front Notes; message 41; forwarded from X; text: Captured "
                      "today: 102 in one day") == ["Captured today: 102 in one day"]  # not "message 41"
    assert post_words("from yt-dlp sidecar a.info.json; post id: 7401; title: 40 soldiers captured; views: "
                      "48213; likes: 7; caption: Near the river; again") == [
        "40 soldiers captured", "Near the river; again"]  # not the views, likes or post id
    assert post_words("checked by phone with the uploader") == []  # a reviewer's note is no post
