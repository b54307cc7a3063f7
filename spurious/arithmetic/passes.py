"""The forward/backward/Jacobian/Hessian pass of a network on finite data, written once for every context.

Layout: samples are columns. h_0 = X^T (d_0 x n), z_l = W_l h_{l-1} + b_l 1^T, h_l = sigma_l(z_l) for l < L and
f = z_L (d_L x n). Flat parameters in the order of :mod:`spurious.network` (layer by layer, W row-major then b;
non-trainable layers are constants). With c = 1/n (mean) or 1 (sum), residuals r = f - y, adjoints G_l =
dLoss/dz_l and A_l = dLoss/dh_l (backpropagation) and forward Jacobians DZ_l^(i) = dz_l(x_i)/dtheta,
DH_l^(i) = diag(sigma'(z_l)) DZ_l^(i), the second-order chain rule reads

    Hessian = 2c sum_i DZ_L^(i)T DZ_L^(i)                                        (Gauss-Newton part, = 2c J^T J)
            + sum_{l<L} sum_{i,k} A_l[k,i] sigma''(z_l[k,i]) DZ_l^(i)[k]^T DZ_l^(i)[k]    (curvature of activations)
            + sum_l (K_l + K_l^T),  K_l[W_l[k,j], :] = sum_i G_l[k,i] DH_{l-1}^(i)[j, :]   (z = W h is bilinear)
            + lambda on the weight coordinates                                    (weight decay)

and the Jacobian J of the stacked outputs (row i d_L + o is f_o(x_i)) is DZ_L. Contexts
(:mod:`.contexts`): :data:`EXACT` (``fmpq``, exact), :class:`BallContext` (``arb``, enclosures over a box of
parameters given as balls) and :data:`TORCH` (float64; matrix products in torch, the same formulas, no autodiff).
Scalars live in nested lists; every product goes through the context's matrix type.

Frozen activation pattern. ``pattern`` (optional) gives, per hidden layer, a d_l x n table whose entry for (unit k,
sample i) is a piece index p of that layer's piecewise-linear activation (sigma = a_p + s_p z on piece p, see
:meth:`~spurious.activations.Activation.piece_line`) or an explicit line (slope, intercept); a layer entry None is
not frozen. A frozen entry is evaluated as its line even on or across a breakpoint: the network is then the
polynomial of that pattern (one-sided derivatives at a kink; the frozen-pattern and kink arguments need this). An
unfrozen pre-activation on (for balls: possibly on) a breakpoint is reported in ``kinks`` and makes the
derivatives undefined.

The float-interval enclosure of :mod:`.fast_enclosure` calls :func:`forward` and :func:`backward` in the ball
context for the n x width quantities, and keeps its own vectorised numpy form of the P-sized products (why: see
its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flint import arb

from ..errors import InputError, UnsupportedError

__all__ = ["Forward", "Evaluation", "forward", "backward", "jacobian", "evaluate_finite", "context_layers",
           "frozen_line"]


# -------------------------------------------------------------------------------------------------- contexts
class _FlintMatrices:
    """fmpq_mat / arb_mat (exact and ball contexts)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.M = ctx.matrix

    def mat(self, rows, ncols=None):
        """Matrix from a sequence of rows (ncols: the width when there are no rows)."""
        return self.M(rows) if len(rows) else self.M(0, ncols or 0)

    def zeros(self, r, c):
        return self.M(r, c)

    @staticmethod
    def mm(A, B):
        return A * B

    @staticmethod
    def T(A):
        return A.transpose()

    @staticmethod
    def rows(A):
        return A.tolist()

    def activation(self, act, Z):
        """Rows of (value, slope, curvature) of ``act`` at every entry of the row lists Z."""
        return [[act.evaluate(self.ctx, z) for z in row] for row in Z]


class _TorchMatrices:
    """float64 torch tensors (the TORCH context); scalars are python floats."""

    def __init__(self, ctx):
        import torch

        self.ctx, self.torch = ctx, torch

    def mat(self, rows, ncols=None):
        rows = [list(r) for r in rows]
        if not rows:
            return self.torch.zeros((0, ncols or 0), dtype=self.torch.float64)
        return self.torch.tensor(rows, dtype=self.torch.float64).reshape(len(rows), -1)

    def zeros(self, r, c):
        return self.torch.zeros((r, c), dtype=self.torch.float64)

    @staticmethod
    def mm(A, B):
        return A @ B

    @staticmethod
    def T(A):
        return A.T

    @staticmethod
    def rows(A):
        return A.tolist()

    def activation(self, act, Z):
        v, s1, s2 = act.evaluate(self.ctx, self.mat(Z, 0))
        return [list(zip(a, b, c)) for a, b, c in zip(v.tolist(), s1.tolist(), s2.tolist())]


