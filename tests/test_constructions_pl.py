"""Piecewise-linear construction families: yun-lift, pattern-minima, deep-lift, dead-units, the registry and CLI.

Every candidate must be certified exactly (non-global local minimum with the predicted verdict); the paper's
numbers are recomputed from their formulas; pattern-minima is compared with an independent brute force.
"""

import itertools
import re
import json
from fractions import Fraction

import pytest
from click.testing import CliRunner
from flint import fmpq, fmpq_mat

import spurious
from spurious import construct, load_candidate
from spurious.arithmetic import evaluate_exact
from spurious.cli import cli, _register
from spurious.constructions import families
from spurious.constructions.pattern_minima import interior_patterns
from spurious.constructions.yun_lift import reproduce, theorem1_example
from spurious.errors import InputError
from spurious.network import Point
from spurious.problem import FiniteData
from spurious.verifiers import verify
from spurious.verifiers.frozen_pattern import certify

RELU, LEAKY, TWO = "relu", "leaky_relu:1/10", "piecewise_linear:breakpoints=0;slopes=1/2,3"
CLIP = "piecewise_linear:breakpoints=-1,1;slopes=0,1,0"


def data(xs, ys):
    return FiniteData(tuple(tuple(fmpq(v) for v in (x if isinstance(x, tuple) else (x,))) for x in xs),
                      tuple((fmpq(y),) for y in ys))


def affine_ls_loss(X, Y):
    """Independent exact affine least squares (normal equations in Fractions), mean convention."""
    n, d = len(X), len(X[0])
    A = [[Fraction(int(v.p), int(v.q)) for v in x] + [Fraction(1)] for x in X]
    y = [Fraction(int(v[0].p), int(v[0].q)) for v in Y]
    k = d + 1
    M = [[sum(A[i][a] * A[i][b] for i in range(n)) for b in range(k)] + [sum(A[i][a] * y[i] for i in range(n))]
         for a in range(k)]
    for c in range(k):  # Gauss-Jordan (the generated inputs give a full-rank design)
        p = next(r for r in range(c, k) if M[r][c] != 0)
        M[c], M[p] = M[p], M[c]
        M[c] = [v / M[c][c] for v in M[c]]
        for r in range(k):
            if r != c:
                M[r] = [a - M[r][c] * b for a, b in zip(M[r], M[c])]
    coef = [M[r][k] for r in range(k)]
    rss = sum((sum(a * c for a, c in zip(row, coef)) - yi) ** 2 for row, yi in zip(A, y))
    return fmpq(rss.numerator, rss.denominator) / n


def assert_certified(cand, verdict):
    for cert in (certify(cand), verify(cand)):
        assert cert.verdict == verdict, cert.reasons
        assert cert.glob == "not_global"
        assert cert.rigor == "exact"
        assert cert.spurious
    assert cert.loss == evaluate_exact(cand.problem, cand.point, order=0).loss


def round_trip(cand):
    back = spurious.loads_candidate(cand.dumps())
    assert back.point == cand.point and back.witness == cand.witness and back.problem == cand.problem
    assert back.meta["construction"] == cand.meta["construction"] and "seed" in back.meta["params"]


# yun-lift ------------------------------------------------------------------------------------------------------
def test_theorem1_example_equals_the_shipped_example():
    cand = theorem1_example()
    shipped = load_candidate("examples/yun2019-theorem1.json")
    assert cand.point == shipped.point and cand.witness == shipped.witness
    assert evaluate_exact(cand.problem, cand.point, order=0).loss == fmpq(3, 14)
    assert evaluate_exact(cand.problem, cand.witness, order=0).loss == fmpq(23, 112)
    assert_certified(cand, "non_strict_local_min")


def test_theorem1_side_by_side_with_the_papers_formulas():
    rows = {q: (paper, ours) for q, paper, ours in reproduce()}
    # (1/2) sum convention: l0 = 9/28; with kappa = 1, gamma = 1/28, S = 3/14, m = 3: 9/28 - 3/196 + 3/1568
    assert rows["loss at the minimum (paper: 1/2 sum)"] == (fmpq(9, 28), fmpq(9, 28))
    key = [q for q in rows if q.startswith("witness loss l0")][0]
    assert rows[key] == (fmpq(9, 28) - 2 * fmpq(1, 28) * fmpq(3, 14) + fmpq(3, 2) * fmpq(1, 28) ** 2,) * 2
    assert rows["witness loss (mean)"] == (fmpq(23, 112), fmpq(23, 112))


