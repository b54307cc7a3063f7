"""Non-globality from a witness, globality from a proven lower bound.

* A witness whose loss is provably below the candidate's proven lower loss bound proves "not global".
* A candidate whose proven upper loss bound equals a proven lower bound on the global minimum (0 for the squared
  loss) proves "global".
Both compare exact rationals, or exact endpoints of balls (never midpoints).
"""

from __future__ import annotations

from flint import fmpq

from ..arithmetic import evaluate_ball, evaluate_exact
from ..arithmetic.balls import ball_bounds
from ..errors import NotExactError
from ..rationals import decimal_str
from ..certificate import GLOBAL, NOT_GLOBAL, UNKNOWN

__all__ = ["loss_bounds", "global_status"]


def loss_bounds(problem, point, prec=128):
    """(lo, hi, value) exact rationals with lo <= loss(point) <= hi; value is the exact loss or the ball."""
    try:
        v = evaluate_exact(problem, point, order=0).loss
        return v, v, v
    except NotExactError:
        b = evaluate_ball(problem, point, order=0, prec=prec).loss
        lo, hi = ball_bounds(b)
        return lo, hi, b


def global_status(candidate, loss_lo, loss_hi, lower_bound=None, prec=128):
    """Decide ``global`` for a (proved) minimum whose loss lies in [loss_lo, loss_hi] (exact rationals).

    Returns (status, witness_loss, reasons). ``lower_bound`` is a proven lower bound on the global minimum, if any
    (0 is always one for the squared loss).
    """
    reasons = []
    witness_loss = None
    if candidate.witness is not None:
        w_lo, w_hi, witness_loss = loss_bounds(candidate.problem, candidate.witness, prec)
        exact = w_lo == w_hi
        if w_hi < loss_lo:
            reasons.append(f"witness loss {'= ' + str(w_hi) if exact else '<= ' + decimal_str(w_hi, 17)} is below the "
                           "minimum's loss "
                           f"{'= ' + str(loss_lo) if loss_lo == loss_hi else '>= ' + decimal_str(loss_lo, 17)}: "
                           "not a global minimum")
            return NOT_GLOBAL, witness_loss, reasons
        reasons.append("the witness does not provably have a lower loss")
    bound = fmpq(0) if lower_bound is None else lower_bound
    if loss_hi <= bound:
        reasons.append(f"loss {loss_hi} equals the proven lower bound {bound} on the global minimum: global")
        return GLOBAL, witness_loss, reasons
    return UNKNOWN, witness_loss, reasons
