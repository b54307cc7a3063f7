"""First-order facts at kinks, any depth: exact one-sided directional derivatives (issue 13).

For finite data and piecewise-linear or polynomial activations the loss is locally Lipschitz and directionally
differentiable, and the chain rule holds for one-sided directional derivatives (Hadamard directional
differentiability of Lipschitz piecewise-smooth maps). Forward mode along a direction d, per sample:

    dz_l = dW_l h_{l-1} + W_l dh_{l-1} + db_l,
    dh_l = sigma'(z) dz  inside a piece;  on a breakpoint  s_right dz if dz > 0, s_left dz if dz < 0, 0 if dz = 0,
    D(d) = lim_{t -> 0+} (L(x + t d) - L(x)) / t = 2c sum_i <f(x_i) - y_i, df_i> + lambda <W, dW>,

all exact rationals. This is valid at every depth, whatever the kinks; nothing else is assumed.

Two arguments:

1. ``not_critical``: a coordinate q with D(e_q) = -D(-e_q) != 0 has a partial derivative that exists (two-sided)
   and is nonzero; -sign e_q is a descent direction. This always applies to the output layer's weights and bias (the
   output layer is linear, so moving them changes no pre-activation), and to any parameter no kink depends on.
2. ``not_local_min``: a direction with D(d) < 0 (tried: minus the vector of the partial derivatives that exist, and
   +-e_q for the other coordinates) descends to first order.

Where it does not decide: when every existing partial derivative vanishes and every tried one-sided derivative is
>= 0 (e.g. both sides of a kink go up, or a flat side that needs second order). A coordinate whose one-sided
derivatives differ (D(e_q) != -D(-e_q)) has no partial derivative and is never called nonzero by argument 1.
The second-order analysis at kinks beyond one hidden layer is not implemented (:mod:`.kinks` covers one hidden layer).
"""

from __future__ import annotations

from flint import fmpq

from ..arithmetic.contexts import EXACT as EXACT_CONTEXT
from ..certificate import NOT_CRITICAL, NOT_LOCAL_MIN

__all__ = ["directional_derivative", "first_order_at_kinks"]


def _sigma_dir(act, z, dz):
    """One-sided derivative of sigma at z along dz (exact)."""
    if dz == 0:
        return fmpq(0)
    if act.kind == "piecewise_linear":
        bps = act.breakpoints
        p = sum(1 for c in bps if z > c)
        if any(z == c for c in bps):
            return act.slopes[p + 1] * dz if dz > 0 else act.slopes[p] * dz
        return act.slopes[p] * dz
    # polynomial activation: differentiable
    deriv = sum((e * c * z ** (e - 1) for e, c in enumerate(act.coefficients) if e >= 1), fmpq(0))
    return deriv * dz


def directional_derivative(problem, point, d) -> fmpq:
    """D(d) = lim_{t->0+} (L(x + t d) - L(x)) / t, exactly (finite data, piecewise-linear/polynomial, any depth)."""
    net = problem.network
    offsets, _ = net.layer_offsets()
    X, Y = problem.data.X, problem.data.Y
    c = fmpq(1, len(X)) if problem.loss.reduction == "mean" else fmpq(1)
    dlayers = []
    decay = fmpq(0)
    for l, layer in enumerate(point.layers):
        off = offsets[l]
        dout, din = len(layer.W), len(layer.W[0])
        if off is None:
            dlayers.append(None)
            continue
        dW = [[d[off + k * din + j] for j in range(din)] for k in range(dout)]
        db = [d[off + dout * din + k] for k in range(dout)] if layer.b is not None else None
        decay += sum((w * dw for row, drow in zip(layer.W, dW) for w, dw in zip(row, drow)), fmpq(0))
        dlayers.append((dW, db))
    total = fmpq(0)
    for x, y in zip(X, Y):
        h, dh = list(x), [fmpq(0)] * len(x)
        for l, layer in enumerate(point.layers):
            dl = dlayers[l]
            z, dz = [], []
            for k, row in enumerate(layer.W):
                zk = sum((w * v for w, v in zip(row, h)), fmpq(0)) + (layer.b[k] if layer.b is not None else 0)
                dzk = sum((w * v for w, v in zip(row, dh)), fmpq(0))
                if dl is not None:
                    dzk += sum((w * v for w, v in zip(dl[0][k], h)), fmpq(0)) + (dl[1][k] if dl[1] is not None else 0)
                z.append(zk)
                dz.append(dzk)
            if l == net.depth - 1:
                h, dh = z, dz
            else:
                act = net.activations[l]
                h = [act.evaluate(EXACT_CONTEXT, zk)[0] for zk in z]
                dh = [_sigma_dir(act, zk, dzk) for zk, dzk in zip(z, dz)]
        total += sum((2 * (f - yv) * df for f, yv, df in zip(h, y, dh)), fmpq(0))
    return c * total + problem.loss.weight_decay * decay


