"""One-hidden-layer piecewise-linear networks inside a fixed activation pattern: the product-space argument.

Network f(x) = V sigma(W x + b) + c, with V (d_out x k) and unit j's incoming vector wbar_j = (w_j, b_j).
Inside a fixed pattern every pre-activation z_ji stays on one linear piece, sigma(z) = s_ji z + o_ji, so

    f_o(x_i) = sum_j s_ji <U_j[o], xbar_i> + sum_j o_ji V[o, j] + c_o,     U_j = V[:, j] wbar_j^T  (rank one),

is LINEAR in beta = (U, V-where-offsets-matter, c): the loss is a convex quadratic g(beta) = c_n sum ||Phi beta - y||^2
(no weight decay). If the point's beta satisfies the normal equations Phi^T r_o = 0 (gradient of g zero), it
minimises g over ALL beta, hence loss(theta') = g(beta(theta')) >= g(beta(theta)) for theta' in the pattern region,
a neighbourhood of theta: a local minimum (Yun, Sra, Jadbabaie, ICLR 2019, arXiv 1802.03487, proof of Theorem 1).

Also here: exact loss/gradient/Hessian of the fixed-slope polynomial L_S (the pass of
:mod:`spurious.arithmetic.passes` with a frozen pattern; used by the kink test, where the slopes on the kink are
chosen by a cone), and exact flat lines: a change e of the incoming weights only (V fixed) changes the outputs by
exactly t * A e inside the pattern, so ker A gives lines of constant loss.
"""

from __future__ import annotations

from flint import fmpq

from ..arithmetic.contexts import EXACT
from ..arithmetic.passes import evaluate_finite, forward
from ..linalg import nullspace, rank, to_mat

__all__ = ["OneHidden", "one_hidden", "fixed_slope_derivatives", "product_space_test", "incoming_flat_line",
           "pattern_from_pieces"]


class OneHidden:
    """Index bookkeeping for a one-hidden-layer network with both layers trainable."""

    def __init__(self, problem, point):
        net = problem.network
        self.problem, self.point, self.net = problem, point, net
        self.d0, self.k, self.dout = net.widths
        self.bias1, self.bias2 = net.bias
        offsets, self.P = net.layer_offsets()
        self.off1, self.off2 = offsets
        self.W1 = [list(r) for r in point.layers[0].W]
        self.b1 = list(point.layers[0].b) if self.bias1 else None
        self.W2 = [list(r) for r in point.layers[1].W]
        self.b2 = list(point.layers[1].b) if self.bias2 else None
        self.X = problem.data.X
        self.Y = problem.data.Y
        self.n = len(self.X)
        self.c = fmpq(1, self.n) if problem.loss.reduction == "mean" else fmpq(1)
        self.wd = problem.loss.weight_decay
        self.act = net.activations[0]
        self.din = self.d0 + (1 if self.bias1 else 0)

    def xbar(self, i):
        x = list(self.X[i])
        return x + [fmpq(1)] if self.bias1 else x

    def wbar(self, j):
        return self.W1[j] + ([self.b1[j]] if self.bias1 else [])

    def incoming(self, j):
        """Flat indices of unit j's incoming weights (and bias), in the order of xbar."""
        idx = [self.off1 + j * self.d0 + t for t in range(self.d0)]
        if self.bias1:
            idx.append(self.off1 + self.k * self.d0 + j)
        return idx

    def outgoing(self, j):
        return [self.off2 + o * self.k + j for o in range(self.dout)]

    def out_bias(self, o):
        return self.off2 + self.dout * self.k + o if self.bias2 else None


def one_hidden(problem) -> bool:
    """Depth 2, both layers trainable, one piecewise-linear activation (finite data)."""
    net = problem.network
    return (problem.finite and net.depth == 2 and all(net.trainable)
            and net.activations[0].kind == "piecewise_linear")


def pattern_from_pieces(oh: OneHidden, ev):
    """Slopes S[j][i] and offsets O[j][i] (sigma(z) = S z + O on the piece holding z_ji); requires no kinks."""
    lines = [[oh.act.piece_line(p) for p in row] for row in ev.piece_index[0]]
    return [[s for s, _ in row] for row in lines], [[a for _, a in row] for row in lines]


def _frozen(oh, S, O):
    """The frozen pattern of :mod:`spurious.arithmetic.passes`: sigma(z_ji) = S[j][i] z + O[j][i] (O None: 0)."""
    return [[[(S[j][i], fmpq(0) if O is None else O[j][i]) for i in range(oh.n)] for j in range(oh.k)]]


