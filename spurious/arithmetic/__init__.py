"""Exact, ball and float evaluation of loss, gradient and Hessian behind one interface.

>>> from spurious.arithmetic import evaluate
>>> # evaluate(problem, point, "exact" | "ball" | "float", order=2, radius=0, prec=128)
"""

from __future__ import annotations

from flint import arb

from ..errors import InputError, NotExactError
from .contexts import EXACT, TORCH, BallContext
from .floating import FloatModel
from .population import check_closed_form, population_ball
from .passes import Evaluation, evaluate_finite, forward, jacobian, context_layers

__all__ = ["evaluate", "evaluate_exact", "evaluate_ball", "evaluate_float", "Evaluation", "FloatModel", "forward",
           "jacobian", "context_layers",
           "EXACT", "TORCH", "BallContext", "ball_layers"]


def _finite_args(problem):
    d = problem.data
    return d.X, d.Y, problem.loss.reduction, problem.loss.weight_decay


def evaluate_exact(problem, point, order=2) -> Evaluation:
    """Exact rational loss, gradient and Hessian (piecewise-linear and polynomial activations, finite data)."""
    if not problem.finite:
        raise NotExactError("the Gaussian population loss is not rational: use the ball context")
    for a in problem.network.activations:
        if not a.exact:
            raise NotExactError(f"activation {a.name} is not rational: use the ball context")
    layers = [(L.W, L.b) for L in point.layers]
    X, Y, red, wd = _finite_args(problem)
    return evaluate_finite(EXACT, problem.network, X, Y, layers, red, wd, order)


def ball_layers(network, point, radius=0):
    """Layers as arb balls: trainable coordinates get ``radius`` (a number or one per flat coordinate)."""
    offsets, P = network.layer_offsets()
    radii = radius if isinstance(radius, (list, tuple)) else None
    if radii is not None and len(radii) != P:
        raise InputError(f"radius: expected {P} entries, got {len(radii)}")
    out = []
    for l, (L, off) in enumerate(zip(point.layers, offsets)):
        def ball(x, t):
            if off is None:
                return arb(x)
            r = radii[off + t] if radii is not None else radius
            return arb(x) if r == 0 else arb(x) + arb(0, r)  # arb(0, r) has radius >= r
        din = len(L.W[0])
        dout = len(L.W)
        W = [[ball(x, k * din + j) for j, x in enumerate(row)] for k, row in enumerate(L.W)]
        b = None if L.b is None else [ball(x, dout * din + k) for k, x in enumerate(L.b)]
        out.append((W, b))
    return out


def evaluate_ball(problem, point, radius=0, prec=128, order=2) -> Evaluation:
    """Ball enclosures of loss, gradient and Hessian at ``point`` or over the box point +- radius.

    Gaussian population loss (one-hidden-layer ReLU student and teacher, no biases): closed-form kernel derivatives
    (:mod:`.population`); where the box may hold a zero unit (no gradient) or a parallel pair (no Hessian enclosure)
    the derivative comes back None with the reason in ``kinks``.
    """
    ctx = BallContext(prec)
    with ctx.workprec():
        layers = ball_layers(problem.network, point, radius)
        if not problem.finite:
            check_closed_form(problem)
            teacher = ball_layers(problem.data.teacher_network, problem.data.teacher_point, 0)
            loss, grad, hess, kinks = population_ball(problem.network, layers, teacher,
                                                      problem.loss.weight_decay, order)
            return Evaluation(loss=loss, gradient=grad, hessian=hess, kinks=kinks, context="ball")
        X, Y, red, wd = _finite_args(problem)
        return evaluate_finite(ctx, problem.network, X, Y, layers, red, wd, order)


def evaluate_float(problem, point):
    """(loss, gradient, Hessian) in float64 via torch.func: evidence only."""
    model = FloatModel(problem, point)
    return model.evaluate(point.flatten_float(problem.network))


def evaluate(problem, point, context="exact", order=2, radius=0, prec=128):
    if context == "exact":
        return evaluate_exact(problem, point, order)
    if context == "ball":
        return evaluate_ball(problem, point, radius, prec, order)
    if context == "float":
        loss, g, h = evaluate_float(problem, point)
        return Evaluation(loss=loss, gradient=list(g), hessian=h, context="float")
    raise InputError(f"unknown context {context!r}; known: exact, ball, float")
