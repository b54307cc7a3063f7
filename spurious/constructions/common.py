"""Shared pieces of the piecewise-linear constructions: parameter checks, data, exact fits, realisations.

Everything is exact (``fmpq``). A *shallow realisation* is a one-hidden-layer network (W1 rows, b1, v, c) with scalar
output f(x) = sum_j v_j sigma(w_j x + b_j) + c; :func:`lift` carries chosen units ("channels") of it through further
hidden layers by keeping them on a linear piece of the activation, so every family works at any depth.
"""

from __future__ import annotations

import json
import os
import random

from flint import fmpq

from ..activations import Activation, parse_activation, parse_activation_option
from ..arithmetic import EXACT
from ..candidate import candidate_from_json
from ..errors import InputError, InternalError
from ..linalg import least_squares
from ..network import Network, Point, parse_matrix
from ..problem import FiniteData, Loss, Problem
from ..rationals import parse_number

__all__ = ["activation_of", "widths_of", "seed_of", "int_param", "rational_param", "load_data", "generate_data",
           "affine_fit", "constant_fit", "linear_piece", "zero_slope_piece", "lift", "ridge_witness", "sigma",
           "make_problem", "data_params"]

MAX_SAMPLES = 10_000


# parameter checks (each names the violated range) -------------------------------------------------------------
def activation_of(spec, default="relu") -> Activation:
    """An Activation from an object, a file-syntax dict, or the command-line syntax ``leaky_relu:1/10``."""
    if spec is None:
        spec = default
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, dict):
        return parse_activation(spec)
    if isinstance(spec, str):
        return parse_activation_option(spec)
    raise InputError(f"activation: expected a name like 'relu' or 'leaky_relu:1/10', got {type(spec).__name__}")


def widths_of(widths, family, min_depth=2, max_depth=None, min_hidden=1, d_out=1):
    """Validate widths [d_0, ..., d_L] against a family's architecture range (``d_out=None``: any output width)."""
    if isinstance(widths, str):
        try:
            widths = [int(w) for w in widths.split(",")]
        except ValueError:
            raise InputError(f"{family}: widths must be integers like 1,3,1, got {widths!r}") from None
    try:
        widths = tuple(int(w) for w in widths)
    except (TypeError, ValueError):
        raise InputError(f"{family}: widths must be a list of integers, got {widths!r}") from None
    L = len(widths) - 1
    if L < min_depth or (max_depth is not None and L > max_depth):
        rng = f"{min_depth}" + (f"..{max_depth}" if max_depth is not None else " or more")
        raise InputError(f"{family}: needs depth L (number of weight layers) in {rng}, got widths {list(widths)} "
                         f"(L = {L})")
    if any(w < 1 for w in widths):
        raise InputError(f"{family}: widths must be >= 1, got {list(widths)}")
    if d_out is not None and widths[-1] != d_out:
        raise InputError(f"{family}: output width must be {d_out} (scalar output), got {widths[-1]}")
    if any(w < min_hidden for w in widths[1:-1]):
        raise InputError(f"{family}: every hidden width must be >= {min_hidden}, got {list(widths[1:-1])}")
    return widths


def seed_of(seed):
    if seed is None:
        return 0
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise InputError(f"seed: expected an integer >= 0, got {seed!r}")
    try:
        seed = int(seed)
    except ValueError:
        raise InputError(f"seed: expected an integer >= 0, got {seed!r}") from None
    if seed < 0:
        raise InputError(f"seed: expected an integer >= 0, got {seed}")
    return seed


