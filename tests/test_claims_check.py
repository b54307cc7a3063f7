"""The claim checker against the shipped catalog: known-false claims are refuted by certified entries, true ones
are never refuted, untestable ones are out of scope; numerical evidence never refutes anything."""

import json
import subprocess
import sys

import pytest

from spurious.catalog import Catalog
from spurious.claims.checker import affine_least_squares_loss, check_claim
from spurious.claims.schema import claim_from_dict, shipped_claims
from spurious.candidate import load_candidate
from flint import fmpq


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    c = Catalog(str(tmp_path_factory.mktemp("claims") / "c.sqlite"))
    yield c
    c.close()


@pytest.fixture(scope="module")
def results(catalog):
    return {c.id: check_claim(c, catalog=catalog, budget=120) for c in shipped_claims()}


@pytest.mark.parametrize("claim", [c.id for c in shipped_claims()])
def test_shipped_claim_gets_its_expected_verdict(results, catalog, claim):
    r = results[claim]
    assert r.verdict == r.claim.expected, r.reasons
    if r.verdict == "refuted":
        entry = catalog.get(r.counterexample)  # a certified catalog entry, re-provable
        assert entry.certificate.rigor in ("exact", "interval") and entry.figures["spurious"]
        assert r.certificate["global"] == "not_global"
        assert all(ok for _, ok, _ in catalog.verify([entry.id]))
    if r.claim.conclusion.endswith("_exists"):
        assert r.reproduced is True


def test_true_theorems_are_never_refuted(results):
    for cid in ("soltanolkotabi-quadratic", "kawaguchi-2016-deep-linear", "li-ding-sun-wide"):
        assert results[cid].verdict == "consistent"


def test_numerical_evidence_never_refutes():
    from spurious.claims.checker import _contradicts
    from spurious.verifiers import verify

    c = load_candidate("examples/yun2019-theorem1.json")
    claim = claim_from_dict({"id": "x", "title": "t", "source": {"paper": "p", "read": "full"},
                             "hypotheses": {"depth": 2}, "conclusion": {"kind": "no_spurious_local_min"}}, "x")
    proved = verify(c)
    assert _contradicts(claim, c, proved)[0]
    evidence = verify(c, rigor="numerical")
    evidence = evidence.with_(verdict=proved.verdict, glob=proved.glob)  # even a numerical "minimum, not global"
    assert evidence.rigor == "numerical" and not _contradicts(claim, c, evidence)[0]


def test_affine_least_squares_value_is_exact():
    c = load_candidate("examples/yun2019-theorem1.json")
    assert affine_least_squares_loss(c.problem) == fmpq(3, 14)  # Yun Thm 1: the minimum's loss is the OLS loss


def test_user_claim_file_round_trip_through_the_cli(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('id = "mine"\ntitle = "Two ReLU units never get stuck"\n[source]\npaper = "me"\nread = "full"\n'
                    '[hypotheses]\ndepth = 2\nactivation = ["relu"]\nhidden_width_min = 2\n[conclusion]\n'
                    'kind = "no_spurious_local_min"\n[[try]]\nfamily = "yun-lift"\nparams = { widths = [1, 2, 1] }\n')
    out = subprocess.run([sys.executable, "-m", "spurious", "claims", "check", "--file", str(path), "--no-catalog",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    (r,) = json.loads(out.stdout)
    assert r["claim"] == "mine" and r["verdict"] == "refuted"
    assert r["certificate"]["verdict"] == "non_strict_local_min" and r["certificate"]["rigor"] == "exact"
    bad = tmp_path / "bad.toml"
    bad.write_text("id = 1\n")
    out = subprocess.run([sys.executable, "-m", "spurious", "claims", "check", "--file", str(bad), "--no-catalog"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr
