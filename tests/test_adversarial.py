"""Adversarial soundness review: crafted candidates that try to make a verifier issue a false certificate.

Every test decides the truth independently (exact losses at exact probe points, arb balls at high precision, or a
hand argument in the docstring) and asserts only what the mathematics allows: a minimum verdict must survive the
probes, "strict" must see strictly larger probes off the orbit, a refutation must have a direction that descends.
"""

import random

import pytest
from flint import fmpq

from spurious.activations import make_activation
from spurious.arithmetic import evaluate_exact
from spurious.candidate import Candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, GaussianData, Loss, Problem
from spurious.verifiers import verify
from spurious.verifiers.line_tests import kernel_line_test
from spurious.verifiers.one_sided import directional_derivative, first_order_at_kinks
from spurious.verifiers.second_order import negative_curvature_certificate
from spurious.certificate import (GLOBAL, LOCAL_MIN, MINIMUM_VERDICTS, NOT_CRITICAL, NOT_GLOBAL,
                                         NOT_LOCAL_MIN, REFUTED_VERDICTS, STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)

Q = fmpq
STEPS = [Q(1, 2 ** k) for k in (7, 12, 20)]  # local probes: below every margin used here


def prob(widths, act, X, Y, bias=True, wd=0, trainable=True, reduction="mean"):
    act = make_activation(**act) if isinstance(act, dict) else (make_activation(act) if isinstance(act, str)
                                                                 else act)
    net = Network.make(widths, act, bias=bias, trainable=trainable)
    data = FiniteData(tuple(tuple(Q(v) for v in x) for x in X), tuple(tuple(Q(v) for v in y) for y in Y))
    return Problem(net, data, Loss(reduction=reduction, weight_decay=Q(wd)))


def pt(Ws, bs):
    return Point.from_arrays([[[Q(v) for v in row] for row in W] for W in Ws],
                             [None if b is None else [Q(v) for v in b] for b in bs])


def exact_loss(problem, point):
    return evaluate_exact(problem, point, order=0).loss


def probe_directions(P, rng, count=40):
    dirs = [[Q(1) if q == c else Q(0) for q in range(P)] for c in range(P)]
    for _ in range(count):
        d = [Q(rng.randint(-3, 3)) for _ in range(P)]
        if any(x != 0 for x in d):
            dirs.append(d)
    return dirs


def lowest_exact_probe(problem, point, seed=0, count=40):
    """Min over exact probes point +- t d of loss - loss(point) (< 0 refutes a minimum)."""
    net = problem.network
    base = exact_loss(problem, point)
    low = None
    for d in probe_directions(net.num_params, random.Random(seed), count):
        for t in STEPS:
            for s in (1, -1):
                diff = exact_loss(problem, point.shift(net, d, s * t)) - base
                low = diff if low is None or diff < low else low
    return low


def assert_strict_probes(problem, point, seed=0):
    """Strict (modulo symmetry): along every probe line off the span of the symmetry tangents the loss is strictly
    larger at small steps (a line not tangent to the orbit meets it only at t = 0 nearby)."""
    from spurious.linalg import rank
    from spurious.verifiers.symmetry import symmetry_tangents
    net = problem.network
    T = [list(t.vector) for t in symmetry_tangents(net, point, problem.loss.weight_decay)]
    rT = rank(T) if T else 0
    base = exact_loss(problem, point)
    for d in probe_directions(net.num_params, random.Random(seed), 30):
        if T and rank(T + [d]) == rT:
            continue
        for t in STEPS:
            for s in (1, -1):
                assert exact_loss(problem, point.shift(net, d, s * t)) > base, "strict verdict, flat probe line"


def assert_sound_exact(problem, point, cert, seed=0):
    """The mathematics behind an exact-path verdict, checked by exact probes (module docstring)."""
    net = problem.network
    base = exact_loss(problem, point)
    if cert.verdict in MINIMUM_VERDICTS:
        low = lowest_exact_probe(problem, point, seed)
        assert low >= 0, f"{cert.verdict} refuted by an exact probe ({low} below)"
    if cert.verdict in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY):
        assert_strict_probes(problem, point, seed)
    if cert.verdict in (NOT_CRITICAL, NOT_LOCAL_MIN) and cert.rigor == "exact":
        d = [Q(x) for x in cert.descent_direction]
        t = Q(1)
        for _ in range(200):
            if exact_loss(problem, point.shift(net, d, t)) < base:
                break
            t /= 2
        else:
            pytest.fail("the reported descent direction does not descend")
    if cert.glob == GLOBAL:
        assert cert.verdict in MINIMUM_VERDICTS
    return cert.verdict


