"""Soundness battery for the exact path: no point that is not a local minimum is ever certified as one, and every
reported descent direction provably decreases the loss at an explicit exact step.

Points: random small rational networks and data (mostly not critical), constructed minima (exact least squares,
Yun-Sra-Jadbabaie lifts, zero-loss fits, a kink minimum), the same minima pushed off by tiny exact steps, and
saddles of deep linear networks. For every minimum verdict, 50 random exact directions at three tiny step sizes are
probed with exact evaluation: none may have strictly lower loss (and, for strict_local_min, none may tie).
"""

import random

import pytest
from flint import fmpq, fmpq_mat

from spurious.activations import make_activation
from spurious.arithmetic import evaluate_exact
from spurious.arithmetic.contexts import EXACT
from spurious.candidate import Candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.verifiers import verify
from spurious.certificate import (EXACT as RIGOR_EXACT, INCONCLUSIVE, MINIMUM_VERDICTS, NOT_CRITICAL,
                                         NOT_LOCAL_MIN, STRICT_LOCAL_MIN)

from conftest import random_problem, random_rational

PROBE_DIRECTIONS = 50
PROBE_STEPS = (fmpq(1, 2**20), fmpq(1, 2**32), fmpq(1, 2**44))


def _act(name):
    if name == "pl":
        return make_activation("piecewise_linear", breakpoints=["-1", "1/2"], slopes=["1/3", "1", "-1/2"],
                               intercept="1/5")
    if name == "cubic":
        return make_activation("polynomial", coefficients=["0", "1", "0", "1/3"])
    if name == "leaky":
        return make_activation("leaky_relu", slope="1/10")
    return make_activation(name)


def outputs(problem, point):
    """Network outputs on the data, exactly (forward pass written here, independently of the evaluators)."""
    net = problem.network
    out = []
    for x in problem.data.X:
        h = list(x)
        for l, L in enumerate(point.layers):
            z = [sum((w * v for w, v in zip(row, h)), fmpq(0)) + (L.b[k] if L.b is not None else 0)
                 for k, row in enumerate(L.W)]
            h = [net.activations[l].evaluate(EXACT, q)[0] for q in z] if l < net.depth - 1 else z
        out.append(tuple(h))
    return tuple(out)


def check_certificate(problem, point, cert, rng):
    """Assert the mathematics behind a verdict (see module docstring). Returns the verdict."""
    assert cert.rigor == RIGOR_EXACT
    net = problem.network
    loss = evaluate_exact(problem, point, order=0).loss
    assert cert.loss == loss
    P = net.num_params
    if cert.verdict in MINIMUM_VERDICTS:
        for _ in range(PROBE_DIRECTIONS):
            d = [fmpq(rng.randint(-3, 3)) for _ in range(P)]
            if all(x == 0 for x in d):
                continue
            for t in PROBE_STEPS:
                for sgn in (1, -1):
                    probe = evaluate_exact(problem, point.shift(net, d, sgn * t), order=0).loss
                    assert probe >= loss, f"{cert.verdict} refuted by a probe: {probe} < {loss}"
                    if cert.verdict == STRICT_LOCAL_MIN:
                        assert probe > loss
    elif cert.verdict in (NOT_CRITICAL, NOT_LOCAL_MIN):
        d = list(cert.descent_direction)
        assert d is not None and len(d) == P and any(x != 0 for x in d)
        t = fmpq(1, 2 ** max(0, int(max(abs(x) for x in d).p).bit_length()))
        for _ in range(160):
            if evaluate_exact(problem, point.shift(net, d, t), order=0).loss < loss:
                break
            t /= 2
        else:
            pytest.fail(f"{cert.verdict}: no explicit step along the reported direction decreases the loss")
        if cert.verdict == NOT_CRITICAL:
            ev = evaluate_exact(problem, point)
            if ev.kinks:  # a partial derivative that exists and is nonzero: the two one-sided ones are opposite
                for q in (i for i, x in enumerate(d) if x != 0):
                    e = [fmpq(1) if i == q else fmpq(0) for i in range(P)]
                    t = fmpq(1, 2 ** 64)  # quotients = one-sided derivatives + O(t)
                    plus, minus = [(evaluate_exact(problem, point.shift(net, e, s * t), order=0).loss - loss) / t
                                   for s in (1, -1)]
                    assert abs(plus + minus) < fmpq(1, 2 ** 30) and abs(plus) > fmpq(1, 2 ** 30)
            else:
                assert d == [-g for g in ev.gradient]
    else:
        assert cert.verdict == INCONCLUSIVE and cert.reasons
    return cert.verdict


