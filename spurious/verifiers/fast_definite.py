"""Fast verified definiteness of an exact rational Hessian modulo the symmetry tangents (issue 13, "Scale").

The exact path used to decide every Hessian by its characteristic polynomial (28 s at P = 300). Here a proof of
positive definiteness comes first, in floating point with every rounding accounted for; exact inertia is left for the
questions it alone answers (nullity, and negative directions a float eigenvector misses).

1. Exact congruence off the tangents. Let T (r x P, rank r) span the symmetry tangents and H t = 0 for each t
   (checked exactly by the caller). The pivot columns J of rref(T) make T_J invertible, so the coordinate vectors
   e_F (F = the other coordinates) and the rows of T form a basis of R^P. Writing v = u + T^T c with u supported on F,
   v^T H v = u_F^T H_FF u_F. Hence H_FF positive definite <=> H is PSD with kernel exactly span(T) (Morse-Bott).
2. Rounding of the entries. H_FF is rounded to an arb matrix at ``prec`` bits (every entry a ball that contains the
   exact rational), then the midpoints to binary64 with a radius covering that last rounding: |H - A| <= R
   entrywise, A exactly symmetric. Powers-of-two diagonal scaling (van der Sluis, an exact congruence) keeps the
   entries inside the binary64 range (10^600 entries are valid input).
3. Rump's shifted Cholesky (BIT 2006, Cor. 2.7; :mod:`.rump`) on (A, R) proves every symmetric X with |X - A| <= R
   positive definite, H_FF among them.
4. Retry at higher precision (issue 13): if step 3 fails, a float Cholesky factor L of A (shifted if needed) gives
   X = L^{-1} in binary64, taken as an exact (lower triangular, nonzero diagonal, hence invertible) matrix; the
   congruence X H_FF X^T (same inertia, Sylvester) is enclosed in arb at 128 and then 256 bits and, being close to
   the identity, passes Rump's test unless H_FF is singular to that precision.

A failure is never a claim: "not proved" only. :func:`float_negative_direction` proposes a float eigenvector for
the negative case; the caller checks d^T H d < 0 exactly.
"""

from __future__ import annotations

import numpy as np
from flint import arb_mat, ctx, fmpq, fmpq_mat

from ..roundoff import ETA, U, rump_pd

__all__ = ["free_coordinates", "prove_positive_definite", "prove_pd_modulo_tangents", "float_negative_direction",
           "prove_pd_modulo_tangents_enclosure", "prove_pd_preconditioned"]

RETRY_PRECISIONS = (128, 256)


def free_coordinates(tangent_rows, P):
    """Coordinates F (sorted) with span(e_F) + span(T) = R^P, a direct sum: the complement of rref(T)'s pivots."""
    if not tangent_rows:
        return list(range(P))
    R, r = fmpq_mat([list(t) for t in tangent_rows]).rref()
    pivots = set()
    for i in range(r):
        pivots.add(next(j for j in range(P) if R[i, j] != 0))
    return [q for q in range(P) if q not in pivots]


def _exponent(q: fmpq) -> int:
    """An integer k with 2^(k-1) <= |q| < 2^(k+1) (rough binary exponent of a nonzero rational)."""
    return int(q.p).bit_length() - int(q.q).bit_length()


def _arb_rows(H, idx, prec, scale):
    """arb_mat of H[idx, idx] * 2^(scale_i + scale_j) (exact scaling; entries rounded to ``prec``-bit balls).

    Without scaling the whole matrix is converted (fast, in C) and the caller slices the float arrays."""
    old = ctx.prec
    ctx.prec = prec
    try:
        if scale is None:
            return arb_mat(H)
        rows = []
        for a in idx:
            row = []
            for b in idx:
                s = scale[a] + scale[b]
                x = H[a, b]
                row.append(x * 2**s if s >= 0 else x / 2**(-s))
            rows.append(row)
        return arb_mat(fmpq_mat(rows)) if rows else arb_mat(0, 0)
    finally:
        ctx.prec = old


def _float_enclosure(H, idx, prec, scale):
    """(A, R) for H[idx, idx] (scaled), or None on overflow."""
    return _mid_rad(_arb_rows(H, idx, prec, scale), idx if scale is None else None)


def _mid_rad(M, idx=None):
    """(A, R): binary64 midpoints of M[idx, idx], exactly symmetrised, and radii with |M - A| <= R entrywise (None on
    overflow). float() of a dyadic arb midpoint or radius is within one ulp: <= 2u relative plus ETA absolute."""
    rows = M.tolist()
    if idx is not None and len(idx) < len(rows):
        rows = [[rows[a][b] for b in idx] for a in idx]
    n = len(rows)
    if n == 0:
        return np.zeros((0, 0)), np.zeros((0, 0))
    mid = np.array([[float(x.mid()) for x in row] for row in rows], dtype=np.float64)
    rad = np.array([[float(x.rad()) for x in row] for row in rows], dtype=np.float64)
    if not (np.all(np.isfinite(mid)) and np.all(np.isfinite(rad))):
        return None
    A = np.triu(mid) + np.triu(mid, 1).T  # exactly symmetric; the lower triangle's difference goes into R
    R = (rad * (1 + 4 * U) + 4 * U * np.abs(mid) + np.abs(A - mid) * (1 + 4 * U) + 2 * ETA) * (1 + 4 * U)
    if not np.all(np.isfinite(R)):
        return None
    return A, R


