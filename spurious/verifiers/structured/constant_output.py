"""Lemma (constant-output minimum; our statement and proof, generalising Yun et al. Thm 2 (C2.6)-(C2.7)).
Let f(x) = sum_j u_j sigma(w_j . x + t_j) + c (one hidden layer, scalar output), squared loss with positive factor
kappa (1/n or 1) and no weight decay, data (x_i, y_i), i = 1..n. Let theta* have w_j = 0 and constant output
ybar = mean(y), so r_i := f(x_i) - y_i = ybar - y_i. Let V = span{x_i - x_1}, B a basis of V (rows),
M = sum r_i x_i x_i^T, St = sum (x_i - xbar)(x_i - xbar)^T, a_j = u_j sigma'(t_j), c_j = u_j sigma''(t_j), and
Q = diag(c) (x) B M B^T + (a a^T) (x) B St B^T. If (i) sigma is C^3 near every t_j, (ii) sum r_i x_i = 0 and
(iii) Q is positive definite, then theta* is a local minimum; it is not strict (u_1 -> u_1 + s, c -> c - s sigma(t_1)
keeps the output, hence the loss).

Proof. (ii) and sum r_i = 0 give M v = 0 for v in V^perp, so w^T M w depends only on the V-part of w; write
w_j = B^T z_j + p_j with p_j in V^perp, so p_j . x_i = p_j . x_1 =: k_j for every i, and put t'_j = t_j + dt_j + k_j.
For theta near theta*, g_i := f_theta(x_i) - f_theta*(x_i) = alpha + beta . x_i + (1/2) sum_j u'_j sigma''(t'_j)
(B^T z_j . x_i)^2 + e_i, with alpha constant in i, beta = sum_j u'_j sigma'(t'_j) B^T z_j, |e_i| <= C |z|^3
(Taylor with sigma''' bounded near t_j). Then loss(theta) - loss(theta*) = kappa [2 sum r_i g_i + sum g_i^2].
Constant and linear parts are orthogonal to r (sum r_i = 0, sum r_i x_i = 0), so 2 sum r_i g_i =
sum_j c'_j z_j^T B M B^T z_j + O(|z|^3). sum g_i^2 >= sum_i (g_i - gbar)^2 >= (beta . (x_i - xbar))^2 summed
- C |beta| |z|^2 = (sum_j a'_j z_j)^T B St B^T (sum_j a'_j z_j) - O(|z|^3). Hence the change is
>= kappa [z^T Q' z - C'|z|^3] with Q' the matrix Q at the perturbed (u', t'), which is >= (lambda/2)|z|^2 near
theta* by continuity (lambda = lambda_min(Q) > 0), so the change is >= 0 for small |z|, uniformly. QED.
Q is also necessary to second order: it is the Schur complement of the (w, c) block of the Hessian, so a proven
negative direction of Q at theta* is a negative-curvature direction of the loss (``not_local_min``).

Premise (i) is read from the activation's declared kind: every "smooth" activation the package defines (sigmoid,
tanh, softplus, erf, gelu, swish) is analytic, and polynomials are; piecewise-linear ones are refused.

Rigor: data conditions (ii), M, St and B are exact rationals; sigma', sigma'' at the rational t_j are arb balls;
Q > 0 is proved by a ball LDL^T whose pivots are all proven positive (each pivot encloses the true one), so the
rigor is "interval" even for polynomial activations. The stored
output bias is a rational approximation: the true point theta* (c replaced by ybar - sum u_j sigma(t_j)) lies within
the certified ``radius``; its loss is kappa * sum (ybar - y_i)^2 exactly. Failed or undecided premises give
``inconclusive`` (or the next proof path's answer), never a minimum verdict.
"""

from __future__ import annotations

import numpy as np
from flint import arb, fmpq, fmpq_mat

from ...arithmetic import evaluate_ball
from ...arithmetic.balls import ball_bounds, positive
from ...arithmetic.contexts import BallContext
from ...certificate import INTERVAL, NON_STRICT_LOCAL_MIN, NOT_LOCAL_MIN, Certificate
from ...linalg import affine_basis, ldl_definiteness
from ...rationals import decimal_str, to_fmpq
from ..globality import global_status
from .common import MAX_RADIUS, PREC, inconclusive

__all__ = ["check_constant_output", "curvature_matrix", "METHOD"]

METHOD = "structured proof: constant-output argument (D) (constructions.md 3.3; Yun-Sra-Jadbabaie 2019 Thm 2)"


def _inconclusive(candidate, reasons, loss=None):
    return inconclusive(reasons, METHOD, loss=loss)


