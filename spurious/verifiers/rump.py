"""Verified positive definiteness by a floating-point Cholesky with an a-priori shift (Rump 2006).

S. M. Rump, "Verification of positive definiteness", BIT 46 (2006) 433-452, Corollary 2.4 (point matrix) and
Corollary 2.7 (interval matrix), with the constant formally verified in Coq by the ValidSDP project
(``theories/cholesky.v``: ``corollary_2_4_with_c_upper_bound``, ``corollary_2_7_with_c_r_upper_bounds``):

    A float, exactly symmetric, n x n, A_ii >= 0, u = 2^-53, eta = 2^-1074, 4 (n+1) u < 1,
    c >= (n+1) u / (1 - 2 (n+1) u) * tr(A) + 4 eta n (2 (n+1) + max_i A_ii),
    r >= ||R||_2 (R >= 0 entrywise radius),
    A~ = A off the diagonal, A~_ii <= A_ii - c - r (rounded downward).
    If the float Cholesky of A~ runs to completion (finite factor, positive pivots), then every symmetric X with
    |X - A| <= R is positive definite.

Here ``mu`` is subtracted first: B = A - mu I with B_ii rounded downward, so B <= A - mu I in the Loewner order and
the test proves lambda_min(X) > mu for all X in the enclosure. ``extra`` adds a bound on a spectral-norm radius
(a perturbation known only through ||E||_2). The result is a proof only through this module; float eigenvalues
elsewhere are estimates.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

__all__ = ["rump_pd", "norm2_upper", "up", "U", "ETA"]

U = 2.0 ** -53
ETA = 2.0 ** -1074
TINY = 2.0 ** -900  # absolute slack that covers underflow in sums of products (see ``up``)


def up(x, k: int):
    """Rigorous upper bound of the exact value of a nonnegative sum of k products of nonnegative floats that float
    arithmetic returned as ``x`` (any summation order): exact <= x / (1 - gamma_k) (+ underflow <= k eta / 2).

    (1 + 4 (k+2) u) rounded down still exceeds 1 + 2 gamma_k >= 1 / (1 - gamma_k); TINY covers underflow.
    """
    f = 1.0 + 4.0 * (k + 2) * U  # exactly representable for k < 2^40
    return np.asarray(x, dtype=np.float64) * f + TINY


def gamma(k: int) -> float:
    """An upper bound on gamma_k = k u / (1 - k u), as a float."""
    g = Fraction(k) * Fraction(U) / (1 - Fraction(k) * Fraction(U))
    return _float_up(g)


def _float_up(q: Fraction) -> float:
    f = float(q)
    return f if Fraction(f) >= q else float(np.nextafter(f, np.inf))


def _sum_up(values) -> float:
    """Upper bound on the exact sum of floats (math.fsum is correctly rounded)."""
    s = math.fsum(values)
    return float(np.nextafter(s, np.inf))


def norm2_upper(R) -> float:
    """Upper bound on ||R||_2 for an entrywise nonnegative matrix: sqrt(||R||_1 ||R||_inf) <= max(row, col sums)."""
    R = np.asarray(R, dtype=np.float64)
    if R.size == 0:
        return 0.0
    n = max(R.shape)
    rows = float(up(R.sum(axis=1).max(), n))
    cols = float(up(R.sum(axis=0).max(), n))
    return max(rows, cols)


def rump_pd(A, R=None, mu=0.0, extra=0.0):
    """Prove lambda_min(X) > mu for every symmetric X = A + E1 + E2, |E1| <= R entrywise, ||E2||_2 <= extra.

    Returns (ok, detail): ``ok`` True is a proof; False means "not proved" (never "not PD").
    """
    A = np.asarray(A, dtype=np.float64)
    n = A.shape[0]
    if A.ndim != 2 or A.shape != (n, n):
        return False, "matrix is not square"
    if n == 0:
        return True, "empty matrix"
    if not np.all(np.isfinite(A)):
        return False, "matrix has non-finite entries"
    if not np.array_equal(A, A.T):
        return False, "midpoint matrix is not exactly symmetric"
    if not 4 * (n + 1) * U < 1:
        return False, "matrix too large for the rounding-error bound"
    mu = float(mu)
    r = 0.0
    if R is not None:
        R = np.asarray(R, dtype=np.float64)
        if R.shape != A.shape or not np.all(np.isfinite(R)) or np.any(R < 0):
            return False, "radius matrix must be finite, nonnegative and of the same shape"
        r = norm2_upper(R)
    extra = float(extra)
    if not (math.isfinite(extra) and extra >= 0 and math.isfinite(mu)):
        return False, "invalid shift or spectral radius bound"
    diag = np.nextafter(np.diag(A) - mu, -np.inf)  # B_ii <= A_ii - mu
    if np.any(diag <= 0):
        return False, "a diagonal entry of the shifted midpoint is not positive"
    # c >= (n+1)u/(1-2(n+1)u) tr(B) + 4 eta n (2(n+1) + max B_ii), computed exactly then rounded up
    fac = Fraction(n + 1) * Fraction(U) / (1 - 2 * Fraction(n + 1) * Fraction(U))
    tr = Fraction(_sum_up(diag.tolist()))
    c = fac * tr + 4 * Fraction(ETA) * n * (2 * (n + 1) + Fraction(float(diag.max())))
    shift = _float_up(c + Fraction(r) + Fraction(extra))
    At = A.copy()
    np.fill_diagonal(At, np.nextafter(diag - shift, -np.inf))
    if np.any(np.diag(At) <= 0):
        return False, f"shift {shift:.3g} (rounding {float(c):.3g}, radii {r + extra:.3g}) exceeds a diagonal entry"
    try:
        L = np.linalg.cholesky(At)
    except np.linalg.LinAlgError:
        return False, f"float Cholesky of the midpoint minus mu = {mu:.6g} and shift {shift:.3g} broke down"
    if not np.all(np.isfinite(L)) or not np.all(np.diag(L) > 0):
        return False, "float Cholesky produced a non-finite or non-positive pivot"
    return True, (f"Rump's shifted Cholesky (BIT 2006, Cor. 2.4/2.7) succeeded for midpoint - {mu:.6g} I with shift "
                  f"{shift:.3g} (rounding {float(c):.3g} + radius bound {r + extra:.3g})")
