"""yt-dlp and gallery-dl sidecars beside media files fill the item's source on `vericount add`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import Cli
from tests.mediagen import make_image, make_video

YT = {"id": "abc123", "title": "Soldiers surrender near Sudzha",
      "webpage_url": "https://www.youtube.com/watch?v=abc123", "extractor": "youtube",
      "extractor_key": "Youtube", "uploader": "Some Channel", "uploader_id": "@somechannel",
      "timestamp": 1723107600, "upload_date": "20240808", "view_count": 1234, "like_count": 56,
      "description": "They said they were conscripts", "formats": [{"format_id": "18"}]}
GDL = {"category": "twitter", "subcategory": "tweet", "tweet_id": 1821000000000000000,
       "author": {"name": "reposter", "nick": "Re Poster"}, "date": "2024-08-08 09:00:00",
       "content": "102 captured in one day"}


def _show(cli: Cli, name: str) -> dict:  # type: ignore[type-arg]
    result = cli("show", name, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_a_yt_dlp_folder_fills_the_source_and_logs_the_sidecar(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    make_video(folder / "Soldiers [abc123].mp4", seconds=0.5)
    sidecar = folder / "Soldiers [abc123].info.json"
    sidecar.write_text(json.dumps(YT))
    result = cli("add", str(folder), "--platform", "telegram", "--source-url", "https://example.org/typed")
    assert result.exit_code == 0, result.output
    assert "sources read from 1 sidecar(s)" in result.stdout
    items = json.loads(cli("items", "--json").stdout)
    assert [i["names"] for i in items] == [["Soldiers [abc123].mp4"]]  # the sidecar is no item
    source = _show(cli, "Soldiers [abc123].mp4")["sources"][0]
    # the sidecar's fields win over the batch's options; a UTC epoch stays a UTC time
    assert source["url"] == "https://www.youtube.com/watch?v=abc123"
    assert source["platform"] == "youtube" and source["account"] == "@somechannel"
    assert source["posted_at"] == "2024-08-08T09:00:00+00:00"
    assert source["notes"].startswith("from yt-dlp sidecar Soldiers [abc123].info.json")
    for part in ("post id: abc123", "views: 1234", "likes: 56", "caption: They said they were conscripts"):
        assert part in source["notes"]
    log = json.loads(cli("log", "--json", "--action", "item.sidecar").stdout)
    assert [e["detail"]["sha256"] for e in log] == [hashlib.sha256(sidecar.read_bytes()).hexdigest()]
    assert log[0]["detail"]["tool"] == "yt-dlp"
    # kept beside the item as read, read-only in the store, and checked by verify
    kept = _show(cli, "Soldiers [abc123].mp4")["attachments"]
    assert [(k["role"], k["name"], k["sha256"]) for k in kept] == [
        ("sidecar", "Soldiers [abc123].info.json", log[0]["detail"]["sha256"])]
    stored = cli.case_dir / "evidence" / kept[0]["sha256"][:2] / kept[0]["sha256"]
    assert stored.read_bytes() == sidecar.read_bytes() and not stored.stat().st_mode & 0o222
    checked = cli("verify")
    assert checked.exit_code == 0 and "verified 1 originals and 1 attachments" in checked.stdout


def test_a_gallery_dl_sidecar_and_a_day_without_a_zone(cli: Cli, tmp_path: Path) -> None:
    photo = make_image(tmp_path / "photo.jpg")
    (tmp_path / "photo.jpg.json").write_text(json.dumps(GDL))
    video = make_video(tmp_path / "clip.mp4", seconds=0.5)
    day_only = {k: v for k, v in YT.items() if k != "timestamp"} | {"id": "d1", "webpage_url": None,
                                                                     "extractor_key": "Generic"}
    (tmp_path / "clip.info.json").write_text(json.dumps(day_only))
    # files named one by one: their sidecars are found beside them
    result = cli("add", str(photo), str(video), "--source-url", "https://example.org/typed")
    assert result.exit_code == 0, result.output
    tweet = _show(cli, "photo.jpg")["sources"][0]
    assert tweet["url"] == "https://x.com/reposter/status/1821000000000000000"
    assert tweet["platform"] == "x" and tweet["account"] == "reposter"
    assert tweet["posted_at"] == "2024-08-08T09:00:00+00:00"
    assert "caption: 102 captured in one day" in tweet["notes"]
    clip = _show(cli, "clip.mp4")["sources"][0]
    assert clip["posted_at"] == "2024-08-08"  # upload_date is a day in no stated zone: kept a date
    assert clip["url"] == "https://example.org/typed"  # what the sidecar lacks, the options fill
    assert clip["platform"] == "generic"


def test_a_broken_sidecar_is_named_and_its_media_still_added(cli: Cli, tmp_path: Path) -> None:
    make_video(tmp_path / "bad.mp4", seconds=0.5)
    (tmp_path / "bad.info.json").write_text('{"id": "x", "title": ')
    make_video(tmp_path / "odd.mp4", seconds=0.5)
    (tmp_path / "odd.info.json").write_text(json.dumps({"extractor": "youtube", "timestamp": "yesterday"}))
    make_image(tmp_path / "fine.jpg")
    (tmp_path / "fine.jpg.json").write_text(json.dumps({"something": "else"}))
    result = cli("add", str(tmp_path))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 3, errors
    assert any("bad.info.json" in e and "sidecar of bad.mp4 not read" in e and "not valid JSON" in e
               for e in errors)
    assert any("odd.info.json" in e and "'yesterday' is not a number of seconds" in e for e in errors)
    assert any("fine.jpg.json" in e and "not a yt-dlp or gallery-dl sidecar" in e for e in errors)
    names = sorted(n for i in json.loads(cli("items", "--json").stdout) for n in i["names"])
    assert names == ["bad.mp4", "fine.jpg", "odd.mp4"]
    assert all(_show(cli, n)["sources"] == [] for n in names)


def test_a_sources_csv_row_refines_the_sidecar(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "dl"
    folder.mkdir()
    make_video(folder / "v.mp4", seconds=0.5)
    (folder / "v.info.json").write_text(json.dumps(YT))
    rows = tmp_path / "sources.csv"
    rows.write_text("file,account,notes\nv.mp4,@the_real_author,checked against the channel page\n")
    assert cli("add", str(folder), "--sources", str(rows)).exit_code == 0
    source = _show(cli, "v.mp4")["sources"][0]
    assert source["account"] == "@the_real_author" and source["notes"] == "checked against the channel page"
    assert source["url"] == "https://www.youtube.com/watch?v=abc123"  # the rest from the sidecar


def _telegram_export(root: Path) -> Path:
    export = root / "ChatExport_2024-08-10"
    (export / "photos").mkdir(parents=True)
    (export / "video_files").mkdir()
    make_image(export / "photos" / "photo_1@08-08-2024_12-00-00.jpg")
    make_video(export / "video_files" / "surrender.mp4", seconds=0.5)
    messages = [
        {"id": 11, "type": "message", "date": "2024-08-08T12:00:00", "date_unixtime": "1723107600",
         "from": "Kursk Front", "from_id": "channel1555", "forwarded_from": "Other Channel",
         "photo": "photos/photo_1@08-08-2024_12-00-00.jpg", "width": 64, "height": 48,
         "text": ["Captured near ", {"type": "bold", "text": "Sudzha"}, ": 102 in one day"]},
        {"id": 12, "type": "message", "date": "2024-08-08T13:00:00", "date_unixtime": "1723111200",
         "from": "Kursk Front", "reply_to_message_id": 11, "file": "video_files/surrender.mp4",
         "media_type": "video_file", "mime_type": "video/mp4", "text": "Video of the column"},
        {"id": 13, "type": "message", "date": "2024-08-08T14:00:00", "date_unixtime": "1723114800",
         "from": "Kursk Front", "text": "text only"},
        {"id": 14, "type": "service", "action": "pin_message", "date": "2024-08-08T14:05:00"},
        {"id": 15, "type": "message", "date_unixtime": "1723115000", "media_type": "video_file",
         "file": "(File not included. Change data exporting settings to download.)", "text": ""},
        {"id": 16, "type": "message", "date_unixtime": "1723115100", "file": "video_files/gone.mp4"},
        {"id": 17, "type": "message", "date_unixtime": "1723115200", "photo": "../../outside.jpg"},
    ]
    make_image(root / "outside.jpg")
    (export / "result.json").write_text(json.dumps(
        {"name": "Kursk Front", "type": "public_channel", "id": 1555, "messages": messages}))
    return export


def test_a_telegram_export_adds_each_message_media_with_its_source(cli: Cli, tmp_path: Path) -> None:
    export = _telegram_export(tmp_path)
    result = cli("add", "--telegram-export", str(export))
    assert result.exit_code == 1  # three messages' files could not be taken
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 3, errors
    assert any("message 15" in e and "not exported" in e for e in errors)
    assert any("message 16" in e and "video_files/gone.mp4, which is missing" in e for e in errors)
    assert any("message 17" in e and "outside the export folder" in e for e in errors)
    assert "Telegram export of Kursk Front: 7 message(s), 2 file(s)" in result.stdout
    names = sorted(n for i in json.loads(cli("items", "--json").stdout) for n in i["names"])
    assert names == ["photo_1@08-08-2024_12-00-00.jpg", "surrender.mp4"]  # result.json is no item
    photo = _show(cli, "photo_1@08-08-2024_12-00-00.jpg")["sources"][0]
    assert photo["url"] == "https://t.me/c/1555/11" and photo["platform"] == "telegram"
    assert photo["account"] == "Kursk Front" and photo["posted_at"] == "2024-08-08T09:00:00+00:00"
    assert "forwarded from Other Channel" in photo["notes"]
    assert "text: Captured near Sudzha: 102 in one day" in photo["notes"]
    video = _show(cli, "surrender.mp4")["sources"][0]
    assert video["url"] == "https://t.me/c/1555/12" and "reply to message 11" in video["notes"]
    log = json.loads(cli("log", "--json", "--action", "item.sidecar").stdout)
    sha = hashlib.sha256((export / "result.json").read_bytes()).hexdigest()
    assert {e["detail"]["sha256"] for e in log} == {sha} and len(log) == 2
    assert [(k["role"], k["sha256"]) for k in _show(cli, "surrender.mp4")["attachments"]] == [("export", sha)]
    # the same export again: no new item, no second source
    again = cli("add", "--telegram-export", str(export))
    assert "added 0 new item(s); 2 already held" in again.stdout
    assert len(_show(cli, "surrender.mp4")["sources"]) == 1


def test_a_cut_short_telegram_export_is_refused_whole(cli: Cli, tmp_path: Path) -> None:
    export = _telegram_export(tmp_path)
    whole = (export / "result.json").read_bytes()
    (export / "result.json").write_bytes(whole[: len(whole) // 2])
    result = cli("add", "--telegram-export", str(export))
    assert result.exit_code != 0
    assert "result.json: not valid JSON (cut short?)" in result.stderr
    assert json.loads(cli("items", "--json").stdout) == []
    missing = cli("add", "--telegram-export", str(tmp_path))
    assert missing.exit_code != 0 and "no result.json" in missing.stderr


def test_telegram_messages_without_media_as_text_items_when_asked(cli: Cli, tmp_path: Path) -> None:
    export = _telegram_export(tmp_path)
    assert cli("add", str(tmp_path), "--with-text").exit_code == 2  # only with --telegram-export
    result = cli("add", "--telegram-export", str(export), "--with-text")
    assert "1 without media (added as text items: 1)" in result.stdout
    texts = json.loads(cli("items", "--json", "--kind", "text").stdout)
    assert len(texts) == 1
    shown = _show(cli, texts[0]["id"])
    assert shown["paths"] == ["https://t.me/c/1555/13"]
    assert shown["sources"][0]["posted_at"] == "2024-08-08T11:00:00+00:00"
    assert texts[0]["id"] == hashlib.sha256(b"text only\n").hexdigest()
    assert cli("verify").exit_code == 0
