"""The exact proof path on known minima, saddles, degenerate points, dead units and kinks (exact verdicts)."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from flint import fmpq, fmpq_mat

from spurious.activations import make_activation
from spurious.arithmetic import evaluate_exact
from spurious.candidate import Candidate, load_candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.verifiers import verify
from spurious.verifiers.line_tests import line_polynomial
from spurious.linalg import inertia, quad_form
from spurious.verifiers.product_space import (OneHidden, fixed_slope_derivatives, pattern_from_pieces,
                                              product_space_test)
from spurious.certificate import (GLOBAL, INCONCLUSIVE, LOCAL_MIN, MINIMUM_VERDICTS, NON_STRICT_LOCAL_MIN, NOT_CRITICAL,
                                         NOT_GLOBAL, NOT_LOCAL_MIN, STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY, UNKNOWN)

from conftest import random_problem
from test_soundness_exact import check_certificate, gen_least_squares, kink_minimum, outputs

ROOT = Path(__file__).resolve().parents[1]
YUN = ROOT / "examples" / "yun2019-theorem1.json"
Q = fmpq


def problem(widths, act, X, Y, bias=True, wd=0):
    act = make_activation(act) if isinstance(act, str) else act
    net = Network.make(widths, act, bias=bias)
    return Problem(net, FiniteData(tuple(tuple(Q(v) for v in x) for x in X), tuple(tuple(Q(v) for v in y) for y in Y)),
                   Loss(weight_decay=Q(wd)))


def fitted(widths, act, X, Ws, bs, bias=True):
    pr = problem(widths, act, X, [[0] * widths[-1]] * len(X), bias=bias)
    pt = Point.from_arrays(Ws, bs)
    return Problem(pr.network, FiniteData(pr.data.X, outputs(pr, pt))), pt


def run(pr, pt, witness=None):
    cert = verify(Candidate(pr, pt, witness=witness), rigor="exact")
    check_certificate(pr, pt, cert, random.Random(0))
    return cert


# ---- minima --------------------------------------------------------------------------------------------------------

def test_yun_theorem1_non_strict_not_global():
    c = load_candidate(YUN)
    cert = verify(c, rigor="exact")
    assert (cert.verdict, cert.glob, cert.rigor) == (NON_STRICT_LOCAL_MIN, NOT_GLOBAL, "exact")
    assert cert.loss == Q(3, 14) and cert.witness_loss == Q(23, 112)
    assert cert.spurious and cert.proved
    assert any("normal equations" in r for r in cert.reasons)
    check_certificate(c.problem, c.point, cert, random.Random(1))
    # the product-space argument on its own: the normal equations hold exactly
    ev = evaluate_exact(c.problem, c.point)
    oh = OneHidden(c.problem, c.point)
    S, O = pattern_from_pieces(oh, ev)
    assert product_space_test(oh, S, O)[0]


def test_yun_default_path_is_exact():
    assert verify(load_candidate(YUN)).rigor == "exact"


def test_cli_verify_json():
    out = subprocess.run([sys.executable, "-m", "spurious", "verify", str(YUN), "--json"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert (obj["verdict"], obj["global"], obj["rigor"]) == ("non_strict_local_min", "not_global", "exact")
    assert obj["loss"] == "3/14" and obj["witness_loss"] == "23/112"
    assert set(obj) >= {"verdict", "global", "rigor", "loss", "witness_loss", "global_lower_bound", "radius",
                        "symmetries", "reduced_min_eigenvalue", "reasons", "descent_direction"}


def test_leaky_relu_fit_is_strict_modulo_symmetry_and_global():
    pr, pt = fitted([1, 2, 1], make_activation("leaky_relu", slope="1/10"), [[-2], [-1], [0], [1], [2], [3]],
                    [[[1], [-1]], [[2, -3]]], [[Q(1, 2), Q(1, 3)], [Q(1, 5)]])
    cert = run(pr, pt)
    assert (cert.verdict, cert.glob) == (STRICT_MODULO_SYMMETRY, GLOBAL)
    assert cert.loss == 0 and cert.reduced_min_eigenvalue > 0
    assert cert.symmetries == ("positive rescaling of hidden units (2)",)
    # agreement with the float triage on this clear case
    assert verify(Candidate(pr, pt), rigor="numerical").verdict == STRICT_MODULO_SYMMETRY


def test_quadratic_fit_is_strict_modulo_symmetry():
    pr, pt = fitted([1, 1, 1], "quadratic", [[-1], [0], [1], [2], [3]], [[[2]], [[Q(1, 3)]]], [[Q(1, 2)], [-1]])
    cert = run(pr, pt)
    assert (cert.verdict, cert.glob) == (STRICT_MODULO_SYMMETRY, GLOBAL)
    assert verify(Candidate(pr, pt), rigor="numerical").verdict == STRICT_MODULO_SYMMETRY


def test_quadratic_two_units_strict_modulo_the_output_forms_orthogonal_group():
    """Sum_j v_j (w_j.x + b_j)^2 + c: [W b] -> A [W b] with A^T diag(v) A = diag(v) (one generator for two units)
    and the two rescalings are the whole fibre at 2-2-1 (P = 9, the function space of rank-2 forms plus c has
    dimension 6): an exact fit is strict modulo those 3 symmetries."""
    X = [[1, 0], [0, 1], [1, 1], [2, -1], [-1, 3], [1, 2], [3, 1], [0, -2], [2, 2], [1, -3]]
    pr, pt = fitted([2, 2, 1], "quadratic", X, [[[1, 2], [-1, 1]], [[1, -2]]], [[Q(1, 2), Q(-1, 3)], [Q(1, 5)]])
    cert = run(pr, pt)
    assert cert.verdict == STRICT_MODULO_SYMMETRY and cert.glob == GLOBAL
    assert "O(p,q) of the output form diag(v), layer 1 (1 generator(s))" in cert.symmetries
    assert any("span has dimension 3" in r for r in cert.reasons)
    assert inertia(evaluate_exact(pr, pt).hessian).n_zero == 3


def test_quadratic_beyond_the_listed_symmetries_is_never_strict():
    """2-3-1: three units on x~ in R^3 give every 3 x 3 form, so the output bias c duplicates the form's constant
    entry -- a flat direction that is not in the symmetry list: a local minimum, strictness undecided."""
    X = [[1, 0], [0, 1], [1, 1], [2, -1], [-1, 3], [1, 2], [3, 1], [0, -2], [2, 2], [1, -3]]
    pr, pt = fitted([2, 3, 1], "quadratic", X, [[[1, 2], [-1, 1], [2, 1]], [[1, -2, 1]]],
                    [[Q(1, 2), Q(-1, 3), 1], [Q(1, 5)]])
    cert = run(pr, pt)
    assert cert.verdict == LOCAL_MIN and cert.glob == GLOBAL
    assert inertia(evaluate_exact(pr, pt).hessian).n_zero == 7  # 3 rescalings + 3 generators + the constant


def test_least_squares_strict_local_min_with_eigenvalue_bound():
    for seed in range(10):
        made = gen_least_squares(seed)
        if made is None:
            continue
        pr, pt = made
        cert = run(pr, pt)
        assert cert.verdict == STRICT_LOCAL_MIN
        # an exact least-squares fit of a linear-in-parameters model: the convex relaxation proves it global
        assert cert.glob == GLOBAL and (cert.loss == 0 or cert.global_lower_bound >= cert.loss)
        H = evaluate_exact(pr, pt).hessian
        lb = cert.reduced_min_eigenvalue
        # lb is a lower bound on the smallest eigenvalue: H - lb I is PSD (no negative direction)
        n = H.nrows()
        shifted = H - fmpq_mat([[lb if i == j else 0 for j in range(n)] for i in range(n)])
        from spurious.linalg import charpoly_inertia
        assert charpoly_inertia(shifted).n_neg == 0 and lb > 0


def test_dead_unit_non_strict():
    # unit 1 has pre-activations -1 - x < 0 on x in {0, 1, 2}: dead (with outgoing weight 5); unit 0 carries
    # the affine least-squares fit 3/2 x + 7/6 of y = (1, 3, 4)
    pr = problem([1, 2, 1], "relu", [[0], [1], [2]], [[1], [3], [4]])
    pt = Point.from_arrays([[[Q(3, 2)], [-1]], [[1, 5]]], [[Q(7, 6), -1], [0]])
    cert = run(pr, pt)
    assert cert.loss == Q(1, 18)
    assert cert.verdict == NON_STRICT_LOCAL_MIN
    assert any("dead unit" in r for r in cert.reasons)
    # without the output bias the reduced problem is strict modulo rescaling: the dead-unit argument alone decides
    pr2 = problem([1, 2, 1], "relu", [[0], [1], [2]], [[1], [3], [4]], bias=[True, False])
    cert2 = run(pr2, Point.from_arrays([[[Q(3, 2)], [-1]], [[1, 5]]], [[Q(7, 6), -1], None]))
    assert cert2.verdict == NON_STRICT_LOCAL_MIN
    assert any("strict local minimum modulo symmetry of the reduced loss" in r for r in cert2.reasons)


def test_dead_unit_with_weight_decay_only_bias_is_flat():
    pr = problem([1, 1, 1], "relu", [[1], [2]], [[1], [2]], wd=Q(1, 10))
    pt = Point.from_arrays([[[0]], [[0]]], [[-1], [Q(3, 2)]])
    cert = run(pr, pt)
    assert cert.verdict == NON_STRICT_LOCAL_MIN
    assert any("only their (unpenalised) biases are flat: 1 flat coordinate(s)" in r for r in cert.reasons)


# ---- non-minima ----------------------------------------------------------------------------------------------------

def test_deep_linear_origin_is_saddle_with_exact_direction():
    pr = problem([1, 1, 1], "linear", [[2]], [[3]], bias=False)
    pt = Point.from_arrays([[[0]], [[0]]], [None, None])
    cert = run(pr, pt)
    assert cert.verdict == NOT_LOCAL_MIN and cert.glob == NOT_GLOBAL
    H = evaluate_exact(pr, pt).hessian
    assert quad_form(H, cert.descent_direction) < 0
    assert verify(Candidate(pr, pt), rigor="numerical").verdict == NOT_LOCAL_MIN


def test_deep_linear_depth3_origin_third_order_saddle():
    pr = problem([1, 1, 1, 1], "linear", [[1]], [[1]], bias=False)
    pt = Point.from_arrays([[[0]], [[0]], [[0]]], [None, None, None])
    cert = run(pr, pt)
    assert cert.verdict == NOT_LOCAL_MIN
    assert evaluate_exact(pr, pt).hessian == fmpq_mat(3, 3)  # zero Hessian: only the cubic term decides


def test_quartic_like_degenerate_is_not_certified():
    """1-1-1 quadratic activation at 0: loss = (v w^2 - y)^2, Hessian 0, not a minimum for y != 0."""
    for y in (1, -1, Q(1, 3)):
        pr = problem([1, 1, 1], "quadratic", [[1]], [[y]], bias=False)
        pt = Point.from_arrays([[[0]], [[0]]], [None, None])
        ev = evaluate_exact(pr, pt)
        assert all(g == 0 for g in ev.gradient) and ev.hessian == fmpq_mat(2, 2)
        cert = run(pr, pt)
        assert cert.verdict == NOT_LOCAL_MIN


def test_line_polynomial_is_exact():
    pr = problem([1, 1, 1], "quadratic", [[1]], [[1]], bias=False)
    pt = Point.from_arrays([[[0]], [[0]]], [None, None])
    a = line_polynomial(pr, pt, [Q(1), Q(1)]).coeffs()
    # loss(t, t) = (t^3 - 1)^2 = 1 - 2 t^3 + t^6
    assert a == [1, 0, 0, -2, 0, 0, 1]


def test_not_critical_reports_minus_gradient():
    c = load_candidate(YUN)
    net = c.problem.network
    e = [Q(0)] * net.num_params
    e[-1] = Q(1)
    moved = c.point.shift(net, e, Q(1, 1000))
    cert = run(c.problem, moved)
    assert cert.verdict == NOT_CRITICAL
    assert any("||grad||^2" in r for r in cert.reasons)
    assert verify(Candidate(c.problem, moved), rigor="numerical").verdict == NOT_CRITICAL


def test_flat_step_off_yun_minimum_stays_minimum():
    """Moving the incoming weights of the unit with zero outgoing weight keeps a (non-strict) minimum."""
    c = load_candidate(YUN)
    net = c.problem.network
    e = [Q(0)] * net.num_params
    e[1] = Q(1)  # W1[1, 0]: unit 1 has outgoing weight 0
    moved = c.point.shift(net, e, Q(1, 64))
    cert = run(c.problem, moved)
    assert cert.verdict == NON_STRICT_LOCAL_MIN


@pytest.mark.parametrize("seed", range(30))
def test_random_points_agree_with_triage_on_clear_refutations(seed):
    pr, pt = random_problem(seed, [2, 2, 1], "quadratic", n=3)
    cert = run(pr, pt)
    tri = verify(Candidate(pr, pt), rigor="numerical")
    assert cert.verdict == NOT_CRITICAL and tri.verdict == NOT_CRITICAL


def test_weight_decay_product_space_not_used():
    c = load_candidate(YUN)
    pr = Problem(c.problem.network, c.problem.data, Loss(weight_decay=Q(1, 10)))
    cert = run(pr, c.point)
    assert cert.verdict != NON_STRICT_LOCAL_MIN or not any("normal equations Phi" in r for r in cert.reasons)


# ---- kinks ---------------------------------------------------------------------------------------------------------

def test_kink_minimum_strict_modulo_symmetry():
    pr, pt = kink_minimum()
    assert evaluate_exact(pr, pt, order=0).kinks == [(1, 0, 2)]
    cert = run(pr, pt)
    assert cert.verdict == STRICT_MODULO_SYMMETRY
    assert any("first-order test passed" in r for r in cert.reasons)


def test_kink_first_order_descent():
    # leaky ReLU with w = 0: the sample sits on the kink; moving w one way helps to first order
    pr = problem([1, 1, 1], make_activation("leaky_relu", slope="1/10"), [[-8]], [[Q(-7, 5)]], bias=False)
    pt = Point.from_arrays([[[0]], [[Q(1, 3)]]], [None, None])
    cert = run(pr, pt)
    assert cert.verdict == NOT_LOCAL_MIN and cert.glob == NOT_GLOBAL


def test_kink_with_flat_rays():
    # residuals (1, -2, 1, 0) at x = (1, 2, 3, 0): sum r = sum r x = 0 and r = 0 at the kink sample x = 0, so both
    # rays of the kink are flat: deciding needs copositivity (or a negative direction on a ray)
    pr = problem([1, 1, 1], "relu", [[1], [2], [3], [0]], [[0], [4], [2], [0]])
    pt = Point.from_arrays([[[1]], [[1]]], [[0], [0]])
    cert = run(pr, pt)
    assert cert.verdict in (INCONCLUSIVE, NOT_LOCAL_MIN)
    assert any("flat extreme ray" in r for r in cert.reasons)
    # zero loss with a sample on the kink: a global minimum; strictness at the kink is not decided
    pr = problem([1, 1, 1], "relu", [[0], [1], [2]], [[0], [1], [2]])
    cert = run(pr, pt)
    assert (cert.verdict, cert.glob) == (LOCAL_MIN, GLOBAL)


def test_kink_second_order_descent():
    # the kink minimum with the sign of the data flipped on the active side is no longer a minimum somewhere:
    # whatever the verdict, it must be sound (checked) and never a minimum verdict when refuted by probes
    pr, pt = kink_minimum()
    X = pr.data.X
    Y = tuple((y[0] * -1,) for y in pr.data.Y)
    pr2 = Problem(pr.network, FiniteData(X, Y))
    cert = run(pr2, pt)
    assert cert.verdict in (NOT_LOCAL_MIN, NOT_CRITICAL)


def test_deep_network_on_kink_first_order():
    # depth 3 with a kink in layer 1: dL/dW3 exists (linear output layer) and is 1 != 0 (issue 13): not critical
    pr = problem([1, 1, 1, 1], "relu", [[1], [2]], [[1], [0]])
    pt = Point.from_arrays([[[1]], [[1]], [[1]]], [[-1], [0], [0]])
    cert = run(pr, pt)
    assert cert.verdict == NOT_CRITICAL
    assert any("dL/dW3[0,0] = 1" in r and "not a critical point" in r for r in cert.reasons)
    # labels = outputs: every existing partial derivative is 0 and no one-sided derivative is negative; the deep
    # second-order kink analysis is not implemented, but the loss is 0: a global, hence local, minimum
    pr = problem([1, 1, 1, 1], "relu", [[1], [2]], [[0], [1]])
    cert = run(pr, pt)
    assert (cert.verdict, cert.glob) == (LOCAL_MIN, GLOBAL)
    assert not any("not a critical point" in r for r in cert.reasons)


def test_fixed_slope_derivatives_match_evaluator():
    for seed in range(40):
        pr, pt = random_problem(seed, [2, 3, 2], make_activation("leaky_relu", slope="1/7"), n=4,
                                weight_decay=Q(1, 8) if seed % 2 else 0)
        ev = evaluate_exact(pr, pt)
        if ev.kinks:
            continue
        oh = OneHidden(pr, pt)
        S, O = pattern_from_pieces(oh, ev)
        assert fixed_slope_derivatives(oh, S, O) == (ev.loss, ev.gradient, ev.hessian)


def test_certificate_json_roundtrip():
    cert = verify(load_candidate(YUN), rigor="exact")
    obj = cert.to_json()
    json.dumps(obj)
    from spurious.certificate import Certificate
    back = Certificate.from_json(obj)
    assert back.verdict == cert.verdict and back.glob == cert.glob and back.reasons == cert.reasons


# large P (above ENCLOSURE_MIN_P: exact gradient + rigorous float Hessian enclosure) ------------------------------
def _large_one_hidden(d0=10, k=40, n=60, seed=3):
    """Leaky-ReLU d0-k-1 (P = k (d0 + 2) + 1 = 481) at W2 = 0: the residual r is exactly orthogonal to 1 and to every
    hidden unit's outputs, so the point is critical, and the bilinear term K[W2[k], W1[k, :]] = 2c sum_i r_i
    sigma'_k(x_i) x_i makes H indefinite (a zero W1 block next to a nonzero cross block)."""
    from spurious.verifiers.exact import ENCLOSURE_MIN_P
    rng = random.Random(seed)
    rq = lambda: Q(rng.randint(-99, 99), rng.randint(1, 20))  # noqa: E731
    act = make_activation("leaky_relu", slope="1/10")
    X = [[rq() for _ in range(d0)] for _ in range(n)]
    W1 = [[rq() for _ in range(d0)] for _ in range(k)]
    b1 = [rq() for _ in range(k)]
    from spurious.arithmetic.contexts import EXACT
    Hrows = [[act.evaluate(EXACT, sum((w * v for w, v in zip(row, x)), Q(0)) + b)[0] for x in X]
             for row, b in zip(W1, b1)]
    N = fmpq_mat(Hrows + [[Q(1)] * n])
    R, rk = N.rref()
    pivots = [next(j for j in range(n) if R[i, j] != 0) for i in range(rk)]
    free = next(j for j in range(n) if j not in pivots)
    r = [Q(0)] * n  # a kernel vector of N: free coordinate 1, pivots solved
    r[free] = Q(1)
    for i, p in enumerate(pivots):
        r[p] = -R[i, free]  # rref: pivot entries are 1
    r = [v / 1024 for v in r]
    b2 = Q(1, 3)
    Y = [(b2 - v,) for v in r]
    pr = Problem(Network.make([d0, k, 1], act), FiniteData(tuple(tuple(x) for x in X), tuple(Y)))
    pt = Point.from_arrays([W1, [[Q(0)] * k]], [b1, [b2]])
    assert pr.network.num_params > ENCLOSURE_MIN_P
    return pr, pt


