"""Convex relaxations: closed forms, SDP and Pilanci-Ergen bounds against brute-force local search, the YSJ18 test,
rigour helpers, apply_bound and the CLI."""

import json
from fractions import Fraction as Fr

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from flint import fmpq, fmpq_mat

from conftest import random_problem
from spurious.activations import make_activation
from spurious.arithmetic import FloatModel, evaluate_exact
from spurious.candidate import Candidate
from spurious.network import Layer, Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.rationals import fmpq_to_float, to_fmpq
from spurious.verifiers.relaxations import apply_bound, global_bound, yun_test
from spurious.verifiers.relaxations.relu_weight_decay import dual_bound_1d
from spurious.linalg import is_positive_definite
from spurious.verifiers.relaxations.rigor import eigen_sum_top, min_eig_lower
from spurious.certificate import GLOBAL, NOT_GLOBAL, STRICT_LOCAL_MIN, UNKNOWN, Certificate


def best_local(problem, point, tries=8, seed=0, iters=300):
    """Best loss over L-BFGS runs from random starts (float evidence: the brute-force side of the comparison)."""
    torch.set_num_threads(1)
    model = FloatModel(problem, point)
    rng = np.random.default_rng(seed)
    best = np.inf
    for _ in range(tries):
        end = model.lbfgs(rng.standard_normal(problem.network.num_params), max_iter=iters, tolerance_grad=1e-12)
        best = min(best, float(model.losses(end)[0]))
    return best


F = fmpq_to_float
T = lambda A: tuple(tuple(to_fmpq(v) for v in r) for r in A)  # noqa: E731


# --- deep linear -----------------------------------------------------------------------------------------------------

SLOW = pytest.mark.slow


@pytest.mark.parametrize("widths,bias", [((3, 1, 2), True), ((3, 1, 2), False),
                                         pytest.param((2, 2, 1, 3), False, marks=SLOW),
                                         ((3, 2, 3), [False, True]), ((3, 1, 3), [True, False]),
                                         pytest.param((3, 2, 1, 2), [True, False, False], marks=SLOW),
                                         ((2, 3), True)])
def test_deep_linear_closed_form_matches_brute_force(widths, bias):
    pb, pt = random_problem(1, widths, "linear", bias=bias, n=6)
    b = global_bound(pb)
    assert b.rigor in ("exact", "interval") and b.global_upper_bound is not None
    assert b.global_lower_bound <= b.global_upper_bound
    best = best_local(pb, pt, tries=6)
    assert abs(F(b.global_lower_bound) - best) < 1e-9 * max(1, best)
    assert F(b.global_lower_bound) <= best + 1e-12 * max(1, best)


def test_sum_reduction_scales_every_bound():
    """reduction = sum multiplies the data term by n: closed form exactly, Pilanci-Ergen bound against search."""
    pb, _ = random_problem(2, (2, 1, 2), "linear", bias=True, n=5)
    pbs, _ = random_problem(2, (2, 1, 2), "linear", bias=True, n=5, reduction="sum")
    a, b = global_bound(pb), global_bound(pbs)
    assert b.global_lower_bound == 5 * a.global_lower_bound or (
        b.rigor == "interval" and abs(F(b.global_lower_bound) - 5 * F(a.global_lower_bound)) < 1e-9)
    pr, pt = random_problem(1, (1, 6, 1), "relu", bias=True, n=4, weight_decay=fmpq(1, 10), reduction="sum")
    br = global_bound(pr)
    assert br.rigor == "exact" and F(br.global_lower_bound) <= best_local(pr, pt, tries=6)
    assert br.global_upper_bound - br.global_lower_bound < fmpq(1, 10**5)


def _ysj_problem():
    """X = [I | I], Y = Q [D + E | D - E]: Sigma = 2 Q D^2 Q^T with rational eigenvectors Q e_i, eigenvalues 18, 8, 2."""
    Q = np.array([[Fr(3, 5), Fr(-4, 5), 0], [Fr(4, 5), Fr(3, 5), 0], [0, 0, 1]], dtype=object)
    D = np.diag([Fr(3), Fr(2), Fr(1)]).astype(object)
    E = np.array([[Fr(1), 0, Fr(1, 2)], [0, Fr(-1), 0], [Fr(1, 3), 0, Fr(1)]], dtype=object)
    X = np.hstack([np.eye(3, dtype=int).astype(object)] * 2)
    Y = Q.dot(np.hstack([D + E, D - E]))
    return Q, D, X, Y


