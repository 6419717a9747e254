"""The ``vericount`` command. Each command group is a thin module: parse, validate, call the library."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from vericount import __version__
from vericount.cli.output import error
from vericount.errors import VericountError
from vericount.values import one_line


@dataclass
class Context:
    case_dir: Path | None
    actor: str | None
    debug: bool

    def open_case(self) -> Any:
        from vericount.case import Case

        return Case.find(self.case_dir, self.actor)


class Group(click.Group):
    """Turns library errors into one line on stderr (a traceback only with --debug)."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            raise _inert(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:  # a bad value is named in the message: print it inert too
            raise _inert(exc) from None
        except VericountError as exc:
            self._fail(ctx, exc, str(exc))
        except KeyboardInterrupt:
            error("interrupted")
            sys.exit(130)
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            if not isinstance(exc, SQLAlchemyError):
                raise
            orig = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            self._fail(ctx, exc, f"database error: {orig[0] if orig else type(exc).__name__}")

    @staticmethod
    def _fail(ctx: click.Context, exc: BaseException, message: str) -> None:
        obj = ctx.find_object(Context)
        if obj is not None and obj.debug:
            import traceback

            traceback.print_exception(exc)
        error(message)
        sys.exit(1)


def _inert(exc: click.ClickException) -> click.ClickException:
    exc.message = one_line(exc.message)  # type: ignore[misc]  # Final in click's stubs; a plain attribute
    return exc


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--case", "case_dir", type=click.Path(path_type=Path), default=None,
              help="The case folder (else $VERICOUNT_CASE, else the current folder).")
@click.option("--actor", default=None,
              help="Who is acting, for the audit log (default: the OS user name).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="vericount")
@click.pass_context
def main(ctx: click.Context, case_dir: Path | None, actor: str | None, debug: bool) -> None:
    """vericount: preserve footage, find reposts, and count the distinct people it shows.

    Exit status: 0 when everything asked succeeded, 1 when anything failed (each failure is printed
    on its own line on stderr and recorded in the case), 2 for a usage error.
    """
    ctx.obj = Context(case_dir, actor.strip() if actor else None, debug)


def _register() -> None:
    from vericount.cli import (
        capture_cmds,
        case_cmds,
        claims_cmds,
        desk_cmds,
        export_cmds,
        item_cmds,
        model_cmds,
        people_cmds,
        report_cmds,
        repost_cmds,
        review_cmds,
        speech_cmds,
        tally_cmds,
        text_cmds,
    )

    for module in (case_cmds, item_cmds, capture_cmds, repost_cmds, people_cmds, model_cmds, tally_cmds,
                   review_cmds, claims_cmds, text_cmds, speech_cmds, desk_cmds, report_cmds, export_cmds):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
