"""Verified floating-point error bounds, written once: unit roundoff, gamma_k, directed rounding, Rump's Cholesky.

Every float computation that ends in a proof goes through these bounds (the interval path, the fast Hessian
enclosure). Conventions: binary64, round to nearest, u = 2^-53, smallest subnormal eta = 2^-1074;
|fl(x.y) - x.y| <= gamma_k |x|.|y| with gamma_k = k u / (1 - k u) for a dot product of length k in any summation
order, FMA included, Strassen excluded (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., 3.5).

:func:`rump_pd` proves positive definiteness by a floating-point Cholesky with an a-priori shift (Rump 2006):
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

>>> float(up(1.0, 10)) > 1.0 and gamma(10) >= 10 * U
True
>>> from flint import fmpq
>>> float_down(fmpq(1, 3)) < float_up(fmpq(1, 3)), float_up(fmpq(1, 2))
(True, 0.5)
>>> rump_pd([[2.0, 1.0], [1.0, 2.0]], mu=0.99)[0], rump_pd([[2.0, 1.0], [1.0, 2.0]], mu=1.0)[0]
(True, False)
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .rationals import fmpq_to_float, to_fmpq

__all__ = ["U", "ETA", "TINY", "up", "gamma", "float_up", "float_down", "sum_up", "sqrt_up", "frob_up",
           "vnorm_up", "sqrt_upper", "norm2_upper", "rump_pd"]

U = 2.0 ** -53
ETA = 2.0 ** -1074
TINY = 2.0 ** -900  # absolute slack that covers underflow in sums of products (see ``up``)


def up(x, k: int):
    """Rigorous upper bound of the exact value of a nonnegative expression of depth <= k (e.g. a sum of k products
    of nonnegative floats) that float arithmetic returned as ``x``: exact <= x / (1 - gamma_k) (+ underflow).

    (1 + 4 (k+2) u) is exactly representable for k < 2^40, and exceeds 1 + 2 gamma_k >= 1 / (1 - gamma_k) after
    rounding; TINY covers underflow.
    """
    return np.asarray(x, dtype=np.float64) * (1.0 + 4.0 * (k + 2) * U) + TINY


@lru_cache(maxsize=4096)
def gamma(k: int) -> float:
    """An upper bound on gamma_k = k u / (1 - k u), as a float (computed exactly, rounded upward)."""
    g = Fraction(k) * Fraction(U) / (1 - Fraction(k) * Fraction(U))
    return float_up(g)


def float_up(q) -> float:
    """The least binary64 >= q (q an exact rational: fmpq, Fraction or int)."""
    q = to_fmpq(q)
    f = fmpq_to_float(q)
    return f if to_fmpq(f) >= q else float(np.nextafter(f, np.inf))


def float_down(q) -> float:
    """The greatest binary64 <= q."""
    q = to_fmpq(q)
    f = fmpq_to_float(q)
    return f if to_fmpq(f) <= q else float(np.nextafter(f, -np.inf))


def sum_up(values) -> float:
    """Upper bound on the exact sum of floats (math.fsum is correctly rounded)."""
    s = math.fsum(values)
    return float(np.nextafter(s, np.inf))


def sqrt_up(x: float) -> float:
    """Upper bound on sqrt of a nonnegative float known up to rounding of depth 2."""
    return float(np.nextafter(math.sqrt(float(up(x, 2))), np.inf))


def frob_up(M) -> float:
    """Upper bound on the Frobenius norm of a float matrix (which bounds the spectral norm); None counts as 0."""
    if M is None:
        return 0.0
    M = np.asarray(M, dtype=np.float64)
    if M.size == 0:
        return 0.0
    return float(np.nextafter(math.sqrt(float(up(np.einsum("ij,ij->", M, M), M.size + 2))), np.inf))


def vnorm_up(v) -> float:
    """Upper bound on the Euclidean norm of a float vector."""
    v = np.asarray(v, dtype=np.float64)
    return float(np.nextafter(math.sqrt(float(up(v @ v, v.size + 2))), np.inf))


def sqrt_upper(q):
    """An exact rational >= sqrt(q) for a rational q >= 0 (arb square root, upper endpoint).

    >>> from flint import fmpq
    >>> r = sqrt_upper(fmpq(2)); r * r >= 2 and r - fmpq(141421356, 10 ** 8) < fmpq(1, 10 ** 8)
    True
    """
    from flint import arb

    from .arithmetic.balls import upper_fmpq

    q = to_fmpq(q)
    if q == 0:
        return q
    return upper_fmpq(arb(q).sqrt())


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
    tr = Fraction(sum_up(diag.tolist()))
    c = fac * tr + 4 * Fraction(ETA) * n * (2 * (n + 1) + Fraction(float(diag.max())))
    shift = float_up(c + Fraction(r) + Fraction(extra))
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
