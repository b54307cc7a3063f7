"""The certificate is immutable, and writing any number into it or into a reason never raises (10^600, 10^-600)."""

import dataclasses
import json

import pytest
from flint import arb, fmpq

from spurious import loads_candidate
from spurious.certificate import EXACT, GLOBAL, INCONCLUSIVE, NOT_GLOBAL, STRICT_LOCAL_MIN, Certificate, format_value
from spurious.rationals import decimal_str, format_number, parse_number
from spurious.verifiers import verify


def test_certificate_is_immutable_and_derived_copies_leave_it_alone():
    cert = Certificate(STRICT_LOCAL_MIN, EXACT, reasons=["a"], symmetries=["s"], descent_direction=[1, 2])
    assert cert.reasons == ("a",) and cert.symmetries == ("s",) and cert.descent_direction == (1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.glob = GLOBAL
    assert not hasattr(cert.reasons, "append")
    later = cert.adding_reasons("b").with_(glob=NOT_GLOBAL)
    assert later.reasons == ("a", "b") and later.spurious and cert.reasons == ("a",) and not cert.spurious
    assert cert.adding_reasons("z", first=True).reasons == ("z", "a")
    with pytest.raises(ValueError):
        cert.with_(verdict="minimum-ish")
    back = Certificate.from_json(json.loads(json.dumps(later.to_json())))
    assert back == later.with_(descent_direction=(1, 2))


@pytest.mark.parametrize("q", [fmpq(10) ** 600 + fmpq(1, 2), -fmpq(10) ** 600 / 7, fmpq(1, 10 ** 600),
                               fmpq(2) ** 2000 / 3, fmpq(10) ** 5000])
def test_numbers_beyond_binary64_are_written_and_read_back_exactly(q):
    assert parse_number(format_number(q)) == q
    assert parse_number(format_value(q)) == q
    s = decimal_str(q)
    mant, exp = s.lstrip("-").split("e")
    assert 1 <= float(mant) < 10 and (s.startswith("-") == (q < 0))
    # the decimal agrees with the exact value to its 6 digits
    e = int(exp)
    scaled = abs(q) / fmpq(10) ** e if e >= 0 else abs(q) * fmpq(10) ** -e
    assert abs(scaled - parse_number(mant)) < fmpq(1, 10 ** 5)


def test_format_value_never_raises():
    assert format_value(float("nan")) is None and format_value(float("-inf")) is None
    assert format_value(arb("inf")) is None
    lo, hi = (parse_number(v) for v in format_value(arb(1, 1)))
    assert lo <= 0 and hi >= 2
    assert decimal_str(fmpq(1, 3)) == "0.333333" and decimal_str(0) == "0"


def test_exact_path_on_data_of_size_1e600_does_not_crash_and_scales():
    """Scaling Y and the output layer by s keeps the verdict (the loss scales by s^2); s = 10^600 overflows floats."""
    d = json.load(open("examples/yun2019-theorem1.json"))
    base = verify(loads_candidate(json.dumps(d)))
    s = "1" + "0" * 600
    d["data"]["Y"] = [[0], [s], [0]]
    d["point"][1] = {"W": [[s, 0]], "b": ["-" + s]}
    d["witness"][1] = {"W": [[s, "-" + s]], "b": [str(fmpq(2, 7) * fmpq(10) ** 600)]}
    cert = verify(loads_candidate(json.dumps(d)))
    assert (cert.verdict, cert.glob, cert.rigor) == (base.verdict, base.glob, base.rigor)
    assert cert.loss == base.loss * fmpq(10) ** 1200
    json.dumps(cert.to_json())
    assert all(isinstance(r, str) for r in cert.reasons)


def test_inconclusive_is_not_proved():
    assert not Certificate(INCONCLUSIVE, EXACT).proved
