"""Commands about claims: claims, claims add, claims compare."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, say, table, warning
from vericount.cli.stage_runs import executor_options

pass_ctx = click.make_pass_decorator(Context)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the ledger as JSON.")
@click.pass_context
def claims(click_ctx: click.Context, as_json: bool) -> None:
    """The claims ledger: every quantitative claim in the case's reports (English, Russian, Ukrainian), and in
    the captions, on-screen text and speech of its photos and videos, by what it counts, in time order.

    `vericount claims add` adds reports; `vericount claims compare` sets the claims about people against
    the certified count.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    from vericount.claims.service import ledger

    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    with ctx.open_case() as case:
        found = ledger(case)
    if as_json:
        emit_json(found)
        return
    by_id = {c["id"]: c for c in found["claims"]}
    for group in found["groups"]:
        rows = [by_id[i] for i in group["claims"]]
        columns = ["published", "read in", "quantity", "event", "scope", "speaker", "via", "hedges"]
        table(f"{group['subject']} ({group['key']})", columns,
              [[c["published"] or "-", _where(c), c["quantity"], c["event"] or "-", c["scope"] or "-",
                c["speaker"] or "-", " > ".join(c["via"]) or "-", ", ".join(c["hedges"]) or "-"]
               for c in rows])
    for report in found["reports"]:
        for hedge in report["hedges"]:
            say(f"report {report['id'][:12]} says: {hedge}")
    say(f"{len(found['claims'])} claims in {len(found['reports'])} reports")


@claims.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--outlet", default=None, help="Who published the report (the first link of every relay).")
@click.option("--url", default=None, help="Where it was published.")
@click.option("--published", default=None, metavar="WHEN", help="When (YYYY-MM-DD, or a time with offset).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Worker processes.")
@executor_options
@pass_ctx
def claims_add(ctx: Context, paths: tuple[Path, ...], outlet: str | None, url: str | None,
               published: str | None, jobs: int | None, executor: str | None, address: str | None) -> None:
    """Preserve reports (plain text or HTML) as evidence and extract their quantitative claims.

    HTML is reduced to its main text (trafilatura); markup and scripts are dropped, never run.
    Extraction reads English only; other languages are stored with a message. Exit status 1 when any
    file could not be stored or read.
    """
    from vericount.claims.service import add_reports
    from vericount.items import first_names
    from vericount.run.choice import choose
    from vericount.run.executors import get_executor

    with ctx.open_case() as case:
        added, report = add_reports(case, list(paths), get_executor("local", jobs), outlet, url, published,
                                    reader=choose(case, executor, jobs, address))
        names = first_names(case, {i for i, _ in report.failed + report.notes} | set(report.done))
    for f in added.failed:
        error(f"{f.path}: {f.message}")
    for item_id, message in report.failed:
        error(f"{names.get(item_id, item_id[:12])}: claims not read: {message}")
    for item_id, message in report.notes:
        warning(f"{names.get(item_id, item_id[:12])}: {message}")
    say(f"added {len(added.added)} report(s), {len(set(added.known))} already held; read "
               f"{len(report.done)}; `vericount claims` lists the claims")
    sys.exit(0 if added.ok and not report.failed else 1)


@claims.command("compare")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--include-unreviewed", is_flag=True, help="Count people in unreviewed items too.")
@pass_ctx
def claims_compare(ctx: Context, as_json: bool, include_unreviewed: bool) -> None:
    """The claims about people against the certified count of the case's footage."""
    from vericount.claims.service import compare
    from vericount.tally.service import Scope, tally

    with ctx.open_case() as case:
        result = tally(case, Scope(include_unreviewed=include_unreviewed), save=False)
        rows = compare(case, result)
    if as_json:
        summary = {k: result[k] for k in ("at_least", "estimate", "at_most", "headline")}
        summary["proposed"] = (result["proposed"] or {}).get("at_least")
        emit_json({"tally": summary,
                   "claims": rows})
        return
    say(result["headline"])
    table(f"{len(rows)} claims about people", ["published", "read in", "speaker", "via", "quantity",
                                               "subject", "scope", "against the count"],
          [[c["published"] or "-", _where(c), c["speaker"] or "-", " > ".join(c["via"]) or "-",
            c["quantity"], c["subject"], c["scope"] or "-", c["verdict"]] for c in rows])


def _where(claim: dict[str, Any]) -> str:
    """Where a claim was read: its item's first 12 characters, and the line's kind and time."""
    from vericount.media.frames import clock

    kind = {"ocr": "on screen"}.get(claim["origin"], claim["origin"])
    when = f" {clock(claim['at'])}" if claim["at"] is not None else ""
    return f"{claim['report'][:12]} {kind}{when}"


COMMANDS = [claims]
