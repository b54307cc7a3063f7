"""One hidden layer with quadratic activation: the lifting Z = sum_j a_j w~_j w~_j^T and its convex relaxations.

f(x) = sum_j a_j c (w_j . x + b_j)^2 (+ b_out) = x~^T Z x~ (+ b_out) with x~ = [x; 1] when the first layer has a
bias (Soltanolkotabi-Javanmard-Lee 2019, Lemma 6.1; Du-Lee 2018; Bartan-Pilanci "neural spectrahedra").

* Output weights trained (free signs): Z ranges over symmetric matrices of rank <= k (per output, coupled for several
  outputs). Dropping the rank leaves linear least squares over symmetric Z, solved exactly in rationals: a lower
  bound for every width; the global minimum when k >= d' (one output) or k >= d'(d'+1)/2, without weight decay.
  An exact minimiser is factored by rational rank-one (Wedderburn) reduction into a witness network.
* Output weights fixed: Z = P - N with P, N PSD of rank <= #positive / #negative products c v_j. Dropping the ranks
  gives an SDP (cvxpy), exact when each present sign has >= d' slots (SJL Thm 2.1 when both do: then it is the
  least squares; the PSD case is Burer-Monteiro). Weight decay (lambda/2)||W||^2 is relaxed to the linear term
  (lambda / (2 max|c v|)) tr(E P), E = identity on the weight block. The bound is made rigorous from the dual:
  u = 2c (pred - y) repaired exactly to S(u) + mu E >= 0 (shift along u = +-1 by a verified lambda_min), and
  g(u) = -u^T y - ||u||^2 / (4c) computed in rationals (weak duality).
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_mat

from ...arithmetic import evaluate_exact
from ...errors import InternalError
from ...linalg import least_squares
from ...network import Layer, Point
from ...rationals import fmpq_to_float
from ...certificate import EXACT, NUMERICAL
from .bound import Bound, loss_scale
from .rigor import best_scale, mat, min_eig_lower, rationalize

__all__ = ["Quadratic", "ls_bound", "sdp_bound"]


def _coef(act):
    c = act.coefficients
    return c[2] if len(c) == 3 and c[0] == 0 and c[1] == 0 and c[2] != 0 else None


def accepts(problem) -> bool:
    net = problem.network
    return (problem.finite and net.depth == 2 and _coef(net.activations[0]) is not None and net.trainable[0])


def _xt(problem):
    b = problem.network.bias[0]
    return [list(x) + ([fmpq(1)] if b else []) for x in problem.data.X]


def _pairs(dp):
    return [(a, b) for a in range(dp) for b in range(a, dp)]


def _features(Xt, const):
    """Rows phi(x~) with phi . svec(Z) = x~^T Z x~ (off-diagonal entries counted twice), plus a constant column."""
    dp = len(Xt[0])
    return [[x[a] * x[b] * (1 if a == b else 2) for a, b in _pairs(dp)] + ([fmpq(1)] if const else []) for x in Xt]


def _columns(F):
    return [list(c) for c in zip(*F)]


def _unsvec(z, dp):
    Z = [[fmpq(0)] * dp for _ in range(dp)]
    for (a, b), v in zip(_pairs(dp), z):
        Z[a][b] = Z[b][a] = v
    return Z


def wedderburn(Z):
    """Exact Z = sum_k d_k l_k l_k^T (rational; rank-one reductions Z - (Zv)(Zv)^T / v^T Z v)."""
    n = len(Z)
    Z = [row[:] for row in Z]
    out = []
    while True:
        v = next(([1 if t == i else 0 for t in range(n)] for i in range(n) if Z[i][i] != 0), None)
        if v is None:
            ij = next(((i, j) for i in range(n) for j in range(n) if Z[i][j] != 0), None)
            if ij is None:
                return out
            v = [1 if t in ij else 0 for t in range(n)]
        Zv = [sum((Z[i][t] * v[t] for t in range(n)), fmpq(0)) for i in range(n)]
        q = sum((v[i] * Zv[i] for i in range(n)), fmpq(0))
        out.append((1 / q, Zv))  # Z - Zv Zv^T / q
        for i in range(n):
            for j in range(n):
                Z[i][j] -= Zv[i] * Zv[j] / q


def ls_bound(problem, point=None):
    """Exact least-squares lower bound (all outputs independent, free signs): (value, per-output (Z, const)).

    A fixed output layer's bias (read from ``point``) is subtracted from the labels; a trained one is a free constant.
    """
    net = problem.network
    Xt = _xt(problem)
    const = net.bias[1] and net.trainable[1]
    fixed_b = point.layers[1].b if (net.bias[1] and not net.trainable[1]) else None
    F = _features(Xt, const)
    c = loss_scale(problem)
    total, sols = fmpq(0), []
    for o in range(net.widths[-1]):
        z, _, val = least_squares(_columns(F), [y[o] - (fixed_b[o] if fixed_b else 0) for y in problem.data.Y],
                                  minimum_norm=False)
        total += val
        sols.append((_unsvec(z, len(Xt[0])), z[-1] if const else fmpq(0)))
    return c * total, sols


def _ls_witness(problem, Z, b0, coef):
    """A width-k network realising x~^T Z x~ + b0 exactly (None if rank Z > k)."""
    net = problem.network
    d, k = net.widths[0], net.widths[1]
    terms = wedderburn(Z)
    if len(terms) > k:
        return None
    W, bvec, a = [], [], []
    for dk, l in terms + [(fmpq(0), [fmpq(0)] * len(Z))] * (k - len(terms)):
        W.append(tuple(l[:d]))
        bvec.append(l[d] if net.bias[0] else None)
        a.append(dk / coef)
    L1 = Layer(tuple(W), tuple(bvec) if net.bias[0] else None)
    L2 = Layer((tuple(a),), (b0,) if net.bias[1] else None)
    return Point([L1, L2])


class Quadratic:
    """Reduction: quadratic-activation network -> least squares / SDP over the lifted matrix Z."""

    name = "quadratic lifting"

    @staticmethod
    def accepts(problem) -> bool:
        return accepts(problem)

    @staticmethod
    def apply(problem, point=None, solver=None) -> Bound:
        net = problem.network
        coef = _coef(net.activations[0])
        dp = net.widths[0] + (1 if net.bias[0] else 0)
        k, dout = net.widths[1], net.widths[2]
        wd = problem.loss.weight_decay
        if not net.trainable[1] and dout == 1 and point is not None:
            return sdp_bound(problem, point, solver)
        value, sols = ls_bound(problem, point)
        reasons = ["lifting f(x) = x~^T Z x~; rank and sign constraints dropped: exact least squares over symmetric Z"]
        if wd != 0:
            reasons.append("weight decay dropped (penalty >= 0): a lower bound only")
        wide = (dout == 1 and k >= dp) or k >= dp * (dp + 1) // 2
        if net.trainable[1] and wd == 0 and wide:
            witness = _ls_witness(problem, *sols[0], coef) if dout == 1 else None
            if witness is not None:
                loss = evaluate_exact(problem, witness, order=0).loss
                if loss != value:
                    raise InternalError(f"least-squares witness has loss {loss}, expected {value}")
            reasons.append(f"width {k} >= {dp if dout == 1 else dp * (dp + 1) // 2}: every symmetric Z is reachable,"
                           " so this is the global minimum (SJL19 Lemma 6.1 / Thm 2.1)")
            return Bound(value, value, EXACT, Quadratic.name + " (least squares, exact)", reasons,
                         global_upper_bound=value, witness=witness)
        reasons.append(f"width {k} below the threshold or signs constrained: a lower bound only")
        return Bound(value, None, EXACT, Quadratic.name + " (least squares)", reasons)


def _slots(problem, point):
    coef = _coef(problem.network.activations[0])
    v = point.layers[1].W[0]
    return [coef * x for x in v]


def sdp_bound(problem, point, solver=None) -> Bound:
    """Fixed output weights: SDP over Z = P - N (P, N PSD as the signs allow), made rigorous by dual repair."""
    import cvxpy as cp

    net = problem.network
    slots = _slots(problem, point)
    pos = [j for j, s in enumerate(slots) if s > 0]
    neg = [j for j, s in enumerate(slots) if s < 0]
    Xt = _xt(problem)
    dp = len(Xt[0])
    b2 = point.layers[1].b[0] if net.bias[1] else fmpq(0)
    y = [row[0] - b2 for row in problem.data.Y]
    c = loss_scale(problem)
    lam = problem.loss.weight_decay
    E = np.diag([1.0] * net.widths[0] + [0.0] * (dp - net.widths[0]))
    mu_p = lam / (2 * max(slots[j] for j in pos)) if pos else None
    mu_n = lam / (2 * max(-slots[j] for j in neg)) if neg else None
    Xf = np.array([[fmpq_to_float(x) for x in r] for r in Xt])
    yf = np.array([fmpq_to_float(v) for v in y])
    P = cp.Variable((dp, dp), PSD=True) if pos else None
    N = cp.Variable((dp, dp), PSD=True) if neg else None
    Z = (P if P is not None else 0) - (N if N is not None else 0)
    if P is None and N is None:
        Z = cp.Constant(np.zeros((dp, dp)))
    pred = cp.sum(cp.multiply(Xf @ Z, Xf), axis=1)
    obj = fmpq_to_float(c) * cp.sum_squares(pred - yf)
    if P is not None and lam != 0:
        obj = obj + fmpq_to_float(mu_p) * cp.trace(E @ P)
    if N is not None and lam != 0:
        obj = obj + fmpq_to_float(mu_n) * cp.trace(E @ N)
    prob = cp.Problem(cp.Minimize(obj))
    prob.solve(solver=(solver or "CLARABEL").upper())
    reasons = [f"SDP over Z = P - N: {len(pos)} positive and {len(neg)} negative output slots, d' = {dp}; "
               f"solver {(solver or 'clarabel').lower()} status {prob.status}"]
    exact_regime = (not pos or len(pos) >= dp) and (not neg or len(neg) >= dp)
    if prob.status not in ("optimal", "optimal_inaccurate") or pred.value is None:
        return Bound(None, None, NUMERICAL, "quadratic SDP", reasons + ["solver failed"])
    u = [rationalize(2 * fmpq_to_float(c) * (p - t), 50) for p, t in zip(pred.value, yf)]
    lb = _repair(u, Xt, y, c, mu_p, mu_n, net.widths[0], reasons)
    witness, wloss = _sdp_witness(problem, point, P, N, pos, neg, slots)
    if exact_regime:
        reasons.append("each present sign has >= d' slots: the rank constraints are vacuous, SDP value = global min")
    else:
        reasons.append("fewer slots than d' for some sign: the SDP is a relaxation (lower bound)")
    rigor = EXACT if lb is not None else NUMERICAL
    if lb is None:
        lb = rationalize(prob.value, 50)
    return Bound(lb, None, rigor, "quadratic SDP (dual repaired)" if rigor == EXACT else "quadratic SDP", reasons,
                 global_upper_bound=wloss, witness=witness, numerical_value=float(prob.value))


def _S(u, Xt, sign=1, mu=None, d=0):
    dp = len(Xt[0])
    S = fmpq_mat(dp, dp)
    for ui, x in zip(u, Xt):
        if ui == 0:
            continue
        for a in range(dp):
            for b in range(dp):
                S[a, b] += sign * ui * x[a] * x[b]
    if mu:
        for a in range(d):
            S[a, a] += mu
    return S


def _repair(u, Xt, y, c, mu_p, mu_n, d, reasons):
    """Exact weak-duality bound from an approximate dual u, or None when the repair fails."""
    if mu_p is not None and mu_n is not None:
        reasons.append("both signs present: dual repaired by exact projection onto S(u) = 0")
        F = _features(Xt, False)
        # u minus its projection on the column space of F has S(u) = 0
        z = least_squares(_columns(F), u, minimum_norm=False)[0]
        A = mat(F)
        proj = A * fmpq_mat(len(z), 1, z) if z else fmpq_mat(len(u), 1)
        u = [u[i] - proj[i, 0] for i in range(len(u))]
        if any(v != 0 for v in _S(u, Xt).entries()):
            return None
    for sign, mu in ((1, mu_p), (-1, mu_n)):
        if mu is None or (mu_p is not None and mu_n is not None):
            continue
        lo = min_eig_lower(_S(u, Xt, sign, mu, d))
        if lo < 0:
            gamma = min_eig_lower(_S([fmpq(1)] * len(u), Xt))
            if not gamma > 0:
                reasons.append("dual repair failed: sum x~ x~^T is singular")
                return None
            t = -lo / gamma
            u = [v + sign * t for v in u]
            reasons.append(f"dual repaired: shifted by {float(t):.3g} along {'+' if sign > 0 else '-'}1 "
                           f"(verified lambda_min >= {float(lo):.3g})")
            if not min_eig_lower(_S(u, Xt, sign, mu, d)) >= 0:
                return None
    a = -sum((ui * yi for ui, yi in zip(u, y)), fmpq(0))
    b = sum((ui * ui for ui in u), fmpq(0)) / (4 * c)
    t = best_scale(a, b, fmpq(1))
    reasons.append("lower bound = g(t u) = -t u.y - t^2 ||u||^2/(4c), exact rationals (weak duality)")
    return a * t - b * t * t


def _sdp_witness(problem, point, P, N, pos, neg, slots):
    """A width-k network from the top eigenpairs of P and N (truncated to the slots), exact loss; or (None, None)."""
    net = problem.network
    d = net.widths[0]
    dp = d + (1 if net.bias[0] else 0)
    rows = [np.zeros(dp) for _ in slots]
    for M, idx in ((P, pos), (N, neg)):
        if M is None or M.value is None:
            continue
        lam, Q = np.linalg.eigh((M.value + M.value.T) / 2)
        order = np.argsort(-lam)
        for j, e in zip(idx, order):
            if lam[e] > 0:
                rows[j] = np.sqrt(lam[e] / abs(fmpq_to_float(slots[j]))) * Q[:, e]
    W = tuple(tuple(rationalize(float(x), 40) for x in r[:d]) for r in rows)
    b = tuple(rationalize(float(r[d]), 40) for r in rows) if net.bias[0] else None
    witness = Point([Layer(W, b), point.layers[1]])
    try:
        return witness, evaluate_exact(problem, witness, order=0).loss
    except Exception:  # noqa: BLE001 - a witness is optional evidence; its absence is not an error
        return None, None