def _shape_premises(candidate, reasons):
    """Architecture / loss / configuration premises; returns an error string or None."""
    p = candidate.problem
    net = p.network
    if not p.finite:
        return "the argument needs finite data"
    if net.depth != 2 or net.widths[-1] != 1:
        return f"the argument needs one hidden layer and a scalar output (widths {list(net.widths)})"
    act = net.activations[0]
    if act.kind not in ("smooth", "polynomial"):
        return f"activation {act.name} is not C^3 (piecewise linear): premise (i) fails"
    if p.loss.weight_decay != 0:
        return "weight decay is not zero: the penalty moves the constant-output point (premise fails)"
    if not (net.trainable[1] and net.bias[1]):
        return "the output layer must be trainable with a bias (the output constant is adjusted by it)"
    W1 = candidate.point.layers[0].W
    if any(x != 0 for row in W1 for x in row):
        return "first-layer weights are not all exactly 0: not the constant-output configuration"
    reasons.append(f"premise (i): {act.name} is analytic (C^3) everywhere, in particular near every hidden bias")
    reasons.append("configuration: every first-layer weight is exactly 0, so the output is constant in x")
    return None


def check_constant_output(candidate) -> Certificate:
    """Certify (or not) the constant-output local minimum of the lemma in this module's docstring."""
    reasons = [f"argument: constant-output (D); claimed values in meta['proof'] are ignored, all premises are "
               f"recomputed from the candidate"]
    err = _shape_premises(candidate, reasons)
    if err:
        return _inconclusive(candidate, reasons + [err])
    p, pt = candidate.problem, candidate.point
    net = p.network
    X = [tuple(row) for row in p.data.X]
    Y = [row[0] for row in p.data.Y]
    n, d, m = len(X), len(X[0]), net.widths[1]
    kappa = fmpq(1, n) if p.loss.reduction == "mean" else fmpq(1)
    ybar = sum(Y, fmpq(0)) / n
    r = [ybar - y for y in Y]
    loss_star = kappa * sum((ri * ri for ri in r), fmpq(0))
    # (ii) sum r_i x_i = 0, exactly
    srx = [sum((r[i] * X[i][k] for i in range(n)), fmpq(0)) for k in range(d)]
    if any(s != 0 for s in srx):
        return _inconclusive(candidate, reasons + [
            f"premise (ii) fails: sum_i r_i x_i = {[str(s) for s in srx]} != 0 (r = ybar - y is not orthogonal "
            "to the inputs)"], loss=None)
    reasons.append(f"premise (ii): residuals r = ybar - y with ybar = {ybar}; sum r_i = 0 and sum r_i x_i = 0 "
                   "exactly")
    # adjust the output bias: the true point theta* has constant output ybar
    u = pt.layers[1].W[0]
    t = pt.layers[0].b if pt.layers[0].b is not None else (fmpq(0),) * m
    c = pt.layers[1].b[0]
    act = net.activations[0]
    ctx = BallContext(PREC)
    with ctx.workprec():
        vals = [act.evaluate(ctx, arb(tj)) for tj in t]
        out = sum((arb(uj) * v[0] for uj, v in zip(u, vals)), arb(0)) + arb(c)
        gap = arb(ybar) - out   # c* = c + gap
        g_lo, g_hi = ball_bounds(gap)
        radius = max(abs(g_lo), abs(g_hi))
        if act.exact:
            from ...arithmetic.contexts import EXACT as EXACT_CTX
            ex = sum((uj * act.evaluate(EXACT_CTX, tj)[0] for uj, tj in zip(u, t)), fmpq(0)) + c
            radius = abs(ybar - ex)
        if radius > MAX_RADIUS:
            return _inconclusive(candidate, reasons + [
                f"the output constant differs from mean(y) by up to {decimal_str(radius)} > "
                f"{decimal_str(MAX_RADIUS)}: the stored "
                "point is not (a rounding of) the constant-output configuration"])
        reasons.append(f"output constant sum u_j sigma(t_j) + c differs from ybar by at most {decimal_str(radius)}: the "
                       f"true point theta* (output bias c* = ybar - sum u_j sigma(t_j)) lies within radius "
                       f"{decimal_str(radius)} of the stored point (only the output bias differs)")
        Q, a, cc, k = curvature_matrix(act, X, r, u, t)
        B = affine_basis(X)
        ok, info = ldl_definiteness(Q, positive) if k else (True, [])
        reasons.append(f"V = span(x_i - x_1) has dimension {k}; B M B^T and B St B^T computed exactly")
        if ok is not True:
            what = "has a pivot proven <= 0 (Q is not positive definite)" if ok is False else \
                "has a pivot whose ball straddles 0 (undecided)"
            reasons.append(f"premise (iii) fails: the ball LDL^T of Q = diag(u_j sigma''(t_j)) (x) BMB^T + "
                           f"(a a^T) (x) BStB^T ({m * k} x {m * k}) {what} at pivot {info}")
            if ok is False:
                saddle = _saddle(candidate, Q, B, a, radius, reasons)
                if saddle is not None:
                    return saddle
            return _inconclusive(candidate, reasons)
        low = min((ball_bounds(pv)[0] for pv in info), default=None)
        csign = [positive(x) for x in cc]
        reasons.append(f"premise (iii): Q ({m * k} x {m * k}) is positive definite: every ball LDL^T pivot is "
                       f"proven > 0 (smallest pivot >= {decimal_str(low) if low is not None else 'n/a'}); "
                       f"c_j = u_j sigma''(t_j) > 0 proven for {sum(1 for s in csign if s)} of {m} units")
    reasons.append(f"lemma (constant-output argument D): theta* is a local minimum with loss {loss_star} "
                   f"(= {decimal_str(loss_star)}); not strict: u_1 -> u_1 + s, c -> c - s sigma(t_1) keeps the loss")
    glob, wl, greasons = global_status(candidate, loss_star, loss_star)
    return Certificate(NON_STRICT_LOCAL_MIN, INTERVAL, glob=glob, loss=loss_star, witness_loss=wl,
                       radius=radius if radius != 0 else None, reasons=reasons + greasons, method=METHOD)