def _ysj_point(Q, D, S, widths):
    """Critical point with product Q_S Q_S^T Y X^T (X X^T)^{-1} = Q_S D_S, factored through the widths."""
    k = min(widths[1:-1])
    W1 = np.zeros((widths[1], 3), dtype=object)
    for t, s in enumerate(S):
        W1[t] = D[s]
    Ws = [W1]
    for l in range(2, len(widths) - 1):
        M = np.zeros((widths[l], widths[l - 1]), dtype=object)
        for t in range(k):
            M[t, t] = 1
        Ws.append(M)
    WL = np.zeros((3, widths[-2]), dtype=object)
    for t, s in enumerate(S):
        WL[:, t] = Q[:, s]
    return Point.from_arrays(Ws + [WL], [None] * len(Ws + [WL]))


@pytest.mark.parametrize("widths", [(3, 2, 3), (3, 2, 4, 3)])
def test_ysj18_on_constructed_global_minima_and_saddles(widths):
    Q, D, X, Y = _ysj_problem()
    net = Network.make(widths, make_activation("linear"), bias=False)
    pb = Problem(net, FiniteData(T(X.T), T(Y.T)), Loss())
    b = global_bound(pb)
    # L* = (1/6)(||Y - Yhat||^2 + discarded eigenvalue 2) = (1/6)(2 * 121/36 + 2) = 157/108
    assert b.global_value == fmpq(157, 108) and b.rigor == "exact"
    expected = {(0, 1): ("global", fmpq(157, 108)), (1, 0): ("global", fmpq(157, 108)),
                (0, 2): ("saddle", fmpq(265, 108)), (1, 2): ("saddle", fmpq(445, 108)),
                (0,): ("saddle", fmpq(301, 108)), (): ("saddle", fmpq(625, 108))}
    for S, (status, loss) in expected.items():
        r = yun_test(pb, _ysj_point(Q, D, S, widths))
        assert (r.status, r.loss) == (status, loss), S
    pt = _ysj_point(Q, D, (0, 1), widths)
    near = pt.shift(net, [1] + [0] * (net.num_params - 1), fmpq(1, 10**6))
    assert yun_test(pb, near).status == "not_critical"


def test_ysj18_theorem_2_1_rank_test():
    """k = min(dx, dy): global iff the product has rank k (Thm 2.1); the zero point is a saddle."""
    Q, D, X, Y = _ysj_problem()
    Y2 = Y[:2]
    net = Network.make((3, 3, 2), make_activation("linear"), bias=False)
    pb = Problem(net, FiniteData(T(X.T), T(Y2.T)), Loss())
    R = Y2.dot(X.T) / 2  # least-squares solution Y X^T (X X^T)^{-1}
    glob = Point.from_arrays([np.eye(3, dtype=int).astype(object), R], [None, None])
    zero = Point.from_arrays([np.zeros((3, 3), dtype=int), np.zeros((2, 3), dtype=int)], [None, None])
    assert yun_test(pb, glob).status == "global"
    assert yun_test(pb, zero).status == "saddle"
    assert evaluate_exact(pb, glob, order=0).loss == global_bound(pb).global_value


def test_deep_linear_irrational_value_is_an_interval_enclosure():
    pb, pt = random_problem(4, (3, 1, 2), "linear", bias=False, n=5)
    b = global_bound(pb)
    assert b.rigor == "interval" and b.global_value is None
    assert 0 < b.global_upper_bound - b.global_lower_bound < fmpq(1, 10**12)
    best = best_local(pb, pt, tries=8)
    assert F(b.global_lower_bound) - 1e-12 <= best <= F(b.global_upper_bound) + 1e-9


# --- rigour helpers ----------------------------------------------------------------------------------------------

def test_eigen_sum_top_and_min_eig():
    A = fmpq_mat([[2, 1, 0], [1, 3, 1], [0, 1, 4]])
    ev = np.linalg.eigvalsh(np.array([[2, 1, 0], [1, 3, 1], [0, 1, 4]], float))
    for r in range(4):
        lo, hi, exact, _ = eigen_sum_top(A, r)
        s = float(sum(sorted(ev)[::-1][:r]))
        assert F(lo) <= s + 1e-12 and s - 1e-12 <= F(hi)
    lo, hi, exact, gap = eigen_sum_top(fmpq_mat([[2, 0], [0, 2]]), 1)
    assert exact == 2 and not gap  # a double eigenvalue split by r: the top-r space is not unique
    s = min_eig_lower(A)
    assert F(s) <= ev[0] and ev[0] - F(s) < 1e-6
    assert not is_positive_definite(fmpq_mat([[1, 1], [1, 1]]))  # PSD but singular
    assert not is_positive_definite(fmpq_mat([[1, 2], [2, 1]]))
    assert is_positive_definite(fmpq_mat([[1, fmpq(1, 2)], [fmpq(1, 2), 1]]))


