"""Constant-output spurious minima for smooth activations, any width (Ding-Li-Sun 2019 style).

Ding, Li, Sun, "Sub-optimal local minima exist for neural networks with almost all non-linear activations",
arXiv:1911.01413 (Math. Oper. Res. 47 (2022)). Their explicit construction could not be read; this is our recipe
(shared/research/constructions.md 3.3), proved in :mod:`spurious.verifiers.structured` (argument D):

* data with residuals r = ybar - y orthogonal to [1, X] and M = sum r_i x_i x_i^T positive definite on
  V = span(x_i - x_1) (checked exactly; default 1-D x = (-1, 0, 1), y = (0, 1, 0); generated d-dimensional data:
  pairs c +- p_k with r = 1 ("outer") and c +- q_l with r = -1 ("inner", |q| << |p|), so sum r x = 0 and
  B M B^T = 2 (sum p p^T - sum q q^T) by construction);
* first-layer weights 0, hidden biases t_j, output weights u_j with u_j sigma''(t_j) > 0 (checked with balls), output
  bias c = ybar - sum u_j sigma(t_j) rounded to a rational (the true point is within the certified radius);
* witness (not global): flip unit 0, u_0 -> eps with eps sigma''(t_0) < 0, w_0 = s z, output constant kept; the loss
  drops by about eps sigma''(t_0) s^2 z^T M z / n (constructions.md 3.3 step 5); eps, s are chosen explicitly and
  the drop is proved with a ball upper bound on the witness loss.

The minimum is non-strict (the level set of the output constant in (u, t, c) is flat).
"""

from __future__ import annotations

import random

import numpy as np
from flint import arb, ctx as flint_ctx, fmpq, fmpq_mat

from ..arithmetic import evaluate_ball
from ..arithmetic.balls import ball_bounds, positive
from ..arithmetic.contexts import EXACT, BallContext
from ..candidate import Candidate
from ..errors import InputError, InternalError
from ..linalg import affine_basis, is_positive_definite
from ..network import Network, Point
from ..problem import FiniteData, Loss, Problem
from ..rationals import fmpq_to_float, to_fmpq
from . import Param, Shape
from .common import activation_of, int_param, load_data, rational_param, seed_of

__all__ = ["constant_output", "FAMILY", "REFERENCE", "DEFAULT_BIAS", "symmetric_design", "default_data",
           "constant_output_point", "flip_witness", "check_data", "act_values"]

REFERENCE = ("Ding, Li, Sun, Sub-optimal local minima exist for neural networks with almost all non-linear "
             "activations, arXiv:1911.01413 (2019); recipe: constructions.md 3.3 (ours)")
PREC = 192
DEFAULT_BIAS = {"sigmoid": fmpq(-1), "tanh": fmpq(-1), "erf": fmpq(-1), "softplus": fmpq(0), "gelu": fmpq(1, 2),
                "swish": fmpq(0)}


def act_values(act, t):
    """(sigma, sigma', sigma'') at the exact rational t: fmpq for polynomial activations, arb balls otherwise."""
    if act.exact:
        return act.evaluate(EXACT, fmpq(t))
    ctx = BallContext(PREC)
    with ctx.workprec():
        return act.evaluate(ctx, arb(t))


def _round(x, bits=120):
    """A rational within 2^-bits of the ball's midpoint (exact values pass through)."""
    if isinstance(x, fmpq):
        return x
    lo, hi = ball_bounds(x)
    mid = (lo + hi) / 2
    return fmpq(int((mid * 2**bits).floor()), 2**bits)


def default_data():
    """x = (-1, 0, 1), y = (0, 1, 0): r = (1/3, -2/3, 1/3), M = 2/3 (Yun's data restricted to its line)."""
    return ((fmpq(-1),), (fmpq(0),), (fmpq(1),)), ((fmpq(0),), (fmpq(1),), (fmpq(0),))


