"""The exact proof path: piecewise-linear and polynomial activations on finite data, all in exact rationals.

Steps (DESIGN.md, "What a certificate is"; issue 3 items 1, 2, 3, 6, 7):

1. Exact evaluation; a pre-activation on a breakpoint sends the point to the first-order facts of :mod:`.one_sided`
   (any depth) and then to the kink test (:mod:`.kinks`, one hidden layer).
2. First order: a nonzero exact gradient gives ``not_critical`` (descent direction -gradient, decrease checked at an
   explicit exact step).
3. Symmetry tangents (:mod:`.symmetry`): exact rank, and H t = 0 checked exactly (a failure is a bug).
4. Second order: first the fast route (:mod:`.fast_definite`): a verified float Cholesky (Rump) of the exact H
   restricted off the tangents proves it positive definite modulo symmetry, or a rounded float eigenvector with
   d^T H d < 0 checked exactly refutes; above ``ENCLOSURE_MIN_P`` parameters the exact Hessian is not formed at all
   (exact gradient, rigorous float Hessian enclosure), and for polynomial units with n d_L P^2 >=
   ``BALL_HESSIAN_MIN_WORK`` (deep polynomial networks: exact entries of thousands of digits) a strict minimum is
   first tried on the Hessian's arb-ball enclosure at 128 bits (LDL^T on balls off the tangents; undecided falls
   through to the exact Hessian). Otherwise exact inertia of H (:mod:`.inertia`). A negative
   eigenvalue gives ``not_local_min`` with an exact direction; nullity = rank of the tangents gives
   ``strict_local_min`` / ``strict_modulo_symmetry`` (Morse-Bott:
   the orbit is a manifold of that dimension through the point, and H is positive definite on a complement of its
   tangent space); more nullity is degenerate and needs a further argument: a higher-order line test along kernel
   directions, any depth (:mod:`.line_tests`, refutes), dead units (the loss is locally independent of their
   weights), the product-space argument
   for one hidden layer (:mod:`.product_space`), or zero loss; otherwise ``inconclusive``.
5. ``global`` from the witness or from a zero loss (:mod:`.globality`); obvious lower bounds (best constant, loss
   constant in the parameters) are applied to every path by :mod:`.obvious_global`.
"""

from __future__ import annotations

from flint import arb_mat, ctx as flint_ctx, fmpq, fmpq_mat

from ..arithmetic import EXACT as EXACT_CONTEXT, evaluate_exact
from ..arithmetic.passes import forward
from ..errors import InternalError
from ..linalg import charpoly_inertia, inertia, min_positive_eigenvalue_bound, rank
from ..rationals import decimal_str, format_short
from .globality import global_status
from .symmetry import symmetry_names, symmetry_tangents
from ..certificate import (EXACT, INCONCLUSIVE, LOCAL_MIN, NON_STRICT_LOCAL_MIN, NOT_CRITICAL, NOT_GLOBAL, NOT_LOCAL_MIN,
                       STRICT_LOCAL_MIN, STRICT_MODULO_SYMMETRY, Certificate)

__all__ = ["accepts", "run", "descent_step"]

MAX_HALVINGS = 120
METHOD = "exact rational (fmpq) second-order analysis"


def accepts(candidate) -> bool:
    return candidate.problem.exact_capable


def _dec(q):
    return decimal_str(q, 6)


def descent_step(problem, point, direction, loss, max_halvings=MAX_HALVINGS):
    """The first step t (from about 1/max|d_i|, halved at most max_halvings times) with loss(point + t d) < loss,
    decided exactly; returns (t, loss) or None."""
    net = problem.network
    big = max((abs(x) for x in direction), default=fmpq(1))
    t = fmpq(1)
    while big > 1:  # start near a unit step in the largest coordinate
        big /= 2
        t /= 2
    for _ in range(max_halvings + 1):
        new = evaluate_exact(problem, point.shift(net, direction, t), order=0).loss
        if new < loss:
            return t, new
        t /= 2
    return None