# ---- 1. kinks and "dead" units that are not dead ------------------------------------------------------------------

def test_unit_dead_except_one_sample_on_the_kink():
    """Unit 0 has z = 0 at x = 1 and z < 0 at x = -1: it looks dead but raising its bias fits y(1) = 1 better
    (output 1/2 there): not a local minimum."""
    p = prob([1, 1, 1], "relu", [[1], [-1]], [[1], [0]])
    x = pt([[[1]], [[1]]], [[-1], [Q(1, 2)]])
    cert = verify(Candidate(p, x))
    assert cert.verdict not in MINIMUM_VERDICTS
    assert_sound_exact(p, x, cert)
    y = x.shift(p.network, [Q(0), Q(1), Q(0), Q(0)], Q(1, 100))  # raise b_1: the loss drops
    assert exact_loss(p, y) < exact_loss(p, x)


def test_dead_unit_on_kink_with_negative_outgoing_weight_is_a_minimum_only_if_probes_agree():
    """Same unit, now pushing z > 0 at x = 1 would move the output the wrong way (v = -1): probes decide."""
    p = prob([1, 1, 1], "relu", [[1], [-1]], [[1], [0]])
    x = pt([[[1]], [[-1]]], [[-1], [Q(1, 2)]])
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert)


def test_kink_with_duplicate_samples():
    """Duplicated samples on a kink: the general-position premise of the kink test fails (inconclusive or a sound
    verdict)."""
    p = prob([1, 2, 1], "relu", [[1], [1], [-1], [2]], [[1], [1], [0], [3]])
    x = pt([[[1], [1]], [[1, 1]]], [[-1, 0], [0]])
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert)


def test_kink_zero_input_sample_without_bias():
    """x = 0 without biases: the pre-activation is 0 for every parameter value (no real kink)."""
    p = prob([1, 1, 1], "relu", [[0], [1], [2]], [[0], [1], [2]], bias=False)
    x = pt([[[1]], [[1]]], [None, None])
    cert = verify(Candidate(p, x))
    assert cert.verdict in MINIMUM_VERDICTS and cert.glob == GLOBAL  # loss 0
    assert exact_loss(p, x) == 0


@pytest.mark.parametrize("slopes, bps, icpt", [((0, 1, 0), (0, 1), 0), ((1, 0, 1), (-1, 1), 2),
                                                 ((2, -1, 2), (0, 1), Q(1, 3))])
def test_multi_piece_activation_on_each_breakpoint(slopes, bps, icpt):
    """Several pieces, equal slopes on different pieces, nonzero intercept; a pre-activation exactly on each
    breakpoint and the output bias at its least-squares value."""
    act = {"name": "piecewise_linear", "breakpoints": list(bps), "slopes": list(slopes), "intercept": icpt}
    X, Y = [[0], [1], [2], [-1]], [[1], [0], [2], [1]]
    for b in (Q(bps[0]), Q(bps[-1]) - 2):
        p = prob([1, 1, 1], act, X, Y)
        # choose c = mean(y - v sigma(z)) exactly: critical in c
        act_o = p.network.activations[0]
        from spurious.arithmetic.contexts import EXACT
        h = [act_o.evaluate(EXACT, Q(x_[0]) + b)[0] for x_ in X]
        c = sum((Q(y_[0]) - hv for y_, hv in zip(Y, h)), Q(0)) / len(X)
        x = pt([[[1]], [[1]]], [[b], [c]])
        cert = verify(Candidate(p, x))
        assert_sound_exact(p, x, cert)


