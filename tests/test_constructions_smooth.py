"""Smooth-activation and quadratic families: each parameter setting gets its predicted certified verdict and
``global: not_global``; published numbers side by side (Yun et al. 2019, Thm 2); range checks name the inequality."""

import inspect

import numpy as np
import pytest
from flint import fmpq

from spurious.arithmetic import evaluate_exact, evaluate_float
from spurious.candidate import loads_candidate
from spurious.constructions import Param
from spurious.constructions import constant_output as co
from spurious.constructions import narrow_strict as ns
from spurious.constructions import quadratic_narrow as qn
from spurious.constructions import single_neuron as sn
from spurious.constructions import split_neuron as sp
from spurious.constructions import yun_smooth as ys
from spurious.errors import InputError
from spurious.verifiers import verify
from spurious.certificate import (NON_STRICT_LOCAL_MIN, NOT_GLOBAL, NOT_LOCAL_MIN, STRICT_LOCAL_MIN,
                                         STRICT_MODULO_SYMMETRY, UNKNOWN)

MODULES = (ys, co, qn, sn, sp, ns)


@pytest.mark.parametrize("mod", MODULES)
def test_family_dicts(mod):
    f = mod.FAMILY
    assert {"name", "reference", "activations", "architectures", "strict", "params", "function"} <= set(f)
    sig = inspect.signature(f["function"])
    assert all(p.kind == p.KEYWORD_ONLY for p in sig.parameters.values())
    assert {p.name for p in f["params"]} == set(sig.parameters)
    assert all(isinstance(p, Param) for p in f["params"])
    from spurious.constructions import Family

    assert Family(**f).name == f["name"]        # the registry's record accepts the dict as is


# --- yun-smooth --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", sorted(ys.TUPLES))
def test_yun_smooth_every_activation(act):
    c = ys.yun_smooth(activation=act)
    cert = verify(c)
    assert (cert.verdict, cert.glob, cert.rigor) == (NON_STRICT_LOCAL_MIN, NOT_GLOBAL, "interval")
    assert cert.loss == fmpq(2, 9)                       # (1/3)(1/9 + 1/9 + 4/9), mean convention
    lo, hi = evaluate_float(c.problem, c.point)[0], evaluate_float(c.problem, c.witness)[0]
    assert abs(lo - 2 / 9) < 1e-15 and hi < 1e-20       # float agrees with the exact numbers


def test_yun_published_numbers_side_by_side():
    rows = ys.reproduce(("sigmoid", "tanh"), verify=verify)
    for r in rows:
        assert r["paper_local_min_half_sum"] == fmpq(1, 3) and r["paper_global_half_sum"] == 0
        assert r["ours_local_min_half_sum"] == fmpq(1, 3)                     # 1/3 in the 1/2-sum convention
        assert 0 <= r["ours_witness_half_sum_upper"] < fmpq(1, 10**30)        # against 0
        assert r["global"] == NOT_GLOBAL


def test_yun_reproduce_rows_for_the_cli_are_equal():
    rows = ys.reproduce_rows(("sigmoid",), verify=verify)
    assert [(p, o) for _, p, o in rows] == [(fmpq(1, 3), fmpq(1, 3)), (0, 0)]


def test_yun_tanh_tuple_needs_C27_not_positive_curvature():
    """Our tanh tuple has c_2 = u_2 h''(v_2) < 0: the minimum rests on Yun's (C2.7), not on c_j > 0."""
    from flint import arb

    c = ys.yun_smooth(activation="tanh")
    u2, v2 = c.point.layers[1].W[0][1], c.point.layers[0].b[1]
    s2 = co.act_values(c.network.activations[0], v2)[2]
    assert arb(u2) * s2 < 0
    assert c.point.layers[0].W == ((0, 0), (0, 0))


def test_yun_range_checked():
    with pytest.raises(InputError, match="C2.6"):
        ys.yun_smooth(activation="sigmoid", v1=1, v2=1, u1=fmpq(1, 6))
    with pytest.raises(InputError, match="smooth"):
        ys.yun_smooth(activation="relu")


# --- constant-output ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(), dict(width=1), dict(activation="tanh", width=2),
                                dict(activation="softplus", d=2, width=2, seed=1),
                                dict(activation="gelu", d=3, seed=2), dict(activation="swish", width=4),
                                dict(activation="erf", width=2, d=2, seed=5)])
def test_constant_output_settings(kw):
    c = co.constant_output(**kw)
    cert = verify(c)
    assert (cert.verdict, cert.glob) == (NON_STRICT_LOCAL_MIN, NOT_GLOBAL)
    Y = [y[0] for y in c.problem.data.Y]
    ybar = sum(Y, fmpq(0)) / len(Y)
    assert cert.loss == sum(((y - ybar) ** 2 for y in Y), fmpq(0)) / len(Y)
    assert cert.radius is not None and cert.radius < fmpq(1, 2**100)
    assert abs(evaluate_float(c.problem, c.point)[0] - float(cert.loss)) < 1e-14