# ---- generators --------------------------------------------------------------------------------------------------

def gen_random(seed):
    rng = random.Random(seed)
    act = rng.choice(["relu", "leaky", "quadratic", "linear", "pl", "cubic"])
    widths = rng.choice([[1, 1, 1], [2, 2, 1], [1, 2, 1], [2, 1], [1, 1, 1, 1], [2, 3, 1], [1, 2, 2], [2, 2, 2, 1]])
    return random_problem(seed, widths, _act(act), n=rng.randint(1, 5), bias=rng.random() < 0.7,
                          weight_decay=fmpq(1, 8) if rng.random() < 0.1 else 0)


def gen_least_squares(seed):
    """No hidden layer: the exact least-squares solution (a strict minimum when (X, 1) has full column rank)."""
    rng = random.Random(seed)
    d0, dout = rng.randint(1, 3), rng.randint(1, 2)
    n = rng.randint(d0 + 1, 5)
    X = [[random_rational(rng) for _ in range(d0)] for _ in range(n)]
    Y = [[random_rational(rng) for _ in range(dout)] for _ in range(n)]
    Xb = fmpq_mat([x + [1] for x in X])
    G = Xb.transpose() * Xb
    if G.det() == 0:
        return None
    B = G.solve(Xb.transpose() * fmpq_mat(Y))  # (d0+1) x dout
    net = Network.make([d0, dout], (), bias=True)
    pt = Point.from_arrays([[[B[j, o] for j in range(d0)] for o in range(dout)]], [[B[d0, o] for o in range(dout)]])
    return Problem(net, FiniteData(tuple(map(tuple, X)), tuple(map(tuple, Y)))), pt


def gen_yun_lift(seed):
    """Yun-Sra-Jadbabaie 2019 Theorem 1: the affine least-squares fit lifted into a one-hidden-layer net."""
    rng = random.Random(seed)
    d0, k = rng.randint(1, 2), rng.randint(1, 3)
    act = _act(rng.choice(["relu", "leaky"]))
    n = rng.randint(d0 + 1, 5)
    X = [[random_rational(rng) for _ in range(d0)] for _ in range(n)]
    Y = [[random_rational(rng)] for _ in range(n)]
    Xb = fmpq_mat([x + [1] for x in X])
    G = Xb.transpose() * Xb
    if G.det() == 0:
        return None
    beta = G.solve(Xb.transpose() * fmpq_mat(Y))
    ybar = [sum((Xb[i, j] * beta[j, 0] for j in range(d0 + 1)), fmpq(0)) for i in range(n)]
    eta = min(fmpq(-1), 2 * min(ybar))
    alpha = fmpq(rng.randint(1, 5), rng.randint(1, 5))
    s_plus = act.slopes[1]
    W1 = [[alpha * beta[j, 0] for j in range(d0)]] + [[fmpq(0)] * d0 for _ in range(k - 1)]
    b1 = [alpha * (beta[d0, 0] - eta)] + [-alpha * eta] * (k - 1)
    W2 = [[1 / (alpha * s_plus)] + [fmpq(0)] * (k - 1)]
    net = Network.make([d0, k, 1], act, bias=True)
    return (Problem(net, FiniteData(tuple(map(tuple, X)), tuple(map(tuple, Y)))),
            Point.from_arrays([W1, W2], [b1, [eta]]))


def gen_fit(seed):
    """A random network and data labelled by the network itself: loss 0 (a global minimum)."""
    rng = random.Random(seed)
    act = rng.choice(["relu", "leaky", "quadratic", "linear", "pl"])
    widths = rng.choice([[1, 1, 1], [1, 2, 1], [2, 2, 1], [2, 1], [1, 1, 1, 1]])
    problem, point = random_problem(seed, widths, _act(act), n=rng.randint(1, 6), bias=rng.random() < 0.8)
    Y = outputs(problem, point)
    return Problem(problem.network, FiniteData(problem.data.X, Y), problem.loss), point


