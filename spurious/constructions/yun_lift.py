"""yun-lift: the lifted affine least-squares fit (Yun, Sra, Jadbabaie, ICLR 2019, arXiv:1802.03487, Theorem 1).

Setting (Section 2 of the paper): one hidden layer, scalar output, activation
h(z) = max(s+ z, 0) + min(s- z, 0) with s+ > 0, s- >= 0, s+ != s- (ReLU: (1, 0); leaky ReLU with slope a: (1, a)).
Data: distinct x_i, and labels that no affine map fits (conditions C1.1-C1.4).

Step 1 (the local minimum). W_bar = argmin ||W_bar [X; 1] - Y||, y_bar = fitted values, eta = min(-1, 2 min y_bar),
alpha > 0: W1 = alpha [w_bar; 0], b1 = alpha [c_bar - eta; -eta 1], W2 = [1/(alpha s+), 0, ...], b2 = eta. Every
pre-activation is positive, the output is y_bar, the loss is the affine least-squares loss; a frozen pattern makes it
a (non-strict) local minimum.

Step 2 (the lower point, case J != {}): sort y_bar; J = {j : S_j = sum_{i<=j} (y_bar_i - y_i) != 0 and
y_bar_j < y_bar_{j+1}}; j0 in J, beta = (y_bar_j0 + y_bar_j0+1)/2, gamma with sign(kappa S) and
|gamma| = min(|2S/(m kappa)|, (y_bar_j0+1 - y_bar_j0)/4), kappa = (s+ - s-)/(s+ + s-); rows (w_bar, -w_bar),
biases (c_bar - beta + gamma, -c_bar + beta + gamma), W2 = [1, -1]/(s+ + s-), b2 = beta. Outputs y_bar -+ kappa gamma,
and in the paper's convention (1/2 sum) the loss is exactly l0 - 2 kappa gamma S + (m/2) kappa^2 gamma^2.
Our loss is the mean (1/m) sum: ours = paper * 2/m.

Case J = {} (the paper's Appendix A2 was not read): we use our kink fit :func:`~._common.ridge_witness`
(affine + lambda relu(a.x - beta)), which strictly improves on any data that no affine map fits.

Generalisation beyond the paper's class, proved per instance by the frozen-pattern certificate: any two-slope
activation through 0 with s+ != 0 (step 1) and s+ + s- != 0 (step 2).
"""

from __future__ import annotations

from flint import fmpq

from ..arithmetic import evaluate_exact
from ..candidate import Candidate
from ..errors import InputError, InternalError
from ..network import Point
from ..rationals import format_number
from . import Family, Param, Shape, register
from .common import (activation_of, affine_fit, data_params, make_problem, rational_param, ridge_witness, seed_of,
                      widths_of)

__all__ = ["yun_lift", "theorem1_example", "two_slopes", "reproduce"]

REFERENCE = ("Yun, Sra, Jadbabaie, 'Small nonlinearities in activation functions create bad local minima in neural "
             "networks', ICLR 2019 (arXiv:1802.03487), Theorem 1 (proof steps 1 and 2)")


def two_slopes(act, family="yun-lift"):
    """(s-, s+) of a two-slope activation through 0 (one breakpoint at 0, value 0 there)."""
    if act.kind != "piecewise_linear" or act.breakpoints != (fmpq(0),) or act.homogeneity != 1:
        raise InputError(f"{family}: activation must be h(z) = max(s+ z, 0) + min(s- z, 0) (one breakpoint at 0, "
                         f"intercept 0: relu, leaky_relu, piecewise_linear), got {act}")
    s_minus, s_plus = act.slopes
    if s_plus == 0:
        raise InputError(f"{family}: needs s+ != 0 (the slope right of 0), got s+ = 0")
    if s_plus + s_minus == 0:
        raise InputError(f"{family}: needs s+ + s- != 0 (step 2 divides by it), got s+ = {s_plus}, s- = {s_minus}")
    return s_minus, s_plus


