"""Spurious minima of narrow quadratic-activation networks (below the Soltanolkotabi-Javanmard-Lee thresholds).

Soltanolkotabi, Javanmard, Lee, "Theoretical insights into the optimization landscape of over-parameterized
shallow neural networks", IEEE TIT 2019 (arXiv:1707.04926), Thm 2.1: with phi(z) = z^2, k >= 2d hidden units and
output weights v with >= d positive and >= d negative entries, every local minimum is global. Du and Lee (ICML 2018)
need k >= sqrt(2n). Below these thresholds (here 1 <= k < d, v = +1: one sign only) spurious minima exist; this
module plants them with exact rationals (our construction; shared/research/claims.md 3, "below the thresholds").

Planted design (standard basis): W* rows e_1..e_k, v = 1 (fixed), f(x) = sum_j (w_j . x)^2. Data and residuals
r = f - y: e_a (a <= k) with r = 2(d-k)/k; e_b (b > k) with r = -1; e_a +- e_b (a <= k < b) with r = -1/k;
e_a + e_c (a < c <= k) with r = 0. Then S = sum r_i x_i x_i^T = diag(0_k, -3 I_{d-k}), S w_j = 0, so the gradient
(4/n) v_j S w_j is exactly 0; the Hessian (4/n)[I (x) S + 2 J^T J] is positive semidefinite with kernel exactly the
k(k-1)/2 directions of the symmetry W -> A W, A^T diag(v) A = diag(v) (checked exactly; for k = 1: positive
definite). S has negative directions, so (SJL Lemma 6.1) the point is not optimal for the convex lifting; the
witness is the best of seeded float BFGS runs, rounded to rationals, with an exactly smaller loss.
k = 1: certified by the exact path (strict; strict modulo the degree-2 rescaling (w, v) -> (a w, v / a^2) when v is
trainable). k >= 2: the symmetry group is not in the generic symmetry list, so the candidate names the structured
argument "quadratic-orbit" (:mod:`spurious.verifiers.structured`), which checks it exactly.
A seeded rational change of basis x -> A x, w -> A^-T w (w . x invariant) makes the data generic-looking.
"""

from __future__ import annotations

import random

from flint import fmpq, fmpq_mat

from ..activations import make_activation
from ..arithmetic import evaluate_exact
from ..candidate import Candidate
from ..errors import InputError, InternalError
from ..network import Network, Point
from ..problem import FiniteData, Loss, Problem
from . import Param, Shape
from .common import int_param, seed_of

__all__ = ["quadratic_narrow", "FAMILY", "REFERENCE", "planted_data"]

REFERENCE = ("Soltanolkotabi, Javanmard, Lee, Theoretical insights into the optimization landscape of "
             "over-parameterized shallow neural networks, IEEE TIT 2019 (arXiv:1707.04926), Thm 2.1 (threshold "
             "k >= 2d, mixed-sign v); Du and Lee, ICML 2018 (k >= sqrt(2n)); construction below threshold: ours")


def planted_data(d, k=1):
    """Inputs, labels (standard basis) and W* = rows e_1..e_k of the planted design (module docstring)."""
    e = lambda l: tuple(fmpq(int(i == l)) for i in range(d))  # noqa: E731
    add = lambda a, b, s: tuple(x + s * y for x, y in zip(a, b))  # noqa: E731
    X, Y = [], []
    for a in range(k):
        X.append(e(a))
        Y.append(1 - fmpq(2 * (d - k), k))
    for b in range(k, d):
        X.append(e(b))
        Y.append(fmpq(1))
    for a in range(k):
        for b in range(k, d):
            for s in (1, -1):
                X.append(add(e(a), e(b), s))
                Y.append(1 + fmpq(1, k))
    for a in range(k):
        for c in range(a + 1, k):
            X.append(add(e(a), e(c), 1))
            Y.append(fmpq(2))
    return X, Y, [e(a) for a in range(k)]


def _basis_change(d, seed):
    """A seeded invertible rational matrix A (identity for seed 0)."""
    if seed == 0:
        return fmpq_mat([[int(i == j) for j in range(d)] for i in range(d)])
    rng = random.Random(seed)
    while True:
        A = fmpq_mat([[fmpq(rng.randint(-3, 3), rng.randint(1, 2)) for _ in range(d)] for _ in range(d)])
        if A.det() != 0:
            return A


