"""The interval proof path: smooth minima are certified, non-minima never are.

Mathematics checked: trained smooth-activation minima are certified strict with a radius and a loss enclosure
that contains the float loss and lies below the loss at probe points of the certified ball (arb, 256 bits);
the origin of a tanh network, saddles, degenerate and perturbed points are never certified as minima; descent
directions decrease the loss; the fast float enclosure contains the arb Hessians of the box; interval, numerical
and (for population losses) construction facts agree.
"""

import json

import numpy as np
import pytest
from flint import ctx, fmpq

from spurious.activations import make_activation
from spurious.arithmetic import FloatModel, evaluate_ball
from spurious.arithmetic.balls import lower_fmpq, upper_fmpq
from spurious.arithmetic import fast_enclosure
from spurious.arithmetic.fast_enclosure import enclosure_from_arb_mat, hessian_enclosure
from spurious.candidate import Candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.rationals import fmpq_to_float, to_fmpq
from spurious.verifiers import interval, verify
from spurious.verifiers.numerical import triage
from spurious.certificate import (INCONCLUSIVE, INTERVAL, MINIMUM_VERDICTS, NOT_CRITICAL, NOT_LOCAL_MIN,
                                         STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY, STRICT_VERDICTS)

from conftest import random_problem

SMOOTH = ["tanh", "sigmoid", "softplus", "erf", "gelu", "swish"]


# construction of test points (float optimisation is evidence only; the verifier decides) ---------------------------
def make_problem(seed, widths, act, n=16, wd="1/100", zero_column=None):
    rng = np.random.default_rng(seed)
    net = Network.make(widths, make_activation(act))
    Xf = rng.integers(-8, 9, (n, widths[0])) / 4
    if zero_column is not None:
        Xf[:, zero_column] = 0
    T = rng.normal(size=(3, widths[0]))
    Yf = np.tanh(Xf @ T.T) @ rng.normal(size=(3, widths[-1])) + 0.1 * rng.normal(size=(n, widths[-1]))
    X = tuple(tuple(fmpq(int(round(4 * v)), 4) for v in row) for row in Xf)
    Y = tuple(tuple(fmpq(int(round(64 * v)), 64) for v in row) for row in Yf)
    prob = Problem(net, FiniteData(X, Y), Loss(weight_decay=to_fmpq(eval_fraction(wd))))
    base = Point.from_arrays([np.zeros((widths[l + 1], widths[l])) for l in range(len(widths) - 1)],
                             [np.zeros(widths[l + 1]) for l in range(len(widths) - 1)])
    return prob, base


def eval_fraction(text):
    from fractions import Fraction

    return Fraction(text)


def newton_float(model, x, steps=8):
    for _ in range(steps):
        _, g, H = model.evaluate(x)
        if not np.all(np.isfinite(H)):
            break
        x = x - np.linalg.lstsq(H, g, rcond=1e-13)[0]
    return x


def trained(seed, widths, act, **kw):
    """A seeded float optimum (torch LBFGS then float Newton steps) as a candidate, and its float model."""
    prob, base = make_problem(seed, widths, act, **kw)
    model = FloatModel(prob, base)
    rng = np.random.default_rng(seed)
    x = newton_float(model, model.lbfgs(rng.normal(size=prob.network.num_params), max_iter=200, rounds=5,
                                        tolerance_grad=1e-14, history_size=50))
    return Candidate(prob, base.with_flat(prob.network, x.tolist())), model


# cases whose float triage shows a clear strict minimum (checked in the test itself)
MINIMA = [([1, 2, 1], a, 0) for a in SMOOTH] + [([2, 2, 1], "tanh", 1), ([2, 2, 1], "sigmoid", 2),
                                                ([2, 2, 1], "erf", 0), ([2, 2, 1], "gelu", 1)]


@pytest.fixture(scope="module")
def minima():
    out = {}
    for widths, act, seed in MINIMA:
        out[(tuple(widths), act, seed)] = trained(seed, widths, act)
    return out


def loss_ball(problem, point, prec=256):
    with ctx.workprec(prec):
        return evaluate_ball(problem, point, prec=prec, order=0).loss


