"""The closed vocabulary of verdicts and the Certificate every verifier returns.

Verdicts are statuses, never exceptions: a verifier always returns a :class:`Certificate`, and ``inconclusive``
(with its reason) is always an allowed answer. Meanings are fixed by the candidate format
(``spurious.candidate/1``, section "Verdicts").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..rationals import format_number

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

EXACT = "exact"
INTERVAL = "interval"
NUMERICAL = "numerical"
RIGORS = (EXACT, INTERVAL, NUMERICAL)
PROOF_RIGORS = (EXACT, INTERVAL)


def _fmt(x):
    """Number or enclosure for JSON: exact rationals in file syntax, balls as [lo, hi] decimal strings."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [_fmt(v) for v in x]
    if isinstance(x, (float, str, int)) and not isinstance(x, bool):
        return x  # floats (numerical), or numbers already in file syntax (a certificate read back from JSON)
    if hasattr(x, "mid") and hasattr(x, "rad"):  # arb ball
        from ..arithmetic.balls import ball_bounds

        lo, hi = ball_bounds(x)
        return [format_number(lo), format_number(hi)]
    return format_number(x)


@dataclass
class Certificate:
    """Verdict plus the steps of its proof (or refutation). Numbers are exact, balls, or floats (numerical)."""

    verdict: str
    rigor: str
    glob: str = UNKNOWN
    loss: object = None
    witness_loss: object = None
    global_lower_bound: object = None
    radius: object = None
    symmetries: list = field(default_factory=list)
    reduced_min_eigenvalue: object = None
    reasons: list = field(default_factory=list)
    descent_direction: list | None = None
    method: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if self.rigor not in RIGORS:
            raise ValueError(f"unknown rigor {self.rigor!r}")
        if self.glob not in GLOBAL_STATUSES:
            raise ValueError(f"unknown global status {self.glob!r}")

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
            "loss": _fmt(self.loss),
            "witness_loss": _fmt(self.witness_loss),
            "global_lower_bound": _fmt(self.global_lower_bound),
            "radius": _fmt(self.radius),
            "symmetries": list(self.symmetries),
            "reduced_min_eigenvalue": _fmt(self.reduced_min_eigenvalue),
            "reasons": list(self.reasons),
            "descent_direction": _fmt(self.descent_direction),
            "method": self.method,
        }

    @classmethod
    def from_json(cls, obj: dict) -> "Certificate":
        """Read back a stored certificate (numbers stay in their JSON form: this is for display and search)."""
        return cls(verdict=obj["verdict"], rigor=obj["rigor"], glob=obj.get("global", UNKNOWN),
                   loss=obj.get("loss"), witness_loss=obj.get("witness_loss"),
                   global_lower_bound=obj.get("global_lower_bound"), radius=obj.get("radius"),
                   symmetries=list(obj.get("symmetries", [])),
                   reduced_min_eigenvalue=obj.get("reduced_min_eigenvalue"), reasons=list(obj.get("reasons", [])),
                   descent_direction=obj.get("descent_direction"), method=obj.get("method", ""))
