"""Strict non-global local minima of narrow smooth networks (width below the number of samples).

Li, Ding, Sun, "On the benefit of width for neural networks: disappearance of basins", SIAM J. Optim. 32 (2022)
(arXiv:1812.11039): with the last hidden layer at least as wide as the number of samples N, no sub-optimal basin
(set-wise strict local minimum) exists for any continuous activation; below that threshold they construct strict
non-global local minima. Their construction (data, weights, activation class) could not be read
(shared/research/seed-extras.md 1). So this family does NOT reproduce their example: it derives strict minima
below the threshold by seeded search, and the proof is the interval path's (strong convexity on a ball; smooth
activations have only discrete symmetries, so strictness is plain).

Procedure (ours): seeded rational data (n samples on a grid in [-2, 2]^d, labels in [-2, 2]), network d-m-1 with
m < n; BFGS from seeded random starts (float64, evidence only); distinct end points whose float Hessian is
positive definite and whose weights are moderate (no saturation "minima at infinity"); the candidate is the
``rank``-th lowest such point above the lowest end point, rounded to float64 (stored exactly); the witness is the best point
found. The verifier, not this module, decides whether it is a strict local minimum and whether the witness is lower.
"""

from __future__ import annotations


import numpy as np
from flint import fmpq

from ..candidate import Candidate
from ..errors import InputError, InternalError
from ..network import Network, Point
from ..problem import FiniteData, Loss, Problem
from . import Param, Shape
from .common import activation_of, int_param, seed_of

__all__ = ["narrow_strict", "FAMILY", "REFERENCE", "numpy_activation", "float_minima", "teacher_data"]

REFERENCE = ("Li, Ding, Sun, On the benefit of width for neural networks: disappearance of basins, SIAM J. Optim. "
             "32 (2022), arXiv:1812.11039 (negative result; their construction not read: ours by search)")
SMOOTH = ("sigmoid", "tanh", "softplus", "erf", "gelu", "swish")


def numpy_activation(name):
    """(sigma, sigma') on numpy arrays (float evidence only)."""
    from scipy.special import erf

    sig = lambda z: 0.5 * (1 + np.tanh(z / 2))  # noqa: E731  (overflow-free logistic)
    phi = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    Phi = lambda z: 0.5 * (1 + erf(z / np.sqrt(2)))  # noqa: E731
    table = {
        "sigmoid": (sig, lambda z: sig(z) * (1 - sig(z))),
        "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
        "softplus": (lambda z: np.logaddexp(0, z), sig),
        "erf": (erf, lambda z: 2 / np.sqrt(np.pi) * np.exp(-z * z)),
        "gelu": (lambda z: z * Phi(z), lambda z: Phi(z) + z * phi(z)),
        "swish": (lambda z: z * sig(z), lambda z: sig(z) + z * sig(z) * (1 - sig(z))),
    }
    return table[name]


class _Net:
    """Loss and analytic gradient of f(x) = u . sigma(W x + b) + c, mean squared loss (numpy)."""

    def __init__(self, act, X, Y, m):
        self.s, self.ds = numpy_activation(act)
        self.X, self.Y, self.m = X, Y, m
        self.n, self.d = X.shape

    def point(self, th):
        """The float parameter vector ``th`` as a :class:`Point` (exact binary64 values)."""
        W, b, u, c = self.unpack(th)
        return Point.from_arrays([W.tolist(), [u.tolist()]], [b.tolist(), [float(c)]])

    def unpack(self, th):
        m, d = self.m, self.d
        W = th[:m * d].reshape(m, d)
        b = th[m * d:m * d + m]
        u = th[m * d + m:m * d + 2 * m]
        return W, b, u, th[-1]

    def loss_grad(self, th):
        W, b, u, c = self.unpack(th)
        Z = self.X @ W.T + b
        Hh = self.s(Z)
        r = Hh @ u + c - self.Y
        g = 2 * r / self.n
        dZ = np.outer(g, u) * self.ds(Z)
        grad = np.concatenate([(dZ.T @ self.X).ravel(), dZ.sum(0), Hh.T @ g, [g.sum()]])
        return float(np.mean(r * r)), grad

    def hessian(self, th, h=1e-6):
        P = len(th)
        H = np.zeros((P, P))
        for i in range(P):
            e = np.zeros(P)
            e[i] = h
            H[:, i] = (self.loss_grad(th + e)[1] - self.loss_grad(th - e)[1]) / (2 * h)
        return (H + H.T) / 2


