"""Safran-Shamir spurious minima: ReLU teacher-student on Gaussian inputs, second layer fixed to ones.

Safran and Shamir, "Spurious local minima are common in two-layer ReLU neural networks", ICML 2018
(arXiv 1712.08968). Student x -> sum_{i<n} relu(w_i.x), teacher x -> sum_{i<k} relu(e_i.x), x ~ N(0, I_k),
so the input dimension is k and n >= k student neurons face k teacher neurons (their (k, n) notation). The output
layer is fixed to ones (``trainable: [true, false]``), which removes the ReLU rescaling symmetry: the minima are
strict in the plain sense. The teacher's weights (loss 0) are the witness.

Loss convention. Ours is E (f - g)^2; theirs is F = (1/2) E (f - g)^2 (their objval.m; the 1/2 is confirmed by
their result files), so F = loss / 2.

Structure of the minima (found from symmetry; by symmetric criticality a critical point of the loss restricted to
the fixed-point subspace of a symmetry group is critical for the full loss):
* which=0, n = k ("single failure", symmetry S_1 x S_{k-1}; our rows = neurons = their columns):
  w_0 = (a, c, ..., c), w_j = b e_0 + d e_j + e (1 - e_0 - e_j) for j >= 1. 5 reduced variables.
* which=0, n = k + 1 (shared/research/seed-extras.md section 2.5; failed target = last coordinate):
  good neurons j < k-1: d at j, c at k-1, e elsewhere; bad neurons k-1 and k: (b1, ..., b1, a1), (b2, ..., b2, a2).
  7 reduced variables. For k = 6 this point is a saddle (so n = k + 1 needs k >= 7).
The reduced variables are found by damped saddle-free Newton (float64 closed forms,
:func:`spurious.arithmetic.population.population_numpy`) from a k-scaled starting guess, then polished by Newton
steps whose gradient is computed in 128-bit ball arithmetic at the float64 point; the float64 values are stored
exactly (dyadic rationals). The full Hessian (ball midpoints) is checked positive definite: evidence only, the proof
is the verifier's (interval path: T1 strong convexity on a ball).

What is matched against the paper. The k = 7, n = k minimum reproduces the five entries printed in Safran's README
(ItaySafran/Overparameterization; shared/research/constructions.md section 4.3) to all 10 printed digits:
-0.6327039049, 0.2616910758, 0.1859910463, 0.9969227988, -0.0350801559. Loss values of the n = k + 1 family
match the lowest certified (k, k+1) objective values in the authors' result files (ItaySafran/OneLayerGDconvergence,
Results/*.mat) to 6 digits for k = 8, 10..19 (seed-extras.md section 2.5). The paper's Table 1 itself (percentages,
averaged F and lambda_min) could not be read; its n = k averages mix several families, so they are not compared.
"""

from __future__ import annotations

import numpy as np

from ..activations import make_activation
from ..candidate import Candidate
from ..errors import InputError, InternalError
from ..network import Network, Point
from ..problem import GaussianData, Loss, Problem
from . import Param, Shape
from .common import int_param, seed_of

__all__ = ["safran_shamir", "FAMILY", "REFERENCE", "reduced_values", "safran_problem", "reproduce", "PUBLISHED_K7"]

REFERENCE = ("Safran and Shamir, Spurious local minima are common in two-layer ReLU neural networks, "
             "ICML 2018, arXiv:1712.08968")
K_MIN, K_MAX = 6, 20


def safran_problem(k: int, n: int) -> Problem:
    """The (k, n) teacher-student problem: input dimension k, teacher V = I_k, all output weights fixed to 1."""
    relu = make_activation("relu")
    net = Network.make((k, n, 1), relu, bias=False, trainable=[True, False])
    teacher = Network.make((k, k, 1), relu, bias=False)
    eye = [[int(i == j) for j in range(k)] for i in range(k)]
    return Problem(net, GaussianData(teacher, Point.from_arrays([eye, [[1] * k]], [None, None])), Loss())


def _layout(k: int, n: int):
    """(names, index): index[j][i] = which reduced variable sits at W[j, i] (neuron j, coordinate i)."""
    if n == k:
        names = ["a", "b", "c", "d", "e"]
        idx = [[0 if i == 0 else 2 for i in range(k)]]
        idx += [[1 if i == 0 else 3 if i == j else 4 for i in range(k)] for j in range(1, k)]
    else:
        names = ["a1", "b1", "a2", "b2", "c", "d", "e"]
        f = k - 1
        idx = [[5 if i == j else 4 if i == f else 6 for i in range(k)] for j in range(k - 1)]
        idx += [[0 if i == f else 1 for i in range(k)], [2 if i == f else 3 for i in range(k)]]
    return names, idx


