"""``spurious search`` (multi-start search, clustering, proofs) and ``spurious sweep`` (a grid of widths)."""

from __future__ import annotations

import csv
import io
import json
import os
import sys

import click

from ..activations import parse_activation_option
from ..candidate import ENTRY_FORMAT, FORMAT, candidate_from_json
from ..errors import InputError
from ..network import Network, parse_matrix
from ..problem import FiniteData, Loss, Problem
from ..rationals import parse_number
from . import OUTPUT_DIR, cli

MAX_DATA_BYTES = 256 * 1024 * 1024


# ---------------------------------------------------------------------------------------------- data input
def _parse_widths(text, name="--widths"):
    try:
        ws = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise InputError(f"{name}: expected integers separated by commas like 2,4,1, got {text!r}") from None
    if len(ws) < 3 or min(ws) < 1:
        raise InputError(f"{name}: need input, at least one hidden and output width (all >= 1), got {text!r}")
    return ws


def _read_text(path):
    try:
        if os.path.getsize(path) > MAX_DATA_BYTES:
            raise InputError(f"{path}: larger than {MAX_DATA_BYTES} bytes")
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None


def read_data(path, widths):
    """FiniteData (or GaussianData) from a candidate file, a JSON {"X": ..., "Y": ...} file or a CSV file whose
    rows are x_1..x_d0, y_1..y_dL (an optional header line of names is skipped)."""
    text = _read_text(path)
    d_in, d_out = widths[0], widths[-1]
    if path.lower().endswith(".csv"):
        rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
        if rows and not _numeric(rows[0][0]):
            rows = rows[1:]
        if not rows:
            raise InputError(f"{path}: no data rows")
        for i, r in enumerate(rows):
            if len(r) != d_in + d_out:
                raise InputError(f"{path}: row {i + 1} has {len(r)} columns, expected {d_in + d_out} "
                                 f"({d_in} inputs then {d_out} outputs for widths {','.join(map(str, widths))})")
        X = tuple(tuple(parse_number(v.strip(), f"{path}: row {i + 1}") for v in r[:d_in]) for i, r in enumerate(rows))
        Y = tuple(tuple(parse_number(v.strip(), f"{path}: row {i + 1}") for v in r[d_in:]) for i, r in enumerate(rows))
        return FiniteData(X, Y)
    try:
        obj = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(InputError(f"{path}: {c} not allowed")))
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not valid JSON or CSV ({exc})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a candidate file or an object with 'X' and 'Y'")
    if obj.get("format") in (FORMAT, ENTRY_FORMAT):  # a candidate file or an exported catalog entry
        data = candidate_from_json(obj).problem.data
    elif "X" in obj and "Y" in obj:
        X = parse_matrix(obj["X"], None, d_in, f"{path}: X")
        data = FiniteData(X, parse_matrix(obj["Y"], len(X), d_out, f"{path}: Y"))
    else:
        raise InputError(f"{path}: expected a candidate file (format {FORMAT}) or an object with 'X' and 'Y'")
    return data


def _numeric(s):
    try:
        parse_number(s.strip())
        return True
    except InputError:
        return False


def build_problem(widths, activation, data_path, dataset, teacher, n, seed, bias, weight_decay, reduction):
    """(Problem, base Point or None) from the command-line options."""
    from ..search.datasets import make_data, parse_teacher

    if not (data_path or dataset or teacher) or (data_path and (dataset or teacher)) or \
            (teacher and dataset not in (None, "gaussian-teacher")):
        raise InputError("give exactly one of --data FILE, --dataset NAME or --teacher WIDTHS:ACT")
    loss = Loss(reduction=reduction, weight_decay=parse_number(weight_decay, "--weight-decay"))
    if dataset == "safran-shamir":
        problem, base = make_data("safran-shamir", widths)
        return Problem(problem.network, problem.data, loss), base
    act = parse_activation_option(activation)
    net = Network.make(widths, act, bias=bias)
    if data_path:
        data = read_data(data_path, widths)
    else:
        tspec = parse_teacher(teacher) if teacher else None
        data = make_data(dataset or "gaussian-teacher", widths, n=n, seed=seed, teacher=tspec)
    return Problem(net, data, loss), None


