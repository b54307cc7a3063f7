"""Closed-form Gaussian population loss of one-hidden-layer ReLU networks without biases, with its derivatives.

For x ~ N(0, I): k(w, v) = E[relu(w.x) relu(v.x)] = |w||v| (sin t + (pi - t) cos t) / (2 pi), t the angle between
w and v (the arc-cosine kernel of degree 1; Cho and Saul 2009), and k(w, w) = |w|^2 / 2. With f(x) = A relu(W x)
and teacher g(x) = C relu(V x), S = A^T A, T = A^T C, R = C^T C,

    L = E ||f(x) - g(x)||^2 = sum_jk S_jk k(w_j, w_k) - 2 sum_jm T_jm k(w_j, v_m) + sum_mm' R_mm' k(v_m, v_m')

(plus weight decay). Everything is written with c = w.v, s = |w||v| sin t = sqrt(|w|^2 |v|^2 - c^2) and
t = atan2(s, c), which never divides by |w| |v| and is stable in float and ball arithmetic:

    grad_w k = ((s / |w|^2) w + (pi - t) v) / (2 pi)                                    (= Safran-Shamir's g)
    h1 = d2k/dw2     = ((s/|w|^2)(I - w w^T/|w|^2) + u u^T / (s |w|^4)) / (2 pi),  u = |w|^2 v - c w
    h2 = d2k/dw dv^T = ((pi - t) I + (w v^T + v w^T - c (w w^T/|w|^2 + v v^T/|v|^2)) / s) / (2 pi)

(Safran and Shamir, ICML 2018, arXiv 1712.08968, section 4 and their Verify_minima_code/Hessian.m; re-derived
here and tested against torch autodiff, finite differences and Monte Carlo in tests/test_population.py.)

Smoothness. k is not differentiable in w at w = 0 (degree-1 homogeneous), so a box that may contain a zero
student unit gets no gradient (when W is trainable; with W fixed, L is a quadratic in A). Near parallel or
antiparallel w, v, k is C^2 (C^{2,1}: kappa(t) = (sin t + (pi - t) cos t)/(2 pi) has a |t|^3 / (6 pi) term at
t = 0 and (pi - t)^3 / (6 pi) at pi) and h1, h2 extend continuously, but the formulas divide by s; a box on which
s > 0 is not proved gets no Hessian (conservative). Both cases are reported in ``kinks`` as (1, j, "zero") or (1, j, ("student"|"teacher", m)),
with derivatives None. Units with exactly zero outgoing weights in a fixed output layer do not enter the loss and
are skipped.
"""

from __future__ import annotations

import math

import numpy as np
from flint import arb, arb_mat

from ..errors import UnsupportedError

__all__ = ["check_closed_form", "population_loss_ball", "population_ball", "population_loss_torch", "population_numpy",
           "relu_kernel_torch"]


def check_closed_form(problem) -> None:
    """Raise UnsupportedError unless student and teacher are one-hidden-layer ReLU networks without biases."""
    for who, net in (("student", problem.network), ("teacher", problem.data.teacher_network)):
        if net.depth != 2 or net.activations[0].name != "relu" or any(net.bias):
            raise UnsupportedError(
                f"population loss: a closed form exists only for one-hidden-layer ReLU networks without biases "
                f"({who} is {net.describe()}, bias {list(net.bias)})")


# ---------------------------------------------------------------------------------------------- ball kernels
def _col(w):
    return arb_mat([[x] for x in w])


def _is_exact_zero(vec):
    return all(x.is_zero() for x in vec)


def _angle(s, c):
    """(s, t) with t = atan2(s, c) in [0, pi], rigorous also when the ball s may reach 0."""
    if s > 0:
        return s, arb.atan2(s, c)
    hi = arb(s.upper())
    s = arb(0).union(hi)
    if c > 0:
        return s, arb(0).union(arb.atan2(hi, c))     # atan2(., c) increases from 0 for c > 0
    if c < 0:
        return s, arb.pi().union(arb.atan2(hi, c))   # and decreases from pi for c < 0
    return s, arb(0).union(arb.pi())


