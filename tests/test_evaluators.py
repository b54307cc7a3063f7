"""Exact, ball and float evaluators agree; float derivatives agree with finite differences.

The exact and ball paths share the structured second-order chain rule; the float path is torch autodiff, so
agreement between them checks the formula independently.
"""

import numpy as np
import pytest
from flint import arb, ctx, fmpq

from spurious.activations import make_activation
from spurious.arithmetic import evaluate_ball, evaluate_exact, evaluate_float
from spurious.arithmetic.balls import contains_exact
from spurious.errors import NotExactError
from spurious.network import Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.rationals import fmpq_to_float

from conftest import random_problem

ALL = ["linear", "relu", "leaky_relu", "quadratic", "sigmoid", "tanh", "softplus", "erf", "gelu", "swish"]
EXACT_ACTS = {"linear", "relu", "leaky_relu", "quadratic"}
WIDTHS = [[2, 1], [2, 3, 1], [1, 2, 3, 2], [2, 2, 2, 2, 1]]  # depth 1 to 4


def _floats(matrix):
    return np.array([[fmpq_to_float(x) for x in row] for row in matrix.tolist()])


def _mids(matrix):
    return np.array([[float(x.mid()) for x in row] for row in matrix.tolist()])


def _cases():
    for act in ALL + ["piecewise_linear", "polynomial"]:
        for depth_index, widths in enumerate(WIDTHS):
            for bias in (True, False):
                yield act, widths, bias, 1000 * depth_index + 7 * bias + len(act)


def _activation(name):
    if name == "piecewise_linear":
        return make_activation(name, breakpoints=["-1", "1/2"], slopes=["1/3", "1", "-1/2"], intercept="1/5")
    if name == "polynomial":
        return make_activation(name, coefficients=["1/2", "-1", "0", "1/3"])
    return make_activation(name)


@pytest.mark.parametrize("act,widths,bias,seed", list(_cases()))
def test_three_paths_agree(act, widths, bias, seed):
    for s in range(seed, seed + 50):  # deterministic: the first seed whose point has no pre-activation on a kink
        problem, point = random_problem(s, widths, _activation(act), bias=bias, n=4,
                                        weight_decay=fmpq(1, 7) if seed % 2 else 0)
        if not problem.exact_capable or not evaluate_exact(problem, point, order=0).kinks:
            break
    lf, gf, hf = evaluate_float(problem, point)
    eb = evaluate_ball(problem, point, prec=128)
    scale = max(1.0, abs(lf))
    if act in EXACT_ACTS or act in ("piecewise_linear", "polynomial"):
        ee = evaluate_exact(problem, point)
        assert ee.context == "exact"
        assert not ee.kinks
        # ball encloses exact, entry by entry (decided exactly, not at the working precision)
        assert contains_exact(eb.loss, ee.loss)
        assert all(contains_exact(b, e) for b, e in zip(eb.gradient, ee.gradient))
        P = len(ee.gradient)
        assert all(contains_exact(eb.hessian[i, j], ee.hessian[i, j]) for i in range(P) for j in range(P))
        ref_l, ref_g, ref_h = fmpq_to_float(ee.loss), np.array([fmpq_to_float(g) for g in ee.gradient]), \
            _floats(ee.hessian)
        # exact Hessian is symmetric exactly
        assert ee.hessian == ee.hessian.transpose()
    else:
        if problem.network.depth > 1:
            with pytest.raises(NotExactError):
                evaluate_exact(problem, point)
        ref_l, ref_g, ref_h = float(eb.loss.mid()), np.array([float(g.mid()) for g in eb.gradient]), _mids(eb.hessian)
        with ctx.workprec(128):
            assert all(g.rad() < arb(2) ** -90 * (1 + abs(g.mid())) for g in eb.gradient)
    gscale = max(1.0, np.abs(ref_g).max(initial=0))
    hscale = max(1.0, np.abs(ref_h).max(initial=0))
    assert abs(lf - ref_l) <= 1e-10 * scale
    assert np.abs(gf - ref_g).max(initial=0) <= 1e-10 * gscale
    assert np.abs(hf - ref_h).max(initial=0) <= 1e-10 * hscale


@pytest.mark.parametrize("act", ALL)
def test_float_derivatives_match_finite_differences(act):
    problem, point = random_problem(11, [2, 3, 2, 1], _activation(act), n=5, num=2)
    from spurious.arithmetic import FloatModel
    import torch

    model = FloatModel(problem, point)
    theta = point.flatten_float(problem.network)
    _, g, h = model.evaluate(theta)
    eps = 1e-6
    P = theta.size
    for i in range(P):
        e = np.zeros(P)
        e[i] = eps
        lp, lm = model.losses(np.stack([theta + e, theta - e])).tolist()
        fd = (lp - lm) / (2 * eps)
        assert abs(fd - g[i]) <= 1e-5 * max(1.0, abs(g[i]))
        gp, gm = model.gradients(np.stack([theta + e, theta - e]))
        fdh = ((gp - gm) / (2 * eps)).numpy()
        assert np.abs(fdh - h[:, i]).max() <= 1e-4 * max(1.0, np.abs(h).max())
    assert torch.is_tensor(model.losses(theta))


