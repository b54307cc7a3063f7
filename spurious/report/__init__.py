"""A self-contained static HTML report: catalog table with filters, one page per entry, claims, reproductions.

``build_report(out_dir, catalog=...)`` writes ``index.html``, ``entries/ID.html`` (plus ``entries/ID.json``, the
stored candidate) and ``figures/*.png``. No external resources: CSS and JavaScript (``templates/``, package data)
are inline and a Content-Security-Policy forbids any network fetch.

Modules: :mod:`.data` gathers (claim checks within a budget, reproduction tables), :mod:`.plots` draws the float64
illustrations, :mod:`.pages` renders HTML (every string escaped), :mod:`.build` writes the site. The package sits at
the top (beside ``cli``) and may read the catalog, the claims and the constructions.
"""

from .build import ReportSummary, build_report
from .data import agreement, reproduction_tables, run_claims
from .pages import esc, num
from .plots import entry_plots

__all__ = ["build_report", "ReportSummary", "entry_plots", "reproduction_tables", "run_claims", "agreement", "esc",
           "num"]
