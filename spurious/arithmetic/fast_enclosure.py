"""A cheap rigorous enclosure of the Hessian over a box, for finite data and many parameters.

Same second-order chain rule as :mod:`spurious.arithmetic.passes` (read its docstring), split by cost:

* the n x width scalars (pre-activations, sigma, sigma', sigma'', residuals, adjoints) are computed by the pass
  itself (:func:`~.passes.forward`, :func:`~.passes.backward`) in ``arb`` over the box (the parameters as balls),
  then split rigorously into a float midpoint and a float radius;
* the large products (per-sample Jacobians DZ, the cross terms K_l, the Gram sums of outer products) are float64
  matrix products with a-priori rounding-error bounds |fl(x.y) - x.y| <= gamma_k |x|.|y|, gamma_k = k u/(1 - k u)
  (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., Sec. 3.5; valid for any summation order and
  for FMA, not for Strassen-type products), with radii propagated entrywise;
* the P x P Gram sums sum_r w_r a_r a_r^T get a spectral-norm error bound from rank-one pieces,
  sum_r (|w_r| (2 |a_r| |e_r| + |e_r|^2) + omega_r (|a_r| + |e_r|)^2) plus the rounding terms, which is all that
  Rump's interval test (Cor. 2.7) needs, at the cost of one float product.

Memory and time at large P: every term of the Hessian is a sum over samples, so samples are processed in chunks
(``CHUNK_FLOATS`` tangent entries at a time, ~chunk x width x P floats instead of the n x width x P block, several
GB at P ~ 2000); each chunk's additions into H get their own rounding bound (u |H| per addition, in the norm). For
piecewise-linear layers the curvature term sum A sigma'' dz dz^T is exactly 0 and is not formed: the ball pass has
proved every pre-activation box off the breakpoints (otherwise it raises), so sigma'' = 0 on the whole box.

Why the P-sized part is not the pass run with float-interval scalars: the pass keeps scalars in Python lists and
does elementwise work (placing h_{l-1} into DZ, scaling DZ by sigma', the weighted Gram rows) one scalar at a time,
which is fine for exact and ball numbers whose arithmetic dominates anyway, but a Python-level interval scalar with
directed rounding would cost ~1 microsecond per operation on n P d entries (hours at P ~ 2000). Here the same
quantities are whole numpy arrays with ONE a-priori error bound per product (gamma_k), and the Gram sums are not
formed as interval matrices at all but bounded in spectral norm, which a scalar-by-scalar pass cannot express. So
this module is the one float-interval implementation of the P-sized products; everything it needs from the network
(values, slopes, curvatures, adjoints) comes from the pass.

Result: :class:`Enclosure` (mid, rad, norm): every true Hessian at a point of the box equals mid + E1 + E2 with
|E1| <= rad entrywise and ||E2||_2 <= norm. mid is exactly symmetric. Radii are rounded upward
(:func:`spurious.roundoff.up`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from flint import arb, arb_mat

from ..errors import UnsupportedError
from ..rationals import fmpq_to_float
from ..roundoff import U, frob_up, gamma, up
from .contexts import BallContext
from .passes import backward, forward

__all__ = ["Enclosure", "hessian_enclosure", "float_hessian", "split_arb", "enclosure_from_arb_mat"]


@dataclass
class Enclosure:
    """Every true matrix in the set is mid + E1 + E2 with |E1| <= rad (entrywise; None = 0), ||E2||_2 <= norm."""

    mid: np.ndarray
    rad: np.ndarray | None = None
    norm: float = 0.0

    def restrict(self, idx) -> "Enclosure":
        idx = np.asarray(idx)
        return Enclosure(self.mid[np.ix_(idx, idx)], None if self.rad is None else self.rad[np.ix_(idx, idx)],
                         self.norm)


def split_arb(values):
    """Float midpoints and rigorous float radii of a list of arb balls: |x - mid| <= rad for every x in a ball."""
    mids = np.array([float(v.mid()) for v in values], dtype=np.float64)
    rads = np.array([float(v.rad()) for v in values], dtype=np.float64)
    if not (np.all(np.isfinite(mids)) and np.all(np.isfinite(rads))):
        raise UnsupportedError("an enclosure is not finite (the box is too wide or the values overflow)")
    # rounding of the midpoint to float: at most one ulp <= 2 u |m|
    return mids, up(rads + np.abs(mids) * (2 * U), 3)


def enclosure_from_arb_mat(M: arb_mat) -> Enclosure:
    """Midpoint (exactly symmetrised) and radius of a symmetric arb_mat."""
    n = M.nrows()
    mid, rad = split_arb([M[i, j] for i in range(n) for j in range(n)])
    mid, rad = mid.reshape(n, n), rad.reshape(n, n)
    sym = (mid + mid.T) / 2
    rad = up(rad + np.abs(mid - sym) + np.abs(sym) * U, 4)
    return Enclosure(sym, rad, 0.0)


# float intervals (mid, rad) ---------------------------------------------------------------------------------------
def _mm(A, B, bounds=True):
    """Interval matrix product (mid, rad) of A = (Am, Ar) and B = (Bm, Br) (rad None = exact)."""
    Am, Ar = A
    Bm, Br = B
    mid = Am @ Bm
    if not bounds:
        return mid, None
    k = Am.shape[-1]
    aA, aB = np.abs(Am), np.abs(Bm)
    rad = gamma(k) * (aA @ aB)
    if Br is not None:
        rad += aA @ Br
    if Ar is not None:
        rad += Ar @ (aB if Br is None else aB + Br)
    return mid, up(rad, 3 * k + 8)


def _emul(A, B, bounds=True):
    """Elementwise interval product (broadcasting)."""
    Am, Ar = A
    Bm, Br = B
    mid = Am * Bm
    if not bounds:
        return mid, None
    rad = np.abs(mid) * U
    if Br is not None:
        rad = rad + np.abs(Am) * Br
    if Ar is not None:
        rad = rad + Ar * (np.abs(Bm) if Br is None else np.abs(Bm) + Br)
    return mid, up(rad, 6)


def _gram(rows, w, bounds=True):
    """sum_r w_r a_r a_r^T for interval rows (m x P) and interval weights: (float matrix, spectral error bound)."""
    Am, Ar = rows
    wm, wr = w
    Y = wm[:, None] * Am
    T = Am.T @ Y
    if not bounds:
        return T, 0.0
    k = Am.shape[0]
    a2 = up(np.einsum("ij,ij->i", Am, Am), Am.shape[1] + 2)
    a = np.nextafter(np.sqrt(a2), np.inf)
    e = np.zeros_like(a) if Ar is None else np.nextafter(np.sqrt(up(np.einsum("ij,ij->i", Ar, Ar), Ar.shape[1] + 2)),
                                                         np.inf)
    wa = np.abs(wm)
    wrr = np.zeros_like(wa) if wr is None else wr
    per = (gamma(k) + 2 * U) * wa * a2 + wa * (2 * a * e + e * e) + wrr * (a + e) ** 2
    return T, float(up(math.fsum(up(per, 12).tolist()), k + 2))


# the enclosure ---------------------------------------------------------------------------------------------------
def hessian_enclosure(problem, base, theta, radius=0.0, prec=128, bounds=True) -> Enclosure:
    """Enclosure of the Hessian over the box theta +- radius (radius: a float or one per coordinate).

    ``base`` supplies the non-trainable layers; ``theta`` is the flat float64 vector of trainable coordinates.
    ``bounds=False`` returns only the float midpoint (for Newton steps; no proof).
    """
    net = problem.network
    if not problem.finite:
        raise UnsupportedError("fast enclosure: finite data only")
    if not all(a.kind in ("smooth", "piecewise_linear", "polynomial") for a in net.activations):
        raise UnsupportedError("fast enclosure: smooth, piecewise-linear or polynomial activations only")
    theta = np.asarray(theta, dtype=np.float64)
    return _enclose(problem, base, theta, radius, prec, bounds)


def float_hessian(problem, base, theta) -> np.ndarray:
    """Float Hessian by the structured formula (evidence; fast for large P)."""
    return hessian_enclosure(problem, base, theta, 0.0, 64, bounds=False).mid


def _enclose(problem, base, theta, radius, prec, bounds):
    net = problem.network
    offsets, P = net.layer_offsets()
    shapes = net.layer_shapes()
    L = net.depth
    n = len(problem.data.X)
    point = base.with_flat(net, [float(t) for t in theta])
    Hs, S1, S2, A, G, cm, cr = _fb(problem, point, radius, prec)
    rvec = np.broadcast_to(np.asarray(radius, dtype=np.float64), (P,)) if np.ndim(radius) else np.full(P, float(radius))
    ends, e = [], 0
    for l in range(L):
        if offsets[l] is not None:
            dout, din, hb = shapes[l]
            e = offsets[l] + dout * din + (dout if hb else 0)
        ends.append(e)
    H = np.zeros((P, P))
    norm = 0.0
    dmax = max(shapes[l][0] for l in range(L))
    chunk = max(1, min(n, CHUNK_FLOATS // max(1, dmax * P)))
    for start in range(0, n, chunk):
        cols = slice(start, min(n, start + chunk))
        part = lambda pairs: [None if p is None else (p[0][:, cols], p[1][:, cols]) for p in pairs]  # noqa: E731
        norm += _add_samples(H, net, offsets, shapes, ends, rvec, point, part(Hs), part(S1), part(S2), part(A),
                             part(G), cm, cr, bounds)
    wd = problem.loss.weight_decay
    if wd != 0:
        lam = fmpq_to_float(wd)
        for l, (dout, din, _) in enumerate(shapes):
            if offsets[l] is not None:
                idx = np.arange(offsets[l], offsets[l] + dout * din)
                H[idx, idx] += lam
        if bounds:
            norm += 2 * U * abs(lam) + U * (1 + 4 * U) * float(np.max(np.abs(np.diag(H))))
    mid = (H + H.T) / 2
    if bounds:
        # symmetrising: the true Hessian is symmetric, so ||H_true - mid|| <= ||H_true - H~||; halving rounds by u
        norm += U * (1 + 4 * U) * frob_up(np.abs(mid))
        norm = float(up(norm, 16))
    return Enclosure(mid, None, norm)


CHUNK_FLOATS = 4_000_000  # samples are processed in chunks of about this many tangent entries (memory ~ 10x that)


def _add_samples(H, net, offsets, shapes, ends, rvec, point, Hs, S1, S2, A, G, cm, cr, bounds):
    """Add the contribution of one chunk of samples (every term of the Hessian is a sum over samples) to H in place;
    returns the spectral-norm error bound of this chunk, the rounding of its additions into H included."""
    L = net.depth
    n = Hs[0][0].shape[1]
    norm = 0.0
    DH = None  # (d_{l-1}, n, end_{l-1}) interval
    for l in range(1, L + 1):
        dout, din, hb = shapes[l - 1]
        off, end = offsets[l - 1], ends[l - 1]
        Wm = np.array([[fmpq_to_float(x) for x in row] for row in point.layers[l - 1].W]).reshape(dout, din)
        Wr = None
        if off is not None:
            Wr = rvec[off:off + dout * din].reshape(dout, din)
        DZm = np.zeros((dout, n, end))
        DZr = np.zeros((dout, n, end)) if bounds else None
        if DH is not None:
            pe = DH[0].shape[2]
            m, r = _mm((Wm, Wr), (DH[0].reshape(din, -1), None if DH[1] is None else DH[1].reshape(din, -1)), bounds)
            DZm[:, :, :pe] = m.reshape(dout, n, pe)
            if bounds:
                DZr[:, :, :pe] = r.reshape(dout, n, pe)
        if off is not None:
            hm, hr = Hs[l - 1]  # din x n
            for k in range(dout):
                DZm[k, :, off + k * din: off + (k + 1) * din] = hm.T
                if bounds:
                    DZr[k, :, off + k * din: off + (k + 1) * din] = hr.T
                if hb:
                    DZm[k, :, off + dout * din + k] = 1.0
            # cross term K_l[W_l[k, j], c] = sum_i G_l[k, i] DH_{l-1}^(i)[j, c]
            if DH is not None:
                pe = DH[0].shape[2]
                stack_m = DH[0].transpose(1, 0, 2).reshape(n, din * pe)
                stack_r = None if DH[1] is None else DH[1].transpose(1, 0, 2).reshape(n, din * pe)
                Km, Kr = _mm(G[l], (stack_m, stack_r), bounds)
                Km = Km.reshape(dout * din, pe)
                H[off:off + dout * din, :pe] += Km
                H[:pe, off:off + dout * din] += Km.T
                if bounds:
                    norm += 2 * frob_up(Kr)
                    norm += 2 * U * (1 + 4 * U) * frob_up(np.abs(H))
        rows = (DZm.reshape(dout * n, end), None if DZr is None else DZr.reshape(dout * n, end))
        if l == L:
            w = (np.full(dout * n, cm), np.full(dout * n, cr) if bounds else None)
        else:
            a_m, a_r = A[l]
            s_m, s_r = S2[l]
            wm_, wr_ = _emul((a_m, a_r), (s_m, s_r), bounds)
            w = (wm_.reshape(-1), None if wr_ is None else wr_.reshape(-1))
            if net.activations[l - 1].kind == "piecewise_linear":
                w = None  # sigma'' = 0: _fb has proved every pre-activation box off the breakpoints
        if w is not None:
            T, tn = _gram(rows, w, bounds)
            H[:end, :end] += T
            if bounds:
                norm += tn + U * (1 + 4 * U) * frob_up(np.abs(H))
        if l < L:
            DH = _emul((S1[l][0][:, :, None], S1[l][1][:, :, None] if bounds else None), (DZm, DZr), bounds)
    return norm


def _fb(problem, point, radius, prec):
    """The n x width quantities of the pass (:mod:`.passes`) in ball arithmetic over the box, split into floats."""
    from . import ball_layers

    net = problem.network
    ctx = BallContext(prec)
    X, Y = problem.data.X, problem.data.Y
    n, L = len(X), net.depth
    rad = radius.tolist() if isinstance(radius, np.ndarray) and radius.ndim else float(radius)
    with ctx.workprec():
        two_c = 2 * (arb(1) / n if problem.loss.reduction == "mean" else arb(1))
        fw = forward(ctx, net, X, ball_layers(net, point, rad))
        if fw.kinks:
            # piecewise-linear: a box that may touch a breakpoint has no derivative enclosure
            raise UnsupportedError(f"fast enclosure: a pre-activation box (layer {fw.kinks[0][0]}) may contain a "
                                   "breakpoint")
        F = fw.H[L]
        G, A = backward(fw, [[two_c * (F[o, i] - arb(Y[i][o])) for i in range(n)] for o in range(net.widths[-1])])

    def fl(M):
        if M is None:
            return None
        rows = M.tolist() if isinstance(M, arb_mat) else M
        m, r = split_arb([v for row in rows for v in row])
        return m.reshape(len(rows), -1), r.reshape(len(rows), -1)

    cm, cr = split_arb([two_c])
    return ([fl(h) for h in fw.H], [fl(s) for s in fw.S1[:L]], [fl(s) for s in fw.S2[:L]], [fl(a) for a in A],
            [fl(g) for g in G], float(cm[0]), float(cr[0]))
