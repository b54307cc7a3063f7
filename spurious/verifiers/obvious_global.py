"""Global minima that are obvious (issue 13): a proved loss equal to a proved lower bound on the global minimum.

Lower bounds, each exact:

* 0: the squared loss (with or without weight decay) is >= 0. On the Gaussian population, the loss is exactly 0
  when the student computes the teacher's function: one hidden layer without biases, units grouped by their incoming
  vector up to a positive factor (positively homogeneous activation, so sigma(s z) = s sigma(z) for s > 0 and a zero
  unit outputs 0), the summed outgoing weights of every group equal to the teacher's.
* the best constant, c * sum_i ||y_i - mean(y)||^2, whenever the network output is the same for every sample at
  EVERY parameter value: all inputs x_i equal (e.g. X = 0), a hidden activation that is constant, or a frozen
  (non-trainable) layer with W = 0 (its output is its bias). Weight decay only adds a nonnegative term.
* the data term at the point itself, when the outputs on the data do not depend on the trainable parameters at all
  (a frozen layer with W = 0 followed only by frozen layers, or no trainable parameter). Without weight decay the
  loss is then constant: every point is a global, non-strict minimum (any coordinate is a flat line).

A point whose proved loss is <= such a bound is a global minimum, hence a local minimum (``local_min``; strictness
undecided unless the loss is constant). :func:`decide` upgrades an undecided certificate on any path.
"""

from __future__ import annotations

from dataclasses import replace

from flint import fmpq

from ..errors import NotExactError
from ..rationals import format_short
from ..certificate import (EXACT, GLOBAL, INCONCLUSIVE, INTERVAL, LOCAL_MIN, MINIMUM_VERDICTS, NON_STRICT_LOCAL_MIN,
                       UNKNOWN, Certificate)

__all__ = ["lower_bound", "decide", "output_constant_reason", "parameters_irrelevant"]

METHOD = "obvious lower bound on the global minimum"


def _is_constant_activation(act) -> bool:
    if act.kind == "piecewise_linear":
        return all(s == 0 for s in act.slopes)
    if act.kind == "polynomial":
        return all(c == 0 for c in act.coefficients[1:])
    return False


def _zero_frozen_layers(problem, point):
    """Indices l (0-based) of non-trainable layers whose weight matrix is exactly 0."""
    net = problem.network
    return [l for l, (tr, layer) in enumerate(zip(net.trainable, point.layers))
            if not tr and all(w == 0 for row in layer.W for w in row)]


def output_constant_reason(problem, point):
    """Why the network output is the same for every sample at every parameter value, or None."""
    if not problem.finite:
        return None
    X = problem.data.X
    if all(x == X[0] for x in X):
        return "all inputs x_i are equal" + (" (X = 0)" if all(v == 0 for v in X[0]) else "")
    net = problem.network
    for l, act in enumerate(net.activations):
        if _is_constant_activation(act):
            return f"the activation of hidden layer {l + 1} is constant"
    zero = _zero_frozen_layers(problem, point)
    if zero:
        return f"layer {zero[0] + 1} is frozen (not trainable) with W = 0, so its output is its bias alone"
    return None


def parameters_irrelevant(problem, point):
    """Why the outputs on the data do not depend on the trainable parameters, or None."""
    net = problem.network
    if net.num_params == 0:
        return "there is no trainable parameter"
    for l in _zero_frozen_layers(problem, point):
        if not any(net.trainable[l:]):
            return (f"layer {l + 1} is frozen with W = 0 and every later layer is frozen: the outputs are fixed, "
                    "whatever the trainable parameters")
    return None


def _data_term(problem, point):
    from ..arithmetic import evaluate_exact

    plain = replace(problem, loss=replace(problem.loss, weight_decay=fmpq(0)))
    return evaluate_exact(plain, point, order=0).loss


def _best_constant(problem):
    X, Y = problem.data.X, problem.data.Y
    n = len(X)
    c = fmpq(1, n) if problem.loss.reduction == "mean" else fmpq(1)
    total = fmpq(0)
    for o in range(len(Y[0])):
        m = sum((y[o] for y in Y), fmpq(0)) / n
        total += sum(((y[o] - m) ** 2 for y in Y), fmpq(0))
    return c * total


def lower_bound(problem, point):
    """(bound, reason, constant_loss): a proved lower bound on the global minimum (exact rational) and why;
    ``constant_loss`` is True when the loss is the same at every parameter value."""
    if problem.finite:
        why = parameters_irrelevant(problem, point)
        if why is not None:
            try:
                data = _data_term(problem, point)
            except NotExactError:  # smooth activations: exact only when the output is one constant (balls)
                plain = replace(problem, loss=replace(problem.loss, weight_decay=fmpq(0)))
                data = (None if output_constant_reason(problem, point) is None
                        else _exact_constant_output_loss(plain, point))
            if data is not None:
                const = problem.loss.weight_decay == 0 or problem.network.num_params == 0
                return data, f"{why}; the data term is {data} at every parameter value", const
        why = output_constant_reason(problem, point)
        if why is not None:
            b = _best_constant(problem)
            return b, (f"{why}: the network output is the same for every sample at every parameter value, so the "
                       f"loss is >= the best constant fit, c sum_i ||y_i - mean(y)||^2 = {b}"), False
    return fmpq(0), "the squared loss is >= 0", False