# --- quadratic activation ----------------------------------------------------------------------------------------

def test_quadratic_free_signs_exact_above_width_threshold():
    pb, pt = random_problem(3, (2, 3, 1), "quadratic", bias=True, n=8)
    b = global_bound(pb)
    assert b.rigor == "exact" and b.global_value is not None
    assert evaluate_exact(pb, b.witness, order=0).loss == b.global_value
    best = best_local(pb, pt, tries=10)
    assert abs(best - F(b.global_value)) < 1e-8 and F(b.global_value) <= best + 1e-12
    cand = Candidate(pb, b.witness)
    cert = Certificate(STRICT_LOCAL_MIN, "exact", loss=b.global_value)
    cert = apply_bound(cand, cert, bound=b)
    assert cert.glob == GLOBAL


def test_quadratic_below_threshold_is_a_lower_bound():
    pb, pt = random_problem(3, (3, 2, 1), "quadratic", bias=False, n=10)
    b = global_bound(pb)
    assert b.rigor == "exact" and b.global_value is None
    best = best_local(pb, pt, tries=10)
    assert F(b.global_lower_bound) <= best + 1e-12
    assert best - F(b.global_lower_bound) > 1e-3  # genuinely a relaxation here


def _fixed_output(seed, widths, bias, n, v):
    pb, pt = random_problem(seed, widths, "quadratic", bias=bias, n=n, trainable=[True, False])
    pt = Point([pt.layers[0], Layer((tuple(fmpq(x) for x in v),), pt.layers[1].b)])
    return pb, pt


@pytest.mark.parametrize("widths,bias,v,exact_regime", [((2, 3, 1), True, (1, 2, 3), True),
                                                         ((2, 2, 1), False, (1, 1), True),
                                                         ((3, 2, 1), False, (1, 2), False),
                                                         ((2, 2, 1), True, (1, -1), False)])
def test_quadratic_sdp_fixed_output_weights(widths, bias, v, exact_regime):
    pb, pt = _fixed_output(3, widths, bias, 8, v)
    b = global_bound(Candidate(pb, pt))
    assert b.rigor == "exact" and "SDP" in b.method
    best = min(best_local(pb, pt, tries=10), F(b.global_upper_bound))
    assert F(b.global_lower_bound) <= best
    assert F(b.global_lower_bound) <= F(b.global_upper_bound)
    if exact_regime:
        assert best - F(b.global_lower_bound) < 1e-6 * max(1, best)


def test_quadratic_fixed_multi_output_with_output_bias_uses_shifted_labels():
    """Two outputs, fixed output layer with a bias and no first-layer bias: the least-squares bound must subtract
    the fixed output bias (a bound on the unshifted labels could exceed the true minimum)."""
    pb, pt = random_problem(7, (2, 2, 2), "quadratic", bias=True, n=7, trainable=[True, False])
    pb = Problem(Network.make((2, 2, 2), make_activation("quadratic"), bias=[False, True], trainable=[True, False]),
                 pb.data, pb.loss)
    pt = Point([Layer(pt.layers[0].W, None), Layer(pt.layers[1].W, (fmpq(7), fmpq(-5)))])
    b = global_bound(Candidate(pb, pt))
    assert b.rigor == "exact" and b.global_value is None
    assert F(b.global_lower_bound) <= best_local(pb, pt, tries=6)


def test_quadratic_sdp_with_weight_decay_is_below_local_search():
    pb, pt = _fixed_output(2, (2, 3, 1), True, 8, (1, 1, 2))
    pb = Problem(pb.network, pb.data, Loss(weight_decay=fmpq(1, 5)))
    b = global_bound(Candidate(pb, pt))
    assert b.rigor == "exact"
    assert F(b.global_lower_bound) <= best_local(pb, pt, tries=10)


# --- ReLU with weight decay (Pilanci-Ergen) --------------------------------------------------------------------------

@pytest.mark.parametrize("seed,widths,n,wd", [(1, (1, 8, 1), 5, "1/10"),
                                              pytest.param(3, (1, 10, 1), 6, "1/20", marks=SLOW),
                                              (2, (1, 4, 1), 5, "1/10")])
