"""The :class:`Bound` every relaxation returns, and small shared helpers (data matrices, loss scale)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flint import fmpq

from ...arithmetic.balls import ball_bounds
from ...rationals import format_number
from ...certificate import EXACT, INTERVAL, RIGORS

__all__ = ["Bound", "loss_scale", "trivial_bound"]


@dataclass
class Bound:
    """What a relaxation proved about the global minimum value L* of a training problem.

    global_lower_bound : rational s with s <= L* (proven when rigor is exact/interval; evidence when numerical).
    global_value : L* exactly (a rational) when it is known exactly, else None.
    global_upper_bound : rational t >= L* that is *proven* (the exact loss of ``witness``, or the upper end of a
        rigorous enclosure of an attained minimum), else None. This is what proves "not global".
    witness : a point of the problem whose exact loss is ``global_upper_bound`` (when one was recovered).
    rigor : of the lower bound: exact, interval or numerical.
    """

    global_lower_bound: fmpq | None
    global_value: fmpq | None
    rigor: str
    method: str
    reasons: list = field(default_factory=list)
    global_upper_bound: fmpq | None = None
    witness: object = None
    numerical_value: float | None = None

    def __post_init__(self):
        if self.rigor not in RIGORS:
            raise ValueError(f"unknown rigor {self.rigor!r}")
        if self.global_value is not None and self.rigor != EXACT:
            raise ValueError("global_value is only set when exact")

    @property
    def proved(self) -> bool:
        return self.rigor in (EXACT, INTERVAL) and self.global_lower_bound is not None

    def to_json(self) -> dict:
        f = lambda x: None if x is None else format_number(x)  # noqa: E731
        return {"global_lower_bound": f(self.global_lower_bound), "global_value": f(self.global_value),
                "rigor": self.rigor, "method": self.method,
                "global_upper_bound": f(self.global_upper_bound), "numerical_value": self.numerical_value,
                "reasons": list(self.reasons)}


def loss_scale(problem) -> fmpq:
    """c in L = c * sum_i ||f(x_i) - y_i||^2 (+ penalty): 1/n for reduction mean, 1 for sum."""
    return fmpq(1, problem.data.n) if problem.loss.reduction == "mean" else fmpq(1)


def trivial_bound(reason: str) -> Bound:
    """The squared loss (plus a nonnegative penalty) is >= 0: always a proven bound, rarely a useful one."""
    return Bound(fmpq(0), None, EXACT, "trivial (squared loss >= 0)", [reason])


def enclosure_bounds(x):
    """(lo, hi) exact rationals for an fmpq or an arb ball; None for anything else (floats are not proofs)."""
    if isinstance(x, fmpq):
        return x, x
    if hasattr(x, "mid") and hasattr(x, "rad"):
        try:
            return ball_bounds(x)
        except ValueError:
            return None
    return None



def polish(problem, Ws, bs, point=None, steps=200):
    """A witness from float layer arrays: rounded to short rationals, improved by a float local search (L-BFGS from
    that start; evidence only), and whichever is lower is kept. Returns (point, exact loss) - the loss is a proven
    upper bound on the global minimum, whatever the floats did."""
    import numpy as np

    from ...arithmetic import FloatModel, evaluate_exact
    from ...network import Point
    from .rigor import rationalize

    q = lambda A: None if A is None else [[rationalize(float(x), 40) for x in r] for r in np.atleast_2d(A)]  # noqa
    layers = []
    for l, (W, b) in enumerate(zip(Ws, bs)):
        if W is None:  # a fixed layer: keep the given point's values
            layers.append((point.layers[l].W, point.layers[l].b))
        else:
            layers.append((q(W), None if b is None else q(b)[0]))
    start = Point.from_arrays([w for w, _ in layers], [b for _, b in layers])
    best = (start, evaluate_exact(problem, start, order=0).loss)
    if steps <= 0:
        return best
    try:
        model = FloatModel(problem, start)
        vals = model.lbfgs(start.flatten_float(problem.network), max_iter=steps)
        if np.all(np.isfinite(vals)):
            cand = start.with_flat(problem.network, [rationalize(float(x), 40) for x in vals])
            loss = evaluate_exact(problem, cand, order=0).loss
            if loss < best[1]:
                best = (cand, loss)
    except (RuntimeError, ValueError):  # the polish is optional evidence; the rounded start stands
        pass
    return best