def _paper_witness_loss(cand):
    """Recompute l~ = l0 - 2 kappa gamma S + (m/2) kappa^2 gamma^2 (1/2-sum) from the witness itself, in mean."""
    X, Y, m = cand.problem.data.X, cand.problem.data.Y, cand.problem.data.n
    W1, b1 = cand.witness.layers[0].W, cand.witness.layers[0].b
    s_minus, s_plus = cand.network.activations[0].slopes
    kappa = (s_plus - s_minus) / (s_plus + s_minus)
    beta = cand.witness.layers[1].b[0]
    gamma = (b1[0] + b1[1]) / 2
    ybar = [sum((w * x for w, x in zip(W1[0], xi)), fmpq(0)) + b1[0] + beta - gamma for xi in X]
    S = sum((yb - y[0] for yb, y in zip(ybar, Y) if yb < beta), fmpq(0))
    l0 = sum(((yb - y[0]) ** 2 for yb, y in zip(ybar, Y)), fmpq(0)) / 2
    return (l0 - 2 * kappa * gamma * S + fmpq(m, 2) * kappa ** 2 * gamma ** 2) * 2 / m, l0 * 2 / m


@pytest.mark.parametrize("activation", [RELU, LEAKY, TWO, "piecewise_linear:breakpoints=0;slopes=1/2,-1"])
@pytest.mark.parametrize("widths", [(1, 2, 1), (2, 3, 1), (3, 2, 1)])
def test_yun_lift_grid(activation, widths):
    for seed in (0, 1):
        cand = construct("yun-lift", widths=widths, activation=activation, seed=seed, n=6)
        loss = evaluate_exact(cand.problem, cand.point, order=0).loss
        assert loss == affine_ls_loss(cand.problem.data.X, cand.problem.data.Y)
        if "J != {}" in cand.meta["notes"]:
            formula, l0 = _paper_witness_loss(cand)
            assert l0 == loss
            assert evaluate_exact(cand.problem, cand.witness, order=0).loss == formula
        assert_certified(cand, "non_strict_local_min")
    round_trip(cand)


@pytest.mark.parametrize("xs, ys", [((-1, 0, 1), (1, 0, 1)),                              # fit is constant
                                    (((0, 0), (1, 0), (0, 1), (1, 1)), (0, 1, 1, 0))])   # XOR: ties in y_bar
def test_yun_lift_J_empty_uses_the_kink_witness(xs, ys):
    d = data(xs, ys)
    cand = construct("yun-lift", widths=(len(d.X[0]), 2, 1), data=d)
    assert "J = {}" in cand.meta["notes"]
    assert_certified(cand, "non_strict_local_min")


@pytest.mark.parametrize("params, message", [
    ({"widths": (1, 1, 1)}, "d_1 >= 2"),
    ({"widths": (1, 2, 2, 1)}, "depth"),
    ({"widths": (1, 2, 2)}, "output width must be 1"),
    ({"activation": "piecewise_linear:breakpoints=0;slopes=-1,1"}, "s+ + s- != 0"),
    ({"activation": "piecewise_linear:breakpoints=0;slopes=1,0"}, "s+ != 0"),
    ({"activation": CLIP}, "one breakpoint at 0"),
    ({"activation": "tanh"}, "one breakpoint at 0"),
    ({"alpha": 0}, "alpha > 0"),
    ({"n": 2}, "3 <= n <= 10000"),
    ({"widths": (2, 2, 1), "n": 3}, "n >= input_dim + 2"),
    ({"seed": -1}, "seed"),
    ({"j0": "last"}, "'first' or 'best'"),
    ({"data": data((0, 1, 2), (1, 2, 3))}, "affine map fits the data exactly"),
    ({"data": data((0, 0, 1), (1, 2, 3))}, "distinct"),
])
def test_yun_lift_out_of_range(params, message):
    with pytest.raises(InputError, match=re.escape(message)):
        construct("yun-lift", **params)


