"""Docs are kept true to the code: the command reference is generated from --help, and the README
shows the two quick-start commands and every command."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from vericount.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_cli_docs.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == gen.render(), "docs/cli.md is stale: run python scripts/gen_cli_docs.py"


def test_readme_quick_start_and_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        assert f"vericount {name}" in readme, f"README does not mention 'vericount {name}'"


def test_every_metadata_field_is_documented(tmp_path: Path) -> None:
    from vericount.media.probe import probe

    from . import mediagen as mg

    doc = (ROOT / "docs" / "metadata.md").read_text(encoding="utf-8")
    samples = [
        (mg.make_video(tmp_path / "v.mp4", audio=True), "video"),
        (mg.make_image(tmp_path / "i.jpg", exif={"make": "X"}), "image"),
        (tmp_path / "t.txt", "text"),
    ]
    (tmp_path / "t.txt").write_text("hello\n")
    for path, kind in samples:
        for key in probe(path, kind).metadata:  # type: ignore[arg-type]
            assert f"`{key}`" in doc, f"docs/metadata.md does not document {kind} field {key!r}"
