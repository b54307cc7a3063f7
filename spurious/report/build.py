"""``build_report``: gather (catalog rows, claim checks, reproduction tables), plot, and write the static site."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import InputError
from .data import reproduction_tables, run_claims
from .pages import entry_page, error_page, file_slug, index_page
from .plots import entry_plots

__all__ = ["build_report", "ReportSummary"]


@dataclass
class ReportSummary:
    """What was written, for the CLI and the tests; ``plots`` holds the plotted float arrays per entry id."""

    out: Path
    index: Path
    pages: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    claims: list = field(default_factory=list)
    reproductions: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    plots: dict = field(default_factory=dict)
    seconds: float = 0.0



def build_report(out, *, catalog=None, claims=True, budget: float = 120.0, reproduce: bool = True,
                 figures: bool = True, log=None) -> ReportSummary:
    """Write the report into directory ``out``; returns a :class:`ReportSummary`.

    catalog: a :class:`~spurious.catalog.Catalog` (default: the default catalog); claims: True (the shipped
    claims), False (skip) or a list of claims; budget: seconds for all claim checks together.
    """
    if budget is None or not budget >= 0:
        raise InputError(f"--budget must be a non-negative number of seconds, got {budget!r}")
    t0 = time.monotonic()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    (out / "entries").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    if catalog is None:
        from ..catalog import Catalog

        catalog = Catalog()
    say = log or (lambda msg: None)
    summary = ReportSummary(out=out, index=out / "index.html")
    rows = catalog.find(include_numerical=True)
    slugs = {r["id"]: file_slug(r["id"]) for r in rows}
    for i, row in enumerate(rows):
        say(f"entry {i + 1}/{len(rows)}: {row['id']}")
        _write_entry(catalog, row["id"], slugs[row["id"]], out, summary, figures)
    if claims is not False:
        from ..claims.schema import shipped_claims

        say("checking claims")
        summary.claims = run_claims(shipped_claims() if claims is True else list(claims), catalog, budget)
    if reproduce:
        say("reproduction tables")
        summary.reproductions = reproduction_tables()
    from ..catalog.entries import tool_version

    info = {"generated": datetime.now(timezone.utc).isoformat(timespec="seconds"), "spurious": tool_version(),
            "catalog": catalog.url.render_as_string(hide_password=True), "entries": len(rows),
            "certified": sum(1 for r in rows if r.get("certified")),
            "spurious minima (certified, not global)": sum(1 for r in rows if r.get("certified")
                                                             and r.get("global") == "not_global")}
    summary.index.write_text(index_page(rows, slugs, summary.claims if claims is not False else None,
                                        summary.reproductions if reproduce else None, info), encoding="utf-8")
    summary.seconds = time.monotonic() - t0
    return summary


def _write_entry(catalog, entry_id, slug, out, summary, figures):
    try:
        entry = catalog.get(entry_id)
    except InputError as e:  # a tampered or broken entry: listed, not rendered
        summary.problems.append(f"{entry_id}: {e}")
        page = error_page(entry_id, e)
        path = out / "entries" / f"{slug}.html"
        path.write_text(page, encoding="utf-8")
        summary.pages.append(path)
        return
    files, data, notes = {}, {}, []
    if figures:
        files, data, notes = entry_plots(entry.candidate, out / "figures", slug)
    summary.figures.extend(files.values())
    summary.plots[entry.id] = data
    (out / "entries" / f"{slug}.json").write_text(json.dumps(entry.candidate_json, indent=1), encoding="utf-8")
    path = out / "entries" / f"{slug}.html"
    path.write_text(entry_page(entry, slug, files, notes), encoding="utf-8")
    summary.pages.append(path)
