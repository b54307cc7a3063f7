"""dead-units: a hidden layer that is inactive on all data; the network outputs the constant least-squares fit.

The baseline of constructions.md, section 13 ("dead-layer minimum"; cf. Swirszcz, Czarnecki, Pascanu 2016 on
saturated layers, section 6 there). If every unit of hidden layer l sits on a zero-slope piece of its activation
(ReLU: negative pre-activation) for every sample, with margin, it stays there for every nearby parameter; its output
is then a constant vector, the network output is the same constant for every sample, and the loss is >= the
constant least-squares loss (1/n) sum (y_i - mean y)^2, which the point attains with output bias b_L chosen so that
the output is mean(y). A non-strict local minimum (every weight feeding the dead layer is flat); not global whenever
y is not constant. Leaky ReLU has no zero-slope piece, so its units never die: it is outside this family.

Layers before the dead one carry the affine fit on a linear piece (frozen, with margin), the dead layer has seeded
random rational weights shifted onto the zero-slope piece, and later layers have seeded random weights with their
(constant) pre-activations on a linear piece. Witness: our kink fit (hidden widths >= 2) or the affine fit,
carried through all layers (see :mod:`.deep_lift`).
"""

from __future__ import annotations

import random

from flint import fmpq

from ..arithmetic import evaluate_exact
from ..candidate import Candidate
from ..errors import InputError, InternalError
from ..network import Point
from . import Family, Param, Shape, register
from .common import (activation_of, affine_fit, affine_unit, constant_fit, data_params, int_param, lift, linear_piece,
                      make_problem, ridge_witness, seed_of, sigma, widths_of, zero_slope_piece)

__all__ = ["dead_units"]

REFERENCE = ("dead-layer baseline (constructions.md section 13; cf. Swirszcz, Czarnecki, Pascanu, arXiv:1611.06310, "
             "saturated layers): the constant least-squares fit")


def _forward(act, W, b, H):
    Z = [[sum((w * h for w, h in zip(row, hi)), fmpq(0)) + bk for row, bk in zip(W, b)] for hi in H]
    return Z, [[sigma(act, z) for z in zi] for zi in Z]


def _rand(rng):
    return fmpq(rng.randint(-4, 4), rng.randint(1, 3))


def dead_units(*, widths=(1, 2, 1), activation="relu", layer=1, data=None, n=5, seed=0) -> Candidate:
    """Hidden layer ``layer`` dead on all data; the constant fit; non-strict, not global.

    Parameters
    ----------
    widths : (d_0, d_1, ..., d_{L-1}, 1), any depth L >= 2, hidden widths >= 1.
    activation : piecewise linear with a piece of slope 0 (relu; piecewise_linear with a zero slope).
    layer : which hidden layer is dead, 1 <= layer <= L - 1.
    data, n, seed : given data or seeded generated data with non-constant labels; seed also draws the weights.
    """
    act = activation_of(activation)
    widths = widths_of(widths, "dead-units", min_depth=2, min_hidden=1)
    L = len(widths) - 1
    if act.kind != "piecewise_linear" or zero_slope_piece(act) is None:
        raise InputError(f"dead-units: activation must have a piece of slope 0 (s- = 0, e.g. relu), got {act}; "
                         "leaky ReLU units never die")
    layer = int_param(layer, "layer", 1, L - 1)
    seed = seed_of(seed)
    X, Y, origin = data_params(data, n, seed, widths[0], "dead-units", "constant")
    rng = random.Random(seed + 7919)
    zd, rd = zero_slope_piece(act)
    z0, rho, _, _ = linear_piece(act)
    # layers 1..layer-1: the affine fit carried on a linear piece (any frozen pattern would do)
    Ws, bs = [], []
    H = [list(x) for x in X]
    for l in range(1, L + 1):
        dl, dprev = widths[l], widths[l - 1]
        if l < layer:
            W = [[_rand(rng) for _ in range(dprev)] for _ in range(dl)]
            b = [fmpq(0)] * dl
            W, b = _window(W, b, H, z0, rho)
        elif l == layer:
            W = [[_rand(rng) for _ in range(dprev)] for _ in range(dl)]
            W, b = _window(W, [fmpq(0)] * dl, H, zd, rd / 2)
        elif l < L:
            W = [[_rand(rng) for _ in range(dprev)] for _ in range(dl)]
            b = [z0 + fmpq(rng.randint(-2, 2), 4) * rho - sum((w * h for w, h in zip(row, H[0])), fmpq(0))
                 for row in W]
        else:
            W = [[_rand(rng) for _ in range(dprev)]]
            mean = constant_fit(Y)[0][0]
            b = [mean - sum((w * h for w, h in zip(W[0], H[0])), fmpq(0))]
        Ws.append(W)
        bs.append(b)
        if l < L:
            H = _forward(act, W, b, H)[1]
    point = Point.from_arrays(Ws, bs)
    problem = make_problem(widths, act, X, Y)
    witness, how = _witness(act, widths, X, Y)
    loss = evaluate_exact(problem, point, order=0).loss
    if loss != constant_fit(Y)[2] / len(Y):
        raise InternalError("dead-units: the point does not attain the constant least-squares loss")
    wloss = evaluate_exact(problem, witness, order=0).loss
    if not wloss < loss:
        raise InternalError(f"dead-units: witness loss {wloss} is not below {loss}")
    notes = (f"hidden layer {layer} is on a zero-slope piece of {act} for every sample; output = mean(y); loss {loss} "
             f"(mean convention). Witness: {how}, loss {wloss}.")
    params = {"widths": list(widths), "activation": act.to_json(), "layer": layer, "seed": seed,
              "data": str(data) if origin == "given" else "generated", "n": len(Y)}
    return Candidate(problem, point, witness, {"construction": "dead-units", "reference": REFERENCE,
                                               "params": params, "notes": notes})


