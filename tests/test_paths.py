"""Proof paths as an explicit ordered tuple; ``verify(path=NAME)`` runs exactly one; rigor keeps its meaning."""

import dataclasses
import json

import pytest
from flint import fmpq

from spurious import construct, load_candidate
from spurious.candidate import Candidate
from spurious.certificate import EXACT, INCONCLUSIVE, INTERVAL, MINIMUM_VERDICTS, NUMERICAL
from spurious.cli import main
from spurious.errors import InputError
import spurious.verifiers as verifiers
from spurious.verifiers import PATH_NAMES, PATHS, verify

YUN = "examples/yun2019-theorem1.json"


def test_paths_are_an_immutable_ordered_tuple_without_a_registry():
    assert isinstance(PATHS, tuple) and PATH_NAMES == ("structured", "exact", "frozen_pattern", "interval")
    assert {p.rigor for p in PATHS} <= {EXACT, INTERVAL}
    with pytest.raises(dataclasses.FrozenInstanceError):
        PATHS[0].name = "x"
    assert not hasattr(verifiers, "register_path")


def test_every_path_can_be_asked_for_and_the_exact_ones_agree():
    c = load_candidate(YUN)
    by_path = {name: verify(c, path=name) for name in PATH_NAMES}
    assert by_path["exact"].verdict == by_path["frozen_pattern"].verdict == "non_strict_local_min"
    assert by_path["exact"].rigor == by_path["frozen_pattern"].rigor == EXACT
    assert by_path["frozen_pattern"].method != by_path["exact"].method
    for name in ("structured", "interval"):  # they do not apply to this ReLU candidate without a named lemma
        cert = by_path[name]
        assert cert.verdict == INCONCLUSIVE and cert.rigor == NUMERICAL
        assert f"the {name} path does not apply" in cert.reasons[0]


def test_each_path_refuses_a_moved_point():
    """Soundness per path: the Yun minimum moved off its critical point is never certified a minimum."""
    c = load_candidate(YUN)
    flat = c.point.flatten(c.network)
    moved = Candidate(c.problem, c.point.with_flat(c.network, [flat[0] + fmpq(1, 1000)] + flat[1:]), c.witness)
    for name in PATH_NAMES:
        assert verify(moved, path=name).verdict not in MINIMUM_VERDICTS, name
    assert verify(moved, path="exact").verdict == "not_critical"


def test_structured_path_alone_and_rigor_filters():
    c = construct("yun-smooth", activation="tanh")
    cert = verify(c, path="structured")
    assert cert.verdict == "non_strict_local_min" and cert.rigor == INTERVAL
    assert verify(c, path="interval").verdict == INCONCLUSIVE  # singular Hessian: the generic path cannot decide
    assert verify(c, rigor="interval").verdict == "non_strict_local_min"  # structured has interval rigor
    assert verify(c, rigor="exact").rigor == NUMERICAL  # no exact path applies to tanh
    with pytest.raises(InputError, match="rigor exact, not interval"):
        verify(c, rigor="interval", path="exact")
    with pytest.raises(InputError, match="expected one of structured"):
        verify(c, path="magic")


def _cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_cli_path_option(capsys):
    code, out, _ = _cli(capsys, "verify", YUN, "--path", "frozen_pattern", "--json")
    assert code == 0 and json.loads(out)["verdict"] == "non_strict_local_min"
    code, _, err = _cli(capsys, "verify", YUN, "--path", "frozen_pattern", "--rigor", "interval")
    assert code == 2 and err.strip() == "error: the frozen_pattern path has rigor exact, not interval"
