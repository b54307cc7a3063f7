"""Lemma (split point; Fukumizu-Amari 2000, our proof). Let theta* be a local minimum of a one-hidden-layer smooth
network (no weight decay) and split its unit (w*, v*), v* != 0, into (w*, lam v*) and (w*, (1 - lam) v*). Every child
point near the split point is (theta, lam', eta) with w_a = w + (1 - lam') eta, w_b = w - lam' eta, v = v_a + v_b,
lam' = v_a / v (a continuous inverse), and the output change from eta is (1/2) lam'(1 - lam') v sigma''(z)
(eta . x~)^2 + O(|eta|^3) (the first-order terms cancel identically). Hence L_child = L_parent(theta) +
(1/2) lam'(1 - lam') eta^T B(theta) eta + O(|eta|^3), B(theta) = v sum_i dloss/df_i sigma''(z_i) x~_i x~_i^T. If
lam (1 - lam) B(theta*) > 0 then L_child >= L_parent(theta) >= L_parent(theta*) nearby: a local minimum (strict when
the output layer is fixed and theta* is strict: then lam' = lam and eta = 0, theta = theta* is forced). If
lam (1 - lam) B(theta*) has a negative direction, d = ((1 - lam) eta, -lam eta) has d^T H d < 0: not a local
minimum (checked directly on the ball Hessian over a box holding the true split point). The parent is rebuilt from
the candidate (the two units must have exactly equal incoming weights) and re-certified by the interval path
(:func:`spurious.verifiers.interval.run`).
"""

from __future__ import annotations

import numpy as np
from flint import arb, fmpq

from ...arithmetic import ball_layers, evaluate_ball
from ...arithmetic.passes import forward
from ...arithmetic.balls import ball_bounds, positive
from ...arithmetic.contexts import BallContext
from ...certificate import (INTERVAL, MINIMUM_VERDICTS, NON_STRICT_LOCAL_MIN, NOT_LOCAL_MIN, STRICT_LOCAL_MIN,
                            Certificate)
from ...linalg import ldl_definiteness
from ...rationals import decimal_str, to_fmpq
from ..globality import global_status
from .. import interval
from .common import PREC, inconclusive, loss_pair

__all__ = ["check_split", "METHOD"]

METHOD = "structured proof: unit splitting (Fukumizu-Amari 2000; constructions.md 11.1)"


def _inconclusive(candidate, reasons, loss=None):
    return inconclusive(reasons, METHOD, loss=loss)


def _merge(candidate, a, b):
    """The parent candidate (units a and b merged into a) or an error string."""
    from ...candidate import Candidate
    from ...network import Network, Point
    from ...problem import Problem

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
    ctx = BallContext(PREC)
    n = p.data.n
    with ctx.workprec():
        layers = ball_layers(net, pt, r)
        fw = forward(ctx, net, p.data.X, layers)
        F = fw.outputs
        kappa = arb(fmpq(1, n)) if p.loss.reduction == "mean" else arb(1)
        has_b1 = layers[0][1] is not None
        rows = [(2 * kappa * (F[i][0] - arb(y[0])) * fw.S2[1][a][i],
                 [arb(q) for q in x] + ([arb(1)] if has_b1 else []))
                for i, (x, y) in enumerate(zip(p.data.X, p.data.Y))]
        k = len(rows[0][1])
        va = layers[1][0][0][a]   # the merged outgoing weight over the box (the true v* may differ from the stored one)
        return [[va * sum((w * xt[i] * xt[j] for w, xt in rows), arb(0)) for j in range(k)] for i in range(k)]


def check_split(candidate) -> Certificate:
    """Certify a split point: parent re-certified, then the sign of lam (1 - lam) B decides (module docstring)."""
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
    pc = interval.run(parent)  # the parent is a smooth one-hidden-layer network on finite data
    if not (pc.proved and pc.verdict in MINIMUM_VERDICTS):
        return _inconclusive(candidate, reasons + [f"the parent is not a certified local minimum ({pc.verdict}, "
                                                   f"{pc.rigor})"])
    r = fmpq(0) if pc.radius is None else (pc.radius if isinstance(pc.radius, fmpq) else ball_bounds(pc.radius)[1])
    reasons.append(f"parent (width {net.widths[1] - 1}) certified {pc.verdict} ({pc.rigor}); its critical point lies "
                   f"within {decimal_str(r)} of the merged stored point")
    scale = max(fmpq(1), abs(lam), abs(1 - lam))
    R = r * scale   # per-coordinate box radius; Euclidean distance of the true split point <= sqrt(2) R <= 2 R
    with BallContext(PREC).workprec():
        B = _box_B(parent, r, a)
        sgn = lam * (1 - lam)
        Bs = [[x * arb(sgn) for x in row] for row in B]
        ok, _ = ldl_definiteness(Bs, positive)
    if ok is True:
        strict = pc.verdict == STRICT_LOCAL_MIN and not net.trainable[1]
        verdict = STRICT_LOCAL_MIN if strict else NON_STRICT_LOCAL_MIN
        reasons.append("lam (1 - lam) B is positive definite over the box around the parent's critical point "
                       "(ball LDL^T): near the split point the loss is L_parent(theta) + (1/2) lam (1 - lam) "
                       "eta^T B eta + O(|eta|^3) >= the parent's minimum: a local minimum; " +
                       ("strict (output layer fixed, strict parent)" if strict else
                        "not strict (the lam-segment, or the parent's flat set, is flat)"))
        lo, hi = loss_pair(pc.loss)
        glob, wl, greasons = global_status(candidate, lo, hi)
        return Certificate(verdict, INTERVAL, glob=glob, loss=pc.loss, witness_loss=wl, radius=2 * R or None,
                           reasons=reasons + greasons, method=METHOD)
    return _split_saddle(candidate, B, sgn, units, R, reasons)


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
                   f"has d^T H d <= {decimal_str(ball_bounds(quad)[1])} < 0 over the box of radius {decimal_str(R)} around the "
                   "stored point, which holds the true split point: negative curvature, not a local minimum")
    return Certificate(NOT_LOCAL_MIN, INTERVAL, radius=2 * R or None, reasons=reasons, descent_direction=dvec,
                       method=METHOD)


# --- the quadratic orbit argument -----------------------------------------------------------------------------