def _dead_units(problem, point, ev):
    """Hidden units on a zero-slope piece at every sample (strictly: no kinks). -> [(layer, unit, value_is_zero)]."""
    net = problem.network
    out = []
    for l, layer_pieces in enumerate(ev.pieces, start=1):
        act = net.activations[l - 1]
        if act.kind != "piecewise_linear":
            continue
        for k, row in enumerate(layer_pieces):
            if all(s == 0 for s in row):
                # value on that piece: the activation is constant there; evaluate at one pre-activation
                zero_value = _dead_value_is_zero(problem, point, l, k)
                out.append((l, k, zero_value))
    return out


def _dead_value_is_zero(problem, point, l, k):
    """Whether the constant output of a dead unit is 0 (then its outgoing weights multiply 0): the intercept of
    every zero-slope piece of the activation is 0."""
    act = problem.network.activations[l - 1]
    return all(act.piece_line(p)[1] == 0 for p, s in enumerate(act.slopes) if s == 0)


def _dead_flat_coords(problem, dead):
    """Coordinates the loss does not depend on near the point; with weight decay only the (unpenalised) biases."""
    net = problem.network
    wd = problem.loss.weight_decay != 0
    offsets, P = net.layer_offsets()
    shapes = net.layer_shapes()
    flat = set()
    for l, k, zero in dead:
        off = offsets[l - 1]
        dout, din, has_b = shapes[l - 1]
        if off is not None:
            if not wd:
                flat.update(off + k * din + j for j in range(din))
            if has_b:
                flat.add(off + dout * din + k)
        if zero and offsets[l] is not None and not wd:
            nout, nin, _ = shapes[l]
            flat.update(offsets[l] + o * nin + k for o in range(nout))
    return sorted(flat)


def _dead_unit_argument(problem, point, H, tangent_rows, ev, reasons):
    """Non-strict local minimum from dead units, if the rest is strict modulo symmetry. Returns flat coords or None."""
    dead = _dead_units(problem, point, ev)
    if not dead:
        return None
    flat = _dead_flat_coords(problem, dead)
    if not flat:
        return None
    P = H.nrows()
    keep = [q for q in range(P) if q not in set(flat)]
    Hk = fmpq_mat([[H[a, b] for b in keep] for a in keep]) if keep else fmpq_mat(0, 0)
    Tk = [[t[q] for q in keep] for t in tangent_rows]
    Tk = [t for t in Tk if any(x != 0 for x in t)]
    for t in Tk:
        v = Hk * fmpq_mat(len(keep), 1, t) if keep else None
        if v is not None and any(v[q, 0] != 0 for q in range(len(keep))):
            reasons.append("dead-unit argument: a restricted symmetry tangent is not in the kernel of the reduced "
                           "Hessian; not used")
            return None
    rTk = rank(Tk) if Tk else 0
    inn = inertia(Hk, want_direction=False)
    names = ", ".join(f"layer {l} unit {k}" for l, k, _ in dead)
    if inn.n_neg == 0 and inn.n_zero == rTk:
        reasons.append(f"dead unit(s) {names}: every pre-activation lies strictly inside a zero-slope piece, so near "
                       f"the point their outputs are constant and the loss does not depend on their incoming weights "
                       f"(nor on their outgoing weights when the constant is 0)"
                       + ("; with weight decay only their (unpenalised) biases are flat" if problem.loss.weight_decay
                          else "") + f": {len(flat)} flat coordinate(s)")
        reasons.append(f"the Hessian of the loss in the remaining {len(keep)} coordinates is positive semidefinite "
                       f"with nullity {inn.n_zero} = dimension of the restricted symmetry orbit: a strict local "
                       "minimum modulo symmetry of the reduced loss (Morse-Bott), hence a local minimum of the loss")
        return flat
    reasons.append(f"dead unit(s) {names}: after removing their {len(flat)} flat coordinate(s) the Hessian still has "
                   f"nullity {inn.n_zero} > {rTk} (restricted symmetries): not decided by this argument")
    return None