def test_unknown_parameter_and_family():
    with pytest.raises(InputError, match="known: .*alpha"):
        construct("yun-lift", beta=1)
    with pytest.raises(InputError, match="unknown construction"):
        construct("no-such-family")


# frozen-pattern checker against non-minima ---------------------------------------------------------------------
def test_frozen_pattern_refuses_near_misses():
    cand = theorem1_example()
    # output bias moved: pattern frozen, but the loss is above the least-squares loss: no claim
    layers = cand.point.to_json()
    layers[1]["b"] = ["-99/100"]
    moved = cand.with_point(Point.from_json(cand.network, layers))
    assert certify(moved).verdict == "inconclusive"
    assert verify(moved).verdict == "not_critical"
    # a sample exactly on the kink of unit 1 (x = 0 and b = 0 after the shift)
    layers = cand.point.to_json()
    layers[0]["b"] = [0, 1]
    assert certify(cand.with_point(Point.from_json(cand.network, layers))).verdict == "inconclusive"
    # the witness is not a minimum and must not be certified as one
    assert certify(cand.with_point(cand.witness)).verdict == "inconclusive"


def test_frozen_pattern_deep_unit_changing_piece_is_inconclusive():
    cand = construct("deep-lift", widths=(1, 2, 2, 1), seed=0)
    layers = cand.point.to_json()
    # make layer-2 unit 0 switch sides between samples: weight on the channel scaled so pre-activations straddle 0
    b = cand.point.layers[1].b
    layers[1]["b"] = [str(b[0] - 2), layers[1]["b"][1]]  # window [1, 3] of relu shifted to [-1, 1]
    moved = cand.with_point(Point.from_json(cand.network, layers))
    cert = certify(moved)
    assert cert.verdict == "inconclusive" and "changes piece" in cert.reasons[0]


# pattern-minima ------------------------------------------------------------------------------------------------
def _realisable_1d(X):
    """All sign vectors realised by w x + b without zeros, by brute force over 2^n vectors."""
    xs = sorted({x[0] for x in X})
    cands = [(fmpq(0), fmpq(1)), (fmpq(0), fmpq(-1))]
    for lo, hi in zip(xs, xs[1:]):
        cands += [(fmpq(1), -(lo + hi) / 2), (fmpq(-1), (lo + hi) / 2)]
    out = set()
    for signs in itertools.product((1, -1), repeat=len(X)):
        if any(all((w * x[0] + b > 0) == (s > 0) and w * x[0] + b != 0 for x, s in zip(X, signs))
               for w, b in cands):
            out.add(signs)
    return out


def _pinv_solution(cols, y):
    """Minimum-norm least squares by a full-rank factorisation A = B C: x = C^T (C C^T)^-1 (B^T B)^-1 B^T y."""
    A = fmpq_mat([[c[i] for c in cols] for i in range(len(y))])
    R, r = A.rref()
    piv = [next(j for j in range(A.ncols()) if R[i, j] != 0) for i in range(r)]
    B = fmpq_mat([[A[i, j] for j in piv] for i in range(A.nrows())])
    C = fmpq_mat([[R[i, j] for j in range(A.ncols())] for i in range(r)])
    Y = fmpq_mat([[v] for v in y])
    x = C.transpose() * (C * C.transpose()).inv() * (B.transpose() * B).inv() * B.transpose() * Y
    return list(x.entries())


def brute_force_interior(X, Y, width, s_minus, s_plus):
    pats = sorted(_realisable_1d(X))
    found = set()
    for combo in itertools.product(pats, repeat=width):  # ordered tuples: every permutation
        cols = []
        for pat in combo:
            s = [s_plus if p > 0 else s_minus for p in pat]
            cols += [[si * x[0] for si, x in zip(s, X)], list(s)]
        cols.append([fmpq(1)] * len(X))
        u = _pinv_solution(cols, [y[0] for y in Y])
        ok = True
        for j, pat in enumerate(combo):
            uw, ub = u[2 * j], u[2 * j + 1]
            if s_minus == 0 and all(p < 0 for p in pat):
                continue
            if uw == 0 and ub == 0:
                continue
            q = [uw * x[0] + ub for x in X]
            if not (all(qi * p > 0 for qi, p in zip(q, pat)) or all(qi * p < 0 for qi, p in zip(q, pat))):
                ok = False
                break
        if ok:
            found.add(tuple(sorted(combo)))
    return found