def test_two_dead_pieces_with_different_constants():
    """slopes (0, 1, 0): unit on the left flat piece for one sample, on the right flat piece for another; the
    outputs are constant near the point but differ between samples, so the outgoing weight is NOT flat."""
    act = {"name": "piecewise_linear", "breakpoints": [0, 1], "slopes": [0, 1, 0]}
    X, Y = [[-1], [3]], [[0], [2]]
    p = prob([1, 1, 1], act, X, Y)
    # z = x: sigma(-1) = 0, sigma(3) = 1; output v * sigma + c fits (0, 2) with v = 2, c = 0: loss 0
    x = pt([[[1]], [[2]]], [[0], [0]])
    cert = verify(Candidate(p, x))
    assert cert.verdict in MINIMUM_VERDICTS and exact_loss(p, x) == 0
    # with v = 1 and c = 1/2 it is not critical (the outgoing weight is not flat)
    x2 = pt([[[1]], [[1]]], [[0], [Q(1, 2)]])
    cert2 = verify(Candidate(p, x2))
    assert cert2.verdict not in MINIMUM_VERDICTS
    assert_sound_exact(p, x2, cert2)


# ---- 2. weight decay, biases, non-trainable layers ----------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
def test_weight_decay_dead_network(bias):
    """Weight decay, every hidden unit dead (w = 0, b = -1) and output constant = mean(y): a non-strict minimum
    (the dead biases are flat) with biases; without biases z = 0 is a kink everywhere."""
    X, Y = [[1], [2], [-1]], [[1], [0], [2]]
    p = prob([1, 2, 1], "relu", X, Y, bias=bias, wd=Q(1, 10))
    x = pt([[[0], [0]], [[0, 0]]], [[-1, -1] if bias else None, [1] if bias else None])
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert)
    if bias:
        assert cert.verdict not in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)  # the dead biases are flat


def test_weight_decay_nonzero_dead_weights_not_critical():
    """With weight decay a dead unit's nonzero incoming weights are pulled to 0: not critical."""
    p = prob([1, 1, 1], "relu", [[1], [2]], [[1], [0]], wd=Q(1, 4))
    x = pt([[[-1]], [[0]]], [[-1], [Q(1, 2)]])
    cert = verify(Candidate(p, x))
    assert cert.verdict not in MINIMUM_VERDICTS
    assert_sound_exact(p, x, cert)


def test_fixed_first_layer_no_rescaling_tangents():
    """First layer fixed: the rescaling is not a symmetry (only V moves); least-squares V is a strict minimum iff
    the hidden features are independent; the verdict must not use rescaling tangents."""
    X, Y = [[1], [2], [-1]], [[1], [3], [0]]
    p = prob([1, 2, 1], "relu", X, Y, trainable=[False, True])
    # hidden features h = (relu(x), relu(-x)) ; least squares of y on (h1, h2, 1)
    # h rows: (1,0),(2,0),(0,1); 3 samples, 3 unknowns: exact fit: v1 + c = 1, 2 v1 + c = 3, v2 + c = 0
    x = pt([[[1], [-1]], [[2, 1]]], [[0, 0], [-1]])
    assert exact_loss(p, x) == 0
    cert = verify(Candidate(p, x))
    assert cert.verdict in MINIMUM_VERDICTS
    assert not cert.symmetries
    assert_sound_exact(p, x, cert)


def test_fixed_output_layer_with_symmetric_looking_point():
    """Output layer fixed: rescaling is not available (V is not a parameter); a point where the input-layer
    rescaling direction changes the loss must not be called strict modulo symmetry."""
    X, Y = [[1], [2]], [[1], [3]]
    p = prob([1, 1, 1], "relu", X, Y, trainable=[True, False])
    x = pt([[[2]], [[1]]], [[-1], [0]])  # f(1) = 1, f(2) = 3: loss 0
    cert = verify(Candidate(p, x))
    assert cert.verdict in MINIMUM_VERDICTS and not cert.symmetries
    assert_sound_exact(p, x, cert)


def test_fixed_middle_layer_deep():
    """Depth 3, middle layer fixed: symmetry tangents must not involve it."""
    from spurious.verifiers.symmetry import symmetry_tangents
    p = prob([1, 2, 2, 1], "relu", [[1], [2]], [[1], [2]], trainable=[True, False, True])
    x = pt([[[1], [2]], [[1, 0], [0, 1]], [[1, 1]]], [[0, 0], [0, 0], [0]])
    assert symmetry_tangents(p.network, x) == []
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert)


# ---- 3. reductions, duplicates, extreme rationals, witnesses ------------------------------------------------------

