"""``spurious bound FILE``: a proven lower bound on the global minimum (and its value where exact)."""

from __future__ import annotations

import json

import click

from ..candidate import load_candidate
from ..rationals import decimal_str, format_number
from ..verifiers.relaxations import global_bound
from . import cli


@cli.command("bound")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print global_lower_bound, global_value, rigor, method as JSON.")
@click.option("--solver", type=click.Choice(["clarabel", "scs"]), default="clarabel", show_default=True,
              help="Conic solver for the SDP / second-order-cone relaxations (its answer is then made rigorous).")
def bound_cmd(path, as_json, solver):
    """Bound the global minimum of the candidate's training problem from below by a convex relaxation."""
    b = global_bound(load_candidate(path), solver=solver)
    out = b.to_json()
    if as_json:
        click.echo(json.dumps(out, indent=1))
        return
    f = lambda x: "-" if x is None else f"{format_number(x)}  (~{decimal_str(x, 12)})"  # noqa: E731
    click.echo(f"method:             {b.method}")
    click.echo(f"rigor:              {b.rigor}")
    click.echo(f"global lower bound: {f(b.global_lower_bound)}")
    click.echo(f"global value:       {f(b.global_value)}")
    click.echo(f"global upper bound: {f(b.global_upper_bound)}")
    if b.numerical_value is not None:
        click.echo(f"solver value:       {b.numerical_value:.12g} (numerical)")
    for r in b.reasons:
        click.echo(f"  - {r}")
