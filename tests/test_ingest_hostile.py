"""Hostile and broken input to `add`: link loops, links out of a folder, pipes and sockets, files that are
not what their name says, and an old failure that must not haunt every later batch."""

from __future__ import annotations

import json
import os
import socket
import threading
import zipfile
from pathlib import Path

import pytest

from vericount.case import Case
from vericount.errors import IngestError

from . import mediagen as mg
from .conftest import Cli


def items_by_name(cli: Cli) -> dict[str, dict]:
    result = cli("items", "--json")
    assert result.exit_code == 0, result.output
    return {name: item for item in json.loads(result.stdout) for name in item["names"]}


def test_a_symlink_loop_is_one_line_and_the_batch_goes_on(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "loops"
    folder.mkdir()
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    (folder / "self.jpg").symlink_to("self.jpg")
    mg.make_image(folder / "photo.jpg")
    other = mg.make_image(tmp_path / "other.png")

    named = cli("add", str(folder / "a"), str(other))  # a loop named on the command line
    assert named.exit_code == 1
    assert named.stderr.splitlines() == [f"error: {folder / 'a'}: symlink loop"]
    assert set(items_by_name(cli)) == {"other.png"}

    followed = cli("add", str(folder), "--follow-links")
    assert followed.exit_code == 1
    assert sorted(followed.stderr.splitlines()) == sorted(
        f"error: {folder / name}: symlink loop" for name in ("a", "b", "self.jpg"))
    assert set(items_by_name(cli)) == {"other.png", "photo.jpg"}

    plain = cli("add", str(folder), "--json")  # links inside a folder are not followed by default
    assert plain.exit_code == 0, plain.output
    report = json.loads(plain.stdout)
    assert sorted(report["skipped"]["link"]) == sorted(str(folder / n) for n in ("a", "b", "self.jpg"))
    assert report["failed"] == []
    log = json.loads(cli("log", "--json").stdout)
    assert sum(e["action"] == "add.failed" and e["detail"]["error"] == "symlink loop" for e in log) == 4


def test_links_inside_a_folder_are_followed_only_when_asked(cli: Cli, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("not for this case\n")
    mg.make_image(outside / "elsewhere.png")
    folder = tmp_path / "collected"
    folder.mkdir()
    mg.make_image(folder / "photo.jpg")
    (folder / "secret.txt").symlink_to(secret)
    (folder / "more").symlink_to(outside, target_is_directory=True)
    (folder / ".hidden.jpg").write_bytes((folder / "photo.jpg").read_bytes())

    result = cli("add", str(folder))
    assert result.exit_code == 0, result.output
    assert set(items_by_name(cli)) == {"photo.jpg"}
    assert result.stdout.rstrip().endswith(
        "skipped inside folders: hidden: 1, symbolic link not followed: 2 "
        "(--follow-links follows links)")
    verbose = cli("add", str(folder), "-v")
    assert f"skipped {folder / 'secret.txt'}: symbolic link not followed" in verbose.stdout
    assert f"skipped {folder / 'more'}: symbolic link not followed" in verbose.stdout
    assert f"skipped {folder / '.hidden.jpg'}: hidden" in verbose.stdout
    report = json.loads(cli("add", str(folder), "--json").stdout)
    assert report["skipped"] == {"hidden": [str(folder / ".hidden.jpg")],
                                 "link": [str(folder / "more"), str(folder / "secret.txt")]}
    assert report["hidden_skipped"] == 1

    named = cli("add", str(folder / "secret.txt"))  # named on the command line: the user chose it
    assert named.exit_code == 0, named.output
    assert "secret.txt" in items_by_name(cli)

    followed = cli("add", str(folder), "--follow-links")
    assert followed.exit_code == 0, followed.output
    items = items_by_name(cli)
    assert "elsewhere.png" in items
    assert str(folder / "more" / "elsewhere.png") in items["elsewhere.png"]["paths"]  # the path as found


def test_pipes_and_sockets_are_skipped_and_counted_never_opened(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    os.mkfifo(folder / "pipe.mp4")  # opening it for reading would block until a writer comes
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock.jpg"))
    (folder / "null.jpg").symlink_to("/dev/null")
    mg.make_image(folder / "photo.jpg")
    try:
        done: list[object] = []
        worker = threading.Thread(target=lambda: done.append(
            cli("add", str(folder), "--follow-links", "--json")), daemon=True)
        worker.start()
        worker.join(60)
        assert done, "add blocked on a pipe"
        result = done[0]
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        report = json.loads(result.stdout)  # type: ignore[attr-defined]
        assert sorted(report["skipped"]["special"]) == sorted(
            str(folder / n) for n in ("null.jpg", "pipe.mp4", "sock.jpg"))
        assert len(report["added"]) == 1
        named = cli("add", str(folder / "pipe.mp4"), str(folder / "null.jpg"))
        assert named.exit_code == 1
        assert sorted(named.stderr.splitlines()) == sorted(
            f"error: {folder / n}: not a regular file (device, pipe or socket)"
            for n in ("null.jpg", "pipe.mp4"))
    finally:
        server.close()


def test_a_file_that_turns_into_a_pipe_or_link_after_listing_is_refused(case: Case, tmp_path: Path) -> None:
    from vericount.ingest import _Found, _store_one

    pipe = tmp_path / "was_a_file.mp4"
    os.mkfifo(pipe)
    outcome: list[BaseException | object] = []

    def store() -> None:
        try:
            outcome.append(_store_one(case, _Found(pipe, 0, follow=False), None))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=store, daemon=True)
    worker.start()
    worker.join(10)
    assert outcome, "opening a pipe blocked"
    assert isinstance(outcome[0], IngestError) and "not a regular file" in str(outcome[0])
    link = tmp_path / "was_a_file.jpg"
    link.symlink_to(mg.make_image(tmp_path / "target.jpg"))
    with pytest.raises(IngestError, match="became a symbolic link after it was listed"):
        _store_one(case, _Found(link, 0, follow=False), None)
    assert list(case.evidence.stored_hashes()) == []


def test_what_the_bytes_are_decides_not_the_name(cli: Cli, case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "renamed"
    folder.mkdir()
    with zipfile.ZipFile(folder / "archive.jpg", "w") as archive:
        archive.writestr("payload.txt", "not a photo")
    (folder / "tool.jpg").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(500))
    (folder / "notes.txt").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(500))
    photo = mg.make_image(tmp_path / "photo.jpg", size=(320, 240))
    mg.truncate(photo, 0.4).rename(folder / "cut.jpg")  # starts as a JPEG: kept, with its failure
    mg.copy_as(photo, "photo.bin").rename(folder / "photo.bin")  # a JPEG by any name

    result = cli("add", str(folder))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 4, lines

    def line(name: str) -> str:
        (found,) = [ln for ln in lines if name in ln]
        return found

    for name, ext, seen, label in (("archive.jpg", ".jpg", "ZIP archive (or an Office/ODF document)", "JPEG"),
                                   ("tool.jpg", ".jpg", "ELF executable", "JPEG"),
                                   ("notes.txt", ".txt", "ELF executable", "TXT")):
        assert line(name).startswith(f"error: {folder / name}: unsupported file type ({ext}, content "
                                     f"looks like {seen}, not {label}); vericount takes images")
    assert line("cut.jpg").startswith("error: cut.jpg (")
    assert "stored, but its metadata could not be read" in line("cut.jpg")
    items = items_by_name(cli)
    assert set(items) == {"cut.jpg", "photo.bin"}
    assert items["photo.bin"]["media_type"] == "image/jpeg"
    assert items["cut.jpg"]["stages"]["metadata"]["status"] == "failed"
    assert len(list(case.evidence.stored_hashes())) == 2  # nothing stored for the refused files


def test_an_old_failure_is_not_reported_by_every_later_add(cli: Cli, tmp_path: Path) -> None:
    good = mg.make_image(tmp_path / "good.jpg")
    bad = mg.truncate(mg.make_image(tmp_path / "bad.jpg", size=(640, 480)), 0.3)
    first = cli("add", str(bad))
    assert first.exit_code == 1
    (line,) = first.stderr.splitlines()
    assert "bad-truncated.jpg" in line and "metadata could not be read" in line

    later = cli("add", str(good))  # other files: their own outcome only
    assert later.exit_code == 0, later.output
    assert later.stderr == ""
    assert "metadata read for 1, failed for 0" in later.stdout
    items = items_by_name(cli)
    assert items["bad-truncated.jpg"]["stages"]["metadata"]["status"] == "failed"
    summary = json.loads(cli("summary", "--json").stdout)
    assert [f["item"] for f in summary["failures"]] == [items["bad-truncated.jpg"]["id"]]
    text = cli("summary").stdout
    assert "failed: " + items["bad-truncated.jpg"]["id"][:12] in text

    again = cli("add", str(bad))  # the failing file itself: tried again, and reported
    assert again.exit_code == 1
    (line,) = again.stderr.splitlines()
    assert "bad-truncated.jpg" in line and "metadata could not be read" in line