def test_sum_and_mean_agree_and_duplicates():
    """Duplicated samples and both reductions: the verdict cannot depend on the positive loss factor."""
    X, Y = [[1], [1], [2], [-1]], [[1], [1], [3], [0]]
    x = pt([[[1], [-1]], [[2, 1]]], [[0, 0], [-1]])
    verdicts = []
    for red in ("mean", "sum"):
        p = prob([1, 2, 1], "relu", X, Y, reduction=red)
        cert = verify(Candidate(p, x))
        assert_sound_exact(p, x, cert)
        verdicts.append(cert.verdict)
    assert verdicts[0] == verdicts[1]


@pytest.mark.parametrize("eps", [Q(1, 10 ** 40), Q(-1, 10 ** 40)])
def test_tiny_perturbation_of_a_minimum_is_not_a_minimum(eps):
    """Least squares (no hidden layer) with the bias off by 1e-40: not critical, and the direction descends."""
    net = Network.make([1, 1], (), bias=True)
    p = Problem(net, FiniteData(((Q(0),), (Q(1),), (Q(3),)), ((Q(0),), (Q(1),), (Q(1),))))
    # least squares of y on (x, 1): slope 2/7, intercept 2/7 ... compute exactly
    from flint import fmpq_mat
    A = fmpq_mat([[0, 1], [1, 1], [3, 1]])
    sol = (A.transpose() * A).solve(A.transpose() * fmpq_mat([[0], [1], [1]]))
    x = pt([[[sol[0, 0]]]], [[sol[1, 0] + eps]])
    cert = verify(Candidate(p, x))
    assert cert.verdict == NOT_CRITICAL
    assert_sound_exact(p, x, cert)
    x0 = pt([[[sol[0, 0]]]], [[sol[1, 0]]])
    assert verify(Candidate(p, x0)).verdict == STRICT_LOCAL_MIN


def test_huge_rationals():
    """Huge weights: a dead unit far from its kink and a least-squares output."""
    big = Q(10 ** 30)
    p = prob([1, 1, 1], "relu", [[1], [2]], [[1], [2]])
    x = pt([[[-big]], [[big]]], [[-big], [Q(3, 2)]])
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert)
    assert cert.verdict not in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)  # dead: incoming weights flat


def test_witness_equal_to_point_is_not_proof_of_non_globality():
    """A witness equal to the point has the same loss: never not_global from it."""
    p = prob([1, 1, 1], "relu", [[1], [2]], [[1], [2]])
    x = pt([[[-1]], [[1]]], [[-1], [Q(3, 2)]])  # dead unit, constant output = mean: a local min, not global
    cert = verify(Candidate(p, x, witness=x))
    assert cert.glob != NOT_GLOBAL or cert.witness_loss is None or cert.witness_loss < cert.loss
    assert_sound_exact(p, x, cert)


def test_witness_with_lower_loss_gives_not_global_only_if_lower():
    p = prob([1, 1, 1], "relu", [[1], [2]], [[1], [2]])
    x = pt([[[-1]], [[1]]], [[-1], [Q(3, 2)]])
    w = pt([[[1]], [[1]]], [[0], [0]])  # fits exactly: loss 0
    cert = verify(Candidate(p, x, witness=w))
    assert exact_loss(p, w) == 0
    if cert.verdict in MINIMUM_VERDICTS:
        assert cert.glob == NOT_GLOBAL
    assert_sound_exact(p, x, cert)


# ---- 4. structured path: forged meta["proof"] hints and the constant-output lemma at its boundary -----------------

POLY = {"name": "polynomial", "coefficients": [0, 1, 1]}   # sigma(z) = z + z^2: sigma(0) = 0, sigma' = 1, sigma'' = 2
XC, YC = [[-1], [0], [1]], [[1], [-2], [1]]                # y = 3 x^2 - 2; r = ybar - y = (-1, 2, -1), sum r x = 0


def const_point(u):
    return pt([[[0]], [[u]]], [[0], [0]])                  # w = 0, t = 0, c = ybar - u sigma(0) = 0