DATASETS = [
    ((0, 1, 2, 3, 4), (0, 2, 1, 3, 0)),
    ((-3, -1, 0, 2, 5, 6), (1, -1, 2, 0, 1, 3)),
    ((0, 1, 2, 4, 5, 7, 8), (3, 0, 1, 1, 4, 0, 2)),
    ((-4, -3, -1, 0, 1, 2, 4, 6), (0, 1, 0, 2, -1, 1, 3, 0)),
]


@pytest.mark.parametrize("activation, slopes", [(RELU, (0, 1)), (LEAKY, (fmpq(1, 10), 1))])
@pytest.mark.parametrize("xs, ys", DATASETS)
def test_pattern_minima_matches_brute_force(activation, slopes, xs, ys):
    d = data(xs, ys)
    widths = (1, 2) if len(xs) > 6 else (1, 2, 3)
    for width in widths:
        found, stats = interior_patterns(d.X, d.Y, width, fmpq(slopes[0]), fmpq(slopes[1]))
        assert stats["exhaustive"] and stats["unit_patterns"] == 2 * len(xs)
        ours = {tuple(sorted(r["patterns"])) for r in found}
        assert ours and ours == brute_force_interior(d.X, d.Y, width, fmpq(slopes[0]), fmpq(slopes[1]))


@pytest.mark.parametrize("activation", [RELU, LEAKY, TWO])
def test_pattern_minima_all_certified(activation):
    verdicts = set()
    for xs, ys in DATASETS:
        for width in (1, 2, 3):
            d = data(xs, ys)
            try:
                cands = construct("pattern-minima", widths=(1, width, 1), activation=activation, data=d, which="all")
            except InputError as exc:
                assert "provably non-global" in str(exc) or "no interior" in str(exc)
                continue
            best = evaluate_exact(cands[0].problem, cands[0].witness, order=0).loss
            for cand in cands:
                assert evaluate_exact(cand.problem, cand.point, order=0).loss > best
                cert = certify(cand)
                assert (cert.verdict, cert.glob, cert.rigor) == (cand.meta["expected_verdict"], "not_global", "exact")
                verdicts.add(cert.verdict)
            assert_certified(cands[0], cands[0].meta["expected_verdict"])
    assert verdicts == {"strict_modulo_symmetry", "non_strict_local_min"}


def test_pattern_minima_higher_dimension_sampled():
    cands = construct("pattern-minima", widths=(2, 2, 1), activation=LEAKY, n=7, seed=1, which="all")
    assert cands and "sampled" in cands[0].meta["notes"]
    for cand in cands:
        assert_certified(cand, cand.meta["expected_verdict"])
    round_trip(cands[0])


def test_pattern_minima_out_of_range():
    with pytest.raises(InputError, match="which: must satisfy 0 <= which"):
        construct("pattern-minima", which=10_000)
    with pytest.raises(InputError, match="samples: must satisfy 1 <= samples"):
        construct("pattern-minima", samples=0)
    with pytest.raises(InputError, match="depth"):
        construct("pattern-minima", widths=(1, 2, 2, 1))


# deep-lift -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", [RELU, LEAKY, TWO, CLIP])
@pytest.mark.parametrize("widths", [(1, 2, 2, 1), (2, 3, 2, 1), (1, 2, 3, 2, 1)])
def test_deep_lift_grid(activation, widths):
    cand = construct("deep-lift", widths=widths, activation=activation, seed=1)
    assert evaluate_exact(cand.problem, cand.point, order=0).loss == affine_ls_loss(cand.problem.data.X,
                                                                                   cand.problem.data.Y)
    assert_certified(cand, "non_strict_local_min")
    round_trip(cand)


