"""Points with pre-activations exactly on a breakpoint: an exact version of the SOSP test of Yun, Sra, Jadbabaie,
"Efficiently testing local optimality and escaping saddles for ReLU networks" (ICLR 2019, arXiv 1809.10858), for
one-hidden-layer networks with a two-slope activation through 0 (relu, leaky_relu), squared loss, no weight decay.

Setting (../shared/research/constructions.md, section 12). B_k = samples on unit k's kink, v_k = perturbation of
unit k's incoming vector, z_ik = <xbar_i, v_k>. For a small perturbation eta the loss equals L_sigma(theta + eta),
the polynomial with slope s+ or s- on each kink pair chosen by the sign of z_ik. With r_i the residuals and
a_ik = 2c <r_i, V[:, k]>, the directional derivative is

    D(eta) = grad0 . eta + sum_{(i,k) in B} s(z_ik) a_ik z_ik,

grad0 = gradient of L with slope 0 on the kink pairs. Under general position ({xbar_i : i in B_k} independent) unit
k's part is <g_perp, v_k> + sum_i (mu_i + s(z_i) a_ik) z_i with g_k = X_k^T mu + g_perp, so:

1. output-layer / kink-free coordinates: grad0 there must vanish, else -grad0 is a descent direction;
2. g_perp must vanish, else -g_perp; then mu_i + s+ a_ik >= 0 and mu_i + s- a_ik <= 0, else the ray z_i = +-1 descends;
3. second order on E_0 = {z = 0 on every kink pair} (all L_sigma agree there) and on each single flat ray;
   a negative direction descends;
4. no flat ray and the Hessian positive definite on E_0 ∩ T^perp (T = rescaling tangents): on each cone the
   polynomial L_sigma satisfies the second-order sufficient condition on the polyhedral slice theta + (cone ∩ T^perp)
   (its critical cone is E_0 ∩ T^perp), so theta is a strict minimum on the slice, and the rescaling action maps
   (group x slice) onto a neighbourhood (a submersion): strict modulo symmetry.
Everything else (several flat rays at once need a copositivity decision) is ``inconclusive``, naming the kinks.

Duplicated kink samples. Samples of unit k whose inputs (x_i, 1) are positive multiples c of another kink sample's
have pre-activation c z on the same side of the kink; their terms merge into the representative's (a_ik += c a_jk,
same slope on every cone), so general position is required only of the distinct directions.

Depth. Before this test, the exact path runs :mod:`.one_sided` at every depth (an existing nonzero partial derivative
gives ``not_critical``, a negative one-sided derivative ``not_local_min``). Steps 2-4 above are one hidden layer
only, and do not carry over as stated: with a kink in layer l >= 2 the kinked pre-activation is a polynomial (not
linear) in the earlier weights, so {z = 0} is not a subspace and the sign cones are not polyhedral; with a kink in
layer 1 of a deeper net, the later layers' pieces depend on the side taken, so the fixed-slope loss L_sigma is not
one polynomial per cone of the first-layer kink pairs alone. Such points are ``inconclusive`` unless a first-order
fact or the zero/obvious-global bound decides them.
"""

from __future__ import annotations

from flint import fmpq, fmpq_mat

from ..errors import InternalError
from ..linalg import compress, inertia, nullspace, rank, to_mat
from .product_space import OneHidden, fixed_slope_derivatives, one_hidden, residuals
from .symmetry import symmetry_tangents
from ..certificate import INCONCLUSIVE, NOT_LOCAL_MIN, STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY

__all__ = ["kink_certificate"]


def _names(kinks, limit=8):
    s = ", ".join(f"(layer {l}, unit {k}, sample {i})" for l, k, i in kinks[:limit])
    return s + (f" and {len(kinks) - limit} more" if len(kinks) > limit else "")


