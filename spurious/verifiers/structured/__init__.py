"""Structured proofs for degenerate minima: constant-output argument (D), split points, quadratic orbits.

Generic second-order paths cannot certify minima whose Hessian is singular for reasons other than continuous
symmetries (Yun, Sra, Jadbabaie 2019, Thm 2; the constant-output recipe of constructions.md 3.3). Such candidates
name their argument in ``meta["proof"]["argument"]``; this module re-derives every premise from the candidate's
own numbers (claimed values in ``meta["proof"]`` are ignored) and certifies, or answers ``inconclusive``.

One module per lemma: :mod:`.constant_output` (argument (D), Yun-Sra-Jadbabaie 2019 Thm 2 generalised),
:mod:`.split_neuron` (Fukumizu-Amari 2000) and :mod:`.quadratic_orbit` (exact Morse-Bott); this package only
dispatches on ``meta["proof"]["argument"]``. A premise that fails gives ``inconclusive`` (``verify`` then tries the
next proof path), never a minimum verdict.
"""

from __future__ import annotations

from ...certificate import Certificate
from .constant_output import check_constant_output, curvature_matrix
from .quadratic_orbit import check_quadratic_orbit
from .split_neuron import check_split

__all__ = ["accepts", "run", "ARGUMENTS", "check_constant_output", "check_split", "check_quadratic_orbit",
           "curvature_matrix"]

ARGUMENTS = {"constant-output": check_constant_output, "split-neuron": check_split,
             "quadratic-orbit": check_quadratic_orbit}


def accepts(candidate) -> bool:
    proof = candidate.meta.get("proof") if isinstance(candidate.meta, dict) else None
    return isinstance(proof, dict) and proof.get("argument") in ARGUMENTS


def run(candidate) -> Certificate:
    return ARGUMENTS[candidate.meta["proof"]["argument"]](candidate)
