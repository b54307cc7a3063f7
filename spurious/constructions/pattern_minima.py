"""pattern-minima: local minima of one-hidden-layer piecewise-linear networks, one per interior activation pattern.

Ours; the closest published relatives are Liu, "Spurious local minima are common for deep neural networks with
piecewise linear activations" (IEEE TNNLS 2021: per-pattern least-squares pieces) and He, Wang, Tao (ICLR 2020:
"all local minima inside a cell are global within that cell" for one hidden layer).

Network f(x) = sum_j v_j h(w_j.x + b_j) + c with a two-slope activation through 0, h(z) = s+ z (z > 0), s- z (z < 0).
Fix a pattern sigma_j(i) in {+, -} for every unit and sample. Inside it the outputs are
f(x_i) = sum_j s_{sigma_j(i)} u_j.(x_i, 1) + c with u_j = v_j (w_j, b_j): linear in (u, c), so the loss is a convex
quadratic of (u, c) (the *product space*). Let (u*, c*) be its minimum-norm least-squares solution. The pattern is
*interior* when u* is realised by weights with exactly that pattern and a strict margin: for each unit either the
unit's columns vanish (a dead ReLU unit: u_j* = 0, weights w_j = 0, b_j = -1, v_j = 1), or u_j* = 0 and v_j = 0 with
w_j any hyperplane of pattern sigma_j, or u_j*.(x_i, 1) != 0 for all i with sign eps sigma_j(i) for one eps = +-1
(then v_j = eps, (w_j, b_j) = eps u_j*). Near such a point the pattern is frozen and the loss is >= the pattern's
least-squares loss, which the point attains: a local minimum. It is strict modulo the rescaling of the hidden units
when the product-space quadratic is strictly convex (the pattern features are linearly independent) and every
u_j* != 0; otherwise non-strict. Among the interior patterns found, the best one is the witness of all worse ones.

Enumeration: 1-D inputs, exactly (a unit's pattern is a threshold of the sorted samples, 2n of them); higher
dimensions, the patterns of seeded random hyperplanes. Patterns of the units are taken as multisets (units are
interchangeable).
"""

from __future__ import annotations

import itertools
import math
import random

from flint import fmpq

from ..candidate import Candidate
from ..errors import InputError
from ..linalg import least_squares, rank
from ..network import Point
from . import Family, Param, Shape, register
from .common import activation_of, data_params, generate_data, int_param, make_problem, seed_of, widths_of
from .yun_lift import two_slopes

__all__ = ["pattern_minima", "interior_patterns", "unit_patterns", "pattern_point"]

REFERENCE = ("spurious (product-space argument per activation pattern); relatives: Liu, IEEE TNNLS 2021; He, Wang, "
             "Tao, ICLR 2020")
MAX_MULTISETS = 200_000
MAX_SAMPLED_MULTISETS = 5_000
GENERATED_ATTEMPTS = 10


def unit_patterns(X, seed=0, samples=200):
    """Hyperplane-realisable sign patterns with a realising (w, b): exact in 1-D, sampled in higher dimensions.

    Returns a list of (pattern tuple of +-1, w list, b) with w.x_i + b != 0 and of sign pattern[i].
    """
    n, d = len(X), len(X[0])
    one = fmpq(1)
    out = {(1,) * n: ([fmpq(0)] * d, one), (-1,) * n: ([fmpq(0)] * d, -one)}
    if d == 1:
        xs = sorted({x[0] for x in X})
        for lo, hi in zip(xs, xs[1:]):
            mid = (lo + hi) / 2
            for s in (1, -1):
                pat = tuple(s if x[0] > mid else -s for x in X)
                out.setdefault(pat, ([fmpq(s)], -s * mid))
    else:
        rng = random.Random(seed)
        for _ in range(samples):
            w = [fmpq(rng.randint(-6, 6), rng.randint(1, 3)) for _ in range(d)]
            t = sorted({sum((a * b for a, b in zip(w, x)), fmpq(0)) for x in X})
            if len(t) < 2:
                continue
            k = rng.randrange(len(t) - 1)
            b = -(t[k] + t[k + 1]) / 2
            pat = tuple(1 if sum((a * c for a, c in zip(w, x)), fmpq(0)) + b > 0 else -1 for x in X)
            out.setdefault(pat, (w, b))
    return [(p, w, b) for p, (w, b) in sorted(out.items())]


