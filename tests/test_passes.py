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


def _random_pattern(problem, seed):
    import random

    rng = random.Random(seed)
    net, n = problem.network, problem.data.n
    return [[[rng.randrange(len(act.slopes)) for _ in range(n)] for _ in range(net.widths[l])]
            for l, act in enumerate(net.activations, start=1)]


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("widths,bias,trainable,seed", list(_cases()))
def test_three_contexts_agree_on_loss_gradient_hessian(widths, bias, trainable, seed, frozen):
    """Exact inside the ball, float within 1e-10, with and without a frozen pattern (a random one: the polynomial of
    an arbitrary pattern, not the point's own), with weight decay."""
    problem, point = _problem(widths, bias, trainable, seed, wd=fmpq(1, 7))
    net, X, Y = problem.network, problem.data.X, problem.data.Y
    pattern = _random_pattern(problem, seed) if frozen else None
    args = (problem.loss.reduction, problem.loss.weight_decay, 2, pattern)
    ee = evaluate_finite(EXACT, net, X, Y, _exact_layers(point), *args)
    assert ee.hessian == ee.hessian.transpose() and not ee.kinks
    ctx = BallContext(128)
    with ctx.workprec():
        eb = evaluate_finite(ctx, net, X, Y, ball_layers(net, point), *args)
    P = net.num_params
    assert contains_exact(eb.loss, ee.loss)
    assert all(contains_exact(b, e) for b, e in zip(eb.gradient, ee.gradient))
    assert all(contains_exact(eb.hessian[i, j], ee.hessian[i, j]) for i in range(P) for j in range(P))
    et = evaluate_finite(TORCH, net, X, Y, context_layers(TORCH, _exact_layers(point)), *args)
    assert _close(et.loss, fmpq_to_float(ee.loss))
    assert _close(et.gradient, [fmpq_to_float(g) for g in ee.gradient])
    assert _close(et.hessian.numpy(), _floats(ee.hessian.tolist()))
    plain = evaluate_exact(problem, point, 1)
    if frozen and pattern != plain.piece_index:  # the polynomial of another pattern is not the loss
        assert (ee.loss, ee.gradient) != (plain.loss, plain.gradient)
    elif not frozen:  # the point's own pattern, frozen, gives the same exact values
        own = evaluate_finite(EXACT, net, X, Y, _exact_layers(point), *args[:3], [
            [[p for p in row] for row in layer] for layer in ee.piece_index])
        assert (own.loss, own.gradient, own.hessian) == (ee.loss, ee.gradient, ee.hessian)


def _on_kink(widths, layer, seed):
    """A point whose pre-activation (layer, unit 0, sample 0) is exactly on a breakpoint, by moving that bias."""
    problem, point = _problem(widths, True, True, seed)
    net = problem.network
    fw = forward(EXACT, net, problem.data.X, _exact_layers(point))
    act = net.activations[layer - 1]
    c = act.breakpoints[0]
    shift = c - fw.Z[layer][0][0]
    offsets, _ = net.layer_offsets()
    dout, din, _ = net.layer_shapes()[layer - 1]
    q = offsets[layer - 1] + dout * din  # the bias of unit 0
    e = [fmpq(0)] * net.num_params
    e[q] = fmpq(1)
    return problem, point.shift(net, e, shift), e


@pytest.mark.parametrize("widths,layer", [([2, 3, 1], 1), ([1, 2, 3, 2], 1), ([1, 2, 3, 2], 2),
                                          ([2, 2, 2, 2, 1], 3)])
def test_frozen_pattern_at_a_kink_is_the_one_sided_polynomial(widths, layer):
    for seed in range(20):
        problem, point, e = _on_kink(widths, layer, seed)
        if len(evaluate_exact(problem, point, 0).kinks) == 1:
            break
    net, X, Y = problem.network, problem.data.X, problem.data.Y
    plain = evaluate_exact(problem, point)
    assert plain.kinks == [(layer, 0, 0)] and plain.gradient is None
    with pytest.raises(Exception, match="breakpoint"):
        jacobian(EXACT, net, X, _exact_layers(point))
    base = [[list(row) for row in t] for t in plain.piece_index]
    left = base[layer - 1][0][0] = net.activations[layer - 1].piece_of(net.activations[layer - 1].breakpoints[0])
    for side, piece in ((-1, left), (1, left + 1)):
        pattern = [[list(row) for row in t] for t in base]
        pattern[layer - 1][0][0] = piece
        at = evaluate_finite(EXACT, net, X, Y, _exact_layers(point), pattern=pattern)
        assert at.loss == plain.loss  # the polynomial of either side is continuous through the kink
        ctx = BallContext(128)
        with ctx.workprec():
            ab = evaluate_finite(ctx, net, X, Y, ball_layers(net, point), pattern=pattern)
        assert not ab.kinks and all(contains_exact(b, g) for b, g in zip(ab.gradient, at.gradient))
        # on that side of the kink the plain loss IS this polynomial: same exact values at small steps
        for t in (fmpq(1, 1000), fmpq(1, 3000)):
            moved = point.shift(net, e, side * t)
            ev = evaluate_exact(problem, moved)
            assert not ev.kinks and ev.piece_index == pattern
            fz = evaluate_finite(EXACT, net, X, Y, _exact_layers(moved), pattern=pattern)
            assert (fz.loss, fz.gradient, fz.hessian) == (ev.loss, ev.gradient, ev.hessian)
        # and the one-sided derivative along e at the kink is the polynomial's: (loss(t) - loss(0)) / t -> g . e
        q = e.index(fmpq(1))
        t = fmpq(1, 10 ** 6)
        slope = (evaluate_exact(problem, point.shift(net, e, side * t), 0).loss - plain.loss) / (side * t)
        assert abs(slope - at.gradient[q]) < fmpq(1, 1000)
