"""Gaussian population loss of one-hidden-layer ReLU nets: closed form, gradient and Hessian in ball arithmetic.

Checked against torch autodiff of the float closed form, central finite differences, Monte-Carlo estimates of the
expectation (seeded, 5 sigma), and the non-smooth cases (zero units, parallel pairs) that must come back None.
"""

import math

import numpy as np
import pytest
from flint import arb, fmpq

from spurious.activations import make_activation
from spurious.arithmetic import FloatModel, evaluate_ball, evaluate_float
from spurious.arithmetic.balls import contains_exact
from spurious.network import Network, Point
from spurious.problem import GaussianData, Loss, Problem

RELU = make_activation("relu")


def make(seed, d, n, k, m=1, train_out=False, wd=0, student=None, teacher=None, out=None):
    """Random population problem (teacher integer weights) and a random float student point."""
    rng = np.random.default_rng(seed)
    net = Network.make((d, n, m), RELU, bias=False, trainable=[True, train_out])
    tnet = Network.make((d, k, m), RELU, bias=False)
    V = rng.integers(-3, 4, (k, d)) if teacher is None else teacher
    C = rng.integers(-2, 3, (m, k)) if out is None else out
    W = rng.normal(size=(n, d)) if student is None else student
    A = rng.normal(size=(m, n)) if train_out else np.ones((m, n))
    problem = Problem(net, GaussianData(tnet, Point.from_arrays([V, C], [None, None])), Loss(weight_decay=fmpq(wd)))
    return problem, Point.from_arrays([W, A], [None, None])


def close(ball, value, tol):
    """The float value lies in the ball up to the float path's own rounding error ``tol``."""
    return abs(float(ball.mid()) - value) <= float(ball.rad()) + tol


def hmat(ev):
    P = ev.hessian.nrows()
    return np.array([[float(ev.hessian[i, j].mid()) for j in range(P)] for i in range(P)])


