"""One vocabulary for every family (issue 14): ranges declared once as data (Param kind/min/max/choices, Shape),
``Family.covers`` agreeing with ``construct``, ``spurious constructions --json`` listing the ranges, and ``find``
taking a non-planted family's route where one covers the request."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from spurious.cli import _register, cli
from spurious.constructions import Param, Shape, construct, families, get_family
from spurious.constructions.common import activation_of
from spurious.errors import InputError

# family -> (covered and cheap to build: widths, activation), [uncovered: (widths, activation, word of the range)]
CASES = {
    "yun-lift": ([((1, 2, 1), "relu"), ((4, 2, 1), "leaky_relu:1/10")],
                 [((1, 1, 1), "relu", "hidden width"), ((1, 2, 2, 1), "relu", "depth"),
                  ((1, 2, 1), "tanh", "one breakpoint at 0")]),
    "pattern-minima": ([((1, 2, 1), "relu")], [((1, 2, 2, 1), "relu", "depth"), ((1, 2, 1), "sigmoid", "breakpoint")]),
    "deep-lift": ([((1, 2, 2, 1), "relu")], [((1, 2, 1), "relu", "depth"), ((1, 2, 1, 1), "relu", "hidden width"),
                                             ((1, 2, 2, 1), "tanh", "piecewise linear")]),
    "dead-units": ([((1, 2, 1), "relu"), ((1, 2, 2, 1), "relu")],
                   [((1, 2, 1), "leaky_relu:1/10", "slope 0"), ((1, 2, 2), "relu", "output width")]),
    "yun-smooth": ([((2, 2, 1), "tanh")], [((1, 2, 1), "tanh", "only 2,2,1"), ((2, 2, 1), "relu", "smooth")]),
    "constant-output": ([((2, 3, 1), "tanh"), ((1, 2, 1), "quadratic")],
                        [((1, 2, 1), "relu", "sigma''"), ((1, 2, 2, 1), "tanh", "depth"),
                         ((51, 2, 1), "tanh", "input width")]),
    "safran-shamir": ([], [((5, 5, 1), "relu", "input width"), ((7, 9, 1), "relu", "n <= k + 1"),
                           ((7, 7, 1), "tanh", "relu")]),
    "single-neuron": ([((2, 1, 1), "sigmoid")], [((2, 2, 1), "sigmoid", "hidden width"),
                                                 ((2, 1, 1), "tanh", "sigmoid"), ((7, 1, 1), "sigmoid", "input")]),
    "split-neuron": ([((1, 2, 1), "sigmoid")], [((1, 1, 1), "sigmoid", "hidden width"),
                                                ((1, 2, 1), "relu", "smooth")]),
    "narrow-strict": ([], [((2, 4, 1), "tanh", "m (d + 2) + 1 <= 13"), ((1, 2, 1), "relu", "smooth"),
                           ((1, 2, 2, 1), "tanh", "depth")]),
    "quadratic-narrow": ([((3, 2, 1), "quadratic")], [((3, 3, 1), "quadratic", "k <= d - 1"),
                                                      ((3, 2, 1), "relu", "quadratic"),
                                                      ((1, 1, 1), "quadratic", "input width")]),
}


def test_every_family_has_cases_and_declares_its_ranges_as_data():
    assert set(CASES) | {"planted"} == {f.name for f in families()}
    for fam in families():
        by_name = {p.name: p for p in fam.params}
        assert by_name["widths"].kind == "widths" and by_name["activation"].kind == "activation", fam.name
        if fam.name != "planted":  # planted.py (another branch) keeps its own covers
            assert isinstance(by_name["widths"].shape, Shape) and by_name["activation"].choices, fam.name
        assert all(p.kind for p in fam.params), (fam.name, [p.name for p in fam.params if not p.kind])


@pytest.mark.parametrize("name", sorted(CASES))
def test_covers_agrees_with_construct(name):
    fam = get_family(name)
    covered, uncovered = CASES[name]
    for widths, act in covered:
        assert fam.covers(widths, act) and fam.range_violation(widths, act) is None, (widths, act)
        cand = construct(name, widths=widths, activation=activation_of(act))
        cand = cand[0] if isinstance(cand, list) else cand
        assert cand.network.widths == widths and cand.network.activations[0] == activation_of(act)
    for widths, act, word in uncovered:
        assert not fam.covers(widths, act), (widths, act)
        reason = fam.range_violation(widths, act)
        assert word in reason and reason.startswith(f"{name}: "), reason
        with pytest.raises(InputError) as exc:
            construct(name, widths=widths, activation=activation_of(act))
        assert str(exc.value) == reason and "\n" not in reason


def test_widths_set_the_mapped_parameters_and_conflicts_are_errors():
    fam = get_family("safran-shamir")
    assert fam.covers((6, 6, 1), "relu") and fam.covers((7, 8, 1), "relu")
    with pytest.raises(InputError, match=r"k = 6 conflicts with widths \[7, 7, 1\]"):
        construct("safran-shamir", widths=(7, 7, 1), k=6)
    with pytest.raises(InputError, match=r"width = 2 conflicts"):
        construct("constant-output", widths=(1, 3, 1), width=2)
    # the explicit parameters build the same candidate as the widths that set them
    a = construct("quadratic-narrow", widths=(3, 2, 1))
    b = construct("quadratic-narrow", d=3, k=2)
    assert a.to_json() == b.to_json()


def test_symbolic_bounds_and_defaults_that_fit_the_architecture():
    # yun-lift's n >= d_0 + 2: the default n = 5 rises to 6 for d_0 = 4, an explicit n = 5 is named as too small
    assert len(construct("yun-lift", widths=(4, 2, 1)).problem.data.X) == 6
    with pytest.raises(InputError, match=r"d_0 \+ 2 <= n <= 10000 \(d_0 \+ 2 = 6 here\)"):
        construct("yun-lift", widths=(4, 2, 1), n=5)
    with pytest.raises(InputError, match=r"layer <= L - 1 \(L - 1 = 1 here\)"):
        construct("dead-units", widths=(1, 2, 1), layer=2)
    p = Param("n", None, kind="int", min="d_0 + 2", max=40)
    p.check(4, {"d_0": 2})
    with pytest.raises(InputError):
        p.check(3, {"d_0": 2})
    p.check(3, {})  # an unknown symbol leaves the bound to the family function


def test_split_neuron_builds_its_parent_for_the_widths_minus_one_unit():
    cand = construct("split-neuron", widths=(2, 2, 1), activation=activation_of("sigmoid"))
    assert cand.network.widths == (2, 2, 1)
    parent = construct("single-neuron", widths=(2, 1, 1))
    assert cand.meta["lineage"]["parent_params"] == parent.meta["params"]
    assert get_family("split-neuron").covers((3, 2, 1), "sigmoid")
    assert get_family("split-neuron").covers((7, 2, 1), "sigmoid")  # narrow-strict covers 7,1,1 (P = 10 <= 13)
    assert not get_family("split-neuron").covers((12, 2, 1), "sigmoid")  # no parent covers 12,1,1
    with pytest.raises(InputError, match="no parent for widths"):
        construct("split-neuron", widths=(7, 2, 1), activation=activation_of("sigmoid"), parent="single-neuron")


def test_constructions_json_lists_the_structured_ranges():
    _register()
    res = CliRunner().invoke(cli, ["constructions", "--json"])
    assert res.exit_code == 0
    listed = {f["name"]: f for f in json.loads(res.output)}
    yl = {p["name"]: p for p in listed["yun-lift"]["params"]}
    assert yl["widths"]["shape"]["hidden"] == [2, None] and yl["widths"]["shape"]["layers"] == [1, 1]
    assert yl["activation"]["choices"] == ["two_slope"]
    assert yl["n"]["kind"] == "int" and yl["n"]["min"] == "d_0 + 2"
    ss = {p["name"]: p for p in listed["safran-shamir"]["params"]}
    assert ss["k"]["from_widths"] == 0 and ss["n"]["from_widths"] == 1 and ss["n"]["max"] == "k + 1"
    assert listed["safran-shamir"]["fixed_parameters"]
    assert listed["yun-smooth"]["params"][0]["shape"]["only"] == [[2, 2, 1]]
    assert all(f["architecture_params"] for f in listed.values())


def test_cli_construct_out_of_range_is_one_line_exit_2():
    _register()
    res = CliRunner().invoke(cli, ["construct", "safran-shamir", "--widths", "7,9,1"])
    assert res.exit_code == 2 and res.output.startswith("error: safran-shamir: n: must satisfy k <= n <= k + 1")
    assert res.output.count("\n") == 1
    res = CliRunner().invoke(cli, ["construct", "safran-shamir", "--param", "k=7", "--param", "n=9"])
    assert res.exit_code == 2 and "k <= n <= k + 1 (k = 7, k + 1 = 8 here)" in res.output  # strings from the CLI


def test_find_takes_a_covering_family_route():
    from spurious.finder import find

    res = find((1, 2, 1), "relu", strict=False, budget=60)  # yun-lift's minima are non-strict
    assert res.found and res.route.startswith("family yun-lift")
    assert any("family safran-shamir: does not cover" in t for t in res.tried)
    res = find((2, 3, 1), "tanh", strict=False, budget=60)
    assert res.found and res.route.startswith("family constant-output")
    assert res.candidate.network.widths == (2, 3, 1)
    assert any("yun-smooth: widths: only 2,2,1" in t for t in res.tried)


def test_family_table_has_a_row_per_family_from_the_declared_data():
    from spurious.constructions import family_table

    rows = family_table().splitlines()[2:]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == [f.name for f in families()]
    safran = next(r for r in rows if r.startswith("| safran-shamir"))
    assert "k <= n <= k + 1" in safran and "(= d_1 of widths)" in safran
    assert all(r.count(" | ") == 3 for r in rows)  # pipes inside cells are escaped
