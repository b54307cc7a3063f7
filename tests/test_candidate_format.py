"""The candidate file: exact number syntax, exact round trips, and one clear line for every kind of bad input."""

import json
import math
import subprocess
import sys
from fractions import Fraction

import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from spurious.candidate import FORMAT, Candidate, candidate_from_json, load_candidate, loads_candidate
from spurious.errors import InputError
from spurious.network import Point
from spurious.rationals import format_number, parse_number

from conftest import random_problem

EXAMPLE = "examples/yun2019-theorem1.json"


# numbers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [
    (3, fmpq(3)), (-7, fmpq(-7)), ("-3/7", fmpq(-3, 7)), ("0.125", fmpq(1, 8)), ("1e-3", fmpq(1, 1000)),
    ("-2.5E2", fmpq(-250)), (" 4/6 ", fmpq(2, 3)), (0.1, fmpq(3602879701896397, 36028797018963968)),
    ("0.1", fmpq(1, 10)), (1e300, fmpq(int(1e300))), ("12345678901234567890", fmpq(12345678901234567890)),
])
def test_number_syntax_is_exact(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("bad", ["nan", "inf", "1/0", "abc", "", "1/2/3", "0x10", True, None, [1], {"a": 1},
                                 float("nan"), float("inf"), "1e999999"])
def test_bad_numbers_are_rejected_with_a_message(bad):
    with pytest.raises(InputError) as err:
        parse_number(bad, "data.X[0][0]")
    assert "data.X[0][0]" in str(err.value)


rationals = st.fractions(max_denominator=10**12).filter(lambda f: abs(f.numerator) < 10**40)
floats = st.floats(allow_nan=False, allow_infinity=False)


@given(st.one_of(rationals, floats, st.integers(-10**30, 10**30)))
def test_format_then_parse_is_the_identity(x):
    q = fmpq(Fraction(x).numerator, Fraction(x).denominator) if not isinstance(x, float) \
        else fmpq(*x.as_integer_ratio())
    written = format_number(q)
    assert parse_number(json.loads(json.dumps(written))) == q


# whole candidates ---------------------------------------------------------------------------
def _candidate_strategy():
    acts = st.sampled_from(["relu", "tanh", "quadratic", "linear", "sigmoid"])
    widths = st.lists(st.integers(1, 3), min_size=2, max_size=4)
    return st.tuples(st.integers(0, 10**6), widths, acts, st.booleans(), st.booleans())


@settings(max_examples=60, deadline=None)
@given(_candidate_strategy(), st.lists(floats.filter(lambda f: abs(f) < 1e300), min_size=1, max_size=5))
def test_candidate_round_trip_is_exact(params, float_values):
    seed, widths, act, bias, with_witness = params
    problem, point = random_problem(seed, widths, act, bias=bias, n=3)
    # mix binary64 floats (written as JSON floats) and rationals (written as "p/q") into the point
    flat = point.flatten(problem.network)
    for k, f in enumerate(float_values[: len(flat)]):
        flat[k] = fmpq(*f.as_integer_ratio())
    point = point.with_flat(problem.network, flat)
    witness = point.shift(problem.network, [fmpq(1, 3)] * len(flat), fmpq(1, 7)) if with_witness else None
    cand = Candidate(problem, point, witness, {"construction": "test", "params": {"seed": seed}})
    text = cand.dumps()
    back = loads_candidate(text)
    assert back.point == cand.point
    assert back.witness == cand.witness
    assert back.problem == cand.problem
    assert back.meta == cand.meta
    assert back.dumps() == text


def test_example_file_reads_exactly():
    c = load_candidate(EXAMPLE)
    assert c.problem.network.widths == (1, 2, 1)
    assert c.point.layers[0].W[0][0] == fmpq(-1, 14)
    assert c.point.layers[0].b[0] == fmpq(10, 7)
    assert c.witness.layers[1].b[0] == fmpq(2, 7)


def test_population_candidate_round_trip():
    doc = {
        "format": FORMAT,
        "network": {"widths": [2, 2, 1], "activation": "relu", "bias": False, "trainable": [True, False]},
        "data": {"distribution": "standard_gaussian",
                 "teacher": {"network": {"widths": [2, 2, 1], "activation": "relu", "bias": False},
                             "point": [{"W": [[1, 0], [0, 1]]}, {"W": [[1, 1]]}]}},
        "point": [{"W": [["1/2", 0], [0, 1]]}, {"W": [[1, 1]]}],
    }
    c = candidate_from_json(doc)
    assert not c.problem.finite
    assert candidate_from_json(json.loads(c.dumps())).to_json() == c.to_json()


# bad input: one clear line, exit 2 ---------------------------------------------------------------
def _doc():
    return json.loads(open(EXAMPLE).read())


def _mutations():
    def drop(*path):
        def f(d):
            target = d
            for p in path[:-1]:
                target = target[p]
            del target[path[-1]]
        return f

    def setv(value, *path):
        def f(d):
            target = d
            for p in path[:-1]:
                target = target[p]
            target[path[-1]] = value
        return f

    return {
        "wrong format tag": (setv("spurious.candidate/2", "format"), "format"),
        "missing point": (drop("point"), "missing 'point'"),
        "shape mismatch in W": (setv([[1, 2]], "point", 0, "W"), "point[0] (layer 1).W"),
        "wrong number of layers": (setv([{"W": [[1]]}], "point"), "layer object"),
        "NaN in data": (setv([[float("nan")], [1], [3]], "data", "X"), "not finite"),
        "infinite label": (setv([["1e999999"], [1], [0]], "data", "Y"), "data.Y[0][0]"),
        "unknown activation": (setv("relu6", "network", "activation"), "known: linear, relu"),
        "bias where none": (setv(False, "network", "bias"), "has 'b'"),
        "absurd width": (setv([1, 10**9, 1], "network", "widths"), "network.widths[1]"),
        "absurd parameter count": (setv([50000, 50000, 1], "network", "widths"), "absurd"),
        "X and Y disagree": (setv([[0], [1]], "data", "Y"), "data.Y"),
        "input width mismatch": (setv([[0, 1], [1, 1], [3, 1]], "data", "X"), "data.X[0]"),
        "bad reduction": (setv({"name": "squared", "reduction": "median"}, "loss"), "reduction"),
        "negative weight decay": (setv({"name": "squared", "weight_decay": "-1"}, "loss"), "weight_decay"),
        "bad trainable flags": (setv([True], "network", "trainable"), "trainable"),
        "leaky slope not a number": (setv({"name": "leaky_relu", "slope": "steep"}, "network", "activation"),
                                     "activation leaky_relu.slope"),
        "unexpected key": (setv(1, "extra"), "unexpected key"),
        "witness of wrong shape": (setv([{"W": [[1]], "b": [1]}], "witness"), "witness"),
    }


@pytest.mark.parametrize("name", list(_mutations()))
def test_bad_candidates_raise_one_clear_input_error(name):
    mutate, fragment = _mutations()[name]
    doc = _doc()
    mutate(doc)
    with pytest.raises(InputError) as err:
        loads_candidate(json.dumps(doc, allow_nan=True))
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message


def _run_cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "spurious", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("content,fragment", [
    ("this is not json", "not valid JSON"),
    ('{"format": "spurious.candidate/1", "network": {"widths": [1, 1]}, "data": {"X": [[NaN]], "Y": [[1]]}, '
     '"point": [{"W": [[1]], "b": [0]}]}', "not finite"),
    (json.dumps({"format": "other"}), "format"),
    ("\xff\xfe binary", "not UTF-8"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("latin-1") if "\xff" in content else content.encode())
    for command in ("verify", "show"):
        result = _run_cli(command, str(path))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
        assert "Traceback" not in result.stderr


def test_cli_missing_file_is_exit_2():
    result = _run_cli("verify", "/nonexistent/candidate.json")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: cannot read")


def test_point_json_round_trip_keeps_floats_as_floats():
    problem, point = random_problem(1, [1, 2, 1], "tanh")
    flat = point.flatten(problem.network)
    flat[0] = fmpq(*(0.1).as_integer_ratio())
    p = point.with_flat(problem.network, flat)
    written = p.to_json()
    assert written[0]["W"][0][0] == 0.1 and isinstance(written[0]["W"][0][0], float)
    assert Point.from_json(problem.network, json.loads(json.dumps(written))) == p
    assert not math.isnan(written[0]["W"][0][0])
