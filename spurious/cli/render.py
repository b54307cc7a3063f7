"""Human-readable output of certificates and candidates (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from ..arithmetic import evaluate_ball, evaluate_exact
from ..arithmetic.balls import ball_bounds
from ..errors import NotExactError, UnsupportedError
from ..rationals import decimal_str, fmpq_to_float
from ..certificate import NUMERICAL

import re
import sys

from flint import fmpq, fmpz

# A pipe or a file gets unbounded lines (rich would wrap or cut at 80 columns); a terminal gets its own width, and
# table cells fold there instead of being cut. Markup is off: data such as "[lo, hi]" or "widths [2, 3]" prints as it
# is; styles are given explicitly (style=..., Text).
console = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 100_000)


def data_table(*headers, **options) -> Table:
    """A table whose columns fold long values onto further lines at a narrow terminal, never cutting a number."""
    return Table(*[Column(h, overflow="fold") for h in headers], **options)


LONG_NUMBER = 60  # characters: an exact rational longer than this is shown abbreviated (JSON output keeps it whole)
_LONG = re.compile(r"-?\d+(?:/\d+)?")


def abbreviate(text: str) -> str:
    """Shorten every exact rational longer than LONG_NUMBER characters in ``text`` to its decimal value and its size
    (exact constructions at depth 3 write rationals of ~10^4 digits; ``--json`` and the candidate file keep them)."""
    def short(m):
        s = m.group(0)
        if len(s) <= LONG_NUMBER:
            return s
        num, _, den = s.partition("/")
        value = fmpq(fmpz(num), fmpz(den or "1"))
        return f"~{decimal_str(value, 12)} (exact rational, {len(s)} chars)"
    return _LONG.sub(short, text)


def fmt_value(x) -> str:
    """Exact rationals as p/q (~ decimal), balls as [lo, hi], floats as they are."""
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.17g}"
    if isinstance(x, (list, tuple)) and len(x) == 2:
        return f"[{x[0]}, {x[1]}]"
    if hasattr(x, "rad"):
        lo, hi = ball_bounds(x)
        return f"[{decimal_str(lo, 17)}, {decimal_str(hi, 17)}]"
    if hasattr(x, "q"):
        if len(str(x)) > LONG_NUMBER:
            return abbreviate(str(x))
        return str(x) if x.q == 1 else f"{x} (~{decimal_str(x, 12)})"
    return abbreviate(str(x))


def print_certificate(cert) -> None:
    style = "yellow" if cert.rigor == NUMERICAL else "bold"
    console.print(Text.assemble((f"verdict: {cert.verdict}", style), f"   global: {cert.glob}   rigor: {cert.rigor}"))
    if cert.rigor == NUMERICAL:
        console.print("numerical evidence only: this is not a proof", style="yellow")
    console.print(f"loss: {fmt_value(cert.loss)}")
    if cert.witness_loss is not None:
        console.print(f"witness loss: {fmt_value(cert.witness_loss)}")
    if cert.global_lower_bound is not None:
        console.print(f"global lower bound: {fmt_value(cert.global_lower_bound)}")
    if cert.radius is not None:
        console.print(f"radius: {fmt_value(cert.radius)}")
    if cert.reduced_min_eigenvalue is not None:
        console.print(f"smallest reduced eigenvalue: {fmt_value(cert.reduced_min_eigenvalue)}")
    if cert.symmetries:
        console.print("symmetries: " + "; ".join(cert.symmetries))
    if cert.method:
        console.print(f"method: {cert.method}")
    console.print("steps:")
    for k, r in enumerate(cert.reasons, 1):
        console.print(f"  {k}. {abbreviate(r)}", markup=False)


def loss_text(problem, point):
    try:
        return fmt_value(evaluate_exact(problem, point, order=0).loss) + " (exact)"
    except NotExactError:
        pass
    try:
        return fmt_value(evaluate_ball(problem, point, order=0).loss) + " (ball enclosure)"
    except UnsupportedError as exc:
        return f"not available ({exc})"


def print_summary(candidate) -> None:
    p = candidate.problem
    net = p.network
    table = Table(Column(overflow="fold"), Column(overflow="fold"), show_header=False, box=None)
    table.add_row("network", net.describe())
    table.add_row("bias / trainable", f"{list(net.bias)} / {list(net.trainable)}")
    table.add_row("parameters", str(net.num_params))
    if p.finite:
        table.add_row("data", f"{p.data.n} samples, input dim {net.widths[0]}, output dim {net.widths[-1]}")
    else:
        table.add_row("data", f"standard Gaussian inputs, teacher {p.data.teacher_network.describe()}")
    wd = f", weight decay {p.loss.weight_decay}" if p.loss.weight_decay else ""
    table.add_row("loss", f"squared, reduction {p.loss.reduction}{wd}")
    table.add_row("loss at point", loss_text(p, candidate.point))
    if candidate.witness is not None:
        table.add_row("loss at witness", loss_text(p, candidate.witness))
    for key in ("construction", "reference"):
        if candidate.meta.get(key):
            table.add_row(key, str(candidate.meta[key]))
    console.print(table)
    if p.exact_capable and any(a.kind == "piecewise_linear" for a in net.activations):
        ev = evaluate_exact(p, candidate.point, order=0)
        console.print("activation pattern (rows: hidden units; columns: samples; the index of the linear piece, "
                      "0 = leftmost; for two pieces - and +; * on a kink):")
        marks = {0: "-", 1: "+"}
        for l, layer in enumerate(ev.piece_index, start=1):
            if layer is None:
                continue
            two = len(net.activations[l - 1].breakpoints) == 1
            for k, row in enumerate(layer):
                text = "".join("*" if p is None else (marks[p] if two else str(p)) for p in row)
                console.print(f"  layer {l} unit {k}: {text}", markup=False)
        if ev.kinks:
            console.print(f"{len(ev.kinks)} pre-activation(s) sit exactly on a breakpoint: the loss is not smooth "
                          "there", markup=False)