def _exact_constant_output_loss(problem, point, prec=128):
    """Exact loss when the output is the same for every sample and its ball evaluation is a point (e.g. tanh(0) = 0
    exactly in arb): c sum_i ||f - y_i||^2 + weight decay, else None."""
    from flint import arb

    from ..arithmetic.balls import ball_bounds
    from ..arithmetic.contexts import BallContext

    net = problem.network
    ctx = BallContext(prec)
    with ctx.workprec():
        h = [arb(v) for v in problem.data.X[0]]
        for l, layer in enumerate(point.layers):
            z = [sum((arb(w) * v for w, v in zip(row, h)), arb(0)) + (arb(layer.b[k]) if layer.b is not None else 0)
                 for k, row in enumerate(layer.W)]
            h = z if l == net.depth - 1 else [net.activations[l].evaluate(ctx, zk)[0] for zk in z]
    f = []
    for v in h:
        if not v.is_finite():
            return None
        lo, hi = ball_bounds(v)
        if lo != hi:
            return None
        f.append(lo)
    Y = problem.data.Y
    c = fmpq(1, len(Y)) if problem.loss.reduction == "mean" else fmpq(1)
    loss = c * sum(((fo - y[o]) ** 2 for y in Y for o, fo in enumerate(f)), fmpq(0))
    if problem.loss.weight_decay != 0:
        sq = sum((w * w for tr, layer in zip(net.trainable, point.layers) if tr for row in layer.W for w in row),
                 fmpq(0))
        loss += problem.loss.weight_decay / 2 * sq
    return loss


def _population_zero(problem, point):
    """The student computes the teacher's function exactly (one hidden layer, positively homogeneous)."""
    if problem.finite or problem.loss.weight_decay != 0:
        return False
    t_net, t_point = problem.data.teacher_network, problem.data.teacher_point
    net = problem.network
    if net.depth != 2 or t_net.depth != 2 or net.activations[0] != t_net.activations[0]:
        return False
    if net.activations[0].homogeneity != 1 or any(net.bias) or any(t_net.bias):
        return False
    return _canonical(point) == _canonical(t_point)


def _canonical(point):
    W, V = point.layers[0].W, point.layers[1].W
    groups = {}
    for j, row in enumerate(W):
        s = next((abs(x) for x in row if x != 0), None)
        if s is None:
            continue  # a zero unit outputs sigma(0) = 0 (homogeneous)
        key = tuple(x / s for x in row)
        out = groups.setdefault(key, [fmpq(0)] * len(V))
        for o in range(len(V)):
            out[o] += V[o][j] * s
    return {k: tuple(v) for k, v in groups.items() if any(x != 0 for x in v)}


def decide(candidate, cert):
    """Upgrade ``cert`` when the point's proved loss equals an obvious lower bound: global, and (if undecided) a
    local minimum. Refutations and decided non-global answers are returned unchanged."""
    if cert.verdict not in MINIMUM_VERDICTS and cert.verdict != INCONCLUSIVE:
        return cert
    if cert.glob == GLOBAL and cert.verdict != INCONCLUSIVE:
        return cert
    if cert.glob not in (UNKNOWN, GLOBAL):
        return cert
    problem, point = candidate.problem, candidate.point
    if not problem.finite:
        if not _population_zero(problem, point):
            return cert
        reason = ("the student computes exactly the teacher's function (units grouped by incoming direction up to a "
                  "positive factor, equal summed outgoing weights): the population loss is exactly 0, its least value")
        return _upgrade(candidate, cert, fmpq(0), fmpq(0), reason, False, EXACT)
    try:
        bound, why, constant = lower_bound(problem, point)
    except NotExactError:
        return cert
    from .globality import loss_bounds

    if isinstance(cert.loss, fmpq) and cert.rigor == EXACT and cert.radius is None:  # the stored point's exact loss
        lo = hi = value = cert.loss
    else:
        lo, hi, value = loss_bounds(problem, point)
    if hi > bound and lo != hi and "every sample" in why:
        exact = _exact_constant_output_loss(problem, point)
        if exact is not None:
            lo = hi = value = exact
    if hi > bound:
        return cert
    rigor = EXACT if lo == hi else INTERVAL
    return _upgrade(candidate, cert, value, bound, f"{why}; the loss here is {format_short(hi)} <= that bound: a "
                                                   "global minimum, hence a local minimum", constant, rigor)


def _upgrade(candidate, cert, loss, bound, reason, constant, rigor):
    reasons = list(cert.reasons) + [reason]
    if cert.verdict in MINIMUM_VERDICTS:
        return replace(cert, glob=GLOBAL, global_lower_bound=bound, reasons=reasons)
    verdict = LOCAL_MIN
    if constant and _off_orbit(candidate):
        verdict = NON_STRICT_LOCAL_MIN
        reasons.append("the loss is constant in the trainable parameters: moving any coordinate is a flat line off "
                       "every orbit, so the minimum is not strict")
    else:
        reasons.append("strictness is not decided by this argument: reported as local_min")
    return Certificate(verdict, rigor, glob=GLOBAL, loss=loss, global_lower_bound=bound, symmetries=cert.symmetries,
                       reasons=reasons, method=(cert.method + " + " if cert.method else "") + METHOD)


def _off_orbit(candidate):
    """The symmetry tangents do not span the parameter space (so a flat coordinate line leaves the orbit)."""
    from ..linalg import rank
    from .symmetry import symmetry_tangents

    net, point = candidate.problem.network, candidate.point
    T = [list(t.vector) for t in symmetry_tangents(net, point, candidate.problem.loss.weight_decay)]
    return net.num_params > (rank(T) if T else 0)
