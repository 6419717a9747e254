"""Write docs/cli.md from the commands' own --help (tests/test_docs.py fails when it is stale).

    python scripts/gen_cli_docs.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vericount.cli import main

PREAMBLE = """# vericount command reference

Generated from `--help` by `python scripts/gen_cli_docs.py`; do not edit by hand.

Every command finds its case from `--case DIR`, else `$VERICOUNT_CASE`, else the current folder. Every
change is recorded in the case's custody log with `--actor` (default: the OS user). Listings take `--json`.

Exit status: 0 when everything asked succeeded; 1 when anything failed (each failure on its own line on
stderr, starting `error: `, naming the file or field; the failure is also recorded in the case); 2 for a
usage error. Progress bars appear only on a terminal, on stderr; `--json` output stays parseable.

## The `--sources` CSV file

UTF-8, with a header row. Columns (any order; unknown columns are refused):

| column | meaning |
|---|---|
| `file` (or `name`, `sha256`) | required: a file name, a path ending (`folder/name.mp4`), or a full sha256 |
| `source_url` (or `url`) | where the file was found |
| `platform` | telegram, x, youtube... |
| `account` | who posted it |
| `posted_at` | a date (`2024-08-07`) or an ISO 8601 time with its UTC offset (`2024-08-07T14:03:00+03:00`, `...Z`); a time without an offset is refused |
| `notes` | free text |

A row applies to every file of the batch it names (command-line `--source-url`, `--platform`... fill in the
fields the row leaves empty); a row that names no file of the batch applies to items the case already holds
with that name or hash; a row that names nothing is an error. The whole file is checked before anything is
stored.
"""


def render() -> str:
    parts = [PREAMBLE]
    # make_context applies the group's context settings (-h), as a real invocation does.
    ctx = main.make_context("vericount", [], resilient_parsing=True, terminal_width=100,
                            max_content_width=100)
    parts.append("## vericount\n\n```\n" + main.get_help(ctx) + "\n```\n")
    for name in sorted(main.list_commands(ctx)):
        cmd = main.get_command(ctx, name)
        assert cmd is not None
        sub = cmd.make_context(name, [], parent=ctx, resilient_parsing=True)
        parts.append(f"## vericount {name}\n\n```\n{cmd.get_help(sub)}\n```\n")
        if isinstance(cmd, click.Group):  # a group's own commands (people confirm, models add...)
            for child_name in sorted(cmd.list_commands(sub)):
                child = cmd.get_command(sub, child_name)
                assert child is not None
                inner = child.make_context(child_name, [], parent=sub, resilient_parsing=True)
                parts.append(f"### vericount {name} {child_name}\n\n```\n{child.get_help(inner)}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
