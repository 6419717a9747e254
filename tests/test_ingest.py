"""Ingest: every original preserved byte for byte, once, with names, sources and metadata; bad files
get one line each and a recorded failure while the rest of the batch goes on."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from vericount.case import Case

from . import mediagen as mg
from .conftest import Cli


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def items_json(cli: Cli) -> list[dict]:
    result = cli("items", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    d = tmp_path / "media"
    (d / "sub").mkdir(parents=True)
    mg.make_video(d / "clip.mp4", seconds=1.0, location="+51.7308+036.1920/",
                  creation_time="2024-08-07T10:00:00Z")
    mg.make_image(d / "photo.jpg", exif={"make": "Apple", "model": "iPhone 12",
                                         "datetime_original": "2024:08:07 14:03:22"})
    mg.make_image(d / "sub" / "still.png")
    mg.make_animated_gif(d / "sub" / "loop.gif")
    (d / "sub" / "report.txt").write_text("Ukraine said it captured 102 soldiers.\n")
    return d


def test_add_preserves_every_original(cli: Cli, case: Case, media: Path) -> None:
    result = cli("add", str(media))
    assert result.exit_code == 0, result.output
    assert "added 5 new item(s)" in result.stdout
    items = {i["names"][0]: i for i in items_json(cli)}
    assert {n: i["kind"] for n, i in items.items()} == {
        "clip.mp4": "video", "photo.jpg": "image", "still.png": "image", "loop.gif": "video",
        "report.txt": "text"}
    for name, item in items.items():
        original = next(media.rglob(name))
        stored = case.evidence.path(item["id"])
        assert item["id"] == sha(original)
        assert stored.read_bytes() == original.read_bytes()
        assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        assert item["size"] == original.stat().st_size
        assert item["status"] == "unreviewed"
        assert item["stages"]["metadata"]["status"] == "done"
    clip = items["clip.mp4"]["metadata"]
    assert clip["width"] == 64 and clip["gps"]["lat"] == pytest.approx(51.7308)
    photo = items["photo.jpg"]["metadata"]
    assert photo["make"] == "Apple"
    assert photo["datetime_original"]["timezone"] is None  # no offset: never called UTC
    assert not list((case.evidence.root / ".tmp").iterdir())


def test_same_bytes_make_one_item_with_all_names(cli: Cli, media: Path, tmp_path: Path) -> None:
    photo = media / "photo.jpg"
    copy = mg.copy_as(photo, "photo copy.jpg")
    first = cli("add", str(photo), str(copy), str(photo))  # twice in one batch, plus a copy
    assert first.exit_code == 0, first.output
    later = tmp_path / "elsewhere"
    later.mkdir()
    again = mg.copy_as(photo, "IMG_0001.JPG")
    (later / "IMG_0001.JPG").write_bytes(again.read_bytes())
    second = cli("add", str(later / "IMG_0001.JPG"), "--platform", "telegram")
    assert second.exit_code == 0, second.output
    (item,) = items_json(cli)
    assert item["names"] == ["photo.jpg", "photo copy.jpg", "IMG_0001.JPG"]
    assert [s["platform"] for s in item["sources"]] == ["telegram"]
    log = json.loads(cli("log", "--json").stdout)
    assert [e["action"] for e in log].count("item.add") == 1


def test_sources_from_options_and_csv(cli: Cli, media: Path, tmp_path: Path) -> None:
    csv = tmp_path / "sources.csv"
    csv.write_text(
        "file,source_url,platform,account,posted_at,notes\n"
        "clip.mp4,https://t.me/example/101,telegram,@example,2024-08-07T14:03:00+03:00,first post\n"
        f"{sha(media / 'photo.jpg')},https://x.com/a/status/1,x,@a,2024-08-08,\n"
    )
    result = cli("add", str(media / "clip.mp4"), str(media / "photo.jpg"), "--sources", str(csv),
                 "--account", "@collector")
    assert result.exit_code == 0, result.output
    items = {i["names"][0]: i for i in items_json(cli)}
    (clip_src,) = items["clip.mp4"]["sources"]
    assert clip_src["url"] == "https://t.me/example/101"
    assert clip_src["posted_at"] == "2024-08-07T14:03:00+03:00"
    assert clip_src["account"] == "@example" and clip_src["notes"] == "first post"
    (photo_src,) = items["photo.jpg"]["sources"]
    assert photo_src["platform"] == "x" and photo_src["posted_at"] == "2024-08-08"
    # A CSV alone adds sources to items the case already holds.
    more = tmp_path / "more.csv"
    more.write_text("file,notes\nphoto.jpg,seen again on a mirror site\n")
    assert cli("add", "--sources", str(more)).exit_code == 0
    (photo,) = [i for i in items_json(cli) if i["names"][0] == "photo.jpg"]
    assert [s["notes"] for s in photo["sources"]] == [None, "seen again on a mirror site"]


@pytest.mark.parametrize(("content", "message"), [
    ("file,url,colour\nx.jpg,,red\n", "unknown column(s) 'colour'"),
    ("url\nhttps://a\n", "needs a 'file'"),
    ("file,posted_at\nx.jpg,2024-08-07 14:00\n",
     "line 2, field posted_at: '2024-08-07 14:00' has no UTC offset"),
    ("file,posted_at\nx.jpg,yesterday\n", "line 2, field posted_at: 'yesterday' is not a date"),
    ("file,notes\n,note\n", "line 2, field file: empty"),
])
def test_bad_sources_csv_is_refused_before_anything_is_stored(
        cli: Cli, case: Case, media: Path, tmp_path: Path, content: str, message: str) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(content)
    result = cli("add", str(media), "--sources", str(csv))
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert items_json(cli) == []


def test_posted_at_needs_an_offset(cli: Cli, media: Path) -> None:
    result = cli("add", str(media / "photo.jpg"), "--posted-at", "2024-08-07T14:00")
    assert result.exit_code == 1
    assert "--posted-at: '2024-08-07T14:00' has no UTC offset" in result.stderr


def test_bad_files_get_one_line_each_and_the_rest_goes_on(
        cli: Cli, case: Case, media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.mp4").write_bytes(b"")
    mg.truncate(mg.make_video(bad / "full.mp4", seconds=2.0), 0.3).rename(bad / "truncated.mp4")
    (bad / "full.mp4").unlink()
    mg.random_bytes(bad / "noise.mp4")
    mg.make_bomb_png(bad / "bomb.png")
    (bad / "paper.pdf").write_bytes(b"%PDF-1.7\n" + b"x" * 100)
    unreadable = mg.make_image(bad / "locked.jpg", size=(40, 30))
    unreadable.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it would for a user
        real_open = os.open

        def deny(path: str | Path, *args: int, **kwargs: int) -> int:
            if os.fspath(path).endswith("locked.jpg"):
                raise PermissionError(13, "Permission denied")
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", deny)
    (bad / "dangling.jpg").symlink_to(bad / "nowhere.jpg")
    odd = [mg.make_image(bad / name) for name in
           ("with space.jpg", "пленные солдаты.png", "新闻.webp")]
    newline = bad / "line\nbreak.bmp"
    mg.make_image(newline)
    good = media / "photo.jpg"

    result = cli("add", str(bad), str(good), "--follow-links")  # (a link not followed is no error)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    expect = {
        "empty.mp4": "empty file (0 bytes)",
        "truncated.mp4": "stored, but its metadata could not be read",
        "noise.mp4": "unsupported file type (.mp4, content looks like binary data, not MP4)",
        "bomb.png": "over the 250-megapixel safety limit",
        "paper.pdf": "unsupported file type (.pdf",
        "locked.jpg": "cannot read: permission denied",
        "dangling.jpg": "broken symbolic link",
    }
    for name, message in expect.items():
        (line,) = [ln for ln in lines if name in ln]
        assert line.startswith("error: ") and message in line, line
    assert len(lines) == len(expect), "one line per bad file, nothing else"
    assert "line\\nbreak.bmp" not in result.stderr  # it was fine, and printed nowhere as an error
    names = {n for i in items_json(cli) for n in i["names"]}
    assert names == {"truncated.mp4", "bomb.png", "photo.jpg", "line\nbreak.bmp",
                     *(p.name for p in odd)}
    states = {i["names"][0]: i["stages"]["metadata"]["status"] for i in items_json(cli)}
    assert states["truncated.mp4"] == states["bomb.png"] == "failed"
    assert states["photo.jpg"] == states["新闻.webp"] == "done"
    failed = [e for e in json.loads(cli("log", "--json").stdout) if e["action"] == "add.failed"]
    assert {Path(e["detail"]["path"]).name for e in failed} == {
        "empty.mp4", "noise.mp4", "paper.pdf", "locked.jpg", "dangling.jpg"}
    summary = json.loads(cli("summary", "--json").stdout)
    assert summary["stages"]["metadata"] == {"done": 5, "failed": 2}


def test_a_thousand_files(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1000):
        (folder / f"note_{i:04d}.txt").write_text(f"report {i}: {i * 7} soldiers\n")
    (folder / "dup.txt").write_text("report 5: 35 soldiers\n")  # same bytes as note_0005.txt
    result = cli("add", str(folder), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["added"]) == 1000 and len(report["known"]) == 1
    assert len(items_json(cli)) == 1000
    assert cli("verify").exit_code == 0


def test_the_case_is_never_ingested_into_itself(cli: Cli, case_dir: Path, media: Path) -> None:
    assert cli("add", str(media / "photo.jpg")).exit_code == 0
    result = cli("add", str(case_dir))
    assert result.exit_code == 1
    assert "inside the case's own folder" in result.output
    assert case_dir.parent == media.parent
    assert cli("add", str(media.parent)).exit_code == 0  # a folder holding the case: the case is skipped
    assert len(items_json(cli)) == 5
    # "case/../file" names a file outside the case
    (case_dir.parent / "outside.txt").write_text("Officials said 40 soldiers were captured.")
    outside = case_dir / ".." / "outside.txt"
    assert cli("add", str(outside)).exit_code == 0
    assert len(items_json(cli)) == 6


def test_verify_finds_altered_and_missing_originals(cli: Cli, case: Case, media: Path) -> None:
    assert cli("add", str(media)).exit_code == 0
    assert cli("verify").exit_code == 0
    ids = {i["names"][0]: i["id"] for i in items_json(cli)}
    altered = case.evidence.path(ids["photo.jpg"])
    altered.chmod(0o644)
    altered.write_bytes(altered.read_bytes() + b"edited")
    case.evidence.path(ids["still.png"]).unlink()
    result = cli("verify", "--json")
    assert result.exit_code == 1
    problems = {p["item"]: p["problem"] for p in json.loads(result.stdout)["problems"]}
    assert problems == {ids["photo.jpg"]: "altered", ids["still.png"]: "missing"}
    # Adding the original again restores the missing file and says so in the log.
    assert cli("add", str(media / "sub" / "still.png")).exit_code == 0
    log = json.loads(cli("log", "--json", "--item", ids["still.png"]).stdout)
    assert log[-1]["action"] == "evidence.restored"
