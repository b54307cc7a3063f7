"""Two-layer ReLU networks with weight decay: the convex reformulation of Pilanci and Ergen (ICML 2020).

Our objective (candidate format): L = c * sum_i (f(x_i) - y_i)^2 + (lambda/2) * (||W_1||_F^2 + ||w_2||^2), with
c = 1/n (mean) or 1 (sum), f(x) = sum_j a_j (u_j . x + b_j)_+ (+ b_out); biases are NOT penalised.
Rescaling (u_j, b_j) by t and a_j by 1/t leaves f unchanged and min_t (lambda/2)(t^2||u||^2 + a^2/t^2) =
lambda |a| ||u||, so with v = |a| (u, b) the convex program over activation patterns D_i = diag(1[X~ g >= 0]) is

    min  c ||sum_i D_i X~ (v_i - w_i) + b_out - y||^2 + lambda sum_i (||E v_i|| + ||E w_i||)
    s.t. (2 D_i - I) X~ v_i >= 0, (2 D_i - I) X~ w_i >= 0,

with E the projection on the weight part (the bias coordinate is unpenalised; Pilanci-Ergen append a ones column
and penalise it, and use (1/2)||.||^2 + (beta/2) ||.||^2, i.e. beta = lambda / (2c) after dividing by 2c).
With all patterns its value is <= the objective of every network of any width (a lower bound), and equal to the
global minimum once the width is >= the number of nonzero groups (recovery: a = +-sqrt||E v||, (u,b) = v/|a|).

Rigorous lower bound (weak duality, proved directly for networks): for every z with
|sum_k z_k (u . x_k + b)_+| <= lambda ||u|| for all (u, b), and sum_k z_k = 0 when a bias makes constants free,
L >= -z.y - ||z||^2 / (4c). For 1-D inputs the constraint is a finite check, exact in rationals: the function of b
is piecewise linear with breakpoints b = -u x_k, u = +-1. In higher dimension patterns are sampled: the program then
gives only a witness (an upper bound) and the lower bound is labelled numerical.
"""

from __future__ import annotations

import numpy as np
from flint import fmpq

from ...rationals import fmpq_to_float
from ...certificate import EXACT, NUMERICAL
from .bound import Bound, loss_scale, polish
from .relu_cells import cells, dual_norm_certificate
from .rigor import best_scale, rationalize

__all__ = ["ReluWeightDecay", "patterns", "dual_bound_1d"]


def _is_relu(a):
    return (a.kind == "piecewise_linear" and tuple(a.breakpoints) == (0,) and tuple(a.slopes) == (0, 1)
            and a.offset == 0)


def accepts(problem) -> bool:
    net = problem.network
    return (problem.finite and net.depth == 2 and _is_relu(net.activations[0]) and all(net.trainable)
            and net.widths[2] == 1 and problem.loss.weight_decay > 0)


def _xt(problem):
    b = problem.network.bias[0]
    return [list(x) + ([fmpq(1)] if b else []) for x in problem.data.X]


def patterns(problem, samples=2000, seed=0):
    """(list of 0/1 tuples, exact?): all arrangement patterns for 1-D inputs, else sampled from Gaussian gates."""
    Xt = _xt(problem)
    n, dp = len(Xt), len(Xt[0])
    out = set()
    if problem.network.widths[0] == 1:
        xs = [x[0] for x in Xt]
        if problem.network.bias[0]:
            for t in set(xs):
                out.add(tuple(int(x >= t) for x in xs))
                out.add(tuple(int(x <= t) for x in xs))
        else:
            out.add(tuple(int(x >= 0) for x in xs))
            out.add(tuple(int(x <= 0) for x in xs))
        exact = True
    elif dp <= 3:
        return [p for p in cells(Xt) if any(p)], True
    else:
        rng = np.random.default_rng(seed)
        Xf = np.array([[fmpq_to_float(v) for v in r] for r in Xt])
        for g in rng.standard_normal((samples, dp)):
            out.add(tuple(int(v >= 0) for v in Xf @ g))
        exact = False
    out.discard(tuple([0] * n))
    return sorted(out), exact


def _solve(problem, pats, solver):
    import cvxpy as cp

    Xt = _xt(problem)
    Xf = np.array([[fmpq_to_float(v) for v in r] for r in Xt])
    y = np.array([fmpq_to_float(r[0]) for r in problem.data.Y])
    d = problem.network.widths[0]
    D = np.array(pats, dtype=float).T  # n x P
    S = 2 * D - 1
    P = D.shape[1]
    V = cp.Variable((P, Xf.shape[1]))
    W = cp.Variable((P, Xf.shape[1]))
    pred = cp.sum(cp.multiply(D, Xf @ (V - W).T), axis=1)
    if problem.network.bias[1]:
        c0 = cp.Variable()
        pred = pred + c0
    c = fmpq_to_float(loss_scale(problem))
    lam = fmpq_to_float(problem.loss.weight_decay)
    obj = c * cp.sum_squares(pred - y) + lam * (cp.sum(cp.norm(V[:, :d], 2, axis=1)) + cp.sum(cp.norm(W[:, :d], 2,
                                                                                                      axis=1)))
    cons = [cp.multiply(S, Xf @ V.T) >= 0, cp.multiply(S, Xf @ W.T) >= 0]
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver=(solver or "CLARABEL").upper())
    return prob, pred, V, W, (c0.value if problem.network.bias[1] else 0.0)


