"""Commands about items: add, items, show, status, locate, date."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from vericount.cli import Context
from vericount.cli.capture_cmds import say_stamps, stamp_now, stamps_json
from vericount.cli.output import (
    emit_json,
    error,
    human_size,
    interactive,
    progress_bar,
    say,
    table,
    warning,
)

pass_ctx = click.make_pass_decorator(Context)


class _AddProgress:
    """Storing (in bytes) while metadata is read alongside; then what is left of the metadata."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.steps = 0
        self.stage_started = False

    def files(self, count: int, total_bytes: int) -> None:
        self.bar.start(f"storing {count} files", total_bytes)

    def bytes_done(self, n: int) -> None:
        self.bar.advance(n)

    def stage(self, name: str, total: int) -> None:
        self.bar.start(f"{name}", total)
        self.bar.advance(self.steps)
        self.stage_started = True

    def stage_step(self) -> None:
        self.steps += 1
        if self.stage_started:
            self.bar.advance(1)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--source-url", default=None, help="Where these files were found (URL).")
@click.option("--platform", default=None, help="Platform (telegram, x, youtube...).")
@click.option("--account", default=None, help="Account that posted them.")
@click.option("--posted-at", default=None,
              help="When they were posted: a date or an ISO 8601 time with its UTC offset.")
@click.option("--sources", "sources_csv", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="CSV mapping file name or sha256 to source_url, platform, account, "
                                 "posted_at, notes (columns: docs/cli.md).")
@click.option("--telegram-export", "telegram_export", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="A Telegram Desktop chat export (JSON: result.json and its media "
                                 "folders): each message's media, with its link, time, text and "
                                 "forwarded-from as its source.")
@click.option("--with-text", "with_text", is_flag=True,
              help="With --telegram-export: also each message without media, as a text item (a report the "
                   "claims stage reads).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for metadata (default: the number of cores).")
@click.option("--follow-links", is_flag=True,
              help="Follow symbolic links found inside folders (links named on the command line are "
                   "always followed).")