def symmetric_design(d, seed):
    """Seeded d-dimensional data with r = ybar - y orthogonal to [1, X] and M positive definite, exactly."""
    rng = random.Random(seed)
    for _ in range(100):
        c = [fmpq(rng.randint(-4, 4), rng.randint(1, 3)) for _ in range(d)]
        P = [[fmpq(rng.randint(-6, 6), 2) for _ in range(d)] for _ in range(d)]
        Qs = [[fmpq(rng.randint(-3, 3), 8) for _ in range(d)] for _ in range(d)]
        if fmpq_mat(P).rank() < d or not any(any(v != 0 for v in q) for q in Qs):
            continue
        G = fmpq_mat(d, d)
        for p in P:
            G += fmpq_mat([[a * b for b in p] for a in p])
        for q in Qs:
            G -= fmpq_mat([[a * b for b in q] for a in q])
        if not is_positive_definite(G):
            continue
        ybar = fmpq(rng.randint(-5, 5), rng.randint(1, 4))
        rows = []
        for vecs, r in ((P, fmpq(1)), (Qs, fmpq(-1))):
            for v in vecs:
                for sgn in (1, -1):
                    rows.append((tuple(ci + sgn * vi for ci, vi in zip(c, v)), (ybar - r,)))
        if len({x for x, _ in rows}) < len(rows):
            continue
        rng.shuffle(rows)
        return tuple(x for x, _ in rows), tuple(y for _, y in rows)
    raise InternalError("symmetric_design: no valid draw in 100 tries")


def check_data(X, Y):
    """Exact data premises: sum r_i x_i = 0 and B M B^T positive definite; returns (ybar, r, dim V)."""
    n, d = len(X), len(X[0])
    ybar = sum((y[0] for y in Y), fmpq(0)) / n
    r = [ybar - y[0] for y in Y]
    srx = [sum((r[i] * X[i][k] for i in range(n)), fmpq(0)) for k in range(d)]
    if any(s != 0 for s in srx):
        raise InputError(f"data: sum_i r_i x_i = 0 fails (r = mean(y) - y; got {[str(s) for s in srx]})")
    B = affine_basis(X)
    if not B:
        raise InputError("data: all inputs coincide (dim span(x_i - x_1) >= 1 fails)")
    Bm = fmpq_mat(B)
    M = fmpq_mat([[sum((r[i] * X[i][p] * X[i][q] for i in range(n)), fmpq(0)) for q in range(d)]
                  for p in range(d)])
    if not is_positive_definite(Bm * M * Bm.transpose()):
        raise InputError("data: M = sum r_i x_i x_i^T positive definite on span(x_i - x_1) fails")
    return ybar, r, len(B)


def constant_output_point(net, X, Y, t, u):
    """W1 = 0, b1 = t, W2 = u, b2 = rational approximation of mean(y) - sum u_j sigma(t_j)."""
    act = net.activations[0]
    ybar = sum((y[0] for y in Y), fmpq(0)) / len(Y)
    if act.exact:
        c = ybar - sum((uj * act_values(act, tj)[0] for uj, tj in zip(u, t)), fmpq(0))
    else:
        with flint_ctx.workprec(PREC):
            c = _round(arb(ybar) - sum((arb(uj) * act_values(act, tj)[0] for uj, tj in zip(u, t)), arb(0)))
    d = net.widths[0]
    return Point.from_arrays([[[0] * d for _ in u], [list(u)]], [list(t), [c]])


def _float_loss(act, X, Y, W1, b1, u, c):
    import torch
    from ..arithmetic.contexts import TORCH

    Xt = torch.tensor([[fmpq_to_float(v) for v in x] for x in X], dtype=torch.float64)
    Yt = torch.tensor([fmpq_to_float(y[0]) for y in Y], dtype=torch.float64)
    Z = Xt @ torch.tensor(W1, dtype=torch.float64).T + torch.tensor(b1, dtype=torch.float64)
    out = act.evaluate(TORCH, Z)[0] @ torch.tensor(u, dtype=torch.float64) + c
    return float(((out - Yt) ** 2).mean())