def teacher_data(d, n, seed, m):
    """Distinct rational inputs in [-2, 2]^d (a grid for d = 1) and labels from a seeded wider tanh teacher."""
    rng = np.random.default_rng([seed, 3])
    if d == 1:
        X = tuple((fmpq(4 * i, n - 1) - 2,) for i in range(n))
    else:
        pts = set()
        while len(pts) < n:
            pts.add(tuple(fmpq(int(v), 4) for v in rng.integers(-8, 9, d)))
        X = tuple(sorted(pts))
    Xf = np.array([[float(v) for v in x] for x in X])
    W, b, u = rng.normal(0, 2, (m + 3, d)), rng.normal(0, 1, m + 3), rng.normal(0, 1.5, m + 3)
    Y = tuple((fmpq(int(round(8 * v)), 8),) for v in np.tanh(Xf @ W.T + b) @ u)
    return X, Y


# weights beyond this are "minima at infinity" (saturated units); sigmoid(z) = (1 + tanh(z/2))/2 and its relatives
# (softplus, swish) need twice the scale of tanh for the same shape (measured: a finite sigmoid 2-2-1 minimum at 12.8)
MAX_NORM = {"sigmoid": 24.0, "softplus": 24.0, "swish": 24.0}


def float_minima(act, X, Y, m, starts, seed, max_norm=None):
    """Float search: (finite strict minima [(loss, theta)] sorted by loss, lowest end point (loss, theta), net).

    A finite strict minimum: gradient norm <= 1e-9 after Newton polish, float Hessian PD, |theta| <= max_norm.
    The lowest end point may lie far out (saturated units): it only serves as a witness.
    """
    from scipy.optimize import minimize

    max_norm = MAX_NORM.get(act, 12.0) if max_norm is None else max_norm
    Xf = np.array([[float(v) for v in x] for x in X])
    Yf = np.array([float(y[0]) for y in Y])
    net = _Net(act, Xf, Yf, m)
    rng = np.random.default_rng([seed, 7])
    P = m * Xf.shape[1] + 2 * m + 1
    found, lowest = [], None
    for _ in range(starts):
        res = minimize(net.loss_grad, rng.normal(0, 1.5, P), jac=True, method="BFGS",
                       options={"gtol": 1e-11, "maxiter": 3000})
        th = res.x
        if lowest is None or res.fun < lowest[0]:
            lowest = (float(res.fun), th)
        if np.max(np.abs(th)) > max_norm:
            continue
        for _ in range(6):  # Newton polish
            try:
                th = th - np.linalg.solve(net.hessian(th), net.loss_grad(th)[1])
            except np.linalg.LinAlgError:
                break
        loss, g = net.loss_grad(th)
        if not np.all(np.isfinite(th)) or np.linalg.norm(g) > 1e-9 or np.max(np.abs(th)) > max_norm:
            continue
        ev = np.linalg.eigvalsh(net.hessian(th))
        if ev[0] < 1e-7 * max(1.0, ev[-1]):  # flat sigmoid minima reach 3e-6 (the interval path decides)
            continue
        if all(abs(loss - f[0]) > 1e-7 for f in found):
            found.append((loss, th))
    found.sort(key=lambda f: f[0])
    return found, lowest, net


MAX_PARAMS = 13  # m (d + 2) + 1 <= 13: the range over which the defaults are tested (tests/test_family_ranges.py)


def default_samples(d, m):
    """n for a d-m-1 network: 8 for the smallest (P <= 7 parameters), else 3P (at most 39 in the range).

    With few samples per parameter, the float minima below the threshold are almost all global or at infinity
    (tanh saturation); 3 samples per parameter made strict spurious minima appear for every architecture of the
    range (measured: 1-3-1, 2-2-1, 2-3-1, 3-2-1, 1-4-1, 4-2-1 with 30 starts, seed 1)."""
    P = m * (d + 2) + 1
    return 8 if P <= 7 else min(40, 3 * P)


