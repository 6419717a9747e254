"""Commands that reach the network, only when asked: capture (links to preserved evidence, with the page's
web archive) and the trusted timestamps that add and capture can ask for."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.output import emit_json, error, say, warning
from vericount.errors import InvalidValue

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.argument("urls", nargs=-1)
@click.option("--from-file", "from_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A text file of links, one a line (# starts a comment).")
@click.option("--max", "max_items", type=click.IntRange(min=1), default=None,
              help="Take the first N posts of a playlist or channel link (else such a link is refused).")
@click.option("--timeout", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds to wait on the site before giving up on a link.")
@click.option("--cookies", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="A cookies file (Netscape format, as browser extensions and yt-dlp write it) for "
                   "logged-in or age-gated posts; each site gets only its own cookies. Read, never stored "
                   "in the case.")
@click.option("--cookies-from-browser", "browser", default=None, metavar="BROWSER[:PROFILE]",
              help="Use the cookies of a browser profile on this machine instead (firefox, chrome, chromium, "
                   "edge, brave, ...; PROFILE a name or a folder), read as yt-dlp reads them. Never stored.")
@click.option("--proxy", default=None, metavar="URL",
              help="Reach the sites through this proxy (http://, https:// or socks5://).")
@click.option("--no-archive", "no_archive", is_flag=True,
              help="Keep the media and its info.json only: no web archive, screenshot or TLS chain.")
@click.option("--recheck", is_flag=True,
              help="Visit the links captured before (or those given) again: record whether each post is "
                   "still up and serves the same bytes. Stores nothing new.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for metadata (default: the number of cores).")
@click.option("--timestamp", "stamp", is_flag=True,
              help="Then get trusted timestamps for the new originals from each TSA the case names "
                   "(vericount timestamp --remember); a TSA that cannot be reached stamps them later.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@pass_ctx
def capture(ctx: Context, urls: tuple[str, ...], from_file: Path | None, max_items: int | None,
            timeout: float, cookies: Path | None, browser: str | None, proxy: str | None, no_archive: bool,
            recheck: bool,
            jobs: int | None, stamp: bool, as_json: bool) -> None:
    """Fetch the media of posts from their links (yt-dlp) and preserve it with the page's web archive.

    The file the site serves is kept as served (no re-encoding), with yt-dlp's info.json, which fills the
    source (page URL, platform, account, UTC posting time, caption). The page is archived beside it: its
    HTTP exchanges as WARC and WACZ, a full-page screenshot (Debian's chromium) and, for https, the site's
    TLS certificate chain. The custody log records each capture (when, the tools' versions, the response
    headers). The same bytes again are the same item. This command (and `timestamp`) uses the network;
    nothing else in vericount does. A link that fails is one line with its state (not-found, removed,
    login-required, ...); exit status 1 when any link failed.
    """
    from vericount.archive import Access
    from vericount.run.executors import get_executor

    links = list(urls)
    if from_file is not None:
        try:
            text = from_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"{from_file}: cannot read the list of links ({exc})") from None
        links += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if proxy is not None and not proxy.startswith(("http://", "https://", "socks5://", "socks5h://")):
        raise click.BadParameter(f"{proxy}: give the proxy as http://, https:// or socks5:// HOST:PORT",
                                 param_hint="--proxy")
    if cookies is not None and browser is not None:
        raise click.UsageError("give --cookies or --cookies-from-browser, not both")
    access = Access(cookies, proxy, timeout)
    if recheck:
        _recheck(ctx, links, access, browser, as_json)
        return
    if not links:
        raise click.UsageError("give links to capture (or --from-file)")
    from vericount.capture import capture as run_capture

    with ctx.open_case() as case:
        report = run_capture(case, links, get_executor("local", jobs), max_items=max_items, access=access,
                             web_archive=not no_archive, browser=browser)
        stamps = stamp_now(case) if stamp else []
    failed = report.add.failed if report.add else []
    if as_json:
        emit_json({"captures": [{"url": u.url, "state": u.state, "items": u.items, "new": u.new,
                                 "error": u.error, "archive": u.kept, "archive_problems": u.problems}
                                for u in report.urls],
                   "failed": [{"path": f.path, "error": f.message} for f in failed],
                   **({"timestamps": stamps_json(stamps)} if stamp else {})})
    else:
        for f in failed:
            error(f"{f.path}: {f.message}")
        for u in report.urls:
            if u.error:
                error(f"{u.state}: " + (u.error if u.error.startswith(u.url) else f"{u.url}: {u.error}"))
                continue
            say(f"captured {u.url}: {len(u.items)} file(s), {u.new} new"
                + (f"; kept {', '.join(u.kept)}" if u.kept else ""))
            for problem in u.problems:
                say(f"  {problem}")
        done = sum(u.error is None for u in report.urls)
        say(f"captured {done} of {len(report.urls)} link(s)")
        say_stamps(stamps)
    sys.exit(0 if report.ok else 1)


def stamp_now(case: Any) -> list[Any]:
    """Stamp with each TSA the case names; a failure here leaves the originals for the next run."""
    from vericount.timestamps import Outcome, stamp_all

    try:
        return stamp_all(case)
    except InvalidValue as exc:  # the case names no TSA
        return [Outcome("-", error=str(exc))]


def stamps_json(stamps: list[Any]) -> list[dict[str, Any]]:
    return [{"tsa": o.tsa, "error": o.error, "root": o.stamped.root if o.stamped else None,
             "items": o.stamped.items if o.stamped else 0,
             "attachments": o.stamped.attachments if o.stamped else 0,
             "signed_at": o.stamped.signed_at if o.stamped else None} for o in stamps]


def say_stamps(stamps: list[Any]) -> None:
    for o in stamps:
        if o.error:
            warning(f"not timestamped: {o.error} (`vericount timestamp` stamps them when the TSA answers)")
        elif o.stamped:
            kept = f" and {o.stamped.attachments} attachment(s)" if o.stamped.attachments else ""
            say(f"timestamped {o.stamped.items} original(s){kept} by {o.tsa} at {o.stamped.signed_at or '?'}")
        else:
            say(f"nothing new to timestamp for {o.tsa}")


def _recheck(ctx: Context, links: list[str], access: Any, browser: str | None, as_json: bool) -> None:
    from vericount.capture import recheck

    with ctx.open_case() as case:
        found = recheck(case, access, only=links or None, browser=browser)
    if as_json:
        emit_json({"rechecked": [{"url": r.url, "state": r.state, "detail": r.detail, "served": r.served}
                                 for r in found]})
    else:
        for r in found:
            say(f"{r.state}: {r.url}: {r.detail}")
        if not found:
            say("no captured links to recheck")
        else:
            counts = {state: sum(r.state == state for r in found) for state in ("same", "changed", "gone",
                                                                               "unknown")}
            say("rechecked " + ", ".join(f"{n} {state}" for state, n in counts.items() if n))
    sys.exit(0)


COMMANDS = [capture]
