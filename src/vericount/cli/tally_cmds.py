"""Commands about the count: judge, judgments, tally."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, say, table, warning

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
    say(f"{done['verdict']} {action}: {done['a'][:12]}:{done['a'].rpartition(':')[2]} ~ "
               f"{done['b'][:12]}:{done['b'].rpartition(':')[2]} (judgment {done['id']}, by {done['by']})")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the judgments as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include judgments replaced or undone.")
@pass_ctx
def judgments(ctx: Context, as_json: bool, show_all: bool) -> None:
    """List the judgments on pairs of tracks and on groups (standing ones, or --all)."""
    from vericount.tally.reviews import list_groups
    from vericount.tally.service import list_judgments

    with ctx.open_case() as case:
        rows = list_judgments(case, standing_only=not show_all)
        groups = list_groups(case, standing_only=not show_all)
    if as_json:
        emit_json({"judgments": rows, "groups": groups})
        return
    table(f"{len(rows)} judgments", ["id", "a", "b", "verdict", "by", "reason", "undone"],
          [[r["id"], _short(r["a"]), _short(r["b"]), r["verdict"], r["by"], r["reason"] or "-",
            "yes" if r["undone"] else "-"] for r in rows])
    if groups:
        table(f"{len(groups)} group judgments",
              ["id", "verdict", "tracks", "against", "by", "reason", "undone"],
              [[g["id"], g["verdict"], len(g["a"]), len(g["b"]) or "-", g["by"], g["reason"] or "-",
                "yes" if g["undone"] else "-"] for g in groups])


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
@click.option("--count-machine-calls", is_flag=True,
              help="Make the headline the machine's proposed count (unconfirmed detections, face-distance "
                   "calls, joins only the matcher confirmed), said so in words; never certified.")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds for the exact solver; when reached, the best set proved so far is reported.")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the certificate to this JSON file.")
@click.option("--check", "check_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Check a certificate file against the case instead of counting.")
@pass_ctx
def tally(ctx: Context, as_json: bool, include_unreviewed: bool, date_from: str | None, date_to: str | None,
          group: str | None, count_machine_calls: bool, time_limit: float, out_path: Path | None,
          check_path: Path | None) -> None:
    """Count the distinct people: at least N (certified), N' (proposed), about M (estimated), at most K.

    N rests only on what reviewers decided and on facts no model can get wrong: its members are tracks a
    reviewer confirmed show one real person (`vericount people confirm`) or marked, and every two of them
    are different people because a reviewer said so (`judge`, `judge-group`) or because both were seen in
    one frame, boxes apart. The certificate gives a proof crop per person, who confirmed it, and the reason
    for every pair (check it with --check, or with the standalone src/vericount/tally/check.py). N' is what
    N would be if the machine's open proposals held (unconfirmed detections, face-distance calls, joins only
    the matcher confirmed), with the number of them it rests on. M clusters tracks by face; K counts every
    person not joined. The proposals rank what a reviewer could accept next by certified people gained per
    action, each with the commands that accept it. Exit status 1 when the count is blocked by contradicting
    judgments or a checked certificate does not hold.
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
                say(f"{check_path.name}: the certificate holds against the case")
            sys.exit(1 if problems else 0)
        scope = Scope(include_unreviewed, date_from, date_to, group, count_machine_calls)
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
    say(result["headline"])
    say(f"{result['items']} items, {result['tracks']} tracks ({result['confirmed']} confirmed, "
        f"{result['rejected']} rejected), {result['judgments']} judgments, {result['group_judgments']} group "
        f"judgments; estimate: {result['estimate_method']}")
    cert = result["certificate"]
    if cert is not None:
        reasons: dict[str, int] = {}
        for pair in cert["pairs"]:
            reasons[pair["reason"]] = reasons.get(pair["reason"], 0) + 1
        table(f"certificate: {cert['at_least']} people, {len(cert['pairs'])} pairs "
              f"({', '.join(f'{n} {k}' for k, n in sorted(reasons.items())) or 'none'})",
              ["#", "track", "time (s)", "tracks joined", "confirmed by", "proof crop"],
              [[k + 1, _short(m["track"]), f"{m['time']:.2f}", len(m["tracks"]),
                ", ".join(sorted({str(c.get("by")) for c in m["confirmed"]})), m["crop"] or "-"]
               for k, m in enumerate(cert["members"])])
    if result["proposals"]:
        table("proposals, most certified people per action first",
              ["#", "accept", "effect", "actions", "why"],
              [[p["rank"], p["kind"], p["effect"], p["actions"], p["why"]] for p in result["proposals"]])
        say("accept a proposal with its commands: vericount tally --json lists them ('commands')")


COMMANDS = [judge, judgments, tally]