SHAPES = [  # (d, n, k, m, trainable output, weight decay)
    (3, 2, 2, 1, False, 0),
    (3, 4, 3, 1, False, 0),
    (4, 3, 3, 2, True, 0),
    (2, 3, 2, 2, True, fmpq(1, 3)),
    (5, 2, 4, 3, False, fmpq(1, 2)),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ball_encloses_autodiff_at_the_point(shape, seed):
    d, n, k, m, tr, wd = shape
    problem, point = make(seed, d, n, k, m, tr, wd)
    ev = evaluate_ball(problem, point, order=2)
    loss, g, H = evaluate_float(problem, point)
    assert ev.kinks == [] and len(ev.gradient) == problem.network.num_params == len(g)
    scale = 1e-12 * (1 + abs(loss))
    assert close(ev.loss, loss, scale)
    assert all(close(a, b, scale) for a, b in zip(ev.gradient, g))
    assert all(close(ev.hessian[i, j], H[i, j], scale) for i in range(len(g)) for j in range(len(g)))
    # radius-0 balls are tight: the ball path is not trivially "enclosing" by being wide
    assert max(float(x.rad()) for x in ev.gradient) < 1e-25


@pytest.mark.parametrize("shape", SHAPES[1:4])
def test_box_enclosure_contains_every_sampled_point(shape):
    """Over a box of radius 1e-3 the enclosure must hold the values at random points of the box."""
    d, n, k, m, tr, wd = shape
    problem, point = make(7, d, n, k, m, tr, wd)
    rho = 1e-3
    ev = evaluate_ball(problem, point, radius=rho, order=2)
    assert ev.kinks == []
    model = FloatModel(problem, point)
    theta0 = point.flatten_float(problem.network)
    rng = np.random.default_rng(3)
    thetas = theta0 + rng.uniform(-rho, rho, size=(20, len(theta0)))
    losses, grads, hessians = model.losses(thetas), model.gradients(thetas), model.hessians(thetas)
    P = len(theta0)
    for t in range(len(thetas)):
        assert close(ev.loss, float(losses[t]), 1e-12)
        assert all(close(ev.gradient[i], float(grads[t][i]), 1e-12) for i in range(P))
        assert all(close(ev.hessian[i, j], float(hessians[t][i, j]), 1e-12) for i in range(P) for j in range(P))
    # and the enclosure is not absurdly wide
    hmax = max(abs(float(ev.hessian[i, j].mid())) for i in range(P) for j in range(P))
    assert max(float(ev.hessian[i, j].rad()) for i in range(P) for j in range(P)) < 0.05 * hmax


def test_per_coordinate_radii():
    problem, point = make(4, 3, 3, 2)
    P = problem.network.num_params
    radii = [0] * P
    radii[2] = 1e-4
    ev = evaluate_ball(problem, point, radius=radii, order=2)
    ev0 = evaluate_ball(problem, point, order=2)
    assert ev.gradient[2].rad() > ev0.gradient[2].rad()
    assert all(a.overlaps(b) for a, b in zip(ev.gradient, ev0.gradient))


@pytest.mark.parametrize("seed", [0, 1])
def test_float_derivatives_match_finite_differences(seed):
    problem, point = make(seed, 3, 3, 2, 2, True)
    model = FloatModel(problem, point)
    theta = point.flatten_float(problem.network)
    loss, g, H = model.evaluate(theta)
    h = 1e-5
    P = len(theta)
    E = np.eye(P)
    fd_g = np.array([(float(model.losses(theta + h * E[i])[0]) - float(model.losses(theta - h * E[i])[0])) / (2 * h)
                     for i in range(P)])
    fd_H = np.array([(model.gradients(theta + h * E[i])[0].numpy() - model.gradients(theta - h * E[i])[0].numpy())
                     / (2 * h) for i in range(P)])
    assert np.allclose(fd_g, g, atol=1e-8)
    assert np.allclose(fd_H, H, atol=1e-7)
    # the ball Hessian (independent closed-form formulas) against finite differences of the ball gradient
    ev = evaluate_ball(problem, point, order=2)
    bg = lambda th: np.array([float(x.mid()) for x in evaluate_ball(  # noqa: E731
        problem, point.with_flat(problem.network, [_q(x) for x in th]), order=1).gradient])
    fd_bH = np.array([(bg(theta + h * E[i]) - bg(theta - h * E[i])) / (2 * h) for i in range(P)])
    assert np.allclose(fd_bH, hmat(ev), atol=1e-7)


def _q(x):
    from spurious.rationals import to_fmpq

    return to_fmpq(float(x))


def _relu(z):
    return np.maximum(z, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_matches_monte_carlo(seed):
    """E (f - g)^2 and its W-gradient E[2 (f - g) a_j 1(w_j.x > 0) x] by 200k Gaussian samples, within 5 sigma."""
    problem, point = make(seed, 3, 3, 2, 2, True)
    W = np.array([[float(x) for x in r] for r in point.layers[0].W])
    A = np.array([[float(x) for x in r] for r in point.layers[1].W])
    tl = problem.data.teacher_point.layers
    V = np.array([[float(x) for x in r] for r in tl[0].W])
    C = np.array([[float(x) for x in r] for r in tl[1].W])
    X = np.random.default_rng(100 + seed).standard_normal((200_000, 3))
    r = _relu(X @ W.T) @ A.T - _relu(X @ V.T) @ C.T      # N x m residuals
    samples = (r * r).sum(axis=1)
    ev = evaluate_ball(problem, point, order=1)
    N = len(samples)
    assert abs(samples.mean() - float(ev.loss.mid())) < 5 * samples.std() / math.sqrt(N)
    act = (X @ W.T > 0).astype(float)                      # N x n
    for j in range(W.shape[0]):
        gj = 2 * ((r @ A[:, j]) * act[:, j])[:, None] * X  # N x d samples of dL/dw_j
        for a in range(3):
            est = gj[:, a]
            exact = float(ev.gradient[j * 3 + a].mid())
            assert abs(est.mean() - exact) < 5 * est.std() / math.sqrt(N) + 1e-12


def test_zero_unit_has_no_gradient():
    W = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, -1.0]])
    problem, point = make(0, 3, 2, 2, student=W)
    ev = evaluate_ball(problem, point, order=2)
    assert ev.gradient is None and ev.hessian is None and (1, 0, "zero") in ev.kinks
    assert ev.loss.rad() < 1e-30  # the loss is still enclosed tightly
    # a box that reaches the zero vector is flagged too
    problem, point = make(0, 3, 2, 2, student=np.array([[1e-6, 0.0, 0.0], [1.0, 2.0, -1.0]]))
    assert evaluate_ball(problem, point, radius=0, order=1).gradient is not None
    ev = evaluate_ball(problem, point, radius=2e-6, order=1)
    assert ev.gradient is None and (1, 0, "zero") in ev.kinks


def test_zero_unit_with_fixed_zero_output_is_irrelevant():
    """A unit whose fixed outgoing weights are 0 does not enter the loss: no flag, zero derivatives."""
    rng = np.random.default_rng(5)
    net = Network.make((3, 2, 1), RELU, bias=False, trainable=[True, False])
    tnet = Network.make((3, 2, 1), RELU, bias=False)
    tp = Point.from_arrays([[[1, 0, 0], [0, 1, 0]], [[1, 1]]], [None, None])
    problem = Problem(net, GaussianData(tnet, tp))
    point = Point.from_arrays([[[0, 0, 0], rng.normal(size=3)], [[0, 1]]], [None, None])
    ev = evaluate_ball(problem, point, order=2)
    assert ev.kinks == []
    assert all(x.is_zero() for x in ev.gradient[:3])
    assert all(ev.hessian[i, j].is_zero() for i in range(3) for j in range(6))