def _step2(X, Y, w_bar, c_bar, fitted, s_minus, s_plus, width, j0):
    """Yun et al.'s lower point; None when J is empty. Returns (point parts, info)."""
    m = len(Y)
    order = sorted(range(m), key=lambda i: fitted[i])
    yb = [fitted[i] for i in order]
    res = [fitted[i] - Y[i][0] for i in order]
    kappa = (s_plus - s_minus) / (s_plus + s_minus)
    options = []
    S = fmpq(0)
    for j in range(m - 1):
        S += res[j]
        if S != 0 and yb[j] < yb[j + 1]:
            gap = yb[j + 1] - yb[j]
            g = min(abs(2 * S / (m * kappa)), gap / 4)
            g = g if kappa * S > 0 else -g
            drop = 2 * kappa * g * S - fmpq(m, 2) * kappa ** 2 * g ** 2
            options.append((j, S, g, drop, (yb[j] + yb[j + 1]) / 2))
    if not options:
        return None
    j, S, gamma, drop, beta = options[0] if j0 == "first" else max(options, key=lambda o: o[3])
    d = len(X[0])
    W = [list(w_bar), [-w for w in w_bar]] + [[fmpq(0)] * d for _ in range(width - 2)]
    b = [c_bar - beta + gamma, -c_bar + beta + gamma] + [fmpq(0)] * (width - 2)
    v = [1 / (s_plus + s_minus), -1 / (s_plus + s_minus)] + [fmpq(0)] * (width - 2)
    info = {"j0": j + 1, "J": [o[0] + 1 for o in options], "S": S, "beta": beta, "gamma": gamma, "kappa": kappa}
    return (W, b, v, beta), info


def yun_lift(*, widths=(1, 2, 1), activation="relu", data=None, n=5, seed=0, alpha=1, j0="first") -> Candidate:
    """Yun-Sra-Jadbabaie Theorem 1: the lifted affine least-squares fit, with a provably lower witness.

    Parameters
    ----------
    widths : (d_0, d_1, 1) with d_1 >= 2 (condition C1.4) and scalar output (C1.1).
    activation : two-slope through 0 (relu, leaky_relu:a, piecewise_linear with breakpoints [0], intercept 0).
    data : path of a candidate / JSON file with X, Y (distinct x_i, not affine-fittable); else generated.
    n, seed : size and seed of the generated data (n >= d_0 + 2).
    alpha : the positive scaling of step 1 (alpha > 0).
    j0 : "first" (smallest j in J, as in the paper's recipe) or "best" (largest loss drop).

    Raises
    ------
    InputError naming the violated condition.
    """
    act = activation_of(activation)
    widths = widths_of(widths, "yun-lift", min_depth=2, max_depth=2)
    if widths[1] < 2:
        raise InputError(f"yun-lift: needs hidden width d_1 >= 2 (Theorem 1, C1.4), got d_1 = {widths[1]}")
    s_minus, s_plus = two_slopes(act)
    seed = seed_of(seed)
    alpha = rational_param(alpha, "alpha", positive=True)
    if j0 not in ("first", "best"):
        raise InputError(f"j0: expected 'first' or 'best', got {j0!r}")
    X, Y, origin = data_params(data, n, seed, widths[0], "yun-lift", "affine")
    d, width = widths[0], widths[1]
    coef, fitted, rss = affine_fit(X, Y)
    w_bar, c_bar = coef[:d], coef[d]
    eta = min(fmpq(-1), 2 * min(fitted))
    W1 = [[alpha * w for w in w_bar]] + [[fmpq(0)] * d for _ in range(width - 1)]
    b1 = [alpha * (c_bar - eta)] + [-alpha * eta] * (width - 1)
    W2 = [[1 / (alpha * s_plus)] + [fmpq(0)] * (width - 1)]
    point = Point.from_arrays([W1, W2], [b1, [eta]])
    problem = make_problem(widths, act, X, Y)
    step2 = _step2(X, Y, w_bar, c_bar, fitted, s_minus, s_plus, width, j0)
    if step2 is not None:
        (W, b, v, c), info = step2
        witness = Point.from_arrays([W, [v]], [b, [c]])
        how = (f"case J != {{}}: Yun et al. step 2 with j0 = {info['j0']} (1-based, samples sorted by fitted value), "
               f"beta = {info['beta']}, gamma = {info['gamma']}, kappa = {info['kappa']}")
    else:
        W, b, v, c, _, info = ridge_witness(act, X, Y, width)
        witness = Point.from_arrays([W, [v]], [b, [c]])
        how = (f"case J = {{}}: Appendix A2 not read; our kink fit affine + lambda relu(a.x - beta) with a = "
               f"{[str(q) for q in info['direction']]}, beta = {info['beta']}")
    loss = fmpq(1, len(Y)) * rss
    wloss = evaluate_exact(problem, witness, order=0).loss
    if not wloss < loss:
        raise InternalError(f"yun-lift: witness loss {wloss} is not below {loss}")
    in_class = s_plus > 0 and s_minus >= 0
    notes = (f"local minimum = affine least-squares fit lifted into the s+ regime (eta = {eta}); loss {loss} (mean "
             f"convention; the paper's (1/2) sum value is {loss * len(Y) / 2}). Witness: {how}; witness loss {wloss}."
             + ("" if in_class else " Activation outside the paper's class (s+ > 0, s- >= 0): generalised; "
                                    "certified per instance."))
    params = {"widths": list(widths), "activation": act.to_json(), "alpha": format_number(alpha), "j0": j0,
              "seed": seed,
              "data": str(data) if origin == "given" else "generated", "n": len(Y)}
    return Candidate(problem, point, witness, {"construction": "yun-lift", "reference": REFERENCE, "params": params,
                                               "notes": notes})