@pytest.mark.parametrize("params, message", [
    ({"widths": (1, 2, 1)}, "depth"),
    ({"widths": (1, 2, 1, 1)}, "hidden width must be >= 2"),
    ({"activation": "tanh"}, "piecewise linear"),
])
def test_deep_lift_out_of_range(params, message):
    with pytest.raises(InputError, match=message):
        construct("deep-lift", **params)


# dead-units ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", [RELU, "piecewise_linear:breakpoints=0;slopes=0,2"])
@pytest.mark.parametrize("widths, layer", [((1, 2, 1), 1), ((2, 3, 1), 1), ((1, 1, 1), 1), ((1, 2, 2, 1), 1),
                                           ((1, 2, 2, 1), 2), ((2, 3, 2, 2, 1), 2)])
def test_dead_units_grid(activation, widths, layer):
    cand = construct("dead-units", widths=widths, activation=activation, layer=layer, seed=2)
    Y = [y[0] for y in cand.problem.data.Y]
    mean = sum(Y, fmpq(0)) / len(Y)
    assert evaluate_exact(cand.problem, cand.point, order=0).loss == sum(((y - mean) ** 2 for y in Y),
                                                                         fmpq(0)) / len(Y)
    assert_certified(cand, "non_strict_local_min")
    round_trip(cand)


def test_dead_units_clip_activation_via_verify():
    """Two zero-slope pieces at different heights: pieces must be told apart by index, not by slope."""
    cand = construct("dead-units", widths=(1, 2, 1), activation=CLIP, seed=2)
    assert certify(cand).verdict == "non_strict_local_min"
    assert verify(cand).verdict == "non_strict_local_min"


def test_dead_units_clip_activation_frozen_pattern():
    for widths, layer in (((1, 2, 1), 1), ((1, 2, 2, 1), 2), ((2, 3, 2, 1), 1)):
        cand = construct("dead-units", widths=widths, activation=CLIP, seed=2, layer=layer)
        cert = certify(cand)
        assert (cert.verdict, cert.glob, cert.rigor) == ("non_strict_local_min", "not_global", "exact")


@pytest.mark.parametrize("params, message", [
    ({"activation": LEAKY}, "slope 0"),
    ({"layer": 2}, "1 <= layer <= 1"),
    ({"data": data((0, 1, 2), (1, 1, 1))}, "a constant fits the data exactly"),
])
def test_dead_units_out_of_range(params, message):
    with pytest.raises(InputError, match=message):
        construct("dead-units", **params)


# registry and command line --------------------------------------------------------------------------------------
def test_registry_lists_families_with_declared_fields():
    names = [f.name for f in families()]
    assert names[:4] == ["yun-lift", "pattern-minima", "deep-lift", "dead-units"]
    assert spurious.construct is construct


@pytest.fixture
def runner():
    _register()
    return CliRunner()