def fixed_slope_derivatives(oh: OneHidden, S, O=None, order=2):
    """Exact (loss, gradient, Hessian) of the polynomial L_S: sigma replaced by s_ji z + o_ji per (unit, sample)."""
    p = oh.problem
    ev = evaluate_finite(EXACT, oh.net, oh.X, oh.Y, [(L.W, L.b) for L in oh.point.layers], p.loss.reduction,
                         oh.wd, order, pattern=_frozen(oh, S, O))
    return ev.loss, ev.gradient, ev.hessian


def residuals(oh: OneHidden, S, O):
    """r_i = f(x_i) - y_i (n x d_out) with sigma replaced by s_ji z + o_ji."""
    F = forward(EXACT, oh.net, oh.X, [(L.W, L.b) for L in oh.point.layers], _frozen(oh, S, O)).outputs
    return [[f - y for f, y in zip(fr, yr)] for fr, yr in zip(F, oh.Y)]


def product_space_test(oh: OneHidden, S, O):
    """Normal equations of the convex quadratic g on the product space. Returns (holds: bool, reasons)."""
    if oh.wd != 0:
        return False, ["product-space argument: not applicable with weight decay (the penalty is not a function "
                       "of the products u_j = v_j wbar_j)"]
    use_offsets = any(O[j][i] != 0 for j in range(oh.k) for i in range(oh.n))
    feats = []
    for i in range(oh.n):
        xb = oh.xbar(i)
        phi = [S[j][i] * x for j in range(oh.k) for x in xb]
        if use_offsets:
            phi += [O[j][i] for j in range(oh.k)]
        if oh.bias2:
            phi.append(fmpq(1))
        feats.append(phi)
    R = residuals(oh, S, O)
    bad = []
    for o in range(oh.dout):
        for f in range(len(feats[0])):
            if sum((feats[i][f] * R[i][o] for i in range(oh.n)), fmpq(0)) != 0:
                bad.append((o, f))
    m = len(feats[0])
    offs = ", v_j times piece offsets" if use_offsets else ""
    desc = ("inside the fixed activation pattern the outputs are linear in beta = "
            f"(u_j = v_j (w_j{', b_j' if oh.bias1 else ''}) for {oh.k} unit(s){offs}"
            f"{', output bias' if oh.bias2 else ''}): {m} feature(s) per output, {oh.n} sample(s)")
    if bad:
        return False, [desc, f"normal equations Phi^T r = 0 fail ({len(bad)} of {m * oh.dout} entries nonzero): "
                             "the point does not minimise the convex quadratic g; the product-space argument does "
                             "not apply"]
    return True, [desc,
                  "normal equations Phi^T r = 0 hold exactly: beta(theta) minimises the convex least-squares "
                  "quadratic g over all beta, and loss = g(beta(theta')) for every theta' in the pattern region (a "
                  "neighbourhood: no pre-activation on a breakpoint), so loss(theta') >= loss(theta) nearby: a local "
                  "minimum (Yun, Sra, Jadbabaie 2019, Theorem 1 argument)"]


def incoming_flat_line(oh: OneHidden, S, tangent_rows):
    """An exact direction e (flat coordinates) changing only incoming weights with A e = 0, e not in span(T).

    A e = (sum_j V[o,j] s_ji <xbar_i, e_j>)_{i,o} is the exact change of the outputs per unit step inside the
    pattern (V is unchanged), so the loss is constant on theta + t e for small |t|. Returns (e, description) or None.
    """
    if oh.wd != 0:
        return None  # the weight-decay penalty changes along any such line
    cols = [(j, q) for j in range(oh.k) for q in range(oh.din)]
    A = []
    for i in range(oh.n):
        xb = oh.xbar(i)
        for o in range(oh.dout):
            A.append([oh.W2[o][j] * S[j][i] * xb[q] for j, q in cols])
    basis = nullspace(to_mat(A)) if A else []
    rT = rank(tangent_rows) if tangent_rows else 0
    candidates = list(basis)
    # also simple sums (a basis vector may lie in span T while a combination does not)
    candidates += [tuple(a + b for a, b in zip(u, v)) for u, v in zip(basis, basis[1:])]
    for vec in candidates:
        e = [fmpq(0)] * oh.P
        for (j, q), val in zip(cols, vec):
            e[oh.incoming(j)[q]] = val
        if all(x == 0 for x in e):
            continue
        if rank(list(tangent_rows) + [e]) > rT:
            units = sorted({j for (j, q), val in zip(cols, vec) if val != 0})
            return tuple(e), (f"exact flat line: changing only the incoming weights of unit(s) {units} along e leaves "
                              f"every output on the data unchanged (A e = 0 with V fixed), so the loss is constant on "
                              f"theta + t e for small |t|; e is not in the span of the symmetry tangents, so the line "
                              f"leaves the orbit: not strict modulo symmetry")
    return None
