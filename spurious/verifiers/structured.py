"""Structured proofs for degenerate minima: constant-output argument (D), split points, quadratic orbits.

Generic second-order paths cannot certify minima whose Hessian is singular for reasons other than continuous
symmetries (Yun, Sra, Jadbabaie 2019, Thm 2; the constant-output recipe of constructions.md 3.3). Such candidates
name their argument in ``meta["proof"]["argument"]``; this module re-derives every premise from the candidate's
own numbers (claimed values in ``meta["proof"]`` are ignored) and certifies, or answers ``inconclusive``.

Lemma (constant-output minimum; our statement and proof, generalising Yun et al. Thm 2 (C2.6)-(C2.7)).
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

Lemma (split point; Fukumizu-Amari 2000, our proof). Let theta* be a local minimum of a one-hidden-layer smooth
network (no weight decay) and split its unit (w*, v*), v* != 0, into (w*, lam v*) and (w*, (1 - lam) v*). Every child
point near the split point is (theta, lam', eta) with w_a = w + (1 - lam') eta, w_b = w - lam' eta, v = v_a + v_b,
lam' = v_a / v (a continuous inverse), and the output change from eta is (1/2) lam'(1 - lam') v sigma''(z)
(eta . x~)^2 + O(|eta|^3) (the first-order terms cancel identically). Hence L_child = L_parent(theta) +
(1/2) lam'(1 - lam') eta^T B(theta) eta + O(|eta|^3), B(theta) = v sum_i dloss/df_i sigma''(z_i) x~_i x~_i^T. If
lam (1 - lam) B(theta*) > 0 then L_child >= L_parent(theta) >= L_parent(theta*) nearby: a local minimum (strict when
the output layer is fixed and theta* is strict: then lam' = lam and eta = 0, theta = theta* is forced). If
lam (1 - lam) B(theta*) has a negative direction, d = ((1 - lam) eta, -lam eta) has d^T H d < 0: not a local
minimum (checked directly on the ball Hessian over a box holding the true split point). The parent is rebuilt from
the candidate (the two units must have exactly equal incoming weights) and re-certified by :func:`verify`.

Quadratic orbit (exact): see :func:`check_quadratic_orbit` (Morse-Bott modulo W -> A W, A^T diag(v) A = diag(v)).

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

from ..arithmetic import evaluate_ball
from ..arithmetic.balls import ball_bounds, positive
from ..arithmetic.contexts import BallContext
from ..rationals import format_decimal, to_fmpq
from . import PATHS, register_path
from .globality import global_status
from .verdicts import INCONCLUSIVE, INTERVAL, NON_STRICT_LOCAL_MIN, NOT_LOCAL_MIN, Certificate

__all__ = ["accepts", "run", "ARGUMENTS", "check_constant_output", "check_split", "ball_ldl_pd", "affine_basis",
           "curvature_matrix"]

PREC = 192
MAX_RADIUS = fmpq(1, 2**40)   # the stored output bias must round the true one this closely
METHOD = "structured proof: constant-output argument (D) (constructions.md 3.3; Yun-Sra-Jadbabaie 2019 Thm 2)"


def accepts(candidate) -> bool:
    proof = candidate.meta.get("proof") if isinstance(candidate.meta, dict) else None
    return isinstance(proof, dict) and proof.get("argument") in ARGUMENTS


def run(candidate) -> Certificate:
    return ARGUMENTS[candidate.meta["proof"]["argument"]](candidate)


# --- exact and ball linear algebra ---------------------------------------------------------------------------
def affine_basis(X):
    """Rows of an exact basis of V = span{x_i - x_1} (reduced row echelon form)."""
    d = len(X[0])
    diffs = [[X[i][k] - X[0][k] for k in range(d)] for i in range(1, len(X))]
    if not diffs:
        return []
    R, rank = fmpq_mat(diffs).rref()
    return [[R[i, k] for k in range(d)] for i in range(rank)]


def ball_ldl_pd(Q):
    """(True, pivots) if every pivot of the LDL^T of the symmetric ball matrix Q is proven > 0 (Q is PD);
    (False, k) if pivot k is proven <= 0 (Q is not PD); (None, k) if pivot k straddles 0."""
    n = len(Q)
    A = [[Q[i][j] for j in range(n)] for i in range(n)]
    pivots = []
    for k in range(n):
        p = A[k][k]
        s = positive(p)
        if s is not True:
            return (False if s is False else None), k
        pivots.append(p)
        for i in range(k + 1, n):
            f = A[i][k] / p
            for j in range(k + 1, i + 1):
                A[i][j] = A[i][j] - f * A[j][k]
                A[j][i] = A[i][j]
    return True, pivots


def _dec(q):
    return format_decimal(q, 6)


def _inconclusive(candidate, reasons, loss=None, rigor=INTERVAL):
    """A failed premise: hand over to the next proof path that accepts the candidate, else inconclusive."""
    for name, (acc, run_) in PATHS.items():
        if name != "structured" and acc(candidate):
            cert = run_(candidate)
            cert.reasons = reasons + [f"structured argument not established; the {name} path decided instead:"] \
                + cert.reasons
            return cert
    return Certificate(INCONCLUSIVE, rigor, loss=loss, reasons=reasons, method=METHOD)


# --- the constant-output argument ----------------------------------------------------------------------------
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
            from ..arithmetic.contexts import EXACT as EXACT_CTX
            ex = sum((uj * act.evaluate(EXACT_CTX, tj)[0] for uj, tj in zip(u, t)), fmpq(0)) + c
            radius = abs(ybar - ex)
        if radius > MAX_RADIUS:
            return _inconclusive(candidate, reasons + [
                f"the output constant differs from mean(y) by up to {_dec(radius)} > {_dec(MAX_RADIUS)}: the stored "
                "point is not (a rounding of) the constant-output configuration"])
        reasons.append(f"output constant sum u_j sigma(t_j) + c differs from ybar by at most {_dec(radius)}: the "
                       f"true point theta* (output bias c* = ybar - sum u_j sigma(t_j)) lies within radius "
                       f"{_dec(radius)} of the stored point (only the output bias differs)")
        Q, a, cc, k = curvature_matrix(act, X, r, u, t)
        B = affine_basis(X)
        ok, info = ball_ldl_pd(Q) if k else (True, [])
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
                       f"proven > 0 (smallest pivot >= {_dec(low) if low is not None else 'n/a'}); "
                       f"c_j = u_j sigma''(t_j) > 0 proven for {sum(1 for s in csign if s)} of {m} units")
    reasons.append(f"lemma (constant-output argument D): theta* is a local minimum with loss {loss_star} "
                   f"(= {_dec(loss_star)}); not strict: u_1 -> u_1 + s, c -> c - s sigma(t_1) keeps the loss")
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
                   f"d^T H d <= {_dec(hi)} < 0 over the box around theta* for an explicit rational d: a direction "
                   "of negative curvature, so theta* is not a local minimum")
    return Certificate(NOT_LOCAL_MIN, INTERVAL, radius=radius if radius != 0 else None, reasons=reasons,
                       descent_direction=dvec, method=METHOD)


# --- the split-neuron argument --------------------------------------------------------------------------------
SPLIT_METHOD = "structured proof: unit splitting (Fukumizu-Amari 2000; constructions.md 11.1)"


def _merge(candidate, a, b):
    """The parent candidate (units a and b merged into a) or an error string."""
    from ..candidate import Candidate
    from ..network import Network, Point
    from ..problem import Problem

    net, pt = candidate.problem.network, candidate.point
    (W1, b1), (W2, b2) = [(L.W, L.b) for L in pt.layers]
    m = net.widths[1]
    if not (0 <= a < m and 0 <= b < m and a != b):
        return "the split units named in meta['proof']['units'] are not two distinct hidden units"
    if W1[a] != W1[b] or (b1 is not None and b1[a] != b1[b]):
        return f"units {a} and {b} do not have exactly equal incoming weights and biases: not a split point"
    v = W2[0][a] + W2[0][b]
    if v == 0:
        return "the merged outgoing weight v* = u_a + u_b is 0: the split is degenerate"
    keep = [j for j in range(m) if j != b]
    W2p = [[v if j == a else W2[0][j] for j in keep]]
    parent_pt = Point.from_arrays([[list(W1[j]) for j in keep], W2p],
                                  [None if b1 is None else [b1[j] for j in keep], None if b2 is None else list(b2)])
    pnet = Network((net.widths[0], m - 1, 1), net.activations, net.bias, net.trainable)
    return Candidate(Problem(pnet, candidate.problem.data, candidate.problem.loss), parent_pt, None, {}), \
        W2[0][a] / v, v


def _box_B(parent, r, a):
    """Ball enclosure of B = v sum_i 2 kappa r_i sigma''(z_ia) x~_i x~_i^T over the parent point +- r."""
    p, pt = parent.problem, parent.point
    net = p.network
    act = net.activations[0]
    ctx = BallContext(PREC)
    rad = arb(0, r) if r else arb(0)
    ball = lambda x, tr: arb(x) + rad if tr else arb(x)  # noqa: E731
    tr1, tr2 = net.trainable
    W1 = [[ball(x, tr1) for x in row] for row in pt.layers[0].W]
    b1 = None if pt.layers[0].b is None else [ball(x, tr1) for x in pt.layers[0].b]
    u = [ball(x, tr2) for x in pt.layers[1].W[0]]
    c = ball(pt.layers[1].b[0], tr2) if pt.layers[1].b is not None else arb(0)
    n = p.data.n
    kappa = arb(fmpq(1, n)) if p.loss.reduction == "mean" else arb(1)
    with ctx.workprec():
        rows = []
        for x, y in zip(p.data.X, p.data.Y):
            xt = [arb(q) for q in x] + ([arb(1)] if b1 is not None else [])
            zs = [sum((wk * arb(xk) for wk, xk in zip(W1[j], x)), arb(0)) + (b1[j] if b1 is not None else 0)
                  for j in range(len(W1))]
            vals = [act.evaluate(ctx, z) for z in zs]
            res = sum((uj * vj[0] for uj, vj in zip(u, vals)), arb(0)) + c - arb(y[0])
            rows.append((2 * kappa * res * vals[a][2], xt))
        k = len(rows[0][1])
        va = u[a]   # the merged outgoing weight over the box (the true v* may differ from the stored one)
        return [[va * sum((w * xt[i] * xt[j] for w, xt in rows), arb(0)) for j in range(k)] for i in range(k)]


def check_split(candidate) -> Certificate:
    """Certify a split point: parent re-certified, then the sign of lam (1 - lam) B decides (module docstring)."""
    from . import verify
    from .verdicts import MINIMUM_VERDICTS, STRICT_LOCAL_MIN

    reasons = ["argument: split-neuron (Fukumizu-Amari); the parent is rebuilt from the candidate and re-certified"]
    p = candidate.problem
    net = p.network
    if not p.finite or net.depth != 2 or net.widths[-1] != 1 or net.activations[0].kind != "smooth":
        return _inconclusive(candidate, reasons + ["the argument needs finite data, one hidden layer, scalar output "
                                                   "and a smooth activation"])
    if p.loss.weight_decay != 0 or not net.trainable[0]:
        return _inconclusive(candidate, reasons + ["the argument needs no weight decay and a trainable first layer"])
    units = candidate.meta["proof"].get("units")
    if not (isinstance(units, list) and len(units) == 2 and all(isinstance(q, int) for q in units)):
        return _inconclusive(candidate, reasons + ["meta['proof']['units'] must name the two split units"])
    merged = _merge(candidate, *units)
    if isinstance(merged, str):
        return _inconclusive(candidate, reasons + [merged])
    parent, lam, v = merged
    a = units[0] if units[0] < units[1] else units[0] - 1
    reasons.append(f"units {units[0]} and {units[1]} have identical incoming weights; merged outgoing weight v* = "
                   f"{v}, lam = {lam} (exact)")
    if lam == 0 or lam == 1:
        return _inconclusive(candidate, reasons + ["lam in {0, 1}: degenerate split"])
    pc = verify(parent)
    if not (pc.proved and pc.verdict in MINIMUM_VERDICTS):
        return _inconclusive(candidate, reasons + [f"the parent is not a certified local minimum ({pc.verdict}, "
                                                   f"{pc.rigor})"])
    r = fmpq(0) if pc.radius is None else (pc.radius if isinstance(pc.radius, fmpq) else ball_bounds(pc.radius)[1])
    reasons.append(f"parent (width {net.widths[1] - 1}) certified {pc.verdict} ({pc.rigor}); its critical point lies "
                   f"within {_dec(r)} of the merged stored point")
    scale = max(fmpq(1), abs(lam), abs(1 - lam))
    R = r * scale   # per-coordinate box radius; Euclidean distance of the true split point <= sqrt(2) R <= 2 R
    with BallContext(PREC).workprec():
        B = _box_B(parent, r, a)
        sgn = lam * (1 - lam)
        Bs = [[x * arb(sgn) for x in row] for row in B]
        ok, _ = ball_ldl_pd(Bs)
    if ok is True:
        strict = pc.verdict == STRICT_LOCAL_MIN and not net.trainable[1]
        verdict = STRICT_LOCAL_MIN if strict else NON_STRICT_LOCAL_MIN
        reasons.append("lam (1 - lam) B is positive definite over the box around the parent's critical point "
                       "(ball LDL^T): near the split point the loss is L_parent(theta) + (1/2) lam (1 - lam) "
                       "eta^T B eta + O(|eta|^3) >= the parent's minimum: a local minimum; " +
                       ("strict (output layer fixed, strict parent)" if strict else
                        "not strict (the lam-segment, or the parent's flat set, is flat)"))
        lo, hi = _loss_pair(pc.loss)
        glob, wl, greasons = global_status(candidate, lo, hi)
        return Certificate(verdict, INTERVAL, glob=glob, loss=pc.loss, witness_loss=wl, radius=2 * R or None,
                           reasons=reasons + greasons, method=SPLIT_METHOD)
    return _split_saddle(candidate, B, sgn, units, R, reasons)


def _loss_pair(loss):
    if isinstance(loss, fmpq):
        return loss, loss
    if isinstance(loss, (list, tuple)):
        return loss[0], loss[1]
    return ball_bounds(loss)


def _split_saddle(candidate, B, sgn, units, R, reasons):
    """An eta with lam (1 - lam) eta^T B eta < 0: d = ((1 - lam) eta, -lam eta) must give d^T H d < 0 (balls)."""
    p, pt = candidate.problem, candidate.point
    net = p.network
    lam = pt.layers[1].W[0][units[0]] / (pt.layers[1].W[0][units[0]] + pt.layers[1].W[0][units[1]])
    Bf = np.array([[float(x.mid()) for x in row] for row in B]) * float(sgn)
    w, V = np.linalg.eigh(Bf)
    if w[0] >= 0:
        return _inconclusive(candidate, reasons + ["lam (1 - lam) B is not proven definite and has no negative "
                                                   "float eigenvalue: undecided"])
    eta = [to_fmpq(round(float(x) * 2**20)) / 2**20 for x in V[:, 0] / np.max(np.abs(V[:, 0]))]
    offsets, P = net.layer_offsets()
    d, m = net.widths[0], net.widths[1]
    dvec = [fmpq(0)] * P
    has_b = net.bias[0]
    for unit, coef in ((units[0], 1 - lam), (units[1], -lam)):
        for k in range(d):
            dvec[offsets[0] + unit * d + k] = coef * eta[k]
        if has_b:
            dvec[offsets[0] + m * d + unit] = coef * eta[d]
    ev = evaluate_ball(p, pt, radius=R, prec=PREC, order=2)
    H = ev.hessian
    idx = [i for i in range(P) if dvec[i] != 0]
    quad = sum((arb(dvec[i]) * H[i, j] * arb(dvec[j]) for i in idx for j in idx), arb(0))
    if positive(-quad) is not True:
        return _inconclusive(candidate, reasons + ["d^T H d < 0 could not be proven over the box"])
    reasons.append(f"lam (1 - lam) B has a negative direction eta; d = ((1 - lam) eta, -lam eta) on the split units "
                   f"has d^T H d <= {_dec(ball_bounds(quad)[1])} < 0 over the box of radius {_dec(R)} around the "
                   "stored point, which holds the true split point: negative curvature, not a local minimum")
    return Certificate(NOT_LOCAL_MIN, INTERVAL, radius=2 * R or None, reasons=reasons, descent_direction=dvec,
                       method=SPLIT_METHOD)


# --- the quadratic orbit argument -----------------------------------------------------------------------------
ORBIT_METHOD = "structured proof: exact Morse-Bott modulo the orthogonal group of the output form (quadratic)"


def check_quadratic_orbit(candidate) -> Certificate:
    """x -> sum_j v_j (w_j . x~)^2 with v fixed and nonzero is invariant under [W b] -> A [W b] for every A with
    A^T D A = D (D = diag(v)): an algebraic group, so its orbits are embedded submanifolds, with tangent vectors
    D^-1 (E_ab - E_ba) [W b] (exact). Exact gradient 0, H t = 0 for the tangents, H >= 0 with nullity = rank of the
    tangents: strictly larger loss off the orbit near the point (Morse-Bott), i.e. strict modulo this symmetry."""
    from ..arithmetic import evaluate_exact
    from .inertia import inertia, rank
    from .verdicts import EXACT, STRICT_MODULO_SYMMETRY, STRICT_LOCAL_MIN

    reasons = ["argument: quadratic-orbit (exact); claimed values in meta['proof'] are ignored"]
    p, pt = candidate.problem, candidate.point
    net = p.network
    act = net.activations[0] if net.activations else None
    if not (p.finite and net.depth == 2 and net.widths[-1] == 1 and act is not None and act.kind == "polynomial"
            and act.coefficients == (0, 0, 1)):
        return _inconclusive(candidate, reasons + ["the argument needs one quadratic hidden layer, scalar output and "
                                                   "finite data"])
    if p.loss.weight_decay != 0 or net.trainable[1] or not net.trainable[0]:
        return _inconclusive(candidate, reasons + ["the argument needs a trainable first layer, a fixed output layer "
                                                   "and no weight decay"])
    v = pt.layers[1].W[0]
    if any(x == 0 for x in v):
        return _inconclusive(candidate, reasons + ["an output weight is 0: D is singular"])
    ev = evaluate_exact(p, pt, order=2)
    if any(g != 0 for g in ev.gradient):
        return _inconclusive(candidate, reasons + ["the exact gradient is not zero"])
    k, d, has_b = net.widths[1], net.widths[0], net.bias[0]
    rows = [list(r) + ([pt.layers[0].b[j]] if has_b else []) for j, r in enumerate(pt.layers[0].W)]
    tangents = []
    for a in range(k):
        for b in range(a + 1, k):
            T = [[fmpq(0)] * len(rows[0]) for _ in range(k)]
            T[a] = [x / v[a] for x in rows[b]]
            T[b] = [-x / v[b] for x in rows[a]]
            flat = [T[j][q] for j in range(k) for q in range(d)] + ([T[j][d] for j in range(k)] if has_b else [])
            tangents.append(flat)
    H = ev.hessian
    P = H.nrows()
    for t in tangents:
        Ht = H * fmpq_mat([[x] for x in t])
        if any(Ht[i, 0] != 0 for i in range(P)):
            from ..errors import InternalError
            raise InternalError("quadratic-orbit: H t != 0 for an orbit tangent (a bug)")
    r = rank(tangents) if tangents else 0
    inn = inertia(H)
    reasons.append(f"exact gradient 0; {len(tangents)} orbit tangent(s) D^-1 (E_ab - E_ba) [W b] of rank {r}, "
                   "H t = 0 checked exactly")
    reasons.append(f"exact inertia of H: {inn.n_pos} positive, {inn.n_neg} negative, {inn.n_zero} zero")
    if inn.n_neg:
        return Certificate(NOT_LOCAL_MIN, EXACT, loss=ev.loss, reasons=reasons + ["a negative eigenvalue"],
                           descent_direction=list(inn.direction), method=ORBIT_METHOD)
    if inn.n_zero != r:
        return _inconclusive(candidate, reasons + [f"nullity {inn.n_zero} != {r}: degenerate beyond the orbit"],
                             rigor=EXACT)
    verdict = STRICT_LOCAL_MIN if r == 0 else STRICT_MODULO_SYMMETRY
    reasons.append("H is positive definite on a complement of the orbit's tangent space (Morse-Bott)")
    glob, wl, greasons = global_status(candidate, ev.loss, ev.loss)
    sym = [f"O(p,q) of the output form diag(v), orbit dimension {r}"] if r else []
    return Certificate(verdict, EXACT, glob=glob, loss=ev.loss, witness_loss=wl, symmetries=sym,
                       reasons=reasons + greasons, method=ORBIT_METHOD)


ARGUMENTS = {"constant-output": check_constant_output, "split-neuron": check_split,
             "quadratic-orbit": check_quadratic_orbit}

register_path("structured", accepts, run)