def test_cli_constructions_json(runner):
    res = runner.invoke(cli, ["constructions", "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.output)
    for row in rows:
        assert {"name", "reference", "activations", "architectures", "params"} <= set(row)
    assert {"yun-lift", "pattern-minima", "deep-lift", "dead-units"} <= {r["name"] for r in rows}


def test_cli_reproduce(runner):
    res = runner.invoke(cli, ["constructions", "--reproduce", "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.output)
    assert rows and all(r["agree"] is not False for r in rows)
    assert all(r["agree"] for r in rows if r["family"] == "yun-lift")
    assert {"23/112", "69/224", "9/28"} <= {r["paper"] for r in rows}


def test_cli_construct_verify(runner, tmp_path):
    out = tmp_path / "x.json"
    res = runner.invoke(cli, ["construct", "yun-lift", "--widths", "1,3,1", "--out", str(out), "--verify"])
    assert res.exit_code == 0, res.output
    cand = load_candidate(out)
    assert cand.network.widths == (1, 3, 1) and cand.meta["construction"] == "yun-lift"
    assert "non_strict_local_min" in res.output and "not_global" in res.output
    res = runner.invoke(cli, ["construct", "deep-lift", "--widths", "1,2,2,1", "--activation", "leaky_relu:1/10",
                              "--param", "n=7", "--seed", "3", "--verify", "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["certificate"]["verdict"] == "non_strict_local_min" and obj["certificate"]["global"] == "not_global"
    assert obj["candidate"]["meta"]["params"]["seed"] == 3


@pytest.mark.parametrize("args, message", [
    (["construct", "yun-lift", "--widths", "1,1,1"], "d_1 >= 2"),
    (["construct", "nope"], "unknown construction"),
    (["construct", "yun-lift", "--param", "alpha"], "key=value"),
    (["construct", "yun-lift", "--param", "alpha=-1"], "alpha > 0"),
    (["construct", "yun-lift", "--param", "seed=1", "--seed", "2"], "conflicts"),
    (["construct", "yun-lift", "--activation", "bogus"], "unknown activation"),
    (["construct", "pattern-minima", "--param", "which=all"], "which=all is for the Python API"),
])
def test_cli_bad_input_exit_2(runner, args, message):
    res = runner.invoke(cli, args)
    assert res.exit_code == 2
    assert message in res.output and res.output.startswith("error: ")


def test_cli_save_without_catalog_class(runner, monkeypatch):
    import spurious.catalog as catalog

    monkeypatch.delattr(catalog, "Catalog", raising=False)
    res = runner.invoke(cli, ["construct", "yun-lift", "--save"])
    assert res.exit_code == 2 and "catalog is not available" in res.output


def test_cli_save_into_a_temporary_catalog(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("SPURIOUS_CATALOG", str(tmp_path / "cat.sqlite"))
    res = runner.invoke(cli, ["construct", "dead-units", "--widths", "1,2,1", "--save", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["catalog_id"]


def test_cli_data_from_a_candidate_file_and_a_plain_json_file(runner, tmp_path):
    out = tmp_path / "y.json"
    res = runner.invoke(cli, ["construct", "yun-lift", "--param", "data=examples/yun2019-theorem1.json",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert load_candidate(out).point == load_candidate("examples/yun2019-theorem1.json").point
    plain = tmp_path / "d.json"
    plain.write_text(json.dumps({"X": [[0], [1], [3]], "Y": [[0], [1], [0]]}))
    cand = construct("yun-lift", data=str(plain))
    assert cand.witness == load_candidate("examples/yun2019-theorem1.json").witness
    plain.write_text(json.dumps({"X": [[0], [1], [3]]}))
    with pytest.raises(InputError, match="'X' and 'Y'"):
        construct("yun-lift", data=str(plain))
    with pytest.raises(InputError, match="cannot read"):
        construct("yun-lift", data=str(tmp_path / "missing.json"))


@pytest.mark.parametrize("family", ["yun-lift", "pattern-minima", "deep-lift", "dead-units"])
def test_same_seed_same_candidate_other_seed_other_data(family):
    a, b, c = (construct(family, seed=s).dumps() for s in (5, 5, 6))
    assert a == b and a != c


def test_least_squares_helper_is_minimum_norm_and_exact():
    from spurious.linalg import least_squares, nullspace

    one, x = [fmpq(1)] * 4, [fmpq(v) for v in (0, 1, 2, 4)]
    y = [fmpq(v) for v in (1, 0, 2, 1)]
    coef, fitted, rss = least_squares([x, one, x], y)  # a repeated column: minimum norm splits it evenly
    assert coef[0] == coef[2]
    c2, f2, r2 = least_squares([x, one], y)
    assert fitted == f2 and rss == r2 and coef[0] * 2 == c2[0] and coef[1] == c2[1]
    assert nullspace([[1, 2, 3], [2, 4, 6]], 3) == [(-2, 1, 0), (-3, 0, 1)]


def test_dead_layer_with_a_sample_on_the_kink_is_not_claimed():
    cand = construct("dead-units", widths=(1, 2, 1), seed=2)
    layers = cand.point.to_json()
    X = cand.problem.data.X
    w = cand.point.layers[0].W[0][0]
    layers[0]["b"][0] = str(-w * max(x[0] for x in X))  # unit 0 exactly at 0 on the largest input
    moved = cand.with_point(Point.from_json(cand.network, layers))
    cert = certify(moved)
    assert cert.verdict == "inconclusive" and "breakpoint" in cert.reasons[0]
