"""Commands about the count: judge, judgments, tally."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, table, warning

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.argument("track_a")
@click.argument("track_b")
@click.argument("verdict", type=click.Choice(["same", "different", "cant-tell"]))
@click.option("--reason", default=None, help="Why (required for 'different': what shows two people).")
@click.option("--undo", is_flag=True, help="Withdraw the standing judgment with this verdict on the pair.")
@pass_ctx
def judge(ctx: Context, track_a: str, track_b: str, verdict: str, reason: str | None, undo: bool) -> None:
    """Judge whether two tracks show the same person: same, different or cant-tell.

    TRACK_A and TRACK_B are ITEM:NUMBER (a sha256 prefix or file name, and a number from `vericount
    tracks ITEM`). A new judgment on a pair replaces the one before; every judgment and undo is in the
    audit log. A person's "same" overrides the machine's "distinct" calls; "same" against "different"
    through other judgments blocks the certified count until resolved.
    """
    from vericount.tally.service import judge as record

    with ctx.open_case() as case:
        done = record(case, track_a, track_b, verdict, reason, undo)
    action = "withdrawn" if undo else "recorded"
    click.echo(f"{done['verdict']} {action}: {done['a'][:12]}:{done['a'].rpartition(':')[2]} ~ "
               f"{done['b'][:12]}:{done['b'].rpartition(':')[2]} (judgment {done['id']}, by {done['by']})")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the judgments as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include judgments replaced or undone.")
@pass_ctx
def judgments(ctx: Context, as_json: bool, show_all: bool) -> None:
    """List the judgments on pairs of tracks (standing ones, or --all)."""
    from vericount.tally.service import list_judgments

    with ctx.open_case() as case:
        rows = list_judgments(case, standing_only=not show_all)
    if as_json:
        emit_json({"judgments": rows})
        return
    table(f"{len(rows)} judgments", ["id", "a", "b", "verdict", "by", "reason", "undone"],
          [[r["id"], _short(r["a"]), _short(r["b"]), r["verdict"], r["by"], r["reason"] or "-",
            "yes" if r["undone"] else "-"] for r in rows])


def _short(ref: str) -> str:
    item, _, number = ref.rpartition(":")
    return f"{item[:12]}:{number}"


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print the whole result (certificate included) as JSON.")
@click.option("--include-unreviewed", is_flag=True,
              help="Count people in every item, not only verified ones (labelled so in every output).")
@click.option("--from", "date_from", default=None, metavar="DATE",
              help="Only items filmed (chronolocation) or, undated, posted on or after DATE (YYYY-MM-DD).")
@click.option("--to", "date_to", default=None, metavar="DATE", help="... on or before DATE (YYYY-MM-DD).")
@click.option("--group", default=None, metavar="ITEM", help="Only the repost group of ITEM.")
@click.option("--machine-distinct/--no-machine-distinct", default=True,
              help="Count two faces farther apart than the calibrated threshold as different people "
                   "(default on; recorded in the result).")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds for the exact solver; when reached, the best set proved so far is reported.")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the certificate to this JSON file.")
@click.option("--check", "check_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Check a certificate file against the case instead of counting.")
@pass_ctx
def tally(ctx: Context, as_json: bool, include_unreviewed: bool, date_from: str | None, date_to: str | None,
          group: str | None, machine_distinct: bool, time_limit: float, out_path: Path | None,
          check_path: Path | None) -> None:
    """Count the distinct people: at least N (certified), about M (estimated), at most K.

    N is the largest set of tracks that the records prove pairwise different (seen in one frame, judged
    different, faces far apart), each the same person across copies and "same" judgments; the certificate
    gives a proof crop per person and the reason for every pair (check it with --check, or with the
    standalone src/vericount/tally/check.py). M clusters tracks by face; K counts every person not joined.
    Suggestions rank the pairs whose judgment would change N or M most. Exit status 1 when the count is
    blocked by contradicting judgments or a checked certificate does not hold.
    """
    from vericount.tally.service import Scope, check_file
    from vericount.tally.service import tally as compute

    for name, value in (("--from", date_from), ("--to", date_to)):
        if value is not None and not _is_date(value):
            error(f"{name} {value!r}: give a date as YYYY-MM-DD")
            sys.exit(2)
    with ctx.open_case() as case:
        if check_path is not None:
            problems = check_file(case, check_path)
            for problem in problems:
                error(f"{check_path.name}: {problem}")
            if not problems:
                click.echo(f"{check_path.name}: the certificate holds against the case")
            sys.exit(1 if problems else 0)
        scope = Scope(include_unreviewed, date_from, date_to, group, machine_distinct)
        result = compute(case, scope, time_limit)
    if out_path is not None and result["certificate"] is not None:
        from vericount.values import strict_json

        out_path.write_text(strict_json(result["certificate"], indent=1, ensure_ascii=False),
                            encoding="utf-8")
    if as_json:
        emit_json(result)
    else:
        _print(result)
    sys.exit(1 if result["at_least"] is None else 0)


def _is_date(value: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _print(result: dict[str, Any]) -> None:
    for line in result["contradictions"]:
        error(f"contradiction: {line}")
    for line in result["stale_judgments"] + result["refused_joins"]:
        warning(line)
    click.echo(result["headline"])
    click.echo(f"{result['items']} items, {result['tracks']} tracks, {result['judgments']} judgments; "
               f"machine distinct calls {'on' if result['machine_distinct'] else 'off'}; "
               f"estimate: {result['estimate_method']}")
    cert = result["certificate"]
    if cert is not None:
        reasons: dict[str, int] = {}
        for pair in cert["pairs"]:
            reasons[pair["reason"]] = reasons.get(pair["reason"], 0) + 1
        table(f"certificate: {cert['at_least']} people, {len(cert['pairs'])} pairs "
              f"({', '.join(f'{n} {k}' for k, n in sorted(reasons.items())) or 'none'})",
              ["#", "track", "time (s)", "tracks joined", "proof crop"],
              [[k + 1, _short(m["track"]), f"{m['time']:.2f}", len(m["tracks"]), m["crop"] or "-"]
               for k, m in enumerate(cert["members"])])
    if result["suggestions"]:
        table("what would help most", ["judge", "a", "b", "effect", "why"],
              [[s["kind"], _short(s["a"]), _short(s["b"]), _effect(s),
                s["why"]] for s in result["suggestions"]])


def _effect(suggestion: dict[str, Any]) -> str:
    if suggestion["kind"] == "same":
        return "M -1"
    needed = suggestion["judgments_needed"]
    return "N +1" if needed == 1 else f"N +1 with {needed - 1} more"


COMMANDS = [judge, judgments, tally]