def _tangent_checks(problem, point, H, reasons):
    tangents = symmetry_tangents(problem.network, point, problem.loss.weight_decay)
    rows = [list(t.vector) for t in tangents]
    P = H.nrows()
    if tangents:  # one exact product H T^T for all tangents
        V = H * fmpq_mat(rows).transpose()
        for c, t in enumerate(tangents):
            if any(V[q, c] != 0 for q in range(P)):
                raise InternalError(f"H t != 0 for the symmetry tangent '{t.name}' at an exact critical point")
    r = rank(rows) if rows else 0
    if tangents:
        msg = (f"{len(tangents)} symmetry tangent(s) ({', '.join(symmetry_names(tangents))}), H t = 0 checked exactly "
               f"for each; their span has dimension {r}")
        if r < len(tangents):
            zero = sum(1 for t in tangents if all(x == 0 for x in t.vector))
            msg += (f" < {len(tangents)}: dependent ({zero} zero tangent(s), e.g. a unit with all parameters 0 is a "
                    f"fixed point of its rescaling); the orbit through the point is a manifold of dimension {r}")
        reasons.append(msg)
    return tangents, rows, r


def _finish(candidate, verdict, loss, reasons, tangents=(), direction=None, lower_point=False, reduced=None):
    glob, wl = "unknown", None
    greasons = []
    if lower_point:
        glob = NOT_GLOBAL
        greasons.append("a point with lower loss was exhibited exactly: not a global minimum")
        if candidate.witness is not None:
            wl = evaluate_exact(candidate.problem, candidate.witness, order=0).loss
    else:
        glob, wl, greasons = global_status(candidate, loss, loss)
    return Certificate(verdict, EXACT, glob=glob, loss=loss, witness_loss=wl,
                       global_lower_bound=fmpq(0) if glob == "global" else None,
                       symmetries=symmetry_names(tangents) if tangents else [],
                       reduced_min_eigenvalue=reduced, reasons=reasons + greasons,
                       descent_direction=list(direction) if direction is not None else None, method=METHOD)


def _finish_at_kink(candidate, verdict, loss, reasons, tangents=(), **kw):
    """:func:`_finish`, except that an undecided kink with loss 0 (no weight decay) is a global, hence local, min."""
    if verdict == INCONCLUSIVE and loss == 0 and candidate.problem.loss.weight_decay == 0:
        verdict = LOCAL_MIN
        reasons = reasons + ["the loss is 0, the least value of the squared loss: a global, hence local, minimum",
                             "strictness modulo symmetry is not proven at this kink: reported as local_min (a local "
                             "minimum, strictness undecided)"]
    return _finish(candidate, verdict, loss, reasons, tangents, **kw)


def _refute(candidate, verdict, loss, reasons, direction, tangents=(), what="descent direction"):
    problem, point = candidate.problem, candidate.point
    step = descent_step(problem, point, direction, loss)
    if step is not None:
        t, new = step
        reasons.append(f"checked: loss(x + t d) = {new} < {loss} exactly at the explicit step t = {t}")
        return _finish(candidate, verdict, loss, reasons, tangents, direction, lower_point=True)
    reasons.append(f"no step t (halved up to {MAX_HALVINGS} times) showed the decrease explicitly; the verdict "
                   "rests on the expansion argument above (the loss is a polynomial near the point)")
    return _finish(candidate, verdict, loss, reasons, tangents, direction)


