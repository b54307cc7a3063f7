"""Exact polish of a float end point of a piecewise-linear network inside its activation pattern.

A float end point is only nearly critical; rounded to rationals it is exactly *not* critical, and the exact path
answers ``not_critical``. Inside a fixed activation pattern the network's outputs on the data are polynomial in
the parameters, and for the last layer (and, with one hidden layer of positively homogeneous units, for the
products u_k = v_k (w_k, b_k)) they are *linear*: there the critical points of the squared loss inside the
pattern are least-squares solutions, which are rational. So:

1. the hidden layers are rounded to simple rationals (denominator <= ``max_den``) and their exact activation
   pattern on the data is checked against the float one (a changed pattern: no polish);
2. one hidden layer, positively homogeneous activation (ReLU, leaky ReLU), scalar output: the products u_k and the
   output bias solve the exact least-squares problem over the pattern's model class (the solution nearest to the
   rounded float products); then (w_k, b_k) = u_k / v_k with the rounded v_k. The loss inside the pattern is a
   function of u only, so the point is exactly critical inside the pattern (Yun, Sra, Jadbabaie, ICLR 2019,
   proof of Theorem 1; the frozen-pattern certificate of verifiers/frozen_pattern.py);
3. otherwise the last layer solves the exact least-squares problem on the hidden features (nearest solution):
   its gradient is exactly zero, and so is the whole gradient where the earlier layers' gradient vanishes in the
   pattern (dead units and dead layers, the deep-lift and dead-units families).

The result is only a candidate: the verifier proves (or refutes) everything at the new point, and the pattern is
re-checked exactly. No weight decay (with it the problem is a ridge regression; not done here).
"""

from __future__ import annotations

from fractions import Fraction

from flint import fmpq

__all__ = ["pattern_polish"]


def _q(x, max_den):
    f = Fraction(float(x)).limit_denominator(max_den)
    return fmpq(f.numerator, f.denominator)


def _sigma(act, z):
    """(value, piece) of a piecewise-linear activation at an exact z; piece None on a breakpoint."""
    piece = 0
    for c in act.breakpoints:
        if z == c:
            return None, None
        if z > c:
            piece += 1
    v = act.offset + act.slopes[0] * z
    for k, c in enumerate(act.breakpoints):
        if z > c:
            v += (act.slopes[k + 1] - act.slopes[k]) * (z - c)
    return v, piece


def _forward(net, X, layers, upto):
    """Exact hidden features after layers 1..upto (1-based) and the pieces; None if a pre-activation is a kink."""
    H, pieces = [list(x) for x in X], []
    for l in range(upto):
        W, b = layers[l]
        act = net.activations[l]
        newH, P = [], []
        for h in H:
            row, prow = [], []
            for k, w in enumerate(W):
                z = sum((wi * hi for wi, hi in zip(w, h)), fmpq(0)) + (b[k] if b is not None else 0)
                v, p = _sigma(act, z)
                if p is None:
                    return None, None
                row.append(v)
                prow.append(p)
            newH.append(row)
            P.append(tuple(prow))
        H = newH
        pieces.append(tuple(P))
    return H, pieces


def _nearest_ls(columns, y, start, least_squares):
    """Least-squares coefficients nearest to ``start``: start + min-norm solution for the residual."""
    r = [yi - sum((c[i] * s for c, s in zip(columns, start)), fmpq(0)) for i, yi in enumerate(y)]
    delta, _, _ = least_squares(columns, r)
    return [s + d for s, d in zip(start, delta)], delta


def pattern_polish(problem, layers_float, base=None, float_pieces=None, max_den=10**6):
    """An exact Point at the least-squares solution inside the activation pattern of the float point
    ``layers_float`` ([(W, b or None)] numpy; fixed layers are taken exactly from ``base``), or None when the
    recipe does not apply (see the module doc)."""
    from ..network import Layer, Point
    from ..linalg import least_squares

    net = problem.network
    L = net.depth
    if not problem.finite or problem.loss.weight_decay != 0 or not net.trainable[-1] or L < 2:
        return None
    if not all(a.kind == "piecewise_linear" for a in net.activations):
        return None
    X, Y = problem.data.X, problem.data.Y
    layers = [([[_q(v, max_den) for v in row] for row in W], None if b is None else [_q(v, max_den) for v in b])
              if tr else ([list(r) for r in fixed.W], None if fixed.b is None else list(fixed.b))
              for (W, b), tr, fixed in zip(layers_float, net.trainable,
                                           base.layers if base is not None else [None] * L)]
    H, pieces = _forward(net, X, layers, L - 1)
    if H is None or (float_pieces is not None and pieces != float_pieces):
        return None
    Wl, bl = layers[-1]
    act = net.activations[0]
    one_hidden = L == 2 and net.trainable[0] and act.homogeneity == 1 and act.offset == 0 and \
        all(c == 0 for c in act.breakpoints) and len(Wl) == 1
    if one_hidden:
        W1, b1 = layers[0]
        k, d = len(W1), len(X[0])
        cols, start = [], []
        for j in range(k):
            slope = [act.slopes[pieces[0][i][j]] for i in range(len(X))]
            for t in range(d):
                cols.append([s * x[t] for s, x in zip(slope, X)])
                start.append(Wl[0][j] * W1[j][t])
            if b1 is not None:
                cols.append(slope)
                start.append(Wl[0][j] * b1[j])
        if bl is not None:
            cols.append([fmpq(1)] * len(X))
            start.append(bl[0])
        coef, delta = _nearest_ls(cols, [y[0] for y in Y], start, least_squares)
        per = d + (b1 is not None)
        for j in range(k):
            u, du = coef[j * per:(j + 1) * per], delta[j * per:(j + 1) * per]
            v = Wl[0][j]
            if all(x == 0 for x in du):
                continue
            if v == 0:
                return None
            W1[j] = [x / v for x in u[:d]]
            if b1 is not None:
                b1[j] = u[d] / v
        if bl is not None:
            bl[0] = coef[-1]
        H2, pieces2 = _forward(net, X, layers, 1)
        if H2 is None or pieces2 != pieces:
            return None
    else:
        cols = [[h[j] for h in H] for j in range(len(H[0]))] + ([[fmpq(1)] * len(X)] if bl is not None else [])
        for o in range(len(Wl)):
            start = list(Wl[o]) + ([bl[o]] if bl is not None else [])
            coef, _ = _nearest_ls(cols, [y[o] for y in Y], start, least_squares)
            Wl[o] = coef[:len(Wl[o])]
            if bl is not None:
                bl[o] = coef[-1]
    return Point([Layer(tuple(tuple(r) for r in W), None if b is None else tuple(b)) for W, b in layers])
