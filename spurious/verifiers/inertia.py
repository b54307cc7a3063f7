"""Exact inertia of a symmetric rational matrix, with an exact direction of negative curvature.

Two independent methods (cross-checked in tests/test_inertia.py):

* :func:`charpoly_inertia`: p(x) = det(xI - H) = x^m q(x) with q(0) != 0. H is symmetric, so every root of q is
  real and Descartes' rule of signs is exact for it: the number of sign changes of q's coefficients is the number of
  positive eigenvalues, that of q(-x) the number of negative ones, and m is the nullity.
* :func:`ldl_inertia`: symmetric Gaussian elimination (S H S^T = D block diagonal, 1x1 and [[0, a], [a, 0]]
  pivots, Bunch-Parlett style); Sylvester's law of inertia gives inertia(H) = inertia(D). The elimination keeps the
  rows of S, so a negative pivot yields d with d^T H d < 0 exactly.

See ../shared/research/verification.md, section 1.4, and DESIGN.md "What a certificate is", step 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import fmpq, fmpq_mat, fmpq_poly

from ..errors import InternalError

__all__ = ["Inertia", "inertia", "charpoly_inertia", "ldl_inertia", "nullspace", "quad_form",
           "negative_direction", "min_positive_eigenvalue_bound", "to_mat", "rank"]


@dataclass(frozen=True)
class Inertia:
    n_pos: int
    n_neg: int
    n_zero: int
    direction: tuple | None = None   # exact d with d^T H d < 0 when n_neg > 0 (and one was asked for)
    charpoly: object = None          # fmpq_poly det(xI - H) when computed


def to_mat(rows) -> fmpq_mat:
    """fmpq_mat from a list of rows (a 0-row list gives a 0 x 0 matrix)."""
    if not rows:
        return fmpq_mat(0, 0)
    return fmpq_mat([list(r) for r in rows])


def rank(rows_or_mat) -> int:
    M = rows_or_mat if isinstance(rows_or_mat, fmpq_mat) else to_mat(rows_or_mat)
    if M.nrows() == 0 or M.ncols() == 0:
        return 0
    return M.rank()


def quad_form(H: fmpq_mat, d) -> fmpq:
    """d^T H d, exactly."""
    n = H.nrows()
    v = fmpq_mat(n, 1, list(d))
    return (v.transpose() * H * v)[0, 0]


def _sign_changes(coeffs) -> int:
    signs = [1 if c > 0 else -1 for c in coeffs if c != 0]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)


def charpoly_inertia(H: fmpq_mat) -> Inertia:
    """(n_pos, n_neg, n_zero) from the characteristic polynomial (Descartes' rule, exact for real-rooted q)."""
    n = H.nrows()
    if n == 0:
        return Inertia(0, 0, 0, charpoly=fmpq_poly([1]))
    p = H.charpoly()
    c = [fmpq(x) for x in p.coeffs()]
    m = 0
    while m < len(c) and c[m] == 0:
        m += 1
    q = c[m:]
    pos = _sign_changes(q)
    neg = _sign_changes([x if k % 2 == 0 else -x for k, x in enumerate(q)])
    if pos + neg + m != n:
        raise InternalError(f"charpoly inertia: {pos} + {neg} + {m} != {n} (matrix not symmetric?)")
    return Inertia(pos, neg, m, charpoly=p)


def ldl_inertia(H: fmpq_mat, want_direction: bool = True) -> Inertia:
    """Inertia by exact symmetric elimination with symmetric pivoting; optionally an exact negative direction."""
    n = H.nrows()
    A = [[H[i, j] for j in range(n)] for i in range(n)]
    S = [[fmpq(1) if i == j else fmpq(0) for j in range(n)] for i in range(n)] if want_direction else None
    live = list(range(n))
    pos = neg = 0
    direction = None
    while live:
        diag = [i for i in live if A[i][i] != 0]
        if diag:
            p = next((i for i in diag if A[i][i] < 0), None) if direction is None and want_direction else None
            p = diag[0] if p is None else p
            a = A[p][p]
            if a > 0:
                pos += 1
            else:
                neg += 1
                if want_direction and direction is None:
                    direction = tuple(S[p])
            live.remove(p)
            for j in live:
                f = A[j][p] / a
                if f == 0:
                    continue
                Ap, Aj = A[p], A[j]
                for l in live:
                    if Ap[l] != 0:
                        Aj[l] -= f * Ap[l]
                if S is not None:
                    Sp, Sj = S[p], S[j]
                    for t in range(n):
                        if Sp[t] != 0:
                            Sj[t] -= f * Sp[t]
            continue
        pair = next(((p, q) for p in live for q in live if q > p and A[p][q] != 0), None)
        if pair is None:
            break  # the remaining Schur complement is zero
        p, q = pair
        a = A[p][q]
        pos += 1
        neg += 1
        if want_direction and direction is None:
            sgn = 1 if a > 0 else -1  # (s_p - sgn s_q)^T H (...) = -2 |a|
            direction = tuple(x - sgn * y for x, y in zip(S[p], S[q]))
        live.remove(p)
        live.remove(q)
        for j in live:
            fp, fq = A[j][q] / a, A[j][p] / a   # [A_jp, A_jq] B^-1 with B^-1 = [[0, 1/a], [1/a, 0]]
            if fp == 0 and fq == 0:
                continue
            Aj = A[j]
            for l in live:
                Aj[l] -= fp * A[p][l] + fq * A[q][l]
            if S is not None:
                for t in range(n):
                    S[j][t] -= fp * S[p][t] + fq * S[q][t]
    zero = n - pos - neg
    return Inertia(pos, neg, zero, direction=direction)


def negative_direction(H: fmpq_mat):
    """An exact d with d^T H d < 0, or None if H is positive semidefinite.

    First a rounded float eigenvector (cheap; checked exactly), then the exact LDL^T direction.
    """
    n = H.nrows()
    if n == 0:
        return None
    try:
        import numpy as np

        Hf = np.array([[float(H[i, j]) for j in range(n)] for i in range(n)], dtype=np.float64)
        if np.all(np.isfinite(Hf)):
            w, V = np.linalg.eigh(Hf)
            if w[0] < 0:
                v = V[:, 0] / np.max(np.abs(V[:, 0]))
                for bits in (8, 16, 30, 50):
                    d = [fmpq(int(round(x * 2**bits)), 2**bits) for x in v]
                    if quad_form(H, d) < 0:
                        return tuple(d)
    except (OverflowError, ValueError):
        pass
    inn = ldl_inertia(H, want_direction=True)
    if inn.direction is not None and quad_form(H, inn.direction) >= 0:
        raise InternalError("LDL direction does not have negative curvature")
    return inn.direction


def inertia(H: fmpq_mat, want_direction: bool = True) -> Inertia:
    """Exact inertia (charpoly / Descartes) and, when n_neg > 0, an exact direction d with d^T H d < 0."""
    inn = charpoly_inertia(H)
    if inn.n_neg and want_direction:
        d = negative_direction(H)
        if d is None or not quad_form(H, d) < 0:
            raise InternalError("charpoly reports a negative eigenvalue but no negative direction was found")
        return Inertia(inn.n_pos, inn.n_neg, inn.n_zero, direction=d, charpoly=inn.charpoly)
    return inn


def nullspace(M: fmpq_mat) -> list:
    """Exact basis (list of tuples) of {x : M x = 0}, from the reduced row echelon form."""
    m, n = M.nrows(), M.ncols()
    if n == 0:
        return []
    if m == 0:
        return [tuple(fmpq(1) if i == j else fmpq(0) for i in range(n)) for j in range(n)]
    R, r = M.rref()
    pivots = []
    for i in range(r):
        for j in range(n):
            if R[i, j] != 0:
                pivots.append(j)
                break
    free = [j for j in range(n) if j not in set(pivots)]
    out = []
    for f in free:
        x = [fmpq(0)] * n
        x[f] = fmpq(1)
        for i, pj in enumerate(pivots):
            x[pj] = -R[i, f]
        out.append(tuple(x))
    return out


def min_positive_eigenvalue_bound(charpoly, max_degree: int = 160):
    """A proven lower bound (exact rational) on the smallest positive eigenvalue of a PSD matrix.

    ``charpoly`` = x^m q(x); every root of q is a positive eigenvalue. The roots of q are isolated with flint's
    certified complex root finder (balls); the lower endpoint of the smallest real part, floored to a rational.
    Returns None above ``max_degree`` (too slow) or if isolation fails.
    """
    c = [fmpq(x) for x in charpoly.coeffs()]
    m = 0
    while m < len(c) and c[m] == 0:
        m += 1
    q = fmpq_poly(c[m:])
    if q.degree() < 1 or q.degree() > max_degree:
        return None
    try:
        roots = q.numer().complex_roots()
    except Exception:  # noqa: BLE001 - root isolation failing means: no bound
        return None
    lows = []
    for z, _mult in roots:
        lo = z.real.lower()
        lows.append(lo)
    lo = min(lows)
    # arb lower endpoint -> exact rational, rounded down
    from ..arithmetic.balls import ball_bounds

    lo_q, _ = ball_bounds(lo)
    return lo_q if lo_q > 0 else None