def _matrices(ctx):
    from .contexts import TorchContext

    return _TorchMatrices(ctx) if isinstance(ctx, TorchContext) else _FlintMatrices(ctx)


def _is_zero(x):
    """Exactly zero (an arb ball counts only if it is the exact point 0, never a ball around 0)."""
    # not fmpq.is_zero: in python-flint 0.9.0 it returns False for fmpq(0)
    return x.is_zero() if isinstance(x, arb) else x == 0


def context_layers(ctx, layers):
    """[(W rows, b or None)] of exact numbers converted to the context's scalars (fmpq, arb or float)."""
    K = ctx.const
    return [([[K(w) for w in row] for row in W], None if b is None else [K(v) for v in b]) for W, b in layers]


def frozen_line(act, entry):
    """(slope, intercept) of a frozen-pattern entry: a piece index of ``act`` or an explicit (slope, intercept)."""
    if isinstance(entry, tuple):
        return entry
    if act.kind != "piecewise_linear":
        raise InputError(f"frozen pattern: activation {act} is not piecewise linear; give (slope, intercept) pairs")
    if not 0 <= entry < len(act.slopes):
        raise InputError(f"frozen pattern: piece {entry} of {act} does not exist ({len(act.slopes)} pieces)")
    return act.piece_line(entry)


# ---------------------------------------------------------------------------------------------------- forward
@dataclass
class Forward:
    """One forward pass. Matrices are of the context's matrix type, tables are d_l x n row lists of scalars.

    ``H[l]`` is h_l for l = 0..L-1 (h_0 = X^T) and ``H[L]`` the outputs f (d_L x n); ``Z[l]`` the pre-activations
    of layer l = 1..L (``Z[0]`` None); ``S1[l]``, ``S2[l]`` sigma' and sigma'' of hidden layer l (None entries on a
    kink); ``piece_index[l-1]`` the piece of every hidden pre-activation (None on a kink or for a non-piecewise-
    linear activation; for a frozen layer the frozen entry); ``kinks`` the unfrozen (layer, unit, sample) on, or
    possibly on, a breakpoint.
    """

    ctx: object
    network: object
    layers: list
    n: int
    H: list
    Z: list
    S1: list
    S2: list
    piece_index: list
    kinks: list

    def _hrows(self, ops):
        """h_l for l = 0..L-1 as row lists (d_l x n), computed once."""
        if getattr(self, "_hrows_cache", None) is None:
            self._hrows_cache = [ops.rows(h) for h in self.H[:self.network.depth]]
        return self._hrows_cache

    @property
    def outputs(self):
        """F, n x d_L (row i is f(x_i))."""
        return [list(col) for col in zip(*_matrices(self.ctx).rows(self.H[-1]))]


def forward(ctx, network, X, layers, pattern=None) -> Forward:
    """Values of every layer at the inputs X (n x d_0, exact numbers); ``layers`` in the context's scalars."""
    ops = _matrices(ctx)
    K = ctx.const
    n, L = len(X), network.depth
    if pattern is not None and len(pattern) != L - 1:
        raise InputError(f"frozen pattern: expected {L - 1} hidden layer(s), got {len(pattern)}")
    H = [ops.mat([[K(x[j]) for x in X] for j in range(network.widths[0])], n)]
    Z, S1, S2, pieces, kinks = [None], [None], [None], [], []
    for l in range(1, L + 1):
        W, b = layers[l - 1]
        Zl = ops.rows(ops.mm(ops.mat(W, network.widths[l - 1]), H[-1]))
        if b is not None:
            Zl = [[z + bk for z in row] for row, bk in zip(Zl, b)]
        Z.append(Zl)
        if l == L:
            H.append(ops.mat(Zl, n))
            break
        act = network.activations[l - 1]
        frozen = None if pattern is None else pattern[l - 1]
        if frozen is not None:
            out, idx = _frozen(ctx, act, Zl, frozen)
        else:
            out = ops.activation(act, Zl)
            idx = None
            if act.kind == "piecewise_linear":
                idx = [[None if o[1] is None else act.piece_of(z) for z, o in zip(zr, orow)]
                       for zr, orow in zip(Zl, out)]
            kinks += [(l, k, i) for k, orow in enumerate(out) for i, o in enumerate(orow) if o[1] is None]
        H.append(ops.mat([[o[0] for o in row] for row in out], n))
        S1.append([[o[1] for o in row] for row in out])
        S2.append([[o[2] for o in row] for row in out])
        pieces.append(idx)
    return Forward(ctx, network, layers, n, H, Z, S1, S2, pieces, kinks)


