"""Printing for the CLI: JSON for scripts, tables and progress bars for people at a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from vericount.values import one_line, strict_json


def emit_json(value: Any) -> None:
    click.echo(strict_json(value, indent=2, ensure_ascii=False, default=str))


def error(message: str) -> None:
    click.echo(f"error: {one_line(message)}", err=True)


def warning(message: str) -> None:
    click.echo(f"warning: {one_line(message)}", err=True)


def interactive() -> bool:
    return sys.stderr.isatty()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Rich table at a terminal; tab-separated lines (with a header) when piped."""
    if not sys.stdout.isatty():
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(one_line("" if v is None else str(v)) for v in row))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*(one_line("" if v is None else str(v)) for v in row))
    Console().print(t)


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
        self._task = self._p.add_task(description, total=total)

    def advance(self, n: float = 1) -> None:
        if self._p is not None and self._task is not None:
            self._p.advance(self._task, n)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Bar]:
    if not enabled:
        yield Bar(None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as p:
        yield Bar(p)


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