def _columns(X, patterns, s_minus, s_plus):
    n, d = len(X), len(X[0])
    cols = []
    for pat in patterns:
        s = [s_plus if p > 0 else s_minus for p in pat]
        cols += [[s[i] * X[i][t] for i in range(n)] for t in range(d)]
        cols.append(list(s))
    cols.append([fmpq(1)] * n)
    return cols


def pattern_point(X, Y, units, s_minus, s_plus):
    """Realise the product-space least-squares solution of the pattern multiset ``units`` ((pattern, w, b) each).

    Returns None when the pattern is not interior, else a dict with the point, loss (sum convention rss), strictness.
    """
    n, d = len(X), len(X[0])
    cols = _columns(X, [u[0] for u in units], s_minus, s_plus)
    coef, _, rss = least_squares(cols, [y[0] for y in Y])
    W, b, v = [], [], []
    for j, (pat, w0, b0) in enumerate(units):
        uj = coef[j * (d + 1):(j + 1) * (d + 1)]
        if s_minus == 0 and all(p < 0 for p in pat):  # a dead ReLU unit: its columns vanish
            W.append([fmpq(0)] * d)
            b.append(fmpq(-1))
            v.append(fmpq(1))
            continue
        if all(c == 0 for c in uj):
            W.append(list(w0))
            b.append(b0)
            v.append(fmpq(0))
            continue
        q = [sum((uj[t] * X[i][t] for t in range(d)), fmpq(0)) + uj[d] for i in range(n)]
        if any(x == 0 for x in q):
            return None
        eps = 1 if q[0] * pat[0] > 0 else -1
        if any((1 if qi > 0 else -1) != eps * p for qi, p in zip(q, pat)):
            return None
        W.append([eps * c for c in uj[:d]])
        b.append(eps * uj[d])
        v.append(fmpq(eps))
    full_rank = rank([list(r) for r in zip(*cols)]) == len(cols)
    strict = full_rank and all(x != 0 for x in v)
    point = Point.from_arrays([W, [v]], [b, [coef[-1]]])
    return {"point": point, "rss": rss, "strict": strict, "patterns": [u[0] for u in units]}


def interior_patterns(X, Y, width, s_minus, s_plus, seed=0, samples=200, max_multisets=MAX_MULTISETS):
    """All interior pattern multisets found (exhaustive in 1-D when the count allows), sorted by loss."""
    pats = unit_patterns(X, seed, samples)
    total = math.comb(len(pats) + width - 1, width)
    if total <= max_multisets:
        combos = itertools.combinations_with_replacement(range(len(pats)), width)
    else:
        rng = random.Random(seed + 1)  # sampled, not exhaustive: a smaller deterministic sample (each is an exact
        # least-squares solve; 200,000 of them took minutes at width 10)
        combos = {tuple(sorted(rng.randrange(len(pats)) for _ in range(width)))
                  for _ in range(min(max_multisets, MAX_SAMPLED_MULTISETS))}
        combos = sorted(combos)
    found = []
    for combo in combos:
        res = pattern_point(X, Y, [pats[k] for k in combo], s_minus, s_plus)
        if res is not None:
            found.append(res)
    found.sort(key=lambda r: (r["rss"], r["patterns"]))
    return found, {"unit_patterns": len(pats), "multisets": total,
                   "exhaustive": total <= max_multisets and len(X[0]) == 1,
                   "interior": len(found)}