@pytest.mark.slow  # ~15 s under load: exact fallback at P = 481
def test_large_p_saddle_is_never_certified():
    from spurious.verifiers.fast_definite import prove_pd_modulo_tangents_enclosure
    from spurious.symmetries import symmetry_tangents
    pr, pt = _large_one_hidden()
    ev = evaluate_exact(pr, pt, order=1)
    assert not ev.kinks and all(g == 0 for g in ev.gradient)  # an exact critical point
    rows = [list(t.vector) for t in symmetry_tangents(pr.network, pt)]
    ok, why = prove_pd_modulo_tangents_enclosure(pr, pt, rows)
    assert not ok, why
    cert = run(pr, pt)
    assert cert.verdict == NOT_LOCAL_MIN, cert.reasons
    d = cert.descent_direction
    assert d is not None and quad_form(evaluate_exact(pr, pt).hessian, d) < 0


@pytest.mark.slow  # minutes: exact evaluation and descent steps at n = P = 481
def test_large_p_minimum_certified_and_perturbed_label_not_critical():
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_verify_exact import setup
    pr, pt = setup(10, 40, seed=0)  # P = 481 = n, zero loss, H positive definite modulo the 40 rescalings
    assert not evaluate_exact(pr, pt, order=0).kinks
    cert = run(pr, pt)
    assert cert.verdict == STRICT_MODULO_SYMMETRY and any("enclosure" in r for r in cert.reasons), cert.reasons
    Y = list(pr.data.Y)
    Y[7] = (Y[7][0] + Q(1, 2**40),)  # off criticality by 2^-40 in one label
    pr2 = Problem(pr.network, FiniteData(pr.data.X, tuple(Y)))
    cert2 = run(pr2, pt)
    assert cert2.verdict == NOT_CRITICAL, cert2.reasons
