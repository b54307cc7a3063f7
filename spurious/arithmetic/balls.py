"""Three-valued predicates on arb balls and exact endpoints.

A comparison of balls that overlap is neither true nor false: these helpers return True, False or None
(unknown), and callers turn None into ``inconclusive`` naming the quantity that was too wide. Only positive
predicates (``x > 0``) are used: ``not (x <= 0)`` is True for a ball that straddles 0.
"""

from __future__ import annotations

from flint import arb, fmpq

__all__ = ["ball_bounds", "positive", "negative", "contains_exact", "upper_fmpq", "lower_fmpq"]


def _exact(x: arb) -> fmpq:
    """The exact value of an arb that is a dyadic point (a midpoint or a radius)."""
    man, exp = x.man_exp()
    man, exp = int(man), int(exp)
    return fmpq(man * 2**exp) if exp >= 0 else fmpq(man, 2**(-exp))


def lower_fmpq(x: arb) -> fmpq:
    return _exact(x.mid()) - _exact(x.rad())


def upper_fmpq(x: arb) -> fmpq:
    return _exact(x.mid()) + _exact(x.rad())


def ball_bounds(x: arb):
    """Exact rational endpoints (lo, hi) with lo <= every value of the ball <= hi."""
    if not x.is_finite():
        raise ValueError("ball is not finite")
    return lower_fmpq(x), upper_fmpq(x)


def positive(x: arb):
    """True if every value is > 0, False if every value is <= 0, None otherwise."""
    if x > 0:
        return True
    if x <= 0:
        return False
    return None


def negative(x: arb):
    return positive(-x)


def contains_exact(x: arb, q) -> bool:
    """Whether the ball contains the exact rational q (decided exactly, independent of working precision)."""
    lo, hi = ball_bounds(x)
    return lo <= fmpq(q) <= hi

