"""Every value the CLI prints came from a file, a platform or a user: it must be printed as inert text. No
escape sequence reaches the terminal, no Rich markup is read, JSON stays valid and faithful."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.mediagen import make_image
from vericount.cli import output

OSC_TITLE = "\x1b]0;TITLE\x07"
CURSOR = "\x1b[1A\x1b[2K"
HOSTILE = f"ask {OSC_TITLE} {CURSOR}status verified\r\u202eevil\x9b31m"
MARKUP = "[link=https://evil.example/login]admin[/link] [conceal]hidden[/conceal]"
# What a terminal could act on: C0 controls (newlines and tabs only between lines and columns), DEL, C1,
# bidirectional overrides.
ACTIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # Rich's own colours, at a forced terminal


def _hostile_case(cli: Cli, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    make_image(media / "photo.jpg", exif={"model": f"Canon{OSC_TITLE}", "make": MARKUP})
    make_image(media / "[link=evil.example]x [conceal]y\x1b[2K.png")  # no slash in a name
    added = cli("add", str(media), "--source-url", f"https://t.me/x/1{OSC_TITLE}", "--platform", "telegram",
                "--account", f"@chan{CURSOR}", actor=MARKUP)
    assert added.exit_code == 0, added.output
    assert cli("status", "photo.jpg", "needs-info", "--note", HOSTILE).exit_code == 0
    assert cli("locate", "photo.jpg", "51.7", "36.2", "--method", HOSTILE).exit_code == 0
    assert cli("date", "photo.jpg", "2024-08-06", "--method", MARKUP).exit_code == 0
    assert cli("tag", "photo.jpg", "kursk").exit_code == 0
    assert cli("note", "photo.jpg", HOSTILE).exit_code == 0
    report = tmp_path / "report.txt"
    report.write_text("Ukraine said it captured 102 Russian soldiers on Tuesday.\n", encoding="utf-8")
    assert cli("claims", "add", str(report), "--outlet", MARKUP, "--published", "2024-08-14").exit_code == 0


COMMANDS = [("show", "photo.jpg"), ("items",), ("log",), ("summary",), ("claims",), ("users",),
            ("judgments",), ("tally", "--include-unreviewed")]


def _check_inert(text: str, where: str) -> None:
    bare = SGR.sub("", text)
    found = ACTIVE.search(bare)
    assert found is None, f"{where}: {found.group()!r} reached the terminal in {bare!r}"
    assert "\x1b]8;" not in text, f"{where}: a hyperlink"


def test_piped_output_is_inert(cli: Cli, tmp_path: Path) -> None:
    _hostile_case(cli, tmp_path)
    for args in COMMANDS:
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
        _check_inert(result.stdout, " ".join(args))
        _check_inert(result.stderr, " ".join(args))
    shown = cli("show", "photo.jpg").stdout
    assert "\\x1b]0;TITLE\\x07" in shown and "\\u202e" in shown  # shown, escaped, not dropped
    assert "Canon\\x1b]0;TITLE\\x07" in shown  # the EXIF Model
    assert "@chan\\x1b[1A\\x1b[2K" in shown


def test_tables_at_a_terminal_read_no_markup(cli: Cli, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    _hostile_case(cli, tmp_path)
    monkeypatch.setattr(output, "at_terminal", lambda: True)
    monkeypatch.setattr(output, "console", lambda stderr=False: Console(
        file=sys.stderr if stderr else sys.stdout, force_terminal=True, width=400, color_system="standard"))
    for args in (("items",), ("log",), ("claims",)):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
        _check_inert(result.stdout, " ".join(args))
    log = cli("log").stdout
    assert "[link=https://evil.example/login]admin[/link]" in SGR.sub("", log)  # as written, not a link
    assert "[conceal]hidden[/conceal]" in SGR.sub("", log)
    assert "[link=https://evil.example/login]" in SGR.sub("", cli("claims").stdout)


def test_json_is_valid_faithful_and_inert(cli: Cli, tmp_path: Path) -> None:
    _hostile_case(cli, tmp_path)
    result = cli("show", "photo.jpg", "--json")
    _check_inert(result.stdout, "show --json")
    assert json.loads(result.stdout)["status_note"] == HOSTILE  # the same value, escaped in the text
    buffer = io.StringIO()
    old, sys.stdout = sys.stdout, buffer
    try:
        output.emit_json({"v": "a\x9bb\u202ec\U000e0041"})
    finally:
        sys.stdout = old
    _check_inert(buffer.getvalue(), "emit_json")
    assert "\\u009b" in buffer.getvalue() and "\\udb40\\udc41" in buffer.getvalue()
    assert json.loads(buffer.getvalue()) == {"v": "a\x9bb\u202ec\U000e0041"}


def test_errors_and_usage_errors_are_inert(cli: Cli) -> None:
    missing = cli("show", f"nothing{OSC_TITLE}")
    assert missing.exit_code == 1
    _check_inert(missing.stderr, "show")
    usage = cli("report", "--format", f"x{CURSOR}")
    assert usage.exit_code == 2
    _check_inert(usage.output, "report --format")
    assert "x\\x1b[1A" in usage.output
    # a Ray address given by a user, kept in the case: shown and logged inert (never connected to here)
    assert cli("executor", "ray", "--address", f"head{OSC_TITLE}:6379").exit_code == 0
    for args in (("executor",), ("log", "--action", "case.executor")):
        shown = cli(*args)
        _check_inert(shown.output, " ".join(args))
        assert "head\\x1b]0;TITLE\\x07:6379" in shown.output
    bad = cli("people", "--address", f"head{CURSOR}")  # no port: refused before any lookup
    assert bad.exit_code != 0
    _check_inert(bad.output, "people --address")


def test_values_from_sidecars_exports_and_links_are_inert(cli: Cli, tmp_path: Path) -> None:
    """What yt-dlp's sidecars, a Telegram export and a link hold is printed as inert as what users type."""
    from tests.mediagen import make_video

    folder = tmp_path / "dl"
    folder.mkdir()
    make_video(folder / "v.mp4", seconds=0.5)
    (folder / "v.info.json").write_text(json.dumps({
        "extractor_key": "Youtube", "webpage_url": f"https://example.org/{OSC_TITLE}", "uploader": MARKUP,
        "title": HOSTILE, "description": f"{CURSOR}{MARKUP}", "timestamp": 1723107600}))
    export = tmp_path / "export"
    (export / "photos").mkdir(parents=True)
    make_image(export / "photos" / "p.jpg")
    (export / "result.json").write_text(json.dumps({"name": f"Chan{CURSOR}{MARKUP}", "id": 5, "messages": [
        {"id": 1, "type": "message", "date_unixtime": "1723107600", "photo": "photos/p.jpg",
         "text": [HOSTILE, {"type": "bold", "text": OSC_TITLE}]},
        {"id": 2, "type": "message", "date_unixtime": "1723107600", "photo": f"photos/gone{OSC_TITLE}.jpg"},
        {"id": 3, "type": "message", "date_unixtime": "1723107600", "text": HOSTILE}]}))
    runs = [cli("add", str(folder)), cli("add", "--telegram-export", str(export), "--with-text"),
            cli("capture", f"http://127.0.0.1:9/{OSC_TITLE}{MARKUP}", "--timeout", "1"),
            cli("show", "v.mp4"), cli("show", "p.jpg"), cli("log"), cli("items")]
    for result in runs:
        _check_inert(result.stdout, "stdout")
        _check_inert(result.stderr, "stderr")
    assert "\\x1b]0;TITLE\\x07" in runs[2].stderr  # the link's escape shown escaped in its error line
    assert "gone\\x1b]0;TITLE\\x07.jpg" in runs[1].stderr
    assert "[link=https://evil.example/login]admin[/link]" in runs[3].stdout  # markup shown as text
    shown = json.loads(cli("show", "p.jpg", "--json").stdout)
    assert HOSTILE in shown["sources"][0]["notes"]  # JSON stays faithful