def test_pilanci_ergen_matches_local_search(seed, widths, n, wd):
    pb, pt = random_problem(seed, widths, "relu", bias=True, n=n, weight_decay=fmpq(wd))
    b = global_bound(pb)
    assert b.rigor == "exact" and "dual certified" in b.method
    local = best_local(pb, pt, tries=10, seed=seed)
    best = min(local, F(b.global_upper_bound))
    assert F(b.global_lower_bound) <= best
    assert b.global_lower_bound <= b.global_upper_bound == evaluate_exact(pb, b.witness, order=0).loss
    if widths[1] >= 8:  # wide enough for the recovered network: the value is pinned down to solver accuracy
        assert b.global_upper_bound - b.global_lower_bound < fmpq(1, 10**6)
        assert local - F(b.global_lower_bound) > -1e-9


def test_pilanci_ergen_dual_repair_is_sound_for_any_dual_guess():
    """Random (bad) dual vectors must still give bounds below every network's loss: the repair is the proof."""
    pb, pt = random_problem(0, (1, 6, 1), "relu", bias=True, n=5, weight_decay=fmpq(1, 10))
    best = min(best_local(pb, pt, tries=10), F(global_bound(pb).global_upper_bound))
    rng = np.random.default_rng(0)
    for _ in range(20):
        z = [to_fmpq(float(x)) for x in rng.standard_normal(5) * rng.uniform(0.01, 10)]
        lb, _ = dual_bound_1d(pb, z)
        assert F(lb) <= best


@pytest.mark.parametrize("seed,widths,bias,n", [(0, (2, 8, 1), True, 6), (1, (2, 6, 1), False, 6),
                                                 pytest.param(2, (2, 10, 1), [True, False], 7, marks=SLOW)])
def test_pilanci_ergen_2d_exact_cells_certified(seed, widths, bias, n):
    pb, pt = random_problem(seed, widths, "relu", bias=bias, n=n, weight_decay=fmpq(1, 10))
    b = global_bound(pb)
    assert b.rigor == "exact" and "cells, dual certified" in b.method
    assert b.global_lower_bound <= b.global_upper_bound == evaluate_exact(pb, b.witness, order=0).loss
    assert b.global_upper_bound - b.global_lower_bound < fmpq(1, 10**5)
    assert F(b.global_lower_bound) <= best_local(pb, pt, tries=6, seed=seed)


def test_cells_are_complete_including_degenerate_data():
    """Every pattern hit by random gates is an enumerated cell; counts match 2 sum_{k<3} C(n-1, k) in general
    position; collinear and repeated points (degenerate arrangements) still give a complete list."""
    from math import comb

    from spurious.verifiers.relaxations.relu_cells import cells

    rng = np.random.default_rng(0)
    gen = [[fmpq(int(a)), fmpq(int(b)), fmpq(1)] for a, b in rng.integers(-20, 20, size=(7, 2))]
    degen = [[fmpq(t), fmpq(2 * t), fmpq(1)] for t in range(4)] + [[fmpq(1), fmpq(0), fmpq(1)]] * 2 + \
            [[fmpq(0), fmpq(0), fmpq(1)], [fmpq(3), fmpq(-1), fmpq(1)]]
    nob = [[fmpq(int(a)), fmpq(int(b))] for a, b in rng.integers(-5, 5, size=(6, 2))] + [[fmpq(2), fmpq(4)]] * 2
    for xs in (gen, degen, nob):
        cs = set(cells(xs))
        X = np.array([[F(v) for v in r] for r in xs])
        for g in rng.standard_normal((20000, len(xs[0]))):
            assert tuple(int(v >= 0) for v in X @ g) in cs
    assert len(cells(gen)) == 2 * sum(comb(6, k) for k in range(3))


def test_pilanci_ergen_without_biases_and_sampled_patterns():
    pb, pt = random_problem(5, (1, 4, 1), "relu", bias=False, n=5, weight_decay=fmpq(1, 10))
    b = global_bound(pb)
    best = best_local(pb, pt, tries=10)
    assert F(b.global_lower_bound) <= best and abs(F(b.global_upper_bound) - best) < 1e-6
    pb2, pt2 = random_problem(5, (3, 5, 1), "relu", bias=True, n=6, weight_decay=fmpq(1, 20))
    b2 = global_bound(pb2)
    assert b2.global_lower_bound == 0 and "sampled" in b2.method  # lifted dimension 4: no lower bound
    assert b2.global_upper_bound == evaluate_exact(pb2, b2.witness, order=0).loss


# --- apply_bound ---------------------------------------------------------------------------------------------------

