"""The interval path's refined centre: near a nearly singular minimum the proof ball must be nearly a point.

A planted tanh point (2-3-3-1) is exactly critical for every label set Y_s = F - s r (r the planted residual, F the
network's outputs), and its Hessian is H(s) = H_0 + s (H_1 - H_0), linear in s. The float crossing s* where
lambda_min(H(s*)) = 0 gives a family of near misses on both sides: just below s* a strict minimum whose smallest
eigenvalue is ~1e-7 .. 1e-9 of the Hessian's scale (the float64 centre alone cannot prove it), just above a saddle
with a tiny negative eigenvalue, which must never be certified a minimum.
"""

import numpy as np
import pytest

from spurious.certificate import MINIMUM_VERDICTS, NOT_GLOBAL, NOT_LOCAL_MIN, STRICT_LOCAL_MIN
from spurious.constructions.planted import plant, residual_family
from spurious.verifiers import interval

from test_verify_interval import check_minimum_certificate


@pytest.fixture(scope="module")
def family():
    at, s_star, hessian = residual_family(plant(widths=(2, 3, 3, 1), activation="tanh", seed=0))
    assert s_star > 1  # the planted residual itself (s = 1) keeps the Hessian positive definite
    return at, hessian, s_star


@pytest.mark.parametrize("rel", [-1e-3, -1e-5])
def test_nearly_singular_minimum_is_certified_from_a_refined_centre(family, rel):
    at, hessian, s_star = family
    cand = at(s_star * (1 + rel))
    lam = np.linalg.eigvalsh(hessian(cand))[0]
    assert 0 < lam < 1e-5 * np.abs(hessian(cand)).max()  # float evidence: nearly singular
    cert, details = interval.analyse(cand)
    assert (cert.verdict, cert.glob) == (STRICT_LOCAL_MIN, NOT_GLOBAL), cert.reasons
    assert any(r.startswith("centre refined past float64") for r in cert.reasons)
    assert details["rho"] < 1e-20  # the proof ball is nearly a point
    check_minimum_certificate(cand, cert, details)


@pytest.mark.parametrize("rel", [1e-5, 1e-3])
def test_nearly_singular_saddle_is_never_certified(family, rel):
    at, hessian, s_star = family
    cand = at(s_star * (1 + rel))
    assert np.linalg.eigvalsh(hessian(cand))[0] < 0
    cert, _ = interval.analyse(cand)
    assert cert.verdict not in MINIMUM_VERDICTS
    assert cert.verdict == NOT_LOCAL_MIN, cert.reasons
    d = np.array(cert.descent_direction)
    assert d @ hessian(cand) @ d < 0


def test_without_refinement_the_float_centre_does_not_decide(family, monkeypatch):
    """The same point with the centre left at float64: the ball of radius 2 g / mu is too wide for the enclosure."""
    at, _, s_star = family
    monkeypatch.setattr(interval, "REFINE_STEPS", 0)
    cert, _ = interval.analyse(at(s_star * (1 - 1e-3)))
    assert cert.verdict == "inconclusive", cert.reasons


@pytest.mark.parametrize("rel,expected", [(-1e-3, STRICT_LOCAL_MIN), (1e-3, NOT_LOCAL_MIN)])
def test_float_product_enclosure_covers_an_exact_centre(family, monkeypatch, rel, expected):
    """Above BALL_MAX_P parameters the Hessian enclosure is taken in float products around float(centre): the box
    must grow by |centre - float(centre)|. The same verdicts as the arb enclosure, and the certificate checks out."""
    at, _, s_star = family
    monkeypatch.setattr(interval, "BALL_MAX_P", 10)
    cand = at(s_star * (1 + rel))
    cert, details = interval.analyse(cand)
    assert cert.verdict == expected, cert.reasons
    if expected == STRICT_LOCAL_MIN:
        assert any("float products with rounding bounds" in r for r in cert.reasons)
        check_minimum_certificate(cand, cert, details)