class _Pair:
    """Kernel quantities of a pair (w, v) of vectors given as arb column matrices with squared norms nw2, nv2."""

    def __init__(self, w, nw2, v, nv2):
        self.w, self.v, self.nw2, self.nv2 = w, v, nw2, nv2
        self.c = (w.transpose() * v)[0, 0]
        q = nw2 * nv2 - self.c * self.c  # = s^2 >= 0 mathematically
        self.smooth = bool(q > 0)
        if self.smooth:
            s = q.sqrt()
        else:
            up = q.upper()
            s = arb(0) if not (up > 0) else arb(0).union(up.sqrt())
        self.s, self.t = _angle(s, self.c)
        self.pit = arb.pi() - self.t
        self.two_pi = 2 * arb.pi()

    def value(self):
        return (self.s + self.pit * self.c) / self.two_pi

    def grad_w(self):
        return (self.w * (self.s / self.nw2) + self.v * self.pit) * (1 / self.two_pi)

    def grad_v(self):
        return (self.v * (self.s / self.nv2) + self.w * self.pit) * (1 / self.two_pi)

    def h1_w(self, eye):
        w, v, nw2, s = self.w, self.v, self.nw2, self.s
        u = v * nw2 - w * self.c
        m = (eye - w * w.transpose() * (1 / nw2)) * (s / nw2) + u * u.transpose() * (1 / (s * nw2 * nw2))
        return m * (1 / self.two_pi)

    def h1_v(self, eye):
        return _Pair(self.v, self.nv2, self.w, self.nw2).h1_w(eye)

    def h2(self, eye):
        w, v, c = self.w, self.v, self.c
        wv = w * v.transpose()
        m = wv + wv.transpose() - (w * w.transpose() * (1 / self.nw2) + v * v.transpose() * (1 / self.nv2)) * c
        return (eye * self.pit + m * (1 / self.s)) * (1 / self.two_pi)


def _kernel_ball(w, v, same=False):
    """k(w, v) for arb vectors (lists)."""
    if same:
        return sum((a * a for a in w), arb(0)) / 2
    if _is_exact_zero(w) or _is_exact_zero(v):
        return arb(0)
    nw2 = sum((a * a for a in w), arb(0))
    nv2 = sum((a * a for a in v), arb(0))
    return _Pair(_col(w), nw2, _col(v), nv2).value()


def population_loss_ball(layers, teacher_layers):
    """Enclosure of the population loss; ``layers`` and ``teacher_layers`` are [(W rows, None), (A rows, None)]."""
    (W, _), (A, _) = layers
    (V, _), (C, _) = teacher_layers
    total = arb(0)
    for a, c in zip(A, C):
        for j, wj in enumerate(W):
            for k, wk in enumerate(W):
                total += a[j] * a[k] * _kernel_ball(wj, wk, same=(j == k))
            for m, vm in enumerate(V):
                total -= 2 * a[j] * c[m] * _kernel_ball(wj, vm)
        for m, vm in enumerate(V):
            for m2, vm2 in enumerate(V):
                total += c[m] * c[m2] * _kernel_ball(vm, vm2, same=(m == m2))
    return total


