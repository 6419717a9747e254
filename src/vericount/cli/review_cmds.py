"""Commands for reviewers' decisions: people confirm/reject/reviews and judge-group."""

from __future__ import annotations

from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, say, table
from vericount.cli.people_cmds import people

pass_ctx = click.make_pass_decorator(Context)


def _short(ref: str) -> str:
    item, _, number = ref.rpartition(":")
    return f"{item[:12]}:{number}"


def _decided(done: Any, as_json: bool, what: str) -> None:
    if as_json:
        emit_json(done.to_json())
        return
    verb = "withdrawn" if done.undone else what
    say(f"{len(done.tracks)} track(s) {verb}" + (f" (action {done.action})" if done.action else "")
        + (f"; {len(done.unchanged)} already so" if done.unchanged else ""))
    if done.doubtful:
        say(f"{len(done.doubtful)} doubtful track(s) left open (the detector's score under 0.5): look at "
            "them and name the ones that are people, or add --with-doubtful: "
            + " ".join(f"{ref.partition(':')[0][:12]}:{ref.partition(':')[2]}" for ref in done.doubtful[:20])
            + (" ..." if len(done.doubtful) > 20 else ""))


@people.command("confirm")
@click.argument("tracks", nargs=-1, required=True)
@click.option("--except", "exclude", multiple=True, metavar="ITEM:NUMBER",
              help="Leave this track out (repeatable): the few on the page that are not a person.")
@click.option("--undo", is_flag=True, help="Withdraw the standing confirmation of these tracks.")
@click.option("--with-doubtful", is_flag=True,
              help="An ITEM stands for its doubtful tracks too (the detector's score under 0.5).")
@click.option("--json", "as_json", is_flag=True, help="Print what was decided as JSON.")
@pass_ctx
def confirm(ctx: Context, tracks: tuple[str, ...], exclude: tuple[str, ...], undo: bool, with_doubtful: bool,
            as_json: bool) -> None:
    """Confirm that each track shows one real person, in one action.

    TRACKS are ITEM:NUMBER, or ITEM for every track of the item no reviewer has decided on yet, except its
    doubtful ones (the detector's calibrated score under 0.5: more likely not a person), which are left
    open and listed: name them, or add --with-doubtful. Only confirmed tracks (and reviewers' marks) can be
    members of the certified count. Recorded with who and when, in the audit log; the newest decision on a
    track stands.
    """
    from vericount.tally.reviews import review

    with ctx.open_case() as case:
        done = review(case, list(tracks), "person", exclude=list(exclude), undo=undo,
                      with_doubtful=with_doubtful)
    _decided(done, as_json, "confirmed as people")


@people.command("reject")
@click.argument("tracks", nargs=-1, required=True)
@click.option("--reason", default=None, help="What it shows instead (required): a coat, a poster...")
@click.option("--undo", is_flag=True, help="Withdraw the standing rejection of these tracks.")
@click.option("--json", "as_json", is_flag=True, help="Print what was decided as JSON.")
@pass_ctx
def reject(ctx: Context, tracks: tuple[str, ...], reason: str | None, undo: bool, as_json: bool) -> None:
    """Reject tracks that show no person (a coat, a poster, a reflection): they leave every count.

    For one person boxed twice in the same frame, judge the two tracks `same` instead.
    """
    from vericount.tally.reviews import review

    with ctx.open_case() as case:
        done = review(case, list(tracks), "not_person", reason, undo=undo)
    _decided(done, as_json, "rejected")


@people.command("reviews")
@click.argument("item", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the reviews as JSON.")
@pass_ctx
def reviews(ctx: Context, item: str | None, as_json: bool) -> None:
    """List the tracks (of ITEM, or of the whole case) with the standing reviewer's decision on each."""
    from vericount.tally.reviews import review_states

    with ctx.open_case() as case:
        rows = review_states(case, item)
    if as_json:
        emit_json({"tracks": rows})
        return
    table(f"{len(rows)} tracks", ["track", "source", "decision", "by", "reason"],
          [[_short(r["track"]), r["source"], r["decision"], r["by"] or "-", r["reason"] or "-"]
           for r in rows])


@click.command("judge-group")
@click.argument("verdict", type=click.Choice(["different", "same"]))
@click.argument("tracks", nargs=-1, required=False)
@click.option("--against", multiple=True, metavar="TRACKS",
              help="The second set (repeatable; ITEM:NUMBER, ITEM, or 'certified': one track of each member "
                   "of the latest certified count).")
@click.option("--reason", default=None, help="What you compared and saw (required).")
@click.option("--undo", "undo_id", type=int, default=None, metavar="ID", help="Withdraw group judgment ID.")
@click.option("--json", "as_json", is_flag=True, help="Print the group judgment as JSON.")
@pass_ctx
def judge_group(ctx: Context, verdict: str, tracks: tuple[str, ...], against: tuple[str, ...],
                reason: str | None, undo_id: int | None, as_json: bool) -> None:
    """Judge sets of tracks in one action.

    `different TRACKS... --against TRACKS...`: every person of the first set is another person than every
    person of the second. `different TRACKS...` alone: they are all different people. `same TRACKS...`:
    they are all one person. TRACKS are ITEM:NUMBER, ITEM (its confirmed tracks) or `certified`. The
    certificate cites the group judgment for each pair it covers.
    """
    from vericount.tally.reviews import group, undo_group

    with ctx.open_case() as case:
        if undo_id is not None:
            done = undo_group(case, undo_id)
        else:
            if not tracks:
                raise click.UsageError("name the tracks of the group")
            split = [t for token in against for t in token.replace(",", " ").split()]
            done = group(case, verdict, list(tracks), split, reason)
    if as_json:
        emit_json(done)
        return
    if done["undone"]:
        say(f"group judgment {done['id']} withdrawn")
        return
    shape = (f"{len(done['a'])} against {len(done['b'])}" if done["b"] else f"{len(done['a'])} tracks")
    say(f"group judgment {done['id']} recorded: {verdict}, {shape}, by {done['by']}")


COMMANDS = [judge_group]