@click.option("-v", "--verbose", is_flag=True, help="List every entry skipped inside folders, with why.")
@click.option("--timestamp", "stamp", is_flag=True,
              help="Then get trusted timestamps for the new originals from each TSA the case names "
                   "(vericount timestamp --remember); a TSA that cannot be reached stamps them later.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@pass_ctx
def add(ctx: Context, paths: tuple[Path, ...], source_url: str | None, platform: str | None,
        account: str | None, posted_at: str | None, sources_csv: Path | None,
        telegram_export: Path | None, with_text: bool, jobs: int | None, follow_links: bool,
        verbose: bool, stamp: bool, as_json: bool) -> None:
    """Preserve files and folders (recursively) as evidence, with their sources and metadata.

    Inside folders, hidden entries, symbolic links (unless --follow-links), pipes, devices and sockets
    are skipped and counted by reason (-v or --json lists them). A link named here is followed.
    A yt-dlp or gallery-dl sidecar beside a media file (NAME.info.json, NAME.EXT.json, NAME.json) fills
    its source (page URL, platform, account, posting time; post id, title, caption and counts in the
    notes); the options fill what it lacks and a --sources row refines it. Its SHA-256 goes into the
    custody log.
    Exit status 0 when every file of this batch was stored and read, 1 when any failed (one line each
    on stderr). An earlier batch's failures are not reported again (`vericount summary` lists them).
    """
    from vericount.ingest import LINK, SKIP_REASONS
    from vericount.ingest import add as run_add
    from vericount.run.executors import get_executor
    from vericount.sources import read_sources_csv, source_from_options
    from vericount.telegram import read_export

    _check_usage(paths, sources_csv, telegram_export, with_text)
    source = source_from_options(source_url, platform, account, posted_at)
    rows = read_sources_csv(sources_csv) if sources_csv else []
    export = read_export(telegram_export) if telegram_export else None
    with tempfile.TemporaryDirectory(prefix="vericount-telegram-") as tmp:
        given, failed = _from_export(export, with_text, Path(tmp))
        with ctx.open_case() as case, progress_bar(interactive() and not as_json) as bar:
            report = run_add(case, [*paths, *given], get_executor("local", jobs), source=source, rows=rows,
                             progress=_AddProgress(bar), follow_links=follow_links, given=given,
                             failed=failed)
            names = _names(case, report.metadata.failed + report.metadata.notes
                           if report.metadata else [])
            stamps = stamp_now(case) if stamp else []
    meta = report.metadata
    meta_failed = report.metadata_failures()
    earlier = report.metadata_failures(earlier=True)
    notes = meta.notes if meta else []
    if as_json:
        emit_json({
            "added": report.added, "known": report.known,
            "failed": [{"path": f.path, "error": f.message} for f in report.failed],
            "metadata_failed": [{"item": i, "names": names.get(i, []), "error": m}
                                for i, m in meta_failed],
            "earlier_metadata_failed": [{"item": i, "names": names.get(i, []), "error": m}
                                        for i, m in earlier],
            "warnings": [{"item": i, "names": names.get(i, []), "warning": m} for i, m in notes],
            "skipped": report.skipped,
            "hidden_skipped": report.hidden_skipped,
            "sidecars": report.sidecars,
            "telegram_export": {"chat": export.chat, "messages": export.messages,
                                "files": len(export.files), "without_media": export.without_media}
            if export else None,
            **({"timestamps": stamps_json(stamps)} if stamp else {}),
        })
    else:
        for f in report.failed:
            error(f"{f.path}: {f.message}")
        for item_id, message in meta_failed:
            error(f"{_label(names, item_id)}: stored, but its metadata could not be read: {message}")
        for item_id, message in earlier:
            warning(f"{_label(names, item_id)} (left by an earlier, interrupted add): stored, but its "
                    f"metadata could not be read: {message}")
        for item_id, message in notes:
            warning(f"{_label(names, item_id)}: {message}")
        if verbose:
            for reason, skipped in report.skipped.items():
                for path in skipped:
                    say(f"skipped {path}: {SKIP_REASONS[reason]}")
        known = len(set(report.known))
        skips = ", ".join(f"{SKIP_REASONS[reason]}: {len(skipped)}"
                          for reason, skipped in sorted(report.skipped.items()))
        if LINK in report.skipped:
            skips += " (--follow-links follows links)"
        if export:
            texts = f"added as text items: {len(export.texts)}" if with_text else "not added"
            say(f"Telegram export of {export.chat}: {export.messages} message(s), {len(export.files)} "
                f"file(s) with their messages as sources, {export.without_media} without media "
                f"({texts})")
        say(f"added {len(report.added)} new item(s); {known} already held "
                   f"(names and sources recorded); {len(report.failed)} file(s) refused or "
                   f"unreadable; metadata read for {len(meta.done) if meta else 0}, failed for "
                   f"{len(meta_failed) + len(earlier)}"
                   + (f"; sources read from {len(report.sidecars)} sidecar(s) (yt-dlp, gallery-dl)"
                      if report.sidecars else "")
                   + (f"; skipped inside folders: {skips}" if skips else ""))
        say_stamps(stamps)
    sys.exit(0 if report.ok else 1)


def _check_usage(paths: tuple[Path, ...], sources_csv: Path | None, telegram_export: Path | None,
                 with_text: bool) -> None:
    if not paths and sources_csv is None and telegram_export is None:
        raise click.UsageError("give files or folders to add (or --sources to update sources, or "
                               "--telegram-export)")
    if with_text and telegram_export is None:
        raise click.UsageError("--with-text goes with --telegram-export")


def _from_export(export: Any, with_text: bool, tmp: Path) -> tuple[dict[Path, Any], list[Any]]:
    """A Telegram export's files with their sources (and, ``with_text``, each message without media
    written to ``tmp`` as a text file, as the export holds its text), and what it could not give."""
    from vericount.ingest import FileFailure

    if export is None:
        return {}, []
    given = {f.path: f.sidecar for f in export.files}
    for number, text, sidecar in export.texts if with_text else []:
        message = tmp / f"message-{number}.txt"
        message.write_text(text + "\n", encoding="utf-8")
        given[message] = sidecar
    return given, [FileFailure(what, why) for what, why in export.failures]


def _names(case: Any, pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    from vericount.items import show

    return {item_id: show(case, item_id).names for item_id in {i for i, _ in pairs}}


def _label(names: dict[str, list[str]], item_id: str) -> str:
    shown = names.get(item_id) or ["?"]
    return f"{shown[0]} ({item_id[:12]})"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--status", default=None, help="Only items with this review status.")
@click.option("--kind", type=click.Choice(["image", "video", "text"]), default=None,
              help="Only items of this kind.")
@pass_ctx
def items(ctx: Context, as_json: bool, status: str | None, kind: str | None) -> None:
    """List the items of the case."""
    from vericount.items import list_items

    with ctx.open_case() as case:
        views = list_items(case, status, kind)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(f"{len(views)} items", ["id", "kind", "size", "status", "metadata", "names"],
          [[v.id[:12], v.kind, human_size(v.size), v.status,
            v.stages.get("metadata", {}).get("status", "pending"), ", ".join(v.names)]
           for v in views])


@click.command()
@click.argument("item")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def show(ctx: Context, item: str, as_json: bool) -> None:
    """Everything about one item (ITEM: a sha256 prefix of 6+ hex digits, or a file name)."""
    from vericount.items import show as show_item

    with ctx.open_case() as case:
        v = show_item(case, item)
    if as_json:
        emit_json(v.to_json())
        return
    _print_item(v)


def _print_item(v: Any) -> None:
    say(f"item {v.id}")
    say(f"  kind {v.kind} ({v.media_type}), {human_size(v.size)}, added {v.added_at} by "
               f"{v.added_by}")
    say(f"  status {v.status}" + (f": {v.status_note}" if v.status_note else ""))
    for path in v.paths:
        say(f"  seen as {path}")
    for src in v.sources:
        parts = [src.url, src.platform, src.account, src.posted_at and f"posted {src.posted_at}",
                 src.notes]
        say("  source: " + ", ".join(p for p in parts if p))
    if v.geolocation:
        g = v.geolocation
        how = ", ".join(p for p in (f"±{g['precision_m']:g} m" if g["precision_m"] is not None else "",
                                    g["method"] or "") if p)
        say(f"  located at {g['lat']}, {g['lon']}" + (f" ({how})" if how else ""))
    if v.chronolocation:
        c = v.chronolocation
        say(f"  dated {c['from']}" + (f" to {c['to']}" if c["to"] else "")
                   + (f" ({c['method']})" if c["method"] else ""))
    for kept in v.attachments:
        say(f"  kept {kept['role']}: {kept['name']}, {human_size(kept['size'])}, sha256 {kept['sha256']}"
            + (f" (from {kept['url']})" if kept["url"] else ""))
    for name, st in v.stages.items():
        extra = st["error"] or st["note"]
        say(f"  stage {name} v{st['version']}: {st['status']}" + (f": {extra}" if extra else ""))
    if v.metadata:
        for key, value in v.metadata.items():
            if key not in ("raw_tags", "c2pa") and value not in (None, {}, []):
                say(f"  {key}: {value}")
    from vericount.media.c2pa import summary_lines

    for line in summary_lines(v.metadata):  # Content Credentials, when the file has some
        say(f"  {line}")


def _edited(v: Any, as_json: bool, message: str) -> None:
    if as_json:
        emit_json(v.to_json())
    else:
        say(message)


@click.command()
@click.argument("item")
@click.argument("status", type=click.Choice(["unreviewed", "verified", "rejected", "needs-info"]))
@click.option("--note", default=None, help="Why (required for verified and rejected).")
@click.option("--json", "as_json", is_flag=True, help="Print the item as JSON.")
@pass_ctx
def status(ctx: Context, item: str, status: str, note: str | None, as_json: bool) -> None:
    """Set an item's review status."""
    from vericount.items import set_status

    with ctx.open_case() as case:
        v = set_status(case, item, status, note)
    _edited(v, as_json, f"{v.id[:12]} is now {v.status}")


@click.command(context_settings={"ignore_unknown_options": True})  # negative LAT/LON are numbers
@click.argument("item")
@click.argument("lat", type=float)
@click.argument("lon", type=float)
@click.option("--precision", type=float, default=None, help="Precision in metres.")
@click.option("--method", default=None, help="How the place was found.")
@click.option("--json", "as_json", is_flag=True, help="Print the item as JSON.")
@pass_ctx
def locate(ctx: Context, item: str, lat: float, lon: float, precision: float | None,
           method: str | None, as_json: bool) -> None:
    """Geolocate an item: where it was filmed (LAT LON in decimal degrees)."""
    from vericount.items import locate as set_place

    with ctx.open_case() as case:
        v = set_place(case, item, lat, lon, precision, method)
    _edited(v, as_json, f"{v.id[:12]} located at {lat}, {lon}")


@click.command()
@click.argument("item")
@click.argument("start", metavar="FROM")
@click.argument("end", metavar="[TO]", required=False)
@click.option("--method", default=None, help="How the date was established.")
@click.option("--json", "as_json", is_flag=True, help="Print the item as JSON.")
@pass_ctx
def date(ctx: Context, item: str, start: str, end: str | None, method: str | None,
         as_json: bool) -> None:
    """Chronolocate an item: when it was filmed (a date or time, or a range FROM TO)."""
    from vericount.items import set_date

    with ctx.open_case() as case:
        v = set_date(case, item, start, end, method)
    _edited(v, as_json, f"{v.id[:12]} dated {v.chronolocation['from'] if v.chronolocation else ''}"
            + (f" to {v.chronolocation['to']}" if v.chronolocation and v.chronolocation["to"]
               else ""))


COMMANDS = [add, items, show, status, locate, date]
