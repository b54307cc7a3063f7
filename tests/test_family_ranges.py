"""Every construction family succeeds on its defaults over its documented range (issue 16, item 5): a small
representative grid per family, each point constructed with only the parameters a user would give and then
proved a spurious minimum; a failure says what to change. The grid is slow (seconds per point); the fast part
checks the grid covers every family and the failure messages."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from spurious.constructions import construct, families
from spurious.errors import InputError, SpuriousError
from spurious.verifiers import verify

SMOOTH = ("sigmoid", "tanh", "softplus", "erf", "gelu", "swish")

# family -> points of its documented range (`spurious constructions` / README), only user-given parameters
GRID = {
    "yun-lift": [{"widths": (1, 2, 1)}, {"widths": (3, 4, 1), "activation": "leaky_relu:1/10"}],
    "pattern-minima": [{"widths": (1, 3, 1)}, {"widths": (2, 2, 1)}],
    "deep-lift": [{"widths": (1, 2, 2, 1)}, {"widths": (2, 3, 2, 1), "activation": "leaky_relu:1/4"}],
    "dead-units": [{"widths": (1, 2, 1)}, {"widths": (2, 3, 2, 1)}],
    "yun-smooth": [{"activation": a} for a in SMOOTH],
    "constant-output": [{"activation": "sigmoid"}, {"activation": "tanh", "width": 1}, {"activation": "quadratic"}],
    "safran-shamir": [{"k": 6}, {"k": 8}],
    "single-neuron": [{"d": 1}, {"d": 2}, {"d": 3}],
    "split-neuron": [{}],
    "narrow-strict": [{"activation": a, "widths": w} for w in ((1, 2, 1), (2, 2, 1), (1, 3, 1), (3, 2, 1), (2, 3, 1),
                                                               (1, 4, 1), (4, 2, 1))
                      for a in ("tanh", "sigmoid")]
    + [{"activation": a, "widths": (2, 2, 1)} for a in ("softplus", "erf", "gelu", "swish")],
    "quadratic-narrow": [{"d": 2, "k": 1}, {"d": 3, "k": 2}, {"d": 2, "k": 1, "train_output": True}],
    "planted": [{"widths": (1, 2, 2, 1)}],
}
POINTS = [(name, params) for name, grid in GRID.items() for params in grid]


def _activation(params):
    from spurious.activations import parse_activation_option

    out = dict(params)
    if isinstance(out.get("activation"), str):
        out["activation"] = parse_activation_option(out["activation"])
    return out


def test_the_grid_covers_every_family_and_only_declared_parameters():
    listed = json.loads(CliRunner().invoke(_cli(), ["constructions", "--json"]).output)
    assert {f["name"] for f in listed} == set(GRID)
    declared = {f.name: {p.name for p in f.params} for f in families()}
    for name, params in POINTS:
        assert set(params) <= declared[name], (name, params)


@pytest.mark.slow
@pytest.mark.parametrize("name,params", POINTS, ids=[f"{n}-{p}" for n, p in POINTS])
def test_family_succeeds_on_its_defaults_over_its_range(name, params):
    try:
        cand = construct(name, **_activation(params))
    except SpuriousError as exc:
        pytest.fail(f"{name} {params} failed on its defaults: {exc}")
    cert = verify(cand)
    if name == "split-neuron":  # decided per point: a minimum or a saddle, both proved
        assert cert.rigor in ("exact", "interval") and cert.verdict != "inconclusive"
        return
    assert cert.spurious, (name, params, cert.verdict, cert.glob, cert.rigor)


def test_narrow_strict_outside_its_range_says_which_range():
    with pytest.raises(InputError, match=r"m \(d \+ 2\) \+ 1 <= 13"):
        construct("narrow-strict", widths=(2, 4, 1))


def test_narrow_strict_failure_says_what_to_change():
    """Too few samples for the architecture: the message names the parameter and a value to try."""
    with pytest.raises(SpuriousError) as info:
        construct("narrow-strict", widths=(1, 1, 1), n=2, starts=2)
    text = str(info.value)
    assert "--param n=" in text and "samples" in text and "try more starts or another seed" not in text


def test_narrow_strict_default_samples_grow_with_the_architecture():
    from spurious.constructions.narrow_strict import default_samples

    assert default_samples(1, 2) == 8  # the shipped 1-2-1 entry keeps its data
    for d, m in ((2, 2), (1, 3), (3, 2), (2, 3), (1, 4), (4, 2)):
        P = m * (d + 2) + 1
        assert default_samples(d, m) == 3 * P > m


def _cli():
    from spurious.cli import _register, cli

    _register()
    return cli