def pattern_minima(*, widths=(1, 2, 1), activation="relu", data=None, n=6, seed=0, samples=200, which=0):
    """Certifiable non-global local minima, one per interior activation pattern; witness = the best one found.

    Parameters
    ----------
    widths : (d_0, d_1, 1), any d_0 >= 1, d_1 >= 1.
    activation : two-slope through 0 (relu, leaky_relu, piecewise_linear breakpoints [0], intercept 0).
    data, n, seed : given data (path) or seeded generated data (n >= 3); seed also drives the sampling (d_0 >= 2).
        Generated data without a non-global interior pattern is redrawn deterministically (seed + 100003 k,
        k < 10; ``params["data_attempt"]`` records k).
    samples : random hyperplanes per unit pattern search when d_0 >= 2 (1 <= samples <= 100000).
    which : index into the non-global minima sorted by loss (0 = lowest), or "all" (Python API) for the list.
    """
    act = activation_of(activation)
    widths = widths_of(widths, "pattern-minima", min_depth=2, max_depth=2)
    s_minus, s_plus = two_slopes(act, "pattern-minima")
    seed = seed_of(seed)
    samples = int_param(samples, "samples", 1, 100_000)
    X, Y, origin = data_params(data, n, seed, widths[0], "pattern-minima", "affine")
    attempt = 0
    while True:
        found, stats = interior_patterns(X, Y, widths[1], s_minus, s_plus, seed, samples)
        best = found[0] if found else None
        worse = [r for r in found if r["rss"] > best["rss"]] if found else []
        if worse or origin == "given" or attempt == GENERATED_ATTEMPTS - 1:
            break
        attempt += 1  # generated data without a non-global interior pattern: deterministic next draw
        X, Y = generate_data(len(Y), widths[0], seed + 100_003 * attempt)
    if not found:
        raise InputError("pattern-minima: no interior pattern found for these data and widths")
    if not worse:
        raise InputError(f"pattern-minima: all {len(found)} interior pattern(s) share the lowest loss; none is "
                         "provably non-global")
    if which != "all":
        which = int_param(which, "which", 0, len(worse) - 1)
    problem = make_problem(widths, act, X, Y)
    nY = len(Y)
    params = {"widths": list(widths), "activation": act.to_json(), "seed": seed, "samples": samples,
              "data": str(data) if origin == "given" else "generated", "n": nY}
    if attempt:
        params["data_attempt"] = attempt

    def candidate(k):
        r = worse[k]
        pats = ["".join("+" if p > 0 else "-" for p in pat) for pat in r["patterns"]]
        notes = (f"interior pattern {pats} (units x samples); loss {r['rss'] / nY} (mean), witness = best interior "
                 f"pattern {[''.join('+' if p > 0 else '-' for p in q) for q in best['patterns']]} with loss "
                 f"{best['rss'] / nY}; {stats['interior']} interior of {stats['multisets']} pattern multisets "
                 f"({'exhaustive' if stats['exhaustive'] else 'sampled'}).")
        expected = "strict_modulo_symmetry" if r["strict"] else "non_strict_local_min"
        return Candidate(problem, r["point"], best["point"],
                         {"construction": "pattern-minima", "reference": REFERENCE,
                          "params": {**params, "which": k}, "notes": notes, "expected_verdict": expected})

    if which == "all":
        return [candidate(k) for k in range(len(worse))]
    return candidate(which)


register(Family(
    name="pattern-minima", reference=REFERENCE,
    activations="two-slope through 0: relu, leaky_relu, piecewise_linear breakpoints [0]",
    architectures="one hidden layer d_0-d_1-1, any d_0 >= 1, d_1 >= 1",
    strict="strict modulo rescaling when the pattern's product-space problem is strictly convex, else non-strict",
    summary="one local minimum per interior activation pattern (exact in 1-D, sampled hyperplanes otherwise)",
    params=(Param("widths", (1, 2, 1), "(d_0, d_1, 1)", "architecture", kind="widths", shape=Shape()),
            Param("activation", "relu", "two-slope through 0", "hidden activation", kind="activation",
                  choices=("two_slope",)),
            Param("data", None, "path to a candidate/JSON file with X, Y", "data (else generated)", kind="path"),
            Param("n", 6, "n >= d_0 + 2", "number of generated samples", kind="int", min="d_0 + 2"),
            Param("seed", 0, ">= 0", "seed of the data and of the hyperplane sampling", kind="int", min=0),
            Param("samples", 200, "1..100000", "random hyperplanes (d_0 >= 2)", kind="int", min=1, max=100000),
            Param("which", 0, "0 <= which < number found, or 'all' (Python)", "which minimum to return", kind="int",
                  min=0, choices=("all",))),
    function=pattern_minima))