# ------------------------------------------------------------------------------------ loss, gradient, Hessian
def population_ball(network, layers, teacher_layers, weight_decay=0, order=2):
    """(loss, gradient, hessian, kinks) of the population loss in ball arithmetic (current working precision).

    ``layers`` / ``teacher_layers``: [(W rows, None), (A rows, None)] of arb (balls over the box). Gradient and
    Hessian are in the network's flat order of trainable coordinates; None when not defined / not enclosed.
    """
    (W, _), (A, _) = layers
    (V, _), (C, _) = teacher_layers
    n, d, mo = len(W), len(W[0]), len(A)
    trW, trA = network.trainable
    wd = arb(weight_decay) if weight_decay else None
    Am, Cm = arb_mat([list(r) for r in A]), arb_mat([list(r) for r in C])
    S, T, R = Am.transpose() * Am, Am.transpose() * Cm, Cm.transpose() * Cm
    # a unit matters unless its outgoing weights are fixed and exactly zero
    live = [trA or any(not A[o][j].is_zero() for o in range(mo)) for j in range(n)]
    teach = [m for m in range(len(V)) if not _is_exact_zero(V[m])]
    w = [_col(r) for r in W]
    nw2 = [(x.transpose() * x)[0, 0] for x in w]
    v = {m: _col(V[m]) for m in teach}
    nv2 = {m: (v[m].transpose() * v[m])[0, 0] for m in teach}
    # k(w, .) is not differentiable at w = 0: only matters when W is trained (else L is quadratic in A)
    kinks = [(1, j, "zero") for j in range(n) if trW and live[j] and not nw2[j] > 0]
    pair_ok = not kinks

    Kww = [[nw2[j] / 2 if j == k else arb(0) for k in range(n)] for j in range(n)]
    Kwv = [[arb(0)] * len(V) for _ in range(n)]
    pww, pwv = {}, {}
    for j in range(n):
        if not live[j]:
            continue
        for k in range(j + 1, n):
            if live[k] and pair_ok:
                p = pww[j, k] = _Pair(w[j], nw2[j], w[k], nw2[k])
                Kww[j][k] = Kww[k][j] = p.value()
            elif live[k]:
                Kww[j][k] = Kww[k][j] = _kernel_ball(W[j], W[k])
        for m in teach:
            if pair_ok:
                p = pwv[j, m] = _Pair(w[j], nw2[j], v[m], nv2[m])
                Kwv[j][m] = p.value()
            else:
                Kwv[j][m] = _kernel_ball(W[j], V[m])
    Kvv = [[_kernel_ball(V[m], V[m2], same=(m == m2)) for m2 in range(len(V))] for m in range(len(V))]
    loss = (sum((S[j, k] * Kww[j][k] for j in range(n) for k in range(n)), arb(0))
            - 2 * sum((T[j, m] * Kwv[j][m] for j in range(n) for m in range(len(V))), arb(0))
            + sum((R[m, m2] * Kvv[m][m2] for m in range(len(V)) for m2 in range(len(V))), arb(0)))
    if wd is not None:
        loss += wd / 2 * sum((x * x for tr, M in ((trW, W), (trA, A)) if tr for r in M for x in r), arb(0))
    if order < 1 or kinks:
        return loss, None, None, kinks

    # gradient ------------------------------------------------------------------------------------------------
    gw = [None] * n          # dL/dw_j as d x 1 arb_mat
    dkw = {}                 # dk(w_j, w_k)/dw_j for j != k; dk(w_j, v_m)/dw_j under ("v", j, m)
    for (j, k), p in pww.items():
        dkw[j, k], dkw[k, j] = p.grad_w(), p.grad_v()
    for (j, m), p in pwv.items():
        dkw["v", j, m] = p.grad_w()
    for j in range(n if trW else 0):
        g = w[j] * S[j, j]  # exactly 0 for a unit that does not matter
        if not live[j]:
            gw[j] = g
            continue
        for k in range(n):
            if k != j and (j, k) in dkw:
                g += dkw[j, k] * (2 * S[j, k])
        for m in teach:
            g -= dkw["v", j, m] * (2 * T[j, m])
        gw[j] = g
    # dL/dA[o, j] = 2 (A Kww - C Kwv^T)[o, j]
    gA = (Am * arb_mat(Kww) - Cm * arb_mat(Kwv).transpose()) * 2 if trA else None
    offsets, P = network.layer_offsets()
    grad = [arb(0)] * P
    if trW:
        for j in range(n):
            for a in range(d):
                grad[offsets[0] + j * d + a] = gw[j][a, 0] + (wd * W[j][a] if wd is not None else 0)
    if trA:
        for o in range(mo):
            for j in range(n):
                grad[offsets[1] + o * n + j] = gA[o, j] + (wd * A[o][j] if wd is not None else 0)
    if order < 2:
        return loss, grad, None, kinks

    # Hessian -------------------------------------------------------------------------------------------------
    if trW:  # the W-blocks divide by s: a parallel pair must be excluded over the whole box
        kinks = [(1, j, ("student", k)) for (j, k), p in pww.items() if not p.smooth]
        kinks += [(1, j, ("teacher", m)) for (j, m), p in pwv.items() if not p.smooth]
    if kinks:
        return loss, grad, None, kinks
    H = [[arb(0)] * P for _ in range(P)]

    def put(r0, c0, block, sym=True):
        for a in range(block.nrows()):
            for b in range(block.ncols()):
                H[r0 + a][c0 + b] = block[a, b]
                if sym:
                    H[c0 + b][r0 + a] = block[a, b]

    eye = arb_mat([[arb(int(a == b)) for b in range(d)] for a in range(d)])
    if trW:
        o0 = offsets[0]
        for j in range(n):
            D = eye * (S[j, j] + (wd if wd is not None else 0))
            if not live[j]:
                put(o0 + j * d, o0 + j * d, D, sym=False)
                continue
            for k in range(n):
                if k != j and live[k]:
                    p = pww[min(j, k), max(j, k)]
                    D += (p.h1_w(eye) if j < k else p.h1_v(eye)) * (2 * S[j, k])
            for m in teach:
                D -= pwv[j, m].h1_w(eye) * (2 * T[j, m])
            put(o0 + j * d, o0 + j * d, D, sym=False)
        for (j, k), p in pww.items():
            put(o0 + j * d, o0 + k * d, p.h2(eye) * (2 * S[j, k]))
    if trA:
        o1 = offsets[1]
        for o in range(mo):
            for j in range(n):
                for k in range(n):
                    H[o1 + o * n + j][o1 + o * n + k] = 2 * Kww[j][k]
        if wd is not None:
            for t in range(mo * n):
                H[o1 + t][o1 + t] += wd
    if trA and trW:
        for o in range(mo):
            for j in range(n):
                if not live[j]:
                    continue
                row = o1 + o * n + j
                # l = j: 2 a_oj w_j + 2 sum_{k != j} a_ok dk(w_j, w_k)/dw_j - 2 sum_m c_om dk(w_j, v_m)/dw_j
                g = w[j] * (2 * A[o][j])
                for k in range(n):
                    if k != j and live[k]:
                        g += dkw[j, k] * (2 * A[o][k])
                for m in teach:
                    g -= dkw["v", j, m] * (2 * C[o][m])
                put(row, o0 + j * d, g.transpose())
                # l != j: 2 a_ol dk(w_l, w_j)/dw_l
                for l in range(n):
                    if l != j and live[l]:
                        put(row, o0 + l * d, (dkw[l, j] * (2 * A[o][l])).transpose())
    return loss, grad, arb_mat(H), kinks


