"""Numerical triage: float64 loss, gradient and Hessian spectrum. Evidence, never proof.

Small finite-data problems are evaluated in numpy by the structured formula (importing torch would cost seconds,
the evaluation milliseconds); large or population problems by torch.func.

Every result here carries ``rigor: numerical``; nothing produced here may enter the catalog as certified.
The float Hessian is reduced to the orthogonal complement of the symmetry tangents before its spectrum is read.
"""

from __future__ import annotations

import numpy as np

from ..arithmetic import evaluate_numpy
from ..arithmetic.floating import FloatModel
from ..rationals import fmpq_to_float
from .symmetry import symmetry_names, symmetry_tangents
from ..certificate import (GLOBAL, INCONCLUSIVE, NOT_CRITICAL, NOT_GLOBAL, NOT_LOCAL_MIN, NUMERICAL, STRICT_LOCAL_MIN,
                       STRICT_MODULO_SYMMETRY, UNKNOWN, Certificate)

__all__ = ["triage", "Triage"]

GRAD_TOL = 1e-8
EIG_TOL = 1e-8
# numpy path up to this many (parameters x samples): the Python-level loops of the structured formula stay well
# under the ~1-8 s that importing torch costs; above it torch.func (vmap) is faster
SMALL_WORK = 20_000


class Triage:
    """Float figures of one candidate, shared by the triage verdict and by ``spurious show``."""

    def __init__(self, candidate):
        problem, point = candidate.problem, candidate.point
        net = problem.network
        self.small = problem.finite and net.num_params * problem.data.n <= SMALL_WORK
        if self.small:
            ev = evaluate_numpy(problem, point)
            self.loss, self.gradient, self.hessian = ev.loss, np.array(ev.gradient, dtype=np.float64), ev.hessian
            self.engine = "numpy, structured formula"
        else:
            model = FloatModel(problem, point)
            self.loss, self.gradient, self.hessian = model.evaluate(point.flatten_float(net))
            self.engine = "torch.func"
        self.grad_norm = float(np.linalg.norm(self.gradient))
        tangents = symmetry_tangents(net, point, problem.loss.weight_decay)
        self.symmetries = symmetry_names(tangents)
        T = np.array([[fmpq_to_float(x) for x in t.vector] for t in tangents]).reshape(len(tangents), net.num_params)
        self.eigenvalues = np.linalg.eigvalsh(self.hessian) if net.num_params else np.zeros(0)
        U = _complement(T, net.num_params)
        self.symmetry_dim = net.num_params - U.shape[1]
        reduced = U.T @ self.hessian @ U
        self.reduced_eigenvalues, self.reduced_vectors = np.linalg.eigh(reduced) if U.shape[1] else (np.zeros(0), U)
        self.reduced_basis = U
        self.witness_loss = None
        if candidate.witness is not None:
            if self.small:
                self.witness_loss = evaluate_numpy(problem, candidate.witness, order=0).loss
            else:
                self.witness_loss = float(model.losses(candidate.witness.flatten_float(net))[0])


def _complement(T, P):
    """Orthonormal basis (P x m) of the orthogonal complement of the rows of T."""
    if T.shape[0] == 0:
        return np.eye(P)
    u, s, vt = np.linalg.svd(T, full_matrices=True)
    rank = int(np.sum(s > 1e-10 * max(1.0, s.max())))
    return vt[rank:].T


def triage(candidate) -> Certificate:
    """Float verdict with ``rigor: numerical`` (a first look; the proof paths live in the other verifiers)."""
    t = Triage(candidate)
    scale = max(1.0, abs(t.loss))
    reasons = [f"float64 loss {t.loss:.17g}, gradient norm {t.grad_norm:.3g} ({t.engine})"]
    common = dict(loss=t.loss, witness_loss=t.witness_loss, symmetries=t.symmetries, method="numerical triage")
    if t.witness_loss is not None and t.witness_loss < t.loss - 1e-9 * scale:
        glob = NOT_GLOBAL
        reasons.append(f"witness loss {t.witness_loss:.17g} is lower (float)")
    elif t.loss <= 1e-12 and not candidate.problem.loss.weight_decay:
        glob = GLOBAL
        reasons.append("loss is (numerically) zero, the least possible value of the squared loss")
    else:
        glob = UNKNOWN
    if t.grad_norm > GRAD_TOL * scale:
        reasons.append(f"gradient norm {t.grad_norm:.3g} exceeds {GRAD_TOL:g} x max(1, loss): not a critical point")
        return Certificate(NOT_CRITICAL, NUMERICAL, glob=glob, reasons=reasons,
                           descent_direction=[float(-g) for g in t.gradient], **common)
    lam = t.reduced_eigenvalues
    if t.symmetry_dim:
        reasons.append(f"reduced Hessian on the complement of {t.symmetry_dim} symmetry tangent(s): {', '.join(t.symmetries)}")
    lam_min = None
    if lam.size:
        lam_min = float(lam[0])
        reasons.append(f"reduced Hessian eigenvalues from {lam[0]:.6g} to {lam[-1]:.6g} (float eigvalsh)")
    verdict, direction = INCONCLUSIVE, None
    if lam.size and lam[0] < -EIG_TOL * scale:
        verdict = NOT_LOCAL_MIN
        direction = [float(x) for x in t.reduced_basis @ t.reduced_vectors[:, 0]]
        reasons.append("a negative eigenvalue: a direction of negative curvature (saddle or maximum)")
    elif lam.size == 0 or lam[0] > EIG_TOL * scale:
        verdict = STRICT_MODULO_SYMMETRY if t.symmetry_dim else STRICT_LOCAL_MIN
        reasons.append("positive definite beyond the symmetries (numerically)")
    else:
        flat = int(np.sum(np.abs(lam) <= EIG_TOL * scale))
        reasons.append(f"{flat} (numerically) zero eigenvalue(s) that are not symmetries: flat or degenerate")
    return Certificate(verdict, NUMERICAL, glob=glob, reduced_min_eigenvalue=lam_min, reasons=reasons,
                       descent_direction=direction, **common)