def probe_points(details, rng, count=6):
    """Points of the closed ball B(centre, rho) around the proof's exact centre (exact rational coordinates, distance
    checked exactly; the centre may carry more bits than float64 after refinement)."""
    c, rho, free = details["centre_exact"], details["rho"], details["free"]
    out = []
    for k in range(count):
        u = rng.normal(size=len(free))
        u *= rho * (0.999 if k else 0.0) / np.linalg.norm(u)
        x = list(c)
        for j, i in enumerate(free):
            x[i] = c[i] + to_fmpq(float(u[j]))
        d2 = sum((a - b) ** 2 for a, b in zip(x, c))
        if d2 <= to_fmpq(rho) ** 2:
            out.append(x)
    return out


def check_minimum_certificate(cand, cert, details, seed=0):
    """The mathematics a minimum verdict promises, checked independently at 256 bits."""
    assert cert.rigor == INTERVAL and cert.verdict in STRICT_VERDICTS
    lo, hi = cert.loss
    assert lo <= hi
    assert cert.reduced_min_eigenvalue > 0 and cert.radius >= 0
    net = cand.network
    # the loss at the centre is at least the lower bound; at every probe of the ball it is >= lo
    rng = np.random.default_rng(seed)
    for x in probe_points(details, rng):
        b = loss_ball(cand.problem, cand.point.with_flat(net, x))
        assert lower_fmpq(b) >= lo
    centre_loss = loss_ball(cand.problem, cand.point.with_flat(net, details["centre_exact"]))
    assert upper_fmpq(centre_loss) <= hi + fmpq(1, 10**30) and lower_fmpq(centre_loss) >= lo
    # the reported radius covers the distance from the stored point to the centre
    dist2 = sum((a - b) ** 2 for a, b in zip(details["centre_exact"], cand.point.flatten(net)))
    assert dist2 <= cert.radius ** 2


# minima ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("widths,act,seed", MINIMA)
def test_trained_minimum_is_certified(minima, widths, act, seed):
    cand, model = minima[(tuple(widths), act, seed)]
    tri = triage(cand)
    assert tri.verdict == STRICT_LOCAL_MIN and tri.reduced_min_eigenvalue > 1e-4  # a clear float minimum
    cert, details = interval.analyse(cand)
    assert cert.verdict == STRICT_LOCAL_MIN, cert.reasons
    assert cert.symmetries == ()
    # the enclosure contains the float loss (up to float rounding of the loss itself)
    f = tri.loss
    lo, hi = (fmpq_to_float(q) for q in cert.loss)
    assert lo - 1e-12 * (1 + abs(f)) <= f <= hi + 1e-12 * (1 + abs(f))
    # mu is a lower bound on the smallest eigenvalue: below the float estimate
    assert fmpq_to_float(cert.reduced_min_eigenvalue) <= tri.reduced_min_eigenvalue
    check_minimum_certificate(cand, cert, details)
    # auto picks the interval path; JSON round trip is well formed
    auto = verify(cand)
    assert auto.verdict == STRICT_LOCAL_MIN and auto.rigor == INTERVAL
    js = json.loads(json.dumps(auto.to_json()))
    assert js["verdict"] == STRICT_LOCAL_MIN and len(js["loss"]) == 2 and js["radius"] is not None


@pytest.mark.parametrize("offset", [1e-9, 1e-8, 1e-7])
def test_small_step_off_a_minimum_is_polished_back(minima, offset):
    cand, model = minima[((2, 2, 1), "tanh", 1)]
    net = cand.network
    x = cand.point.flatten_float(net)
    d = np.random.default_rng(7).normal(size=x.size)
    d *= offset * (1 + np.linalg.norm(x)) / np.linalg.norm(d)
    moved = cand.with_point(cand.point.with_flat(net, (x + d).tolist()))
    cert, details = interval.analyse(moved)
    assert cert.verdict == STRICT_LOCAL_MIN, cert.reasons
    true_offset = np.linalg.norm((x + d) - x)
    assert fmpq_to_float(cert.radius) >= true_offset * (1 - 1e-6)
    assert np.linalg.norm(details["centre"] - x) < 1e-10
    check_minimum_certificate(moved, cert, details)


def test_far_step_off_a_minimum_is_not_critical(minima):
    cand, model = minima[((2, 2, 1), "tanh", 1)]
    net = cand.network
    x = cand.point.flatten_float(net)
    moved = cand.with_point(cand.point.with_flat(net, (x + 1e-2).tolist()))
    cert = verify(moved, "interval")
    assert cert.verdict == NOT_CRITICAL and triage(moved).verdict == NOT_CRITICAL
    check_descent_first_order(moved, cert.descent_direction)