@pytest.mark.parametrize("meta", [{}, {"proof": {"argument": "constant-output", "claimed": "strict"}}])
@pytest.mark.parametrize("u", [3, 2, 1, Q(1, 2)])
def test_constant_output_boundary(u, meta):
    """sigma(z) = z + z^2 on y = 3x^2 - 2: Q = 2u(u - 2). u = 3: a (non-strict) minimum; u = 2 (Q = 0): the change
    of the loss is ~ 8 w^2 (4t + 4t^2) < 0 for t < 0 (not a minimum); u < 2: a saddle. The hint must not matter."""
    p = prob([1, 1, 1], POLY, XC, YC)
    x = const_point(u)
    cert = verify(Candidate(p, x, meta=meta))
    assert_sound_exact(p, x, cert)
    if u != 3:
        assert cert.verdict not in MINIMUM_VERDICTS
        # the explicit descent along (w, t) = (s, -s^2 ...): t = -1/100, w = 1/100 lowers the loss for u = 2
        y = x.shift(p.network, [Q(1), Q(-1), Q(0), Q(2)], Q(1, 100))  # (w, t, u, c)
        if u == 2:
            assert exact_loss(p, y) < exact_loss(p, x)
    else:
        assert cert.verdict not in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)   # u -> u + s is flat (sigma(0) = 0)


def test_forged_constant_output_on_nonzero_weights():
    """A constant-output hint on a point with w != 0 (a non-critical point): the hint is refused."""
    p = prob([1, 1, 1], POLY, XC, YC)
    x = pt([[[Q(1, 3)]], [[3]]], [[0], [0]])
    cert = verify(Candidate(p, x, meta={"proof": {"argument": "constant-output"}}))
    assert cert.verdict not in MINIMUM_VERDICTS
    assert_sound_exact(p, x, cert)


def test_forged_constant_output_premise_ii_fails():
    """sum r_i x_i != 0: the constant output is not even critical in w."""
    p = prob([1, 1, 1], POLY, [[-1], [0], [2]], YC)
    x = pt([[[0]], [[3]]], [[0], [0]])
    cert = verify(Candidate(p, x, meta={"proof": {"argument": "constant-output"}}))
    assert cert.verdict not in MINIMUM_VERDICTS
    assert_sound_exact(p, x, cert)


@pytest.mark.parametrize("units", [[0, 1], [0, 0], [1, 5], "x"])
def test_forged_split_hints(units):
    """Split hints on units that are not copies (or bogus indices): never a minimum from the hint."""
    p = prob([1, 2, 1], "tanh", [[1], [2]], [[1], [0]])
    x = pt([[[1], [2]], [[1, 1]]], [[0, 0], [0]])
    cert = verify(Candidate(p, x, meta={"proof": {"argument": "split-neuron", "units": units}}))
    assert cert.verdict not in MINIMUM_VERDICTS  # a random point: the gradient is provably nonzero


def test_forged_quadratic_orbit_on_a_saddle():
    """Quadratic-orbit hint at a critical point with an indefinite Hessian: not a minimum."""
    act = "quadratic"
    p = prob([1, 2, 1], act, [[1], [-1], [2]], [[1], [1], [-4]], bias=False, trainable=[True, False])
    x = pt([[[0], [0]], [[1, -1]]], [None, None])  # W = 0: gradient 0 (outputs 0, derivative 2 v w x^2 ... = 0)
    cert = verify(Candidate(p, x, meta={"proof": {"argument": "quadratic-orbit"}}))
    assert_sound_exact(p, x, cert)
    # moving w_1 (output weight -1) gives outputs -w^2 x^2, which move towards y_3 = -4 faster than away from
    # y_1 = y_2 = 1 (sum y x^2 = -14 < 0): the loss drops
    y0 = x.shift(p.network, [Q(0), Q(1)], Q(1, 10))
    assert exact_loss(p, y0) < exact_loss(p, x)
    assert cert.verdict not in MINIMUM_VERDICTS


# ---- 5. smooth activations: degenerate points (interval path) -----------------------------------------------------

def test_smooth_zero_point_is_not_strict():
    """tanh, one sample (0, 0), all parameters 0: loss 0 (global), but every incoming weight is flat: never strict."""
    p = prob([1, 2, 1], "tanh", [[0]], [[0]])
    x = pt([[[0], [0]], [[0, 0]]], [[0, 0], [0]])
    cert = verify(Candidate(p, x))
    assert cert.verdict not in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)