def _witness(problem, loss, seed, k, d):
    """The best of seeded float BFGS runs, rounded to a 2^-30 grid, if its exact loss is lower."""
    import numpy as np
    from scipy.optimize import minimize

    X = np.array([[float(v) for v in x] for x in problem.data.X])
    Y = np.array([float(y[0]) for y in problem.data.Y])

    def fg(w):
        Z = X @ w.reshape(k, d).T
        r = (Z ** 2).sum(1) - Y
        return float(np.mean(r * r)), ((4 / len(Y)) * ((r[:, None] * Z).T @ X)).ravel()

    rng = np.random.default_rng([seed, 11])
    runs = [minimize(fg, rng.normal(0, 1, k * d), jac=True, method="BFGS") for _ in range(20)]
    best = min(runs, key=lambda r: r.fun).x.reshape(k, d)
    W = [[fmpq(int(round(x * 2**30)), 2**30) for x in row] for row in best]
    cand = Point.from_arrays([W, [[1] * k]], [None, None])
    if not evaluate_exact(problem, cand, order=0).loss < loss:
        raise InternalError("quadratic-narrow: no witness with a lower loss was found")
    return cand


def quadratic_narrow(*, d=2, k=1, train_output=False, seed=0, widths=None, activation="quadratic"):
    """A strict (modulo symmetry for k >= 2) spurious local minimum of x -> sum_j (w_j . x)^2, 1 <= k < d.

    Parameters
    ----------
    d : input dimension, 2 <= d <= 8.
    k : hidden units, 1 <= k < d (below SJL's k >= 2d, and one output sign).
    train_output : k = 1 only: output weight trainable (strict modulo the degree-2 rescaling) instead of fixed.
    seed : 0 for the standard basis; otherwise a seeded rational change of basis of the inputs (and the witness
        search's starts).
    """
    from . import architecture

    set_by_widths = architecture("quadratic-narrow", widths, activation)  # widths d,k,1; quadratic only
    d, k = set_by_widths.get("d", d), set_by_widths.get("k", k)
    d = int_param(d, "d", 2, 8)
    k = int_param(k, "k", 1, d - 1)
    if isinstance(train_output, str):
        if train_output.lower() not in ("true", "false", "1", "0"):
            raise InputError(f"train_output: expected true or false, got {train_output!r}")
        train_output = train_output.lower() in ("true", "1")
    if train_output and k != 1:
        raise InputError("quadratic-narrow: train_output needs k = 1 (the orbit argument for k >= 2 needs the "
                         "output layer fixed)")
    seed = seed_of(seed)
    X0, Y0, W0 = planted_data(d, k)
    A = _basis_change(d, seed)
    Ainv_T = A.inv().transpose()
    col = lambda x, M: [(M * fmpq_mat([[v] for v in x]))[i, 0] for i in range(d)]  # noqa: E731
    X = tuple(tuple(col(x, A)) for x in X0)
    W = [col(w, Ainv_T) for w in W0]
    net = Network.make((d, k, 1), make_activation("quadratic"), bias=False,
                       trainable=[True, bool(train_output)])
    problem = Problem(net, FiniteData(X, tuple((y,) for y in Y0)), Loss())
    point = Point.from_arrays([W, [[1] * k]], [None, None])
    loss = evaluate_exact(problem, point, order=0).loss
    witness = _witness(problem, loss, seed, k, d)
    meta = {"construction": "quadratic-narrow", "reference": REFERENCE,
            "params": {"d": d, "k": k, "train_output": bool(train_output), "seed": seed},
            "notes": (f"k = {k} < d = {d} < 2d, v = +1 (one sign): planted exact critical point W = W* A^-1 with "
                      f"S w_j = 0; loss {loss}; witness loss {evaluate_exact(problem, witness, order=0).loss} "
                      "(exact)")}
    if k >= 2:
        meta["proof"] = {"argument": "quadratic-orbit", "orbit_dimension": k * (k - 1) // 2}
    return Candidate(problem, point, witness, meta)


FAMILY = dict(
    name="quadratic-narrow",
    reference=REFERENCE,
    activations="quadratic",
    architectures="d-k-1 without biases, quadratic activation, 1 <= k < d, output weights +1 fixed (k = 1: or "
                  "trainable)",
    strict="yes (k = 1: strict, or strict modulo the degree-2 rescaling with a trainable output; k >= 2: strict "
           "modulo the O(k) orbit, structured exact proof)",
    summary="planted exact critical point below the k >= 2d / mixed-sign threshold of SJL Thm 2.1; exact path",
    params=(Param("widths", None, "d,k,1 (sets d and k)", "architecture", kind="widths",
                  shape=Shape(input=(2, 8), hidden=(1, 7))),
            Param("activation", "quadratic", "quadratic", "hidden activation (fixed)", kind="activation",
                  choices=("quadratic",)),
            Param("d", 2, "2 <= d <= 8", "input dimension", kind="int", min=2, max=8, from_widths=0),
            Param("k", 1, "1 <= k < d", "hidden units", kind="int", min=1, max="d - 1", from_widths=1),
            Param("train_output", False, "bool (k = 1)", "train the output weight (adds the rescaling symmetry)",
                  kind="bool"),
            Param("seed", 0, ">= 0", "rational change of basis of the inputs (0: standard basis)", kind="int",
                  min=0)),
    fixed_parameters="no biases; output weights fixed unless train_output",
    function=quadratic_narrow,
)