def dual_bound_1d(problem, z):
    """Exact weak-duality lower bound from an approximate dual z (1-D inputs): repair, check, scale; or None."""
    Xt = _xt(problem)
    xs = [x[0] for x in Xt]
    y = [r[0] for r in problem.data.Y]
    n = len(z)
    lam = problem.loss.weight_decay
    c = loss_scale(problem)
    if problem.network.bias[0] or problem.network.bias[1]:
        m = sum(z, fmpq(0)) / n
        z = [v - m for v in z]  # constants are free: sum z = 0
    M = _dual_norm_1d(xs, z, problem.network.bias[0])
    tmax = fmpq(1) if M <= lam else lam / M
    a = -sum((zi * yi for zi, yi in zip(z, y)), fmpq(0))
    b = sum((zi * zi for zi in z), fmpq(0)) / (4 * c)
    t = best_scale(a, b, tmax)
    return a * t - b * t * t, M


def dual_bound_cells(problem, z, pats, solver=None):
    """Exact weak-duality lower bound from z with a per-cell certificate (inputs of lifted dimension <= 3)."""
    net = problem.network
    n = len(z)
    if net.bias[0] or net.bias[1]:
        m = sum(z, fmpq(0)) / n
        z = [v - m for v in z]
    rho = dual_norm_certificate(_xt(problem), z, pats, net.bias[0], net.widths[0], solver)
    if rho is None:
        return None
    lam = problem.loss.weight_decay
    tmax = fmpq(1) if rho <= lam else lam / rho
    y = [r[0] for r in problem.data.Y]
    a = -sum((zi * yi for zi, yi in zip(z, y)), fmpq(0))
    b = sum((zi * zi for zi in z), fmpq(0)) / (4 * loss_scale(problem))
    t = best_scale(a, b, tmax)
    return a * t - b * t * t


def _dual_norm_1d(xs, z, bias):
    """max over |u| <= 1 (and b, if bias) of |sum_k z_k (u x_k + b)_+|, exactly (needs sum z = 0 with a bias)."""
    if not bias:
        return max(abs(sum((zk * x for zk, x in zip(z, xs) if s * x > 0), fmpq(0))) for s in (1, -1))
    best = fmpq(0)
    for s in (1, -1):
        for bk in xs:
            b = -s * bk
            h = sum((zk * (s * x + b) for zk, x in zip(z, xs) if s * x + b > 0), fmpq(0))
            best = max(best, abs(h))
    return best


class ReluWeightDecay:
    """Reduction: two-layer ReLU + weight decay -> group-lasso over activation patterns (Pilanci-Ergen 2020)."""

    name = "Pilanci-Ergen convex reformulation"

    @staticmethod
    def accepts(problem) -> bool:
        return accepts(problem)

    @staticmethod
    def apply(problem, point=None, solver=None, seed=0) -> Bound:
        pats, exact = patterns(problem, seed=seed)
        prob, pred, V, W, c0 = _solve(problem, pats, solver)
        reasons = [f"{len(pats)} activation patterns ({'all, 1-D input' if exact else 'sampled: upper bound only'}); "
                   f"solver {(solver or 'clarabel').lower()} status {prob.status}"]
        if prob.status not in ("optimal", "optimal_inaccurate") or pred.value is None:
            return Bound(None, None, NUMERICAL, ReluWeightDecay.name, reasons + ["solver failed"])
        witness, wloss, used = _recover(problem, V.value, W.value, c0)
        reasons.append(f"recovered {used} neuron(s) for width {problem.network.widths[1]}"
                       + ("" if witness is None else f"; witness loss {float(wloss):.10g} (exact)"))
        c = fmpq_to_float(loss_scale(problem))
        y = np.array([fmpq_to_float(r[0]) for r in problem.data.Y])
        if problem.network.widths[0] == 1:
            z = [rationalize(2 * c * (p - t), 50) for p, t in zip(pred.value, y)]
            lb, M = dual_bound_1d(problem, z)
            reasons.append(f"dual z = 2c (pred - y) repaired exactly (max |z.(u x + b)_+| = {float(M):.6g} vs lambda);"
                           " lower bound -z.y - ||z||^2/(4c) by weak duality")
            return Bound(lb, None, EXACT, ReluWeightDecay.name + " (1-D, dual certified)", reasons,
                         global_upper_bound=wloss, witness=witness, numerical_value=float(prob.value))
        if exact:
            z = [rationalize(2 * c * (p - t), 50) for p, t in zip(pred.value, y)]
            lb = dual_bound_cells(problem, z, pats, solver)
            if lb is not None:
                reasons.append("dual z = 2c (pred - y), sum z = 0; per-cell multipliers certify "
                               "|z.(X~ v)_+| <= rho ||u|| exactly; lower bound -t z.y - t^2 ||z||^2/(4c), t <= lambda/rho")
                return Bound(lb, None, EXACT, ReluWeightDecay.name + f" ({len(pats)} cells, dual certified)",
                             reasons, global_upper_bound=wloss, witness=witness, numerical_value=float(prob.value))
            reasons.append("the per-cell dual certificate failed: no lower bound claimed")
        else:
            reasons.append("patterns sampled: no lower bound claimed")
        return Bound(None, None, NUMERICAL, ReluWeightDecay.name + ("" if exact else " (sampled patterns)"), reasons,
                     global_upper_bound=wloss, witness=witness, numerical_value=float(prob.value))


