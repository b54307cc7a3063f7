"""floor(n/d)^d strict local minima of one sigmoid neuron with the squared loss (Auer-Herbster-Warmuth 1995).

Auer, Herbster, Warmuth, "Exponentially many local minima for single neurons", NIPS 8 (1995), pp. 316-322: for the
logistic neuron x -> sigma(w . x) (no bias) and the squared loss, n examples can produce floor(n/d)^d local minima.
Their mechanism (constructions.md 7): make the loss separable across coordinates (examples on the coordinate axes)
and give each axis a 1-D gadget with one local minimum per example. Their exact example values could not be read;
the gadget here is ours: on every axis k = floor(n/d) examples x = 10^-t e_axis, t = 0..k-1, all with label
y = 7/10. Each example alone is a "well" (minimum at w = 10^t logit(7/10), width ~10^t, bounded loss); at scale
ratio 10 the wells stay separate, so E_axis(w) = sum_t (7/10 - sigma(10^-t w))^2 has exactly k local minima (a
scan finds them; each is then certified). Leftover examples (n - k d) are x = 0, y = 1/2: they add (1/2 - 1/2)^2 = 0.

Architecture in our format: widths [d, 1, 1], sigmoid, no biases, output layer fixed to weight 1
(``trainable [true, false]``), so f(x) = sigma(w . x) exactly as in the paper. Loss: mean squared (the paper's sum
differs by the factor n). Certification: the interval path (strong convexity on a ball around the polished point);
the Hessian is diagonal (separable). Witness: the point whose every coordinate sits at the lowest 1-D well (our
10^0 well); the minimum at that point itself gets no witness (it is probably the global minimum).
"""

from __future__ import annotations

import itertools

import numpy as np
from flint import arb, ctx as flint_ctx, fmpq

from ..activations import make_activation
from ..candidate import Candidate
from ..errors import InputError, InternalError
from ..network import Network, Point
from ..problem import FiniteData, Loss, Problem
from . import Param, Shape
from .common import int_param

__all__ = ["single_neuron", "all_minima", "FAMILY", "REFERENCE", "well_minimizers", "LABEL", "RATIO"]

REFERENCE = ("Auer, Herbster, Warmuth, Exponentially many local minima for single neurons, NIPS 8 (1995) "
             "316-322; 1-D gadget: ours")
LABEL = fmpq(7, 10)
RATIO = 10
PREC = 192


def _scales(k):
    return [fmpq(1, RATIO ** t) for t in range(k)]


def _e1d_float(w, k):
    a = np.array([float(s) for s in _scales(k)])
    return np.sum((float(LABEL) - 1 / (1 + np.exp(-np.clip(np.outer(w, a), -700, 700)))) ** 2, axis=1)


def _newton_1d(w, k, steps=60):
    """Refine a 1-D critical point of E(w) = sum (y - sigma(a_t w))^2 with arb Newton; returns (w rational, E'')."""
    with flint_ctx.workprec(PREC):
        x = arb(w)
        y = arb(LABEL)
        for _ in range(steps):
            g = h = arb(0)
            for a in _scales(k):
                s = 1 / (1 + (-arb(a) * x).exp())
                ds, d2s = s * (1 - s), s * (1 - s) * (1 - 2 * s)
                g += -2 * (y - s) * ds * arb(a)
                h += (2 * ds * ds - 2 * (y - s) * d2s) * arb(a) ** 2
            x = (x - g / h).mid()
        mid = x.mid()
        man, exp = mid.man_exp()
        q = fmpq(int(man)) * (fmpq(2) ** int(exp) if int(exp) >= 0 else fmpq(1, 2 ** (-int(exp))))
        return fmpq(int((q * 2 ** 80).floor()), 2 ** 80), h


def well_minimizers(k):
    """The k local minimizers of the 1-D gadget (scan on a log grid, then arb Newton), ascending."""
    ws = np.logspace(-3, k + 2, 20000)
    grid = np.concatenate([-ws[::-1], ws])
    E = _e1d_float(grid, k)
    idx = [i for i in range(1, len(grid) - 1) if E[i] < E[i - 1] and E[i] < E[i + 1]]
    if len(idx) != k:
        raise InternalError(f"single-neuron: the 1-D gadget has {len(idx)} minima on the scan, expected {k}")
    out = []
    for i in idx:
        w, h = _newton_1d(grid[i], k)
        if not h > 0:
            raise InternalError("single-neuron: a 1-D critical point without proven positive curvature")
        out.append(w)
    return out


