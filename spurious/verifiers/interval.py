"""The interval proof path: smooth activations on finite data, and the Gaussian population ReLU loss.

Method (DESIGN.md "Smooth activations, with intervals"; research/verification.md 1.5, 1.7, 2):

1. Gauge. Smooth activations have no continuous symmetries. The population ReLU loss without weight decay has the
   positive rescaling of each hidden unit; the slice fixes, per unit, one nonzero outgoing weight (the largest).
   On that slice the rescaling tangents have a nonzero entry on their unit's fixed coordinate and zero on the
   others, so [slice basis | tangents] is invertible (rank proved exactly, constant on the slice): a critical point
   of the sliced loss is critical, and slice-strictness is strictness modulo the orbit (inverse function theorem).
2. Polish (:mod:`.newton`): Newton steps with an arb gradient; the polished float64 vector x~ is the centre.
   Decision order: if the polished point lies within POLISH_TOL (1 + ||x||) of the stored point and its gradient
   reached the float noise level, the stored point is approximately critical and the certificate is about the
   true critical point near it (``radius`` bounds the distance from the stored point); a failure there is
   ``inconclusive``. Otherwise, if some gradient component at the stored point provably differs from 0,
   ``not_critical``.
3. Minimum (T1, strong convexity on a ball): g >= ||grad F(x~)|| (arb), an enclosure of the Hessian over the box
   x~ +- rho (``evaluate_ball``, or :mod:`spurious.arithmetic.fast_enclosure` for many parameters), proved
   >= mu I by Rump's test (:mod:`spurious.roundoff`), and g < mu rho: exactly one critical point x* in the ball, a
   strict local minimum, ||x* - x~|| <= g/mu, L(x~) - g^2/(2 mu) <= L(x*) <= L(x~).
   If that fails from the float64 centre (g ~ 1e-16 ||H|| ||x|| makes rho = 2 g / mu wide when mu is small, and the
   enclosure over the box with it), Newton steps in arb move the centre to an exact dyadic rational with more bits
   (:func:`_refine`): g falls to ~1e-35, the box to nearly a point, and the same T1 test is retried there.
4. Saddle: N(y) = y - C grad F(y) maps the ball B(x~, rho) into itself and contracts (sup ||I - C H|| < 1 over the
   box): exactly one critical point in B; d^T H d < 0 over the whole box along a float eigenvector d proves that it
   is not a local minimum (the loss decreases along d to second order).
5. Second-order necessary condition at the stored point itself (:mod:`.second_order`): a proved d^T H d < 0 there
   means ``not_local_min`` whether or not the point is critical; tried first when every gradient ball contains 0
   (no polishing needed), and last before answering ``inconclusive``.
6. Anything else (singular reduced Hessian, failed tests) is ``inconclusive`` with the reason.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from flint import arb, fmpq

from ..activations import SMOOTH
from ..arithmetic import FloatModel, evaluate_ball
from ..arithmetic.balls import ball_bounds, upper_fmpq
from ..arithmetic.fast_enclosure import Enclosure, enclosure_from_arb_mat, float_hessian, hessian_enclosure, split_arb
from ..arithmetic.population import check_closed_form, population_numpy
from ..errors import UnsupportedError
from ..rationals import decimal_str, fmpq_to_float, to_fmpq
from ..roundoff import U, float_down, float_up, frob_up, gamma, norm2_upper, rump_pd, sqrt_upper, up, vnorm_up
from .globality import global_status
from .newton import polish
from .numerical import GRAD_TOL
from .second_order import curvature_upper_bound, negative_curvature_certificate
from .symmetry import symmetry_names, symmetry_tangents
from ..certificate import (INCONCLUSIVE, INTERVAL, NOT_CRITICAL, NOT_LOCAL_MIN, STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY,
                       Certificate)

__all__ = ["accepts", "run", "analyse", "POLISH_TOL", "BALL_MAX_P"]

METHOD = "interval: arb balls, Newton polishing, strong convexity on a ball (T1), Rump's verified Cholesky"
POLISH_TOL = 1e-6      # relative distance within which the stored point counts as approximately critical
REFINE_STEPS = 6       # Newton steps past float64 before the minimum proof
BALL_MAX_P = 60        # above this many parameters (finite data), the fast float enclosure replaces arb_mat
PREC = 128
PRECONDITION_MAX_P = 250  # arb Hessian over the box + congruence when Rump's test on the enclosure fails


class _Inconclusive(Exception):
    """Internal: a step could not be carried out (the reason becomes an ``inconclusive`` verdict)."""


def accepts(candidate) -> bool:
    p = candidate.problem
    acts = p.network.activations
    if p.finite:
        return bool(acts) and all(a.kind == SMOOTH for a in acts)
    try:
        check_closed_form(p)
    except UnsupportedError:
        return False
    return True


# exact helpers ---------------------------------------------------------------------------------------------------
def _abs_up(x: arb) -> fmpq:
    lo, hi = ball_bounds(x)
    return max(abs(lo), abs(hi))


def _norm_up(balls) -> fmpq:
    return sqrt_upper(sum((_abs_up(b) ** 2 for b in balls), fmpq(0)))


def _outward(lo, hi):
    """Round an exact enclosure outward to binary64 endpoints (readable, still exact rationals)."""
    return to_fmpq(float_down(lo)), to_fmpq(float_up(hi))


class _Setup:
    def __init__(self, candidate):
        self.candidate = candidate
        self.problem = problem = candidate.problem
        self.net = net = problem.network
        self.base = candidate.point
        self.P = net.num_params
        self.x_exact = candidate.point.flatten(net)
        self.x0 = np.array([fmpq_to_float(q) for q in self.x_exact], dtype=np.float64)
        self.fast = problem.finite and self.P > BALL_MAX_P
        self.free, self.gauge, self.symmetries = self._gauge()
        self._model = None
        self.details = {"free": self.free}

    def _gauge(self):
        net = self.net
        tangents = symmetry_tangents(net, self.base, self.problem.loss.weight_decay)
        if not tangents:
            return np.arange(self.P), None, []
        if any(t.group != "rescale" for t in tangents):
            raise _Inconclusive("continuous symmetries other than unit rescaling (e.g. GL of a linear layer): "
                                "no gauge implemented")
        offsets, _ = net.layer_offsets()
        fixed = []
        for t in tangents:
            layer, unit = (int(s) for s in t.name.split("layer ")[1].split(" unit "))
            off_out = offsets[layer]
            dout = net.widths[layer]
            outs = [(abs(t.vector[off_out + o * dout + unit]), off_out + o * dout + unit)
                    for o in range(net.widths[layer + 1])]
            best = max(outs)
            if best[0] == 0:
                raise _Inconclusive(f"hidden unit {unit} of layer {layer} has all outgoing weights zero: its "
                                    "incoming weights are flat directions that are not symmetries")
            fixed.append(best[1])
        # tangents touch pairwise disjoint coordinates, each nonzero on its own fixed coordinate: exact full rank
        free = np.array(sorted(set(range(self.P)) - set(fixed)))
        gauge = (f"gauge (slice): fixed one nonzero outgoing weight per rescalable unit ({len(fixed)} coordinates); "
                 "each rescaling tangent is nonzero exactly on its own fixed coordinate, so the slice is transversal "
                 "to the orbits (rank proved exactly, constant on the slice)")
        return free, gauge, symmetry_names(tangents)

    def point(self, x):
        """The point with flat coordinates x: floats, or exact rationals (a refined centre)."""
        return self.base.with_flat(self.net, [v if isinstance(v, fmpq) else float(v) for v in x])

    @property
    def model(self):
        if self._model is None:
            self._model = FloatModel(self.problem, self.base)
        return self._model

    # evaluations ---------------------------------------------------------------------------------------------------
    def ball(self, point, order, radius=0):
        ev = evaluate_ball(self.problem, point, radius=radius, prec=PREC, order=order)
        if order >= 1 and (ev.gradient is None or any(g is None for g in ev.gradient)):
            raise _Inconclusive(f"no ball gradient here: {ev.kinks[:3]}")
        if order >= 2 and ev.hessian is None:
            raise _Inconclusive(f"no ball Hessian enclosure over the box: {ev.kinks[:3]}")
        return ev

    def grad_float(self, x):
        """Accurate gradient (arb at PREC bits, rounded) for Newton; torch if the ball gradient is unavailable."""
        try:
            g = self.ball(self.point(x), 1).gradient
            return np.array([float(v.mid()) for v in g])
        except (_Inconclusive, UnsupportedError):
            return self.model.gradients(x)[0].numpy()

    def hess_float(self, x):
        """Float Hessian for the Newton polish only (the proof uses :meth:`enclosure`)."""
        if self.fast:
            return float_hessian(self.problem, self.base, x)
        if self._population_first_layer_only():  # closed form (Safran-Shamir setting): no autodiff Hessian
            (W, _), (A, _) = self.point(x).arrays_float()
            (V, _), (C, _) = self.problem.data.teacher_point.arrays_float()
            return population_numpy(W, A, V, C)[2]
        return self.model.hessians(x)[0].numpy()

    def _population_first_layer_only(self):
        return (not self.problem.finite and tuple(self.net.trainable) == (True, False)
                and self.problem.loss.weight_decay == 0)

    def enclosure(self, x, rho) -> Enclosure:
        """Hessian enclosure over the box x +- rho on the free coordinates, restricted to them."""
        radius = np.zeros(self.P)
        radius[self.free] = rho
        if self.fast:
            # float products need a float centre: an exact centre x is covered by float(x) +- (rho + |x - float(x)|)
            xf = np.array([float(v) for v in x])
            for i, (v, f) in enumerate(zip(x, xf)):
                if isinstance(v, fmpq) and to_fmpq(f) != v:
                    radius[i] = float_up(to_fmpq(float(radius[i])) + abs(v - to_fmpq(f)))
            enc = hessian_enclosure(self.problem, self.base, xf, radius, PREC)
        else:
            rad = [float(r) for r in radius] if rho else 0
            enc = enclosure_from_arb_mat(self.ball(self.point(x), 2, rad).hessian)
        return enc.restrict(self.free)


# the path --------------------------------------------------------------------------------------------------------
def run(candidate) -> Certificate:
    return analyse(candidate)[0]


def analyse(candidate):
    """(certificate, details): details holds the proof's centre (``centre_exact``, fmpq, and ``centre``, rounded to
    float64), rho, mu, g, free coordinates."""
    try:
        S = _Setup(candidate)
    except _Inconclusive as exc:
        return _inconclusive([str(exc)]), {}
    reasons = [S.gauge] if S.gauge else []
    try:
        cert = _run(S, reasons)
    except (_Inconclusive, UnsupportedError) as exc:
        cert = _inconclusive(reasons + [str(exc)], S.symmetries)
    if cert.verdict == INCONCLUSIVE:  # one proved negative curvature at the point itself still decides
        cert = negative_curvature_certificate(candidate, cert.reasons, S.symmetries) or cert
    return cert, S.details


def _inconclusive(reasons, symmetries=()):
    return Certificate(INCONCLUSIVE, INTERVAL, reasons=list(reasons), symmetries=list(symmetries), method=METHOD)


def _run(S, reasons):
    stored_grad = None
    try:
        stored_grad = S.ball(S.base, 1).gradient
    except _Inconclusive as exc:
        reasons.append(f"gradient at the stored point: {exc}")
    if stored_grad is not None and not any(g > 0 or g < 0 for g in stored_grad):
        cert = negative_curvature_certificate(S.candidate, reasons + ["the gradient at the stored point may be 0 "
                                                                      "(every component's ball contains 0)"],
                                              S.symmetries)
        if cert is not None:
            return cert
    xnorm = float(np.linalg.norm(S.x0))
    tol = POLISH_TOL * (1 + xnorm)
    pol = polish(S.grad_float, S.hess_float, S.x0, S.free, max_move=10 * tol)
    dist = sqrt_upper(sum(((to_fmpq(float(a)) - b) ** 2 for a, b in zip(pol.x, S.x_exact)), fmpq(0)))
    reasons.append(f"Newton polishing: {pol.steps} step(s), float gradient norm {pol.start_norm:.3g} -> "
                   f"{pol.grad_norm:.3g}, centre moved by <= {decimal_str(dist)}")
    if pol.converged and fmpq_to_float(dist) <= tol:
        cert = _certify(S, pol, dist, reasons)
        if cert is not None:
            return cert
        reasons.append("the stored point is approximately critical (polishing converged nearby) but the proof "
                       "failed: not decided")
        return _inconclusive(reasons, S.symmetries)
    reasons.append(f"polishing found no critical point within {tol:.3g} of the stored point")
    if pol.start_norm <= GRAD_TOL * max(1.0, abs(_float_loss(S))):
        reasons.append("the stored point is approximately critical (float gradient norm "
                       f"{pol.start_norm:.3g}) but no nondegenerate critical point was found near it: not decided")
        return _inconclusive(reasons, S.symmetries)
    if stored_grad is not None:
        cert = _not_critical(S, stored_grad, reasons)
        if cert is not None:
            return cert
    reasons.append("the gradient at the stored point is not provably nonzero either")
    return _inconclusive(reasons, S.symmetries)


def _float_loss(S):
    return float(S.model.losses(S.x0)[0])


def _not_critical(S, grad, reasons):
    """not_critical if some gradient ball at the stored point excludes 0; direction -grad (descent proved)."""
    nonzero = [i for i, g in enumerate(grad) if g > 0 or g < 0]
    if not nonzero:
        return None
    d = [-float(g.mid()) for g in grad]
    slope = sum((g * arb(to_fmpq(v)) for g, v in zip(grad, d)), arb(0))
    if not slope < 0:
        return None
    names = S.net.parameter_names()
    i = nonzero[0]
    lo, hi = ball_bounds(grad[i])
    reasons.append(f"gradient component {names[i]} lies in [{decimal_str(lo)}, {decimal_str(hi)}], which excludes 0 (arb, "
                   f"{PREC} bits): the stored point is not critical")
    reasons.append(f"directional derivative along -gradient <= {decimal_str(upper_fmpq(slope))} < 0 (arb)")
    return Certificate(NOT_CRITICAL, INTERVAL, descent_direction=d, reasons=reasons, symmetries=S.symmetries,
                       method=METHOD)


def _eig_estimate(H):
    """Smallest eigenvalue and its eigenvector of a float symmetric matrix (an estimate that guides the proof)."""
    H = (H + H.T) / 2
    try:
        from scipy.linalg import eigh

        w, v = eigh(H, subset_by_index=[0, 0])
    except ImportError:  # pragma: no cover
        w, v = np.linalg.eigh(H)
    return float(w[0]), v[:, 0]


def _certify(S, pol, dist, reasons):
    xt = pol.x
    centre = S.point(xt)
    ev = S.ball(centre, 1)
    g_balls = [ev.gradient[i] for i in S.free]
    g = _norm_up(g_balls)
    loss_lo, loss_hi = ball_bounds(ev.loss)
    reasons.append(f"at the polished centre: gradient norm <= {decimal_str(g)} (arb), loss in [{decimal_str(loss_lo)}, "
                   f"{decimal_str(loss_hi)}]")
    H = pol.hessian if pol.hessian is not None else S.hess_float(xt)[np.ix_(S.free, S.free)]
    if H.size == 0:
        raise _Inconclusive("no free coordinates")
    lam, vec = _eig_estimate(H)
    if lam > 0:
        cert = _minimum(S, xt, g, g_balls, dist, lam, loss_lo, loss_hi, reasons)
        if cert is not None or not g > 0:
            return cert
        # the float64 centre's ball was too wide: a centre with more bits
        refined = _refine(S, (xt, g, g_balls, loss_lo, loss_hi), H)
        if refined is None:
            return None
        xt, g, g_balls, loss_lo, loss_hi = refined
        dist = sqrt_upper(sum(((a - b) ** 2 for a, b in zip(xt, S.x_exact)), fmpq(0)))
        reasons.append(f"centre refined past float64 ({REFINE_STEPS} Newton steps at most, arb gradient): "
                       f"gradient norm <= {decimal_str(g)}, loss in [{decimal_str(loss_lo)}, "
                       f"{decimal_str(loss_hi)}], centre within {decimal_str(dist)} of the stored point")
        return _minimum(S, xt, g, g_balls, dist, lam, loss_lo, loss_hi, reasons)
    if lam < 0:
        return _saddle(S, xt, g, g_balls, dist, lam, vec, reasons)
    reasons.append("the reduced Hessian has a zero (float) eigenvalue")
    return None


def _centre(xt):
    """details entries for a proof's centre: exact (fmpq, what the proof used) and rounded to float64."""
    exact = [v if isinstance(v, fmpq) else to_fmpq(float(v)) for v in xt]
    return {"centre_exact": exact, "centre": np.array([fmpq_to_float(v) for v in exact])}