def test_ball_over_a_box_encloses_every_point_inside():
    problem, point = random_problem(5, [2, 3, 1], "tanh", n=4)
    radius = 1e-3
    eb = evaluate_ball(problem, point, radius=radius)
    rng = np.random.default_rng(0)
    theta = point.flatten_float(problem.network)
    for _ in range(20):
        inner = point.with_flat(problem.network, theta + rng.uniform(-radius, radius, theta.size) * 0.999)
        e = evaluate_ball(problem, inner, prec=128)
        with ctx.workprec(128):
            assert eb.loss.contains(e.loss)
            assert all(a.contains(b) for a, b in zip(eb.gradient, e.gradient))
            assert eb.hessian.contains(e.hessian)


def test_kinks_are_reported_exactly_and_derivatives_withheld():
    # one hidden relu unit whose pre-activation at the second sample is exactly 0
    net = Network.make([1, 1, 1], make_activation("relu"))
    data = FiniteData(((fmpq(1),), (fmpq(2),)), ((fmpq(0),), (fmpq(1),)))
    problem = Problem(net, data, Loss())
    point = Point.from_arrays([[[fmpq(1)]], [[fmpq(1)]]], [[fmpq(-2)], [fmpq(0)]])
    ev = evaluate_exact(problem, point)
    assert ev.kinks == [(1, 0, 1)]
    assert ev.gradient is None and ev.hessian is None
    assert ev.loss == fmpq(1, 2)  # outputs (0, 0) against labels (0, 1): mean of (0, 1)
    eb = evaluate_ball(problem, point, radius=1e-6)
    assert eb.kinks == [(1, 0, 1)] and eb.hessian is None
    # a box that clears the kink: derivatives are back
    clear = point.with_flat(net, [fmpq(1), fmpq(-3, 2), fmpq(1), fmpq(0)])
    assert evaluate_ball(problem, clear, radius=1e-6).hessian is not None


def test_known_values_linear_regression():
    # f(x) = w x + b on x = (0, 1, 2), y = (1, 3, 5): exact fit at w = 2, b = 1; at w = b = 0 loss = 35/3
    net = Network.make([1, 1], [], bias=True)
    data = FiniteData(((fmpq(0),), (fmpq(1),), (fmpq(2),)), ((fmpq(1),), (fmpq(3),), (fmpq(5),)))
    problem = Problem(net, data, Loss())
    zero = Point.from_arrays([[[0]]], [[0]])
    ev = evaluate_exact(problem, zero)
    assert ev.loss == fmpq(35, 3)
    # gradient = (2/n) sum r_i (x_i, 1) with r = -y: w: -(2/3)(0 + 3 + 10), b: -(2/3)(9)
    assert ev.gradient == [fmpq(-26, 3), fmpq(-6)]
    # Hessian = (2/n) sum (x, 1)(x, 1)^T = (2/3) [[5, 3], [3, 3]]
    assert ev.hessian.tolist() == [[fmpq(10, 3), fmpq(2)], [fmpq(2), fmpq(2)]]
    fit = Point.from_arrays([[[2]]], [[1]])
    assert evaluate_exact(problem, fit).loss == 0
    sum_problem = Problem(net, data, Loss(reduction="sum"))
    assert evaluate_exact(sum_problem, zero).loss == 35


def test_weight_decay_counts_weights_not_biases():
    net = Network.make([1, 1], [], bias=True)
    data = FiniteData(((fmpq(0),),), ((fmpq(0),),))
    problem = Problem(net, data, Loss(weight_decay=fmpq(1, 2)))
    point = Point.from_arrays([[[3]]], [[0]])
    assert evaluate_exact(problem, point).loss == fmpq(9, 4)  # (1/2)/2 * 9; the fit itself is exact at x = 0
    point = Point.from_arrays([[[0]]], [[5]])
    assert evaluate_exact(problem, point).loss == 25  # bias not decayed, residual 5


def test_non_trainable_layer_is_a_constant():
    net = Network.make([1, 2, 1], make_activation("relu"), trainable=[True, False])
    assert net.num_params == 4
    problem, point = random_problem(3, [1, 2, 1], "relu", trainable=[True, False])
    ee = evaluate_exact(problem, point)
    lf, gf, hf = evaluate_float(problem, point)
    assert len(ee.gradient) == 4 and hf.shape == (4, 4)
    assert abs(fmpq_to_float(ee.loss) - lf) <= 1e-12 * max(1, lf)