def _unproven_min(candidate, loss, reasons, tangents, H, rows, ev, flat_dir=None):
    """A proven local minimum whose strictness modulo symmetry is not proven: non_strict (with a flat line if any)."""
    problem, point = candidate.problem, candidate.point
    if flat_dir is None:
        res = None
        try:
            from .product_space import OneHidden, incoming_flat_line, one_hidden, pattern_from_pieces
            if one_hidden(problem) and not ev.kinks:
                oh = OneHidden(problem, point)
                S, _ = pattern_from_pieces(oh, ev)
                res = incoming_flat_line(oh, S, rows)
        except ImportError:  # pragma: no cover
            res = None
        if res is not None:
            flat_dir, msg = res
            reasons.append(msg)
    else:
        reasons.append("an exact flat line through the point, not tangent to the symmetry orbit: not strict modulo "
                       "symmetry")
    if flat_dir is None:
        reasons.append("strictness modulo symmetry is not proven (the Hessian is degenerate beyond the symmetries) "
                       "and no flat curve off the orbit was exhibited: reported as local_min (a local minimum, "
                       "strictness undecided)")
        return _finish(candidate, LOCAL_MIN, loss, reasons, tangents)
    return _finish(candidate, NON_STRICT_LOCAL_MIN, loss, reasons, tangents)


def run(candidate) -> Certificate:
    """Exact verdict for a finite-data candidate with piecewise-linear / polynomial activations."""
    problem, point = candidate.problem, candidate.point
    net = problem.network
    work = len(problem.data.X) * net.widths[-1] * net.num_params ** 2
    if net.num_params > ENCLOSURE_MIN_P or (work >= BALL_HESSIAN_MIN_WORK
                                                and any(a.kind == "polynomial" for a in net.activations)):
        cert = _large_strict(candidate, ball=net.num_params <= ENCLOSURE_MIN_P)
        if cert is not None:
            return cert
    ev = evaluate_exact(problem, point, order=2)
    loss = ev.loss
    reasons = [f"exact loss {loss} (= {decimal_str(loss)})"]
    if ev.kinks:
        from .kinks import kink_certificate
        from .one_sided import first_order_at_kinks
        cert = first_order_at_kinks(candidate, loss, reasons + [f"{len(ev.kinks)} pre-activation(s) exactly on a "
                                                                "breakpoint: the loss may not be differentiable"],
                                    _refute)
        if cert is not None:
            return cert
        return kink_certificate(candidate, ev, reasons, _finish_at_kink, _refute)
    P = net.num_params
    reasons.append(f"no pre-activation on a breakpoint: the loss is a polynomial near the point ({P} parameters)")
    grad = ev.gradient
    g2 = sum((g * g for g in grad), fmpq(0))
    if g2 != 0:
        reasons.append(f"exact gradient is nonzero: ||grad||^2 = {g2} (= {decimal_str(g2)}): not a critical point; "
                       "d = -grad is a descent direction (directional derivative -||grad||^2 < 0)")
        return _refute(candidate, NOT_CRITICAL, loss, reasons, [-g for g in grad])
    reasons.append("exact gradient is zero: a critical point")
    H = ev.hessian
    tangents, rows, r = _tangent_checks(problem, point, H, reasons)
    fast = _fast_second_order(candidate, loss, H, rows, r, tangents, reasons)
    if fast is not None:
        return fast
    inn = inertia(H)
    reasons.append(f"exact inertia of the Hessian (characteristic polynomial, Descartes' rule): {inn.n_pos} positive, "
                   f"{inn.n_neg} negative, {inn.n_zero} zero eigenvalue(s)")
    if inn.n_neg:
        d = inn.direction
        q = quad_form(H, d)
        reasons.append(f"exact direction d with d^T H d = {q} < 0; at a critical point of a polynomial "
                       "loss(x + t d) = loss(x) + t^2/2 d^T H d + O(t^3): not a local minimum")
        return _refute(candidate, NOT_LOCAL_MIN, loss, reasons, d, tangents)
    if inn.n_zero == r:
        return _strict(candidate, loss, r, tangents, reasons, inn.charpoly if P <= 160 else None)
    reasons.append(f"the Hessian is positive semidefinite with nullity {inn.n_zero} > {r} (symmetries): degenerate")
    from .line_tests import kernel_line_test
    line = kernel_line_test(problem, point, H, rows, reasons)
    if line is not None and line[0] == "descent":
        return _refute(candidate, NOT_LOCAL_MIN, loss, reasons, line[1], tangents)
    flat_dir = line[1] if line is not None else None
    flat = _dead_unit_argument(problem, point, H, rows, ev, reasons)
    if flat is not None:
        e = next((tuple(fmpq(1) if q == c else fmpq(0) for q in range(P)) for c in flat
                  if rank(rows + [[fmpq(1) if q == c else fmpq(0) for q in range(P)]]) > r), None)
        if e is not None:
            reasons.append("moving one flat coordinate of a dead unit keeps the loss constant and leaves the orbit "
                           "(the coordinate vector is not in the span of the tangents): not strict")
            return _finish(candidate, NON_STRICT_LOCAL_MIN, loss, reasons, tangents)
        return _unproven_min(candidate, loss, reasons, tangents, H, rows, ev, flat_dir)
    from .product_space import OneHidden, one_hidden, pattern_from_pieces, product_space_test
    if one_hidden(problem):
        oh = OneHidden(problem, point)
        S, O = pattern_from_pieces(oh, ev)
        ok, why = product_space_test(oh, S, O)
        reasons.extend(why)
        if ok:
            return _unproven_min(candidate, loss, reasons, tangents, H, rows, ev, flat_dir)
    if loss == 0 and problem.loss.weight_decay == 0:
        reasons.append("the loss is 0, the least value of the squared loss: a global, hence local, minimum")
        return _unproven_min(candidate, loss, reasons, tangents, H, rows, ev, flat_dir)
    reasons.append("no argument decides this degenerate critical point: inconclusive")
    return _finish(candidate, INCONCLUSIVE, loss, reasons, tangents)


