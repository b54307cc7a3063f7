"""Loss, gradient and Hessian of a finite-data problem, written once for the exact and the ball context.

Method (second-order chain rule on the computation graph). With c = 1/n (mean) or 1 (sum), residuals
r_i = f(x_i) - y_i, pre-activations z_l, post-activations h_l, adjoints G_l = dLoss/dz_l and A_l = dLoss/dh_l
(backpropagation), and forward Jacobians DZ_l^(i) = dz_l(x_i)/dtheta, DH_l^(i) = diag(sigma'(z_l)) DZ_l^(i):

    Hessian = 2c sum_i DZ_L^(i)T DZ_L^(i)                                        (Gauss-Newton part)
            + sum_{l<L} sum_{i,k} A_l[k,i] sigma''(z_l[k,i]) DZ_l^(i)[k]^T DZ_l^(i)[k]    (curvature of activations)
            + sum_l (K_l + K_l^T),  K_l[W_l[k,j], :] = sum_i G_l[k,i] DH_{l-1}^(i)[j, :]   (z = W h is bilinear)
            + lambda on the weight coordinates                                    (weight decay)

Every product is a python-flint matrix product (``fmpq_mat`` or ``arb_mat``), so the result is exact, or a
rigorous enclosure over the box of parameters given as balls. A pre-activation that is (or, for balls, may be) on
a breakpoint of a piecewise-linear activation is reported in ``kinks``; the derivatives are then undefined there
and come back as None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flint import arb

__all__ = ["Evaluation", "evaluate_finite"]


@dataclass
class Evaluation:
    """Result of one evaluation. Scalars and matrices are of the context's type (fmpq / arb / float)."""

    loss: object
    gradient: list | None = None          # P entries
    hessian: object | None = None         # P x P matrix (fmpq_mat / arb_mat / numpy)
    kinks: list = field(default_factory=list)       # (layer l >= 1, unit k, sample i) on (or maybe on) a breakpoint
    pieces: list = field(default_factory=list)      # per hidden layer: d_l x n list of slopes sigma' (None on a kink)
    piece_index: list = field(default_factory=list)  # per hidden layer: d_l x n piece index (None: not PL)
    context: str = ""


def _rows(m):
    return m.tolist()


def _is_zero(x):
    """Exactly zero (an arb ball counts only if it is the exact point 0, never a ball around 0)."""
    # not fmpq.is_zero: in python-flint 0.9.0 it returns False for fmpq(0)
    return x.is_zero() if isinstance(x, arb) else x == 0


def evaluate_finite(ctx, network, X, Y, layers, reduction="mean", weight_decay=0, order=2) -> Evaluation:
    """Evaluate a finite-data squared loss and (order >= 1) its gradient, (order >= 2) its Hessian.

    Parameters
    ----------
    ctx : :data:`~spurious.arithmetic.contexts.EXACT` or a :class:`~spurious.arithmetic.contexts.BallContext`.
    network : :class:`~spurious.network.Network`.
    X, Y : data as nested sequences of exact numbers (n x d_0 and n x d_L).
    layers : per layer (W rows, b or None) with entries already in the context (fmpq or arb).
    """
    M = ctx.matrix
    K = ctx.const
    n, L = len(X), network.depth
    c = K(1) / n if reduction == "mean" else K(1)
    zero = K(0)
    H = [M([[K(x[j]) for x in X] for j in range(network.widths[0])])]  # h_0 = X^T, d_0 x n
    S1, S2, pieces, piece_index, kinks = [None], [None], [], [], []
    for l in range(1, L + 1):
        W, b = layers[l - 1]
        Z = _rows(M([list(r) for r in W]) * H[-1])
        if b is not None:
            Z = [[z + bk for z in row] for row, bk in zip(Z, b)]
        if l == L:
            H.append(Z)
            break
        act = network.activations[l - 1]
        hv, s1, s2 = [], [], []
        for k, row in enumerate(Z):
            out = [act.evaluate(ctx, z) for z in row]
            hv.append([o[0] for o in out])
            s1.append([o[1] for o in out])
            s2.append([o[2] for o in out])
            kinks += [(l, k, i) for i, o in enumerate(out) if o[1] is None]
        H.append(M(hv))
        S1.append(s1)
        S2.append(s2)
        pieces.append(s1)
        if act.kind == "piecewise_linear":
            piece_index.append([[None if s is None else sum(1 for c in act.breakpoints if z > K(c)) for z, s in
                                 zip(row, srow)] for row, srow in zip(Z, s1)])
        else:
            piece_index.append(None)
    F = H[L]
    R = [[F[o][i] - K(Y[i][o]) for i in range(n)] for o in range(network.widths[-1])]
    loss = c * sum((r * r for row in R for r in row), zero)
    offsets, P = network.layer_offsets()
    wd = K(weight_decay)
    if weight_decay:
        loss += wd / 2 * sum((w * w for l, (W, _) in enumerate(layers) if offsets[l] is not None
                              for row in W for w in row), zero)
    result = Evaluation(loss=loss, kinks=kinks, pieces=pieces, piece_index=piece_index, context=ctx.name)
    if order < 1 or kinks:
        return result

    # backward pass: adjoints G_l (w.r.t. z_l) and A_l (w.r.t. h_l)
    G = [None] * (L + 1)
    A = [None] * (L + 1)
    G[L] = [[2 * c * r for r in row] for row in R]
    for l in range(L, 1, -1):
        W = layers[l - 1][0]
        A[l - 1] = _rows(M([list(r) for r in W]).transpose() * M(G[l]))
        G[l - 1] = [[a * s for a, s in zip(ar, sr)] for ar, sr in zip(A[l - 1], S1[l - 1])]
    grad = [zero] * P
    for l in range(1, L + 1):
        off = offsets[l - 1]
        if off is None:
            continue
        dout, din, has_b = network.layer_shapes()[l - 1]
        gW = _rows(M(G[l]) * H[l - 1].transpose())
        W = layers[l - 1][0]
        for k in range(dout):
            for j in range(din):
                grad[off + k * din + j] = gW[k][j] + (wd * W[k][j] if weight_decay else zero)
            if has_b:
                grad[off + dout * din + k] = sum(G[l][k], zero)
    result.gradient = grad
    if order < 2:
        return result
    result.hessian = _hessian(ctx, network, layers, H, S1, S2, A, G, c, wd, weight_decay, n, P, offsets)
    return result