def test_parallel_pair_has_gradient_but_no_hessian_enclosure():
    """w_0 parallel to teacher unit v_0: k is C^2 there, but the formulas divide by s = 0, so None + flag."""
    W = np.array([[2.0, 0.0, 0.0], [0.3, 1.0, -0.5]])
    problem, point = make(0, 3, 2, 2, student=W, teacher=np.array([[1, 0, 0], [0, 0, 1]]), out=np.array([[1, 1]]))
    ev = evaluate_ball(problem, point, order=2)
    assert ev.hessian is None and (1, 0, ("teacher", 0)) in ev.kinks
    loss, g, _ = evaluate_float(problem, point)
    assert close(ev.loss, loss, 1e-12)
    assert all(close(a, b, 1e-12) for a, b in zip(ev.gradient, g))
    # antiparallel student pair, over a box: gradient enclosed (and tight), Hessian refused
    W = np.array([[1.0, 1.0, 0.0], [-2.0, -2.0, 0.0]])
    problem, point = make(1, 3, 2, 2, student=W)
    ev = evaluate_ball(problem, point, radius=1e-9, order=2)
    assert ev.hessian is None and (1, 0, ("student", 1)) in ev.kinks
    loss, g, _ = evaluate_float(problem, point)
    assert close(ev.loss, loss, 1e-12) and float(ev.loss.rad()) < 1e-3  # s ~ sqrt(width of q)
    assert all(close(a, b, 1e-10) for a, b in zip(ev.gradient, g))
    assert max(float(x.rad()) for x in ev.gradient) < 1e-3


def test_global_minimum_loss_is_exactly_enclosed_zero():
    """Student = teacher: loss 0 (in the enclosure), gradient 0 (the formulas hold at parallel pairs)."""
    V = np.array([[1, 0, 0], [0, 2, 1]])
    problem, point = make(0, 3, 2, 2, student=V, teacher=V, out=np.array([[1, 1]]))
    ev = evaluate_ball(problem, point, order=1)
    assert contains_exact(ev.loss, 0) and float(ev.loss.rad()) < 1e-30
    assert all(contains_exact(x, 0) for x in ev.gradient)


def test_kernel_known_values():
    """k(w, v) = |w||v|/(2 pi) for orthogonal w, v; 0 for opposite; |w|^2/2 ... via the loss of 1-unit nets."""
    # student w = e1, teacher v = e2 (orthogonal): L = 1/2 - 2/(2 pi) + 1/2 = 1 - 1/pi
    problem, point = make(0, 2, 1, 1, student=np.array([[1.0, 0.0]]), teacher=np.array([[0, 1]]),
                          out=np.array([[1]]))
    ev = evaluate_ball(problem, point, order=2)
    assert (ev.loss - (1 - 1 / arb.pi())).contains(0)
    # opposite: w = -e1, v = e1: k = 0, L = 1/2 + 1/2 = 1
    problem, point = make(0, 2, 1, 1, student=np.array([[-1.0, 0.0]]), teacher=np.array([[1, 0]]),
                          out=np.array([[1]]))
    ev = evaluate_ball(problem, point, order=1)
    assert contains_exact(ev.loss, 1)
    # gradient at w = -e1: w + (-2)(s w/|w|^2 + (pi - t) v)/(2 pi) = -e1 (t = pi, s = 0)
    assert contains_exact(ev.gradient[0], -1) and contains_exact(ev.gradient[1], 0)


@pytest.mark.parametrize("shape", [(3, 4, 3, 1), (4, 3, 5, 2), (2, 3, 2, 2)])
def test_numpy_closed_form_matches_autodiff(shape):
    """population_numpy (vectorised float formulas, used by Newton searches) against torch autodiff, fixed A."""
    from spurious.arithmetic.population import population_numpy

    d, n, k, m = shape
    problem, point = make(11, d, n, k, m)
    fl = lambda rows: np.array([[float(x) for x in r] for r in rows])  # noqa: E731
    tl = problem.data.teacher_point.layers
    loss, g, H = population_numpy(fl(point.layers[0].W), fl(point.layers[1].W), fl(tl[0].W), fl(tl[1].W))
    l2, g2, H2 = evaluate_float(problem, point)
    assert abs(loss - l2) < 1e-12 * (1 + abs(l2))
    assert np.allclose(g, g2, atol=1e-12) and np.allclose(H, H2, atol=1e-12)


def test_only_output_layer_trainable_is_quadratic_even_with_a_zero_unit():
    """W fixed: L is a quadratic in A (Hessian 2 K(W, W) per output), defined even when a unit is 0."""
    rng = np.random.default_rng(8)
    net = Network.make((3, 3, 2), RELU, bias=False, trainable=[False, True])
    tnet = Network.make((3, 2, 2), RELU, bias=False)
    tp = Point.from_arrays([[[1, 0, 2], [0, 1, -1]], [[1, 2], [-1, 1]]], [None, None])
    problem = Problem(net, GaussianData(tnet, tp))
    for W in (rng.normal(size=(3, 3)), np.array([[0.0, 0, 0], [1, 2, 3], [-1, 0.5, 0]])):
        point = Point.from_arrays([W, rng.normal(size=(2, 3))], [None, None])
        ev = evaluate_ball(problem, point, order=2)
        assert ev.kinks == [] and ev.hessian.nrows() == 6
        loss, g, H = evaluate_float(problem, point)
        assert close(ev.loss, loss, 1e-12)
        assert all(close(a, b, 1e-12) for a, b in zip(ev.gradient, g))
        assert all(close(ev.hessian[i, j], H[i, j], 1e-12) for i in range(6) for j in range(6))