EIGENVALUE_BOUND_MAX_P = 60  # a certified smallest eigenvalue from the characteristic polynomial up to this P


def _strict(candidate, loss, r, tangents, reasons, charpoly=None):
    verdict = STRICT_LOCAL_MIN if r == 0 else STRICT_MODULO_SYMMETRY
    bound = min_positive_eigenvalue_bound(charpoly) if charpoly is not None else None
    if r == 0:
        reasons.append("the Hessian is positive definite: a strict local minimum")
    else:
        reasons.append(f"the Hessian is positive semidefinite with kernel exactly the span of the {r} symmetry "
                       f"tangent direction(s): the orbit is a manifold of dimension {r} of critical points of equal "
                       "loss and H is positive definite on a complement of its tangent space, so (Morse-Bott) the "
                       "loss is strictly larger off the orbit near the point")
    if bound is not None:
        reasons.append(f"smallest nonzero Hessian eigenvalue >= {_dec(bound)} (certified root isolation of the "
                       "characteristic polynomial)")
    return _finish(candidate, verdict, loss, reasons, tangents, reduced=bound)


ENCLOSURE_MIN_P = 400  # above this, a strict minimum is first tried without forming the exact Hessian
BALL_HESSIAN_MIN_WORK = 2_000_000  # n d_L P^2 from which polynomial units try the ball Hessian first
BALL_HESSIAN_PREC = 128


def _large_strict(candidate, ball=False):
    """Many parameters, or many samples with polynomial units (exact entries of thousands of digits): exact loss and
    gradient (cheap), then the Hessian only as a rigorous enclosure -- float products with a-priori rounding bounds
    (:func:`.fast_definite.prove_pd_modulo_tangents_enclosure`), or with ``ball`` arb balls at BALL_HESSIAN_PREC bits
    (:func:`_ball_definite`; quadratic 3-5-5-5-1 at n = 2657: 4.7 s against ~250 s for the exact Hessian). Returns a
    strict certificate or None (then the exact Hessian decides)."""
    from .fast_definite import prove_pd_modulo_tangents_enclosure

    problem, point = candidate.problem, candidate.point
    ev = evaluate_exact(problem, point, order=1)
    if ev.kinks or any(g != 0 for g in ev.gradient):
        return None
    tangents = symmetry_tangents(problem.network, point, problem.loss.weight_decay)
    rows = [list(t.vector) for t in tangents]
    r = rank(rows) if rows else 0
    ok, why = (_ball_definite(problem, point, rows, r) if ball
               else prove_pd_modulo_tangents_enclosure(problem, point, rows))
    if not ok:
        return None
    reasons = [f"exact loss {ev.loss} (= {_dec(ev.loss)})",
               f"no pre-activation on a breakpoint: the loss is a polynomial near the point "
               f"({problem.network.num_params} parameters)", "exact gradient is zero: a critical point"]
    if tangents:
        reasons.append(f"{len(tangents)} symmetry tangent(s) ({', '.join(symmetry_names(tangents))}); their span "
                       f"has dimension {r}")
    reasons.append(why)
    return _strict(candidate, ev.loss, r, tangents, reasons)