WORK_BUDGET = 3_000_000  # about n * P * (number of coordinates tried) exact operations


def _coordinates(net, n):
    """Coordinates to try, the output layer's first (their partial derivatives always exist), within the budget."""
    offsets, P = net.layer_offsets()
    order = []
    for l in reversed(range(net.depth)):
        if offsets[l] is None:
            continue
        end = next((o for o in offsets[l + 1:] if o is not None), P)
        order += list(range(offsets[l], end))
    last = next((offsets[l] for l in reversed(range(net.depth)) if offsets[l] is not None), P)
    keep = max(P - last, WORK_BUDGET // max(1, n * P))
    return order[:keep]


def first_order_at_kinks(candidate, loss, reasons, refute):
    """``not_critical`` (an existing nonzero partial derivative) or ``not_local_min`` (a negative one-sided
    derivative), via ``refute``; None when neither applies."""
    problem, point = candidate.problem, candidate.point
    net = problem.network
    P = net.num_params
    names = net.parameter_names()
    partial = {}
    one_sided = {}
    for q in _coordinates(net, problem.data.n):
        e = [fmpq(0)] * P
        e[q] = fmpq(1)
        plus = directional_derivative(problem, point, e)
        e[q] = fmpq(-1)
        minus = directional_derivative(problem, point, e)
        if plus == -minus:
            partial[q] = plus
        else:
            one_sided[q] = (plus, minus)
    nonzero = [q for q, g in partial.items() if g != 0]
    if nonzero:
        d = [fmpq(0)] * P
        for q in nonzero:
            d[q] = -partial[q]
        slope = directional_derivative(problem, point, d)
        shown = ", ".join(f"dL/d{names[q]} = {partial[q]}" for q in nonzero[:4])
        more = f" and {len(nonzero) - 4} more" if len(nonzero) > 4 else ""
        reasons.append(f"first order at the kinks (exact one-sided directional derivatives, any depth): the partial "
                       f"derivative(s) {shown}{more} exist (the one-sided derivatives along +e_q and -e_q are exact "
                       "and opposite) and are nonzero: not a critical point")
        if slope < 0:
            reasons.append(f"d = minus those partial derivatives (other coordinates fixed) has one-sided directional "
                           f"derivative {slope} < 0 (exact): a descent direction")
            return refute(candidate, NOT_CRITICAL, loss, reasons, d)
        q = nonzero[0]
        d = [fmpq(0)] * P
        d[q] = -1 if partial[q] > 0 else fmpq(1)
        reasons.append(f"d = {'-' if partial[q] > 0 else '+'}e_q for q = {names[q]} has directional derivative "
                       f"{-abs(partial[q])} < 0: a descent direction")
        return refute(candidate, NOT_CRITICAL, loss, reasons, d)
    for q, (plus, minus) in one_sided.items():
        for sign, val in ((1, plus), (-1, minus)):
            if val < 0:
                d = [fmpq(0)] * P
                d[q] = fmpq(sign)
                reasons.append(f"first order at the kinks: along {'+' if sign > 0 else '-'}e_q for q = {names[q]} "
                               f"the exact one-sided directional derivative is {val} < 0 (its two sides differ: "
                               f"{plus} and {-minus}; no partial derivative): the loss decreases to first order")
                return refute(candidate, NOT_LOCAL_MIN, loss, reasons, d)
    return None