def curvature_matrix(act, X, r, u, t):
    """Q = diag(c) (x) B M B^T + (a a^T) (x) B St B^T as a list of arb rows, with a, c and k = dim V (lemma above)."""
    n, d, m = len(X), len(X[0]), len(u)
    ctx = BallContext(PREC)
    with ctx.workprec():
        vals = [act.evaluate(ctx, arb(tj)) for tj in t]
        a = [arb(uj) * v[1] for uj, v in zip(u, vals)]
        cc = [arb(uj) * v[2] for uj, v in zip(u, vals)]
        B = affine_basis(X)
        k = len(B)
        if not k:
            return [], a, cc, 0
        xbar = [sum((x[q] for x in X), fmpq(0)) / n for q in range(d)]
        Bm = fmpq_mat(B)
        M = fmpq_mat([[sum((r[i] * X[i][p_] * X[i][q] for i in range(n)), fmpq(0)) for q in range(d)]
                      for p_ in range(d)])
        St = fmpq_mat([[sum(((X[i][p_] - xbar[p_]) * (X[i][q] - xbar[q]) for i in range(n)), fmpq(0))
                        for q in range(d)] for p_ in range(d)])
        MB, SB = Bm * M * Bm.transpose(), Bm * St * Bm.transpose()
        Q = [[arb(0)] * (m * k) for _ in range(m * k)]
        for j in range(m):
            for l in range(m):
                for p_ in range(k):
                    for q in range(k):
                        v = a[j] * a[l] * arb(SB[p_, q])
                        if j == l:
                            v += cc[j] * arb(MB[p_, q])
                        Q[j * k + p_][l * k + q] = v
        return Q, a, cc, k


def _saddle(candidate, Q, B, a, radius, reasons):
    """Q has a proven non-positive pivot: look for a rational direction of proven negative curvature at theta*."""
    p, pt = candidate.problem, candidate.point
    net = p.network
    m, k, d = net.widths[1], len(B), net.widths[0]
    Qf = np.array([[float(x.mid()) for x in row] for row in Q])
    w, V = np.linalg.eigh(Qf)
    if w[0] >= 0:
        return None
    z = V[:, 0] / np.max(np.abs(V[:, 0]))
    X = p.data.X
    n = len(X)
    xbar = [sum(float(x[q]) for x in X) / n for q in range(d)]
    offsets, P = net.layer_offsets()
    dvec = [fmpq(0)] * P
    beta = np.zeros(d)
    for j in range(m):
        wj = sum(z[j * k + s] * np.array([float(v) for v in B[s]]) for s in range(k))
        for q in range(d):
            dvec[offsets[0] + j * d + q] = to_fmpq(round(float(wj[q]) * 2**20)) / 2**20
        beta += float(a[j].mid()) * wj
    dvec[offsets[1] + m] = to_fmpq(round(-float(beta @ np.array(xbar)) * 2**20)) / 2**20
    rad = [fmpq(0)] * P
    rad[offsets[1] + m] = radius
    ev = evaluate_ball(p, pt, radius=rad, prec=PREC, order=2)
    H = ev.hessian
    quad = sum((arb(dvec[i]) * H[i, j] * arb(dvec[j]) for i in range(P) for j in range(P) if dvec[i] != 0
                and dvec[j] != 0), arb(0))
    if positive(-quad) is not True:
        return None
    hi = ball_bounds(quad)[1]
    reasons.append(f"theta* is a critical point (w = 0, sum r = 0, sum r x = 0 give a zero gradient exactly) and "
                   f"d^T H d <= {decimal_str(hi)} < 0 over the box around theta* for an explicit rational d: a direction "
                   "of negative curvature, so theta* is not a local minimum")
    return Certificate(NOT_LOCAL_MIN, INTERVAL, radius=radius if radius != 0 else None, reasons=reasons,
                       descent_direction=dvec, method=METHOD)


# --- the split-neuron argument --------------------------------------------------------------------------------