def _guess(k: int, n: int) -> np.ndarray:
    """Starting point of the reduced Newton iteration, scaled like the minima (entries ~ 1/k, e ~ 1/k^2)."""
    if n == k:
        return np.array([-0.7, 1.85 / k, 1.3 / k, 1.0, -1.6 / k**2])
    return np.array([-0.55, 0.58 / k, -0.185, 1.0 / k, 1.85 / k, 0.99, -1.8 / k**2])


def _expand(idx, p):
    return [[p[t] for t in row] for row in idx]


def _reduced(problem, idx, M, p, order=2):
    """Loss, reduced gradient M^T g and reduced Hessian M^T H M at p (float64 closed forms, numpy)."""
    from ..arithmetic.population import population_numpy

    k = len(idx[0])
    W = np.array(_expand(idx, p))
    loss, g, H = population_numpy(W, np.ones((1, len(idx))), np.eye(k), np.ones((1, k)))
    return loss if order == 0 else (loss, M.T @ g, M.T @ H @ M)


def _ball_gradient(problem, idx, M, p):
    """M^T grad at the float64 point, from 128-bit balls (midpoints): accurate far below float64 resolution."""
    from ..arithmetic import evaluate_ball

    ev = evaluate_ball(problem, _point(problem, idx, p), order=1)
    if ev.gradient is None:
        raise InternalError(f"safran-shamir: Newton reached a non-smooth point ({ev.kinks})")
    return M.T @ np.array([float(x.mid()) for x in ev.gradient])


def _reduced_newton(problem, idx, M, p, iters=60, polish=2):
    """Damped saddle-free Newton on p -> loss(M p) with backtracking, then ``polish`` plain Newton steps.

    The polishing steps take the gradient from 128-bit balls, so the float64 point ends as close to the critical
    point as float64 allows.
    """
    for _ in range(iters):
        f0, g, H = _reduced(problem, idx, M, p)
        if np.linalg.norm(g) < 1e-12:
            break
        evals, evecs = np.linalg.eigh(H)
        step = -(evecs @ ((evecs.T @ g) / np.maximum(np.abs(evals), 1e-6)))
        t = 1.0
        while t > 1e-10 and _reduced(problem, idx, M, p + t * step, order=0) > f0 + 1e-4 * t * float(g @ step):
            t /= 2
        if t <= 1e-10:
            break
        p = p + t * step
    for _ in range(polish):
        H = _reduced(problem, idx, M, p)[2]
        p = p - np.linalg.solve(H, _ball_gradient(problem, idx, M, p))
    return p


def _point(problem, idx, p):
    return Point.from_arrays([_expand(idx, [float(x) for x in p]), [[1] * len(idx)]], [None, None])


def reduced_values(k: int, n: int | None = None):
    """(names, values, problem, idx) of the ``which=0`` critical point for (k, n) (float64 values)."""
    n = k if n is None else n
    problem = safran_problem(k, n)
    names, idx = _layout(k, n)
    M = np.zeros((n * k, len(names)))
    for j, row in enumerate(idx):
        for i, t in enumerate(row):
            M[j * k + i, t] = 1.0
    p = _reduced_newton(problem, idx, M, _guess(k, n), polish=0)
    if n == k + 1 and p[0] > p[2]:  # name the two bad neurons canonically: a1 < a2 (a neuron permutation)
        p = p[[2, 3, 0, 1, 4, 5, 6]]
    p = _reduced_newton(problem, idx, M, p, iters=0, polish=2)
    return names, p, problem, idx


def _check_range(k, n, which):
    k = int_param(k, "k", K_MIN, K_MAX)  # paper: spurious minima for k >= 6; it studies k <= 20
    n = k if n is None else int_param(n, "n", k, k + 1)  # the paper's grid n = k..k+2 has minima only for n <= k+1
    if n == k + 1 and k < 7:
        raise InputError("n: n = k + 1 needs k >= 7 (for k = 6 the symmetric point is a saddle)")
    which = int_param(which, "which", 0, 0)  # the symmetric family only
    return k, n, which


