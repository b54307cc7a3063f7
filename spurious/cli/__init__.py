"""The ``spurious`` command. Each sub-command lives in its own module of this package.

Errors: bad input prints one line ``error: ...`` on stderr and exits 2; never a traceback
(set SPURIOUS_DEBUG=1 to see one for an internal error).
"""

from __future__ import annotations

import os
import sys

import click

from ..errors import InputError, SpuriousError

__all__ = ["main", "cli"]


class _Group(click.Group):
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
