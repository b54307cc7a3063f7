"""The report's HTML: pages from gathered data. Every catalog and claim string is data and is escaped with
:func:`html.escape`; CSS and JavaScript come from ``templates/`` (package data) and are inlined, and a
Content-Security-Policy forbids any network fetch."""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from pathlib import Path

from .data import CLAIM_STATUSES, is_exact

__all__ = ["esc", "num", "entry_page", "index_page", "error_page", "file_slug"]

MAX_DATA_ROWS = 200          # data rows shown inline on an entry page (the JSON file has all)
CSP = ("default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")
TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=None)
def template(name: str) -> str:
    """A file of ``templates/`` (style.css, filter.js), read once."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


def esc(x) -> str:
    """Escaped text of any value; None is a dash."""
    return "&mdash;" if x is None else html.escape(str(x), quote=True)


def num(x) -> str:
    """Escaped HTML of a number: exact rationals in file syntax (approximated, with the exact value in the tooltip,
    when very long), floats to 8 digits, enclosures [lo, hi] componentwise, certificate strings as stored."""
    if x is None:
        return "&mdash;"
    if isinstance(x, (list, tuple)) and len(x) == 2:
        return f"[{num(x[0])}, {num(x[1])}]"
    if isinstance(x, float):
        return esc(f"{x:.8g}")
    if is_exact(x):
        from ..rationals import format_number

        text = str(format_number(x))
    else:
        text = str(x)
    if len(text) > 40:
        try:
            from ..rationals import fmpq_to_float, parse_number

            approx = f"&asymp; {fmpq_to_float(parse_number(text)):.10g}"
        except Exception:  # noqa: BLE001  (not a number: show it shortened)
            approx = esc(text[:37] + "...")
        return f'<span title="{esc(text)}">{approx}</span>'
    return esc(text)


def file_slug(entry_id: str) -> str:
    """A file-name-safe form of an id (catalog ids are hex; anything else is hashed)."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", entry_id or ""):
        return entry_id
    import hashlib

    return "x" + hashlib.sha256(str(entry_id).encode("utf-8")).hexdigest()[:24]


def _float(x):
    return None if x is None else float(x)


def _page(title: str, body: str, *, script: str = "") -> str:
    js = f"<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{esc(title)}</title>\n'
            f"<style>{template('style.css')}</style>\n</head>\n<body>\n{body}\n{js}\n</body>\n</html>\n")


def _table(columns, rows, *, cls="", attrs="") -> str:
    """A table of already-escaped cell HTML."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>\n" for row in rows)
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}{attrs}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _matrix(rows) -> str:
    return _table([], [[esc(v) for v in row] for row in rows], cls="num").replace("<thead><tr></tr></thead>\n", "")



# pages -------------------------------------------------------------------------------------------------------------
COLUMNS = ("id", "family", "activation", "widths", "verdict", "global", "rigor", "loss", "witness loss", "gap")


def _catalog_row(row, href) -> str:
    text = " ".join(str(row.get(k) or "") for k in ("id", "family", "activation", "widths", "verdict", "global",
                                                    "rigor", "reference", "source")) + " " + " ".join(row["tags"])
    attrs = "".join(f' data-{k}="{esc(row.get(k) or "")}"' for k in ("activation", "verdict", "family"))
    cells = [f'<a href="{esc(href)}"><code>{esc(row["id"])}</code></a>', esc(row.get("family")),
             esc(row.get("activation")), esc(row.get("widths")), esc(row.get("verdict")), esc(row.get("global")),
             esc(row.get("rigor")),
             f'<span title="{esc(row.get("loss_exact"))}">{num(_float(row.get("loss")))}</span>',
             num(_float(row.get("witness_loss"))), num(_float(row.get("gap")))]
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
    return num(x) if x is None or isinstance(x, float) or is_exact(x) else esc(x)


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
    return _page("spurious report", body, script=template("filter.js") if rows else "")



def error_page(entry_id, message) -> str:
    """The page of an entry that could not be read (tampered or broken): listed, not rendered."""
    return _page(f"spurious entry {entry_id}", f'<p><a href="../index.html">&larr; catalog</a></p>\n'
                 f'<h1>Entry <code>{esc(entry_id)}</code></h1>\n<p class="warn">not rendered: {esc(message)}</p>')