def test_smooth_zero_output_weight_not_strict():
    """tanh: unit 1 has v = 0 (its incoming weights are flat), unit 0 fits the two samples exactly with c = 0."""
    p = prob([1, 2, 1], "tanh", [[0], [1]], [[0], [Q(1, 2)]])
    x = pt([[[1], [3]], [[0, 0]]], [[0, 1], [0]])
    cert = verify(Candidate(p, x))
    assert cert.verdict not in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)


def test_smooth_duplicated_units_not_strict():
    """Two identical tanh units (a split point): the segment v_a + v_b = const is flat; never strict."""
    p = prob([1, 2, 1], "tanh", [[0]], [[0]])
    x = pt([[[1], [1]], [[1, -1]]], [[0, 0], [0]])  # output 0 at x = 0: loss 0
    cert = verify(Candidate(p, x))
    assert cert.verdict not in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)


# ---- 6. population (Gaussian) candidates -------------------------------------------------------------------------

def population(student_W, A, teacher_V, C, train_out=True):
    relu = make_activation("relu")
    d = len(teacher_V[0])
    net = Network.make((d, len(student_W), 1), relu, bias=False, trainable=[True, train_out])
    tnet = Network.make((d, len(teacher_V), 1), relu, bias=False)
    problem = Problem(net, GaussianData(tnet, pt([teacher_V, C], [None, None])))
    return problem, pt([student_W, A], [None, None])


@pytest.mark.parametrize("train_out", [True, False])
def test_population_zero_unit(train_out):
    """Student = teacher plus a zero unit: loss 0 (global) but the zero unit's incoming weights are flat (A = 0) or
    a nondifferentiable point: never strict."""
    V = [[1, 0], [0, 1]]
    prob_, x = population([[1, 0], [0, 1], [0, 0]], [[1, 1, 0]], V, [[1, 1]], train_out)
    cert = verify(Candidate(prob_, x))
    assert cert.verdict not in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)


def test_population_parallel_units():
    """Two parallel student units splitting one teacher unit: a flat segment; never strict."""
    V = [[1, 0], [0, 1]]
    prob_, x = population([[1, 0], [2, 0], [0, 1]], [[Q(1, 2), Q(1, 4), 1]], V, [[1, 1]])
    cert = verify(Candidate(prob_, x))
    assert cert.verdict not in (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)


# ---- 7. fuzz: least-squares output layers over random (often dead / multi-piece) first layers ---------------------

ACTS = [{"name": "relu"}, {"name": "leaky_relu", "slope": Q(1, 3)},
        {"name": "piecewise_linear", "breakpoints": [0, 1], "slopes": [0, 1, 0]},
        {"name": "piecewise_linear", "breakpoints": [-1, 1], "slopes": [1, 0, 1], "intercept": 1},
        {"name": "piecewise_linear", "breakpoints": [0], "slopes": [-1, 1]}]


def ls_point(p, W1, b1, rng):
    """Output layer = exact least squares on the hidden features (minimum-norm), so the gradient in the output layer
    is 0; the point may or may not be a local minimum in the first layer."""
    from spurious.arithmetic.contexts import EXACT
    from spurious.linalg import least_squares
    act = p.network.activations[0]
    X, Y = p.data.X, p.data.Y
    H = [[act.evaluate(EXACT, sum((w * v for w, v in zip(W1[j], x)), Q(0)) + (b1[j] if b1 else 0))[0]
          for x in X] for j in range(len(W1))]
    cols = H + ([[Q(1)] * len(X)] if p.network.bias[1] else [])
    coef, _, _ = least_squares(cols, [y[0] for y in Y])
    k = len(W1)
    return Point.from_arrays([W1, [coef[:k]]], [b1, coef[k:] if p.network.bias[1] else None])


@pytest.mark.parametrize("seed", range(24))
def test_fuzz_least_squares_output(seed):
    rng = random.Random(seed)
    act = ACTS[seed % len(ACTS)]
    bias = rng.random() < 0.75
    k, n = rng.randint(1, 3), rng.randint(2, 4)
    X = [[rng.randint(-3, 3)] for _ in range(n)]
    Y = [[rng.randint(-3, 3)] for _ in range(n)]
    p = prob([1, k, 1], act, X, Y, bias=bias)
    W1 = [[Q(rng.randint(-2, 2), rng.randint(1, 2))] for _ in range(k)]
    b1 = [Q(rng.randint(-4, 4), rng.randint(1, 3)) for _ in range(k)] if bias else None
    x = ls_point(p, W1, b1, rng)
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert, seed=seed)