def _frozen(ctx, act, Zl, frozen):
    K = ctx.const
    if len(frozen) != len(Zl) or any(len(f) != len(z) for f, z in zip(frozen, Zl)):
        raise InputError("frozen pattern: each layer's table must be d_l x n (units x samples)")
    lines = {}
    out = []
    for zr, fr in zip(Zl, frozen):
        row = []
        for z, e in zip(zr, fr):
            if e not in lines:
                s, a = frozen_line(act, e)
                lines[e] = (K(s), K(a))
            s, a = lines[e]
            row.append((a + s * z, s, K(0)))
        out.append(row)
    return out, [list(fr) for fr in frozen]


# --------------------------------------------------------------------------------------------------- backward
def backward(fw: Forward, G_out):
    """Adjoints of a scalar function of the outputs: ``G_out`` = its derivative w.r.t. f (d_L x n row lists).

    Returns (G, A): G[l] = d/dz_l (l = 1..L), A[l] = d/dh_l (l = 1..L-1), as row lists. Needs no kinks."""
    if fw.kinks:
        raise UnsupportedError("backward pass: a pre-activation is on a breakpoint (pass a frozen pattern)")
    ops = _matrices(fw.ctx)
    L = fw.network.depth
    G, A = [None] * (L + 1), [None] * (L + 1)
    G[L] = G_out
    for l in range(L, 1, -1):
        W = fw.layers[l - 1][0]
        A[l - 1] = ops.rows(ops.mm(ops.T(ops.mat(W, fw.network.widths[l - 1])), ops.mat(G[l], fw.n)))
        G[l - 1] = [[a * s for a, s in zip(ar, sr)] for ar, sr in zip(A[l - 1], fw.S1[l - 1])]
    return G, A


# ----------------------------------------------------------------------------------------- forward-mode tangents
# The tangent of z_l at sample i factors through the pre-activations of the trainable layers m <= l:
#     dz_l[k](x_i)/dW_m[a, b] = M_lm^(i)[k, a] h~_{m-1}[b, i],   M_lm^(i) = dz_l/dz_m (x_i),   h~ = (h; 1),
# the bias b_m[a] taking the place of b = d_{m-1}. So tangent rows are assembled from the small sensitivities
# M_lm (d_l x d_m per sample) and the layer values, and the P-sized products below are one matrix product each
# (Gauss-Newton 2c J^T J, the bilinear blocks as U h~^T), instead of per-sample d_l x P matrices (why: speed).
def _trainable(fw):
    """[(m, offset, d_m, d_{m-1}, has_bias)] for the trainable layers."""
    offsets, _ = fw.network.layer_offsets()
    return [(m, offsets[m - 1], *shape) for m, shape in enumerate(fw.network.layer_shapes(), start=1)
            if offsets[m - 1] is not None]


def _sensitivities(fw):
    """S[(l, m)][i] = M_lm^(i) = dz_l/dz_m at sample i (d_l x d_m row lists) for trainable m < l; l = m is the
    identity and is not stored."""
    ops = _matrices(fw.ctx)
    net = fw.network
    S = {}
    for m, *_ in _trainable(fw):
        for l in range(m + 1, net.depth + 1):
            W = fw.layers[l - 1][0]
            per = []
            for i in range(fw.n):
                s = [fw.S1[l - 1][a][i] for a in range(net.widths[l - 1])]
                Ws = [[w * sa for w, sa in zip(row, s)] for row in W]  # W_l diag(sigma'(z_{l-1}))
                if l == m + 1:
                    per.append(Ws)
                else:
                    prev = S[(l - 1, m)][i]
                    per.append(ops.rows(ops.mm(ops.mat(Ws, len(s)), ops.mat(prev, net.widths[m]))))
            S[(l, m)] = per
    return S