def _refine(S, start, H):
    """Newton steps on an exact dyadic centre (float increments, added exactly), gradients in arb at PREC bits, a
    fresh float Hessian at every step (near a nearly singular minimum a stale one stalls: the third derivatives
    matter). A float64 centre leaves ||grad|| ~ 1e-16 ||H|| ||x||, so the proof's ball (radius 2 g / mu) is as wide
    as that over a small mu, and the Hessian enclosure over it too wide; past float64 the gradient falls to the arb
    noise level and the ball to nearly a point. Evidence only: the proof that follows (T1) is unchanged and holds at
    any centre. ``start`` = (centre, g, gradient balls, loss_lo, loss_hi) at the float64 centre; returns the same for
    the smallest gradient reached, or None if no step improved on it."""
    best = start
    for _ in range(REFINE_STEPS):
        if best is not start:
            H = S.hess_float(np.array([float(v) for v in best[0]]))[np.ix_(S.free, S.free)]
        try:
            factor = np.linalg.cholesky((H + H.T) / 2)
        except np.linalg.LinAlgError:
            break
        gm = np.array([float(b.mid()) for b in best[2]])
        d = -np.linalg.solve(factor.T, np.linalg.solve(factor, gm))
        if not np.all(np.isfinite(d)):
            break
        xq = [v if isinstance(v, fmpq) else to_fmpq(float(v)) for v in best[0]]
        for j, i in enumerate(S.free):
            xq[i] = xq[i] + to_fmpq(float(d[j]))
        ev = S.ball(S.point(xq), 1)
        gb = [ev.gradient[i] for i in S.free]
        gn = _norm_up(gb)
        if not gn < best[1]:
            break
        best = (xq, gn, gb, *ball_bounds(ev.loss))
    return best if best is not start else None