@pytest.mark.parametrize("seed", range(6))
def test_fuzz_deep_dead_units(seed):
    """Depth 3 (dead-unit argument, frozen pattern with a dead layer-2 unit): a random first layer, a second layer with one unit pushed dead, least-squares output layer."""
    from spurious.arithmetic.contexts import EXACT
    from spurious.linalg import least_squares
    rng = random.Random(100 + seed)
    p = prob([1, 2, 2, 1], "relu", [[-2], [1], [3]], [[1], [0], [2]])
    W1 = [[Q(rng.randint(-2, 2))] for _ in range(2)]
    b1 = [Q(rng.randint(-2, 2)) for _ in range(2)]
    W2 = [[Q(rng.randint(-2, 2)) for _ in range(2)], [Q(0), Q(0)]]
    b2 = [Q(rng.randint(-2, 2)), Q(-1)]   # unit 1 of layer 2: z = -1 at every sample (dead)
    relu = p.network.activations[0]
    feats = []
    for x_ in p.data.X:
        h1 = [relu.evaluate(EXACT, W1[j][0] * x_[0] + b1[j])[0] for j in range(2)]
        feats.append([relu.evaluate(EXACT, sum((a * b for a, b in zip(W2[j], h1)), Q(0)) + b2[j])[0]
                      for j in range(2)])
    coef, _, _ = least_squares([[f[0] for f in feats], [f[1] for f in feats], [Q(1)] * 3],
                               [y[0] for y in p.data.Y])
    x = Point.from_arrays([W1, W2, [coef[:2]]], [b1, b2, coef[2:]])
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert, seed=seed)


@pytest.mark.parametrize("seed", range(30))
def test_fuzz_forced_kinks(seed):
    """One hidden layer, relu / leaky / abs / slope > 1, some pre-activations forced onto the kink, least-squares
    output layer: the kink test must be sound on every verdict."""
    rng = random.Random(1000 + seed)
    act = [{"name": "relu"}, {"name": "leaky_relu", "slope": Q(-1, 2)},
           {"name": "piecewise_linear", "breakpoints": [0], "slopes": [-1, 1]},
           {"name": "piecewise_linear", "breakpoints": [0], "slopes": [3, Q(1, 2)]}][seed % 4]
    k, n = rng.randint(1, 2), rng.randint(2, 4)
    d = rng.randint(1, 2)
    X = [[rng.randint(-2, 2) for _ in range(d)] for _ in range(n)]
    Y = [[rng.randint(-2, 2)] for _ in range(n)]
    p = prob([d, k, 1], act, X, Y)
    W1 = [[Q(rng.randint(-2, 2)) for _ in range(d)] for _ in range(k)]
    b1 = []
    for j in range(k):
        i = rng.randrange(n)   # put sample i exactly on unit j's kink
        b1.append(-sum((w * Q(v) for w, v in zip(W1[j], X[i])), Q(0)))
    x = ls_point(p, W1, b1, rng)
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert, seed=seed)


POLY_ACTS = [{"name": "quadratic"}, {"name": "polynomial", "coefficients": [0, 0, 0, 1]},
             {"name": "polynomial", "coefficients": [0, 1, 1]}, {"name": "linear"},
             {"name": "polynomial", "coefficients": [1, 0, -1]}]


@pytest.mark.parametrize("seed", range(25))
def test_fuzz_polynomial_degenerate(seed):
    """Polynomial activations, first layers with many zeros (zero units, w = 0), least-squares output layer:
    degenerate Hessians, line tests, GL / rescaling tangents."""
    rng = random.Random(2000 + seed)
    act = POLY_ACTS[seed % len(POLY_ACTS)]
    bias = rng.random() < 0.6
    k, n = rng.randint(1, 2), rng.randint(1, 4)
    X = [[rng.randint(-2, 2)] for _ in range(n)]
    Y = [[rng.randint(-2, 2)] for _ in range(n)]
    p = prob([1, k, 1], act, X, Y, bias=bias)
    W1 = [[Q(rng.choice([0, 0, 1, -1, 2]))] for _ in range(k)]
    b1 = [Q(rng.choice([0, 0, 1, -1])) for _ in range(k)] if bias else None
    x = ls_point(p, W1, b1, rng)
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert, seed=seed)