def kink_minimum(alpha=fmpq(1), c0=fmpq(0)):
    """ReLU 1-1-1 with sample x = 0 on the kink: a strict minimum modulo rescaling (see test_verify_exact)."""
    net = Network.make([1, 1, 1], make_activation("relu"), bias=True)
    X = ((fmpq(1),), (fmpq(2),), (fmpq(0),), (fmpq(-1),))
    Y = tuple((fmpq(v) + c0,) for v in (3, 1, -2, 1))
    return (Problem(net, FiniteData(X, Y)),
            Point.from_arrays([[[alpha]], [[1 / alpha]]], [[fmpq(0)], [c0]]))


def gen_kink(seed):
    rng = random.Random(seed)
    return kink_minimum(fmpq(rng.randint(1, 6), rng.randint(1, 6)), random_rational(rng))


def gen_linear_saddle(seed):
    """Deep linear networks at the origin, or with one layer zero: critical points that are saddles."""
    rng = random.Random(seed)
    widths = rng.choice([[1, 1, 1], [1, 1, 1, 1], [2, 2, 1], [1, 2, 1], [2, 1, 1, 1]])
    problem, point = random_problem(seed, widths, _act("linear"), n=rng.randint(1, 4), bias=False)
    layers = [([[fmpq(0)] * len(L.W[0]) for _ in L.W], None) for L in point.layers]
    return problem, Point.from_arrays([W for W, _ in layers], [b for _, b in layers])


def gen_random_kink(seed):
    """A random one-hidden-layer relu / leaky-relu point moved onto a kink (b_k = -w_k . x_i)."""
    rng = random.Random(seed)
    widths = rng.choice([[1, 1, 1], [1, 2, 1], [2, 2, 1], [2, 1, 2]])
    problem, point = random_problem(seed, widths, _act(rng.choice(["relu", "leaky"])), n=rng.randint(1, 4))
    L = point.layers[0]
    k, i = rng.randrange(widths[1]), rng.randrange(problem.data.n)
    b = list(L.b)
    b[k] = -sum((w * x for w, x in zip(L.W[k], problem.data.X[i])), fmpq(0))
    return problem, Point.from_arrays([L.W, point.layers[1].W], [b, point.layers[1].b])


GENERATORS = [gen_random_kink, gen_random, gen_random, gen_random, gen_least_squares, gen_yun_lift, gen_fit, gen_fit,
              gen_kink, gen_linear_saddle]


def perturb(problem, point, rng):
    P = problem.network.num_params
    d = [fmpq(rng.randint(-2, 2)) for _ in range(P)]
    return point.shift(problem.network, d, fmpq(1, 2 ** rng.choice([4, 10, 20])))


def run_battery(n_points, seed0=0):
    counts = {}
    for s in range(seed0, seed0 + n_points):
        rng = random.Random(7919 * s)
        gen = GENERATORS[s % len(GENERATORS)]
        made = gen(s)
        if made is None:
            continue
        problem, point = made
        if s % 3 == 2:
            point = perturb(problem, point, rng)
        cert = verify(Candidate(problem, point), rigor="exact")
        v = check_certificate(problem, point, cert, rng)
        counts[(gen.__name__, v)] = counts.get((gen.__name__, v), 0) + 1
    return counts


def test_battery_fast():
    counts = run_battery(1000)
    verdicts = {v for _, v in counts}
    # the battery must exercise minima and refutations, not only one kind
    assert {"not_critical", "not_local_min"} <= verdicts
    assert verdicts & {"strict_local_min", "strict_modulo_symmetry"}
    assert "non_strict_local_min" in verdicts
    assert counts.get(("gen_kink", "strict_modulo_symmetry"), 0) > 0


@pytest.mark.slow
def test_battery_full():
    counts = run_battery(10_000, seed0=1000)
    assert sum(counts.values()) >= 9000


@pytest.mark.parametrize("seed", range(40))
def test_minima_pushed_off_are_refuted(seed):
    """A minimum moved by a small exact step along the (nonzero) gradient direction of a nearby point is refuted."""
    rng = random.Random(seed)
    made = [gen_least_squares, gen_yun_lift, gen_kink][seed % 3](seed)
    if made is None:
        return
    problem, point = made
    net = problem.network
    # the direction of the output bias always changes the loss to first order away from a minimum
    P = net.num_params
    e = [fmpq(0)] * P
    e[P - 1] = fmpq(1)
    moved = point.shift(net, e, fmpq(1, 2 ** rng.randint(3, 30)))
    cert = verify(Candidate(problem, moved), rigor="exact")
    assert cert.verdict in (NOT_CRITICAL, NOT_LOCAL_MIN)
    check_certificate(problem, moved, cert, rng)