def _tangent_rows(fw, S, l, i, units):
    """Rows dz_l[k](x_i)/dtheta (P scalars each) for k in ``units``."""
    K = fw.ctx.const
    zero, one = K(0), K(1)
    P = fw.network.num_params
    ops = _matrices(fw.ctx)
    out = []
    for k in units:
        row = [zero] * P
        for m, off, dout, din, hb in _trainable(fw):
            if m > l:
                break
            h = [v[i] for v in fw._hrows(ops)[m - 1]]
            coefs = S[(l, m)][i][k] if m < l else None
            for a in range(dout):
                if coefs is None:
                    if a != k:
                        continue
                    c = one
                else:
                    c = coefs[a]
                    if _is_zero(c):
                        continue
                base = off + a * din
                row[base:base + din] = h if coefs is None else [c * v for v in h]
                if hb:
                    row[off + dout * din + a] = c
        out.append(row)
    return out


def jacobian(ctx, network, X, layers, pattern=None):
    """(F, J): outputs F (n x d_L row lists) and the Jacobian J ((n d_L) x P, row i d_L + o = df_o(x_i)/dtheta)
    of the stacked outputs w.r.t. the flat trainable parameters, in the context's matrix type.

    ``layers``: [(W rows, b or None)] in the context's scalars (:func:`context_layers`); ``pattern``: an optional
    frozen activation pattern (module docstring). Exact with :data:`EXACT`, an enclosure with a ball context.
    Raises UnsupportedError if an unfrozen pre-activation is (or may be) on a breakpoint.
    """
    fw = forward(ctx, network, X, layers, pattern)
    if fw.kinks:
        raise UnsupportedError(f"jacobian: {len(fw.kinks)} pre-activation(s) on a breakpoint (first: layer, unit, "
                               f"sample = {fw.kinks[0]}); pass a frozen pattern to choose the pieces")
    return fw.outputs, _output_jacobian(fw, _sensitivities(fw))


def _output_jacobian(fw, S):
    L = fw.network.depth
    units = range(fw.network.widths[-1])
    return _matrices(fw.ctx).mat([r for i in range(fw.n) for r in _tangent_rows(fw, S, L, i, units)],
                                 fw.network.num_params)


# ------------------------------------------------------------------------------------ loss, gradient, Hessian
@dataclass
class Evaluation:
    """Result of one evaluation. Scalars and matrices are of the context's type (fmpq / arb / float)."""

    loss: object
    gradient: list | None = None          # P entries
    hessian: object | None = None         # P x P matrix (fmpq_mat / arb_mat / torch or numpy)
    kinks: list = field(default_factory=list)       # (layer l >= 1, unit k, sample i) on (or maybe on) a breakpoint
    pieces: list = field(default_factory=list)      # per hidden layer: d_l x n list of slopes sigma' (None on a kink)
    piece_index: list = field(default_factory=list)  # per hidden layer: d_l x n piece index (None: not PL)
    context: str = ""


def evaluate_finite(ctx, network, X, Y, layers, reduction="mean", weight_decay=0, order=2, pattern=None) \
        -> Evaluation:
    """Finite-data squared loss and (order >= 1) its gradient, (order >= 2) its Hessian.

    ``ctx``: EXACT, a BallContext or TORCH; ``X``, ``Y``: exact data (n x d_0, n x d_L); ``layers``: per layer
    (W rows, b or None) in the context's scalars; ``pattern``: optional frozen activation pattern (the loss is then
    the polynomial of that pattern). Derivatives are None when an unfrozen pre-activation is on a breakpoint.
    """
    K = ctx.const
    fw = forward(ctx, network, X, layers, pattern)
    n, L = fw.n, network.depth
    c = K(1) / n if reduction == "mean" else K(1)
    zero = K(0)
    F = _matrices(ctx).rows(fw.H[L])
    R = [[F[o][i] - K(Y[i][o]) for i in range(n)] for o in range(network.widths[-1])]
    loss = c * sum((r * r for row in R for r in row), zero)
    offsets, P = network.layer_offsets()
    wd = K(weight_decay)
    if weight_decay:
        loss += wd / 2 * sum((w * w for l, (W, _) in enumerate(layers) if offsets[l] is not None
                              for row in W for w in row), zero)
    result = Evaluation(loss=loss, kinks=fw.kinks, pieces=fw.S1[1:L], piece_index=fw.piece_index, context=ctx.name)
    if order < 1 or fw.kinks:
        return result
    G, A = backward(fw, [[2 * c * r for r in row] for row in R])
    result.gradient = _gradient(fw, G, wd if weight_decay else None)
    if order >= 2:
        result.hessian = _hessian(fw, G, A, c, wd if weight_decay else None)
    return result


