"""``spurious report``: a self-contained static HTML site of the catalog, the claims and the reproductions."""

from __future__ import annotations

import click

from . import OUTPUT_DIR, cli
from .render import console


@cli.command("report")
@click.option("--out", "out_dir", default="spurious-report", show_default=True,
              type=OUTPUT_DIR, help="Directory to write index.html, entries/ and figures/ into.")
@click.option("--catalog", "catalog_url", envvar="SPURIOUS_CATALOG", default=None, help="Catalog URL or SQLite path.")
@click.option("--no-claims", is_flag=True, help="Do not check the shipped claims.")
@click.option("--budget", type=float, default=120.0, show_default=True,
              help="Seconds for checking all claims together.")
def report_cmd(out_dir, catalog_url, no_claims, budget):
    """Write index.html (catalog table with filters, claims, reproduction tables), one page per entry and PNG
    figures. No network resources: open index.html straight from disk."""
    from ..catalog import Catalog
    from ..report import build_report

    catalog = Catalog(catalog_url)
    summary = build_report(out_dir, catalog=catalog, claims=not no_claims, budget=budget,
                           log=lambda msg: console.print(f"  {msg}", markup=False, style="dim"))
    counts = {}
    for c in summary.claims:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    console.print(f"wrote {summary.index} ({len(summary.pages)} entry page(s), {len(summary.figures)} figure(s), "
                  f"{len(summary.reproductions)} reproduction table(s)) in {summary.seconds:.1f} s", markup=False)
    if summary.claims:
        console.print("claims: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())), markup=False)
    for problem in summary.problems:
        console.print(f"warning: {problem}", markup=False)