def check_descent_first_order(cand, d, steps=(1e-3, 1e-5, 1e-7)):
    """The loss provably decreases along d for some small step (arb)."""
    net = cand.network
    x = cand.point.flatten(net)
    L0 = loss_ball(cand.problem, cand.point)
    for t in steps:
        p = cand.point.with_flat(net, [a + to_fmpq(t) * to_fmpq(v) for a, v in zip(x, d)])
        if loss_ball(cand.problem, p) < L0:
            return
    raise AssertionError("no decrease along the descent direction")


# non-minima ------------------------------------------------------------------------------------------------------
def origin_candidate(mean_zero):
    net = Network.make([1, 2, 1], make_activation("tanh"))
    X = tuple((fmpq(v),) for v in (-2, -1, 1, 3))
    Y = tuple((fmpq(v),) for v in ((-1, 2, -2, 1) if mean_zero else (1, 2, 0, 3)))
    prob = Problem(net, FiniteData(X, Y), Loss())
    zero = Point.from_arrays([np.zeros((2, 1)), np.zeros((1, 2))], [np.zeros(2), np.zeros(1)])
    return Candidate(prob, zero)


def test_origin_of_tanh_network_not_a_minimum():
    cand = origin_candidate(mean_zero=False)
    cert = verify(cand, "interval")
    assert cert.verdict == NOT_CRITICAL  # the output bias gradient is 2 (0 - mean y) != 0
    check_descent_first_order(cand, cert.descent_direction)


def test_origin_with_centred_labels_is_a_proved_saddle():
    cand = origin_candidate(mean_zero=True)
    cert = verify(cand, "interval")
    assert cert.verdict in (NOT_LOCAL_MIN, INCONCLUSIVE)
    assert cert.verdict not in MINIMUM_VERDICTS
    if cert.verdict == NOT_LOCAL_MIN:
        # exactly critical: second-order decrease along d, checked at 256 bits
        check_descent_first_order(cand, cert.descent_direction, steps=(1e-2, 1e-3, 1e-4))


def test_nondegenerate_saddle_is_not_local_min():
    cand = saddle_candidate()
    prob = cand.problem
    model = FloatModel(prob, cand.point)
    x = cand.point.flatten_float(prob.network)
    _, g, H = model.evaluate(x)
    w = np.linalg.eigvalsh(H)
    assert np.linalg.norm(g) < 1e-10 and w[0] < -1e-3 and np.min(np.abs(w)) > 1e-5  # float evidence of a saddle
    cert, details = interval.analyse(cand)
    assert cert.verdict == NOT_LOCAL_MIN, cert.reasons
    assert fmpq_to_float(cert.radius) < 1e-10
    d = np.array(cert.descent_direction)
    centre = cand.with_point(cand.point.with_flat(prob.network, details["centre"].tolist()))
    check_descent_first_order(centre, d, steps=(1e-2, 1e-3))
    assert triage(cand).verdict == NOT_LOCAL_MIN


@pytest.mark.parametrize("widths,act,seed", [([1, 2, 1], "tanh", 1), ([1, 2, 1], "tanh", 2), ([1, 2, 1], "erf", 1)])
def test_degenerate_trained_points_are_inconclusive(widths, act, seed):
    """Float optima with a (numerically) zero reduced eigenvalue (a collapsed unit: its bias is a flat direction,
    weight decay does not act on biases): never certified strict."""
    cand, _ = trained(seed, widths, act)
    tri = triage(cand)
    assert abs(tri.reduced_min_eigenvalue) < 1e-10  # degenerate in floats
    cert = verify(cand, "interval")
    assert cert.verdict not in MINIMUM_VERDICTS, cert.reasons


