"""Built-in, seeded data sets for search and sweeps (randomness only through ``seed``).

* ``gaussian-teacher``: x ~ N(0, I), labels from a planted teacher network of any architecture and activation
  (default d_0-3-d_L tanh, whatever the student) whose weights are drawn N(0, 1/fan_in) (the usual teacher-student setting, e.g. Safran and Shamir 2018 and
  Li, Ding and Sun 2018 use Gaussian inputs);
* ``random-labels``: x ~ N(0, I), y ~ N(0, I) independent of x (memorisation; no teacher can fit it);
* ``regression-1d``: x equally spaced in [-1, 1], y = sin(3 x) + 0.1 N(0, 1) (a 1-D curve fitting set);
* ``safran-shamir``: the population teacher-student problem of Safran and Shamir (ICML 2018, arXiv 1712.08968):
  x ~ N(0, I_k), teacher sum_i relu(e_i.x), student of n >= k ReLU units without biases, output weights fixed to 1.

Finite data are rounded to the grid 2^-8 (exact small dyadic rationals keep exact verification cheap); the
numbers written to a candidate are exactly these.
"""

from __future__ import annotations

import numpy as np

from ..activations import make_activation, parse_activation_option
from ..errors import InputError
from ..network import Network, Point
from ..problem import FiniteData, GaussianData, Loss, Problem
from ..rationals import to_fmpq

__all__ = ["DATASETS", "make_data", "parse_teacher", "teacher_data", "random_labels", "regression_1d",
           "safran_shamir_problem", "GRID"]

DATASETS = ("gaussian-teacher", "random-labels", "regression-1d", "safran-shamir")
GRID = 256
DEFAULT_TEACHER_WIDTH = 3
MAX_N = 1_000_000


def _rng(seed, stream):
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed: expected a non-negative integer, got {seed!r}")
    return np.random.default_rng([seed, stream])


def _grid(a):
    return np.round(np.asarray(a, dtype=np.float64) * GRID) / GRID


def _check_n(n):
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_N:
        raise InputError(f"--n: expected a number of samples from 1 to {MAX_N}, got {n!r}")


def _finite(X, Y):
    rows = lambda M: tuple(tuple(to_fmpq(float(v)) for v in r) for r in _grid(M))  # noqa: E731
    return FiniteData(rows(X), rows(Y))


def parse_teacher(text: str) -> tuple:
    """``"2,3,1:tanh"`` -> ((2, 3, 1), Activation). Widths of the teacher, then its hidden activation."""
    widths, sep, act = text.partition(":")
    if not sep or not act:
        raise InputError(f"--teacher: expected WIDTHS:ACTIVATION like 2,3,1:tanh, got {text!r}")
    try:
        ws = tuple(int(w) for w in widths.split(","))
    except ValueError:
        raise InputError(f"--teacher: widths must be integers separated by commas, got {widths!r}") from None
    if len(ws) < 2 or min(ws) < 1:
        raise InputError(f"--teacher: need at least two positive widths, got {widths!r}")
    return ws, parse_activation_option(act)


def teacher_point(network, seed):
    """Teacher weights N(0, 1/fan_in) (biases too), on the data grid."""
    rng = _rng(seed, 1)
    Ws, bs = [], []
    for dout, din, has_b in network.layer_shapes():
        Ws.append(_grid(rng.standard_normal((dout, din)) / np.sqrt(din)))
        bs.append(_grid(rng.standard_normal(dout) / np.sqrt(din)) if has_b else None)
    return Point.from_arrays(Ws, bs)


def teacher_data(teacher_widths, activation, n, seed, bias=True) -> FiniteData:
    """n Gaussian inputs labelled by a seeded random teacher (forward pass in float64, labels rounded to the grid)."""
    _check_n(n)
    net = Network.make(teacher_widths, activation, bias=bias)
    point = teacher_point(net, seed)
    X = _grid(_rng(seed, 0).standard_normal((n, teacher_widths[0])))
    h = X
    for l, (W, b) in enumerate(point.arrays_float()):
        h = h @ W.T + (0 if b is None else b)
        if l < net.depth - 1:
            h = _act_float(net.activations[l], h)
    return _finite(X, h)


def _act_float(act, z):
    import torch

    from ..arithmetic.floating import torch_activation

    return torch_activation(act)(torch.as_tensor(z)).numpy()


def random_labels(d_in, d_out, n, seed) -> FiniteData:
    _check_n(n)
    rng = _rng(seed, 0)
    return _finite(rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out)))


def regression_1d(n, seed) -> FiniteData:
    _check_n(n)
    if n < 2:
        raise InputError("--n: regression-1d needs at least 2 samples")
    x = np.linspace(-1.0, 1.0, n)
    y = np.sin(3 * x) + 0.1 * _rng(seed, 0).standard_normal(n)
    return _finite(x[:, None], y[:, None])


def safran_shamir_problem(k: int, n: int) -> tuple:
    """(Problem, base Point) of Safran-Shamir (k teacher units = input dimension, n >= k student units)."""
    if k < 1 or n < 1:
        raise InputError("safran-shamir: need k >= 1 and n >= 1")
    relu = make_activation("relu")
    net = Network.make((k, n, 1), relu, bias=False, trainable=[True, False])
    teacher = Network.make((k, k, 1), relu, bias=False, trainable=[True, False])
    eye = [[int(i == j) for j in range(k)] for i in range(k)]
    problem = Problem(net, GaussianData(teacher, Point.from_arrays([eye, [[1] * k]], [None, None])), Loss())
    base = Point.from_arrays([[[0] * k for _ in range(n)], [[1] * n]], [None, None])
    return problem, base


def make_data(name, widths, *, n=20, seed=0, teacher=None):
    """Data for a network of the given widths: FiniteData, or (Problem, base) for ``safran-shamir``."""
    if name not in DATASETS:
        raise InputError(f"--dataset: unknown {name!r}; known: {', '.join(DATASETS)}")
    d_in, d_out = widths[0], widths[-1]
    if name == "gaussian-teacher":
        if teacher is None:  # fixed, not the student's widths: a sweep over widths must see the same data
            teacher = ((d_in, DEFAULT_TEACHER_WIDTH, d_out), make_activation("tanh"))
        tw, tact = teacher
        if tw[0] != d_in or tw[-1] != d_out:
            raise InputError(f"--teacher: widths {list(tw)} must start with {d_in} and end with {d_out} "
                             "(the student's input and output widths)")
        return teacher_data(tw, tact, n, seed)
    if name == "random-labels":
        return random_labels(d_in, d_out, n, seed)
    if name == "regression-1d":
        if d_in != 1 or d_out != 1:
            raise InputError(f"regression-1d: needs input and output width 1, got widths {list(widths)}")
        return regression_1d(n, seed)
    if len(widths) != 3 or d_out != 1 or widths[1] < d_in:
        raise InputError(f"safran-shamir: widths must be k,n,1 with n >= k, got {list(widths)}")
    return safran_shamir_problem(d_in, widths[1])
