"""Verifiers: turn a candidate into a :class:`Certificate` (verdict + proof steps).

``verify(candidate, rigor="auto")`` runs the strongest path that applies: the exact path for piecewise-linear and
polynomial activations on finite data, the interval path otherwise; ``rigor="numerical"`` runs the float triage.
Paths register themselves in :data:`PATHS` with an ``accepts(candidate)`` declaration.
"""

from __future__ import annotations

from ..errors import InputError
from .numerical import triage
from .verdicts import (INCONCLUSIVE, NUMERICAL, Certificate)

__all__ = ["verify", "Certificate", "PATHS", "register_path"]

# name -> (accepts(candidate) -> bool, run(candidate) -> Certificate); tried in insertion order for rigor="auto"
PATHS: dict = {}


def register_path(name, accepts, run):
    PATHS[name] = (accepts, run)


def _load_paths():
    """Import the proof-path modules (each calls register_path); order = preference for rigor="auto"."""
    import importlib

    for name in ("structured", "exact", "frozen_pattern", "interval"):
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise


_load_paths()


def verify(candidate, rigor: str = "auto") -> Certificate:
    """Verify a candidate. ``rigor``: ``auto`` (strongest that applies), ``exact``, ``interval`` or ``numerical``."""
    if rigor == "numerical":
        return triage(candidate)
    if rigor not in ("auto", "exact", "interval"):
        raise InputError(f"rigor: expected auto, exact, interval or numerical, got {rigor!r}")
    undecided = None
    for name, (accepts, run) in PATHS.items():
        if rigor in ("auto", name) and accepts(candidate):
            cert = run(candidate)
            if cert.verdict != INCONCLUSIVE or rigor != "auto":
                return cert
            undecided = undecided or cert  # auto: let the next path that applies try (e.g. frozen_pattern)
    if undecided is not None:
        return undecided
    cert = triage(candidate)
    return Certificate(INCONCLUSIVE, NUMERICAL, glob=cert.glob, loss=cert.loss, witness_loss=cert.witness_loss,
                       symmetries=cert.symmetries, reduced_min_eigenvalue=cert.reduced_min_eigenvalue,
                       reasons=[f"no {'rigorous' if rigor == 'auto' else rigor} path applies to this candidate; "
                                f"numerical triage says {cert.verdict}"] + cert.reasons,
                       method="numerical triage (no proof path)")
