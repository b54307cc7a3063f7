"""The structured-proof checker (spurious/verifiers/structured/): certifies argument D and split points only when
every premise holds, and never gives a minimum verdict on broken, perturbed or forged candidates."""

import math

import numpy as np
import pytest
from flint import arb, fmpq

from spurious.activations import make_activation
from spurious.candidate import Candidate, loads_candidate
from spurious.constructions.constant_output import constant_output, constant_output_point, default_data
from spurious.constructions.yun_smooth import yun_data, yun_smooth
from spurious.network import Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.verifiers import PATHS, verify
from spurious.verifiers.numerical import triage
from spurious.arithmetic.balls import positive
from spurious.linalg import ldl_definiteness
from spurious.verifiers.structured import accepts, curvature_matrix
from spurious.certificate import (INCONCLUSIVE, MINIMUM_VERDICTS, NON_STRICT_LOCAL_MIN, NOT_GLOBAL,
                                         NOT_LOCAL_MIN)

PROOF = {"argument": "constant-output"}


def _cand(act="sigmoid", t=(-1,), u=(1,), data=None, wd=0, meta=None):
    """A constant-output candidate built directly (no range checks), with the proof meta."""
    X, Y = data if data is not None else default_data()
    X = tuple(tuple(fmpq(v) for v in x) for x in X)
    Y = tuple((fmpq(y[0]),) for y in Y)
    net = Network.make((len(X[0]), len(t), 1), make_activation(act))
    pt = constant_output_point(net, X, Y, [fmpq(v) for v in t], [fmpq(v) for v in u])
    return Candidate(Problem(net, FiniteData(X, Y), Loss(weight_decay=fmpq(wd))), pt, None,
                     {"proof": dict(meta or PROOF)})


def _float_loss(cand, theta):
    from spurious.arithmetic import FloatModel

    return float(FloatModel(cand.problem, cand.point).loss(__import__("torch").tensor(theta)))


def test_registered_first_and_accepts_only_named_arguments():
    assert PATHS[0].name == "structured"
    c = _cand()
    assert accepts(c)
    assert not accepts(Candidate(c.problem, c.point, None, {"proof": {"argument": "magic"}}))
    assert not accepts(Candidate(c.problem, c.point, None, {}))


def test_certifies_the_lemma_with_exact_loss_and_small_radius():
    cert = verify(_cand(t=(-1, -2), u=(1, 3)))
    assert cert.verdict == NON_STRICT_LOCAL_MIN and cert.rigor == "interval"
    assert cert.loss == fmpq(2, 9)          # (1/3)(1/9 + 4/9 + 1/9)
    assert cert.radius < fmpq(1, 2**100)
    assert any("premise (iii)" in r for r in cert.reasons)


def test_yun_matrix_is_twice_the_papers_C26_C27_matrix():
    """On Yun's data, Q = 2 (a a^T + diag(c)/3) with a_j = u_j h'(v_j), c_j = u_j h''(v_j) (Thm 2 (C2.6)-(C2.7))."""
    X, Y = yun_data()
    r = [fmpq(1, 3) - y[0] for y in Y]
    act = make_activation("tanh")
    u, t = [fmpq(1), fmpq(17, 10)], [fmpq(-1, 2), fmpq(1, 2)]
    Q, a, c, k = curvature_matrix(act, X, r, u, t)
    assert k == 1
    af = [float(x.mid()) for x in a]
    cf = [float(x.mid()) for x in c]
    paper = 2 * (np.outer(af, af) + np.diag(cf) / 3)
    assert np.allclose([[float(x.mid()) for x in row] for row in Q], paper, atol=1e-14)
    h1 = 1 - math.tanh(-0.5) ** 2
    assert abs(af[0] - h1) < 1e-14


def test_c_negative_is_not_by_itself_a_saddle():
    """sigmoid at t = 1 (sigma'' < 0), u = 1: c < 0 but Q = c M + a^2 St > 0: a genuine (certified) minimum.
    Float evidence agrees: random small perturbations never go below the minimum's loss."""
    cand = _cand(t=(1,), u=(1,))
    cert = verify(cand)
    assert cert.verdict == NON_STRICT_LOCAL_MIN
    rng = np.random.default_rng(0)
    th0 = cand.point.flatten_float(cand.network)
    base = _float_loss(cand, th0)
    worst = min(_float_loss(cand, th0 + 1e-3 * v / np.linalg.norm(v)) for v in rng.normal(size=(300, 4)))
    assert worst >= base - 1e-13


