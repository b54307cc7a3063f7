"""deep-lift: deep piecewise-linear networks frozen on a linear piece realise the affine least-squares fit.

He, Wang, Tao, "Piecewise linear activations substantially shape the loss surfaces of neural networks", ICLR 2020
(the "cell" construction: every pre-activation on one linear piece, the network is locally a deep linear network whose
best value is the linear-regression loss); Liu, "Spurious local minima are common for deep neural networks with
piecewise linear activations", IEEE TNNLS 2021; Christof and Kowalczyk, "On the omnipresence of spurious local minima
in certain neural network training problems", Constr. Approx. 2023 (arXiv:2202.12262): activations with an affine
segment, hidden widths >= 2, every non-affine target. Those papers were not read in full (constructions.md, sections
9-10); the recipe below is ours and every candidate is certified by the frozen-pattern argument.

Recipe. Pick a piece (lo, hi) of the activation with slope s != 0 and the window [z0 - rho, z0 + rho] inside it.
Layer 1, unit 1 computes z0 + rho (y_bar(x) - m)/R (y_bar the affine fit, m and R the centre and half-range of its
values on the data); every later layer carries that channel through the same window; all other units sit at z0 with
zero outgoing weight. Every pre-activation is at distance >= rho from every breakpoint, so the pattern is frozen, the
outputs on the data range over affine maps, and the point attains the affine least-squares loss: a non-strict local
minimum (the unused units' weights are flat). Witness: our kink fit (affine + lambda relu(a.x - beta), see
:func:`~._common.ridge_witness`) in the first layer, carried through the deeper layers the same way.
"""

from __future__ import annotations

from flint import fmpq

from ..arithmetic import evaluate_exact
from ..candidate import Candidate
from ..errors import InputError, InternalError
from . import Family, Param, Shape, register
from .common import (activation_of, affine_fit, affine_unit, data_params, lift, make_problem, ridge_witness, seed_of,
                      widths_of)

__all__ = ["deep_lift"]

REFERENCE = ("He, Wang, Tao, ICLR 2020 (piecewise-linear cells); Liu, IEEE TNNLS 2021; Christof, Kowalczyk, "
             "arXiv:2202.12262 (affine-segment minima); recipe: spurious (frozen affine piece)")


def deep_lift(*, widths=(1, 2, 2, 1), activation="relu", data=None, n=6, seed=0) -> Candidate:
    """A deep network on one linear piece realising the affine least-squares fit; lower witness by a kink.

    Parameters
    ----------
    widths : (d_0, d_1, ..., d_{L-1}, 1) with L >= 3 (at least two hidden layers), every hidden width >= 2.
    activation : any piecewise-linear activation (it has a piece of non-zero slope).
    data, n, seed : given data (path) or seeded generated data that no affine map fits (n >= d_0 + 2).
    """
    act = activation_of(activation)
    if act.kind != "piecewise_linear":
        raise InputError(f"deep-lift: activation must be piecewise linear, got {act}")
    widths = widths_of(widths, "deep-lift", min_depth=3, min_hidden=2)
    seed = seed_of(seed)
    X, Y, origin = data_params(data, n, seed, widths[0], "deep-lift", "affine")
    d, d1 = widths[0], widths[1]
    coef, _, rss = affine_fit(X, Y)
    w, b, v, c = affine_unit(act, coef, X)
    z0 = _window_centre(act)
    W1 = [w] + [[fmpq(0)] * d for _ in range(d1 - 1)]
    b1 = [b] + [z0] * (d1 - 1)
    point = lift(act, widths, W1, b1, [v] + [fmpq(0)] * (d1 - 1), c, [0], X)
    Wk, bk, vk, ck, ch, info = ridge_witness(act, X, Y, d1)
    witness = lift(act, widths, Wk, bk, vk, ck, ch, X)
    problem = make_problem(widths, act, X, Y)
    loss = evaluate_exact(problem, point, order=0).loss
    if loss != rss / len(Y):
        raise InternalError(f"deep-lift: the lifted point has loss {loss}, not the affine least-squares loss")
    wloss = evaluate_exact(problem, witness, order=0).loss
    if not wloss < loss:
        raise InternalError(f"deep-lift: witness loss {wloss} is not below {loss}")
    notes = (f"every pre-activation on one linear piece of {act}; outputs = affine least-squares fit, loss {loss} "
             f"(mean convention). Witness: kink fit with beta = {info['beta']}, loss {wloss}.")
    params = {"widths": list(widths), "activation": act.to_json(), "seed": seed,
              "data": str(data) if origin == "given" else "generated", "n": len(Y)}
    return Candidate(problem, point, witness, {"construction": "deep-lift", "reference": REFERENCE, "params": params,
                                               "notes": notes})


def _window_centre(act):
    from .common import linear_piece

    return linear_piece(act)[0]


register(Family(
    name="deep-lift", reference=REFERENCE,
    activations="any piecewise linear (relu, leaky_relu, piecewise_linear)",
    architectures="depth L >= 3 (two or more hidden layers), every hidden width >= 2, scalar output",
    strict="no (non-strict: unused units are flat)",
    summary="every unit on one linear piece; the network realises the affine least-squares fit",
    params=(Param("widths", (1, 2, 2, 1), "L >= 3, hidden widths >= 2, output 1", "architecture", kind="widths",
                  shape=Shape(layers=(2, None), hidden=(2, None))),
            Param("activation", "relu", "piecewise linear", "hidden activation", kind="activation",
                  choices=("piecewise_linear",)),
            Param("data", None, "path to a candidate/JSON file with X, Y", "data (else generated)", kind="path"),
            Param("n", 6, "n >= d_0 + 2", "number of generated samples", kind="int", min="d_0 + 2"),
            Param("seed", 0, ">= 0", "seed of the generated data", kind="int", min=0)),
    function=deep_lift))