def _minimum(S, xt, g, g_balls, dist, lam, loss_lo, loss_hi, reasons):
    reasons.append(f"smallest eigenvalue of the reduced float Hessian ~ {lam:.6g} (estimate, not proof)")
    for frac in (0.5, 0.25, 0.0625):
        mu = lam * frac
        mu_q = to_fmpq(mu)
        if mu <= 0 or mu_q == 0:
            break
        rho = 0.0 if g == 0 else float_up(2 * g / mu_q)
        xmax = max((abs(float(v)) for v in xt), default=0.0)
        if not math.isfinite(rho) or rho > 1e-3 * (1 + xmax):
            reasons.append(f"mu = {mu:.4g} needs a ball of radius {rho:.3g}: too wide for an enclosure")
            break
        if g != 0 and not g < mu_q * to_fmpq(rho):
            continue
        enc = S.enclosure(xt, rho)
        ok, detail = rump_pd(enc.mid, enc.rad, mu, enc.norm)
        how = 'float products with rounding bounds' if S.fast else 'arb'
        if not ok and S.P <= PRECONDITION_MAX_P:
            ok, detail2 = _preconditioned_box(S, xt, rho, mu)
            detail = f"{detail}; retried: {detail2}"
            how = "arb, minus mu I"
        if not ok:
            reasons.append(f"mu = {mu:.4g}, rho = {rho:.3g}: {detail}")
            continue
        S.details.update(_centre(xt), rho=rho, mu=mu_q, g=g)
        reasons.append(f"Hessian enclosure over the box centre +- {rho:.3g} ({how}): {detail}")
        if g == 0:
            reasons.append("the gradient at the centre is exactly 0 and the Hessian there is positive definite: "
                           "strict local minimum (second-order sufficient condition)")
            radius, lo = dist, loss_lo
        else:
            reasons.append(f"g = {decimal_str(g)} < mu rho = {decimal_str(mu_q * to_fmpq(rho))}: exactly one critical "
                           "point in the "
                           f"ball of radius rho, a strict local minimum (strong convexity on the ball), within "
                           f"g/mu <= {decimal_str(g / mu_q)} of the centre")
            radius = dist + g / mu_q
            lo = loss_lo - g * g / (2 * mu_q)
        radius = to_fmpq(float_up(radius))
        lo, loss_hi = _outward(lo, loss_hi)
        verdict = STRICT_MODULO_SYMMETRY if S.symmetries else STRICT_LOCAL_MIN
        reasons.append(f"a critical point within {decimal_str(radius)} of the stored point is a "
                       f"{'strict local minimum modulo ' + ', '.join(S.symmetries) if S.symmetries else 'strict local minimum'}"
                       f"; its loss lies in [{decimal_str(lo)}, {decimal_str(loss_hi)}]")
        glob, witness_loss, greasons = global_status(S.candidate, lo, loss_hi)
        return Certificate(verdict, INTERVAL, glob=glob, loss=[lo, loss_hi], witness_loss=witness_loss,
                           radius=radius, symmetries=S.symmetries, reduced_min_eigenvalue=mu_q,
                           reasons=reasons + greasons, method=METHOD)
    reasons.append("positive definiteness over the ball was not proved (Hessian nearly singular or the box too wide)")
    return None


