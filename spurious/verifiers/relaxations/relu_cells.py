"""Exact activation patterns and an exact dual certificate for ReLU layers with lifted inputs of dimension <= 3.

Patterns: the full-dimensional cells of the central arrangement {v : x~_k . v = 0} in R^D (D = d + bias <= 3).
Every such cell has, in its closure, a ray v0 where two hyperplanes meet (D = 3), and near v0 it is a cell of the
planar arrangement of the hyperplanes through v0, which in turn touches a ray v1 of one of them; so the sign vector
of v0 + eps v1 + eps^2 v2 (first nonzero of x.v0, x.v1, x.v2 - a symbolic perturbation, exact) over all such
flags enumerates every cell. D = 2 uses v0 = +-perp(x_k), v1 = +-x_k.

Dual certificate (weak duality for the Pilanci-Ergen program, see relu_weight_decay): for every cell D with cone
K = {v : A v >= 0}, A = diag(2D - 1) X~, and both signs s, a multiplier mu >= 0 with w = s X~^T D z + A^T mu,
w_bias = 0 and ||w_E|| <= rho gives s z.(X~ v)_+ <= rho ||E v|| on K (since mu^T A v >= 0). mu comes from one
batched SOCP, is rounded, its bias equation is repaired exactly, and rho is a rational upper bound of ||w_E||.
"""

from __future__ import annotations

import warnings

import numpy as np
from flint import fmpq

from ...rationals import fmpq_to_float
from ...roundoff import sqrt_upper
from .rigor import rationalize

__all__ = ["cells", "dual_norm_certificate"]


def _dot(a, b):
    return sum((x * y for x, y in zip(a, b)), fmpq(0))


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _sign_pattern(xs, flag):
    """0/1 pattern of 1[x . v >= 0] for v = v0 + eps v1 + eps^2 v2, eps -> 0+ (lexicographic signs)."""
    out = []
    for x in xs:
        s = 0
        for v in flag:
            t = _dot(x, v)
            if t != 0:
                s = 1 if t > 0 else -1
                break
        out.append(1 if s >= 0 else 0)
    return tuple(out)


def cells(xs):
    """All full-dimensional cell patterns (0/1 tuples) of the central arrangement of the rows xs (dimension <= 3)."""
    D = len(xs[0])
    nz = [x for x in xs if any(c != 0 for c in x)]
    out = set()
    if not nz:
        return [tuple([1] * len(xs))]
    if D == 1:
        flags = [[[fmpq(1)]], [[fmpq(-1)]]]
    elif D == 2:
        flags = [[[s * -x[1], s * x[0]], [t * x[0], t * x[1]]] for x in nz for s in (1, -1) for t in (1, -1)]
    elif D == 3:
        flags = []
        for i, a in enumerate(nz):
            for b in nz[i + 1:]:
                v0 = _cross(a, b)
                if all(c == 0 for c in v0):
                    continue
                on = [x for x in nz if _dot(x, v0) == 0]
                for s0 in (1, -1):
                    w0 = [s0 * c for c in v0]
                    for x in on:
                        v1 = _cross(v0, x)
                        for s1 in (1, -1):
                            for s2 in (1, -1):
                                flags.append([w0, [s1 * c for c in v1], [s2 * c for c in x]])
        if not flags:  # all rows parallel: two half-spaces
            x = nz[0]
            flags = [[[c for c in x]], [[-c for c in x]]]
    else:
        raise ValueError("exact cell enumeration is implemented for dimension <= 3")
    for f in flags:
        out.add(_sign_pattern(xs, f))
    return sorted(out)


def dual_norm_certificate(Xt, z, pats, bias, d, solver=None):
    """A rational rho >= max over the cells and (u,b) with ||u|| <= 1 of |z . (X~ v)_+|, or None on failure.

    Requires sum z = 0 when ``bias`` (the caller projects). Exact check of every inequality used.
    """
    import cvxpy as cp

    n, D = len(Xt), len(Xt[0])
    Xf = np.array([[fmpq_to_float(v) for v in r] for r in Xt])
    zf = np.array([fmpq_to_float(v) for v in z])
    jobs = [(p, s) for p in pats for s in (1, -1)]
    Dm = np.array([p for p, _ in jobs], dtype=float)  # J x n
    sg = np.array([s for _, s in jobs], dtype=float)[:, None]
    G = sg * ((Dm * zf) @ Xf)  # rows s X~^T D z
    mu = cp.Variable((len(jobs), n), nonneg=True)
    rho = cp.Variable()
    Wv = G + cp.multiply(2 * Dm - 1, mu) @ Xf  # rows w = s X~^T D z + A^T mu
    cons = [cp.norm(Wv[:, :d], 2, axis=1) <= rho]
    if bias:
        cons.append(cp.abs(Wv[:, d]) <= 1e-9)  # repaired exactly below; an equality can be infeasible in floats
    with warnings.catch_warnings():  # an inaccurate multiplier only costs tightness: every inequality is rechecked
        warnings.simplefilter("ignore")
        cp.Problem(cp.Minimize(rho), cons).solve(solver=(solver or "CLARABEL").upper())
    if mu.value is None:
        return None
    worst = fmpq(0)
    for t, (p, s) in enumerate(jobs):
        m = [max(fmpq(0), rationalize(float(v), 50)) for v in mu.value[t]]
        sgn = [2 * k - 1 for k in p]
        w = [s * sum((Xt[k][j] * z[k] for k in range(n) if p[k]), fmpq(0))
             + sum((m[k] * sgn[k] * Xt[k][j] for k in range(n)), fmpq(0)) for j in range(D)]
        if bias and w[d] != 0:
            need = -w[d]  # change mu_k by delta_k with sum sgn_k delta_k = need, keeping mu >= 0
            k = next((k for k in range(n) if sgn[k] * need > 0), None)
            if k is not None:
                deltas = {k: need / sgn[k]}
            else:  # only decreases help: take mass off mu_k with sgn_k * need < 0, greedily
                deltas, left = {}, abs(need)
                for k in range(n):
                    if sgn[k] * need < 0 and m[k] > 0 and left > 0:
                        deltas[k] = -min(m[k], left)
                        left += deltas[k]
                if left > 0:
                    return None
            for k, delta in deltas.items():
                m[k] += delta
                w = [w[j] + delta * sgn[k] * Xt[k][j] for j in range(D)]
            if w[d] != 0 or any(v < 0 for v in m):
                return None
        sq = sum((w[j] * w[j] for j in range(d)), fmpq(0))
        worst = max(worst, sq)
    return sqrt_upper(worst)
