"""Commands about the case as a whole: init, summary, log, verify, timestamp, executor."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, human_size, interactive, progress_bar, say, table

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--db", "db_url", default=None, metavar="URL",
              help="Put the case database on PostgreSQL (postgresql://user@host/dbname) instead of "
                   "DIRECTORY/case.db. Leave the password out of the URL and use ~/.pgpass or "
                   "PGPASSWORD to keep it out of case.json.")
@pass_ctx
def init(ctx: Context, directory: Path, db_url: str | None) -> None:
    """Create a case in DIRECTORY (case.db, evidence/, derived/)."""
    from vericount.case import Case

    with Case.create(directory, db_url, ctx.actor) as case:
        say(f"created case {case.root} ({case.dialect})")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def summary(ctx: Context, as_json: bool) -> None:
    """What the case holds: items by kind and status, sources, stages, failures."""
    from vericount.summary import summarise

    with ctx.open_case() as case:
        s = summarise(case)
    if as_json:
        emit_json(s.to_json())
        return
    say(f"case {s.root} ({s.database}): {s.items} items, {human_size(s.bytes)}, "
               f"{s.sources} sources, {s.audit_events} audit events")
    say("  by kind:   " + (", ".join(f"{k} {n}" for k, n in s.by_kind.items()) or "-"))
    say("  by status: " + (", ".join(f"{k} {n}" for k, n in s.by_status.items()) or "-"))
    if s.platforms:
        say("  platforms: " + ", ".join(f"{k} {n}" for k, n in s.platforms.items()))
    for stage, counts in sorted(s.stages.items()):
        say(f"  stage {stage}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    for f in s.failures:
        say(f"  failed: {f['item'][:12]} {f['stage']}: {f['error']}")


@click.command("log")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--item", "item_ref", default=None, help="Only events about this item.")
@click.option("--by", "actor", default=None, help="Only events by this actor.")
@click.option("--action", default=None, help="Only actions starting with this (e.g. item.status).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the last N events.")
@pass_ctx
def log_cmd(ctx: Context, as_json: bool, item_ref: str | None, actor: str | None,
            action: str | None, limit: int | None) -> None:
    """The custody log: who changed what, when, with which vericount version."""
    from vericount.items import resolve
    from vericount.store.audit import events

    with ctx.open_case() as case, case.session() as s:
        item_id = resolve(s, item_ref).id if item_ref else None
        rows = [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                 "item": e.item_id, "detail": e.detail, "version": e.tool_version, "hash": e.hash}
                for e in events(s, item_id, actor, action, limit)]
    if as_json:
        emit_json(rows)
        return
    table(None, ["id", "at", "actor", "action", "item", "detail"],
          [[e["id"], str(e["at"])[:19], e["actor"], e["action"], str(e["item"] or "")[:12],
            _brief(e["detail"])] for e in rows])


def _brief(detail: object) -> str:
    if not isinstance(detail, dict):
        return str(detail)
    text = ", ".join(f"{k}={v}" for k, v in detail.items() if k != "before" and v is not None)
    return text if len(text) <= 100 else text[:97] + "..."


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--jobs", type=click.IntRange(min=1), default=2, help="Files hashed at once.")
@click.option("--expect-head", default=None, metavar="COUNT:HASH",
              help="The log's head as recorded elsewhere (what an earlier verify printed): the log must "
                   "still hold that event at that position.")
@pass_ctx
def verify(ctx: Context, as_json: bool, jobs: int, expect_head: str | None) -> None:
    """Re-hash every stored original, check the audit log's hash chain against the heads anchored in
    anchors.log and case.json (and --expect-head), check every item, name, source, status, place, date,
    tag, note, judgment, match decision, mark, tally and desk account against the events that made it, and
    check the case key's records. Prints the log's head and the key's fingerprint for you to record
    outside the case. Exit 1 on any problem."""
    from vericount.store.anchor import parse_expected
    from vericount.verify import verify as run_verify

    expected = parse_expected(expect_head) if expect_head else None
    with ctx.open_case() as case, progress_bar(interactive() and not as_json) as bar:
        report = run_verify(case, jobs, on_start=lambda total: bar.start("verifying", total),
                            on_item=bar.advance, expect_head=expected)
    if as_json:
        emit_json(report.to_json())
        sys.exit(0 if report.ok else 1)
    for p in report.problems:
        error(f"{p.item or 'audit log'}: {p.problem}: {p.detail}")
    for note in report.notes:
        say(f"note: {note}")
    if report.head is not None:
        say(f"audit log: {report.head.count} events, head {report.head.text} (event {report.head.id}, "
            f"{report.head.at}); record it outside the case and check with --expect-head")
        say(f"anchored heads compared: {report.anchored}")
    if report.key_fingerprint:
        say(f"case key: ed25519 fingerprint {report.key_fingerprint}")
    say(f"state checked against the log: {', '.join(report.state_checked)}")
    for skipped in report.state_skipped:
        say(f"  not checked: {skipped}")
    if report.timestamps:
        say(f"trusted timestamps checked offline: {report.timestamps} token(s)")
    state = "intact" if report.ok else f"{len(report.problems)} problem(s)"
    kept = f" and {report.attachments} attachments" if report.attachments else ""
    originals = report.checked - report.attachments
    say(f"verified {originals} originals{kept} ({human_size(report.bytes)}): {state}")
    sys.exit(0 if report.ok else 1)


@click.command()
@click.option("--tsa", default=None, help="A time-stamping authority's URL (RFC 3161 over HTTP); without it, "
              "every TSA the case names.")
@click.option("--tsa-ca", "tsa_ca", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The TSA's CA certificate (PEM): kept in the case, to check its tokens offline.")
@click.option("--remember", is_flag=True, help="Name this TSA in the case, so that later runs (and add or "
              "capture --timestamp) stamp with it too.")
@click.option("--forget", "forget_tsa", default=None, metavar="URL", help="Stop naming this TSA in the case "
              "(its tokens stay and are still checked).")
@click.option("--list", "list_tsas", is_flag=True, help="List the TSAs the case names.")
@click.option("--timeout", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds to wait for each TSA.")
@pass_ctx
def timestamp(ctx: Context, tsa: str | None, tsa_ca: Path | None, remember: bool, forget_tsa: str | None,
              list_tsas: bool, timeout: float) -> None:
    """Get trusted timestamps (RFC 3161) for every original a TSA has not stamped yet: one token over the
    Merkle root of their SHA-256s, kept in timestamps/ with each item's path to the root (anyone can check
    it with sha256 and `openssl ts -verify`); `vericount verify` checks every token offline. With --tsa, that
    TSA; without, each TSA the case names (--remember), so that one authority's failure does not leave the
    evidence unstamped. What was added while no TSA could be reached is stamped at the next run, and the
    delay is recorded. This command uses the network (the TSAs only). Exit 1 when a TSA cannot be reached
    or its token does not verify."""
    from vericount import timestamps

    with ctx.open_case() as case:
        if list_tsas:
            for a in timestamps.authorities(case):
                say(f"{a['url']} (CA {timestamps.FOLDER}/{a['ca']})")
            return
        if forget_tsa is not None:
            if not timestamps.forget(case, forget_tsa):
                raise click.BadParameter(f"{forget_tsa}: the case does not name this TSA",
                                         param_hint="--forget")
            say(f"forgot {forget_tsa}")
            return
        if tsa is not None:
            if tsa_ca is None:
                raise click.UsageError("--tsa needs --tsa-ca (its CA certificate, to check tokens offline)")
            if remember:
                timestamps.remember(case, tsa, tsa_ca)
                say(f"the case names {tsa}")
            outcomes = [timestamps.Outcome(tsa, timestamps.stamp(case, tsa, tsa_ca, timeout))]
        else:
            if remember or tsa_ca is not None:
                raise click.UsageError("--remember and --tsa-ca go with --tsa URL")
            outcomes = timestamps.stamp_all(case, timeout)
    if not report_stamps(outcomes):
        sys.exit(1)


def report_stamps(outcomes: list[Any]) -> bool:
    """One line per TSA; False when any failed."""
    for o in outcomes:
        if o.error:
            error(f"{o.error} (what it has not stamped is stamped at the next `vericount timestamp`)")
        elif o.stamped is None:
            say(f"nothing to stamp: {o.tsa} has stamped every original already")
        else:
            done = o.stamped
            waited = f"; the oldest was added {human_seconds(done.gap_s)} before" if done.gap_s else ""
            kept = f" and {done.attachments} attachment(s)" if done.attachments else ""
            say(f"stamped {done.items} original(s){kept} at {done.signed_at or '?'} by {o.tsa}: Merkle root "
                f"{done.root} (timestamps/{done.root}.tsr){waited}")
    return all(o.error is None for o in outcomes)


def human_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@click.command("executor")
@click.argument("name", required=False, type=click.Choice(["local", "ray"]))
@click.option("--address", default=None, metavar="HOST:PORT",
              help="For ray: the cluster's head (`auto`: the cluster this machine is in); without it, a Ray "
                   "instance is started on this machine for each command.")
@pass_ctx
def executor_cmd(ctx: Context, name: str | None, address: str | None) -> None:
    """Show, or set, where the case's stages run by default: `local` (worker processes on this machine) or
    `ray` (a Ray cluster; docs/scale.md). A command's --executor and --address override it. The setting is
    kept in the case's database and logged, so the whole team shares it."""
    from vericount.run.choice import case_executor, set_case_executor

    with ctx.open_case() as case:
        if name is None:
            if address is not None:
                raise click.UsageError("--address goes with NAME (ray)")
        else:
            set_case_executor(case, name, address)
        chosen, where = case_executor(case)
    say(f"executor: {chosen}" + (f" at {where}" if where else ""))


COMMANDS = [init, summary, log_cmd, verify, timestamp, executor_cmd]