def _preconditioned_box(S, xt, rho, mu):
    """(ok, detail): every Hessian over the box xt +- rho (free coordinates) minus mu I positive definite, proved by
    the congruence X (H - mu I) X^T in arb (:func:`.fast_definite.prove_pd_preconditioned`). For reduced smallest
    eigenvalues far below the binary64 rounding of a Cholesky of H itself (~ n u |H|): planted smooth minima with
    large residuals. The enclosure is arb's (the float-product one keeps its rounding ~ n u |H|)."""
    from flint import arb_mat

    from .fast_definite import prove_pd_preconditioned

    radius = [0.0] * S.P
    for i in S.free:
        radius[i] = float(rho)
    H = S.ball(S.point(xt), 2, radius if rho else 0).hessian
    free = list(S.free)
    m = arb(mu)
    Hm = arb_mat([[H[a, b] - (m if a == b else 0) for b in free] for a in free])
    A = np.array([[float(Hm[i, j].mid()) for j in range(len(free))] for i in range(len(free))])
    A = (A + A.T) / 2
    if not np.all(np.isfinite(A)):
        return False, "the arb enclosure has non-finite midpoints"
    ok, detail = prove_pd_preconditioned(Hm, A, PREC)
    return ok, (f"H - mu I over the box enclosed in arb at {PREC} bits, {detail}" if ok else detail)


