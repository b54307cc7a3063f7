"""``spurious verify FILE`` and ``spurious show FILE``."""

from __future__ import annotations

import json

import click

from ..candidate import load_document
from ..verifiers import PATH_NAMES, verify as run_verify
from . import cli
from .render import print_certificate, print_summary


@cli.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the certificate as JSON (spec fields).")
@click.option("--rigor", type=click.Choice(["auto", "exact", "interval", "numerical"]), default="auto",
              show_default=True, help="auto: the strongest proof that applies; numerical: fast float triage.")
@click.option("--path", "proof_path", type=click.Choice(PATH_NAMES), default=None,
              help="Run only this proof path (default: every path that applies, in order).")
def verify_cmd(path, as_json, rigor, proof_path):
    """Decide whether the candidate's point is a strict, non-global local minimum (exit 0 when verification ran)."""
    candidate, entry = load_document(path)
    cert = run_verify(candidate, rigor=rigor, path=proof_path)
    if as_json:
        click.echo(json.dumps(cert.to_json(), indent=1))
    else:
        print_certificate(cert)
        if entry is not None:
            click.echo(stored_certificate_line(entry, cert))


def stored_certificate_line(entry, cert) -> str:
    """One line comparing a fresh certificate with the one stored in an exported catalog entry."""
    stored = entry.get("certificate") or {}
    old = tuple(stored.get(k) for k in ("verdict", "global", "rigor"))
    new = (cert.verdict, cert.glob, cert.rigor)
    head = f"exported catalog entry {entry.get('id')}: stored certificate {' / '.join(map(str, old))}"
    return head + (": the same verdict, re-proved from the stored numbers" if old == new else
                   f"; this run: {' / '.join(new)}")


@cli.command("show")
@click.argument("path", type=click.Path(dir_okay=False))
def show_cmd(path):
    """A readable summary of a candidate: architecture, sizes, loss, activation pattern."""
    candidate, entry = load_document(path)
    print_summary(candidate)
    if entry is not None:
        stored = entry.get("certificate") or {}
        click.echo(f"exported catalog entry {entry.get('id')}: stored certificate "
                   f"{stored.get('verdict')} / {stored.get('global')} / {stored.get('rigor')}")