def _window(W, b, H, centre, half):
    """Rescale and shift each row so that its pre-activations on H lie in [centre - half/2, centre + half/2]."""
    outW, outb = [], []
    for row, bk in zip(W, b):
        vals = [sum((w * h for w, h in zip(row, hi)), fmpq(0)) + bk for hi in H]
        lo, hi = min(vals), max(vals)
        scale = half / (hi - lo) if hi != lo else fmpq(1)
        outW.append([scale * w for w in row])
        outb.append(centre - scale * (lo + hi) / 2 + scale * bk)
    return outW, outb


def _witness(act, widths, X, Y):
    """Our kink fit if every hidden width is >= 2, else the affine fit if it beats the constant; lifted."""
    d1 = widths[1]
    if min(widths[1:-1]) >= 2:
        W, b, v, c, ch, info = ridge_witness(act, X, Y, d1) if affine_fit(X, Y)[2] != 0 else (None,) * 6
        if W is not None:
            return lift(act, widths, W, b, v, c, ch, X), f"kink fit (beta = {info['beta']})"
    coef, _, rss = affine_fit(X, Y)
    if rss < constant_fit(Y)[2]:
        z0 = linear_piece(act)[0]
        w, b, v, c = affine_unit(act, coef, X)
        d = widths[0]
        W1 = [w] + [[fmpq(0)] * d for _ in range(d1 - 1)]
        return lift(act, widths, W1, [b] + [z0] * (d1 - 1), [v] + [fmpq(0)] * (d1 - 1), c, [0], X), "affine fit"
    raise InputError("dead-units: no witness: the affine fit does not beat the constant and some hidden width is 1 "
                     "(use hidden widths >= 2)")


register(Family(
    name="dead-units", reference=REFERENCE,
    activations="piecewise linear with a zero-slope piece (relu; not leaky_relu)",
    architectures="any depth L >= 2, any hidden widths >= 1, scalar output",
    strict="no (non-strict: the dead layer's inputs are flat)",
    summary="one hidden layer dead on all data; constant output = mean(y)",
    params=(Param("widths", (1, 2, 1), "L >= 2, output 1", "architecture", kind="widths",
                  shape=Shape(layers=(1, None))),
            Param("activation", "relu", "has a zero-slope piece", "hidden activation", kind="activation",
                  choices=("zero_slope_piece",)),
            Param("layer", 1, "1 <= layer <= L - 1", "the dead hidden layer", kind="int", min=1, max="L - 1"),
            Param("data", None, "path to a candidate/JSON file with X, Y", "data (else generated)", kind="path"),
            Param("n", 5, "n >= 2", "number of generated samples", kind="int", min=2),
            Param("seed", 0, ">= 0", "seed of the data and of the weights", kind="int", min=0)),
    function=dead_units))
