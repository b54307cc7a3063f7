"""Rigorous post-processing: exact eigenvalue facts of rational matrices, and repair of approximate dual solutions.

Floating-point solver output is evidence; these helpers turn it into proofs:

* :func:`min_eig_lower` returns a *verified* rational lower bound on the smallest eigenvalue
  (a float estimate minus a margin, confirmed by the exact PD test :func:`spurious.linalg.is_positive_definite` of
  S - s I; Gershgorin as the fallback). This is
  the "verified lambda_min" step of Jansson, Chaykin & Keil (SIAM J. Numer. Anal. 2007).
* :func:`eigen_sum_top` encloses the sum of the r largest eigenvalues of a rational matrix with real spectrum:
  exact characteristic polynomial, factorisation over Q, certified root isolation (Arb). When the top-r set is a
  union of whole irreducible factors the sum is rational (minus the subleading coefficient) and returned exactly.
* :func:`rationalize` rounds floats to short dyadic rationals (a solver's answer as an exact starting point) and
  :func:`best_scale` maximises a concave quadratic dual objective along a ray exactly.
"""

from __future__ import annotations

import numpy as np
from flint import arb, ctx, fmpq, fmpq_mat, fmpq_poly

from ...linalg import is_positive_definite
from ...rationals import fmpq_to_float, to_fmpq
from ...arithmetic.balls import ball_bounds

__all__ = ["min_eig_lower", "eigen_sum_top", "real_roots", "rationalize", "best_scale", "as_float",
           "mat"]


def mat(rows) -> fmpq_mat:
    rows = [list(r) for r in rows]
    if not rows:
        return fmpq_mat(0, 0)
    return fmpq_mat(len(rows), len(rows[0]), [to_fmpq(x) for r in rows for x in r])


def as_float(M: fmpq_mat) -> np.ndarray:
    return np.array([[fmpq_to_float(M[i, j]) for j in range(M.ncols())] for i in range(M.nrows())],
                    dtype=np.float64).reshape(M.nrows(), M.ncols())


def gershgorin_lower(S: fmpq_mat) -> fmpq:
    n = S.nrows()
    return min(S[i, i] - sum((abs(S[i, j]) for j in range(n) if j != i), fmpq(0)) for i in range(n))


def min_eig_lower(S: fmpq_mat) -> fmpq:
    """A rational s with s <= lambda_min(S), S symmetric rational: float guess, confirmed exactly; else Gershgorin."""
    n = S.nrows()
    if n == 0:
        return fmpq(0)
    F = as_float(S)
    est = float(np.linalg.eigvalsh((F + F.T) / 2)[0])
    scale = max(1.0, float(np.abs(F).max()))
    for rel in (1e-12, 1e-9, 1e-6, 1e-3, 1e-1):
        s = rationalize(est - rel * scale * n, bits=60)
        if is_positive_definite(S - s * _eye(n)):
            return s
    return gershgorin_lower(S)


def _eye(n):
    M = fmpq_mat(n, n)
    for i in range(n):
        M[i, i] = 1
    return M


def real_roots(poly: fmpq_poly, prec: int = 64):
    """[(arb enclosure, multiplicity)] of the roots of a polynomial known to have only real roots, isolated.

    Raises ValueError if a root cannot be certified real (then the caller's premise was wrong: a bug).
    """
    out = []
    old = ctx.prec
    try:
        ctx.prec = prec
        for z, m in poly.complex_roots():
            if not z.imag.contains(0):
                raise ValueError("polynomial has a non-real root")
            out.append((z.real, m))
    finally:
        ctx.prec = old
    return out


def _separated(balls):
    s = sorted(balls, key=lambda b: float(b.mid()))
    return all(s[i] < s[i + 1] for i in range(len(s) - 1))


def eigen_sum_top(M: fmpq_mat, r: int, prec: int = 64):
    """Enclose the sum of the r largest eigenvalues (with multiplicity) of a rational matrix with real spectrum.

    Returns (lo, hi, exact): exact rational bounds lo <= sum <= hi, and the exact sum (lo == hi) when it is rational
    by the factor argument, else None. Also returns, as a fourth item, whether the r-th and (r+1)-th largest
    eigenvalues are certified distinct (the top-r eigenspace is then unique).
    """
    n = M.nrows()
    if r >= n:
        t = sum((M[i, i] for i in range(n)), fmpq(0))
        return t, t, t, True
    if r <= 0:
        return fmpq(0), fmpq(0), fmpq(0), True
    _, factors = M.charpoly().factor()
    while True:
        roots = []  # (ball, multiplicity, factor index)
        for fi, (f, e) in enumerate(factors):
            for z, m in real_roots(f, prec):
                roots.append((z, m * e, fi))
        if _separated([z for z, _, _ in roots]) or prec > 4096:
            break
        prec *= 2
    roots.sort(key=lambda t: -float(t[0].mid()))
    if not _separated([z for z, _, _ in roots]):
        raise ValueError("could not isolate the eigenvalues")
    taken, left, total = {}, r, arb(0)
    gap = True
    for z, m, fi in roots:
        if left <= 0:
            break
        k = min(m, left)
        if k < m:
            gap = False
        taken[fi] = taken.get(fi, 0) + k
        total += k * z
        left -= k
    exact = fmpq(0)
    for fi, k in taken.items():
        f, e = factors[fi]
        deg = f.degree()
        c = f.coeffs()
        if deg == 1:
            exact += k * (-c[0] / c[1])
        elif k == deg * e:
            exact += e * (-c[deg - 1] / c[deg])
        else:
            exact = None
            break
    if exact is not None:
        return exact, exact, exact, gap
    lo, hi = ball_bounds(total)
    return lo, hi, None, gap


def rationalize(x: float, bits: int = 40) -> fmpq:
    """A dyadic rational within 2^-bits (relative, for |x| >= 1) of the float x: short exact starting points."""
    if x == 0 or not np.isfinite(x):
        return fmpq(0)
    e = int(np.floor(np.log2(abs(x))))
    k = max(bits - e, 0)
    return fmpq(int(round(x * 2.0 ** k)), 2 ** k) if k < 1000 else fmpq(0)


def best_scale(a: fmpq, b: fmpq, tmax: fmpq) -> fmpq:
    """argmax over t in [0, tmax] of a t - b t^2 (b >= 0), exactly: scales a feasible dual ray to its best point."""
    if b > 0:
        t = a / (2 * b)
        return max(fmpq(0), min(t, tmax))
    return tmax if a > 0 else fmpq(0)
