"""Exact linear algebra over the rationals (python-flint ``fmpq`` / ``fmpq_mat``), written once for every path.

Rank, nullspace, row bases, minimum-norm least squares, quadratic forms, restriction of a form to a subspace, and
the inertia of a symmetric matrix with an exact direction of negative curvature. Two independent inertia methods
(cross-checked in tests/test_linalg.py):

* :func:`charpoly_inertia`: p(x) = det(xI - H) = x^m q(x) with q(0) != 0. H is symmetric, so every root of q is
  real and Descartes' rule of signs is exact for it: the number of sign changes of q's coefficients is the number of
  positive eigenvalues, that of q(-x) the number of negative ones, and m is the nullity.
* :func:`ldl_inertia`: symmetric Gaussian elimination (S H S^T = D block diagonal, 1x1 and [[0, a], [a, 0]]
  pivots, Bunch-Parlett style); Sylvester's law of inertia gives inertia(H) = inertia(D). The elimination keeps the
  rows of S, so a negative pivot yields d with d^T H d < 0 exactly.

:func:`ldl_definiteness` is the plain LDL^T without pivoting, over any ordered ring with a (possibly three-valued)
positivity test: exact rationals, or arb balls with :func:`spurious.arithmetic.balls.positive`.
See ../shared/research/verification.md, section 1.4, and DESIGN.md "What a certificate is", step 4.

Matrices are ``fmpq_mat`` or lists of rows; vectors are sequences of rationals; results are tuples.

>>> H = to_mat([[2, 1], [1, -1]])
>>> inn = inertia(H)
>>> (inn.n_pos, inn.n_neg, inn.n_zero), quad_form(H, inn.direction) < 0
((1, 1, 0), True)
>>> nullspace([[1, 2, 3], [2, 4, 6]], 3)
[(-2, 1, 0), (-3, 0, 1)]
>>> least_squares([[1, 1, 1], [0, 1, 2]], [0, 1, 3])[2]   # rss of the line fit
1/6
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import fmpq, fmpq_mat, fmpq_poly

from .errors import InternalError
from .rationals import to_fmpq

__all__ = ["Inertia", "to_mat", "rank", "rref", "row_basis", "affine_basis", "nullspace", "outside_span",
           "least_squares", "quad_form", "compress", "project_off", "inertia", "charpoly_inertia", "ldl_inertia", "negative_direction",
           "min_positive_eigenvalue_bound", "ldl_definiteness", "is_positive_definite"]


@dataclass(frozen=True)
class Inertia:
    n_pos: int
    n_neg: int
    n_zero: int
    direction: tuple | None = None   # exact d with d^T H d < 0 when n_neg > 0 (and one was asked for)
    charpoly: object = None          # fmpq_poly det(xI - H) when computed


def to_mat(rows, ncols: int | None = None) -> fmpq_mat:
    """fmpq_mat from a list of rows (an empty list gives a 0 x ncols matrix); an fmpq_mat is returned as is."""
    if isinstance(rows, fmpq_mat):
        return rows
    rows = [list(r) for r in rows]
    if not rows:
        return fmpq_mat(0, ncols or 0)
    return fmpq_mat(rows)


def rank(rows_or_mat) -> int:
    """Exact rank of an fmpq_mat or of a list of row vectors (0 for an empty one)."""
    M = to_mat(rows_or_mat)
    if M.nrows() == 0 or M.ncols() == 0:
        return 0
    return M.rank()


def rref(rows_or_mat, ncols: int | None = None):
    """(nonzero rows of the reduced row echelon form as lists, pivot columns)."""
    M = to_mat(rows_or_mat, ncols)
    if M.nrows() == 0 or M.ncols() == 0:
        return [], []
    R, r = M.rref()
    n = M.ncols()
    rows = [[R[i, j] for j in range(n)] for i in range(r)]
    return rows, [next(j for j in range(n) if row[j] != 0) for row in rows]


def row_basis(rows_or_mat) -> list:
    """An exact basis (the reduced row echelon rows) of the row space."""
    return rref(rows_or_mat)[0]


def affine_basis(X) -> list:
    """Rows of an exact basis of span{x_i - x_1} for points X (reduced row echelon form)."""
    return row_basis([[a - b for a, b in zip(x, X[0])] for x in X[1:]]) if len(X) > 1 else []


def nullspace(rows_or_mat, ncols: int | None = None) -> list:
    """Exact basis (list of tuples) of {x : A x = 0}; ``ncols`` is needed only when A is an empty list of rows."""
    M = to_mat(rows_or_mat, ncols)
    n = M.ncols()
    R, pivots = rref(M)
    out = []
    for f in (j for j in range(n) if j not in set(pivots)):
        x = [fmpq(0)] * n
        x[f] = fmpq(1)
        for i, pj in enumerate(pivots):
            x[pj] = -R[i][f]
        out.append(tuple(x))
    return out


def outside_span(rows, v, rank_rows: int | None = None) -> bool:
    """Is ``v`` outside the span of ``rows``? (``rank_rows``: rank(rows), when the caller already has it.)"""
    rows = [list(r) for r in rows]
    if not rows:
        return any(x != 0 for x in v)
    r = rank(rows) if rank_rows is None else rank_rows
    return rank(rows + [list(v)]) > r


def least_squares(columns, y, minimum_norm: bool = True):
    """Exact least squares of ``y`` on the span of ``columns`` (lists of length n).

    Returns (coefficients, fitted, rss): ``fitted`` is the orthogonal projection of y, rss = ||y - fitted||^2 (the
    'sum' convention). The coefficients are the minimum-norm solution, or with ``minimum_norm=False`` the basic
    solution on the pivot columns of the reduced row echelon form (zero elsewhere).
    """
    n = len(y)
    y = [to_fmpq(v) for v in y]
    k = len(columns)
    if k == 0:
        return [], [fmpq(0)] * n, sum((v * v for v in y), fmpq(0))
    A_rows = [[columns[c][i] for c in range(k)] for i in range(n)]
    _, piv = rref(A_rows, k)
    coef = [fmpq(0)] * k
    if piv:
        Ap = fmpq_mat([[A_rows[i][c] for c in piv] for i in range(n)])
        sol = (Ap.transpose() * Ap).solve(Ap.transpose() * fmpq_mat([[v] for v in y]))
        for c, v in zip(piv, sol.entries()):
            coef[c] = v
        ker = nullspace(A_rows, k) if minimum_norm else []
        if ker:  # project onto the row space: the minimum-norm solution
            Km = fmpq_mat(ker).transpose()  # k x r
            lam = (Km.transpose() * Km).solve(Km.transpose() * fmpq_mat([[v] for v in coef]))
            coef = list((fmpq_mat([[v] for v in coef]) - Km * lam).entries())
    fitted = [sum((A_rows[i][c] * coef[c] for c in range(k)), fmpq(0)) for i in range(n)]
    rss = sum(((a - b) ** 2 for a, b in zip(y, fitted)), fmpq(0))
    return coef, fitted, rss


def quad_form(H: fmpq_mat, d) -> fmpq:
    """d^T H d, exactly."""
    n = H.nrows()
    v = fmpq_mat(n, 1, list(d))
    return (v.transpose() * H * v)[0, 0]


def compress(H: fmpq_mat, basis) -> fmpq_mat:
    """Z^T H Z for the columns Z = ``basis`` (the form H restricted to their span, in their coordinates)."""
    if not basis:
        return fmpq_mat(0, 0)
    Z = to_mat(basis).transpose()
    return Z.transpose() * H * Z


def project_off(v, rows) -> tuple:
    """The component of ``v`` orthogonal to the span of ``rows`` (exact Euclidean projection).

    >>> project_off([1, 1], [[1, 0]])
    (0, 1)
    """
    v = [to_fmpq(x) for x in v]
    basis = row_basis(rows) if rows else []
    if not basis:
        return tuple(v)
    fitted = least_squares(basis, v)[1]
    return tuple(a - b for a, b in zip(v, fitted))


def ldl_definiteness(Q, positive=None):
    """LDL^T without pivoting of a symmetric matrix (fmpq_mat, or rows of rationals or arb balls).

    Returns (True, pivots) if every pivot is positive (Q is positive definite, Sylvester); (False, k) if pivot k is
    not positive (Q is not positive definite); (None, k) if ``positive`` (three-valued, e.g.
    :func:`spurious.arithmetic.balls.positive`) cannot decide pivot k. Default: the exact test ``p > 0``.

    >>> ldl_definiteness([[2, 1], [1, 2]])
    (True, [2, 3/2])
    >>> ldl_definiteness([[1, 2], [2, 1]])
    (False, 1)
    """
    if isinstance(Q, fmpq_mat):
        Q = Q.tolist()
    n = len(Q)
    exact = to_fmpq if positive is None else (lambda x: x)
    A = [[exact(Q[i][j]) for j in range(n)] for i in range(n)]
    pivots = []
    for k in range(n):
        p = A[k][k]
        s = positive(p) if positive is not None else p > 0
        if s is not True:
            return (False if s is False else None), k
        pivots.append(p)
        for i in range(k + 1, n):
            f = A[i][k] / p
            for j in range(k + 1, i + 1):
                A[i][j] = A[i][j] - f * A[j][k]
                A[j][i] = A[i][j]
    return True, pivots


PD_BALL_PREC = 256


def is_positive_definite(S) -> bool:
    """Exactly: is the symmetric rational matrix S positive definite?

    LDL^T in arb balls first (PD_BALL_PREC bits): every ball encloses its exact pivot, so a decided answer (all
    pivots provably > 0, or one provably <= 0 after positive ones) is the exact answer; exact rational elimination
    runs only when a pivot's ball straddles 0. Exact elimination alone took 187 s on a planted cubic 3-4-4-1 Hessian
    (41 x 41, entries of thousands of digits); the balls decide it in well under a second."""
    from flint import arb_mat, ctx

    with ctx.workprec(PD_BALL_PREC):
        enclosure = arb_mat(to_mat(S))
    ok = ball_positive_definite(enclosure)
    return ok if ok is not None else ldl_definiteness(S)[0] is True


def ball_positive_definite(H, basis=None, prec: int = PD_BALL_PREC):
    """Three-valued: is every symmetric matrix in the ball enclosure ``H`` (arb_mat) positive definite on the span of
    the exact rational vectors ``basis`` (all of R^P when None)? True / False are proofs for the exact matrix inside
    the balls (Z^T H Z is enclosed with Z exact, then LDL^T on balls: every ball holds its exact pivot); None when a
    pivot's ball straddles 0. Used where the exact Hessian costs minutes (entries of thousands of digits, many
    samples) but its enclosure at 128 bits takes seconds."""
    from flint import arb_mat, ctx

    from .arithmetic.balls import positive

    with ctx.workprec(prec):
        M = H
        if basis is not None:
            if not basis:
                return True
            Z = arb_mat(to_mat(basis).transpose())
            M = Z.transpose() * H * Z
        return ldl_definiteness(M.tolist(), positive)[0]


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
    from .arithmetic.balls import ball_bounds

    lo_q, _ = ball_bounds(lo)
    return lo_q if lo_q > 0 else None
