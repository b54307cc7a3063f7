"""The closed vocabulary of verdicts and the immutable :class:`Certificate` every verifier returns.

Verdicts are statuses, never exceptions: a verifier always returns a :class:`Certificate`, and ``inconclusive``
(with its reason) is always an allowed answer. Meanings are fixed by the candidate format
(``spurious.candidate/1``, section "Verdicts"). This module sits in the kernel: it imports only
:mod:`spurious.rationals` (and :mod:`spurious.arithmetic.balls`, lazily, to write a ball), so reading or building a
certificate loads no proof path.

>>> from flint import fmpq
>>> cert = Certificate(STRICT_LOCAL_MIN, EXACT, glob=NOT_GLOBAL, loss=fmpq(3, 14), reasons=("Hessian PD",))
>>> cert.spurious
True
>>> later = cert.adding_reasons("a second argument")
>>> later.reasons, cert.reasons
(('Hessian PD', 'a second argument'), ('Hessian PD',))
>>> cert.with_(glob=GLOBAL).spurious
False
>>> cert.to_json()["loss"]
'3/14'
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .rationals import format_number

__all__ = ["Certificate", "format_value", "VERDICTS", "MINIMUM_VERDICTS", "STRICT_VERDICTS", "REFUTED_VERDICTS",
           "GLOBAL_STATUSES", "RIGORS", "PROOF_RIGORS", "STRICT_LOCAL_MIN", "STRICT_MODULO_SYMMETRY",
           "NON_STRICT_LOCAL_MIN", "LOCAL_MIN", "NOT_LOCAL_MIN", "NOT_CRITICAL", "INCONCLUSIVE", "NOT_GLOBAL", "GLOBAL",
           "UNKNOWN", "EXACT", "INTERVAL", "NUMERICAL"]

STRICT_LOCAL_MIN = "strict_local_min"
STRICT_MODULO_SYMMETRY = "strict_modulo_symmetry"
NON_STRICT_LOCAL_MIN = "non_strict_local_min"
# Extension of the format's vocabulary: a proved local minimum whose strictness is undecided (neither a strict
# certificate nor an exhibited flat direction off the symmetry orbit). Never reported as strict nor as non-strict.
LOCAL_MIN = "local_min"
NOT_LOCAL_MIN = "not_local_min"
NOT_CRITICAL = "not_critical"
INCONCLUSIVE = "inconclusive"

VERDICTS = (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY, NON_STRICT_LOCAL_MIN, LOCAL_MIN, NOT_LOCAL_MIN, NOT_CRITICAL,
            INCONCLUSIVE)
MINIMUM_VERDICTS = (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY, NON_STRICT_LOCAL_MIN, LOCAL_MIN)
STRICT_VERDICTS = (STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY)
REFUTED_VERDICTS = (NOT_LOCAL_MIN, NOT_CRITICAL)

NOT_GLOBAL = "not_global"
GLOBAL = "global"
UNKNOWN = "unknown"
GLOBAL_STATUSES = (NOT_GLOBAL, GLOBAL, UNKNOWN)

EXACT = "exact"          # exact rational arithmetic throughout
INTERVAL = "interval"    # arb balls / verified floating point: every rounding accounted for
NUMERICAL = "numerical"  # float evidence, never a proof
RIGORS = (EXACT, INTERVAL, NUMERICAL)
PROOF_RIGORS = (EXACT, INTERVAL)


def format_value(x):
    """Number or enclosure for JSON; never raises on a number.

    Exact rationals in file syntax (any size), balls as ``[lo, hi]`` in file syntax, floats as they are; a
    non-finite float or ball (no information) becomes ``None``.

    >>> from flint import fmpq
    >>> format_value([fmpq(1, 3), 10 ** 600 + fmpq(1, 2)])[0]
    '1/3'
    >>> format_value(float("inf")) is None
    True
    """
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [format_value(v) for v in x]
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, (str, int)) and not isinstance(x, bool):
        return x  # numbers already in file syntax (a certificate read back from JSON)
    if hasattr(x, "mid") and hasattr(x, "rad"):  # arb ball
        if not x.is_finite():
            return None
        from .arithmetic.balls import ball_bounds

        lo, hi = ball_bounds(x)
        return [format_number(lo), format_number(hi)]
    return format_number(x)


def _tuple(values):
    return tuple(values) if values is not None else ()


@dataclass(frozen=True)
class Certificate:
    """Verdict plus the steps of its proof (or refutation). Numbers are exact, balls, or floats (numerical).

    Immutable: derive a changed certificate with :meth:`with_` or :meth:`adding_reasons`. ``reasons`` and
    ``symmetries`` are tuples of strings (lists given to the constructor are converted).
    """

    verdict: str
    rigor: str
    glob: str = UNKNOWN
    loss: object = None
    witness_loss: object = None
    global_lower_bound: object = None
    radius: object = None
    symmetries: tuple = ()
    reduced_min_eigenvalue: object = None
    reasons: tuple = ()
    descent_direction: tuple | None = None
    method: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if self.rigor not in RIGORS:
            raise ValueError(f"unknown rigor {self.rigor!r}")
        if self.glob not in GLOBAL_STATUSES:
            raise ValueError(f"unknown global status {self.glob!r}")
        object.__setattr__(self, "reasons", _tuple(self.reasons))
        object.__setattr__(self, "symmetries", _tuple(self.symmetries))
        if self.descent_direction is not None:
            object.__setattr__(self, "descent_direction", tuple(self.descent_direction))

    def with_(self, **changes) -> "Certificate":
        """A copy with the given fields replaced (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def adding_reasons(self, *reasons, first: bool = False) -> "Certificate":
        """A copy with ``reasons`` appended (or put in front with ``first=True``)."""
        new = tuple(reasons)
        return self.with_(reasons=new + self.reasons if first else self.reasons + new)

    @property
    def proved(self) -> bool:
        """A certificate (not evidence): rigor exact or interval and a decided verdict."""
        return self.rigor in PROOF_RIGORS and self.verdict != INCONCLUSIVE

    @property
    def spurious(self) -> bool:
        """A proved counterexample: a minimum verdict, not global, rigor not numerical."""
        return self.verdict in MINIMUM_VERDICTS and self.glob == NOT_GLOBAL and self.rigor in PROOF_RIGORS

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict,
            "global": self.glob,
            "rigor": self.rigor,
            "loss": format_value(self.loss),
            "witness_loss": format_value(self.witness_loss),
            "global_lower_bound": format_value(self.global_lower_bound),
            "radius": format_value(self.radius),
            "symmetries": list(self.symmetries),
            "reduced_min_eigenvalue": format_value(self.reduced_min_eigenvalue),
            "reasons": list(self.reasons),
            "descent_direction": format_value(self.descent_direction),
            "method": self.method,
        }

    @classmethod
    def from_json(cls, obj: dict) -> "Certificate":
        """Read back a stored certificate (numbers stay in their JSON form: this is for display and search)."""
        return cls(verdict=obj["verdict"], rigor=obj["rigor"], glob=obj.get("global", UNKNOWN),
                   loss=obj.get("loss"), witness_loss=obj.get("witness_loss"),
                   global_lower_bound=obj.get("global_lower_bound"), radius=obj.get("radius"),
                   symmetries=obj.get("symmetries", ()),
                   reduced_min_eigenvalue=obj.get("reduced_min_eigenvalue"), reasons=obj.get("reasons", ()),
                   descent_direction=obj.get("descent_direction"), method=obj.get("method", ""))
