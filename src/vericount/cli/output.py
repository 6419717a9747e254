"""Printing for the CLI: JSON for scripts, tables and progress bars for people at a terminal.

Every value printed came from somewhere: a file, a platform, a user of the desk. All of it is printed as
inert text: a character that a terminal could act on (escape sequences that move the cursor, set the title
or make a link; carriage returns, newlines; bidirectional overrides) is shown escaped (``\\x1b``), and Rich
never reads markup in a value (``[link=...]`` is printed as written). Print through :func:`say`,
:func:`table`, :func:`emit_json`, :func:`error` and :func:`warning`, never with ``click.echo`` directly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from vericount.values import one_line, strict_json


def emit_json(value: Any) -> None:
    """JSON on stdout. JSON escapes C0 controls itself; the other characters a terminal could act on (C1
    controls, bidirectional and invisible formatting) are escaped too, so the text stays valid JSON with the
    same value and is inert when shown."""
    click.echo(inert_json(strict_json(value, indent=2, ensure_ascii=False, default=str)))


def inert_json(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n " else _json_escape(ch) for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a surrogate pair, as JSON writes characters beyond the first plane
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def say(message: str, err: bool = False) -> None:
    """One line of output, inert: whatever values it holds are shown, never acted on."""
    click.echo(one_line(message), err=err)


def error(message: str) -> None:
    say(f"error: {message}", err=True)


def warning(message: str) -> None:
    say(f"warning: {message}", err=True)


def interactive() -> bool:
    return sys.stderr.isatty()


def at_terminal() -> bool:
    return sys.stdout.isatty()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Rich table at a terminal; tab-separated lines (with a header) when piped."""
    if not at_terminal():
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(one_line("" if v is None else str(v)) for v in row))
        return
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(one_line(title)) if title else None, show_lines=False)
    for col in columns:
        t.add_column(Text(col))
    for row in rows:  # Text, not str: Rich reads markup in a str ("[link=...]") and never in a Text
        t.add_row(*(Text(one_line("" if v is None else str(v))) for v in row))
    console().print(t)


def console(stderr: bool = False) -> Any:
    """The Rich console for tables (stdout) and progress bars (stderr)."""
    from rich.console import Console

    return Console(stderr=stderr)


class Bar:
    """A Rich progress bar on stderr at a terminal; does nothing otherwise."""

    def __init__(self, progress: Any) -> None:
        self._p = progress
        self._task: Any = None

    def start(self, description: str, total: float | None) -> None:
        if self._p is None:
            return
        if self._task is not None:
            self._p.update(self._task, visible=False)
        self._task = self._p.add_task(one_line(description), total=total)

    def advance(self, n: float = 1) -> None:
        if self._p is not None and self._task is not None:
            self._p.advance(self._task, n)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Bar]:
    if not enabled:
        yield Bar(None)
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
                  TimeRemainingColumn(), console=console(stderr=True), transient=True) as p:
        yield Bar(p)


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
