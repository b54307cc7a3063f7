"""The ``spurious`` command. Each sub-command lives in its own module of this package.

Errors: bad input prints one line ``error: ...`` on stderr and exits 2; never a traceback
(set SPURIOUS_DEBUG=1 to see one for an internal error). Click's own usage errors (an invalid choice, a missing
argument, an unknown option) are shortened to the same one line here, once, in :class:`_Group`.

Output paths (``--out``, ``--plot``) are :data:`OUTPUT_FILE` / :data:`OUTPUT_DIR`: missing parent folders are created,
as a user writing ``--out results/run1.json`` expects; a parent that cannot be created is a one-line error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import InputError, SpuriousError

__all__ = ["main", "cli", "OutputPath", "OUTPUT_FILE", "OUTPUT_DIR"]


class OutputPath(click.Path):
    """A path the command will write: its parent folders are created (mkdir -p) when the value is parsed."""

    def __init__(self, dir_okay=False):
        super().__init__(dir_okay=dir_okay, file_okay=not dir_okay)

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        target = Path(os.fsdecode(value))
        folder = target if self.dir_okay else target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.fail(f"cannot create the folder {str(folder)!r}: {exc.strerror or exc}", param, ctx)
        return value


OUTPUT_FILE = OutputPath()
OUTPUT_DIR = OutputPath(dir_okay=True)


def _one_line(exc: click.ClickException) -> str:
    """A click error as one line, with a pointer to the command's help for usage errors."""
    text = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        text += f" (see '{ctx.command_path} --help')"
    return f"error: {text}"


class _Group(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's standalone mode, except that every click error is one ``error:`` line with exit status 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(_one_line(exc), err=True)
            sys.exit(2)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (InputError, SpuriousError) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: one line unless asked for the traceback
            if os.environ.get("SPURIOUS_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(exc).__name__}: {exc}); set SPURIOUS_DEBUG=1 for a traceback",
                       err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spurious")
def cli():
    """Construct, prove and catalog spurious local minima of narrow neural networks."""


def _register():
    from . import verify  # noqa: F401  (each module adds its commands to `cli`)

    for name in ("construct", "catalog", "claims", "bound", "search", "report", "find"):
        try:
            __import__(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise


def main(argv=None):
    _register()
    try:
        cli.main(args=argv, prog_name="spurious", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        sys.exit(code)