def _sparsify(problem, merged):
    """A vertex of {s >= 0 : sum_i s_i sign_i (X~ u_i)_+ + c0 = pred}, minimising sum_i s_i ||E u_i||, over the
    solver's unit directions u_i: same prediction, no larger penalty, at most n (+1) neurons (Caratheodory). An
    interior-point solver returns the centre of an optimal face instead, with many more groups than needed."""
    from scipy.optimize import linprog

    if not merged:
        return merged, 0.0
    Xf = np.array([[fmpq_to_float(v) for v in r] for r in _xt(problem)])
    d = problem.network.widths[0]
    units = [g[2] / np.linalg.norm(g[2][:d]) for g in merged]
    A = np.array([sign * np.maximum(Xf @ u, 0) for u, (_, sign, _) in zip(units, merged)]).T
    target = A @ np.array([np.linalg.norm(g[2][:d]) for g in merged])
    cost = np.ones(len(merged))
    free = problem.network.bias[1]
    if free:
        A = np.hstack([A, np.ones((A.shape[0], 2))])  # a change of the output bias, as c+ - c-
        cost = np.concatenate([cost, [0.0, 0.0]])
    res = linprog(cost, A_eq=A, b_eq=target, bounds=(0, None), method="highs-ds")
    if res.status != 0:
        return merged, 0.0
    out = []
    for t, (u, g) in zip(res.x[:len(merged)], zip(units, merged)):
        if t > 1e-9:
            out.append([g[0], g[1], t * u])
    return out, (res.x[-2] - res.x[-1] if free else 0.0)


def _recover(problem, V, W, c0, tol=1e-7):
    """Network from the groups: a = +-sqrt||E v||, (u, b) = v / |a|; then polished by local search.

    Collinear groups of one sign are merged first (exact: (X~(v1 + v2))_+ = (X~ v1)_+ + (X~ v2)_+ and
    ||v1 + v2|| = ||v1|| + ||v2|| for v2 = t v1, t > 0); an interior-point solver splits a neuron whose kink sits on
    a data point between the two adjacent patterns. If more groups remain than the width, the largest are kept.
    """
    net = problem.network
    d, m = net.widths[0], net.widths[1]
    merged = []  # [direction, sign, summed v]
    const = 0.0  # groups v = (0, b): a constant sign * b_+ at no penalty
    for G, sign in ((V, 1.0), (W, -1.0)):
        for v in G:
            s = float(np.linalg.norm(v[:d]))
            if s <= tol:
                const += sign * max(float(v[d]), 0.0) if net.bias[0] else 0.0
                continue
            u = v / np.linalg.norm(v)
            for g in merged:
                if g[1] == sign and np.linalg.norm(g[0] - u) < 1e-5:
                    g[2] = g[2] + v
                    break
            else:
                merged.append([u, sign, v.copy()])
    merged, dc0 = _sparsify(problem, merged)
    c0 = c0 + dc0
    groups = sorted(((float(np.linalg.norm(v[:d])), sign, v) for _, sign, v in merged), key=lambda t: -t[0])
    used = len(groups)
    rows, a = [], []
    for s, sign, v in groups[:m]:
        al = np.sqrt(s)
        rows.append(v / al)
        a.append(sign * al)
    if net.bias[1]:
        c0 = c0 + const
    elif const != 0 and len(rows) < m:  # u = 0, a tiny output weight: the constant at a negligible penalty
        rows.append(np.array([0.0] * d + [abs(const) * 1e3]))
        a.append(float(np.sign(const)) * 1e-3)
    while len(rows) < m:
        rows.append(np.zeros(len(V[0])))
        a.append(0.0)
    Ws = [np.array(rows)[:, :d], np.array([a])]
    bs = [np.array(rows)[:, d] if net.bias[0] else None, np.array([c0]) if net.bias[1] else None]
    witness, loss = polish(problem, Ws, bs, steps=200 if used > m else 0)
    return witness, loss, used