# ---- issue 13 near-misses: the new arguments must not fire where their premise fails -------------------------------

def test_second_order_near_miss_psd_at_point_decides_nothing():
    """tanh 1-1-1 without biases at 0 with y = 0: the loss (v tanh(w x))^2 has H = 0 at 0 (curvature >= 0 along
    every d): the argument must not fire. The point is a global minimum (loss 0), which the obvious bound decides."""
    p = prob([1, 1, 1], "tanh", [[1]], [[0]], bias=False)
    c = Candidate(p, pt([[[0]], [[0]]], [None, None]))
    assert negative_curvature_certificate(c) is None
    cert = verify(c)
    assert (cert.verdict, cert.glob) == (LOCAL_MIN, GLOBAL)


def test_second_order_near_miss_strict_minimum():
    """A strict minimum (positive definite Hessian): no negative curvature can be proved."""
    p = prob([1, 1, 1], "tanh", [[1], [2]], [[Q(1, 2)], [Q(1, 2)]], bias=False)
    c = Candidate(p, pt([[[0]], [[0]]], [None, None]))
    assert negative_curvature_certificate(c) is None or verify(c).verdict not in MINIMUM_VERDICTS


def test_line_test_near_miss_curve_goes_up():
    """loss = (ab - 1)^2 + (a^2 + b^2) (weight decay 2, scalar linear 1-1-1, x = y = 1) at 0: H = [[2,-2],[-2,2]] is
    PSD with kernel (1, 1), and along it p(t) = (t^2 - 1)^2 + 2 t^2 = 1 + t^4 goes up. In fact loss - 1 =
    a^2 b^2 + (a - b)^2 >= 0: a (degenerate) minimum. The line test must not refute it."""
    p = prob([1, 1, 1], "linear", [[1]], [[1]], bias=False, wd=2)
    x = pt([[[0]], [[0]]], [None, None])
    H = evaluate_exact(p, x).hessian
    reasons = []
    assert kernel_line_test(p, x, H, [], reasons) is None and not reasons
    cert = verify(Candidate(p, x))
    assert cert.verdict not in REFUTED_VERDICTS
    assert lowest_exact_probe(p, x) >= 0


def test_kink_near_miss_partial_derivative_does_not_exist():
    """At the kink minimum the bias and weight of the kinked unit have different one-sided derivatives and every
    existing partial derivative is 0: the first-order argument must not fire (the kink test proves a minimum)."""
    from test_soundness_exact import kink_minimum
    p, x = kink_minimum()
    reasons = []
    assert first_order_at_kinks(Candidate(p, x), exact_loss(p, x), reasons, None) is None and not reasons
    e = [Q(0)] * p.network.num_params
    e[1] = Q(1)  # b1: moves the kink sample
    assert directional_derivative(p, x, e) != -directional_derivative(p, x, [-v for v in e])
    assert verify(Candidate(p, x)).verdict == STRICT_MODULO_SYMMETRY


@pytest.mark.parametrize("seed", range(12))
def test_fuzz_deep_kinks_sound(seed):
    """Depth 3, kinks forced in layer 1 and layer 2: every verdict survives exact probes; not_critical names a
    coordinate whose one-sided derivatives are opposite."""
    rng = random.Random(500 + seed)
    act = [make_activation("relu"), make_activation("leaky_relu", slope="1/3"),
           make_activation("piecewise_linear", breakpoints=[0], slopes=[-1, 1])][seed % 3]
    n = rng.randint(2, 3)
    X = [[rng.randint(-2, 2)] for _ in range(n)]
    p = prob([1, 2, 1, 1], act, X, [[rng.randint(-2, 2)] for _ in range(n)])
    W1 = [[Q(rng.randint(-2, 2))] for _ in range(2)]
    b1 = [-W1[j][0] * X[rng.randrange(n)][0] for j in range(2)]
    W2 = [[Q(rng.randint(-2, 2)) for _ in range(2)]]
    x = pt([W1, W2, [[1]]], [b1, [Q(rng.randint(-1, 1))], [Q(rng.randint(-2, 2))]])
    cert = verify(Candidate(p, x))
    assert_sound_exact(p, x, cert, seed=seed)