def _scaling(H, idx, signed=True):
    """Per-coordinate power-of-two exponents s_i (2^(2 s_i) |H_ii| ~ 1), or None when no scaling is needed.

    ``signed``: a diagonal entry <= 0 returns "nonpositive" (then H is not positive definite)."""
    exps = {}
    for a in idx:
        h = H[a, a]
        if h <= 0 and signed:
            return "nonpositive"
        exps[a] = -(_exponent(h) // 2) if h != 0 else 0
    if not exps or all(abs(e) <= 20 for e in exps.values()):
        return None
    return exps


def prove_positive_definite(H: fmpq_mat, idx=None):
    """Prove the exact principal submatrix H[idx, idx] positive definite. Returns (ok, detail, A), A the binary64
    matrix tried."""
    idx = list(range(H.nrows())) if idx is None else list(idx)
    n = len(idx)
    if n == 0:
        return True, "empty matrix", np.zeros((0, 0))
    scale = _scaling(H, idx)
    if scale == "nonpositive":
        return False, "a diagonal entry is <= 0", None
    mr = _float_enclosure(H, idx, 53, scale)
    if mr is None:
        return False, "entries outside the binary64 range after scaling", None
    A, R = mr
    scaled = " after exact power-of-two diagonal scaling" if scale is not None else ""
    ok, detail = rump_pd(A, R)
    if ok:
        return True, f"binary64 rounding of the exact entries{scaled} covered by the radii; {detail}", A
    for prec in RETRY_PRECISIONS:
        ok2, detail2 = _preconditioned(H, idx, scale, A, prec)
        if ok2:
            return True, (f"Rump's test in binary64 failed ({detail}); retried at {prec} bits: {detail2}"), A
    return False, detail, A


def _preconditioned(H, idx, scale, A, prec):
    """X = L^{-1} (float Cholesky of A, shifted if needed) taken exactly; prove X H X^T PD in arb at ``prec`` bits."""
    X = _inverse_cholesky(A)
    if isinstance(X, str):
        return False, X
    old = ctx.prec
    ctx.prec = prec
    try:
        Hm = _arb_rows(H, idx, prec, scale)
        if scale is None and len(idx) < Hm.nrows():
            Hm = arb_mat([[Hm[a, b] for b in idx] for a in idx])
    finally:
        ctx.prec = old
    return _congruence_pd(Hm, X, prec)


def prove_pd_preconditioned(Hm, A, prec=128):
    """Prove every symmetric matrix in the arb enclosure ``Hm`` positive definite, ``A`` a float midpoint of it:
    X = L^{-1} (float Cholesky of A, shifted if needed), exact and invertible, and X Hm X^T enclosed in arb at
    ``prec`` bits passes Rump's test (it is close to the identity). For enclosures whose smallest eigenvalue is far
    below the binary64 rounding of a Cholesky of the matrix itself (Rump's test on Hm fails there)."""
    X = _inverse_cholesky(np.asarray(A, dtype=np.float64))
    if isinstance(X, str):
        return False, X
    return _congruence_pd(Hm, X, prec)


def _inverse_cholesky(A):
    """L^{-1}, lower triangular with nonzero diagonal (float Cholesky of A, shifted if needed), or a reason."""
    n = A.shape[0]
    L = None
    shift = 0.0
    d = float(np.max(np.abs(np.diag(A)))) or 1.0
    for k in range(4):
        try:
            L = np.linalg.cholesky(A + shift * np.eye(n))
            break
        except np.linalg.LinAlgError:
            shift = d * 10.0 ** (-14 + 2 * k)
    if L is None or not np.all(np.isfinite(L)) or not np.all(np.diag(L) > 0):
        return "no float Cholesky factor for a preconditioner"
    try:
        from scipy.linalg import solve_triangular

        X = solve_triangular(L, np.eye(n), lower=True)
    except ImportError:  # pragma: no cover
        X = np.linalg.inv(L)
    X = np.tril(X)
    if not np.all(np.isfinite(X)) or not np.all(np.diag(X) != 0):
        return "preconditioner not finite"
    return X


def _congruence_pd(Hm, X, prec):
    """Rump's test on the arb enclosure of X Hm X^T (X binary64, lower triangular, nonzero diagonal)."""
    old = ctx.prec
    ctx.prec = prec
    try:
        Xa = arb_mat([[float(v) for v in row] for row in X])  # binary64 values: exact
        C = Xa * Hm * Xa.transpose()
    finally:
        ctx.prec = old
    mr = _mid_rad(C)
    if mr is None:
        return False, "preconditioned matrix not finite"
    ok, detail = rump_pd(*mr)
    if not ok:
        return False, detail
    return True, ("congruence X H X^T with X = (float Cholesky factor)^-1, lower triangular with nonzero diagonal "
                  f"hence invertible (same inertia, Sylvester), enclosed in arb at {prec} bits: {detail}")


def prove_pd_modulo_tangents(H: fmpq_mat, tangent_rows):
    """Prove H PSD with kernel exactly span(tangents) (H t = 0 must already be checked exactly).

    Returns (ok, reason).
    """
    P = H.nrows()
    free = free_coordinates(tangent_rows, P)
    ok, detail, A = prove_positive_definite(H, free)
    if tangent_rows:
        what = (f"the principal submatrix H_FF on the {len(free)} coordinates F off the pivots of rref(T) (exact "
                "congruence: e_F and the tangents form a basis, and H T = 0) is positive definite")
    else:
        what = "the Hessian is positive definite"
    return ok, f"{what}: {detail}"


def float_negative_direction(H: fmpq_mat):
    """An exact dyadic d with d^T H d < 0 (checked exactly) from a float eigenvector of (scaled) H; or None.

    A cheap first try before exact inertia: with D the exact power-of-two scaling, (D v)^T H (D v) = v^T (D H D) v."""
    P = H.nrows()
    if P == 0:
        return None
    idx = list(range(P))
    scale = _scaling(H, idx, signed=False)
    mr = _float_enclosure(H, idx, 53, scale)
    if mr is None:
        return None
    try:
        w, V = np.linalg.eigh(mr[0])
    except np.linalg.LinAlgError:
        return None
    if not (np.all(np.isfinite(w)) and w[0] < 0):
        return None
    v = V[:, 0] / np.max(np.abs(V[:, 0]))
    for bits in (10, 20, 40):
        d = []
        for q, x in enumerate(v):
            s = bits - (scale[q] if scale is not None else 0)
            num = int(round(float(x) * 2**bits))
            d.append(fmpq(num * 2**(-s)) if s <= 0 else fmpq(num, 2**s))
        if any(x != 0 for x in d) and _quad(H, d) < 0:
            return tuple(d)
    return None


def _quad(H, d):
    v = fmpq_mat(H.nrows(), 1, list(d))
    return (v.transpose() * H * v)[0, 0]



def prove_pd_modulo_tangents_enclosure(problem, point, tangent_rows, prec=128):
    """Large P, without forming the exact Hessian: a rigorous float enclosure of the Hessian at the exact point
    (:func:`spurious.arithmetic.fast_enclosure.hessian_enclosure`, every rounding bounded; the box covers the
    rounding of the point to binary64; piecewise-linear units must stay off their breakpoints over the box), then
    Rump's test on the principal submatrix H_FF (a submatrix of the enclosure's error has no larger norm).

    The congruence of step 1 needs H t = 0 for the tangents: at a critical point this holds because the loss is
    constant on the orbit (differentiate L(g x) = L(x) twice). Returns (ok, reason)."""
    from ..arithmetic.fast_enclosure import hessian_enclosure
    from ..errors import UnsupportedError
    from ..rationals import fmpq_to_float, to_fmpq

    net = problem.network
    x = point.flatten(net)
    x0 = np.array([fmpq_to_float(q) for q in x], dtype=np.float64)
    if not np.all(np.isfinite(x0)):
        return False, "parameters outside the binary64 range"
    gap = [abs(to_fmpq(float(a)) - b) for a, b in zip(x0, x)]
    radius = np.array([float(np.nextafter(fmpq_to_float(g), np.inf)) if g else 0.0 for g in gap])
    try:
        enc = hessian_enclosure(problem, point, x0, radius, prec)
    except UnsupportedError as exc:
        return False, str(exc)
    free = free_coordinates(tangent_rows, net.num_params)
    A = enc.mid[np.ix_(free, free)]
    R = None if enc.rad is None else enc.rad[np.ix_(free, free)]
    ok, detail = rump_pd(A, R, 0.0, enc.norm)
    what = (f"the Hessian restricted to the {len(free)} coordinates F off the pivots of rref(T) (exact congruence: e_F "
            "and the tangents form a basis, and H T = 0 at a critical point) is positive definite"
            if tangent_rows else "the Hessian is positive definite")
    return ok, (f"{what}: enclosure of the Hessian at the exact point by float products with a-priori rounding "
                f"bounds (spectral-norm error <= {enc.norm:.3g}); {detail}")
