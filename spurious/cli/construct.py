"""``spurious constructions`` (list the families, ``--reproduce`` papers' numbers) and ``spurious construct FAMILY``.

Exit codes: 0 success; 1 a construction whose ``--verify`` / ``--save`` certificate is not a proved spurious minimum
(a bug: every family promises a certified candidate); 2 bad input (one line ``error: ...``).
"""

from __future__ import annotations

import json

import click

from ..activations import parse_activation_option
from ..constructions import construct as run_construct, families, get_family, range_text
from ..errors import InputError
from ..rationals import format_number
from . import OUTPUT_FILE, cli
from .render import console, data_table, fmt_value, print_certificate


@cli.command("constructions")
@click.option("--json", "as_json", is_flag=True, help="Print the families as a JSON list.")
@click.option("--reproduce", is_flag=True,
              help="Recompute the papers' worked examples side by side with their formulas.")
def constructions_cmd(as_json, reproduce):
    """List the construction families: paper, theorem, activation class, architectures, parameters."""
    fams = families()
    if reproduce:
        from ..verifiers import verify

        rows = []
        for fam in fams:
            if fam.reproduce is None:
                continue
            for quantity, paper, ours in fam.reproduce(verify=verify):
                rows.append({"family": fam.name, "quantity": quantity,
                             "paper": None if paper is None else format_number(paper),
                             "spurious": format_number(ours), "agree": _agree(paper, ours)})
        if as_json:
            click.echo(json.dumps(rows, indent=1))
        else:
            table = data_table("family", "quantity", "paper", "spurious", "agree")
            for r in rows:
                table.add_row(r["family"], r["quantity"], "not published" if r["paper"] is None else str(r["paper"]),
                              str(r["spurious"]), {None: "-", True: "yes", False: "NO"}[r["agree"]])
            console.print(table)
        if any(r["agree"] is False for r in rows):
            raise click.exceptions.Exit(1)
        return
    if as_json:
        click.echo(json.dumps([f.to_json() for f in fams], indent=1))
        return
    table = data_table("family", "reference", "activations", "architectures", "strict")
    for f in fams:
        table.add_row(f.name, f.reference, f.activations, f.architectures, f.strict)
    console.print(table)
    for f in fams:
        console.print(f"{f.name} parameters: " + ", ".join(f"{p.name}={p.default!s} ({range_text(p)})"
                                                            for p in f.params),
                      markup=False)


def _agree(paper, ours):
    """Exact equality for exact numbers; a float printed by a paper agrees to 9 significant digits; None: no figure."""
    if paper is None:
        return None
    if isinstance(paper, float) or isinstance(ours, float):
        p, o = float(paper), float(ours)
        return abs(p - o) <= 1e-9 * max(1.0, abs(p))
    return paper == ours


def _params(family, widths, activation, seed, raw):
    params = {}
    for item in raw:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--param: expected key=value, got {item!r}")
        if key in params:
            raise InputError(f"--param: {key} given twice")
        params[key] = value.strip()
    for key, value in (("widths", widths), ("activation", activation), ("seed", seed)):
        if value is not None:
            if key in params:
                raise InputError(f"--param {key}=... conflicts with --{key}")
            params[key] = value
    if "activation" in params and isinstance(params["activation"], str):
        params["activation"] = parse_activation_option(params["activation"])
    if "widths" in params and isinstance(params["widths"], str):
        try:
            params["widths"] = tuple(int(w) for w in params["widths"].split(","))
        except ValueError:
            raise InputError(f"--widths: expected integers like 1,3,1, got {params['widths']!r}") from None
    if params.get("which") == "all":
        raise InputError("which: the command writes one candidate; give an index (which=all is for the Python API)")
    get_family(family)  # unknown family: one clear error before anything else
    return params


@cli.command("construct")
@click.argument("family")
@click.option("--widths", help="Architecture d_0,d_1,...,d_L, e.g. 1,3,1.")
@click.option("--activation", help="Hidden activation, e.g. relu or leaky_relu:1/10.")
@click.option("--param", "raw", multiple=True, help="Family parameter key=value (repeatable).")
@click.option("--seed", type=int, help="Seed of generated data / sampling (>= 0).")
@click.option("--out", type=OUTPUT_FILE, help="Write the candidate file here (missing folders are created).")
@click.option("--verify", "do_verify", is_flag=True, help="Prove it (exact) and print the certificate.")
@click.option("--save", is_flag=True, help="Verify and store the candidate in the catalog.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (candidate and/or certificate).")
def construct_cmd(family, widths, activation, raw, seed, out, do_verify, save, as_json):
    """Build a counterexample of FAMILY (see `spurious constructions`) with its witness and provenance."""
    params = _params(family, widths, activation, seed, raw)
    catalog_cls = _catalog_class() if save else None
    cand = run_construct(family, **params)
    if isinstance(cand, list):  # defensive: the CLI writes one candidate
        cand = cand[0]
    if out:
        cand.save(out)
    cert = None
    if do_verify or save:
        from ..verifiers import verify

        cert = verify(cand)
    saved = None
    if save and cert.spurious:
        saved = catalog_cls().add(cand, cert)
    if as_json:
        obj = {"out": out} if out else {"candidate": cand.to_json()}
        if cert is not None:
            obj["certificate"] = cert.to_json()
        if saved is not None:
            obj["catalog_id"] = saved[0]
        click.echo(json.dumps(obj, indent=1))
    else:
        _summary(cand, out)
        if cert is not None:
            print_certificate(cert)
        if saved is not None:
            console.print(f"catalog: {'stored' if saved[1] else 'already present'} as {saved[0]}", markup=False)
    if cert is not None and not cert.spurious:
        click.echo(f"error: the construction was not certified (verdict {cert.verdict}, global {cert.glob}, "
                   f"rigor {cert.rigor})" + ("; not saved" if save else ""), err=True)
        raise click.exceptions.Exit(1)


def _catalog_class():
    try:
        from ..catalog import Catalog
    except ImportError:
        Catalog = None
    if Catalog is None:
        raise InputError("--save: the catalog is not available in this installation (spurious.catalog.Catalog "
                         "is missing)")
    return Catalog


def _summary(cand, out):
    from .render import loss_text

    meta = cand.meta
    console.print(f"construction: {meta.get('construction')}   {cand.network.describe()}", markup=False)
    console.print(f"reference: {meta.get('reference')}", markup=False)
    p = cand.problem
    data = f"{p.data.n} samples" if p.finite else "standard Gaussian inputs (population loss)"
    console.print(f"data: {data}; loss at point: {loss_text(p, cand.point)}", markup=False)
    if cand.witness is not None:
        console.print(f"loss at witness: {loss_text(p, cand.witness)}", markup=False)
    if meta.get("notes"):
        console.print(f"notes: {meta['notes']}", markup=False)
    console.print(f"wrote {out}" if out else "(use --out FILE to write the candidate, --json to print it)",
                  markup=False)
