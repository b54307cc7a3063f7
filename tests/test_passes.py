"""The one forward/backward/Jacobian/Hessian pass (spurious.arithmetic.passes) in its three contexts.

Mathematics checked: 2c J^T r is the exact gradient (J the Jacobian of the stacked outputs); exact values lie in
the ball enclosures and the float (torch) results agree to 1e-10 relative; a frozen activation pattern evaluates the
polynomial of that pattern, so at a kink it equals the one-sided polynomial (checked against the plain evaluation
at points pushed off the kink to that side, where the two coincide).
"""

import numpy as np
import pytest
from flint import fmpq, fmpq_mat

from spurious.activations import make_activation
from spurious.arithmetic import EXACT, TORCH, BallContext, ball_layers, evaluate_exact, forward, jacobian
from spurious.arithmetic.balls import contains_exact
from spurious.arithmetic.passes import context_layers, evaluate_finite
from spurious.network import Network, Point
from spurious.problem import FiniteData, Problem
from spurious.rationals import fmpq_to_float

from conftest import random_problem

WIDTHS = [[2, 1], [2, 3, 1], [1, 2, 3, 2], [2, 2, 2, 2, 1]]  # depth 1 to 4
PL = make_activation("piecewise_linear", breakpoints=["-1", "1/2"], slopes=["1/3", "1", "-1/2"], intercept="1/5")


def _cases():
    for d, widths in enumerate(WIDTHS):
        for bias in (True, False):
            for trainable in (True, "first-fixed"):
                if trainable != True and len(widths) == 2:  # noqa: E712
                    continue
                yield widths, bias, trainable, 100 * d + 10 * bias + (trainable is True)


def _problem(widths, bias, trainable, seed, act=PL, wd=0):
    tr = True if trainable is True else [False] + [True] * (len(widths) - 2)
    for s in range(seed, seed + 50):  # the first seed without a pre-activation on a kink
        problem, point = random_problem(s, widths, act, bias=bias, n=4, trainable=tr, weight_decay=wd)
        if not evaluate_exact(problem, point, order=0).kinks:
            return problem, point
    raise AssertionError("no kink-free seed")


def _exact_layers(point):
    return [(L.W, L.b) for L in point.layers]


def _floats(rows):
    return np.array([[fmpq_to_float(x) for x in row] for row in rows], dtype=np.float64)


def _close(a, b, tol=1e-10):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.all(np.abs(a - b) <= tol * max(1.0, np.abs(b).max(initial=0)))


@pytest.mark.parametrize("widths,bias,trainable,seed", list(_cases()))
def test_jacobian_gives_the_exact_gradient_in_every_context(widths, bias, trainable, seed):
    problem, point = _problem(widths, bias, trainable, seed)
    net, X, Y = problem.network, problem.data.X, problem.data.Y
    F, J = jacobian(EXACT, net, X, _exact_layers(point))
    n, dL, P = len(X), net.widths[-1], net.num_params
    assert (J.nrows(), J.ncols()) == (n * dL, P)
    r = fmpq_mat(n * dL, 1, [F[i][o] - Y[i][o] for i in range(n) for o in range(dL)])
    g = (J.transpose() * r) * (2 * fmpq(1, n))
    ev = evaluate_exact(problem, point)
    assert [g[q, 0] for q in range(P)] == ev.gradient
    # Gauss-Newton part: with Y = F the residuals vanish and the Hessian is exactly 2c J^T J (+ activation terms 0)
    if all(a.kind == "piecewise_linear" for a in net.activations):
        ev0 = evaluate_finite(EXACT, net, X, F, _exact_layers(point))
        assert ev0.loss == 0 and ev0.hessian == (J.transpose() * J) * (2 * fmpq(1, n))
    # the ball Jacobian encloses the exact one, the float one agrees to 1e-10
    ctx = BallContext(128)
    with ctx.workprec():
        Fb, Jb = jacobian(ctx, net, X, ball_layers(net, point))
    assert all(contains_exact(Jb[a, b], J[a, b]) for a in range(n * dL) for b in range(P))
    assert all(contains_exact(fb, fe) for rb, re in zip(Fb, F) for fb, fe in zip(rb, re))
    Ft, Jt = jacobian(TORCH, net, X, context_layers(TORCH, _exact_layers(point)))
    assert _close(Jt.numpy(), _floats(J.tolist())) and _close(Ft, _floats(F))


def test_jacobian_matches_finite_differences_for_a_smooth_activation():
    problem, point = random_problem(5, [2, 3, 2, 1], "tanh", n=4)
    net, X = problem.network, problem.data.X
    theta = point.flatten_float(net)
    _, J = jacobian(TORCH, net, X, context_layers(TORCH, _exact_layers(point)))
    h = 1e-6
    for q in range(len(theta)):
        outs = []
        for s in (1, -1):
            t = theta.copy()
            t[q] += s * h
            F, _ = jacobian(TORCH, net, X, context_layers(TORCH, _exact_layers(point.with_flat(net, t.tolist()))))
            outs.append(np.array(F).reshape(-1))
        assert np.allclose((outs[0] - outs[1]) / (2 * h), J.numpy()[:, q], atol=1e-7)