# ---------------------------------------------------------------------------------------------- options
def _common(fn):
    opts = [
        click.option("--activation", default="relu", show_default=True, help="Hidden activation, e.g. tanh, "
                     "relu, leaky_relu:1/10."),
        click.option("--data", "data_path", type=click.Path(dir_okay=False), help="Candidate file (its data) or "
                     "JSON {X, Y} / CSV (x columns then y columns)."),
        click.option("--dataset", type=click.Choice(["gaussian-teacher", "random-labels", "regression-1d",
                                                     "safran-shamir"]), help="Built-in seeded data."),
        click.option("--teacher", help="Gaussian inputs labelled by a random teacher WIDTHS:ACT, e.g. 2,3,1:tanh."),
        click.option("--n", type=click.IntRange(min=1), default=20, show_default=True,
                     help="Samples for built-in data."),
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seed for data and starts."),
        click.option("--no-bias", is_flag=True, help="Networks without biases."),
        click.option("--weight-decay", default="0", show_default=True, help="Weight decay (exact number)."),
        click.option("--reduction", type=click.Choice(["mean", "sum"]), default="mean", show_default=True),
        click.option("--starts", type=click.IntRange(min=1), default=1000, show_default=True,
                     help="Random starts."),
        click.option("--optimizer", type=click.Choice(["lbfgs", "newton", "gd"]), default="lbfgs",
                     show_default=True),
        click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.1, show_default=True,
                     help="Step size of --optimizer gd."),
        click.option("--max-iter", type=click.IntRange(min=1), default=1000, show_default=True,
                     help="Iterations per start."),
        click.option("--chunk-size", type=click.IntRange(min=1), default=500, show_default=True,
                     help="Starts per chunk (results depend on it in the last bits, not on --workers)."),
        click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Local processes (one per core)."),
        click.option("--budget", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
                     help="Time limit: the answer covers the starts that finished (JSON says complete: false)."),
        click.option("--out-dir", type=OUTPUT_DIR, default=None, help="Write one candidate file per distinct "
                     "minimum, named by its catalog id (re-verify with `spurious verify`)."),
        click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786."),
        click.option("--max-verify", type=click.IntRange(min=0), default=50, show_default=True,
                     help="Verify at most this many distinct minima (most hits first)."),
        click.option("--rigor", type=click.Choice(["auto", "exact", "interval", "numerical"]), default="auto",
                     show_default=True),
        click.option("--save", is_flag=True, help="Store certified non-global minima in the catalog."),
        click.option("--catalog", "catalog_url", envvar="SPURIOUS_CATALOG", metavar="URL",
                     help="Catalog URL for --save."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def _open_catalog(url):
    try:
        from ..catalog import Catalog
    except ImportError:
        raise InputError("--save: the catalog is not available in this installation") from None
    return Catalog(url)


def _id_fn():
    try:
        from ..catalog.canonical import stable_id
    except ImportError:
        return None
    return stable_id


class _Progress:
    """A rich progress bar over starts (only on a terminal and without --json)."""

    def __init__(self, enabled, total, label):
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total} starts"),
                                TimeRemainingColumn(), transient=True)
            self.task = self.bar.add_task(label, total=total)
            self.bar.start()

    def __call__(self, event):
        if self.bar is not None:
            self.bar.update(self.task, completed=event["starts_done"])

    def stop(self):
        if self.bar is not None:
            self.bar.stop()


def run_search(problem, base, o, label="search", progress=True):
    """Run one search with the CLI options ``o`` (dict); saving as minima are certified."""
    from ..search import search

    catalog = _open_catalog(o["catalog_url"]) if o["save"] else None
    saved = []

    def on_minimum(m):
        if catalog is not None and m.certified_spurious:
            entry_id, new = catalog.add(m.candidate, m.certificate, source="search")
            saved.append(entry_id)

    bar = _Progress(progress and not o["as_json"] and sys.stderr.isatty(), o["starts"], label)
    try:
        res = search(problem, base, starts=o["starts"], seed=o["seed"], optimizer=o["optimizer"],
                     workers=o["workers"], scheduler=o["scheduler"], budget=o["budget"], callback=bar,
                     on_minimum=on_minimum,
                     max_verify=o["max_verify"], rigor=o["rigor"], id_fn=_id_fn(), lr=o["lr"],
                     max_iter=o["max_iter"], chunk_size=o["chunk_size"],
                     meta={"params": {"seed": o["seed"], "starts": o["starts"], "optimizer": o["optimizer"],
                                      "dataset": o.get("dataset"), "n": o.get("n")}})
    finally:
        bar.stop()
    if o.get("out_dir"):
        from ..search import write_candidates

        write_candidates(res, o["out_dir"])
    return res, saved


@cli.command("search")
@click.option("--widths", required=True, help="Widths d_0,...,d_L, e.g. 2,4,1.")
@_common
def search_cmd(widths, **o):
    """Multi-start search for local minima; distinct ones (modulo symmetries) are verified and counted."""
    ws = _parse_widths(widths)
    problem, base = build_problem(ws, o["activation"], o["data_path"], o["dataset"], o["teacher"], o["n"],
                                  o["seed"], not o["no_bias"], o["weight_decay"], o["reduction"])
    res, saved = run_search(problem, base, o)
    if o["as_json"]:
        out = res.to_json()
        out["saved"] = saved
        click.echo(json.dumps(out, indent=1, allow_nan=False))
        return
    _print_result(res, saved)


def _loss_text(m):
    from .render import fmt_value

    c = m.reported
    if c is not None and c.loss is not None and c.rigor != "numerical":
        return fmt_value(c.loss)  # a long exact rational is abbreviated there; --json keeps the fraction
    return f"{m.loss:.12g}"