# ----------------------------------------------------------------------------------------------------- torch
def relu_kernel_torch(W, V):
    """Matrix of E[relu(w_j.x) relu(v_m.x)] for the rows of W (k x d) and V (m x d), float64 torch."""
    import torch

    dot = W @ V.T
    nw2 = (W * W).sum(dim=1)  # squared norms: vector_norm has a NaN derivative at a zero (teacher) unit
    nv2 = (V * V).sum(dim=1)
    q = torch.clamp(nw2[:, None] * nv2[None, :] - dot ** 2, min=0.0)
    s = torch.sqrt(q + 1e-300)
    t = torch.atan2(s, dot)
    return (s + (math.pi - t) * dot) / (2 * math.pi)


def _gram_torch(W):
    import torch

    k = W.shape[0]
    eye = torch.eye(k, dtype=W.dtype)
    off = relu_kernel_torch(W, W) * (1 - eye)
    return off + torch.diag((W * W).sum(dim=1) / 2)


def population_loss_torch(W, A, V, C):
    """Population loss in float64 torch (differentiable by torch.func). V, C are constants (the teacher)."""
    keep = (V != 0).any(dim=1)  # a zero teacher unit contributes 0, and its kernel has NaN second derivatives
    V, C = V[keep], C[:, keep]
    kww = _gram_torch(W)
    kwv = relu_kernel_torch(W, V)
    kvv = _gram_torch(V)
    return ((A @ kww) * A).sum() - 2 * ((A @ kwv) * C).sum() + ((C @ kvv) * C).sum()


