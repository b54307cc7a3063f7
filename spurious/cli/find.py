"""``spurious find``: a certified spurious local minimum for the architecture given by --widths and --activation.

Exit codes: 0 the goal was reached (or theory says no spurious minimum exists and a global minimum was certified);
1 the budget ran out first (the best proved result is still printed and written); 2 bad input.
"""

from __future__ import annotations

import json

import click

from ..errors import InputError
from . import cli
from .render import console, print_certificate


@cli.command("find")
@click.option("--widths", required=True, help="Architecture d_0,d_1,...,d_L, e.g. 2,3,3,1.")
@click.option("--activation", default="relu", show_default=True, help="Hidden activation, e.g. relu, tanh, "
              "leaky_relu:1/10, polynomial:0,1,1/2.")
@click.option("--strict/--any", "strict", default=True, show_default=True,
              help="Goal: a strict spurious minimum (default) or any certified spurious minimum.")
@click.option("--data", type=click.Path(dir_okay=False), help="Fixed data (candidate file or {X, Y} JSON): only "
              "the weights are sought (search).")
@click.option("--seed", type=int, default=0, show_default=True, help="First seed of every route (>= 0).")
@click.option("--budget", type=float, default=120.0, show_default=True, help="Seconds (checked between attempts).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the candidate file here.")
@click.option("--save", is_flag=True, help="Store a certified spurious minimum in the catalog.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def find_cmd(widths, activation, strict, data, seed, budget, out, save, as_json):
    """Find a certified strict, non-global local minimum for one architecture: families, planting, search."""
    from ..finder import find

    if seed < 0:
        raise InputError(f"--seed: expected an integer >= 0, got {seed}")
    catalog_cls = None
    if save:
        from .construct import _catalog_class

        catalog_cls = _catalog_class()
    log = None if as_json else (lambda line: console.print(f"  tried {line}", markup=False))
    res = find(widths, activation, strict=strict, data=data, seed=seed, budget=budget, log=log)
    if out and res.candidate is not None:
        res.candidate.save(out)
    saved = None
    if save and res.certificate is not None and res.certificate.spurious:
        saved = catalog_cls().add(res.candidate, res.certificate)
    if as_json:
        obj = res.to_json()
        obj["out"] = out if out and res.candidate is not None else None
        if saved is not None:
            obj["catalog_id"] = saved[0]
        click.echo(json.dumps(obj, indent=1))
    else:
        if res.theorem:
            console.print(f"theory: {res.theorem}", markup=False)
        if res.certificate is not None:
            console.print(f"route: {res.route}", markup=False)
            console.print(f"network: {res.candidate.network.describe()}, {res.candidate.problem.data.n} samples",
                          markup=False)
            print_certificate(res.certificate)
        else:
            console.print("nothing proved", markup=False)
        if out and res.candidate is not None:
            console.print(f"wrote {out}", markup=False)
        if saved is not None:
            console.print(f"catalog: {'stored' if saved[1] else 'already present'} as {saved[0]}", markup=False)
        console.print(("goal reached" if res.found else "goal not reached") + f" in {res.seconds:.1f} s",
                      markup=False)
    if not res.found and res.theorem is None:
        raise click.exceptions.Exit(1)