@pytest.mark.parametrize("kwargs", [
    dict(t=(1,), u=(fmpq(1, 2),)),                                              # c < 0 and Q < 0: a saddle
    dict(t=(-1,), u=(fmpq(1, 4),), data=(((-1,), (0,), (1,)), ((1,), (0,), (1,)))),   # M < 0 and Q < 0
    dict(act="tanh", t=(1, -1), u=(fmpq(1, 3), fmpq(1, 3))),                    # one unit with c < 0, Q indefinite
])
def test_saddles_are_refuted_with_negative_curvature(kwargs):
    cand = _cand(**kwargs)
    cert = verify(cand)
    assert cert.verdict == NOT_LOCAL_MIN and cert.rigor == "interval"
    assert cert.descent_direction is not None
    assert triage(cand).verdict not in MINIMUM_VERDICTS     # the float triage agrees (evidence)


def _assert_no_min(cand):
    cert = verify(cand)
    assert cert.verdict not in MINIMUM_VERDICTS, cert.reasons
    return cert


def test_r_not_orthogonal_to_inputs_gives_no_verdict():
    cert = _assert_no_min(_cand(data=(((-1,), (0,), (2,)), ((0,), (1,), (0,)))))
    assert any("premise (ii) fails" in r for r in cert.reasons)


def test_perturbed_points_are_not_certified():
    cand = _cand(t=(-1, -2), u=(1, 3))
    flat = cand.point.flatten(cand.network)
    bumped = cand.point.with_flat(cand.network, [flat[0] + fmpq(1, 1000)] + flat[1:])
    cert = _assert_no_min(Candidate(cand.problem, bumped, None, cand.meta))
    assert any("not all exactly 0" in r for r in cert.reasons)
    off = cand.point.with_flat(cand.network, flat[:-1] + [flat[-1] + fmpq(1, 10)])   # output bias off by 1/10
    cert = _assert_no_min(Candidate(cand.problem, off, None, cand.meta))
    assert any("not (a rounding of)" in r for r in cert.reasons)


def test_weight_decay_breaks_the_argument():
    cert = _assert_no_min(_cand(wd=fmpq(1, 10)))
    assert any("weight decay" in r for r in cert.reasons)


def test_forged_claims_are_ignored():
    """A saddle whose meta claims a PD curvature matrix and orthogonal residuals is still refuted."""
    forged = {"argument": "constant-output", "curvature_matrix": [[1]], "residual_orthogonality": True,
              "loss": "0", "premises_checked": True}
    cand = _cand(t=(1,), u=(fmpq(1, 2),), meta=forged)
    assert verify(cand).verdict == NOT_LOCAL_MIN
    # round trip through the file format: the proof meta survives, the verdict is recomputed
    again = loads_candidate(cand.dumps())
    assert verify(again).verdict == NOT_LOCAL_MIN


def test_relu_network_with_a_constant_output_claim_is_not_certified_by_the_argument():
    cand = _cand()
    relu = Network.make((1, 1, 1), make_activation("relu"))
    pt = Point.from_arrays([[[0]], [[1]]], [[1], [fmpq(-2, 3)]])
    c = Candidate(Problem(relu, cand.problem.data, Loss()), pt, None, {"proof": PROOF})
    cert = verify(c)
    assert any("not C^3" in r for r in cert.reasons)


def test_ball_ldl_three_valued():
    ok, _ = ldl_definiteness([[arb(2), arb(1)], [arb(1), arb(2)]], positive)
    assert ok is True
    ok, k = ldl_definiteness([[arb(1), arb(2)], [arb(2), arb(1)]], positive)
    assert ok is False and k == 1
    ok, _ = ldl_definiteness([[arb(0, 1e-3)]], positive)
    assert ok is None


# --- split points ------------------------------------------------------------------------------------------------
def test_split_min_agrees_with_the_interval_path_and_bad_hints_fall_back():
    """lam = 3/2 split of the fixed-output single neuron: strict minimum by the split argument AND, independently,
    by the interval path (no flat lam-line with a fixed output layer). Wrong unit hints: the split argument is not
    used (the interval path decides)."""
    from spurious.constructions.split_neuron import split_neuron
    from spurious.verifiers.structured.split_neuron import METHOD as SPLIT_METHOD

    good = split_neuron(lam="3/2")
    cert = verify(good)
    assert cert.verdict == "strict_local_min" and cert.method == SPLIT_METHOD
    assert verify(good, path="interval").verdict == "strict_local_min"
    bad = Candidate(good.problem, good.point, good.witness, dict(good.meta, proof={"argument": "split-neuron",
                                                                                    "units": [0, 0]}))
    cert = verify(bad)
    assert cert.method != SPLIT_METHOD
    assert any("the structured path did not decide" in r for r in cert.reasons)