def test_constant_output_quadratic_is_exactly_critical_and_agrees_with_exact_path():
    c = co.constant_output(activation="quadratic", width=3, d=2, seed=3)
    ev = evaluate_exact(c.problem, c.point, order=1)
    assert all(g == 0 for g in ev.gradient)              # exactly critical, rational point
    cert = verify(c)
    assert (cert.verdict, cert.glob, cert.radius) == (NON_STRICT_LOCAL_MIN, NOT_GLOBAL, None)
    assert verify(c, rigor="exact").verdict not in (NOT_LOCAL_MIN, "not_critical")


def test_generated_data_satisfies_premises_exactly():
    for d, seed in ((2, 1), (3, 4), (4, 0)):
        X, Y = co.symmetric_design(d, seed)
        ybar, r, k = co.check_data(X, Y)
        assert k == d and sum(r, fmpq(0)) == 0


def test_constant_output_range_checked():
    with pytest.raises(InputError, match="sigma''"):
        co.constant_output(biases=[1], output_weights=[1], width=1)          # sigmoid''(1) < 0 with u > 0
    with pytest.raises(InputError, match="sum_i r_i x_i = 0"):
        co.check_data(((fmpq(-1),), (fmpq(0),), (fmpq(2),)), ((fmpq(0),), (fmpq(1),), (fmpq(0),)))
    with pytest.raises(InputError, match="positive definite"):
        co.check_data(((fmpq(-1),), (fmpq(0),), (fmpq(1),)), ((fmpq(1),), (fmpq(0),), (fmpq(1),)))
    with pytest.raises(InputError, match="C\\^3"):
        co.constant_output(activation="relu")


def test_constant_output_round_trip():
    c = co.constant_output(width=2)
    again = loads_candidate(c.dumps())
    assert verify(again).verdict == NON_STRICT_LOCAL_MIN


# --- quadratic-narrow --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("d,seed", [(2, 0), (3, 0), (2, 5), (4, 1)])
def test_quadratic_narrow_strict(d, seed):
    c = qn.quadratic_narrow(d=d, seed=seed)
    cert = verify(c)
    assert (cert.verdict, cert.glob, cert.rigor) == (STRICT_LOCAL_MIN, NOT_GLOBAL, "exact")
    assert cert.loss == fmpq(4 * (d - 1) ** 2 + 3 * (d - 1), 3 * d - 2)     # (1/n) sum r_i^2 of the design
    ev = evaluate_exact(c.problem, c.point, order=1)
    assert all(g == 0 for g in ev.gradient)


@pytest.mark.parametrize("d", [2, 3])
def test_quadratic_narrow_trainable_output_modulo_rescaling(d):
    c = qn.quadratic_narrow(d=d, train_output=True, seed=2)
    cert = verify(c)
    assert (cert.verdict, cert.glob) == (STRICT_MODULO_SYMMETRY, NOT_GLOBAL)
    assert cert.symmetries == ("positive rescaling of hidden units (1)",)


@pytest.mark.parametrize("d,k,seed", [(3, 2, 0), (4, 2, 3), (4, 3, 0)])
def test_quadratic_narrow_wider_modulo_orbit(d, k, seed):
    """k >= 2 (still < d): strict modulo the k(k-1)/2-dimensional orbit, exact; the generic exact path does not
    contradict it (it cannot quotient this symmetry)."""
    c = qn.quadratic_narrow(d=d, k=k, seed=seed)
    cert = verify(c)
    assert (cert.verdict, cert.glob, cert.rigor) == (STRICT_MODULO_SYMMETRY, NOT_GLOBAL, "exact")
    assert f"orbit dimension {k * (k - 1) // 2}" in cert.symmetries[0]
    n = k + (d - k) + 2 * k * (d - k) + k * (k - 1) // 2
    assert cert.loss == (fmpq(4 * (d - k) ** 2, k) + (d - k) + fmpq(2 * (d - k), k)) / n
    assert verify(c, rigor="exact").verdict not in (NOT_LOCAL_MIN, "not_critical")


def test_quadratic_narrow_range_checked():
    with pytest.raises(InputError, match="k <= 2"):
        qn.quadratic_narrow(d=3, k=3)
    with pytest.raises(InputError, match="train_output needs k = 1"):
        qn.quadratic_narrow(d=3, k=2, train_output=True)


def test_quadratic_narrow_hessian_matches_closed_form():
    """At d = 2 (standard basis) the Hessian is (4/n) diag(4d - 2, 1) = diag(6, 1)."""
    c = qn.quadratic_narrow(d=2)
    H = evaluate_exact(c.problem, c.point).hessian
    assert [[H[i, j] for j in range(2)] for i in range(2)] == [[6, 0], [0, 1]]


