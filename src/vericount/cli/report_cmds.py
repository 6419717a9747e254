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
@click.option("--key", default=None, metavar="FILE|FINGERPRINT",
              help="Who must have signed it: the case's public key (a PEM file, the case folder or its "
                   "case.json) or its fingerprint as `vericount verify` prints it.")
@click.option("--expect-sha256", default=None, metavar="HEX",
              help="The bundle's own sha256, as `export --bundle` printed it and the case's log keeps it.")
@click.option("--expect-head", default=None, metavar="COUNT:HASH",
              help="A head of the case's log recorded earlier (`vericount verify` prints it): the bundled "
                   "log must hold that event at that position.")
@click.option("--json", "as_json", is_flag=True, help="Print the check as JSON.")
def verify_bundle(bundle: Path, key: str | None, expect_sha256: str | None, expect_head: str | None,
                  as_json: bool) -> None:
    """Check an evidence bundle (from `vericount export --bundle`): every file against its SHA-256 in the
    manifest (changed, missing and unlisted files are named), the signature, the audit log's hash chain,
    the exported tables against the events that made them, custody.json, the audit head and the report
    against the export, the originals against the items, and the certificate against the bundled export
    (the "at least N" printed is the checked certificate's). Needs no case. Exit status 1 when anything
    differs.

    Without --key or --expect-sha256 a passing bundle is only self-consistent: anyone can make one. Give
    the case's key fingerprint (or the bundle's sha256) recorded from the case to check who made it.

    Without vericount: unzip it and run `sha256sum -c MANIFEST.sha256` in its folder (README.txt in the
    bundle shows the openssl commands for the signature).
    """
    import sys

    from vericount.report.bundle_check import verify_bundle as check_bundle
    from vericount.store.anchor import parse_expected
    from vericount.store.keys import expected_fingerprint

    fingerprint = expected_fingerprint(key) if key else None
    expected = parse_expected(expect_head) if expect_head else None
    check = check_bundle(bundle, fingerprint, expect_sha256, expected)
    if as_json:
        emit_json(check.to_json())
        if not check.ok:
            sys.exit(1)
        return
    for problem in check.problems:
        say(f"DIFFERENT {problem}")
    n = "no certified count" if check.at_least is None else f"at least {check.at_least}"
    verdict = ("intact" if check.authenticated else "self-consistent") if check.ok else \
        f"{len(check.problems)} problem(s)"
    say(f"{bundle}: {verdict}; {check.files} files, {check.bytes} bytes checked; certificate: {n}")
    say(f"sha256 {check.sha256}" + (" (as expected)" if check.sha256_checked else ""))
    if check.signed_by:
        whose = "the key given" if check.key_checked else "the bundle's own key: not checked against yours"
        say(f"signed by ed25519 key {check.signed_by} ({whose})")
    if check.audit_head:
        say(f"audit log in the bundle: head {check.audit_head['count']}:{check.audit_head['hash']}")
    for note in check.notes:
        say(f"note: {note}")
    if not check.ok:
        sys.exit(1)


COMMANDS = [report, verify_bundle]