def test_split_saddle_with_broken_premises_is_not_certified():
    from spurious.constructions.split_neuron import split_neuron

    sad = split_neuron(lam="1/2")
    assert verify(sad).verdict == NOT_LOCAL_MIN
    flat = sad.point.flatten(sad.network)
    moved = sad.point.with_flat(sad.network, [flat[0] + fmpq(1, 10**6)] + flat[1:])
    cert = verify(Candidate(sad.problem, moved, None, sad.meta))
    assert cert.verdict not in MINIMUM_VERDICTS
    assert any("not have exactly equal" in r for r in cert.reasons)
    assert verify(sad, path="interval").verdict not in MINIMUM_VERDICTS


def test_split_of_a_saddle_parent_is_not_certified():
    """Parent = a constant-output saddle (the interval path cannot certify a minimum there): no verdict."""
    from spurious.constructions.split_neuron import split_point

    par = _cand(t=(1,), u=(fmpq(1, 2),), meta={"argument": "none"})
    net, pt = split_point(par.network, par.point, 0, fmpq(1, 2))
    child = Candidate(Problem(net, par.problem.data, Loss()), pt, None,
                      {"proof": {"argument": "split-neuron", "units": [0, 1]}})
    assert verify(child).verdict not in MINIMUM_VERDICTS


def test_yun_certificate_is_spurious():
    cert = verify(yun_smooth(activation="sigmoid"))
    assert cert.spurious and cert.glob == NOT_GLOBAL
    assert any("lemma (constant-output argument D)" in r for r in cert.reasons)


def test_constant_output_inconclusive_without_witness_is_not_spurious():
    c = constant_output()
    cert = verify(Candidate(c.problem, c.point, None, c.meta))
    assert cert.verdict == NON_STRICT_LOCAL_MIN and not cert.spurious
    assert cert.verdict != INCONCLUSIVE


# --- quadratic orbit ---------------------------------------------------------------------------------------------
def _orbit_cand(d=3, k=2, yb=1, bump=0):
    from spurious.constructions.quadratic_narrow import planted_data

    X, Y, W = planted_data(d, k)
    Y = [fmpq(yb) if (y == 1 and sum(x[:k]) == 0) else y for x, y in zip(X, Y)]   # labels of e_b, b > k
    net = Network.make((d, k, 1), make_activation("quadratic"), bias=False, trainable=[True, False])
    W = [list(w) for w in W]
    W[0][0] += fmpq(bump)
    return Candidate(Problem(net, FiniteData(tuple(X), tuple((y,) for y in Y)), Loss()),
                     Point.from_arrays([W, [[1] * k]], [None, None]), None,
                     {"proof": {"argument": "quadratic-orbit"}})


def test_orbit_argument_certifies_and_refutes_exactly():
    from spurious.verifiers.structured.quadratic_orbit import METHOD as ORBIT_METHOD

    cert = verify(_orbit_cand())
    assert cert.verdict == "strict_modulo_symmetry" and cert.rigor == "exact" and cert.method == ORBIT_METHOD
    # stronger negative curvature of S in the e_b directions: still exactly critical, now a saddle
    sad = verify(_orbit_cand(yb=5))
    assert sad.verdict == NOT_LOCAL_MIN and sad.rigor == "exact"
    # perturbed point: not critical, never a minimum
    assert verify(_orbit_cand(bump=fmpq(1, 100))).verdict not in MINIMUM_VERDICTS


def test_orbit_argument_needs_a_fixed_output_layer():
    c = _orbit_cand()
    net = Network.make((3, 2, 1), make_activation("quadratic"), bias=False)
    cert = verify(Candidate(Problem(net, c.problem.data, Loss()), c.point, None, c.meta))
    assert any("fixed output layer" in r for r in cert.reasons)


def test_generic_interval_path_cannot_decide_degenerate_minima_but_agrees_on_splits():
    """The singular Hessian of argument D's minima defeats the generic interval path (inconclusive, never a
    contradiction); on the fixed-output split points it agrees with the split argument."""
    from spurious.constructions.split_neuron import split_neuron

    assert verify(yun_smooth(activation="tanh"), path="interval").verdict == INCONCLUSIVE
    assert verify(constant_output(width=2), path="interval").verdict == INCONCLUSIVE
    assert verify(split_neuron(lam="1/2"), path="interval").verdict == NOT_LOCAL_MIN
