"""Quadratic orbit (exact): Morse-Bott modulo W -> A W, A^T diag(v) A = diag(v), for one quadratic hidden layer
with a fixed output layer (see :func:`check_quadratic_orbit`).
"""

from __future__ import annotations

from flint import fmpq, fmpq_mat

from ...arithmetic import evaluate_exact
from ...certificate import EXACT, NOT_LOCAL_MIN, STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY, Certificate
from ...errors import InternalError
from ...linalg import inertia, rank
from ..globality import global_status
from .common import inconclusive

__all__ = ["check_quadratic_orbit", "METHOD"]

METHOD = "structured proof: exact Morse-Bott modulo the orthogonal group of the output form (quadratic)"


def _inconclusive(candidate, reasons, loss=None, rigor=None):
    return inconclusive(reasons, METHOD, loss=loss, **({"rigor": rigor} if rigor else {}))


def check_quadratic_orbit(candidate) -> Certificate:
    """x -> sum_j v_j (w_j . x~)^2 with v fixed and nonzero is invariant under [W b] -> A [W b] for every A with
    A^T D A = D (D = diag(v)): an algebraic group, so its orbits are embedded submanifolds, with tangent vectors
    D^-1 (E_ab - E_ba) [W b] (exact). Exact gradient 0, H t = 0 for the tangents, H >= 0 with nullity = rank of the
    tangents: strictly larger loss off the orbit near the point (Morse-Bott), i.e. strict modulo this symmetry."""
    reasons = ["argument: quadratic-orbit (exact); claimed values in meta['proof'] are ignored"]
    p, pt = candidate.problem, candidate.point
    net = p.network
    act = net.activations[0] if net.activations else None
    if not (p.finite and net.depth == 2 and net.widths[-1] == 1 and act is not None and act.kind == "polynomial"
            and act.coefficients == (0, 0, 1)):
        return _inconclusive(candidate, reasons + ["the argument needs one quadratic hidden layer, scalar output and "
                                                   "finite data"])
    if p.loss.weight_decay != 0 or net.trainable[1] or not net.trainable[0]:
        return _inconclusive(candidate, reasons + ["the argument needs a trainable first layer, a fixed output layer "
                                                   "and no weight decay"])
    v = pt.layers[1].W[0]
    if any(x == 0 for x in v):
        return _inconclusive(candidate, reasons + ["an output weight is 0: D is singular"])
    ev = evaluate_exact(p, pt, order=2)
    if any(g != 0 for g in ev.gradient):
        return _inconclusive(candidate, reasons + ["the exact gradient is not zero"])
    k, d, has_b = net.widths[1], net.widths[0], net.bias[0]
    rows = [list(r) + ([pt.layers[0].b[j]] if has_b else []) for j, r in enumerate(pt.layers[0].W)]
    tangents = []
    for a in range(k):
        for b in range(a + 1, k):
            T = [[fmpq(0)] * len(rows[0]) for _ in range(k)]
            T[a] = [x / v[a] for x in rows[b]]
            T[b] = [-x / v[b] for x in rows[a]]
            flat = [T[j][q] for j in range(k) for q in range(d)] + ([T[j][d] for j in range(k)] if has_b else [])
            tangents.append(flat)
    H = ev.hessian
    P = H.nrows()
    for t in tangents:
        Ht = H * fmpq_mat([[x] for x in t])
        if any(Ht[i, 0] != 0 for i in range(P)):
            raise InternalError("quadratic-orbit: H t != 0 for an orbit tangent (a bug)")
    r = rank(tangents) if tangents else 0
    inn = inertia(H)
    reasons.append(f"exact gradient 0; {len(tangents)} orbit tangent(s) D^-1 (E_ab - E_ba) [W b] of rank {r}, "
                   "H t = 0 checked exactly")
    reasons.append(f"exact inertia of H: {inn.n_pos} positive, {inn.n_neg} negative, {inn.n_zero} zero")
    if inn.n_neg:
        return Certificate(NOT_LOCAL_MIN, EXACT, loss=ev.loss, reasons=reasons + ["a negative eigenvalue"],
                           descent_direction=list(inn.direction), method=METHOD)
    if inn.n_zero != r:
        return _inconclusive(candidate, reasons + [f"nullity {inn.n_zero} != {r}: degenerate beyond the orbit"],
                             rigor=EXACT)
    verdict = STRICT_LOCAL_MIN if r == 0 else STRICT_MODULO_SYMMETRY
    reasons.append("H is positive definite on a complement of the orbit's tangent space (Morse-Bott)")
    glob, wl, greasons = global_status(candidate, ev.loss, ev.loss)
    sym = [f"O(p,q) of the output form diag(v), orbit dimension {r}"] if r else []
    return Certificate(verdict, EXACT, glob=glob, loss=ev.loss, witness_loss=wl, symmetries=sym,
                       reasons=reasons + greasons, method=METHOD)
