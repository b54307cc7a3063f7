"""Frozen-pattern proof of local minimality for piecewise-linear networks (exact, rational).

The argument (certificate (R) of ../shared/research/constructions.md, section 0; Yun, Sra, Jadbabaie, ICLR 2019,
Theorem 1, proof of step 1; He, Wang, Tao, ICLR 2020; Christof and Kowalczyk 2022):

1. Every pre-activation at every sample is at exact distance >= m > 0 from every breakpoint, so near the point each
   unit stays on the linear piece a + s z it is on now: the activation pattern is frozen.
2. Inside the frozen pattern the network outputs on the data lie in a linear space C of vectors that does not depend
   on the parameters: constants when some hidden layer is *dead* (every unit of it on one zero-slope piece for all
   samples), otherwise, when every unit of layers 2..L-1 keeps one piece for all samples, the span of
   s_j(i) x_i, s_j(i), a_j(i) over the units j of layer 1 (plus constants). All-active patterns give affine maps.
3. Hence loss >= (least-squares loss over C) near the point, computed exactly; the point attains it: local minimum.
4. Strictness. One hidden layer, positively homogeneous activation, scalar output: the loss is a convex quadratic
   of the products u_j = v_j (w_j, b_j) and c. If that quadratic is strictly convex and every u_j != 0, the fibre of
   its minimiser is the positive-rescaling orbit: strict modulo symmetry. Otherwise a line through the point along
   which the outputs on the data are exactly constant (checked as polynomials in t) and that is not tangent to the
   symmetry orbit proves the minimum non-strict. If neither is found: inconclusive.

A dead layer needs a margin only in that layer (the layers before it are flat directions; after it everything is
constant). ``run`` is the proof path ``frozen_pattern`` (:mod:`.paths`); the exact path may call :func:`certify`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import fmpq

from ..arithmetic import EXACT as EXACT_CONTEXT, evaluate_exact
from ..arithmetic.passes import forward
from ..linalg import least_squares, nullspace, outside_span, rank
from .globality import global_status
from .symmetry import symmetry_names, symmetry_tangents
from ..certificate import (EXACT, INCONCLUSIVE, NON_STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY, Certificate)

__all__ = ["accepts", "run", "certify", "analyse", "PatternInfo"]

METHOD = "frozen activation pattern + least squares over the pattern's model class (exact)"


# the activation pattern -----------------------------------------------------------------------------------------
def piece_of(act, z):
    """(piece index, slope, intercept a with sigma = a + s z on the piece, distance to nearest breakpoint)."""
    p = act.piece_of(z)
    s, a = act.piece_line(p)
    return p, s, a, min(abs(z - c) for c in act.breakpoints)


@dataclass
class PatternInfo:
    """Per hidden layer l (0-based list): d_l x n matrices of pre-activation, piece, slope, intercept, distance."""

    Z: list
    piece: list
    slope: list
    icpt: list
    dist: list
    outputs: list  # n x d_L


def analyse(network, X, layers) -> PatternInfo:
    """Exact forward pass (:func:`spurious.arithmetic.passes.forward`) recording the piece of every hidden
    pre-activation (``layers``: [(W rows, b)]); on a breakpoint the left piece, at distance 0."""
    fw = forward(EXACT_CONTEXT, network, X, layers)
    info = PatternInfo([], [], [], [], [], fw.outputs)
    for l in range(1, network.depth):
        act = network.activations[l - 1]
        P = [[piece_of(act, z) for z in row] for row in fw.Z[l]]
        info.Z.append(fw.Z[l])
        info.piece.append([[p[0] for p in row] for row in P])
        info.slope.append([[p[1] for p in row] for row in P])
        info.icpt.append([[p[2] for p in row] for row in P])
        info.dist.append([[p[3] for p in row] for row in P])
    return info


def _layers(point):
    return [(L.W, L.b) for L in point.layers]


# the argument --------------------------------------------------------------------------------------------------
def accepts(candidate) -> bool:
    """Declared range: finite data, squared loss without weight decay, piecewise-linear hidden activations."""
    p = candidate.problem
    return (p.finite and p.loss.name == "squared" and p.loss.weight_decay == 0 and p.network.depth >= 2
            and all(a.kind == "piecewise_linear" for a in p.network.activations))


def _dead_layer(info):
    """First hidden layer (0-based) whose every unit sits on one zero-slope piece for all samples, with margin."""
    for l, (pc, sl, ds) in enumerate(zip(info.piece, info.slope, info.dist)):
        if all(len(set(row)) == 1 and s[0] == 0 and min(d) > 0 for row, s, d in zip(pc, sl, ds)):
            return l
    return None


def _class_columns(network, X, info):
    """Spanning columns of the model class of a frozen pattern whose layers 2..L-1 keep one piece per unit."""
    n, cols = len(X), []
    has_b1 = network.bias[0]
    for j in range(network.widths[1]):
        s, a = info.slope[0][j], info.icpt[0][j]
        for t in range(network.widths[0]):
            cols.append([s[i] * X[i][t] for i in range(n)])
        if has_b1:
            cols.append(list(s))
        if any(v != 0 for v in a):
            cols.append(list(a))
    later_const = any(network.bias[1:]) or any(v != 0 for rows in info.icpt[1:] for row in rows for v in row)
    if later_const:
        cols.append([fmpq(1)] * n)
    return cols


def certify(candidate):
    """The frozen-pattern argument as a :class:`Certificate`; ``inconclusive`` (with the reason) if it fails."""
    if not accepts(candidate):
        return _inconclusive(candidate, "frozen-pattern argument needs finite data, squared loss without weight "
                                        "decay and piecewise-linear activations")
    p, net = candidate.problem, candidate.problem.network
    X, Y, n = p.data.X, p.data.Y, p.data.n
    cfac = fmpq(1, n) if p.loss.reduction == "mean" else fmpq(1)
    info = analyse(net, X, _layers(candidate.point))
    loss = cfac * sum(((f - y) ** 2 for fr, yr in zip(info.outputs, Y) for f, y in zip(fr, yr)), fmpq(0))
    reasons = []
    dead = _dead_layer(info)
    if dead is not None:
        m = min(min(d) for d in info.dist[dead])
        reasons.append(f"every unit of hidden layer {dead + 1} sits on one zero-slope piece of its activation for all "
                       f"{n} samples, at distance >= {m} from every breakpoint: the layer stays dead nearby, its "
                       "output is constant, so the network output is the same constant for every sample")
        cols = [[fmpq(1)] * n]
        kind = "constants"
    else:
        kinks = [(l + 1, k, i) for l, D in enumerate(info.dist) for k, row in enumerate(D)
                 for i, d in enumerate(row) if d == 0]
        if kinks:
            return _inconclusive(candidate, f"{len(kinks)} pre-activation(s) sit on a breakpoint (first: layer, unit, "
                                            f"sample = {kinks[0]}): the pattern is not frozen", loss)
        if not all(len(set(row)) == 1 for pc in info.piece[1:] for row in pc):
            return _inconclusive(candidate, "a unit of hidden layer >= 2 changes piece between samples: no fixed "
                                            "model class for the frozen pattern", loss)
        m = min(min(row) for D in info.dist for row in D)
        reasons.append(f"every pre-activation at every sample is at distance >= {m} > 0 from a breakpoint: the "
                       "activation pattern is frozen near the point")
        cols = _class_columns(net, X, info)
        uniform = all(len(set(row)) == 1 for pc in info.piece for row in pc)
        kind = "affine maps of x" if uniform else "the span of the first layer's pattern features"
        later = (f"every hidden unit of layers 2..{net.depth - 1} keeps one linear piece for all samples, so "
                 if net.depth > 2 else "")
        reasons.append(f"inside the frozen pattern {later}the outputs on the data lie in {kind} ({len(cols)} "
                       "spanning columns), for every nearby parameter")
    bound = fmpq(0)
    fits = []
    for o in range(net.widths[-1]):
        _, fitted, rss = least_squares(cols, [Y[i][o] for i in range(n)])
        bound += rss
        fits.append(fitted)
    bound *= cfac
    if loss != bound:
        return _inconclusive(candidate, f"the loss {loss} is above the least-squares loss {bound} of the model class "
                                        f"({kind}): the frozen-pattern argument does not apply", loss)
    reasons.append(f"the least-squares loss over that class, computed exactly, is {bound}; the point attains it, so "
                   "the loss is >= its value near the point: a local minimum")
    verdict, extra, syms = _strictness(candidate, info, cols, dead)
    reasons += extra
    if verdict == INCONCLUSIVE:
        return _inconclusive(candidate, "local minimum proved, but strictness is undecided: " + extra[-1], loss)
    glob, wloss, greasons = global_status(candidate, loss, loss)
    return Certificate(verdict, EXACT, glob=glob, loss=loss, witness_loss=wloss, symmetries=syms,
                       reasons=reasons + greasons, method=METHOD)


def run(candidate):
    return certify(candidate)


def _inconclusive(candidate, reason, loss=None):
    if loss is None:
        try:
            loss = evaluate_exact(candidate.problem, candidate.point, order=0).loss
        except Exception:  # noqa: BLE001 - loss is informative only here
            loss = None
    return Certificate(INCONCLUSIVE, EXACT, loss=loss, reasons=[reason], method=METHOD)


# strictness ----------------------------------------------------------------------------------------------------
def _strictness(candidate, info, cols, dead):
    """(verdict, reasons, symmetry names)."""
    net, point = candidate.problem.network, candidate.point
    tangents = symmetry_tangents(net, point, candidate.problem.loss.weight_decay)
    T = [list(t.vector) for t in tangents]
    if dead is None and _strict_ok(net, point, info, cols):
        return STRICT_MODULO_SYMMETRY, [
            "one hidden layer, positively homogeneous activation, scalar output: the loss is a convex quadratic of "
            "u_j = v_j (w_j, b_j) and the output bias; its pattern features are linearly independent (strictly "
            "convex) and every u_j != 0, so near the point equal loss forces the positive-rescaling orbit"], \
            symmetry_names(tangents)
    found = _flat_direction(candidate, info, cols, dead, T)
    if found is None:
        return INCONCLUSIVE, ["no flat direction off the symmetry orbit was found, and the strict-convexity "
                              "condition does not hold"], []
    return NON_STRICT_LOCAL_MIN, [f"non-strict: along {found} the outputs on the data are exactly constant for "
                                  "small steps, and the direction is not tangent to the rescaling orbit"], []


def _strict_ok(net, point, info, cols):
    act = net.activations[0] if net.activations else None
    if net.depth != 2 or net.widths[-1] != 1 or act.homogeneity != 1 or not all(net.trainable):
        return False
    if rank([list(r) for r in zip(*cols)]) != len(cols):
        return False
    v = point.layers[1].W[0]
    return all(x != 0 for x in v)


def _flat_direction(candidate, info, cols, dead, T):
    net, point = candidate.problem.network, candidate.point
    offsets, P = net.layer_offsets()
    base_rank = rank(T)

    def off_orbit(d):
        return outside_span(T, d, base_rank)

    names = net.parameter_names()
    if dead is not None:  # every parameter of layers 1..dead+1 is flat
        for l in range(dead + 1):
            if offsets[l] is None:
                continue
            end = offsets[l] + len(point.layers[l].W) * len(point.layers[l].W[0]) + len(point.layers[l].b or ())
            for k in range(offsets[l], end):
                d = [fmpq(0)] * P
                d[k] = fmpq(1)
                if off_orbit(d):
                    return f"coordinate {names[k]} (it only moves the dead layer's inputs)"
        return None
    candidates = []
    for k in range(P):
        d = [fmpq(0)] * P
        d[k] = fmpq(1)
        candidates.append((f"coordinate {names[k]}", d))
    candidates += _kernel_directions(net, point, cols, P)
    for name, d in candidates:
        if off_orbit(d) and _outputs_constant(candidate, info, d):
            return name
    return None


def _kernel_directions(net, point, cols, P):
    """One hidden layer, scalar output: kernel vectors of the pattern features mapped to parameter directions."""
    if net.depth != 2 or net.widths[-1] != 1 or not all(net.trainable):
        return []
    d0, d1 = net.widths[0], net.widths[1]
    per_unit = d0 + (1 if net.bias[0] else 0)
    if net.activations[0].homogeneity != 1 or len(cols) not in (d1 * per_unit, d1 * per_unit + 1):
        return []
    v = point.layers[1].W[0]
    out = []
    for kv in nullspace([list(r) for r in zip(*cols)], len(cols)):
        d = [fmpq(0)] * P
        ok = True
        for j in range(d1):
            du = kv[j * per_unit:(j + 1) * per_unit]
            if any(x != 0 for x in du):
                if v[j] == 0:
                    ok = False
                    break
                for t in range(d0):
                    d[j * d0 + t] = du[t] / v[j]
                if net.bias[0]:
                    d[d1 * d0 + j] = du[d0] / v[j]
        if ok and len(cols) == d1 * per_unit + 1 and net.bias[1]:
            d[P - 1] = kv[-1]
        if ok and any(x != 0 for x in d):
            out.append(("a kernel direction of the product-space features", d))
    return out


def _outputs_constant(candidate, info, d):
    """Outputs on the data along point + t d with the pattern frozen: all constant in t?

    With the pattern frozen the outputs are polynomials of degree <= L in t (each layer multiplies by parameters
    affine in t); a polynomial of degree <= L that takes one value at the L + 1 points t = 0..L is constant, so
    exact evaluations of the frozen-pattern polynomial (:func:`spurious.arithmetic.passes.forward`) decide it."""
    net, point = candidate.problem.network, candidate.point
    X = candidate.problem.data.X
    frozen = [[[(s, a) for s, a in zip(srow, arow)] for srow, arow in zip(S, A)]
              for S, A in zip(info.slope, info.icpt)]
    values = [forward(EXACT_CONTEXT, net, X, _layers(point.shift(net, d, t)), frozen).outputs
              for t in range(net.depth + 1)]
    return all(v == values[0] for v in values[1:])

