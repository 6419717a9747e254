"""Commands that make what leaves the case: report (HTML/PDF) and verify-bundle."""

from __future__ import annotations

from pathlib import Path

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, say, warning

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="The folder to write report.html, report.pdf and certificate.json into (created).")
@click.option("--format", "formats", type=click.Choice(["html", "pdf"]), multiple=True,
              help="html, pdf, or both by repeating the option (default: both).")
@click.option("--no-blur", is_flag=True,
              help="Do not pixelate faces in the report's images. Recorded in the audit log and printed on "
                   "the report's first page.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_ctx
def report(ctx: Context, out: Path, formats: tuple[str, ...], no_blur: bool, as_json: bool) -> None:
    """Write the case's report: a self-contained HTML file and the same as PDF.

    It computes a fresh tally (kept in the tally's history) and checks its certificate against the case,
    then lays out: the case summary; the headline "at least N distinct people in verified footage
    (certified)" with the estimate and upper bound; the certificate as a gallery of proof crops with the
    reason for every pair; a timeline of items, claims and the certified count; the claims against N; a
    map of geolocated items (Natural Earth borders, bundled); the methods from the parameters actually
    used; and the custody summary with every item's SHA-256. Faces are pixelated in every image unless
    --no-blur is given.
    """
    from vericount.report.build import write_report

    with ctx.open_case() as case:
        written = write_report(case, out, formats or ("html", "pdf"), blur=not no_blur)
    if as_json:
        emit_json(written.to_json())
        return
    if not written.blurred:
        warning("faces are NOT blurred in this report (--no-blur): do not publish it")
    for problem in written.problems:
        warning(f"certificate: {problem}")
    n = "no certified count" if written.at_least is None else f"at least {written.at_least}"
    say(f"report written ({n}, {written.seconds['total']:.1f} s):")
    for path in written.files.values():
        say(f"  {path}")


@click.command("verify-bundle")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the check as JSON.")
def verify_bundle(bundle: Path, as_json: bool) -> None:
    """Check an evidence bundle (from `vericount export --bundle`): every file against its SHA-256 in the
    manifest (changed, missing and unlisted files are named), the audit log's hash chain, and the
    certificate against the bundled export. Needs no case. Exit status 1 when anything differs.

    Without vericount: unzip it and run `sha256sum -c MANIFEST.sha256` in its folder.
    """
    import sys

    from vericount.report.bundle import verify_bundle as check_bundle

    check = check_bundle(bundle)
    if as_json:
        emit_json(check.to_json())
    else:
        for problem in check.problems:
            say(f"DIFFERENT {problem}")
        n = "no certified count" if check.at_least is None else f"at least {check.at_least}"
        verdict = "intact" if check.ok else f"{len(check.problems)} problem(s)"
        say(f"{bundle}: {verdict}; {check.files} files, {check.bytes} bytes checked; certificate: {n}")
    if not check.ok:
        sys.exit(1)


COMMANDS = [report, verify_bundle]