def theorem1_example() -> Candidate:
    """The worked example of examples/yun2019-theorem1.json: x = (0, 1, 3), y = (0, 1, 0), ReLU, widths 1-2-1.

    Loss 3/14 (mean; the paper's (1/2) sum value is 9/28), witness loss 23/112.
    """
    from ..problem import FiniteData

    data = FiniteData(tuple((fmpq(x),) for x in (0, 1, 3)), tuple((fmpq(y),) for y in (0, 1, 0)))
    return yun_lift(widths=(1, 2, 1), activation="relu", data=data, alpha=1, j0="first")


def reproduce(candidate=None, *, verify=None):
    """Side by side with the paper's formulas: rows (quantity, paper formula value, spurious value), exact.

    ``verify`` is not needed (the rows are exact formulas)."""
    cand = candidate if candidate is not None else theorem1_example()
    p = cand.problem
    X, Y, m = p.data.X, p.data.Y, p.data.n
    act = p.network.activations[0]
    s_minus, s_plus = two_slopes(act)
    coef, fitted, rss = affine_fit(X, Y)
    d = len(X[0])
    l0_paper = rss / 2
    ours = evaluate_exact(p, cand.point, order=0).loss
    rows = [("loss at the minimum (paper: 1/2 sum)", l0_paper, ours * m / 2),
            ("loss at the minimum (mean)", rss / m, ours)]
    step2 = _step2(X, Y, coef[:d], coef[d], fitted, s_minus, s_plus, p.network.widths[1],
                   cand.meta.get("params", {}).get("j0", "first"))
    if step2 is not None and cand.witness is not None:
        _, info = step2
        kappa, gamma, S = info["kappa"], info["gamma"], info["S"]
        formula = l0_paper - 2 * kappa * gamma * S + fmpq(m, 2) * kappa ** 2 * gamma ** 2
        w = evaluate_exact(p, cand.witness, order=0).loss
        rows += [("witness loss l0 - 2 kappa gamma S + (m/2) kappa^2 gamma^2 (1/2 sum)", formula, w * m / 2),
                 ("witness loss (mean)", formula * 2 / m, w)]
    return rows


register(Family(
    name="yun-lift", reference=REFERENCE,
    activations="two-slope through 0: relu, leaky_relu, piecewise_linear breakpoints [0] (s+ != 0, s+ + s- != 0; "
                "paper: s+ > 0, s- >= 0)",
    architectures="one hidden layer d_0-d_1-1, d_1 >= 2, any d_0", strict="no (non-strict: flat directions)",
    summary="affine least-squares fit lifted into the positive regime; witness from the paper's step 2 (or our kink "
            "fit when J is empty)",
    params=(Param("widths", (1, 2, 1), "(d_0, d_1, 1), d_1 >= 2", "architecture", kind="widths",
                  shape=Shape(hidden=(2, None))),
            Param("activation", "relu", "two-slope through 0", "hidden activation", kind="activation",
                  choices=("two_slope",)),
            Param("data", None, "path to a candidate/JSON file with X, Y", "data (else generated)", kind="path"),
            Param("n", 5, "3 <= n <= 10000, n >= input_dim + 2", "number of generated samples", kind="int",
                  min="d_0 + 2", max=10000),
            Param("seed", 0, ">= 0", "seed of the generated data", kind="int", min=0),
            Param("alpha", 1, "alpha > 0", "scaling of step 1", kind="rational", min="0"),
            Param("j0", "first", "first | best", "which j in J the witness uses", kind="choice",
                  choices=("first", "best"))),
    function=yun_lift, reproduce=reproduce))