def narrow_strict(*, activation="tanh", widths=(1, 2, 1), n=None, seed=1, starts=30, rank=1):
    """A (numerically found, verifier-certified) strict non-global local minimum below the width threshold m < n."""
    act = activation_of(activation, "tanh")
    if act.name not in SMOOTH:
        raise InputError(f"narrow-strict: activation must be smooth ({', '.join(SMOOTH)}), got {act.name}")
    widths = tuple(int(w) for w in (widths.split(",") if isinstance(widths, str) else widths))
    if len(widths) != 3 or widths[2] != 1:
        raise InputError(f"narrow-strict: widths must be d,m,1 (one hidden layer, scalar output), got {widths}")
    d, m = widths[0], widths[1]
    int_param(d, "d", 1, 4)
    int_param(m, "m", 1, 8)
    if m * (d + 2) + 1 > MAX_PARAMS:
        raise InputError(f"narrow-strict: widths {d},{m},1 have {m * (d + 2) + 1} parameters; the family covers "
                         f"m (d + 2) + 1 <= {MAX_PARAMS} (e.g. 1,4,1, 2,3,1, 3,2,1, 4,2,1)")
    n = int_param(default_samples(d, m) if n is None else n, "n", 2, 40)
    if not m < n:
        raise InputError(f"narrow-strict: width m < n (below the Li-Ding-Sun threshold N = n) fails: m = {m}, n = {n}")
    seed = seed_of(seed)
    starts = int_param(starts, "starts", 2, 400)
    rank = int_param(rank, "rank", 1, 50)
    X, Y = teacher_data(d, n, seed, m)
    found, lowest, fnet = float_minima(act.name, X, Y, m, starts, seed)
    spurious = [f for f in found if f[0] > lowest[0] + 1e-6 * (1 + lowest[0])]
    if len(spurious) < rank:
        more = min(40, max(n + 8, 3 * (m * (d + 2) + 1)))
        hint = (f"use more samples (--param n={more}: with few samples per parameter the minima are global or "
                f"at infinity), then more starts (--param starts={min(400, 2 * starts)})" if n < 40 else
                f"use more starts (--param starts={min(400, 2 * starts)}) or another seed")
        raise InternalError(f"narrow-strict: {len(spurious)} finite strict float minima above the lowest point "
                            f"found with n = {n} samples and {starts} starts (need rank = {rank}); {hint}")
    loss, th = spurious[rank - 1]
    best_loss, best = lowest
    net = Network.make((d, m, 1), act)
    problem = Problem(net, FiniteData(X, Y), Loss())
    meta = {"construction": "narrow-strict", "reference": REFERENCE,
            "params": {"activation": act.name, "widths": list(widths), "n": n, "seed": seed, "starts": starts,
                       "rank": rank},
            "notes": (f"seeded search (ours; the paper's construction was not read): spurious minimum {rank} of "
                      f"{len(spurious)} found, float loss {loss:.10g}; witness: best found "
                      f"({best_loss:.10g}); width m = {m} < n = {n}")}
    return Candidate(problem, fnet.point(th), fnet.point(best), meta)


FAMILY = dict(
    name="narrow-strict",
    reference=REFERENCE,
    activations="sigmoid, tanh, softplus, erf, gelu, swish",
    architectures="d-m-1 with biases, m (d + 2) + 1 <= 13 parameters, m < n (below the Li-Ding-Sun threshold: "
                  "last hidden width < samples)",
    strict="yes (strict; interval path)",
    summary="seeded search for strict non-global minima below the width threshold (Li-Ding-Sun's own example "
            "not read); witness: best point found",
    params=(Param("activation", "tanh", "smooth", "hidden activation", kind="activation", choices=("smooth",)),
            Param("widths", (1, 2, 1), "d,m,1 with m (d + 2) + 1 <= 13 (1-4-1, 2-3-1, 3-2-1, 4-2-1), m < n",
                  "architecture", kind="widths", shape=Shape(max_params=13)),
            Param("n", None, "2 <= n <= 40, n > m; default 8 for 1-2-1, else 3 x parameters", "samples", kind="int",
                  min="m + 1", max=40),
            Param("seed", 1, ">= 0", "data and starts", kind="int", min=0),
            Param("starts", 30, "2 <= starts <= 400", "BFGS starts", kind="int", min=2, max=400),
            Param("rank", 1, ">= 1", "which minimum above the best one", kind="int", min=1)),
    function=narrow_strict,
)