def flip_witness(problem, point, unit=0):
    """Flip one unit (constructions.md 3.3 step 5) with explicit eps, s, z; the loss drop is proved with balls.

    Returns (witness Point, witness loss upper bound, loss of the minimum) or raises InternalError.
    """
    net, X, Y = problem.network, problem.data.X, problem.data.Y
    act = net.activations[0]
    n, d = len(X), net.widths[0]
    ybar = sum((y[0] for y in Y), fmpq(0)) / n
    L_star = sum(((ybar - y[0]) ** 2 for y in Y), fmpq(0)) / (n if problem.loss.reduction == "mean" else 1)
    W1, b1 = [[0.0] * d for _ in range(net.widths[1])], [fmpq_to_float(v) for v in point.layers[0].b]
    u = [fmpq_to_float(v) for v in point.layers[1].W[0]]
    t0 = point.layers[0].b[unit]
    s0, _, s2 = act_values(act, t0)
    sign2 = 1 if positive(arb(s2)) else -1
    base_c = fmpq_to_float(point.layers[1].b[0]) + u[unit] * fmpq_to_float(_round(arb(s0)))
    dirs = [np.array([fmpq_to_float(v) for v in b]) for b in affine_basis(X)]
    dirs += [np.eye(d)[k] for k in range(d)]
    best = None
    s_float = fmpq_to_float(_round(arb(s0)))
    for z in dirs:
        z = z / np.max(np.abs(z))
        for eps in (1 / 64, 1 / 16, 1 / 4, 1, 4):
            for s in (1 / 64, 1 / 16, 1 / 4, 1 / 2, 1, 2):
                e = -sign2 * eps
                uu, WW = list(u), [list(r) for r in W1]
                uu[unit], WW[unit] = e, list(s * z)
                val = _float_loss(act, X, Y, WW, b1, uu, base_c - e * s_float)
                if best is None or val < best[0]:
                    best = (val, e, s, z)
    _, e, s, z = best
    Wq = [[fmpq(0)] * d for _ in range(net.widths[1])]
    Wq[unit] = [to_fmpq(round(float(s * zk) * 2**20)) / 2**20 for zk in z]
    uq = list(point.layers[1].W[0])
    uq[unit] = to_fmpq(e)
    with flint_ctx.workprec(PREC):
        c_new = point.layers[1].b[0] + (point.layers[1].W[0][unit] - uq[unit]) * _round(arb(s0))
    W_list = [list(r) for r in Wq]
    wit = Point.from_arrays([W_list, [uq]], [list(point.layers[0].b), [c_new]])
    hi = ball_bounds(evaluate_ball(problem, wit, order=0, prec=PREC).loss)[1]
    if not hi < L_star:
        raise InternalError(f"flip witness: loss upper bound {fmpq_to_float(hi)} not below {fmpq_to_float(L_star)}")
    return wit, hi, L_star


def _units(act, m, biases, output_weights):
    """Hidden biases t_j and output weights u_j, checked: u_j sigma''(t_j) > 0 (proved with balls / exactly)."""
    if biases is None:
        if act.exact:
            t0 = fmpq(1)
        elif act.name in DEFAULT_BIAS:
            t0 = DEFAULT_BIAS[act.name]
        else:
            raise InputError(f"constant-output: activation {act.name} needs C^3 with sigma'' != 0 (smooth or "
                             "polynomial of degree >= 2)")
        biases = [t0 - fmpq(j, 2 * m) for j in range(m)]
    if isinstance(biases, str):
        biases = biases.split(",")
    t = [rational_param(v, f"biases[{j}]") for j, v in enumerate(biases)]
    if len(t) != m:
        raise InputError(f"constant-output: biases needs {m} entries (one per hidden unit), got {len(t)}")
    if output_weights is None:
        sg = [1 if positive(arb(act_values(act, tj)[2])) else -1 for tj in t]
        output_weights = [sg[j] * fmpq(j + 2, 2) for j in range(m)]
    if isinstance(output_weights, str):
        output_weights = output_weights.split(",")
    u = [rational_param(v, f"output_weights[{j}]") for j, v in enumerate(output_weights)]
    if len(u) != m:
        raise InputError(f"constant-output: output_weights needs {m} entries, got {len(u)}")
    for j, (uj, tj) in enumerate(zip(u, t)):
        cj = arb(uj) * arb(act_values(act, tj)[2]) if not act.exact else uj * act_values(act, tj)[2]
        ok = (cj > 0) if act.exact else positive(cj)
        if ok is not True:
            raise InputError(f"constant-output: u_j * sigma''(t_j) > 0 fails for unit j = {j} (u_j = {uj}, "
                             f"t_j = {tj})")
    return t, u