def _print_result(res, saved):
    """One row per family (same loss and smallest eigenvalue); --json lists every distinct minimum."""
    from .render import console, data_table

    families = {}
    for m in res.minima:
        families.setdefault(m.family, []).append(m)
    t = data_table("family", "loss", "verdict", "global", "rigor", "hits", "minima", "certified", "id",
                   title=f"{res.starts_done} starts ({res.unconverged} unconverged), {len(res.minima)} distinct "
                         f"minima in {len(families)} families")
    for fam, ms in families.items():
        rep = max(ms, key=lambda m: (m.certificate is not None and m.certificate.proved, m.hits))
        d = rep.to_json(res.starts_done)
        verdict = d["verdict"] if d["verdict"] != "not_critical" else "near critical"
        t.add_row(str(fam), _loss_text(rep), verdict, d["global"], d["rigor"], str(sum(m.hits for m in ms)),
                  str(len(ms)),
                  str(sum(m.certified_spurious for m in ms)), rep.id[:12])
    console.print(t)
    console.print(f"certified spurious minima: {len(res.certified_spurious)}; numerical only: "
                  f"{len(res.numerically_spurious) - len(res.certified_spurious)}")
    if saved:
        console.print(f"saved to the catalog: {', '.join(saved)}")
    if res.global_bound is not None and res.global_bound.global_value is not None:
        from .render import fmt_value

        reached = sum(m.hits for m in res.minima if m.reaches_global_value)
        console.print(f"global minimum value {fmt_value(res.global_bound.global_value)} (proved: "
                      f"{res.global_bound.method}); reached by {reached} of {res.starts_done} starts")
    if not res.complete:
        console.print(f"[yellow]incomplete: {res.starts_done} of {res.spec.starts} starts finished"
                      f"{'; verification stopped early' if res.verification_interrupted else ''}[/]")


@cli.command("sweep")
@click.option("--widths-range", required=True, help="Hidden widths A..B (one hidden layer), e.g. 1..6.")
@click.option("--input-dim", type=click.IntRange(min=1), default=None, help="Input width (default: from the data or 2).")
@click.option("--output-dim", type=click.IntRange(min=1), default=1, show_default=True)
@_common
def sweep_cmd(widths_range, input_dim, output_dim, **o):
    """Search every width of a range on the same data; table of certified spurious minima per architecture."""
    a, sep, b = widths_range.partition("..")
    try:
        lo, hi = int(a), int(b)
    except ValueError:
        raise InputError(f"--widths-range: expected A..B like 1..6, got {widths_range!r}") from None
    if not sep or lo < 1 or hi < lo or hi - lo > 200:
        raise InputError(f"--widths-range: expected 1 <= A <= B (at most 200 widths), got {widths_range!r}")
    d_in = input_dim or (1 if o["dataset"] == "regression-1d" else 2)
    if o["dataset"] == "safran-shamir":
        raise InputError("sweep: safran-shamir fixes its widths; use `spurious search --dataset safran-shamir`")
    rows = []
    for h in range(lo, hi + 1):
        ws = (d_in, h, output_dim)
        problem, base = build_problem(ws, o["activation"], o["data_path"], o["dataset"], o["teacher"], o["n"],
                                      o["seed"], not o["no_bias"], o["weight_decay"], o["reduction"])
        res, saved = run_search(problem, base, o, label=f"width {h}")
        rows.append(_sweep_row(ws, res, saved))
        if not o["as_json"]:
            click.echo(f"width {h}: {rows[-1]['certified_spurious']} certified spurious, "
                       f"{rows[-1]['numerical_spurious']} numerical, best loss {rows[-1]['best_loss']}", err=True)
    if o["as_json"]:
        click.echo(json.dumps({"architectures": rows}, indent=1, allow_nan=False))
        return
    from .render import console, data_table

    t = data_table("widths", "starts", "minima", "certified spurious", "numerical spurious", "% starts spurious",
                   "best loss", title="spurious minima per architecture")
    for r in rows:
        t.add_row(",".join(map(str, r["widths"])), str(r["starts"]), str(r["minima"]), str(r["certified_spurious"]),
                  str(r["numerical_spurious"]), f"{100 * r['spurious_fraction']:.1f}", f"{r['best_loss']:.6g}")
    console.print(t)


def _sweep_row(ws, res, saved):
    spur = res.numerically_spurious
    return {"widths": list(ws), "starts": res.starts_done, "minima": len(res.minima),
            "certified_spurious": len(res.certified_spurious),
            "numerical_spurious": len(spur) - len([m for m in spur if m.certified_spurious]),
            "spurious_fraction": sum(m.hits for m in spur) / res.starts_done if res.starts_done else 0.0,
            "best_loss": res.best_loss, "saved": saved, "interrupted": res.interrupted, "complete": res.complete}
