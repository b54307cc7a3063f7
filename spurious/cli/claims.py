"""``spurious claims list`` and ``spurious claims check``."""

from __future__ import annotations

import json

import click

from ..claims.checker import check_claim
from ..claims.schema import TEMPLATE, load_claim, shipped_claims
from ..errors import InputError
from rich.text import Text

from . import OUTPUT_FILE, cli
from .render import console, data_table


@cli.group("claims")
def claims_group():
    """Theorems from papers, encoded as data, checked against certified counterexamples."""


@claims_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json):
    """The shipped claims with their source and hypotheses."""
    claims = shipped_claims()
    if as_json:
        click.echo(json.dumps([c.to_json() for c in claims], indent=1))
        return
    for c in claims:
        console.print(Text.assemble((c.id, "bold"), f": {c.title}"))
        console.print(f"    {c.source.get('paper', '')} ({c.source.get('theorem', '')}; read: "
                      f"{c.source.get('read', '')})", markup=False)


@claims_group.command("template")
def template_cmd():
    """Print a commented claim file (TOML) to fill in; `spurious claims check --file` reads it (docs/claims.md)."""
    click.echo(TEMPLATE, nl=False)


def _open_catalog(url):
    try:
        from ..catalog import Catalog
    except ImportError:
        return None
    return Catalog(url)


@claims_group.command("check")
@click.argument("claim_ids", nargs=-1)
@click.option("--file", "files", multiple=True, type=click.Path(dir_okay=False), help="A claim file of your own.")
@click.option("--budget", type=float, default=120.0, show_default=True, help="Seconds for constructions per claim.")
@click.option("--catalog", "catalog_url", envvar="SPURIOUS_CATALOG", default=None, help="Catalog URL.")
@click.option("--no-catalog", is_flag=True, help="Do not look in the catalog; only try constructions.")
@click.option("--json", "as_json", is_flag=True)
def check_cmd(claim_ids, files, budget, catalog_url, no_catalog, as_json):
    """Refute, confirm consistency, or declare out of scope, claim by claim."""
    shipped = {c.id: c for c in shipped_claims()}
    unknown = [i for i in claim_ids if i not in shipped]
    if unknown:
        raise InputError(f"unknown claim(s) {unknown}; known: {', '.join(shipped)}")
    claims = [shipped[i] for i in claim_ids] + [load_claim(f) for f in files]
    if not claims:
        claims = list(shipped.values())
    catalog = None if no_catalog else _open_catalog(catalog_url)
    results = [check_claim(c, catalog=catalog, budget=budget) for c in claims]
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], indent=1))
        return
    for r in results:
        colour = {"refuted": "red", "consistent": "green", "out_of_scope": "yellow"}[r.verdict]
        extra = "" if r.reproduced is None else f" (reproduced: {'yes' if r.reproduced else 'no'})"
        console.print(Text.assemble((r.verdict, colour), f"{extra}  ", (r.claim.id, "bold"), f": {r.claim.title}"))
        src = r.claim.source
        console.print(f"    source: {src.get('paper', '-')}; {src.get('theorem', '-')}; read: "
                      f"{src.get('read', 'not said')}")
        for line in r.reasons:
            console.print(f"    {line}", markup=False)
        for line in r.tried:
            console.print(f"    tried: {line}", markup=False)


@claims_group.command("phase-transition")
@click.option("--activation", default="tanh", show_default=True, help="Smooth hidden activation.")
@click.option("--n", "n", type=int, default=8, show_default=True, help="Samples N (1-D seeded data).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--starts", type=int, default=60, show_default=True, help="BFGS starts per width.")
@click.option("--plot", "plot_path", type=OUTPUT_FILE, default=None, help="Write a PNG bar chart.")
@click.option("--json", "as_json", is_flag=True)
def phase_cmd(activation, n, seed, starts, plot_path, as_json):
    """Li-Ding-Sun: certified strict spurious minima per hidden width 1..N+1 on the same data."""
    from ..activations import make_activation
    from ..claims.phase_transition import phase_transition, plot

    act = make_activation(activation)
    if act.kind != "smooth":
        raise InputError(f"phase-transition: needs a smooth activation, got {activation}")
    rows = phase_transition(activation=activation, n=n, seed=seed, starts=starts)
    if plot_path:
        plot(rows, n, plot_path)
    if as_json:
        click.echo(json.dumps({"n": n, "activation": activation, "seed": seed, "rows": [r.to_json() for r in rows]},
                              indent=1))
        return
    table = data_table("width", "starts", "float minima", "float spurious", "checked", "certified strict spurious",
                  "best loss", title=f"N = {n} samples, {activation}, seed {seed}")
    for r in rows:
        table.add_row(str(r.width) + (" (>= N)" if r.width >= n else ""), str(r.starts), str(r.float_minima),
                      str(r.float_spurious), str(r.checked), str(r.certified_spurious), f"{r.best_loss:.3g}")
    console.print(table)