# --- single-neuron -----------------------------------------------------------------------------------------------
def test_single_neuron_d2_all_minima_certified():
    cands = sn.all_minima(d=2, n=4)
    assert len(cands) == 4                                # floor(4/2)^2
    certs = [verify(c) for c in cands]
    assert all(c.verdict == STRICT_LOCAL_MIN and c.rigor == "interval" for c in certs)
    globs = sorted(c.glob for c in certs)
    assert globs.count(NOT_GLOBAL) == 3 and globs.count(UNKNOWN) == 1
    pts = {tuple(c.point.flatten(c.network)) for c in cands}
    assert len(pts) == 4


def test_single_neuron_leftover_samples_and_d1():
    cands = sn.all_minima(d=2, n=5)                       # floor(5/2)^2 = 4, one example at x = 0
    assert len(cands) == 4 and cands[0].problem.data.n == 5
    one = sn.all_minima(d=1, n=3)
    assert [verify(c).verdict for c in one] == [STRICT_LOCAL_MIN] * 3


@pytest.mark.slow
def test_single_neuron_d2_nine_minima():
    cands = sn.all_minima(d=2, n=6)
    assert len(cands) == 9
    certs = [verify(c) for c in cands]
    assert all(c.verdict == STRICT_LOCAL_MIN for c in certs)
    assert sum(c.glob == NOT_GLOBAL for c in certs) == 8


def test_single_neuron_range_checked():
    with pytest.raises(InputError, match="n >= d"):
        sn.single_neuron(d=3, n=2)
    with pytest.raises(InputError, match="index"):
        sn.single_neuron(d=2, n=4, index=[0, 2])


# --- split-neuron ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lam,verdict", [("3/2", STRICT_LOCAL_MIN), ("-1", STRICT_LOCAL_MIN),
                                         ("1/2", NOT_LOCAL_MIN), ("1/4", NOT_LOCAL_MIN)])
def test_split_single_neuron(lam, verdict):
    """B < 0 for the single-neuron parent: lam (1 - lam) B > 0 exactly when lam is outside [0, 1]."""
    c = sp.split_neuron(parent="single-neuron", lam=lam)
    cert = verify(c)
    assert cert.verdict == verdict and cert.rigor == "interval"
    if verdict == STRICT_LOCAL_MIN:
        assert cert.glob == NOT_GLOBAL
    assert c.meta["lineage"]["parent_construction"] == "single-neuron"
    assert len(c.meta["lineage"]["parent_sha256"]) == 64
    assert c.network.widths == (1, 2, 1)


@pytest.fixture(scope="module")
def tanh_parent():
    return ns.narrow_strict(activation="tanh", seed=1)


def test_split_tanh_parent_saddles(tanh_parent):
    """Width-2 tanh parent with biases: B is indefinite for both units, so every split is a saddle."""
    for unit, lam in ((0, "1/2"), (1, "2")):
        cert = verify(sp.split_neuron(parent=tanh_parent, unit=unit, lam=lam))
        assert cert.verdict == NOT_LOCAL_MIN


def test_split_range_checked():
    with pytest.raises(InputError, match="lam not in"):
        sp.split_neuron(lam=1)


# --- narrow-strict -----------------------------------------------------------------------------------------------
def test_narrow_strict_tanh(tanh_parent):
    cert = verify(tanh_parent)
    assert (cert.verdict, cert.glob, cert.rigor) == (STRICT_LOCAL_MIN, NOT_GLOBAL, "interval")
    assert tanh_parent.network.widths[1] < tanh_parent.problem.data.n


@pytest.mark.parametrize("act", ["sigmoid", "erf"])
def test_narrow_strict_other_activations(act):
    c = ns.narrow_strict(activation=act, seed=1)
    cert = verify(c)
    assert (cert.verdict, cert.glob) == (STRICT_LOCAL_MIN, NOT_GLOBAL)


def test_narrow_strict_range_checked():
    with pytest.raises(InputError, match="m < n"):
        ns.narrow_strict(widths=(1, 4, 1), n=4)
    with pytest.raises(InputError, match="smooth"):
        ns.narrow_strict(activation="relu")


def test_numpy_activations_match_ball_values():
    from spurious.activations import make_activation
    from spurious.arithmetic.contexts import BallContext
    from flint import arb

    for name in ns.SMOOTH:
        s, ds = ns.numpy_activation(name)
        v = make_activation(name).evaluate(BallContext(128), arb(fmpq(3, 7)))
        assert abs(float(s(np.array(3 / 7))) - float(v[0].mid())) < 1e-14
        assert abs(float(ds(np.array(3 / 7))) - float(v[1].mid())) < 1e-14