def _problem(d, n):
    k = n // d
    X, Y = [], []
    for axis in range(d):
        for a in _scales(k):
            X.append(tuple(a if i == axis else fmpq(0) for i in range(d)))
            Y.append((LABEL,))
    for _ in range(n - k * d):
        X.append(tuple(fmpq(0) for _ in range(d)))
        Y.append((fmpq(1, 2),))
    net = Network.make((d, 1, 1), make_activation("sigmoid"), bias=False, trainable=[True, False])
    return Problem(net, FiniteData(tuple(X), tuple(Y)), Loss())


def _check(d, n):
    d = int_param(d, "d", 1, 6)
    n = int_param(n if n is not None else 2 * d, "n", 1, 60)
    if n // d < 1:
        raise InputError(f"single-neuron: n >= d fails (n = {n}, d = {d}): floor(n/d) >= 1 examples per axis needed")
    if n // d > 5:
        raise InputError(f"single-neuron: floor(n/d) <= 5 fails (got {n // d}); the scale-ratio-10 gadget is "
                         "checked for up to 5 wells per axis")
    return d, n


def _candidate(problem, wells, index, best, d, n):
    w = [wells[i] for i in index]
    point = Point.from_arrays([[w], [[1]]], [None, None])
    witness = None
    if any(i != best for i in index):
        witness = Point.from_arrays([[[wells[best]] * d], [[1]]], [None, None])
    meta = {"construction": "single-neuron", "reference": REFERENCE,
            "params": {"d": d, "n": n, "index": list(index)},
            "notes": (f"separable gadget: {n // d} wells per axis at w = 10^t logit(7/10); this is well "
                      f"{list(index)} of {(n // d) ** d} minima; witness: every coordinate at well {best}")}
    return Candidate(problem, point, witness, meta)


def _best_well(wells, k):
    vals = _e1d_float(np.array([float(w) for w in wells]), k)
    return int(np.argmin(vals))


def single_neuron(*, d=2, n=None, index=None, widths=None, activation="sigmoid"):
    """One of the floor(n/d)^d strict local minima (``index``: the well per axis, default all 0)."""
    from . import architecture

    d = architecture("single-neuron", widths, activation).get("d", d)  # widths d,1,1; sigmoid only
    d, n = _check(d, n)
    k = n // d
    if index is None:
        index = (k - 1,) * d
    if isinstance(index, str):
        index = [int(s) for s in index.split(",")]
    index = tuple(int(i) for i in index)
    if len(index) != d or any(not 0 <= i < k for i in index):
        raise InputError(f"single-neuron: index needs d = {d} entries with 0 <= index_i < floor(n/d) = {k}")
    wells = well_minimizers(k)
    return _candidate(_problem(d, n), wells, index, _best_well(wells, k), d, n)


def all_minima(*, d=2, n=None):
    """All floor(n/d)^d minima as candidates."""
    d, n = _check(d, n)
    k = n // d
    wells = well_minimizers(k)
    problem, best = _problem(d, n), _best_well(wells, k)
    return [_candidate(problem, wells, idx, best, d, n) for idx in itertools.product(range(k), repeat=d)]


FAMILY = dict(
    name="single-neuron",
    reference=REFERENCE,
    activations="sigmoid",
    architectures="single neuron x -> sigmoid(w . x): widths [d, 1, 1], no biases, output fixed to 1 "
                  "(trainable [true, false])",
    strict="yes (strict: no continuous symmetry; interval path)",
    summary="separable data on the axes at scales 10^-t with label 7/10: floor(n/d)^d strict minima, all but one "
            "provably non-global",
    params=(Param("widths", None, "d,1,1 (sets d)", "architecture", kind="widths",
                  shape=Shape(input=(1, 6), hidden=(1, 1))),
            Param("activation", "sigmoid", "sigmoid", "hidden activation (fixed)", kind="activation",
                  choices=("sigmoid",)),
            Param("d", 2, "1 <= d <= 6", "input dimension", kind="int", min=1, max=6, from_widths=0),
            Param("n", None, "d <= n <= 60, floor(n/d) <= 5", "examples (default 2d)", kind="int", min="d", max=60),
            Param("index", None, "d integers in [0, floor(n/d))", "which well on each axis (default the last)",
                  kind="ints")),
    fixed_parameters="no biases; output weight fixed to 1",
    function=single_neuron,
)
