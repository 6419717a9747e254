"""Commands about reposts: reposts, matches, match confirm/reject."""

from __future__ import annotations

import sys

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, interactive, progress_bar, say, table, warning
from vericount.cli.stage_runs import executor_options

pass_ctx = click.make_pass_decorator(Context)


def _segment(seg: list[float] | None) -> str:
    return f"{seg[0]:.1f}-{seg[1]:.1f}s" if seg else "-"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print groups and matches as JSON.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for fingerprinting (default: the number of cores).")
@click.option("--high", type=click.FloatRange(0, 1), default=None,
              help="Score at or above which a match is confirmed without a human (default 0.80).")
@click.option("--low", type=click.FloatRange(0, 1), default=None,
              help="Score at or above which a match is suggested for review (default 0.50).")
@click.option("--fps", type=click.FloatRange(min=0.1, max=30), default=None,
              help="Frames sampled per second of video (default 2); a change fingerprints again.")
@executor_options
@pass_ctx
def reposts(ctx: Context, as_json: bool, jobs: int | None, high: float | None, low: float | None,
            fps: float | None, executor: str | None, address: str | None) -> None:
    """Find copies of the same footage: fingerprint what is pending, match it, list repost groups.

    Matches scoring at least --high are confirmed; those between --low and --high are suggested for a
    person to confirm or reject (`vericount match`). A group is the items joined by confirmed matches,
    with its earliest known copy (by posted time, else creation time, else when it was added).
    Exit status 1 when any item could not be fingerprinted (one line each on stderr).
    """
    from dataclasses import replace

    from vericount.items import first_names
    from vericount.reposts.fingerprint import Fingerprinter
    from vericount.reposts.match import MatchParams
    from vericount.reposts.service import groups, list_matches, run_reposts
    from vericount.reposts.stage import RepostsStage
    from vericount.run.choice import choose

    defaults = MatchParams()
    params = MatchParams(high=defaults.high if high is None else high,
                         low=defaults.low if low is None else low)
    if params.low > params.high:
        raise click.UsageError("--low must not be above --high")
    with ctx.open_case() as case, progress_bar(interactive() and not as_json) as bar:
        fingerprinter = Fingerprinter()
        if fps is not None:
            fingerprinter = replace(fingerprinter, sampler=replace(fingerprinter.sampler, fps=fps))
        stage_report, match_report = run_reposts(
            case, choose(case, executor, jobs, address), stage=RepostsStage(fingerprinter), params=params,
            on_start=lambda n: bar.start("fingerprinting", n), on_item=lambda _: bar.advance(1))
        found = groups(case)
        matches = list_matches(case)
        names = first_names(case, {m for g in found for m in g.members}
                            | {x for m in matches for x in (m.a, m.b)}
                            | {i for i, _ in stage_report.failed + stage_report.notes})
    if as_json:
        emit_json({
            "groups": [g.to_json() for g in found],
            "matches": [m.to_json() for m in matches],
            "fingerprinted": len(stage_report.done),
            "failed": [{"item": i, "error": msg} for i, msg in stage_report.failed],
            "warnings": [{"item": i, "warning": msg} for i, msg in stage_report.notes],
        })
    else:
        for item_id, message in stage_report.failed:
            error(f"{names.get(item_id, '?')} ({item_id[:12]}): not fingerprinted: {message}")
        for item_id, message in stage_report.notes:
            warning(f"{names.get(item_id, '?')} ({item_id[:12]}): {message}")
        table(f"{len(found)} repost groups", ["group", "copies", "earliest", "basis", "platforms", "members"],
              [[g.id, len(g.members), f"{g.earliest[:12]} ({names.get(g.earliest, '?')})", g.earliest_basis,
                ", ".join(g.platforms) or "-",
                ", ".join(names.get(m, m[:12]) for m in g.members)] for g in found])
        suggested = [m for m in matches if m.state == "suggested"]
        if suggested:
            table(f"{len(suggested)} suggested matches to review (vericount match confirm/reject A B)",
                  ["a", "b", "type", "score", "a segment", "b segment"],
                  [[f"{m.a[:12]} ({names.get(m.a, '?')})", f"{m.b[:12]} ({names.get(m.b, '?')})", m.type,
                    f"{m.score:.2f}", _segment(m.a_segment), _segment(m.b_segment)] for m in suggested])
        say(f"fingerprinted {len(stage_report.done)} item(s), {len(stage_report.failed)} failed; "
                   f"matched {match_report.matched} new item(s): {match_report.confirmed} confirmed, "
                   f"{match_report.suggested} suggested")
    sys.exit(1 if stage_report.failed else 0)


@click.command()
@click.argument("item")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
@pass_ctx
def matches(ctx: Context, item: str, as_json: bool) -> None:
    """List the items that share footage with ITEM (sha256 prefix or file name), best first."""
    from vericount.items import first_names, show
    from vericount.reposts.service import list_matches

    with ctx.open_case() as case:
        this = show(case, item)
        found = list_matches(case, this.id)
        names = first_names(case, {x for m in found for x in (m.a, m.b)})
    if as_json:
        emit_json({"item": this.id, "matches": [m.to_json() for m in found]})
        return
    rows = []
    for m in found:
        other, mine, theirs = (m.b, m.a_segment, m.b_segment) if m.a == this.id else (m.a, m.b_segment,
                                                                                      m.a_segment)
        relation = m.type if m.a == this.id or m.type in ("duplicate", "overlap", "exact") else \
            {"excerpt": "contains", "frame_of": "has frame"}[m.type]
        rows.append([f"{other[:12]} ({names.get(other, '?')})", relation, f"{m.score:.2f}", m.state,
                     _segment(mine), _segment(theirs), f"{m.speed:g}" if m.speed else "-",
                     m.decided_by or "matcher"])
    table(f"{len(found)} matches of {this.id[:12]}",
          ["other", "relation", "score", "state", "this segment", "other segment", "speed", "by"], rows)


@click.group()
def match() -> None:
    """Confirm or reject that two items show the same footage (audit-logged)."""


@match.command()
@click.argument("a")
@click.argument("b")
@click.option("--reason", default=None, help="Why (optional for confirm).")
@pass_ctx
def confirm(ctx: Context, a: str, b: str, reason: str | None) -> None:
    """Confirm that A and B are copies of the same footage: they join one repost group."""
    from vericount.reposts.service import decide

    with ctx.open_case() as case:
        view = decide(case, a, b, "confirmed", reason)
    say(f"confirmed: {view.a[:12]} {view.type} {view.b[:12]}")


@match.command()
@click.argument("a")
@click.argument("b")
@click.option("--reason", required=True, help="Why they are not the same footage (required).")
@pass_ctx
def reject(ctx: Context, a: str, b: str, reason: str) -> None:
    """Reject a match between A and B: it never comes back as a suggestion."""
    from vericount.reposts.service import decide

    with ctx.open_case() as case:
        view = decide(case, a, b, "rejected", reason)
    say(f"rejected: {view.a[:12]} / {view.b[:12]}")


COMMANDS = [reposts, matches, match]
