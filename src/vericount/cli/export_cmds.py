"""Commands that move a case in and out as files: export, import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, say, warning

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The folder to write (new, or empty).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="json: the export that `vericount import` reads; csv: for spreadsheets.")
@click.option("--bundle", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the evidence bundle (a zip) instead: report, JSON export, custody and audit logs, "
                   "manifests with every file's sha256.")
@click.option("--with-originals", is_flag=True,
              help="With --bundle: include the original files (not blurred) and the files kept with them.")
@click.option("--no-blur", is_flag=True,
              help="With --bundle: do not pixelate faces in the bundled report (audit-logged, printed on "
                   "it).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_ctx
def export(ctx: Context, out: Path | None, fmt: str, bundle: Path | None, with_originals: bool, no_blur: bool,
           as_json: bool) -> None:
    """Write the case to files (--out DIR), or the evidence bundle (--bundle FILE.zip).

    --out: one file per table, the repost groups, the latest tally and its certificate. Every column of
    every table (never the desk's accounts and sessions); export.json names each file with its row count
    and SHA-256. Times are ISO 8601 UTC, bytes base64; in CSV, JSON values are JSON text. docs/export.md
    describes every file and column.

    --bundle: one zip with the report (faces blurred unless --no-blur), the JSON export, custody.json,
    the originals and the files kept with them (attachments/) with --with-originals, manifest.json and
    MANIFEST.sha256 (`sha256sum -c` reads it), signed with the case's Ed25519 key (signature.ed25519,
    public_key.pem; a case made before keys gets one now, recorded in the log); `vericount verify-bundle
    FILE.zip --key FINGERPRINT` checks it. Both are recorded in the audit log.
    """
    if (out is None) == (bundle is None):
        raise click.UsageError("give --out DIR or --bundle FILE.zip (one of them)")
    if bundle is None and (with_originals or no_blur):
        raise click.UsageError("--with-originals and --no-blur go with --bundle")
    if bundle is not None:
        from vericount.report.bundle import make_bundle

        with ctx.open_case() as case:
            made = make_bundle(case, bundle, with_originals=with_originals, blur=not no_blur)
        _print_bundle(made, as_json)
        return
    from vericount.report.export import export_case

    assert out is not None
    with ctx.open_case() as case:
        result = export_case(case, out, fmt)
    _print_export(result, as_json)


def _print_bundle(made: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(made)
        return
    if not made["blurred"]:
        warning("faces are NOT blurred in this bundle's report (--no-blur): do not publish it")
    if made["originals_missing"]:
        warning(f"{len(made['originals_missing'])} original(s) are not in the evidence store and not in the "
                "bundle (vericount verify lists them)")
    n = "no certified count" if made["at_least"] is None else f"at least {made['at_least']}"
    say(f"bundle written: {made['path']} ({made['files']} files, {made['originals']} originals, "
               f"{made['size']} bytes; {n})")
    say(f"sha256 {made['sha256']} (kept in the audit log)")
    say(f"signed by the case key, fingerprint {made['key_fingerprint']}: check it with "
        f"vericount verify-bundle FILE --key {made['key_fingerprint']}")


def _print_export(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    counts = result["rows"]
    say(f"exported case {result['case']} as {result['format']}: {len(result['files'])} files, "
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
    say(f"imported case {result['source_case']}: {sum(rows.values()) - rows['audit_events']} rows "
               f"({rows['items']} items, {rows['tracks']} tracks, {rows['judgments']} judgments, "
               f"{rows['tallies']} tallies)")
    say(f"originals: {kept['stored']} stored, {kept['already_stored']} already there, "
               f"{kept['missing']} missing" + (" (vericount verify lists them)" if kept["missing"] else ""))
    if kept["ignored"]:
        warning(f"{len(kept['ignored'])} file(s) among the originals are not named by an item's sha256 and "
                f"were left out, e.g. {kept['ignored'][0]}")
    say(f"the source's custody log ({rows['audit_events']} events) is kept in "
               f"{result['source_audit_log']}")
    if result["source_audit_chain"] != "intact":
        warning(f"the source's custody log does not verify: {result['source_audit_chain']}")


COMMANDS = [export, import_]