def test_zero_output_weight_unit_is_never_strict(minima):
    """A trained 1-1-1 minimum plus a unit with zero incoming and outgoing weights and any bias: critical (the
    output-bias gradient sum_i G_i vanishes), and the new unit's bias is an exactly flat direction: never strict."""
    prob11, base11 = make_problem(3, [1, 1, 1], "tanh")
    cand11, _ = trained(3, [1, 1, 1], "tanh")
    (W1, b1), (W2, b2) = cand11.point.arrays_float()
    prob, base = make_problem(3, [1, 2, 1], "tanh")
    for b_new in (0.0, 0.7):
        pt = Point.from_arrays([np.vstack([W1, [[0.0]]]), np.hstack([W2, [[0.0]]])], [np.hstack([b1, [b_new]]), b2])
        cand = Candidate(prob, pt)
        cert = verify(cand, "interval")
        assert cert.verdict not in MINIMUM_VERDICTS, cert.reasons


# the fast enclosure -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("widths,act,wd,red", [([2, 3, 1], "tanh", 0, "mean"), ([2, 3, 2, 2], "sigmoid", 0, "sum"),
                                               ([1, 2, 1], "softplus", 1, "mean"), ([3, 4, 3, 1], "gelu", 0, "mean")])
@pytest.mark.parametrize("chunk", [10**9, 1])  # all samples at once; one sample per chunk (the large-P layout)
def test_fast_enclosure_contains_arb_hessians(widths, act, wd, red, chunk, monkeypatch):
    monkeypatch.setattr(fast_enclosure, "CHUNK_FLOATS", chunk)
    prob, pt = random_problem(1, widths, act, n=5, weight_decay=wd, reduction=red)
    net = prob.network
    theta = pt.flatten_float(net)
    rng = np.random.default_rng(0)
    for rho in (0.0, 1e-9, 1e-6):
        enc = hessian_enclosure(prob, pt, theta, rho)
        assert np.array_equal(enc.mid, enc.mid.T)
        ball = enclosure_from_arb_mat(evaluate_ball(prob, pt.with_flat(net, theta.tolist()), radius=rho).hessian)
        assert np.abs(enc.mid - ball.mid).max() <= 10 * (enc.norm + np.abs(ball.rad).max()) + 1e-300
        for _ in range(3):
            x = theta + rho * rng.uniform(-1, 1, size=theta.size)
            H = evaluate_ball(prob, pt.with_flat(net, x.tolist()), prec=256).hessian
            Hm = np.array([[float(H[i, j].mid()) for j in range(H.ncols())] for i in range(H.nrows())])
            # spectral norm of the difference (float; a test, with a relative slack for its own rounding)
            assert np.linalg.norm(Hm - enc.mid, 2) <= enc.norm * (1 + 1e-6) + 1e-13 * np.abs(Hm).max()


def test_fast_and_ball_paths_agree(minima, monkeypatch):
    for key in [((1, 2, 1), "tanh", 0), ((2, 2, 1), "gelu", 1)]:
        cand, _ = minima[key]
        slow = verify(cand, "interval")
        monkeypatch.setattr(interval, "BALL_MAX_P", 0)
        fast = verify(cand, "interval")
        monkeypatch.setattr(interval, "BALL_MAX_P", 60)
        assert slow.verdict == fast.verdict == STRICT_LOCAL_MIN
        assert fast.loss[0] <= slow.loss[1] and slow.loss[0] <= fast.loss[1]


# fuzz battery ----------------------------------------------------------------------------------------------------
def saddle_candidate():
    prob, base = make_problem(0, [2, 2, 1], "softplus")
    model = FloatModel(prob, base)
    x = newton_float(model, np.random.default_rng(1017).normal(size=prob.network.num_params), steps=40)
    return Candidate(prob, base.with_flat(prob.network, x.tolist()))


@pytest.fixture(scope="module")
def non_minima():
    """Critical points that are not strict minima: degenerate trained points and a nondegenerate saddle."""
    out = [trained(seed, [1, 2, 1], act)[0] for act, seed in (("tanh", 1), ("tanh", 2), ("erf", 1))]
    return out + [saddle_candidate()]


