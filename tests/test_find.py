"""spurious find: theory (deep linear), planting beyond every family, fixed data, CLI errors."""

import json

import pytest
from click.testing import CliRunner

import spurious
from spurious.cli import _register, cli
from spurious.finder import KAWAGUCHI, find
from spurious.certificate import GLOBAL, NOT_GLOBAL, STRICT_MODULO_SYMMETRY


def test_linear_network_none_exist_and_global_certified():
    res = find((2, 3, 1), "linear", budget=60)
    assert res.theorem == KAWAGUCHI
    assert res.certificate is not None and res.certificate.glob == GLOBAL
    assert res.certificate.rigor == "exact"
    assert not res.found  # no spurious minimum is claimed


def test_find_is_exported_and_callable():
    assert callable(spurious.find)
    res = spurious.find((2, 3, 1), "linear", budget=60)
    assert res.theorem == KAWAGUCHI


@pytest.mark.slow
def test_outside_every_family_planting_certifies():
    """No family gives a strict minimum at two hidden layers: the route must be planting, and the certificate
    exact, strict modulo the rescalings, not global."""
    res = find((2, 3, 3, 1), "relu", seed=0, budget=300)
    assert res.found
    assert res.route.startswith("planted")
    c = res.certificate
    assert (c.verdict, c.glob, c.rigor) == (STRICT_MODULO_SYMMETRY, NOT_GLOBAL, "exact")
    assert any(line.startswith("family ") for line in res.tried)


def test_fixed_data_only_weights_are_sought(tmp_path):
    data = {"X": [["-2"], ["-1"], ["0"], ["1"], ["2"], ["3"]], "Y": [["1"], ["0"], ["1"], ["0"], ["1"], ["0"]]}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    res = find((1, 2, 1), "relu", strict=False, data=str(path), budget=5)
    assert all(not line.startswith(("planted", "family")) for line in res.tried)
    assert any(line.startswith("search") for line in res.tried)
    if res.candidate is not None:  # whatever was proved is about the given data
        assert [str(x[0]) for x in res.candidate.problem.data.X] == ["-2", "-1", "0", "1", "2", "3"]


@pytest.mark.parametrize("args,needle", [
    (["--widths", "2,x,1"], "widths"),
    (["--widths", "2,3,1", "--activation", "nope"], "unknown activation"),
    (["--widths", "2,0,1"], "widths"),
    (["--widths", "2,3,1", "--budget", "0"], "budget"),
])
def test_cli_one_line_errors(args, needle):
    _register()
    r = CliRunner().invoke(cli, ["find"] + args)
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def _fake_planting(monkeypatch, fails_below, message):
    """plant() raising ``message`` for seeds below ``fails_below``, else the real relu planting at seed 1."""
    import spurious.constructions.planted as planted
    from spurious.errors import InputError

    real, seeds = planted.plant, []

    def fake(*, widths, activation, seed, **kw):
        seeds.append(seed)
        if seed < fails_below:
            raise InputError(f"planted: {message}")
        return real(widths=widths, activation=activation, seed=1)
    monkeypatch.setattr(planted, "plant", fake)
    return seeds


def test_find_walks_further_planting_seeds_after_a_draw_dependent_failure(monkeypatch):
    """A C5 failure depends on the draw (cubic 2-3-3-1 plants at seed 3 after failing at 0-2): find goes on with
    seeds 3, 4, ... after the families and certifies what the later seed gives."""
    seeds = _fake_planting(monkeypatch, 5, "condition C5 violated: no residual found")
    res = find((2, 3, 3, 1), "relu", budget=100)
    assert res.found and res.route == "planted seed=5"
    assert seeds == [0, 1, 2, 3, 4, 5]
    assert res.certificate.verdict == STRICT_MODULO_SYMMETRY and res.certificate.glob == NOT_GLOBAL


def test_find_does_not_redraw_when_the_condition_holds_for_any_data(monkeypatch):
    seeds = _fake_planting(monkeypatch, 99, "condition C2 violated: the network is a polynomial of degree 4 in x, "
                                            "so rank J <= 15 < P - dim T = 16 for any data")
    res = find((2, 3, 3, 1), "relu", budget=60)
    assert seeds == [0, 1, 2] and not res.found