def kink_certificate(candidate, ev, reasons, finish, refute):
    """Decide a point with kinks (one hidden layer, two-slope activation through 0), or answer inconclusive."""
    problem, point = candidate.problem, candidate.point
    loss = ev.loss
    kinks = ev.kinks
    reasons.append(f"{len(kinks)} pre-activation(s) exactly on a breakpoint: {_names(kinks)}; the loss is not "
                   "differentiable there")
    act = problem.network.activations[0] if problem.network.depth >= 2 else None
    if not (one_hidden(problem) and act.homogeneity == 1 and len(act.slopes) == 2
            and problem.loss.weight_decay == 0):
        reasons.append("the exact kink test covers one-hidden-layer networks with a two-slope activation through 0 "
                       "(relu, leaky_relu), both layers trainable and no weight decay: inconclusive")
        return finish(candidate, INCONCLUSIVE, loss, reasons)
    oh = OneHidden(problem, point)
    s_minus, s_plus = act.slopes
    B, copies = {}, {}
    for _, k, i in kinks:
        xb = oh.xbar(i)
        if not any(x != 0 for x in xb):
            continue
        rep = next((r for r in B.get(k, []) if _positive_multiple(xb, oh.xbar(r)) is not None), None)
        if rep is None:
            B.setdefault(k, []).append(i)
            copies[(k, i)] = [(i, fmpq(1))]
        else:
            copies[(k, rep)].append((i, _positive_multiple(xb, oh.xbar(rep))))
    if sum(len(v) for v in copies.values()) < len(kinks):
        reasons.append("kink pairs whose input (x_i, 1) is 0 have pre-activation 0 for EVERY parameter value: "
                       "they contribute sigma(0) = 0 identically and are not kinks of the loss")
    merged = sum(len(v) - 1 for v in copies.values())
    if merged:
        reasons.append(f"{merged} kink sample(s) duplicate another one's input (x_i, 1) up to a positive factor c: "
                       "their pre-activation is c z, on the same side of the kink, so each is merged into its "
                       "representative (its term c a_i z joins the representative's a z)")
    for k, idx in B.items():
        if rank([oh.xbar(i) for i in idx]) < len(idx):
            reasons.append(f"unit {k}: the inputs (x_i, 1) of its {len(idx)} kink sample(s) are linearly dependent "
                           "(no general position): inconclusive")
            return finish(candidate, INCONCLUSIVE, loss, reasons)
    S0 = [[fmpq(0) if ev.pieces[0][j][i] is None else ev.pieces[0][j][i] for i in range(oh.n)]
          for j in range(oh.k)]
    loss0, grad0, H0 = fixed_slope_derivatives(oh, S0)
    if loss0 != loss:
        raise InternalError("kink test: fixed-slope loss differs from the exact loss")
    R = residuals(oh, S0, [[fmpq(0)] * oh.n for _ in range(oh.k)])
    a = {(i, k): sum((cf * 2 * oh.c * sum((R[j][o] * oh.W2[o][k] for o in range(oh.dout)), fmpq(0))
                      for j, cf in copies[(k, i)]), fmpq(0))
         for k, idx in B.items() for i in idx}
    P = oh.P
    # 1. coordinates whose derivative is an ordinary one
    kink_coords = {q for k in B for q in oh.incoming(k)}
    d = [fmpq(0) if q in kink_coords else -grad0[q] for q in range(P)]
    n2 = sum((x * x for x in d), fmpq(0))
    if n2 != 0:
        reasons.append(f"the derivative along the output layer and the kink-free units is nonzero (squared norm "
                       f"{n2}); d = minus that part (kink units unchanged) has directional derivative -{n2} < 0")
        return refute(candidate, NOT_LOCAL_MIN, loss, reasons, d)
    flat_rays = []
    for k, idx in sorted(B.items()):
        Xk = to_mat([oh.xbar(i) for i in idx])
        G = Xk * Xk.transpose()
        gk = fmpq_mat(oh.din, 1, [grad0[q] for q in oh.incoming(k)])
        mu = G.solve(Xk * gk)
        gperp = gk - Xk.transpose() * mu
        if any(gperp[t, 0] != 0 for t in range(oh.din)):
            d = [fmpq(0)] * P
            for q, t in zip(oh.incoming(k), range(oh.din)):
                d[q] = -gperp[t, 0]
            reasons.append(f"unit {k}: the gradient part orthogonal to its kink inputs is nonzero; moving its "
                           "incoming weights along minus that part keeps the kink pre-activations at 0 and has a "
                           "negative directional derivative")
            return refute(candidate, NOT_LOCAL_MIN, loss, reasons, d)
        Ginv = G.inv()
        for col, i in enumerate(idx):
            plus, minus = mu[col, 0] + s_plus * a[(i, k)], mu[col, 0] + s_minus * a[(i, k)]
            for sign, val, bad in ((1, plus, plus < 0), (-1, minus, minus > 0)):
                if bad:
                    e = fmpq_mat(len(idx), 1, [fmpq(sign) if c == col else fmpq(0) for c in range(len(idx))])
                    v = Xk.transpose() * (Ginv * e)
                    d = [fmpq(0)] * P
                    for q, t in zip(oh.incoming(k), range(oh.din)):
                        d[q] = v[t, 0]
                    reasons.append(f"unit {k}, sample {i}: along the ray z = {'+' if sign > 0 else '-'}1 (other kink "
                                   f"pre-activations kept at 0) the directional derivative is {sign * val} < 0 "
                                   "(first-order test, Yun-Sra-Jadbabaie 2019)")
                    return refute(candidate, NOT_LOCAL_MIN, loss, reasons, d)
            if plus == 0:
                flat_rays.append((k, i, 1))
            if minus == 0:
                flat_rays.append((k, i, -1))
    reasons.append("first-order test passed exactly: the directional derivative is >= 0 in every direction "
                   f"({len(flat_rays)} flat extreme ray(s))")
    rows_B = []
    for k, idx in sorted(B.items()):
        for i in idx:
            row = [fmpq(0)] * P
            for q, x in zip(oh.incoming(k), oh.xbar(i)):
                row[q] = x
            rows_B.append(((k, i), row))
    # 3a. second order on E_0
    Z = nullspace(to_mat([r for _, r in rows_B]))
    res = _negative_in(Z, H0)
    if res is not None:
        reasons.append("second order: on the subspace where every kink pre-activation stays 0 (all pieces agree "
                       "there, the first-order term vanishes) the Hessian has an exact direction of negative "
                       "curvature")
        return refute(candidate, NOT_LOCAL_MIN, loss, reasons, res)
    tangents = symmetry_tangents(problem.network, point, 0)
    T = [list(t.vector) for t in tangents]
    rT = rank(T) if T else 0
    if flat_rays:
        return _flat_ray_decision(candidate, oh, loss, reasons, rows_B, flat_rays, S0, (s_minus, s_plus), T, rT,
                                  tangents, finish, refute, copies)
    Zs = nullspace(to_mat([r for _, r in rows_B] + T))
    Hr = compress(H0, Zs)
    inn = inertia(Hr, want_direction=False)
    if inn.n_pos == len(Zs):
        verdict = STRICT_MODULO_SYMMETRY if rT else STRICT_LOCAL_MIN
        reasons.append("no flat ray: the first-order term is strictly positive off E_0 = {kink pre-activations "
                       "stay 0}; the Hessian is positive definite on E_0 ∩ T^perp (exact inertia, "
                       f"dimension {len(Zs)}): on every sign cone the piece polynomial satisfies the second-order "
                       "sufficient condition on the slice theta + (cone ∩ T^perp), so theta is a strict minimum on "
                       "the slice" + (", and the positive rescalings map (group x slice) onto a neighbourhood: "
                                      "strict modulo symmetry" if rT else ": a strict local minimum"))
        return finish(candidate, verdict, loss, reasons, tangents)
    reasons.append(f"the Hessian on E_0 ∩ T^perp is only semidefinite (nullity {inn.n_zero}): degenerate at a kink: "
                   "inconclusive")
    return finish(candidate, INCONCLUSIVE, loss, reasons, tangents)


