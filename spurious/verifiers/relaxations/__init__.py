"""Convex relaxations: the global minimum's value, or a proven lower bound on it, per problem class.

``global_bound(candidate_or_problem, solver=None) -> Bound`` tries the reductions in :data:`REDUCTIONS` (each with
``accepts(problem)`` and ``apply(problem, point, solver)``; recovering a network from a relaxation's solution is
the reduction's inverse step) and falls back to the trivial bound 0. ``apply_bound(candidate, certificate)`` returns
the verifier's certificate with the bound written in and ``global`` decided where the bound can:

* GLOBAL when a proven lower bound on the global minimum reaches the upper end of the proven loss enclosure;
* NOT_GLOBAL when a proven *upper* bound on the global minimum (an attained closed-form value, or the exact loss of
  a recovered network) lies below the lower end of the loss enclosure.

A lower bound alone never shows non-globality (DESIGN.md, "Not global").
"""

from __future__ import annotations

import dataclasses

from flint import fmpq

from ...candidate import Candidate
from ...problem import Problem
from ...errors import InputError
from ...certificate import EXACT, GLOBAL, NOT_GLOBAL, PROOF_RIGORS, UNKNOWN
from .bound import Bound, enclosure_bounds, trivial_bound
from .deep_linear import DeepLinear, yun_test
from .quadratic import Quadratic
from .relu_weight_decay import ReluWeightDecay

__all__ = ["Bound", "global_bound", "apply_bound", "REDUCTIONS", "yun_test", "SOLVERS"]

SOLVERS = ("clarabel", "scs")


class _Linear:
    """Adapter: the closed form needs no point and no solver."""

    name = DeepLinear.name
    accepts = staticmethod(DeepLinear.accepts)

    @staticmethod
    def apply(problem, point=None, solver=None):
        return DeepLinear.apply(problem)


REDUCTIONS = [_Linear, Quadratic, ReluWeightDecay]


def global_bound(candidate_or_problem, *, solver=None) -> Bound:
    """Proven lower bound (and, where exact, the value) of the global minimum of the candidate's problem."""
    if isinstance(candidate_or_problem, Candidate):
        problem, point = candidate_or_problem.problem, candidate_or_problem.point
    elif isinstance(candidate_or_problem, Problem):
        problem, point = candidate_or_problem, None
    else:
        raise InputError(f"global_bound: expected a Candidate or a Problem, got {type(candidate_or_problem).__name__}")
    if solver is not None and solver.lower() not in SOLVERS:
        raise InputError(f"solver: expected one of {', '.join(SOLVERS)}, got {solver!r}")
    if not problem.finite:
        return trivial_bound("population loss: no relaxation implemented")
    if problem.network.depth > 1 and not all(problem.network.trainable) and point is None:
        return trivial_bound("a layer is fixed and no point gives its values")
    for red in REDUCTIONS:
        if red.accepts(problem):
            return _proven(red.apply(problem, point=point, solver=solver))
    return trivial_bound("no relaxation applies to this problem class")


def _proven(b: Bound) -> Bound:
    """Keep the lower bound proven: a numerical or missing one is replaced by 0 (the solver's number stays as
    ``numerical_value``); a proven negative one is raised to 0. Upper bounds are proven by construction."""
    zero = fmpq(0)
    if b.global_lower_bound is None or b.rigor not in PROOF_RIGORS:
        reasons = list(b.reasons) + ["no proven lower bound from the relaxation: 0 (squared loss >= 0) is used"]
        return Bound(zero, None, EXACT, b.method + " (lower bound trivial)", reasons,
                     global_upper_bound=b.global_upper_bound, witness=b.witness, numerical_value=b.numerical_value)
    if b.global_lower_bound < 0:
        return dataclasses.replace(b, global_lower_bound=zero)
    return b


def apply_bound(candidate, certificate, *, solver=None, bound=None):
    """The certificate with ``global_lower_bound`` set and ``glob`` decided where the bound can (see module doc).

    Needs a proven loss enclosure in ``certificate.loss`` (an exact rational or an arb ball); floats decide nothing.
    Returns a new :class:`Certificate` (certificates are immutable). Never turns a proven NOT_GLOBAL into GLOBAL: a
    contradiction is reported.
    """
    b = bound if bound is not None else global_bound(candidate, solver=solver)
    enc = enclosure_bounds(certificate.loss)
    lb = b.global_lower_bound
    old = enclosure_bounds(certificate.global_lower_bound)
    if old is None or lb > old[0]:
        certificate = certificate.with_(global_lower_bound=lb)
    if enc is None:
        return certificate.adding_reasons(f"relaxation ({b.method}) gives global minimum >= {lb}; no proven loss to "
                                          "compare")
    lo, hi = enc
    if hi <= lb:
        if certificate.glob == NOT_GLOBAL:
            return certificate.with_(glob=UNKNOWN).adding_reasons(
                "INCONSISTENT: a witness said not global but the relaxation proves global")
        return certificate.with_(glob=GLOBAL).adding_reasons(
            f"loss <= {hi} <= proven global lower bound {lb} ({b.method}): global")
    ub = b.global_upper_bound
    if ub is not None and ub < lo:
        if certificate.glob == GLOBAL:
            return certificate.with_(glob=UNKNOWN).adding_reasons(
                "INCONSISTENT: global was proved but the relaxation attains a lower loss")
        if certificate.witness_loss is None and b.witness is not None:
            certificate = certificate.with_(witness_loss=ub)
        return certificate.with_(glob=NOT_GLOBAL).adding_reasons(
            f"the global minimum is <= {ub} (proven, {b.method}) < loss >= {lo}: not global")
    return certificate.adding_reasons(f"relaxation ({b.method}): global minimum in [{lb}, "
                                      f"{'?' if ub is None else ub}], loss in [{lo}, {hi}]: undecided")
