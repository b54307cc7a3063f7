"""Higher-order line tests at a degenerate critical point (issue 13): the loss restricted to a line, exactly.

At a point where no pre-activation sits on a breakpoint, every piecewise-linear unit keeps its linear piece
a + s z for small parameter changes, and polynomial activations are polynomials, so along a line x + t d

    p(t) = loss(x + t d)

is, for |t| small, an exact polynomial in t (any depth), computed here by a forward pass over fmpq_poly with the
pieces frozen. If the lowest nonzero coefficient beyond the constant has odd order, or even order and a negative
sign, the loss takes smaller values arbitrarily close to x: not a local minimum (the direction is in the
certificate). A polynomial with no nonconstant term is an exact flat line (used to show non-strictness when the line
is not tangent to the symmetry orbit).

Candidate directions: kernel vectors of H beyond the symmetry tangents, their sums and differences, sums with signs
of up to ``MAX_SIGN_VECTORS`` kernel vectors (e.g. (t, t, t, t) in a depth-4 scalar linear net at 0, where
p(t) = (1 - t^4)^2 = 1 - 2 t^4 + t^8), and a few seeded random combinations. A line that goes up (lowest term
positive and of even order) decides nothing. Curves of higher degree are not tried.
"""

from __future__ import annotations

import itertools
import random

from flint import fmpq, fmpq_poly

from ..rationals import format_short
from .frozen_pattern import piece_of
from ..linalg import nullspace, rank

__all__ = ["line_polynomial", "kernel_line_test", "lowest_term"]

MAX_SIGN_VECTORS = 7
MAX_CANDIDATES = 80


def _activation_poly(act, z: fmpq_poly) -> fmpq_poly:
    if act.kind == "piecewise_linear":
        _, s, a, dist = piece_of(act, z[0])
        if dist == 0:
            raise ValueError("a pre-activation sits on a breakpoint")
        return fmpq_poly([a]) + s * z
    out = fmpq_poly([])
    for c in reversed(act.coefficients):  # Horner
        out = out * z + fmpq_poly([c])
    return out


def line_polynomial(problem, point, d) -> fmpq_poly:
    """p(t) = loss(point + t d) exactly, for |t| small (pieces frozen); any depth, finite data, no kinks."""
    net = problem.network
    offsets, _ = net.layer_offsets()
    X, Y = problem.data.X, problem.data.Y
    c = fmpq(1, len(X)) if problem.loss.reduction == "mean" else fmpq(1)
    layers = []
    decay = fmpq_poly([])
    for l, layer in enumerate(point.layers):
        off = offsets[l]
        dout, din = len(layer.W), len(layer.W[0])

        def param(idx, value):
            return fmpq_poly([value, d[idx]]) if off is not None else fmpq_poly([value])

        W = [[param((off or 0) + k * din + j, layer.W[k][j]) for j in range(din)] for k in range(dout)]
        b = None if layer.b is None else [param((off or 0) + dout * din + k, layer.b[k]) for k in range(dout)]
        if off is not None:
            for row in W:
                for w in row:
                    decay += w * w
        layers.append((W, b))
    total = fmpq_poly([])
    for x, y in zip(X, Y):
        h = [fmpq_poly([v]) for v in x]
        for l, (W, b) in enumerate(layers):
            z = [sum((w * hv for w, hv in zip(row, h)), fmpq_poly([])) + (b[k] if b is not None else 0)
                 for k, row in enumerate(W)]
            h = z if l == net.depth - 1 else [_activation_poly(net.activations[l], zk) for zk in z]
        for f, yv in zip(h, y):
            total += (f - yv) ** 2
    total = c * total
    if problem.loss.weight_decay != 0:
        total += problem.loss.weight_decay / 2 * decay
    return total


def lowest_term(p: fmpq_poly):
    """(order e >= 1, coefficient) of the lowest nonconstant nonzero term, or None if p is constant."""
    coeffs = p.coeffs()
    for e in range(1, len(coeffs)):
        if coeffs[e] != 0:
            return e, fmpq(coeffs[e])
    return None


def _candidates(kernel, P, seed):
    out = list(kernel)
    m = len(kernel)

    def comb(coefs):
        return tuple(sum((c * k[i] for c, k in zip(coefs, kernel) if c), fmpq(0)) for i in range(P))

    if m >= 2:
        for sub in range(min(m, MAX_SIGN_VECTORS), 1, -1):  # sums with signs of `sub` kernel vectors, widest first
            for signs in itertools.product((1, -1), repeat=sub - 1):
                out.append(comb((1,) + signs + (0,) * (m - sub)))
                if len(out) > MAX_CANDIDATES // 2:
                    break
        for u, v in itertools.combinations(range(m), 2):
            out.append(comb([1 if q == u else (1 if q == v else 0) for q in range(m)]))
            out.append(comb([1 if q == u else (-1 if q == v else 0) for q in range(m)]))
            if len(out) > 3 * MAX_CANDIDATES // 4:
                break
    rng = random.Random(seed)
    for _ in range(8):
        out.append(comb([rng.randint(-3, 3) for _ in range(m)]))
    seen, uniq = set(), []
    for d in out:
        if any(x != 0 for x in d) and d not in seen:
            seen.add(d)
            uniq.append(d)
    return uniq[:MAX_CANDIDATES]


def kernel_line_test(problem, point, H, tangent_rows, reasons, seed=0):
    """Exact line polynomials along kernel directions of H beyond the tangents (H PSD, x critical, no kinks).

    Returns ("descent", d, order) with the reason appended, ("flat", d) for an exact flat line off span(T), or None.
    """
    P = H.nrows()
    kernel = nullspace(H)
    rT = rank(tangent_rows) if tangent_rows else 0
    kernel = [k for k in kernel if rank(list(tangent_rows) + [list(k)]) > rT]
    if not kernel:
        return None
    flat = None
    for d in _candidates(kernel, P, seed):
        low = lowest_term(line_polynomial(problem, point, d))
        if low is None:
            if flat is None and rank(list(tangent_rows) + [list(d)]) > rT:
                flat = d
            continue
        e, c = low
        if e % 2 == 1 or c < 0:
            direction = tuple(-x for x in d) if (e % 2 == 1 and c > 0) else tuple(d)
            reasons.append("higher-order line test: along a kernel direction d of the Hessian, loss(x + t d) - loss(x) "
                           f"is exactly a polynomial in t (pieces frozen near the point) whose lowest term is "
                           f"{format_short(c if e % 2 == 0 else -abs(c))} t^{e}"
                           + (" (odd order: it decreases on one side; d oriented that way)" if e % 2 else
                              " (even order, negative)") + ": not a local minimum")
            return ("descent", direction, e)
    if flat is not None:
        return ("flat", flat)
    return None
