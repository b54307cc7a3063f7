"""Verifiers: turn a candidate into a :class:`Certificate` (verdict + proof steps).

``verify(candidate, rigor="auto")`` runs the strongest path that applies: the exact path for piecewise-linear and
polynomial activations on finite data, the interval path otherwise; ``rigor="numerical"`` runs the float triage.
Paths register themselves in :data:`PATHS` with an ``accepts(candidate)`` declaration.
"""

from __future__ import annotations

from ..errors import InputError
from .numerical import triage
from .verdicts import INCONCLUSIVE, MINIMUM_VERDICTS, NUMERICAL, UNKNOWN, Certificate

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


def _relaxation_applies(candidate):
    from .relaxations import REDUCTIONS

    return candidate.problem.finite and any(red.accepts(candidate.problem) for red in REDUCTIONS)


def _with_relaxation(candidate, cert):
    """A proved minimum whose global status is open: a convex relaxation, where one applies, may decide it."""
    if cert.verdict not in MINIMUM_VERDICTS or cert.rigor == NUMERICAL or cert.glob != UNKNOWN:
        return cert
    if _relaxation_applies(candidate):
        from .relaxations import apply_bound

        apply_bound(candidate, cert)
    return cert


def _global_by_relaxation(candidate, cert):
    """An undecided point whose proven loss equals a proven lower bound on the global minimum is a global, hence
    local, minimum (strictness undecided): verdict local_min, global."""
    if not _relaxation_applies(candidate):
        return cert
    from .globality import loss_bounds
    from .relaxations import global_bound
    from .verdicts import EXACT, GLOBAL, INTERVAL, LOCAL_MIN

    b = global_bound(candidate)
    lo, hi, value = loss_bounds(candidate.problem, candidate.point)
    if b.global_lower_bound is None or hi > b.global_lower_bound:
        cert.reasons.append(f"relaxation ({b.method}): proven global minimum >= {b.global_lower_bound}, below the "
                            "loss here: undecided")
        return cert
    return Certificate(LOCAL_MIN, EXACT if lo == hi and b.rigor == EXACT else INTERVAL, glob=GLOBAL, loss=value,
                       global_lower_bound=b.global_lower_bound,
                       reasons=cert.reasons + [f"the loss {hi} is <= the proven lower bound {b.global_lower_bound} on "
                                               f"the global minimum ({b.method}): a global minimum, hence a local "
                                               "minimum (strictness undecided)"],
                       method=cert.method + " + convex relaxation")


def _obvious_global(candidate, cert):
    """A proved loss equal to an obvious lower bound on the global minimum: global, hence a local minimum."""
    from .obvious_global import decide

    return decide(candidate, cert)


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
            cert = _obvious_global(candidate, cert)
            if cert.verdict != INCONCLUSIVE or rigor != "auto":
                return _with_relaxation(candidate, cert)
            undecided = undecided or cert  # auto: let the next path that applies try (e.g. frozen_pattern)
    if undecided is not None:
        return _global_by_relaxation(candidate, undecided)
    cert = triage(candidate)
    return Certificate(INCONCLUSIVE, NUMERICAL, glob=cert.glob, loss=cert.loss, witness_loss=cert.witness_loss,
                       symmetries=cert.symmetries, reduced_min_eigenvalue=cert.reduced_min_eigenvalue,
                       reasons=[f"no {'rigorous' if rigor == 'auto' else rigor} path applies to this candidate; "
                                f"numerical triage says {cert.verdict}"] + cert.reasons,
                       method="numerical triage (no proof path)")