# ----------------------------------------------------------------------------------------------------- numpy
def population_numpy(W, A, V, C):
    """(loss, gradient, Hessian) in float64 numpy with respect to W only (A fixed), vectorised closed forms.

    Fast evidence for Newton searches (e.g. the Safran-Shamir construction); the Hessian is P x P with P = n d in
    the flat order (row-major W). Undefined (NaN) at zero units or parallel pairs, like the formulas.
    """
    W, A, V, C = (np.asarray(x, dtype=np.float64) for x in (W, A, V, C))
    keep = np.any(V != 0, axis=1)
    V, C = V[keep], C[:, keep]
    n, d = W.shape
    S, T = A.T @ A, A.T @ C
    Y = np.vstack([W, V])                                  # students then teachers
    Cf = np.hstack([2 * S * (1 - np.eye(n)), -2 * T])      # coefficient of k(w_j, y_m) in dL/dw_j terms
    c = W @ Y.T
    nw2, ny2 = (W * W).sum(1), (Y * Y).sum(1)
    s = np.sqrt(np.maximum(nw2[:, None] * ny2[None, :] - c * c, 0.0))
    t = np.arctan2(s, c)
    two_pi = 2 * math.pi
    K = (s + (math.pi - t) * c) / two_pi
    Kvv = K[:, n:]
    kvv = V @ V.T
    qv = np.sqrt(np.maximum(np.outer((V * V).sum(1), (V * V).sum(1)) - kvv ** 2, 0.0))
    Kv = (qv + (math.pi - np.arctan2(qv, kvv)) * kvv) / two_pi
    np.fill_diagonal(Kv, (V * V).sum(1) / 2)
    Kw = K[:, :n].copy()
    np.fill_diagonal(Kw, nw2 / 2)
    loss = float((S * Kw).sum() - 2 * (T * Kvv).sum() + (C.T @ C * Kv).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = np.diag(S)[:, None] * W + ((Cf * s).sum(1) / nw2)[:, None] * W / two_pi \
            + (Cf * (math.pi - t)) @ Y / two_pi
        # diagonal blocks: sum_m Cf h1(w_j, y_m)
        U = nw2[:, None, None] * Y[None, :, :] - c[:, :, None] * W[:, None, :]     # n x (n+k) x d
        wt = np.where(Cf != 0, Cf / (s * nw2[:, None] ** 2), 0.0)
        P1 = np.einsum("jm,jma,jmb->jab", wt, U, U)
        a1 = (Cf * s).sum(1) / nw2
        eye = np.eye(d)
        D = (a1[:, None, None] * (eye - np.einsum("ja,jb->jab", W, W) / nw2[:, None, None]) + P1) / two_pi
        D += np.diag(S)[:, None, None] * eye
        # off-diagonal blocks: 2 S_jk h2(w_j, w_k)
        cw, sw, tw = c[:, :n], s[:, :n], t[:, :n]
        WW = np.einsum("ja,kb->jkab", W, W)
        M = WW + WW.transpose(1, 0, 2, 3)
        M -= cw[:, :, None, None] * (np.einsum("ja,jb->jab", W, W) / nw2[:, None, None])[:, None]
        M -= cw[:, :, None, None] * (np.einsum("ka,kb->kab", W, W) / nw2[:, None, None])[None, :]
        off = np.where((2 * S * (1 - np.eye(n)))[:, :, None, None] != 0,
                       (2 * S)[:, :, None, None] * ((math.pi - tw)[:, :, None, None] * eye + M / sw[:, :, None, None])
                       / two_pi, 0.0)
    H = off
    H[np.arange(n), np.arange(n)] = D
    return loss, grad.reshape(-1), H.transpose(0, 2, 1, 3).reshape(n * d, n * d)