def _positive_multiple(u, v):
    """c > 0 with u = c v exactly, or None."""
    j = next((t for t, x in enumerate(v) if x != 0), None)
    if j is None or u[j] == 0:
        return None
    c = u[j] / v[j]
    return c if c > 0 and all(a == c * b for a, b in zip(u, v)) else None


def _negative_in(Z, H):
    """An exact direction d in span(Z) with d^T H d < 0, or None."""
    if not Z:
        return None
    Hr = compress(H, Z)
    inn = inertia(Hr)
    if not inn.n_neg:
        return None
    y = inn.direction
    P = len(Z[0])
    return [sum((y[c] * Z[c][q] for c in range(len(Z))), fmpq(0)) for q in range(P)]


MAX_FLAT_CHOICES = 1024


def _flat_ray_decision(candidate, oh, loss, reasons, rows_B, flat_rays, S0, slopes, T, rT, tangents, finish, refute,
                       copies):
    """Second order when some kink rays are flat (first-order term 0 along them).

    For each choice of one flat side per flat pair, the critical cone lies in E_F = {z = 0 on the non-flat pairs}
    with sign constraints on the flat pairs, and the quadratic term there is that of the piece with those slopes.
    * A negative direction of that piece's Hessian on E_F that satisfies (or, negated, satisfies) the sign
      constraints is a descent direction (with one flat pair the quadratic form is even, so this is exact).
    * If every such Hessian is positive definite on E_F ∩ T^perp, the second-order sufficient condition holds on
      every cone: strict modulo symmetry. Otherwise (a copositivity question) inconclusive.
    """
    s_minus, s_plus = slopes
    P = oh.P
    sides = {}
    for k, i, sign in flat_rays:
        sides.setdefault((k, i), []).append(sign)
    pairs = sorted(sides)
    choices = [[]]
    for p in pairs:
        choices = [c + [(p, sg)] for c in choices for sg in sides[p]]
        if len(choices) > MAX_FLAT_CHOICES:
            reasons.append(f"{len(pairs)} kink pair(s) with flat rays: too many sign choices: inconclusive")
            return finish(candidate, INCONCLUSIVE, loss, reasons, tangents)
    non_flat = [r for key, r in rows_B if (key[0], key[1]) not in sides]
    EF = nullspace(to_mat(non_flat)) if non_flat else [tuple(fmpq(1) if q == c else fmpq(0) for q in range(P))
                                                          for c in range(P)]
    EFT = nullspace(to_mat(non_flat + T)) if (non_flat or T) else EF
    all_pd = True
    for choice in choices:
        S = [row[:] for row in S0]
        for (k, i), sg in choice:
            for j, _ in copies[(k, i)]:  # merged copies sit on the same side
                S[k][j] = s_plus if sg > 0 else s_minus
        _, _, Hs = fixed_slope_derivatives(oh, S)
        d = _negative_in(EF, Hs)
        if d is not None:
            for cand in (d, [-x for x in d]):
                z = {(k, i): sum((x * cand[q] for q, x in zip(oh.incoming(k), oh.xbar(i))), fmpq(0))
                     for (k, i), _ in choice}
                if all(z[p] * sg >= 0 for p, sg in choice):
                    desc = ", ".join(f"(unit {k}, sample {i}, {'+' if sg > 0 else '-'})" for (k, i), sg in choice)
                    reasons.append(f"second order on the flat rays {desc}: the first-order term vanishes on this cone "
                                   "and the piece's Hessian has an exact direction of negative curvature inside it")
                    return refute(candidate, NOT_LOCAL_MIN, loss, reasons, cand)
        inn = inertia(compress(Hs, EFT), want_direction=False)
        if inn.n_pos != len(EFT):
            all_pd = False
    rays = ", ".join(f"(unit {k}, sample {i}, {'+' if s > 0 else '-'})" for k, i, s in flat_rays)
    if all_pd:
        verdict = STRICT_MODULO_SYMMETRY if rT else STRICT_LOCAL_MIN
        reasons.append(f"flat extreme ray(s) {rays}: for every choice of flat sides the piece's Hessian is positive "
                       f"definite on E_F ∩ T^perp (dimension {len(EFT)}), which contains the critical cone of every "
                       "sign cone: the second-order sufficient condition holds on every cone of the slice"
                       + (", and the positive rescalings map (group x slice) onto a neighbourhood: strict modulo "
                          "symmetry" if rT else ": a strict local minimum"))
        return finish(candidate, verdict, loss, reasons, tangents)
    reasons.append(f"flat extreme ray(s) {rays}: the second-order term on their cones is not positive definite and "
                   "no descent direction was found inside the cones; deciding it needs a copositivity test that is "
                   "not implemented exactly: inconclusive")
    return finish(candidate, INCONCLUSIVE, loss, reasons, tangents)