def int_param(value, name, lo, hi=None):
    """An integer parameter in [lo, hi] (strings accepted, as from the command line)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        v = int(value)
        if isinstance(value, float) and v != value:
            raise ValueError
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected an integer, got {value!r}") from None
    if v < lo or (hi is not None and v > hi):
        raise InputError(f"{name}: must satisfy {lo} <= {name}" + (f" <= {hi}" if hi is not None else "") +
                         f", got {v}")
    return v


def rational_param(value, name, positive=False):
    v = parse_number(value, name) if not isinstance(value, fmpq) else value
    if positive and not v > 0:
        raise InputError(f"{name}: must satisfy {name} > 0, got {v}")
    return v


# data ----------------------------------------------------------------------------------------------------------
def load_data(path, d_in=None):
    """(X, Y) from a candidate file or a JSON object {"X": ..., "Y": ...} (exact numbers; never pickle)."""
    if isinstance(path, FiniteData):
        return path.X, path.Y
    try:
        if os.path.getsize(path) > 64 * 1024 * 1024:
            raise InputError(f"data: {path} is larger than 64 MiB")
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except OSError as exc:
        raise InputError(f"data: cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"data: {path} is not JSON ({exc})") from None
    if isinstance(obj, dict) and "format" in obj:
        cand = candidate_from_json(obj)
        if not cand.problem.finite:
            raise InputError(f"data: {path} holds population data; a finite data set is needed")
        return cand.problem.data.X, cand.problem.data.Y
    if not isinstance(obj, dict) or "X" not in obj or "Y" not in obj:
        raise InputError(f"data: {path} must be a candidate file or an object with 'X' and 'Y'")
    X = parse_matrix(obj["X"], None, len(obj["X"][0]) if obj["X"] else 0, "data.X")
    Y = parse_matrix(obj["Y"], len(X), 1, "data.Y")
    return X, Y


def data_params(data, n, seed, d_in, family, need):
    """Given data (checked against d_in) or seeded generated data; ``need`` is 'affine' or 'constant'."""
    if data is not None:
        X, Y = load_data(data)
        if not X or len(X[0]) != d_in:
            raise InputError(f"{family}: data has input dimension {len(X[0]) if X else 0} but widths[0] = {d_in}")
        if any(len(y) != 1 for y in Y):
            raise InputError(f"{family}: data must have scalar labels (Y is n x 1)")
        if len(set(X)) != len(X):
            raise InputError(f"{family}: the inputs x_i must be distinct (Yun et al. 2019, condition C1.2)")
        rss = (affine_fit(X, Y) if need == "affine" else constant_fit(Y))[2]
        if rss == 0:
            what = "an affine map" if need == "affine" else "a constant"
            raise InputError(f"{family}: {what} fits the data exactly, so its fit is a global minimum; need data "
                             f"that no {'affine map' if need == 'affine' else 'constant'} fits")
        return X, Y, "given"
    n = int_param(n, "n", 3 if need == "affine" else 2, MAX_SAMPLES)
    if need == "affine" and n < d_in + 2:
        raise InputError(f"n: must satisfy n >= input_dim + 2 = {d_in + 2} (fewer points are fitted exactly by an "
                         f"affine map), got {n}")
    return (*generate_data(n, d_in, seed, need), "generated")


def generate_data(n, d, seed, need="affine"):
    """n distinct rational inputs in R^d and labels that no affine map (or constant) fits; seeded."""
    rng = random.Random(seed)
    for _ in range(50):
        X = set()
        while len(X) < n:
            X.add(tuple(fmpq(rng.randint(-4 * n, 4 * n), 2) for _ in range(d)))
        X = sorted(X)
        Y = tuple((fmpq(rng.randint(-8, 8), 4),) for _ in range(n))
        rss = (affine_fit(X, Y) if need == "affine" else constant_fit(Y))[2]
        if rss != 0:
            return tuple(X), Y
    raise InputError(f"could not generate data with seed {seed} that no affine map fits; try another seed")


def affine_fit(X, Y):
    """Exact affine least squares of scalar Y on X: (coefficients (w, c), fitted values, rss in the sum convention)."""
    n, d = len(X), len(X[0])
    cols = [[X[i][t] for i in range(n)] for t in range(d)] + [[fmpq(1)] * n]
    return least_squares(cols, [y[0] for y in Y])


def constant_fit(Y):
    coef, fitted, rss = least_squares([[fmpq(1)] * len(Y)], [y[0] for y in Y])
    return coef, fitted, rss


def make_problem(widths, act, X, Y):
    net = Network.make(widths, act, bias=True)
    return Problem(net, FiniteData(tuple(tuple(x) for x in X), tuple(tuple(y) for y in Y)), Loss())


# activation pieces ---------------------------------------------------------------------------------------------
def sigma(act, z):
    return act.evaluate(EXACT, z)[0]


def _pieces(act):
    bps = act.breakpoints
    for p, s in enumerate(act.slopes):
        lo = bps[p - 1] if p > 0 else None
        hi = bps[p] if p < len(bps) else None
        yield p, s, lo, hi


def _centre(lo, hi):
    """(z0, rho): [z0 - rho, z0 + rho] lies inside (lo, hi) at distance >= rho from both ends."""
    if lo is not None and hi is not None:
        return (lo + hi) / 2, (hi - lo) / 4
    if lo is not None:
        return lo + 2, fmpq(1)
    return hi - 2, fmpq(1)


def linear_piece(act):
    """(z0, rho, s, a): a piece with slope s != 0 (unbounded ones first), sigma = a + s z on [z0 - rho, z0 + rho]."""
    best = sorted((p for p in _pieces(act) if p[1] != 0), key=lambda p: (p[2] is not None and p[3] is not None,
                                                                         -p[0]))
    if not best:
        raise InputError(f"activation {act}: has no piece of non-zero slope")
    _, s, lo, hi = best[0]
    z0, rho = _centre(lo, hi)
    return z0, rho, s, sigma(act, z0) - s * z0


def zero_slope_piece(act):
    """(z0, rho) of a piece of slope 0, or None."""
    for _, s, lo, hi in _pieces(act):
        if s == 0:
            return _centre(lo, hi)
    return None


def _normalise(values):
    """(m, R): midpoint and half-range of the values (R = 1 when they are all equal)."""
    lo, hi = min(values), max(values)
    R = (hi - lo) / 2
    return (hi + lo) / 2, (R if R != 0 else fmpq(1))


# realisations --------------------------------------------------------------------------------------------------
def affine_unit(act, coef, X):
    """A unit on a linear piece realising the affine map x -> coef.x + c: (w, b, v, c_out) with v sigma + c_out = it."""
    z0, rho, s, a = linear_piece(act)
    d = len(X[0])
    vals = [sum((coef[t] * x[t] for t in range(d)), fmpq(0)) + coef[d] for x in X]
    m, R = _normalise(vals)
    w = [rho / R * coef[t] for t in range(d)]
    b = z0 + rho * (coef[d] - m) / R
    v = R / (s * rho)
    return w, b, v, m - R * (a + s * z0) / (s * rho)


def lift(act, widths, W1, b1, v, c, channels, X):
    """Point of the network ``widths`` whose first layer is (W1, b1) and whose output on every input equals
    sum_{j in channels} v_j sigma(W1_j x + b1_j) + c. Layers 2..L-1 carry the channels on a linear piece (with margin
    rho from every breakpoint on the given inputs X); their other units sit on that piece with zero outgoing weight.
    """
    L = len(widths) - 1
    layers_W, layers_b = [W1], [b1]
    if L == 2:
        return Point.from_arrays([W1, [list(v)]], [b1, [c]])
    z0, rho, s, a = linear_piece(act)
    d1 = widths[1]
    vals = [[sigma(act, sum((w * xi for w, xi in zip(W1[j], x)), fmpq(0)) + b1[j]) for x in X] for j in channels]
    alpha = [fmpq(1)] * len(channels)
    beta = [fmpq(0)] * len(channels)
    prev_index = list(channels)
    prev_width = d1
    for l in range(2, L):
        dl = widths[l]
        if dl < len(channels):
            raise InputError(f"hidden width {dl} of layer {l} is below the {len(channels)} channel(s) to carry")
        W = [[fmpq(0)] * prev_width for _ in range(dl)]
        b = [z0] * dl
        new_vals = []
        for k, (col, vk) in enumerate(zip(prev_index, vals)):
            m, R = _normalise(vk)
            W[k][col] = rho / R
            b[k] = z0 - rho * m / R
            alpha[k] *= s * rho / R
            beta[k] = s * rho / R * beta[k] + a + s * z0 - s * rho * m / R
            new_vals.append([a + s * (z0 + rho * (h - m) / R) for h in vk])
        vals = new_vals
        prev_index = list(range(len(channels)))
        prev_width = dl
        layers_W.append(W)
        layers_b.append(b)
    WL = [fmpq(0)] * prev_width
    cL = c
    for k, j in enumerate(channels):
        WL[k] = v[j] / alpha[k]
        cL -= v[j] * beta[k] / alpha[k]
    layers_W.append([WL])
    layers_b.append([cL])
    return Point.from_arrays(layers_W, layers_b)


def _direction(X):
    """A rational direction a with pairwise distinct projections a.x_i (moment curve (1, k, k^2, ...))."""
    n, d = len(X), len(X[0])
    for k in range(n * n * d + 2):
        a = [fmpq(k) ** t for t in range(d)]
        t = [sum((ai * xi for ai, xi in zip(a, x)), fmpq(0)) for x in X]
        if len(set(t)) == n:
            return a, t
    raise InternalError("no direction with distinct projections found (inputs not distinct?)")


def ridge_witness(act, X, Y, width):
    """One hidden layer realising the best fit 'affine + lambda relu(a.x - beta)' over the sample midpoints beta.

    Our derivation (used when Yun et al.'s J is empty, and as the witness of the deeper families): with distinct
    projections t_i = a.x_i, the functions 1, t and relu(t - beta) at the midpoints span R^n, so a residual r != 0
    orthogonal to the affine maps has r.relu(t - beta) != 0 for some beta and the fit strictly improves. Unit 1
    carries the affine part on a linear piece; unit 2 sits across a breakpoint c with slopes s_l, s_r, scaled by eps so
    that every sample stays on the two pieces next to c:
    sigma(c + eps u) = sigma(c) + s_l eps u + (s_r - s_l) eps relu(u).
    Returns (W1, b1, v, c_out, channels, info) with info = {"direction", "beta", "rss"}.
    """
    if width < 2:
        raise InputError("the kink witness needs a hidden width >= 2")
    n, d = len(X), len(X[0])
    a, t = _direction(X)
    ts = sorted(t)
    best = None
    for lo, hi in zip(ts, ts[1:]):
        beta = (lo + hi) / 2
        phi = [max(ti - beta, fmpq(0)) for ti in t]
        cols = [[X[i][q] for i in range(n)] for q in range(d)] + [[fmpq(1)] * n, phi]
        coef, _, rss = least_squares(cols, [y[0] for y in Y])
        if best is None or rss < best[2]:
            best = (beta, coef, rss)
    beta, coef, rss = best
    if rss >= affine_fit(X, Y)[2]:
        raise InternalError("the kink feature did not improve the affine fit (data affine-fittable?)")
    lam = coef[-1]
    k = len(act.breakpoints) // 2
    bp, s_l, s_r = act.breakpoints[k], act.slopes[k], act.slopes[k + 1]
    room = [bp - act.breakpoints[k - 1]] if k > 0 else []
    room += [act.breakpoints[k + 1] - bp] if k + 1 < len(act.breakpoints) else []
    spread = max(abs(ti - beta) for ti in t)
    eps = min(room) / (2 * spread) if room else fmpq(1)
    w2 = [eps * ai for ai in a]
    b2 = bp - eps * beta
    v2 = lam / ((s_r - s_l) * eps)
    # affine remainder q(x) = coef.x + coef_c - v2 sigma(bp) - v2 s_l eps (a.x - beta)
    qc = [coef[q] - v2 * s_l * eps * a[q] for q in range(d)] + [coef[d] - v2 * sigma(act, bp) + v2 * s_l * eps * beta]
    w1, b1, v1, c_out = affine_unit(act, qc, X)
    W = [w1, w2] + [[fmpq(0)] * d for _ in range(width - 2)]
    b = [b1, b2] + [fmpq(0)] * (width - 2)
    v = [v1, v2] + [fmpq(0)] * (width - 2)
    return W, b, v, c_out, [0, 1], {"direction": a, "beta": beta, "rss": rss}
