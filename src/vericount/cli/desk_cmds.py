"""Commands about the review desk: serve, user add, users, tag, note."""

from __future__ import annotations

import sys

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, say, table

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (keep 127.0.0.1 unless a TLS proxy is in front).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (one per core serves a busy team best).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME[:PORT]",
              help="Also answer requests for this host name (repeatable): the name a TLS proxy in front "
                   "passes on. Without it only localhost, 127.0.0.1, [::1] and --host, on --port, are "
                   "answered; any other Host gets 400 (no DNS rebinding).")
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int, allow_hosts: tuple[str, ...]) -> None:
    """The review desk: a web app where a team reviews items, judges people and watches the tally.

    Sign in with an account made by `vericount user add`. Every asset is served locally; nothing is
    fetched from the internet.
    """
    import json
    import os

    import uvicorn

    from vericount.desk.app import create_app
    from vericount.desk.guard import allowed_hosts
    from vericount.desk.users import list_users

    hosts = allowed_hosts(host, port, allow_hosts)
    with ctx.open_case() as case:
        if not list_users(case):
            say("no desk users yet: add one with `vericount user add NAME --role admin`", err=True)
        say(f"vericount desk for {case.root} on http://{host}:{port}/ (Ctrl-C stops it)")
        if workers == 1:
            uvicorn.run(create_app(case, hosts=hosts), host=host, port=port, log_level="warning")
            return
        os.environ["VERICOUNT_CASE"] = str(case.root)
        os.environ["VERICOUNT_ACTOR"] = case.actor
        os.environ["VERICOUNT_DESK_HOSTS"] = json.dumps(sorted(hosts, key=str))
    uvicorn.run("vericount.desk.app:from_environment", factory=True, workers=workers, host=host, port=port,
                log_level="warning")


@click.group()
def user() -> None:
    """Desk accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "reviewer", "admin"]), required=True,
              help="viewer: reads; reviewer: also reviews, marks and judges; admin: everything.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (else it is prompted).")
@pass_ctx
def user_add(ctx: Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a desk account NAME, or give an existing one a new role and password (signing it out).

    The password (8 characters or more) is stored as a scrypt hash.
    """
    from vericount.desk.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with ctx.open_case() as case:
        add_user(case, name, role, password)
    say(f"user {name} ({role}) saved")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def users(ctx: Context, as_json: bool) -> None:
    """List the desk accounts."""
    from vericount.desk.users import list_users

    with ctx.open_case() as case:
        found = list_users(case)
    if as_json:
        emit_json(found)
        return
    table(None, ["name", "role", "created", "disabled"],
          [[u["name"], u["role"], u["created_at"][:19], "yes" if u["disabled"] else ""] for u in found])


@click.command()
@click.argument("item")
@click.argument("tags", nargs=-1, required=True)
@click.option("--remove", is_flag=True, help="Take the tags off instead.")
@pass_ctx
def tag(ctx: Context, item: str, tags: tuple[str, ...], remove: bool) -> None:
    """Tag ITEM (free words, for filtering in the desk: "day-1", "kursk")."""
    from vericount.items import add_tags, remove_tag

    with ctx.open_case() as case:
        if remove:
            now: list[str] = []
            for t in tags:
                now = remove_tag(case, item, t)
        else:
            now = add_tags(case, item, list(tags))
    say(f"tags: {', '.join(now) or '(none)'}")


@click.command()
@click.argument("item")
@click.argument("text")
@pass_ctx
def note(ctx: Context, item: str, text: str) -> None:
    """Add a note to ITEM (kept with its author and time; shown in the desk)."""
    from vericount.items import add_note

    with ctx.open_case() as case:
        add_note(case, item, text)
    say("note added")


COMMANDS = [serve, user, users, tag, note]
