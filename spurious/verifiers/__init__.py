"""Verifiers: turn a candidate into an immutable :class:`~spurious.certificate.Certificate` (verdict + proof steps).

``verify(candidate, rigor="auto", path=None)`` tries the proof paths of :data:`~spurious.verifiers.paths.PATHS` in
order (structured, exact, frozen_pattern, interval) and returns the first decided answer; ``rigor="exact"`` or
``"interval"`` keeps only the paths of that rigor, ``rigor="numerical"`` runs the float triage (evidence, not a
proof), and ``path=NAME`` runs exactly one path.
"""

from __future__ import annotations

from ..certificate import (EXACT, GLOBAL, INCONCLUSIVE, INTERVAL, LOCAL_MIN, MINIMUM_VERDICTS, NUMERICAL, UNKNOWN,
                           Certificate)
from ..errors import InputError
from .numerical import triage
from .paths import PATH_NAMES, PATHS, ProofPath, path_named

__all__ = ["verify", "Certificate", "PATHS", "PATH_NAMES", "ProofPath"]


def _relaxation_applies(candidate):
    from .relaxations import REDUCTIONS

    return candidate.problem.finite and any(red.accepts(candidate.problem) for red in REDUCTIONS)


def _with_relaxation(candidate, cert):
    """A proved minimum whose global status is open: a convex relaxation, where one applies, may decide it."""
    if cert.verdict not in MINIMUM_VERDICTS or cert.rigor == NUMERICAL or cert.glob != UNKNOWN:
        return cert
    if _relaxation_applies(candidate):
        from .relaxations import apply_bound

        return apply_bound(candidate, cert)
    return cert


def _global_by_relaxation(candidate, cert):
    """An undecided point whose proven loss equals a proven lower bound on the global minimum is a global, hence
    local, minimum (strictness undecided): verdict local_min, global."""
    if not _relaxation_applies(candidate):
        return cert
    from .globality import loss_bounds
    from .relaxations import global_bound

    b = global_bound(candidate)
    lo, hi, value = loss_bounds(candidate.problem, candidate.point)
    if b.global_lower_bound is None or hi > b.global_lower_bound:
        return cert.adding_reasons(f"relaxation ({b.method}): proven global minimum >= {b.global_lower_bound}, below "
                                   "the loss here: undecided")
    return Certificate(LOCAL_MIN, EXACT if lo == hi and b.rigor == EXACT else INTERVAL, glob=GLOBAL, loss=value,
                       global_lower_bound=b.global_lower_bound,
                       reasons=cert.reasons + (f"the loss {hi} is <= the proven lower bound {b.global_lower_bound} on "
                                               f"the global minimum ({b.method}): a global minimum, hence a local "
                                               "minimum (strictness undecided)",),
                       method=cert.method + " + convex relaxation")


def _obvious_global(candidate, cert):
    """A proved loss equal to an obvious lower bound on the global minimum: global, hence a local minimum."""
    from .obvious_global import decide

    return decide(candidate, cert)


def verify(candidate, rigor: str = "auto", path: str | None = None) -> Certificate:
    """Verify a candidate: a :class:`Certificate` whose verdict is proved (rigor exact or interval) or ``inconclusive``.

    ``rigor``: ``auto`` (every path, strongest answer first), ``exact`` or ``interval`` (only the paths of that
    rigor), ``numerical`` (float triage, never a proof). ``path``: one of :data:`PATH_NAMES` to run only that path.

    >>> from spurious import construct
    >>> cert = verify(construct("yun-lift"), path="frozen_pattern")
    >>> cert.verdict, cert.glob, cert.rigor
    ('non_strict_local_min', 'not_global', 'exact')
    """
    if rigor not in ("auto", EXACT, INTERVAL, NUMERICAL):
        raise InputError(f"rigor: expected auto, exact, interval or numerical, got {rigor!r}")
    if path is not None:
        chosen = path_named(path)
        if rigor not in ("auto", chosen.rigor):
            raise InputError(f"the {chosen.name} path has rigor {chosen.rigor}, not {rigor}")
        paths = (chosen,)
    elif rigor == NUMERICAL:
        return triage(candidate)
    else:
        paths = tuple(p for p in PATHS if rigor in ("auto", p.rigor))
    undecided = []
    for p in paths:
        if not p.accepts(candidate):
            continue
        cert = _obvious_global(candidate, p.run(candidate))
        if cert.verdict != INCONCLUSIVE:
            for name, earlier in reversed(undecided):  # say which arguments were tried first, and why they failed
                cert = cert.adding_reasons(*earlier.reasons, f"the {name} path did not decide; the {p.name} path "
                                           "decided instead:", first=True)
            return _with_relaxation(candidate, cert)
        undecided.append((p.name, cert))
    if undecided:
        return _global_by_relaxation(candidate, undecided[0][1])
    cert = triage(candidate)
    what = f"the {path} path does not apply" if path else f"no {'rigorous' if rigor == 'auto' else rigor} path applies"
    return Certificate(INCONCLUSIVE, NUMERICAL, glob=cert.glob, loss=cert.loss, witness_loss=cert.witness_loss,
                       symmetries=cert.symmetries, reduced_min_eigenvalue=cert.reduced_min_eigenvalue,
                       reasons=(f"{what} to this candidate; numerical triage says {cert.verdict}",)
                       + cert.reasons, method="numerical triage (no proof path)")
