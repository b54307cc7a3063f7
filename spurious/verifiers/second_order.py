"""Second-order necessary condition at the point itself, in balls (issue 13).

If the loss is C^2 at x and some direction d has d^T H(x) d < 0, then x is not a local minimum, whether or not x is
critical: at a local minimum of a C^2 function the gradient vanishes and the Hessian is positive semidefinite
(and if the gradient does not vanish, x is not a minimum anyway). So one proved negative curvature at x decides
``not_local_min`` without locating any nearby critical point.

Here H(x) is enclosed in arb balls at the exact stored point (finite data with smooth activations; the Gaussian
population loss where its evaluator proves the formulas valid, i.e. returns a Hessian), d is a rounded float
eigenvector of the midpoint, and d^T H d is bounded above rigorously (:func:`curvature_upper_bound`). A bound that
is not < 0 decides nothing (near-miss: curvature proved >= 0 along d).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from flint import fmpq

from ..arithmetic import evaluate_ball
from ..arithmetic.fast_enclosure import enclosure_from_arb_mat, hessian_enclosure
from ..errors import UnsupportedError
from ..rationals import fmpq_to_float, decimal_str, to_fmpq
from ..roundoff import gamma, up
from ..certificate import INTERVAL, NOT_LOCAL_MIN, Certificate

__all__ = ["curvature_upper_bound", "negative_curvature_certificate"]

METHOD = "second-order necessary condition at the point (arb balls)"
BALL_MAX_P = 60  # above this, the fast float enclosure (with rounding bounds) replaces arb_mat


def curvature_upper_bound(enc, d) -> Fraction:
    """A rigorous upper bound on d^T X d for every X = mid + E1 + E2 of the enclosure (|E1| <= rad, ||E2|| <= norm),
    d a float vector taken exactly."""
    M = enc.mid
    m = M.shape[0]
    s = float(d @ (M @ d))  # |s - d^T M d| <= gamma_{m+1} |d|^T |M| |d|
    ad = np.abs(d)
    err = float(up(gamma(m + 1) * float(ad @ (np.abs(M) @ ad)), m + 4))
    rterm = 0.0 if enc.rad is None else float(up(float(ad @ (enc.rad @ ad)), 2 * m + 4))
    d2 = float(up(float(d @ d), m + 2))
    return (Fraction(s) + Fraction(err) + Fraction(rterm) + Fraction(enc.norm) * Fraction(d2)
            + Fraction(2.0 ** -900))


def _enclosure_at_point(candidate, prec):
    """Hessian enclosure at the exact stored point, or None where the evaluator proves no Hessian (not C^2 there)."""
    problem, point = candidate.problem, candidate.point
    net = problem.network
    if problem.finite and net.num_params > BALL_MAX_P:
        x = point.flatten(net)
        x0 = np.array([fmpq_to_float(q) for q in x], dtype=np.float64)
        gap = [abs(to_fmpq(float(a)) - b) for a, b in zip(x0, x)]
        radius = np.array([float(np.nextafter(fmpq_to_float(g), np.inf)) if g else 0.0 for g in gap])
        return hessian_enclosure(problem, point, x0, radius, prec)
    ev = evaluate_ball(problem, point, order=2, prec=prec)
    if ev.hessian is None or ev.kinks:
        return None
    return enclosure_from_arb_mat(ev.hessian)


def negative_curvature_certificate(candidate, reasons=(), symmetries=(), prec=128):
    """``not_local_min`` from a proved d^T H d < 0 at the stored point, or None (nothing proved)."""
    try:
        enc = _enclosure_at_point(candidate, prec)
    except (UnsupportedError, ValueError, ZeroDivisionError):
        return None
    if enc is None or enc.mid.size == 0 or not np.all(np.isfinite(enc.mid)):
        return None
    M = (enc.mid + enc.mid.T) / 2
    try:
        w, V = np.linalg.eigh(M)
    except np.linalg.LinAlgError:
        return None
    if not w[0] < 0:
        return None
    d = V[:, 0] / np.max(np.abs(V[:, 0]))
    bound = curvature_upper_bound(enc, d)
    if not bound < 0:
        return None
    why = ("the loss is C^2 at the point (smooth activations)" if candidate.problem.finite else
           "the population loss is C^2 at the point (its ball Hessian formulas are proved valid there)")
    return Certificate(NOT_LOCAL_MIN, INTERVAL, symmetries=list(symmetries), descent_direction=[float(v) for v in d],
                       reasons=list(reasons) + [
                           f"second-order necessary condition: {why}, and along a float eigenvector d of the "
                           f"midpoint Hessian, d^T H d <= {decimal_str(fmpq(bound.numerator, bound.denominator))} "
                           f"< 0 at the point itself (arb, {prec} "
                           "bits, all roundings bounded); a local minimum would have zero gradient and a positive "
                           "semidefinite Hessian: not a local minimum, critical or not"],
                       method=METHOD)
