"""Commands that move a case in and out as files: export, import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, warning

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The folder to write (new, or empty).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="json: the export that `vericount import` reads; csv: for spreadsheets.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_ctx
def export(ctx: Context, out: Path, fmt: str, as_json: bool) -> None:
    """Write the case to files: one per table, the repost groups, the latest tally and its certificate.

    Every column of every table (never the desk's accounts and sessions); export.json names each file with
    its row count and SHA-256. Times are ISO 8601 UTC, bytes base64; in CSV, JSON values are JSON text.
    docs/export.md describes every file and column. The export is recorded in the audit log.
    """
    from vericount.report.export import export_case

    with ctx.open_case() as case:
        result = export_case(case, out, fmt)
    _print_export(result, as_json)


def _print_export(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    counts = result["rows"]
    click.echo(f"exported case {result['case']} as {result['format']}: {len(result['files'])} files, "
               f"{sum(counts.values())} rows ({counts['items']} items, {counts['tracks']} tracks, "
               f"{counts['judgments']} judgments, {counts['audit_events']} audit events) in {result['out']}")


@click.command("import")
@click.argument("src", type=click.Path(path_type=Path, file_okay=False))
@click.option("--originals", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="A folder of originals named by their sha256 (any extension); default: SRC/originals.")
@click.option("--json", "as_json", is_flag=True, help="Print what was imported as JSON.")
@pass_ctx
def import_(ctx: Context, src: Path, originals: Path | None, as_json: bool) -> None:
    """Fill this new, empty case from the JSON export in SRC (all of it, or nothing).

    Every file is checked against export.json's SHA-256 and every row against the schema first; ids are
    kept, so a certificate of the exported case checks against this one. The source's custody log is kept
    as imported/CASE_ID/audit_events.json, and this case's log records the import. Originals are stored
    after checking that each hashes to its name; items without one are still imported (`vericount verify`
    lists them as missing).
    """
    from vericount.report.export import import_case

    with ctx.open_case() as case:
        result = import_case(case, src, originals)
    if as_json:
        emit_json(result)
        return
    rows, kept = result["rows"], result["originals"]
    click.echo(f"imported case {result['source_case']}: {sum(rows.values()) - rows['audit_events']} rows "
               f"({rows['items']} items, {rows['tracks']} tracks, {rows['judgments']} judgments, "
               f"{rows['tallies']} tallies)")
    click.echo(f"originals: {kept['stored']} stored, {kept['already_stored']} already there, "
               f"{kept['missing']} missing" + (" (vericount verify lists them)" if kept["missing"] else ""))
    if kept["ignored"]:
        warning(f"{len(kept['ignored'])} file(s) among the originals are not named by an item's sha256 and "
                f"were left out, e.g. {kept['ignored'][0]}")
    click.echo(f"the source's custody log ({rows['audit_events']} events) is kept in "
               f"{result['source_audit_log']}")
    if result["source_audit_chain"] != "intact":
        warning(f"the source's custody log does not verify: {result['source_audit_chain']}")


COMMANDS = [export, import_]