def _gradient(fw, G, wd):
    ops = _matrices(fw.ctx)
    net = fw.network
    zero = fw.ctx.const(0)
    offsets, P = net.layer_offsets()
    grad = [zero] * P
    for l, (dout, din, has_b) in enumerate(net.layer_shapes(), start=1):
        off = offsets[l - 1]
        if off is None:
            continue
        gW = ops.rows(ops.mm(ops.mat(G[l], fw.n), ops.T(fw.H[l - 1])))
        W = fw.layers[l - 1][0]
        for k in range(dout):
            for j in range(din):
                grad[off + k * din + j] = gW[k][j] + (wd * W[k][j] if wd is not None else zero)
            if has_b:
                grad[off + dout * din + k] = sum(G[l][k], zero)
    return grad


def _hessian(fw, G, A, c, wd):
    ops = _matrices(fw.ctx)
    net = fw.network
    zero = fw.ctx.const(0)
    L, n = net.depth, fw.n
    offsets, P = net.layer_offsets()
    if P == 0:
        return ops.zeros(0, 0)
    S = _sensitivities(fw)
    J = _output_jacobian(fw, S)
    hess = (2 * c) * ops.mm(ops.T(J), J)  # Gauss-Newton part
    hrows = fw._hrows(ops)
    train = _trainable(fw)
    # bilinear z_l = W_l h_{l-1}: K_l[W_l[k, j], col_m(a, b)] = sum_i G_l[k, i] dh_{l-1}[j]/dz_m[a] (x_i) h~_{m-1}[b, i]
    Kl = None
    for l, off_l, dout_l, din_l, _ in train:
        for m, off_m, dout_m, din_m, hb_m in train:
            if m >= l:
                break
            U, keys = [], []
            for k in range(dout_l):
                for j in range(din_l):
                    sj = fw.S1[l - 1][j]
                    for a in (range(dout_m) if m < l - 1 else (j,)):
                        if m < l - 1:
                            coef = [G[l][k][i] * sj[i] * S[(l - 1, m)][i][j][a] for i in range(n)]
                        else:
                            coef = [G[l][k][i] * sj[i] for i in range(n)]
                        U.append(coef)
                        keys.append((off_l + k * din_l + j, a))
            ht = [[v[i] for v in hrows[m - 1]] + ([fw.ctx.const(1)] if hb_m else []) for i in range(n)]
            R = ops.rows(ops.mm(ops.mat(U, n), ops.mat(ht, din_m + hb_m)))
            if Kl is None:
                Kl = [[zero] * P for _ in range(P)]
            for (row, a), vals in zip(keys, R):
                Kl[row][off_m + a * din_m: off_m + (a + 1) * din_m] = vals[:din_m]
                if hb_m:
                    Kl[row][off_m + dout_m * din_m + a] = vals[din_m]
    if Kl is not None:
        Km = ops.mat(Kl, P)
        hess = hess + Km + ops.T(Km)
    # curvature of the activation: sum A sigma'' dz dz^T (vanishes for piecewise-linear units off their kinks)
    for l in range(1, L):
        if not any(m <= l for m, *_ in train):
            continue
        rows, weighted = [], []
        for i in range(n):
            for k in range(net.widths[l]):
                w = A[l][k][i] * fw.S2[l][k][i]
                if not _is_zero(w):
                    r = _tangent_rows(fw, S, l, i, (k,))[0]
                    rows.append(r)
                    weighted.append([w * v for v in r])
        if rows:
            hess = hess + ops.mm(ops.T(ops.mat(rows, P)), ops.mat(weighted, P))
    if wd is not None:
        for l, (dout, din, _) in enumerate(net.layer_shapes()):
            if offsets[l] is not None:
                for t in range(dout * din):
                    hess[offsets[l] + t, offsets[l] + t] += wd
    return hess
