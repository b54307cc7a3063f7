"""The proof paths, as an explicit ordered tuple: the order is the preference of ``verify(rigor="auto")``.

A :class:`ProofPath` names a path, the rigor of the certificates it issues, which candidates it ``accepts`` and how
it ``run``s. Adding a path means writing its module (``accepts(candidate) -> bool``, ``run(candidate) ->
Certificate``) and adding one entry here; nothing registers itself on import.

>>> [p.name for p in PATHS]
['structured', 'exact', 'frozen_pattern', 'interval']
>>> path_named("exact").rigor
'exact'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..certificate import EXACT, INTERVAL
from ..errors import InputError
from . import exact, frozen_pattern, interval, structured

__all__ = ["ProofPath", "PATHS", "PATH_NAMES", "path_named"]


@dataclass(frozen=True)
class ProofPath:
    """One proof path: ``accepts(candidate)`` says whether it applies, ``run(candidate)`` returns a Certificate."""

    name: str
    rigor: str
    accepts: Callable = None
    run: Callable = None
    summary: str = ""


PATHS = (
    ProofPath("structured", INTERVAL, structured.accepts, structured.run,
              "a lemma named by the candidate (constant output, split neuron, quadratic orbit)"),
    ProofPath("exact", EXACT, exact.accepts, exact.run,
              "exact rational gradient, Hessian inertia, kinks (piecewise-linear and polynomial, finite data)"),
    ProofPath("frozen_pattern", EXACT, frozen_pattern.accepts, frozen_pattern.run,
              "frozen activation pattern + exact least squares (piecewise linear)"),
    ProofPath("interval", INTERVAL, interval.accepts, interval.run,
              "arb balls, Newton polishing, strong convexity on a ball (smooth; Gaussian ReLU population loss)"),
)
PATH_NAMES = tuple(p.name for p in PATHS)


def path_named(name: str) -> ProofPath:
    """The path called ``name``; an unknown name is an :class:`InputError` listing the known ones."""
    for p in PATHS:
        if p.name == name:
            return p
    raise InputError(f"path: expected one of {', '.join(PATH_NAMES)}, got {name!r}")
