"""Exact numbers as the candidate format writes them.

Every number is kept as an exact rational (python-flint ``fmpq``). The file syntax (spec
``spurious.candidate/1``, section "Numbers"): a JSON integer, a string holding an exact rational
(``"-3/7"``) or an exact decimal (``"0.125"``, ``"1e-3"``), or a JSON float, which means exactly the binary64
value it parses to.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from flint import fmpq, fmpz

from .errors import InputError

__all__ = ["parse_number", "format_number", "to_fmpq", "fmpq_to_float", "is_dyadic_float", "decimal_str", "format_short"]

_RATIONAL = re.compile(r"^\s*[+-]?\d+\s*/\s*\d+\s*$")
_DECIMAL = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_MAX_EXPONENT = 10_000  # "1e999999999" would allocate a gigantic integer: refuse it
_MAX_DIGITS = 100_000  # a written rational p/q: exact constructions at depth 3 reach ~10^4 digits


def to_fmpq(x) -> fmpq:
    """Convert an int, Fraction, fmpq, fmpz or finite float to an exact ``fmpq`` (floats exactly)."""
    if isinstance(x, fmpq):
        return x
    if isinstance(x, bool):
        raise InputError(f"expected a number, got a boolean {x!r}")
    if isinstance(x, (int, fmpz)):
        return fmpq(x)
    if isinstance(x, Fraction):
        return fmpq(x.numerator, x.denominator)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise InputError(f"number is not finite: {x!r}")
        p, q = x.as_integer_ratio()
        return fmpq(p, q)
    if hasattr(x, "item"):  # numpy / torch scalars
        return to_fmpq(x.item())
    raise InputError(f"expected a number, got {type(x).__name__} {x!r}")


def _integer(text: str) -> fmpz:
    """An integer from its decimal digits (optional sign), without Python's limit on long digit strings."""
    text = text.strip()
    sign, digits = (text[0], text[1:]) if text[:1] in "+-" else ("+", text)
    n = fmpz(digits.strip())
    return -n if sign == "-" else n


def parse_number(value, where: str = "number") -> fmpq:
    """Parse one number of the file syntax into an exact ``fmpq``; ``where`` names it in error messages."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, (fmpq, fmpz, Fraction)):  # already exact (Python callers)
        return to_fmpq(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{where}: number is not finite ({value!r})")
        return to_fmpq(value)
    if isinstance(value, str):
        s = value.strip()
        if _RATIONAL.match(s):
            num, den = s.split("/")
            if len(num) + len(den) > _MAX_DIGITS:
                raise InputError(f"{where}: number {value[:40]!r}... is absurdly long")
            den_i = _integer(den)
            if den_i == 0:
                raise InputError(f"{where}: zero denominator in {value!r}")
            return fmpq(_integer(num), den_i)
        m = _DECIMAL.match(s)
        if m:
            exp = int(m.group(2)[1:]) if m.group(2) else 0
            if abs(exp) > _MAX_EXPONENT or len(s) > _MAX_EXPONENT:
                raise InputError(f"{where}: number {value[:40]!r} is out of range (exponent above {_MAX_EXPONENT})")
            whole, _, frac = m.group(1).partition(".")
            e = exp - len(frac)
            mant = fmpq(_integer((whole + frac).lstrip("0") or "0"))
            x = mant * fmpq(10) ** e if e >= 0 else mant / fmpz(10) ** (-e)
            return -x if s.startswith("-") else x
        raise InputError(f"{where}: {value!r} is not a number (use an integer, \"p/q\", an exact decimal or a JSON float)")
    raise InputError(f"{where}: expected a number, got {type(value).__name__}")


def is_dyadic_float(x: fmpq) -> bool:
    """True when ``x`` is exactly a binary64 value that is not an integer (it came from a float)."""
    q = int(x.q)
    if q == 1 or q & (q - 1) or q > 2**1074:
        return False
    try:
        f = float(Fraction(int(x.p), q))
    except OverflowError:  # beyond the binary64 range
        return False
    return math.isfinite(f) and to_fmpq(f) == x


def format_number(x) -> int | str | float:
    """Write an exact number in the file syntax so that :func:`parse_number` gives it back exactly.

    Integers become JSON integers, binary64 values with a fractional part become JSON floats (shortest round-trip
    decimal), every other rational becomes ``"p/q"``.
    """
    x = to_fmpq(x)
    if x.q == 1:
        n = int(x.p)
        return n if abs(n) < 2**53 else str(x.p)  # flint's str: no limit on the number of digits
    if is_dyadic_float(x) and int(x.q) > 2**16:
        return float(Fraction(int(x.p), int(x.q)))
    return f"{x.p}/{x.q}"


def fmpq_to_float(x: fmpq) -> float:
    """Nearest binary64 (correctly rounded) of an exact rational."""
    return float(Fraction(int(x.p), int(x.q)))


def decimal_str(x, digits: int = 6) -> str:
    """A short decimal of an exact number for reasons and messages (like ``f"{x:.6g}"``); never raises.

    Rationals beyond the binary64 range (10^600, 10^-600) are written from exact integer arithmetic.

    >>> decimal_str(fmpq(1, 3)), decimal_str(fmpq(10) ** 600 / 7), decimal_str(-fmpq(1, 10 ** 400))
    ('0.333333', '1.42857e+599', '-1e-400')
    """
    x = to_fmpq(x)
    if x == 0:
        return "0"
    f = fmpq_to_float(x) if abs(x.p).bit_length() - x.q.bit_length() in range(-1000, 1000) else 0.0
    if f != 0 and math.isfinite(f):
        return f"{f:.{digits}g}"
    p, q = abs(int(x.p)), int(x.q)

    def at_least(e):  # p / q >= 10^e
        return p * 10 ** max(-e, 0) >= q * 10 ** max(e, 0)

    e = math.floor((p.bit_length() - q.bit_length()) * math.log10(2))
    while not at_least(e):
        e -= 1
    while at_least(e + 1):
        e += 1
    shift = digits - 1 - e
    m = p * 10 ** shift // q if shift >= 0 else p // (q * 10 ** -shift)  # digits significant digits, truncated
    s = str(m)
    tail = s[1:].rstrip("0")
    return f"{'-' if x < 0 else ''}{s[0]}{'.' + tail if tail else ''}e{e:+03d}"


def format_short(x, limit: int = 60) -> str:
    """An exact rational in full when its text is short, else its decimal value and length (never raises)."""
    s = str(to_fmpq(x))
    return s if len(s) <= limit else f"{decimal_str(x)} (exact value {len(s)} characters)"