def _hessian(ctx, network, layers, H, S1, S2, A, G, c, wd, weight_decay, n, P, offsets):
    M, K = ctx.matrix, ctx.const
    zero = K(0)
    L = network.depth
    shapes = network.layer_shapes()
    Hrows = [_rows(h) for h in H[:L]]
    DH_prev = None  # list over samples of d_{l-1} x P row lists (None: identically zero)
    hess = M(P, P)
    for l in range(1, L + 1):
        dout, din, has_b = shapes[l - 1]
        off = offsets[l - 1]
        W = M([list(r) for r in layers[l - 1][0]])
        DZ = []
        for i in range(n):
            rows = _rows(W * M(DH_prev[i])) if DH_prev is not None else [[zero] * P for _ in range(dout)]
            if off is not None:
                for k in range(dout):
                    base = off + k * din
                    for j in range(din):
                        rows[k][base + j] += Hrows[l - 1][j][i]
                    if has_b:
                        rows[k][off + dout * din + k] += 1
            DZ.append(rows)
        # cross term from z_l = W_l h_{l-1}: K_l[W_l[k,j], :] = sum_i G_l[k,i] DH_{l-1}^(i)[j,:]
        if off is not None and DH_prev is not None:
            stack = M([[v for j in range(din) for v in DH_prev[i][j]] for i in range(n)])  # n x (din P)
            C = _rows(M(G[l]) * stack)
            Kl = [[zero] * P for _ in range(P)]
            for k in range(dout):
                for j in range(din):
                    Kl[off + k * din + j] = C[k][j * P:(j + 1) * P]
            Km = M(Kl)
            hess += Km + Km.transpose()
        if l == L:
            J = M([row for i in range(n) for row in DZ[i]])
            hess += (2 * c) * (J.transpose() * J)
            break
        # curvature of the activation: sum A sigma'' dz dz^T
        rows, weighted = [], []
        for i in range(n):
            for k in range(dout):
                w = A[l][k][i] * S2[l][k][i]
                if not _is_zero(w):
                    rows.append(DZ[i][k])
                    weighted.append([w * v for v in DZ[i][k]])
        if rows:
            hess += M(rows).transpose() * M(weighted)
        DH_prev = [[[s * v for v in DZ[i][k]] for k, s in enumerate(col)]
                   for i, col in enumerate(zip(*S1[l]))]
    if weight_decay:
        for l, (dout, din, _) in enumerate(shapes):
            if offsets[l] is not None:
                for t in range(dout * din):
                    hess[offsets[l] + t, offsets[l] + t] += wd
    return hess
