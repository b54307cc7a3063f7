"""Claim files: schema validation, width-bound grammar, hypothesis matching (exact)."""

import pytest

from spurious.candidate import load_candidate
from spurious.claims.hypotheses import activation_in_class, check_hypotheses
from spurious.claims.schema import claim_from_dict, load_claim, shipped_claims, width_bound
from spurious.activations import make_activation
from spurious.errors import InputError

EXAMPLE = "examples/yun2019-theorem1.json"


@pytest.mark.parametrize("text,N,d,value", [(3, 10, 4, 3), ("N", 10, 4, 10), ("N-1", 10, 4, 9), ("2d", 10, 4, 8),
                                            ("2*d+1", 10, 4, 9), (" N + 2 ", 5, 1, 7)])
def test_width_bound_grammar(text, N, d, value):
    assert width_bound(text, N, d) == value


@pytest.mark.parametrize("bad", ["N**2", "__import__('os')", "k", "", "2x"])
def test_width_bound_rejects_anything_else(bad):
    with pytest.raises(InputError):
        width_bound(bad, 3, 3)


def test_every_shipped_claim_loads_and_names_its_source():
    claims = shipped_claims()
    assert len(claims) >= 10
    ids = [c.id for c in claims]
    assert len(set(ids)) == len(ids)
    for c in claims:
        assert c.source.get("paper") and c.source.get("read")
        assert c.expected in ("refuted", "consistent", "out_of_scope")


def _minimal(**over):
    doc = {"id": "x", "title": "t", "source": {"paper": "p", "read": "full"}, "hypotheses": {"depth": 2},
           "conclusion": {"kind": "no_spurious_local_min"}}
    doc.update(over)
    return doc


@pytest.mark.parametrize("mutation,fragment", [
    ({"conclusion": {"kind": "maybe"}}, "conclusion.kind"),
    ({"hypotheses": {"colour": "red"}}, "unknown hypothesis"),
    ({"hypotheses": {"activation": ["relu7"]}}, "unknown activation"),
    ({"hypotheses": {"hidden_width_min": "N^2"}}, "width bound"),
    ({"try": [{"params": {}}]}, "family"),
    ({"extra": 1}, "unexpected key"),
])
def test_bad_claim_files_are_rejected(mutation, fragment):
    with pytest.raises(InputError) as err:
        claim_from_dict(_minimal(**mutation), "my-claim.toml")
    assert fragment in str(err.value)


def test_claim_file_round_trip(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('id = "mine"\ntitle = "T"\nstatement = "S"\n[source]\npaper = "P"\nread = "full"\n'
                    '[hypotheses]\ndepth = 2\nactivation = ["relu_like"]\n[conclusion]\nkind = "no_spurious_local_min"\n'
                    '[[try]]\nfamily = "yun-lift"\nparams = { widths = [1, 2, 1] }\n')
    claim = load_claim(path)
    assert claim.id == "mine" and claim.tries[0]["params"]["widths"] == [1, 2, 1]
    assert claim.to_json()["hypotheses"] == {"depth": 2, "activation": ["relu_like"]}
    (tmp_path / "broken.toml").write_text("id = [unclosed")
    with pytest.raises(InputError):
        load_claim(tmp_path / "broken.toml")


def test_activation_classes():
    relu, leaky, tanh = make_activation("relu"), make_activation("leaky_relu", slope="1/10"), make_activation("tanh")
    pl = make_activation("piecewise_linear", breakpoints=["1"], slopes=["0", "1"], intercept="0")
    assert activation_in_class(relu, "relu_like") and activation_in_class(leaky, "relu_like")
    assert not activation_in_class(pl, "relu_like") and activation_in_class(pl, "piecewise_linear")
    assert activation_in_class(tanh, "smooth") and not activation_in_class(tanh, "relu_like")
    assert activation_in_class(make_activation("linear"), "linear")
    assert all(activation_in_class(a, "any_continuous") for a in (relu, tanh, pl))


def test_hypotheses_are_decided_from_the_candidate():
    c = load_candidate(EXAMPLE)  # widths 1-2-1, relu, N = 3 distinct samples
    ok, _ = check_hypotheses({"depth": 2, "activation": ["relu_like"], "hidden_width_min": 2,
                              "output_dim": 1, "data": ["distinct"]}, c)
    assert ok
    ok, reasons = check_hypotheses({"hidden_width_min": "N"}, c)
    assert not ok and any("width 2 >= N = 3" in r for r in reasons)
    ok, _ = check_hypotheses({"hidden_width_max": "N-1"}, c)
    assert ok
    ok, _ = check_hypotheses({"activation": ["smooth"]}, c)
    assert not ok
    ok, _ = check_hypotheses({"bias": False}, c)
    assert not ok
    ok, _ = check_hypotheses({"data": ["gaussian"]}, c)
    assert not ok
