"""A self-contained static HTML report: catalog table with filters, one page per entry, claims, reproductions.

``build_report(out_dir, catalog=...)`` writes ``index.html``, ``entries/ID.html`` (plus ``entries/ID.json``, the
stored candidate) and ``figures/*.png`` (matplotlib, Agg canvas). No external resources: CSS and JavaScript are
inline and a Content-Security-Policy forbids any network fetch. Every catalog and claim string is data and is
escaped with :func:`html.escape`.

The plots are float64 illustrations (:class:`~spurious.arithmetic.FloatModel`, numerical triage), labelled as
such; the proof is the certificate's list of steps, shown verbatim. This module sits at the top of the package
(beside ``cli``) and may read the catalog, the claims and the constructions.
"""

from __future__ import annotations

import html
import importlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import InputError

__all__ = ["build_report", "ReportSummary", "entry_plots", "reproduction_tables", "run_claims"]

MAX_DATA_ROWS = 200          # data rows shown inline on an entry page (the JSON file has all)
CLAIM_STATUSES = ("refuted", "consistent", "out_of_scope", "error", "not_checked")
CSP = ("default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.2em .5em;text-align:left;
vertical-align:top}th{background:#f4f4f4}tr[hidden]{display:none}td.n{font-family:monospace;text-align:right}
.num td{font-family:monospace;text-align:right}code,pre{font-family:monospace}pre{white-space:pre-wrap}
.v-refuted{color:#b00;font-weight:bold}.v-consistent{color:#070}.v-out_of_scope{color:#a60}.v-error{color:#b00}
.v-not_checked{color:#777}.warn{background:#fff6dd;border:1px solid #e8d48b;padding:.4em .7em}
.filters{display:flex;gap:1em;flex-wrap:wrap;align-items:end;margin:.5em 0}.filters label{display:flex;
flex-direction:column;font-size:.9em}figure{display:inline-block;margin:.5em 1em .5em 0}figcaption{font-size:.85em;
color:#555;max-width:480px}img{max-width:480px;border:1px solid #eee}details{margin:.4em 0}
"""

FILTER_JS = """
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll('#catalog tbody tr'));
  var sel = {activation: document.getElementById('f-activation'), verdict: document.getElementById('f-verdict'),
             family: document.getElementById('f-family')};
  var search = document.getElementById('f-search'), count = document.getElementById('f-count');
  function apply() {
    var words = search.value.toLowerCase().split(/\\s+/).filter(function (w) { return w.length > 0; });
    var shown = 0;
    rows.forEach(function (row) {
      var ok = Object.keys(sel).every(function (k) { return !sel[k].value || row.dataset[k] === sel[k].value; });
      var text = row.dataset.text;
      ok = ok && words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + ' of ' + rows.length + ' entries shown';
  }
  Object.keys(sel).forEach(function (k) { sel[k].addEventListener('change', apply); });
  search.addEventListener('input', apply);
  apply();
})();
"""


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


# text helpers -------------------------------------------------------------------------------------------------
def esc(x) -> str:
    """Escaped text of any value; None is a dash."""
    return "&mdash;" if x is None else html.escape(str(x), quote=True)


def _is_exact(x) -> bool:
    return type(x).__name__ == "fmpq" or isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def num(x) -> str:
    """Escaped HTML of a number: exact rationals in file syntax (approximated, with the exact value in the tooltip,
    when very long), floats to 8 digits, enclosures [lo, hi] componentwise, certificate strings as stored."""
    if x is None:
        return "&mdash;"
    if isinstance(x, (list, tuple)) and len(x) == 2:
        return f"[{num(x[0])}, {num(x[1])}]"
    if isinstance(x, float):
        return esc(f"{x:.8g}")
    if _is_exact(x):
        from .rationals import format_number

        text = str(format_number(x))
    else:
        text = str(x)
    if len(text) > 40:
        try:
            from .rationals import fmpq_to_float, parse_number

            approx = f"&asymp; {fmpq_to_float(parse_number(text)):.10g}"
        except Exception:  # noqa: BLE001  (not a number: show it shortened)
            approx = esc(text[:37] + "...")
        return f'<span title="{esc(text)}">{approx}</span>'
    return esc(text)


def _float_or_none(x):
    return None if x is None else float(x)


def _slug(entry_id: str) -> str:
    """A file-name-safe form of an id (catalog ids are hex; anything else is hashed)."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", entry_id or ""):
        return entry_id
    import hashlib

    return "x" + hashlib.sha256(str(entry_id).encode("utf-8")).hexdigest()[:24]


def _page(title: str, body: str, *, script: str = "") -> str:
    js = f"<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{esc(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n{js}\n</body>\n</html>\n")


def _table(columns, rows, *, cls="", attrs="") -> str:
    """A table of already-escaped cell HTML."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>\n" for row in rows)
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}{attrs}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _matrix(rows) -> str:
    return _table([], [[esc(v) for v in row] for row in rows], cls="num").replace("<thead><tr></tr></thead>\n", "")


# plots --------------------------------------------------------------------------------------------------------
def _figure(width=5.0, height=3.6):
    from matplotlib.figure import Figure  # the Agg canvas, without touching pyplot's global backend

    fig = Figure(figsize=(width, height), dpi=100)
    fig.subplots_adjust(left=0.16, right=0.95, bottom=0.14, top=0.84)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig, path: Path):
    fig.savefig(path, format="png", metadata={"Software": None})


def _orthogonal(d1, candidates, seed=0):
    """A direction orthogonal to d1, scaled like d1: the first candidate that is not parallel, else seeded random."""
    n1 = float(np.linalg.norm(d1))
    rng = np.random.default_rng(seed)
    for v in list(candidates) + [rng.standard_normal(d1.shape[0]) for _ in range(3)]:
        v = np.asarray(v, dtype=float)
        if n1 > 0:
            v = v - (v @ d1) / (n1 * n1) * d1
        nv = float(np.linalg.norm(v))
        if nv > 1e-8 * max(1.0, n1):
            return v / nv * (n1 if n1 > 0 else 1.0)
    return None


def entry_plots(candidate, fig_dir: Path, slug: str, *, grid=41, segment_points=151):
    """Write the three figures of one entry; returns (files {kind: Path}, data {kind: arrays}, notes [str]).

    segment: loss on theta(t) = point + t (witness - point), t in [-0.25, 1.25] (the default grids hold t = 0, 1
    and a, b = 0, a = 1 exactly); slice: loss on point + a d1 + b d2
    (d1 = witness - point, d2 = the reduced Hessian's lowest eigenvector made orthogonal to d1); spectrum: the float
    reduced Hessian eigenvalues of :class:`~spurious.verifiers.numerical.Triage`. All float64, illustration only.
    """
    from .arithmetic import FloatModel

    files, data, notes = {}, {}, []
    net = candidate.problem.network
    theta0 = candidate.point.flatten_float(net)
    try:
        model = FloatModel(candidate.problem, candidate.point)
    except Exception as e:  # noqa: BLE001  (no float model for this problem: say so)
        return files, data, [f"no float model for this problem ({type(e).__name__}: {e}); no figures"]
    triage = None
    try:
        from .verifiers.numerical import Triage

        triage = Triage(candidate)
    except Exception as e:  # noqa: BLE001
        notes.append(f"numerical triage failed ({type(e).__name__}: {e}): no spectrum")
    theta1 = None if candidate.witness is None else candidate.witness.flatten_float(net)
    low = []
    if triage is not None and triage.reduced_eigenvalues.size:
        low = [triage.reduced_basis @ triage.reduced_vectors[:, i] for i in range(min(2, triage.reduced_vectors.shape[1]))]
    if theta1 is not None:
        ts = np.linspace(-0.25, 1.25, segment_points)
        d1 = theta1 - theta0
        losses = model.losses(theta0[None, :] + ts[:, None] * d1[None, :]).numpy()
        data["segment"] = (ts, losses)
        files["segment"] = _plot_segment(fig_dir / f"{slug}-segment.png", ts, losses)
    else:
        notes.append("no witness stored: no segment plot; the slice uses the two lowest-curvature directions")
        d1 = low[0] if low else None
        low = low[1:]
    if d1 is not None and net.num_params >= 2:
        d2 = _orthogonal(d1, low)
        if d2 is not None:
            a = np.linspace(-0.5, 1.5, grid) if theta1 is not None else np.linspace(-1, 1, grid)
            b = np.linspace(-1.0, 1.0, grid)
            A, B = np.meshgrid(a, b)
            thetas = theta0[None, :] + A.reshape(-1, 1) * d1[None, :] + B.reshape(-1, 1) * d2[None, :]
            Z = model.losses(thetas).numpy().reshape(A.shape)
            data["slice"] = (a, b, Z)
            files["slice"] = _plot_slice(fig_dir / f"{slug}-slice.png", A, B, Z, theta1 is not None)
    if triage is not None:
        lam = np.asarray(triage.reduced_eigenvalues, dtype=float)
        data["spectrum"] = lam
        files["spectrum"] = _plot_spectrum(fig_dir / f"{slug}-spectrum.png", lam, triage.symmetry_dim)
    return files, data, notes


def _plot_segment(path, ts, losses):
    fig, ax = _figure()
    ax.plot(ts, losses, color="#1f5fa8", lw=1.5)
    ax.axvline(0, color="#b00", ls=":", lw=1)
    ax.axvline(1, color="#070", ls=":", lw=1)
    ax.plot([0], [losses[np.argmin(np.abs(ts))]], "o", color="#b00", label="point (t = 0)")
    ax.plot([1], [losses[np.argmin(np.abs(ts - 1))]], "s", color="#070", label="witness (t = 1)")
    ax.set_xlabel("t   (point + t (witness - point))")
    ax.set_ylabel("loss")
    ax.set_title("loss along the segment to the witness\nfloat64 evaluation, illustration only", fontsize=10)
    ax.legend(fontsize=8)
    _save(fig, path)
    return path


def _plot_slice(path, A, B, Z, has_witness):
    fig, ax = _figure(5.4, 4.2)
    fig.subplots_adjust(right=0.9)
    finite = Z[np.isfinite(Z)]
    levels = np.unique(np.quantile(finite, np.linspace(0, 1, 25))) if finite.size else 10
    if np.size(levels) < 2:
        levels = 10
    norm = None
    if np.size(levels) > 2:  # one colour per quantile band: the low region near point and witness stays readable
        from matplotlib.colors import BoundaryNorm

        norm = BoundaryNorm(levels, ncolors=256)
    cs = ax.contourf(A, B, Z, levels=levels, cmap="viridis", norm=norm)
    ax.contour(A, B, Z, levels=levels, colors="k", linewidths=0.3)
    fig.colorbar(cs, ax=ax, label="loss")
    ax.plot([0], [0], "o", color="#f33", label="point")
    if has_witness:
        ax.plot([1], [0], "s", color="#fff", markeredgecolor="k", label="witness")
    ax.set_xlabel("a   (d1 = witness - point)" if has_witness else "a   (lowest-curvature direction)")
    ax.set_ylabel("b   (d2, orthogonal to d1)")
    ax.set_title("2-D slice: loss(point + a d1 + b d2)\nfloat64 evaluation, illustration only", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    _save(fig, path)
    return path


def _plot_spectrum(path, lam, symmetry_dim):
    """|eigenvalue| on a log scale, marked by sign; values within 1e-9 x max|lambda| are drawn at that floor."""
    fig, ax = _figure()
    if lam.size:
        idx = np.arange(1, lam.size + 1)
        scale = float(np.max(np.abs(lam))) or 1.0
        floor = 1e-9 * scale
        for mask, style, label in ((lam > floor, "o", "positive"), (lam < -floor, "x", "negative"),
                                   (np.abs(lam) <= floor, "^", f"|lambda| <= {floor:.1e} (numerically 0)")):
            if mask.any():
                ax.plot(idx[mask], np.maximum(np.abs(lam[mask]), floor), style, label=label,
                        color={"o": "#1f5fa8", "x": "#b00", "^": "#888"}[style])
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no directions left after the symmetries", ha="center", transform=ax.transAxes)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("index (ascending eigenvalue)")
    ax.set_ylabel("|eigenvalue|")
    ax.set_title(f"reduced Hessian spectrum ({symmetry_dim} symmetry tangent(s) removed)\n"
                 "numerical: float64 triage, evidence only", fontsize=10)
    _save(fig, path)
    return path


# claims and reproductions ----------------------------------------------------------------------------------------
def run_claims(claims, catalog, budget: float) -> list:
    """Check claims in turn within ``budget`` seconds in all (each gets an equal share of what is left); a claim
    that cannot start in time is ``not_checked``; a checker failure is ``error`` with its message (never hidden)."""
    from .claims.checker import check_claim

    end = time.monotonic() + budget
    out = []
    for i, claim in enumerate(claims):
        row = {"id": claim.id, "title": claim.title, "statement": claim.statement, "source": dict(claim.source),
               "conclusion": claim.conclusion, "expected": claim.expected, "verdict": "not_checked",
               "reproduced": None, "counterexample": None, "certificate": None, "reasons": [], "tried": [],
               "seconds": 0.0}
        left = end - time.monotonic()
        if left <= 0:
            row["reasons"] = ["the report's --budget was used up before this claim"]
            out.append(row)
            continue
        t0 = time.monotonic()
        try:
            result = check_claim(claim, catalog=catalog, budget=left / (len(claims) - i)).to_json()
            row.update({k: result.get(k) for k in ("verdict", "reproduced", "counterexample", "certificate",
                                                   "reasons", "tried")})
        except Exception as e:  # noqa: BLE001  (a checker bug must not hide the other claims)
            row["verdict"] = "error"
            row["reasons"] = [f"the checker failed: {type(e).__name__}: {e}"]
        row["seconds"] = time.monotonic() - t0
        out.append(row)
    return out


def _printed_digits(x: float) -> int:
    text = repr(float(x))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def agreement(paper, ours) -> str:
    """Exact comparison for exact numbers, printed-digit comparison for a published decimal."""
    if paper is None:
        return "not published"
    if ours is None:
        return "not computed"
    if _is_exact(paper) and _is_exact(ours):
        return "equal" if paper == ours else "DIFFERENT"
    digits = _printed_digits(paper) if isinstance(paper, float) else 12
    ok = abs(float(ours) - float(paper)) <= 0.5 * 10.0 ** -digits * (1 + 1e-9)
    return f"agrees to {digits} decimals" if ok else f"DIFFERS at {digits} decimals"


def _normalise(name, reference, rows) -> dict:
    rows = list(rows)
    if rows and isinstance(rows[0], dict):
        columns = list(dict.fromkeys(k for r in rows for k in r))
        return {"family": name, "reference": reference, "columns": columns,
                "rows": [[r.get(c) for c in columns] for r in rows], "error": None}
    return {"family": name, "reference": reference, "columns": ["quantity", "paper", "spurious", "agreement"],
            "rows": [[q, p, o, agreement(p, o)] for q, p, o in rows], "error": None}


def reproduction_tables(extra_modules=("safran_shamir", "yun_smooth")) -> list:
    """The construction families' ``reproduce()`` tables (as ``spurious constructions --reproduce`` prints them),
    plus those of construction modules that exist but are not registered yet."""
    from .constructions import families
    from .verifiers import verify

    sources = [(f.name, f.reference, f.reproduce) for f in families() if f.reproduce is not None]
    names = {s[0] for s in sources}
    for mod_name in extra_modules:
        try:
            mod = importlib.import_module(f"{__package__}.constructions.{mod_name}")
        except ImportError:
            continue
        fam = getattr(mod, "FAMILY", None) or {}
        if fam.get("name") not in names and callable(getattr(mod, "reproduce", None)):
            sources.append((fam.get("name", mod_name), fam.get("reference", ""), mod.reproduce))
    tables = []
    for name, reference, fn in sources:
        try:
            tables.append(_normalise(name, reference, fn(verify=verify)))
        except Exception as e:  # noqa: BLE001
            tables.append({"family": name, "reference": reference, "columns": [], "rows": [],
                           "error": f"{type(e).__name__}: {e}"})
    return tables


# pages -------------------------------------------------------------------------------------------------------------
COLUMNS = ("id", "family", "activation", "widths", "verdict", "global", "rigor", "loss", "witness loss", "gap")


def _catalog_row(row, href) -> str:
    text = " ".join(str(row.get(k) or "") for k in ("id", "family", "activation", "widths", "verdict", "global",
                                                    "rigor", "reference", "source")) + " " + " ".join(row["tags"])
    attrs = "".join(f' data-{k}="{esc(row.get(k) or "")}"' for k in ("activation", "verdict", "family"))
    cells = [f'<a href="{esc(href)}"><code>{esc(row["id"])}</code></a>', esc(row.get("family")),
             esc(row.get("activation")), esc(row.get("widths")), esc(row.get("verdict")), esc(row.get("global")),
             esc(row.get("rigor")),
             f'<span title="{esc(row.get("loss_exact"))}">{num(_float_or_none(row.get("loss")))}</span>',
             num(_float_or_none(row.get("witness_loss"))), num(_float_or_none(row.get("gap")))]
    tds = "".join(f'<td class="n">{c}</td>' if i >= 7 else f"<td>{c}</td>" for i, c in enumerate(cells))
    return f'<tr{attrs} data-text="{esc(text.lower())}">{tds}</tr>\n'


def _select(key, label, values) -> str:
    opts = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in sorted(set(values)) if v)
    return f'<label>{esc(label)}<select id="f-{key}"><option value="">all</option>{opts}</select></label>'


def _catalog_section(rows, slugs) -> str:
    if not rows:
        return "<h2>Catalog</h2>\n<p>The catalog has no entries.</p>"
    filters = ('<div class="filters">' + _select("activation", "activation", [r.get("activation") for r in rows])
               + _select("verdict", "verdict", [r.get("verdict") for r in rows])
               + _select("family", "family", [r.get("family") for r in rows])
               + '<label>search<input id="f-search" type="search" placeholder="id, widths, reference, ..."></label>'
               + '<span id="f-count"></span></div>\n<noscript><p>The filters need JavaScript.</p></noscript>')
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    body = "".join(_catalog_row(r, f"entries/{slugs[r['id']]}.html") for r in rows)
    return (f"<h2>Catalog</h2>\n{filters}\n<table id=\"catalog\">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}"
            "</tbody>\n</table>\n<p>Losses are floats for display (hover for the certificate's exact value); "
            "gap = loss - witness loss. Rigor <code>numerical</code> marks evidence, not a proof.</p>")


def _claims_section(claims, slugs) -> str:
    if claims is None:
        return "<h2>Claims</h2>\n<p>Claims were not checked (<code>--no-claims</code>).</p>"
    rows = []
    for c in claims:
        src = c["source"]
        ce = c["counterexample"]
        if isinstance(ce, str) and ce in slugs:
            ce_html = f'<a href="entries/{esc(slugs[ce])}.html"><code>{esc(ce)}</code></a>'
        elif isinstance(ce, dict):
            ce_html = "a constructed candidate (not in the catalog)"
        else:
            ce_html = esc(ce)
        cert = c["certificate"] or {}
        cert_html = esc(f"{cert.get('verdict')}, {cert.get('global')}, {cert.get('rigor')}") if cert else "&mdash;"
        details = "".join(f"<li>{esc(r)}</li>" for r in c["reasons"]) + \
            "".join(f"<li>tried: {esc(t)}</li>" for t in c["tried"])
        repro = {None: "&mdash;", True: "yes", False: "no"}.get(c["reproduced"], esc(c["reproduced"]))
        verdict = c["verdict"] if c["verdict"] in CLAIM_STATUSES else "error"
        rows.append([f"<code>{esc(c['id'])}</code>",
                     f"{esc(c['title'])}<br><small>{esc(src.get('paper'))}; {esc(src.get('theorem'))}</small>",
                     f'<span class="v-{verdict}">{esc(c["verdict"])}</span>'
                     + (f"<br><small>{esc(c['reasons'][0])}</small>" if verdict == "error" and c["reasons"] else ""),
                     esc(c["expected"]), repro, ce_html, cert_html,
                     f"<details><summary>{len(c['reasons'])} reason(s), {len(c['tried'])} tried, "
                     f"{c['seconds']:.1f} s</summary><ul>{details}</ul></details>"])
    return ("<h2>Claims</h2>\n<p>Each claim checked against the certified catalog entries and its constructions "
            "(<code>spurious claims check</code>); only exact or interval certificates refute.</p>\n"
            + _table(("claim", "statement and source", "verdict", "expected", "reproduced", "counterexample",
                      "certificate", "details"), rows, attrs=' id="claims"'))


def _cell(x) -> str:
    if isinstance(x, str) and x.startswith("DIFFER"):  # DIFFERENT / DIFFERS at n decimals
        return f'<strong class="v-error">{esc(x)}</strong>'
    return num(x) if x is None or isinstance(x, float) or _is_exact(x) else esc(x)


def _reproduction_section(tables) -> str:
    if tables is None:
        return ""
    parts = ["<h2>Reproduction tables</h2>\n<p>Papers' worked examples recomputed "
             "(<code>spurious constructions --reproduce</code>); exact where both sides are exact.</p>"]
    for t in tables:
        parts.append(f"<h3>{esc(t['family'])}</h3>\n<p><small>{esc(t['reference'])}</small></p>")
        if t["error"]:
            parts.append(f'<p class="warn">reproduction failed: {esc(t["error"])}</p>')
            continue
        parts.append(_table(t["columns"], [[_cell(x) for x in r] for r in t["rows"]], attrs=' class="repro"'))
    return "\n".join(parts)


def _layers_html(layers) -> str:
    parts = []
    for l, layer in enumerate(layers or []):
        parts.append(f"<p>layer {l + 1}: W</p>{_matrix(layer.get('W') or [])}")
        if layer.get("b") is not None:
            parts.append(f"<p>layer {l + 1}: b</p>{_matrix([layer['b']])}")
    return "\n".join(parts)


def _data_html(data) -> str:
    if not isinstance(data, dict) or "X" not in data:
        return f"<pre>{esc(json.dumps(data, indent=1))}</pre>"
    X, Y = data.get("X") or [], data.get("Y") or []
    rows = [[esc(i)] + [esc(v) for v in x] + [esc(v) for v in y] for i, (x, y) in enumerate(zip(X, Y))]
    d_in, d_out = (len(X[0]) if X else 0), (len(Y[0]) if Y else 0)
    cols = ["i"] + [f"x{j + 1}" for j in range(d_in)] + [f"y{j + 1}" for j in range(d_out)]
    note = f"<p>first {MAX_DATA_ROWS} of {len(rows)} samples; the JSON file has all.</p>" \
        if len(rows) > MAX_DATA_ROWS else ""
    return note + _table(cols, rows[:MAX_DATA_ROWS], cls="num")


def _kv(pairs) -> str:
    return "<table>\n" + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>\n" for k, v in pairs) + "</table>"


def _figures_html(files, notes, slug) -> str:
    captions = {
        "segment": "Loss along the segment from the point (t = 0) to the witness (t = 1). Float64 evaluation, "
                   "illustration only: the certificate, not this curve, is the proof.",
        "slice": "2-D slice through the point and the witness (d2: the lowest reduced-Hessian direction made "
                 "orthogonal). Float64 evaluation, illustration only.",
        "spectrum": "Reduced Hessian spectrum (orthogonal complement of the symmetry tangents). Numerical: float64 "
                    "triage, evidence only; the certificate states the proved inertia.",
    }
    out = [f'<figure><img src="../figures/{esc(Path(files[k]).name)}" alt="{esc(k)} plot"><figcaption>'
           f"{esc(captions[k])}</figcaption></figure>" for k in ("segment", "slice", "spectrum") if k in files]
    out += [f'<p class="warn">{esc(n)}</p>' for n in notes]
    return "\n".join(out)


def entry_page(entry, slug, files, notes) -> str:
    """The HTML page of one catalog entry."""
    cand, cj, cert = entry.candidate, entry.candidate_json, entry.certificate_json
    net, problem = cand.problem.network, cand.problem
    prov = entry.provenance
    data_size = f"{problem.data.n} samples" if problem.finite else "population (Gaussian inputs, closed form)"
    network = _kv([("widths", esc("-".join(map(str, net.widths)))),
                   ("activation", esc(", ".join(str(a) for a in net.activations))),
                   ("bias", esc(cj.get("network", {}).get("bias"))),
                   ("trainable", esc(cj.get("network", {}).get("trainable", True))),
                   ("parameters (trainable)", esc(net.num_params)), ("data", esc(data_size)),
                   ("loss", esc(json.dumps(cj.get("loss"))))])
    provenance = _kv([("family", esc(prov.get("family"))), ("reference", esc(prov.get("reference"))),
                      ("parameters", f"<code>{esc(json.dumps(prov.get('params'), sort_keys=True))}</code>"),
                      ("notes", esc((cand.meta or {}).get("notes"))), ("source", esc(entry.source)),
                      ("created", esc(entry.created)), ("tool version", esc(prov.get("tool_version"))),
                      ("tags", esc(", ".join(entry.tags)))])
    certificate = _kv([(k, num(cert.get(k)) if k in ("loss", "witness_loss", "global_lower_bound", "radius",
                                                      "reduced_min_eigenvalue") else esc(cert.get(k)))
                       for k in ("verdict", "global", "rigor", "method", "loss", "witness_loss", "global_lower_bound",
                                 "radius", "reduced_min_eigenvalue")]
                      + [("symmetries", esc(", ".join(cert.get("symmetries") or [])))])
    steps = "".join(f"<li>{esc(r)}</li>" for r in cert.get("reasons") or [])
    certified = "" if entry.certified else \
        '<p class="warn">This entry is numerical evidence only (rigor numerical): not a proof.</p>'
    witness = f"<details><summary>witness (exact)</summary>{_layers_html(cj.get('witness'))}</details>" \
        if cj.get("witness") else "<p>No witness stored.</p>"
    body = f"""<p><a href="../index.html">&larr; catalog</a></p>
<h1>Entry <code>{esc(entry.id)}</code></h1>
{certified}
<h2>Network and data</h2>
{network}
<h2>Provenance</h2>
{provenance}
<h2>Certificate</h2>
{certificate}
<h3>Proof steps</h3>
<ol class="steps">{steps}</ol>
<h2>Figures</h2>
{_figures_html(files, notes, slug)}
<h2>Numbers (exact)</h2>
<p><a href="{esc(slug)}.json">the stored candidate (JSON, <code>spurious verify</code> re-proves it)</a></p>
<details><summary>point (exact)</summary>{_layers_html(cj.get('point'))}</details>
{witness}
<details><summary>data</summary>{_data_html(cj.get('data'))}</details>"""
    return _page(f"spurious entry {entry.id}", body)


def index_page(rows, slugs, claims, tables, info) -> str:
    stats = _kv([(k, esc(v)) for k, v in info.items()])
    body = (f"<h1>spurious report</h1>\n{stats}\n{_catalog_section(rows, slugs)}\n{_claims_section(claims, slugs)}\n"
            f"{_reproduction_section(tables)}")
    return _page("spurious report", body, script=FILTER_JS if rows else "")


# the report ------------------------------------------------------------------------------------------------------
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
        from .catalog import Catalog

        catalog = Catalog()
    say = log or (lambda msg: None)
    summary = ReportSummary(out=out, index=out / "index.html")
    rows = catalog.find(include_numerical=True)
    slugs = {r["id"]: _slug(r["id"]) for r in rows}
    for i, row in enumerate(rows):
        say(f"entry {i + 1}/{len(rows)}: {row['id']}")
        _write_entry(catalog, row["id"], slugs[row["id"]], out, summary, figures)
    if claims is not False:
        from .claims.schema import shipped_claims

        say("checking claims")
        summary.claims = run_claims(shipped_claims() if claims is True else list(claims), catalog, budget)
    if reproduce:
        say("reproduction tables")
        summary.reproductions = reproduction_tables()
    from .catalog.entries import tool_version

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
        page = _page(f"spurious entry {entry_id}", f'<p><a href="../index.html">&larr; catalog</a></p>\n'
                     f'<h1>Entry <code>{esc(entry_id)}</code></h1>\n<p class="warn">not rendered: {esc(e)}</p>')
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
