"""Shared pieces of the structured lemmas: precision, the inconclusive answer, loss enclosures."""

from __future__ import annotations

from flint import fmpq

from ...arithmetic.balls import ball_bounds
from ...certificate import INCONCLUSIVE, INTERVAL, Certificate

__all__ = ["PREC", "MAX_RADIUS", "inconclusive", "loss_pair"]

PREC = 192
MAX_RADIUS = fmpq(1, 2**40)   # the stored output bias must round the true one this closely


def inconclusive(reasons, method, loss=None, rigor=INTERVAL) -> Certificate:
    """A failed or undecided premise: ``inconclusive`` with the reasons (``verify`` then tries the next path)."""
    return Certificate(INCONCLUSIVE, rigor, loss=loss, reasons=reasons, method=method)


def loss_pair(loss):
    """(lo, hi) exact rationals around a loss given exactly, as [lo, hi], or as a ball."""
    if isinstance(loss, fmpq):
        return loss, loss
    if isinstance(loss, (list, tuple)):
        return loss[0], loss[1]
    return ball_bounds(loss)