def safran_shamir(*, k=None, n=None, which=0, seed=0, widths=None, activation="relu") -> Candidate:
    """The symmetric Safran-Shamir spurious minimum for k teacher and n student neurons (n = k or k + 1).

    ``seed`` is accepted (and checked) for the common construction interface; the construction is deterministic.
    """
    from . import architecture

    set_by_widths = architecture("safran-shamir", widths, activation)  # widths k,n,1; relu only
    k, n = set_by_widths.get("k", k), set_by_widths.get("n", n)
    if k is None:
        raise InputError("safran-shamir: give k (or widths k,n,1)")
    k, n, which = _check_range(k, n, which)
    seed_of(seed)
    from ..arithmetic import evaluate_ball

    names, p, problem, idx = reduced_values(k, n)
    point = _point(problem, idx, p)
    ev = evaluate_ball(problem, point, order=2)  # midpoints as evidence (fast: closed-form blocks)
    if ev.hessian is None:
        raise InternalError(f"safran-shamir k={k} n={n}: the point is not smooth ({ev.kinks})")
    loss, g = float(ev.loss.mid()), np.array([float(x.mid()) for x in ev.gradient])
    H = np.array([[float(x.mid()) for x in row] for row in ev.hessian.tolist()])
    lam = float(np.linalg.eigvalsh((H + H.T) / 2)[0])
    if not (lam > 0 and np.linalg.norm(g) < 1e-10 and loss > 1e-3):
        raise InternalError(f"safran-shamir k={k} n={n}: Newton did not reach the spurious minimum "
                            f"(loss {loss:.3g}, gradient {np.linalg.norm(g):.3g}, lambda_min {lam:.3g})")
    witness = Point.from_arrays([[[int(i == j) for i in range(k)] for j in range(k)] + [[0] * k] * (n - k),
                                 [[1] * n]], [None, None])
    meta = {
        "construction": "safran-shamir",
        "reference": REFERENCE,
        "params": {"k": k, "n": n, "which": which},
        "notes": (f"structure {'S_1 x S_{k-1} single failure' if n == k else 'one extra neuron (7 values)'}: "
                  + ", ".join(f"{a} = {float(x):.12g}" for a, x in zip(names, p))
                  + f"; float loss {loss:.12g} (E (f-g)^2; the paper's F = {loss / 2:.12g}), "
                  f"float lambda_min {lam:.6g} (paper's convention {lam / 2:.6g}); witness: the teacher (extra "
                  "neurons 0), loss 0"),
    }
    return Candidate(problem, point, witness=witness, meta=meta)


# Safran's published k = n = 7 minimum (README of ItaySafran/Overparameterization, 10 digits; constructions.md 4.3)
PUBLISHED_K7 = {"a": -0.6327039049, "b": 0.2616910758, "c": 0.1859910463, "d": 0.9969227988, "e": -0.0350801559}


def reproduce(candidate=None, *, verify=None):
    """Rows (quantity, published value, ours) for the k = n = 7 minimum: the five printed entries, and the loss in
    both conventions (the paper's F = loss / 2; F itself is our recomputation, the table could not be read).
    ``verify`` is not needed (ball evaluations)."""
    from ..arithmetic import evaluate_ball

    if candidate is None:
        candidate = safran_shamir(k=7)
    k = candidate.meta["params"]["k"]
    if k != 7 or candidate.meta["params"]["n"] != 7:
        raise InputError("reproduce: the published entries are for k = n = 7")
    W = candidate.point.layers[0].W
    ours = {"a": W[0][0], "b": W[1][0], "c": W[0][1], "d": W[1][1], "e": W[1][2]}
    rows = [(f"W entry {name} (Safran's README, 10 digits)", PUBLISHED_K7[name], float(ours[name]))
            for name in PUBLISHED_K7]
    loss = evaluate_ball(candidate.problem, candidate.point, order=0).loss
    rows += [("loss E (f - g)^2 (ours; not published)", None, float(loss.mid())),
             ("F = E (f - g)^2 / 2 (the paper's convention; not published for k = 7)", None, float(loss.mid()) / 2)]
    return rows


FAMILY = dict(
    name="safran-shamir",
    reference=REFERENCE,
    activations="relu",
    architectures="k-n-1 ReLU without biases, output layer fixed to ones (trainable [true, false]); Gaussian "
                  "inputs N(0, I_k); teacher k-k-1 with V = I_k",
    strict="yes (no continuous symmetry: the output layer is fixed)",
    summary="the symmetric spurious minima of Safran-Shamir (one failed neuron for n = k; seven distinct entries "
            "for n = k + 1), Newton on the reduced symmetric variables; witness: the teacher (loss 0)",
    params=(Param("widths", None, "k,n,1 (sets k and n)", "architecture", kind="widths",
                  shape=Shape(input=(K_MIN, K_MAX), hidden=(K_MIN, K_MAX + 1))),
            Param("activation", "relu", "relu", "hidden activation (fixed)", kind="activation", choices=("relu",)),
            Param("k", 7, f"{K_MIN} <= k <= {K_MAX}", "teacher neurons = input dimension", kind="int", min=K_MIN,
                  max=K_MAX, from_widths=0),
            Param("n", None, "n = k or n = k + 1 (k >= 7)", "student neurons (default k)", kind="int", min="k",
                  max="k + 1", from_widths=1),
            Param("which", 0, "0", "the symmetric family", kind="int", min=0, max=0),
            Param("seed", 0, ">= 0", "unused (deterministic construction)", kind="int", min=0)),
    fixed_parameters="no biases; output weights fixed to 1",
    function=safran_shamir,
    reproduce=reproduce,
)