def run_fuzz(minima, non_minima, count, seed0):
    """Random points, perturbed minima and perturbed non-minima (offsets 1e-2 .. 1e-12)."""
    rng = np.random.default_rng(seed0)
    keys = sorted(minima)
    counts = {}
    for k in range(count):
        kind = k % 3
        if kind == 0:
            act = SMOOTH[k % len(SMOOTH)]
            widths = [[1, 2, 1], [2, 2, 1], [2, 3, 2], [1, 3, 2, 1]][k % 4]
            prob, pt = random_problem(seed0 + k, widths, act, n=int(rng.integers(2, 7)))
            case = Candidate(prob, pt)
        else:
            cand = minima[keys[k % len(keys)]][0] if kind == 1 else non_minima[k % len(non_minima)]
            net = cand.network
            x = cand.point.flatten_float(net)
            x = x + 10.0 ** -rng.uniform(2, 12) * rng.normal(size=x.size)
            case = cand.with_point(cand.point.with_flat(net, x.tolist()))
        cert, details = interval.analyse(case)
        tri = triage(case)
        counts[cert.verdict] = counts.get(cert.verdict, 0) + 1
        if kind == 2:
            assert cert.verdict not in MINIMUM_VERDICTS, cert.reasons
        if cert.verdict in MINIMUM_VERDICTS:
            check_minimum_certificate(case, cert, details, seed=k)
            centre = case.with_point(case.point.with_flat(case.network, details["centre"].tolist()))
            assert triage(centre).verdict == STRICT_LOCAL_MIN  # agreement with the float triage at the centre
        if cert.verdict == NOT_CRITICAL:
            assert tri.verdict == NOT_CRITICAL
            check_descent_first_order(case, cert.descent_direction)
        if cert.verdict == NOT_LOCAL_MIN and "centre" not in details:
            # second-order necessary condition at the stored point itself: the float curvature agrees
            assert any(r.startswith("second-order necessary condition") for r in cert.reasons)
            H = FloatModel(case.problem, case.point).hessians(case.point.flatten_float(case.network))[0].numpy()
            d = np.array(cert.descent_direction)
            assert d @ H @ d < 0
        elif cert.verdict == NOT_LOCAL_MIN:
            centre = case.with_point(case.point.with_flat(case.network, details["centre"].tolist()))
            assert triage(centre).verdict == NOT_LOCAL_MIN
    return counts


def test_fuzz_battery(minima, non_minima):
    counts = run_fuzz(minima, non_minima, 420, 100)
    assert counts.get(STRICT_LOCAL_MIN, 0) > 40 and counts.get(NOT_CRITICAL, 0) > 40
    assert counts.get(NOT_LOCAL_MIN, 0) + counts.get(INCONCLUSIVE, 0) > 10


@pytest.mark.slow
def test_fuzz_battery_large(minima, non_minima):
    counts = run_fuzz(minima, non_minima, 3000, 5000)
    assert counts.get(STRICT_LOCAL_MIN, 0) > 300


# population (Gaussian) problems ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def safran7():
    from spurious.constructions.safran_shamir import safran_shamir

    return safran_shamir(k=7)


def test_safran_shamir_population_minimum(safran7):
    cert = verify(safran7, "interval")
    assert cert.verdict == STRICT_LOCAL_MIN, cert.reasons
    assert cert.glob == "not_global"  # the teacher (loss 0) is the witness


def test_population_rescaling_gauge(safran7):
    """With a trainable output layer the same point is strict modulo the positive rescaling of the 7 units."""
    from dataclasses import replace

    c = safran7
    net = replace(c.network, trainable=(True, True))
    cand = Candidate(Problem(net, c.problem.data, c.problem.loss), c.point, c.witness)
    cert = verify(cand, "interval")
    assert cert.verdict == STRICT_MODULO_SYMMETRY, cert.reasons
    assert cert.symmetries and "rescaling" in cert.symmetries[0]
    assert triage(cand).verdict == STRICT_MODULO_SYMMETRY


def test_population_zero_output_unit_inconclusive(safran7):
    from dataclasses import replace

    c = safran7
    net = replace(c.network, trainable=(True, True))
    (W1, _), (W2, _) = c.point.arrays_float()
    W2 = W2.copy()
    W2[0, 0] = 0.0
    pt = Point.from_arrays([W1, W2], [None, None])
    cert = verify(Candidate(Problem(net, c.problem.data, c.problem.loss), pt), "interval")
    assert cert.verdict not in MINIMUM_VERDICTS


def test_cli_verify_json(tmp_path, minima):
    from click.testing import CliRunner

    from spurious.cli import _register, cli

    _register()
    cand, _ = minima[((1, 2, 1), "tanh", 0)]
    path = tmp_path / "c.json"
    cand.save(path)
    res = CliRunner().invoke(cli, ["verify", str(path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["verdict"] == STRICT_LOCAL_MIN and out["rigor"] == INTERVAL