def _fast_second_order(candidate, loss, H, rows, r, tangents, reasons):
    """Decide the two common cases without the characteristic polynomial (:mod:`.fast_definite`): H positive
    definite modulo the tangents (verified float Cholesky of the exact matrix), or an exact negative direction from
    a float eigenvector. None: left to exact inertia (degenerate cases, or the float proof failed)."""
    from .fast_definite import float_negative_direction, prove_pd_modulo_tangents

    ok, why = prove_pd_modulo_tangents(H, rows)
    if ok:
        reasons.append(why)
        charpoly = None
        if H.nrows() <= EIGENVALUE_BOUND_MAX_P:
            inn = charpoly_inertia(H)
            if inn.n_neg or inn.n_zero != r:
                raise InternalError("verified Cholesky and exact inertia disagree")
            charpoly = inn.charpoly
        return _strict(candidate, loss, r, tangents, reasons, charpoly)
    d = float_negative_direction(H)
    if d is None:
        return None
    q = _quad(H, d)
    reasons.append(f"exact direction d (a rounded float eigenvector) with d^T H d = {format_short(q)} < 0, checked "
                   "exactly; at a critical point of a polynomial loss(x + t d) = loss(x) + t^2/2 d^T H d + O(t^3): "
                   "not a local minimum")
    return _refute(candidate, NOT_LOCAL_MIN, loss, reasons, d, tangents)


def _quad(H, d):
    n = H.nrows()
    v = fmpq_mat(n, 1, list(d))
    return (v.transpose() * H * v)[0, 0]


def _ball_definite(problem, point, rows, r):
    """(ok, reason): the Hessian enclosed in arb balls at the exact point, checked to annihilate the tangents (each
    entry of H t a ball containing 0; H t = 0 holds exactly at a critical point, the loss being constant on the
    orbit), then Z^T H Z for an exact basis Z of their orthogonal complement by LDL^T on balls (every ball holds its
    exact pivot: all provably positive means the exact H is positive definite on a complement of the tangents)."""
    from ..arithmetic import evaluate_ball
    from ..linalg import ball_positive_definite, nullspace

    P = problem.network.num_params
    H = evaluate_ball(problem, point, prec=BALL_HESSIAN_PREC, order=2).hessian
    if rows:
        with flint_ctx.workprec(BALL_HESSIAN_PREC):
            Ht = H * arb_mat(fmpq_mat(rows).transpose())
        if not all(Ht[i, j].contains(0) for i in range(P) for j in range(len(rows))):
            raise InternalError("H t excludes 0 for a symmetry tangent at an exact critical point")
    basis = nullspace(rows, P) if rows else None
    ok = ball_positive_definite(H, basis, BALL_HESSIAN_PREC)
    what = (f"the Hessian restricted to the orthogonal complement of the {r}-dimensional tangent span (exact basis Z, "
            "Z^T H Z; each tangent's H t encloses 0)" if rows else "the Hessian")
    return ok is True, (f"{what} is positive definite: the Hessian enclosed in arb balls at {BALL_HESSIAN_PREC} bits "
                        "at the exact point (every ball contains the exact entry), LDL^T on balls with every pivot "
                        "provably positive (Sylvester)")
