"""What one catalog entry holds: figures derived from the candidate and certificate, the content hash, Entry.

Figures are searchable columns computed from the stored JSON only (so ``catalog verify`` can recompute and compare
them). Losses are kept twice: a float for sorting and the exact text of the certificate (a rational, an enclosure
``[lo, hi]`` or, for numerical evidence, a float).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field

from ..errors import InputError
from ..rationals import format_number, parse_number, fmpq_to_float
from ..certificate import INCONCLUSIVE, MINIMUM_VERDICTS, NOT_GLOBAL, PROOF_RIGORS, Certificate

__all__ = ["Entry", "NotCertifiedError", "figures_of", "summary_of", "content_hash", "number_to_float",
           "tool_version"]

SUMMARY_KEYS = ("id", "family", "activation", "widths", "depth", "max_width", "input_dim", "n_samples", "n_params",
                "verdict", "global", "rigor", "certified", "loss", "loss_exact", "witness_loss", "gap", "min_eig",
                "tags", "source", "reference", "created")


class NotCertifiedError(InputError):
    """The candidate verifies only numerically (or inconclusively) and numerical entries were not allowed."""


@functools.lru_cache(maxsize=None)
def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("spurious")
    except Exception:  # noqa: BLE001  (not installed as a distribution)
        return "unknown"


def number_to_float(value):
    """A certificate number (exact text, [lo, hi] enclosure, float or None) as a float for sorting."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"expected a number, got {value!r}")
    if isinstance(value, float):
        return value
    if isinstance(value, list) and len(value) == 2:
        lo, hi = (number_to_float(v) for v in value)
        return (lo + hi) / 2
    return fmpq_to_float(parse_number(value))


def _exact_text(value):
    return None if value is None else json.dumps(value, separators=(",", ":"))


def figures_of(candidate, cert: dict) -> dict:
    """Searchable columns of one entry from its candidate and its certificate JSON."""
    problem = candidate.problem
    net = problem.network
    meta = candidate.meta or {}
    names = sorted({a.name for a in net.activations})
    hidden = net.widths[1:-1]
    loss = number_to_float(cert.get("loss"))
    wloss = number_to_float(cert.get("witness_loss"))
    certified = cert.get("rigor") in PROOF_RIGORS and cert.get("verdict") != INCONCLUSIVE
    return {
        "certified": certified,
        "spurious": certified and cert.get("verdict") in MINIMUM_VERDICTS and cert.get("global") == NOT_GLOBAL,
        "family": str(meta.get("construction")) if meta.get("construction") is not None else None,
        "reference": str(meta.get("reference")) if meta.get("reference") is not None else None,
        "params_json": json.dumps(meta.get("params", {}), sort_keys=True, separators=(",", ":")),
        "activation": ",".join(names) if names else "none",
        "activation_full": ",".join(str(a) for a in net.activations) or "none",
        "depth": net.depth,
        "widths": "-".join(map(str, net.widths)),
        "max_width": max(hidden) if hidden else 0,
        "input_dim": net.widths[0],
        "output_dim": net.widths[-1],
        "n_samples": problem.data.n if problem.finite else None,
        "n_params": net.num_params,
        "weight_decay": str(format_number(problem.loss.weight_decay)),
        "verdict": cert.get("verdict"),
        "glob": cert.get("global"),
        "rigor": cert.get("rigor"),
        "loss_value": loss,
        "loss_exact": _exact_text(cert.get("loss")),
        "witness_loss_value": wloss,
        "witness_loss_exact": _exact_text(cert.get("witness_loss")),
        "gap": None if loss is None or wloss is None else loss - wloss,
        "min_eig": number_to_float(cert.get("reduced_min_eigenvalue")),
    }


def content_hash(row: dict) -> str:
    """SHA-256 over the id, the stored candidate and certificate JSON texts and the certified flag."""
    h = hashlib.sha256()
    for part in (row["id"], row["candidate_json"], row["certificate_json"], "1" if row["certified"] else "0"):
        h.update(str(part).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def summary_of(row: dict) -> dict:
    """The list view of one row (JSON-ready)."""
    out = {k: row.get(k) for k in SUMMARY_KEYS if k in row}
    out["global"] = row.get("glob")
    out["loss"] = row.get("loss_value")
    out["loss_exact"] = None if row.get("loss_exact") is None else json.loads(row["loss_exact"])
    out["witness_loss"] = row.get("witness_loss_value")
    out["certified"] = bool(row.get("certified"))
    out["tags"] = json.loads(row.get("tags") or "[]")
    return out


@dataclass
class Entry:
    """One stored entry: candidate (parsed), certificate, figures, provenance, tags."""

    id: str
    candidate: object
    certificate: Certificate
    candidate_json: dict
    certificate_json: dict
    figures: dict
    provenance: dict
    tags: list = field(default_factory=list)
    certified: bool = False
    created: str = ""
    source: str = "user"

    @classmethod
    def from_row(cls, row: dict) -> "Entry":
        from ..candidate import candidate_from_json

        cand_json = json.loads(row["candidate_json"])
        cert_json = json.loads(row["certificate_json"])
        summary = summary_of(row)
        figures = {k: summary[k] for k in ("activation", "widths", "depth", "max_width", "input_dim", "n_samples",
                                           "n_params", "verdict", "global", "rigor", "loss", "loss_exact",
                                           "witness_loss", "gap", "min_eig")}
        figures["output_dim"] = row.get("output_dim")
        figures["spurious"] = bool(row.get("spurious"))
        provenance = {"family": row.get("family"), "reference": row.get("reference"),
                      "params": json.loads(row.get("params_json") or "{}"), "tool_version": row.get("tool_version")}
        return cls(id=row["id"], candidate=candidate_from_json(cand_json), certificate=Certificate.from_json(cert_json),
                   candidate_json=cand_json, certificate_json=cert_json, figures=figures, provenance=provenance,
                   tags=summary["tags"], certified=bool(row["certified"]), created=row.get("created", ""),
                   source=row.get("source", "user"))

    def to_json(self) -> dict:
        """The exported entry document (``spurious.catalog-entry/1``)."""
        return {"format": "spurious.catalog-entry/1", "id": self.id, "certified": self.certified,
                "candidate": self.candidate_json, "certificate": self.certificate_json,
                "provenance": self.provenance, "figures": self.figures, "tags": self.tags, "created": self.created}
