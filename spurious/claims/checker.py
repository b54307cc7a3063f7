"""Check a claim against certified catalog entries and fresh constructions.

Verdicts (a claim's status, never an exception):
* ``refuted``: a certified counterexample meets every hypothesis and contradicts the conclusion (its id or
  candidate and its certificate are reported);
* ``consistent``: nothing found contradicts it (``tried`` says what was looked at); for existence claims,
  ``reproduced`` says whether a certified instance was found;
* ``out_of_scope``: the claim has hypotheses the tool cannot test, said plainly.
Only certificates with rigor exact or interval count; numerical evidence never refutes anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flint import fmpq

from ..certificate import MINIMUM_VERDICTS, PROOF_RIGORS, STRICT_VERDICTS, Certificate
from ..linalg import least_squares
from .hypotheses import check_hypotheses

__all__ = ["ClaimResult", "check_claim", "affine_least_squares_loss"]

REFUTED, CONSISTENT, OUT_OF_SCOPE = "refuted", "consistent", "out_of_scope"


@dataclass
class ClaimResult:
    claim: object
    verdict: str
    counterexample: object = None      # catalog id, or the candidate's JSON
    certificate: dict | None = None
    tried: list = field(default_factory=list)
    reasons: list = field(default_factory=list)
    reproduced: bool | None = None

    def to_json(self) -> dict:
        return {"claim": self.claim.id, "verdict": self.verdict, "counterexample": self.counterexample,
                "certificate": self.certificate, "tried": self.tried, "reasons": self.reasons,
                "reproduced": self.reproduced}


def affine_least_squares_loss(problem):
    """Exact loss of the best affine map x -> R x + c on finite data (same reduction as the problem)."""
    X, Y = problem.data.X, problem.data.Y
    n = len(X)
    cols = [[x[t] for x in X] for t in range(len(X[0]))] + [[1] * n]
    total = sum((least_squares(cols, [y[o] for y in Y])[2] for o in range(len(Y[0]))), fmpq(0))
    return total / n if problem.loss.reduction == "mean" else total


def _contradicts(claim, candidate, cert: Certificate):
    """(True, reason) when the certified candidate contradicts the claim's conclusion."""
    if cert.rigor not in PROOF_RIGORS or cert.verdict not in MINIMUM_VERDICTS:
        return False, ""
    kind = claim.conclusion
    if kind == "no_spurious_local_min" and cert.spurious:
        return True, f"certified {cert.verdict}, global: {cert.glob}, rigor {cert.rigor}"
    if kind == "no_strict_spurious_local_min" and cert.spurious and cert.verdict in STRICT_VERDICTS:
        return True, f"certified {cert.verdict} (strict), global: {cert.glob}, rigor {cert.rigor}"
    if kind == "no_worse_than_linear" and candidate.problem.finite:
        from ..verifiers.globality import loss_bounds

        lin = affine_least_squares_loss(candidate.problem)
        lo, _, _ = loss_bounds(candidate.problem, candidate.point)
        if lo > lin:
            from ..rationals import fmpq_to_float

            return True, (f"certified local minimum with loss >= {fmpq_to_float(lo):.12g} above the affine "
                          f"least-squares loss {lin} (~{fmpq_to_float(lin):.12g})")
    return False, ""


def _instance(claim, cert: Certificate) -> bool:
    if claim.conclusion == "spurious_local_min_exists":
        return cert.spurious
    if claim.conclusion == "strict_spurious_local_min_exists":
        return cert.spurious and cert.verdict in STRICT_VERDICTS
    return False


def _sources(claim, catalog, budget_end, tried):
    """Yield (label, candidate, certificate, id) from the catalog, then from the claim's constructions."""
    if catalog is not None:
        rows = catalog.find()
        tried.append(f"catalog: {len(rows)} certified entries")
        for row in rows:
            entry = catalog.get(row["id"])
            yield f"catalog entry {entry.id}", entry.candidate, entry.certificate, entry.id
    from ..constructions import construct, families
    from ..verifiers import verify

    known = {f.name for f in families()}
    for t in claim.tries:
        if time.monotonic() > budget_end:
            tried.append("budget exhausted before all constructions were tried")
            return
        if t["family"] not in known:
            tried.append(f"construction {t['family']}: not available in this version")
            continue
        candidate = construct(t["family"], **t["params"])
        cert = verify(candidate)
        tried.append(f"construction {t['family']} {t['params']}: {cert.verdict}, {cert.glob}, {cert.rigor}")
        yield f"construction {t['family']}", candidate, cert, None


def check_claim(claim, *, catalog=None, budget: float = 120.0) -> ClaimResult:
    """Check one claim; ``budget`` bounds the seconds spent on constructions."""
    result = ClaimResult(claim=claim, verdict=CONSISTENT)
    untestable = claim.hypotheses.get("untestable", [])
    budget_end = time.monotonic() + budget
    for label, candidate, cert, entry_id in _sources(claim, catalog, budget_end, result.tried):
        ok, why = check_hypotheses(claim.hypotheses, candidate)
        if not ok:
            continue
        contradicts, reason = _contradicts(claim, candidate, cert)
        if contradicts and not untestable:
            result.verdict = REFUTED
            result.counterexample = entry_id if entry_id is not None else candidate.to_json()
            result.certificate = cert.to_json()
            result.reasons = [f"{label} meets every hypothesis:"] + why + [reason]
            return result
        if contradicts:
            result.reasons.append(f"{label} would contradict the conclusion if the untestable hypotheses held: "
                                  f"{reason}")
        if _instance(claim, cert) and not result.reproduced:
            result.reproduced = True
            result.counterexample = entry_id if entry_id is not None else candidate.to_json()
            result.certificate = cert.to_json()
            result.reasons.append(f"reproduced by {label}: {cert.verdict}, {cert.glob}, {cert.rigor}")
    if untestable:
        result.verdict = OUT_OF_SCOPE
        result.reasons.insert(0, "hypotheses the tool cannot test: " + "; ".join(untestable))
        return result
    if claim.conclusion.endswith("_exists"):
        if not result.reproduced:
            result.reproduced = False
            result.reasons.append("an existence claim cannot be refuted by a finite search; no certified instance "
                                  "was found within the budget")
    else:
        result.reasons.append("no certified counterexample meets the hypotheses")
    return result