def test_apply_bound_decides_global_and_not_global_deep_linear():
    Q, D, X, Y = _ysj_problem()
    net = Network.make((3, 2, 3), make_activation("linear"), bias=False)
    pb = Problem(net, FiniteData(T(X.T), T(Y.T)), Loss())
    glob = Candidate(pb, _ysj_point(Q, D, (0, 1), (3, 2, 3)))
    cert = Certificate(STRICT_LOCAL_MIN, "exact", loss=fmpq(157, 108))
    cert = apply_bound(glob, cert)
    assert cert.glob == GLOBAL and cert.global_lower_bound == fmpq(157, 108)
    sad = Candidate(pb, _ysj_point(Q, D, (0, 2), (3, 2, 3)))
    cert = Certificate(STRICT_LOCAL_MIN, "exact", loss=fmpq(265, 108))
    cert = apply_bound(sad, cert)
    assert cert.glob == NOT_GLOBAL
    cert = Certificate(STRICT_LOCAL_MIN, "numerical", loss=265 / 108)  # floats decide nothing
    cert = apply_bound(sad, cert)
    assert cert.glob == UNKNOWN
    cert = Certificate(STRICT_LOCAL_MIN, "exact", loss=fmpq(157, 108), glob=NOT_GLOBAL)  # contradiction
    cert = apply_bound(glob, cert)
    assert cert.glob == UNKNOWN and any("INCONSISTENT" in r for r in cert.reasons)


def test_global_relu_candidate_is_never_reported_not_global():
    """A recovered global solution as the candidate: the upper bound is its own loss, so never NOT_GLOBAL."""
    pb, _ = random_problem(1, (1, 8, 1), "relu", bias=True, n=5, weight_decay=fmpq(1, 10))
    b = global_bound(pb)
    cand = Candidate(pb, b.witness)
    loss = evaluate_exact(pb, b.witness, order=0).loss
    cert = Certificate(STRICT_LOCAL_MIN, "exact", loss=loss)
    cert = apply_bound(cand, cert, bound=b)
    assert cert.glob != NOT_GLOBAL


# --- CLI -----------------------------------------------------------------------------------------------------------

def test_cli_bound_json(tmp_path):
    from spurious.cli import _register, cli

    _register()
    Q, D, X, Y = _ysj_problem()
    net = Network.make((3, 2, 3), make_activation("linear"), bias=False)
    pb = Problem(net, FiniteData(T(X.T), T(Y.T)), Loss())
    path = tmp_path / "c.json"
    Candidate(pb, _ysj_point(Q, D, (0, 2), (3, 2, 3))).save(str(path))
    res = CliRunner().invoke(cli, ["bound", str(path), "--json", "--solver", "scs"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["global_lower_bound"] == "157/108" == out["global_value"] and out["rigor"] == "exact"
    assert "closed form" in out["method"]
    res = CliRunner().invoke(cli, ["bound", str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "error:" in res.output


def test_ysj18_with_scaled_linear_activation():
    """sigma(z) = 2z: the activation factor enters the end-to-end product (else the test would misjudge)."""
    Q, D, X, Y = _ysj_problem()
    net = Network.make((3, 2, 3), make_activation("polynomial", coefficients=[0, 2]), bias=False)
    pb = Problem(net, FiniteData(T(X.T), T(Y.T)), Loss())
    for S, status in (((0, 1), "global"), ((0, 2), "saddle")):
        p = _ysj_point(Q, D, S, (3, 2, 3))
        p = Point([Layer(tuple(tuple(x / 2 for x in r) for r in p.layers[0].W), None), p.layers[1]])
        assert yun_test(pb, p).status == status


@pytest.mark.parametrize("X", [[(1,), (1,), (2,), (2,), (-1,), (0,)],
                               [(1, 1), (1, 1), (2, 2), (3, 3), (0, 1), (0, 0)]])
def test_pilanci_ergen_degenerate_data(X):
    """Repeated and collinear inputs (and x = 0): the certified bound stays below every point found."""
    pb, pt = random_problem(3, (len(X[0]), 6, 1), "relu", bias=True, n=6, weight_decay=fmpq(1, 10))
    pb = Problem(pb.network, FiniteData(T(X), pb.data.Y), pb.loss)
    b = global_bound(pb)
    assert b.rigor == "exact" and "dual certified" in b.method
    assert b.global_lower_bound <= b.global_upper_bound < b.global_lower_bound + fmpq(1, 10**5)
    assert F(b.global_lower_bound) <= best_local(pb, pt, tries=6)