def _matvec_norm_up(C, gm, gr, cf):
    """Upper bound on ||C g|| for every g with |g - gm| <= gr (C a float matrix taken exactly)."""
    m = C.shape[0]
    v = C @ gm
    return float(vnorm_up(v) * (1 + 4 * U) + gamma(m) * cf * vnorm_up(gm) + cf * vnorm_up(gr)) * (1 + 8 * U)


def _saddle(S, xt, g, g_balls, dist, lam, vec, reasons):
    reasons.append(f"smallest eigenvalue of the reduced float Hessian ~ {lam:.6g} < 0 (estimate): testing for a "
                   "saddle")
    d = vec / np.max(np.abs(vec))
    if g == 0:
        rhos = [0.0]
    else:
        H = S.hess_float(xt)[np.ix_(S.free, S.free)]
        w, V = np.linalg.eigh((H + H.T) / 2)
        if np.min(np.abs(w)) <= 1e-12 * max(1.0, np.max(np.abs(w))):
            reasons.append("the reduced Hessian is (numerically) singular: existence of a critical point not proved")
            return None
        C = (V / w) @ V.T
        C = (C + C.T) / 2
        gm, gr = split_arb(g_balls)
        cf = frob_up(C)
        cg = _matvec_norm_up(C, gm, gr, cf)
        rhos = [2 * cg, 8 * cg]
    for rho in rhos:
        enc = S.enclosure(xt, rho)
        M = enc.mid
        rad2 = 0.0 if enc.rad is None else norm2_upper(enc.rad)
        if rho > 0:
            # q >= sup ||I - C H||_2 over the box, H = M + E1 + E2
            m = M.shape[0]
            T = np.eye(m) - C @ M
            q = (frob_up(T) * (1 + 4 * U) + gamma(m) * cf * frob_up(M) + cf * (rad2 + enc.norm)) * (1 + 8 * U)
            if not (Fraction(cg) + Fraction(q) * Fraction(rho) < Fraction(rho) and q < 1):
                reasons.append(f"contraction test failed at rho = {rho:.3g} (||C g|| <= {cg:.3g}, q <= {q:.3g})")
                continue
            reasons.append(f"existence: y -> y - C grad(y) maps the ball of radius {rho:.3g} into itself and contracts "
                           f"(||C g|| <= {cg:.3g}, sup ||I - C H|| <= {q:.3g} < 1): exactly one critical point in it")
        else:
            reasons.append("existence: the gradient at the centre is exactly 0")
        bound = curvature_upper_bound(enc, d)
        if not bound < 0:
            reasons.append(f"negative curvature not proved over the box (d^T H d <= {float(bound):.3g})")
            continue
        full = np.zeros(S.P)
        full[S.free] = d
        S.details.update(_centre(xt), rho=rho, g=g)
        radius = to_fmpq(float_up(dist + to_fmpq(rho)))
        reasons.append(f"d^T H d <= {float(bound):.3g} < 0 over the whole box along a float eigenvector d: the "
                       f"critical point within {decimal_str(radius)} of the stored point is not a local minimum (the loss "
                       "decreases along d to second order)")
        return Certificate(NOT_LOCAL_MIN, INTERVAL, radius=radius, symmetries=S.symmetries,
                           descent_direction=[float(v) for v in full], reasons=reasons, method=METHOD)
    return None