def constant_output(*, activation="sigmoid", width=3, d=1, data=None, biases=None, output_weights=None, seed=0,
                    widths=None):
    """A constant-output spurious local minimum (non-strict) of a d-width-1 network, with a lower witness.

    Parameters
    ----------
    activation : smooth (sigmoid, tanh, softplus, erf, gelu, swish) or polynomial of degree >= 2.
    width : m >= 1 hidden units.
    widths : optional (d, m, 1), setting d and width.
    d : input dimension (d = 1 and no seed: x = (-1, 0, 1), y = (0, 1, 0); otherwise seeded generated data).
    data : optional path / FiniteData with r = mean(y) - y orthogonal to [1, X] and M PD on span(x_i - x_1).
    biases, output_weights : optional t_j, u_j (rationals) with u_j sigma''(t_j) > 0.
    """
    from . import architecture

    set_by_widths = architecture("constant-output", widths, None)  # widths d,m,1 set d and width
    d, width = set_by_widths.get("d", d), set_by_widths.get("width", width)
    act = activation_of(activation, "sigmoid")
    if act.kind == "piecewise_linear" or (act.kind == "polynomial" and len(act.coefficients) < 3):
        raise InputError(f"constant-output: activation must be C^3 with sigma'' != 0 somewhere, got {act.name}")
    m = int_param(width, "width", 1, 200)
    d = int_param(d, "d", 1, 50)
    seed = seed_of(seed)
    if data is not None:
        X, Y = load_data(data)
        d = len(X[0])
    elif d == 1 and seed == 0:
        X, Y = default_data()
    else:
        X, Y = symmetric_design(d, seed)
    ybar, r, k = check_data(X, Y)
    t, u = _units(act, m, biases, output_weights)
    net = Network.make((d, m, 1), act)
    problem = Problem(net, FiniteData(tuple(X), tuple(Y)), Loss())
    point = constant_output_point(net, X, Y, t, u)
    wit, wit_hi, L_star = flip_witness(problem, point)
    meta = {"construction": "constant-output", "reference": REFERENCE,
            "params": {"activation": str(act), "width": m, "d": d, "seed": seed,
                       "biases": [str(v) for v in t], "output_weights": [str(v) for v in u]},
            "notes": (f"w = 0, output constant mean(y) = {ybar}; loss {L_star} (mean convention); non-strict "
                      f"(flat level set of the output constant); witness flips unit 0: loss <= "
                      f"{fmpq_to_float(wit_hi):.9g}"),
            "proof": {"argument": "constant-output", "residual_orthogonality": "sum r_i = 0, sum r_i x_i = 0",
                      "curvature_matrix": "Q = diag(u_j sigma''(t_j)) (x) BMB^T + a a^T (x) BStB^T",
                      "dim_V": k, "loss": str(L_star)}}
    return Candidate(problem, point, wit, meta)


FAMILY = dict(
    name="constant-output",
    reference=REFERENCE,
    activations="sigmoid, tanh, softplus, erf, gelu, swish; polynomial of degree >= 2 (quadratic)",
    architectures="d-m-1, one hidden layer, any width m >= 1, biases, trainable",
    strict="no (non-strict: flat level set of the output constant; structured proof, argument D)",
    summary="first-layer weights 0, output = mean(y) on data with r ⟂ [1, X] and M = sum r x x^T PD; witness "
            "flips one unit",
    params=(Param("widths", None, "d,m,1 (sets d and width)", "architecture", kind="widths",
                  shape=Shape(input=(1, 50), hidden=(1, 200))),
            Param("activation", "sigmoid", "C^3, sigma''(t_j) != 0", "hidden activation", kind="activation",
                  choices=("curved",)),
            Param("width", 3, "1 <= width <= 200", "hidden units m", kind="int", min=1, max=200, from_widths=1),
            Param("d", 1, "1 <= d <= 50", "input dimension (generated data unless d = 1 and seed = 0)", kind="int",
                  min=1, max=50, from_widths=0),
            Param("data", None, "r = mean(y) - y ⟂ [1, X], M PD on span(x_i - x_1)", "data file", kind="path"),
            Param("biases", None, "u_j sigma''(t_j) > 0", "hidden biases t_j", kind="rationals"),
            Param("output_weights", None, "u_j sigma''(t_j) > 0", "output weights u_j", kind="rationals"),
            Param("seed", 0, ">= 0", "data generation", kind="int", min=0)),
    function=constant_output,
)
