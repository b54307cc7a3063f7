"""planted: a strict, non-global local minimum for any architecture and activation: choose the point, then the data.

Ours (construction issue 14; constructions.md section 15, with a different witness gadget). Squared loss
L(theta) = c sum_i |f(x_i; theta) - y_i|^2 (c = 1/n). With F = f(X; theta), J = dF/dtheta (N x P, N = n d_L) and
r = F - Y, the gradient is 2c J^T r and the Hessian 2c (J^T J + E(r)), E(r) = sum_i r_i Hess f_i.

Route (each numbered condition is checked; a failure raises InputError naming it):

1. Point and inputs. Rational inputs X and a rational point theta; hidden biases at the median of each unit's
   pre-activations, so every unit is used. (C1, piecewise-linear activations) every pre-activation at every sample is
   at positive distance from every breakpoint, checked exactly: near theta the activation pattern is frozen and the
   loss is a polynomial. One unit j of the last hidden layer is *weak*: its outgoing weight is a small eta.
2. Rank. n is chosen so that N > P - dim T, T the span of the continuous-symmetry tangents (positive rescaling of
   homogeneous units), which lie in ker J. (C2) rank J = P - dim T, checked exactly (a full-column-rank set of
   P - dim T columns, and J t = 0 for every tangent): then ker J = T and J^T J is positive definite on a
   complement of T.
3. Witness. theta* = theta with the incoming weights of the weak unit replaced: delta = f(X; theta*) - F = eta
   (sigma(z*) - sigma(z)) is O(eta) and (generically) has a component off range J. Let P_perp project onto
   (range J)^perp; r = -alpha P_perp delta. (C3) J^T r = 0 exactly (rational least squares), so theta is an exact
   critical point of the loss with Y = F - r. (C4) |delta|^2 + 2 r . delta < 0, checked exactly, which is
   L(theta*) < L(theta): theta is not a global minimum. alpha ~ |delta|^2 / |P_perp delta|^2 gives a gap
   c |delta|^2 with |r| = O(eta).
4. Curvature. The Hessian is 2c (J^T J + E(r)) and H t = 0 for t in T (exact identity at a critical point), so it is
   positive semidefinite with kernel exactly T iff J^T J + E(r) is positive definite on a complement of T. Why a
   weak unit makes |r| small enough: in coordinates where the weak unit's incoming weights are divided by eta,
   J^T J is O(1) and positive definite, and so is E(r)/|r| (every second derivative through the weak unit carries
   a factor eta, except d^2 f / d v_j d w_j whose contraction with r is (J^T r)_{w_j} / eta = 0), while
   |r| = O(eta). (C5) checked in float64 (generalised eigenvalue of (E(r), J^T J) on the complement >= -1/2);
   eta is halved until it holds. This is the construction's estimate; the *proof* is the verifier's: the exact
   path (piecewise-linear, polynomial: exact inertia, strict_modulo_symmetry / strict_local_min) or, for smooth
   activations, the interval path (Newton polish, strong convexity on a ball).

For a one-hidden-layer piecewise-linear network E(r) = 0 at every critical point (the only nonzero second
derivatives are d^2 f / d v_k d w_k, contracted to (J^T r)_{w_k} / v_k), so C5 always holds there.

Curvature features. For polynomial and smooth units the weak unit's own block sum_i r_i Hess_{w_j} f_i does not
shrink with eta; r is therefore also taken orthogonal to its features sigma''(z_j) h_a h_b (exactly, for polynomial
units), which makes that block vanish. With one hidden layer and a smooth activation this is done for every unit,
and then E(r) = 0: any residual size works. With route weak-unit, small deep smooth networks (P <= FULL_MAX_P) take r
orthogonal to every entry of every per-sample Hessian (n ~ P^2 / 2 samples), so again E(r) = 0 up to rounding, but
|r| is then large (the witness gains only through the part of delta off all those features) and the interval proof
mostly fails; the sdp route (below) is the default there.

Smooth activations (tanh, sigmoid, softplus, gelu, erf, swish): the same recipe in float64 (the best-conditioned of
a few random points); Y = F - r is rounded to rationals, so theta is a rational point within about 1e-12 of a true
nondegenerate critical point, which the interval path locates (Newton) and certifies; the witness's loss is then
enclosed by intervals. Known limit: with two or more hidden layers the Hessian is often too close to singular for
the interval proof (inconclusive, never a false verdict): the smallest eigenvalue of 2c J^T J is small against the
ball enclosure of the Hessian over the proof's box. Measured with the sdp route (tanh, seeds 0, 1, 2): 2-3-3-1 and
3-4-4-1 seed 0 certified strict and not global; 2-3-3-3-1 seed 1 certified, seeds 0 and 2 inconclusive.

Polynomial activations (exact acceptance; what fails). The float estimate of C5 may reject a point but never accepts
one: the exact Hessian must be positive definite on the complement of T (exact LDL^T), else the residual is shrunk
(factors 1, 3/4, 5/8: alpha is twice the witness threshold |delta|^2 / (2 |P_perp delta|^2), so C4 -- checked exactly
each time -- survives down to 1/2) and then eta is halved. The trade-off: H = 2c (J^T J + E(r)) with E linear in r, so
H > 0 on the complement of T as soon as |r| |E(r/|r|)| < lambda_min(J^T J) there (rank J = P - dim T); the witness
needs |r| >= |delta| / (2 cos), cos = |P_perp delta| / |delta|. The witness gain is first order in |r| only if delta
is small with cos bounded below, which a nearby witness cannot give (delta = J v + O(|v|^2): its off-range part is
second order, and the second-order test at theta is then exactly the witness condition); the weak unit gives |delta| =
O(eta) with cos independent of eta. For polynomial units two things break it, measured: (a) the network is a
polynomial of degree k^(L-1) in x, so rank J <= D = binom(d_0 + k^(L-1), d_0): for a quadratic unit at 2-3-3-1, D = 15
< P = 25 and C2 fails for every point (likewise a cubic at 2-3-1: D = 10 < 13); (b) for a cubic (z + z^3/3) at 2-3-3-1
the weak unit's change sigma(z*) - sigma(z) lies almost in range J on Gaussian data (measured, seed 0: |r| / eta
between 5e4 and 4e8 over the witnesses tried), and the weak unit's own curvature block E_{w_j w_j}(r) = eta sum_i r_i
sigma''(z_ij) h_i h_i^T is of the same order eta^2 as its J^T J block, so no eta helps (float ratio below -1e6 at
every eta from 1/4 to 1/1024; with the check off, the exact path finds a descent direction). The construction then
raises C5; nothing uncertified is returned.

Route sdp (polynomial and smooth units, two or more hidden layers, P <= SDP_MAX_P; the default there). The weak
unit fixes the direction of r; instead, r ranges over all of (range J)^perp = span N. In coordinates z on a complement
of the symmetry tangents where J^T J = I (whitening by the SVD of the column-equilibrated J), the Hessian is
2c (I + E~(N c)) with E~ linear in c. For each witness theta* (weak-unit variants and independent random points, the
largest off-range part first) a semidefinite program (cvxpy, Clarabel, :func:`_max_margin`)
    maximise t  subject to  I + E~(N c) >= t I,   -delta . N c >= kappa |delta|^2 / 2   (kappa = 3/2)
chooses c: the witness holds with margin and the curvature of every unit is cancelled as far as the normal space
allows (with n d_L ~ 4 (P - dim T) + 20 samples, N - rank J ~ 3 (P - dim T), the float margin t is typically > 0.5).
Beyond k = P - dim T > SDP_DENSE_MAX the interior-point LMI is too costly (its barrier block has k^2 / 2 rows), and
restricting it to a subspace of eigen-directions did not converge (each round pushed the curvature into the
directions left out: margin 1 on the subspace, -26 to -105 on R^k at 4-8-8-1); there c is the least-curvature
residual instead (:func:`_least_curvature`, closed form): the c of least |E~(N c)|_F (small ridge) meeting the
witness constraint with equality, every witness tried. With n d_L = 12 (P - dim T) + 20 samples (N - rank J ~ 11 k,
against the k (k + 1) / 2 entries of E~) its margin is typically 0.6-0.9 (measured at 4-8-8-1 and 3-5-5-5-1 for
tanh, softplus, gelu, erf), where the full SDP on 6 (P - dim T) + 20 samples had optimum -0.4 to 0 at 4-8-8-1.
For smooth units the labels are then taken from outputs and a Jacobian at 128 bits (:func:`_accurate_residual`): with
|r| ~ 1e5 the float64 Jacobian's cancellation errors (~1e-9) left the point ~1e-7 from critical.
Then, as before, r is projected exactly into the left null space of J (C3) and C4 is checked exactly; polynomial
units are accepted only on an exactly positive definite Hessian, smooth units go to the interval path. For
polynomial units at two or more hidden layers the pre-activations of every layer are scaled to unit spread (the
composed polynomial of degree k^(L-1) is otherwise too ill-conditioned). Outputs, J, the Hessian entries and
delta all lie in the polynomials of degree k^(L-1) in x (dimension D = binom(d_0 + k^(L-1), d_0)), so the SDP has
only D - rank J directions to cancel the (P - dim T)(P - dim T + 1)/2 entries of E~: it needs d_0 >= 3 for a cubic at
two hidden layers (2-3-3-1: D = 55, margins mostly negative, C5 for seeds 0-2 since the float estimates refuse; an
early run found seeds 0 and 1 there). If C5 fails at the default n (polynomial units, n not given), it is retried
once with n d_L ~ P^2 / 2. Measured (z + z^3/3): 3-2-2-1, 3-3-2-1 seed 0 and 3-3-3-1 seeds 0, 1 strict and not global
by the exact path; 4-2-2-2-1 (degree 27 in x) also, with ~10^4-digit labels (the exact numbers of a depth-3
polynomial network). A degree-2 polynomial in the last hidden layer has the output form's orthogonal group
O(diag(v)) (k (k - 1) / 2 generators, listed by :mod:`spurious.symmetries`), so dim T counts it: quadratic 2-3-3-3-1
(D = 45, P - dim T = 25: 20 normal directions), 3-4-4-1 (D = 35, P - dim T = 27: 8 normal directions for the 378
entries of E~) and 3-5-5-5-1 (D = 165, P - dim T = 61) are planted strict modulo symmetry and not global, but where
the room is small most points fail C5 (2-3-3-3-1, n = 120, seeds 0-3: one of four planted with 6 points per seed,
three of four with 30), hence SDP_POLY_POINT_TRIES; 2-3-3-1 fails
C2 (D = 15 < 16) and every one-hidden-layer quadratic network of width >= d_0 + 1 represents every quadratic (J onto
the polynomial space: every critical point with rank J = D is a global minimum).

The exact Jacobian is the one forward pass's (:func:`spurious.arithmetic.passes.jacobian`).
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
from flint import fmpq, fmpq_mat

from ..arithmetic import EXACT, evaluate_exact
from ..arithmetic.passes import context_layers, jacobian
from ..candidate import Candidate
from ..errors import InputError
from ..network import Network, Point
from ..problem import FiniteData, Loss, Problem
from ..rationals import fmpq_to_float, to_fmpq
from ..symmetries import symmetry_tangents
from . import Param
from .common import activation_of, int_param, rational_param, seed_of, widths_of

__all__ = ["planted", "plant", "FAMILY", "REFERENCE", "default_samples"]

REFERENCE = ("spurious (planted minimum: point first, data from the left null space of the Jacobian, weak-unit "
             "witness); see constructions.md section 15")
MAX_HALVINGS = 16
POLY_POINT_TRIES = 4
POLY_HALVINGS = 5  # each polynomial halving costs an exact Hessian
WITNESS_TRIES = 8
MAX_PARAMS = 2000
POINT_TRIES = 12
MIN_SV_RATIO = 1e-6
SMOOTH_POINTS = 6
FULL_MAX_P = 40
FULL_HALVINGS = 3  # E(r) ~ 0 there: eta hardly matters
ROUTES = ("auto", "weak-unit", "sdp")
RESIDUAL_SHRINK = (1, fmpq(3, 4), fmpq(5, 8))  # alpha is 2x the witness threshold: C4 holds down to 1/2
HESSIAN_BALL_PREC = 128  # the acceptance Hessian is enclosed in balls at this precision first (exact if undecided)
SMOOTH_GAIN = 3  # larger pre-activations: more nonlinear units, a better-conditioned Jacobian


def default_samples(widths, activation, sdp=None) -> int:
    """n with n d_L well above P - dim T + (weak-unit curvature features): room for the witness and a
    well-conditioned J^T J."""
    net = Network.make(tuple(widths), activation)
    free = net.num_params - _symmetry_dim(net)
    if _sdp_route(net) if sdp is None else sdp:  # (range J)^perp of dimension ~ 3 (P - dim T): room for the SDP to cancel curvature
        # smooth units beyond the dense LMI (k > SDP_DENSE_MAX), where r is the least-curvature residual: 11 (P - dim T)
        # normal directions; measured at 4-8-8-1 (k = 121): softplus failed C5 at 8 (P - dim T) + 20 for seeds 0 and
        # 1 and planted at 12 (P - dim T) + 20; tanh, gelu and erf planted at both
        per = 12 if net.activations[0].kind == "smooth" and free > SDP_DENSE_MAX else 4
        return math.ceil((per * free + 20) / widths[-1])
    if _full_cancellation(net):
        P = net.num_params
        return math.ceil((P * (P + 1) // 2 + P + 30) / widths[-1])
    din = widths[-3] + 1
    extra = 0 if net.activations[-1].kind == "piecewise_linear" else len(_curvature_units(net)) * din * (din + 1) // 2
    return max(4, math.ceil((2 * free + extra + 10) / widths[-1]))


def _symmetry_dim(net) -> int:
    """dim T at a generic point: the exact rank of the symmetry tangents (rescalings of homogeneous units, the
    output form's orthogonal group of a last quadratic layer) at a fixed random integer point."""
    import random

    from ..linalg import rank

    rng = random.Random(0)
    q = lambda: fmpq(rng.choice((-1, 1)) * rng.randint(1, 9))  # noqa: E731  (no zero unit: generic)
    layers = [([[q() for _ in range(din)] for _ in range(dout)], [q() for _ in range(dout)] if has_b else None)
              for dout, din, has_b in net.layer_shapes()]
    rows = _exact_tangents(net, layers)
    return rank(rows) if rows else 0


# random rational data and point ---------------------------------------------------------------------------------
def _round(x, den):
    return fmpq(int(round(float(x) * den)), den)


def _centre(act):
    """A pre-activation value around which the unit is 'half on': the middle breakpoint, else 0."""
    if act.kind == "piecewise_linear":
        bps = act.breakpoints
        return bps[len(bps) // 2]
    return fmpq(0)


def _preacts(W, b, H):
    """Exact pre-activations, d_out x n, from W (rows), b, H (d_in x n lists)."""
    Z = fmpq_mat([list(r) for r in W]) * fmpq_mat(H)
    return [[Z[k, i] + b[k] for i in range(Z.ncols())] for k in range(Z.nrows())]


def _apply(act, Z):
    out = []
    for row in Z:
        vals = []
        for z in row:
            v = act.evaluate(EXACT, z)
            if v[1] is None:
                raise InputError("planted: condition C1 violated: a pre-activation lies on a breakpoint")
            vals.append(v[0])
        out.append(vals)
    return out


def _random_point(net, X, rng, eta):
    """Layers (W rows, b) as fmpq: Gaussian weights ~ 1/sqrt(fan-in) rounded to 1/16; each hidden bias puts the unit's
    threshold (middle breakpoint, else 0) at a random quantile of its pre-activations, so every unit is used."""
    import torch

    from ..arithmetic import TORCH

    L = net.depth
    H = np.array([[fmpq_to_float(v) for v in x] for x in X]).T  # d_0 x n, float (choices only)
    layers = []
    for l in range(1, L + 1):
        dout, din = net.widths[l], net.widths[l - 1]
        if l == L:
            W = [[_round(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5), 8) for _ in range(din)] for _ in range(dout)]
            layers.append(_with_eta([(W, [fmpq(0)] * dout)], eta)[0])
            break
        gain = SMOOTH_GAIN if act_kind(net, l) == "smooth" else 1
        W = [[_round(gain * rng.normal() / math.sqrt(din), 16) for _ in range(din)] for _ in range(dout)]
        for row in W:
            if all(w == 0 for w in row):
                row[0] = fmpq(1, 2)
        act = net.activations[l - 1]
        Z0 = np.array([[fmpq_to_float(w) for w in row] for row in W]) @ H
        if act.kind == "polynomial" and net.depth >= 3:  # pre-activations of unit spread at every depth: the
            # composed polynomial stays well-conditioned (otherwise degree k^(L-1) terms dominate or vanish)
            W = [[_round(w / max(float(np.std(Z0[k])), 1e-3), 16) for w in map(fmpq_to_float, row)]
                 for k, row in enumerate(W)]
            for row in W:
                if all(w == 0 for w in row):
                    row[0] = fmpq(1, 2)
            Z0 = np.array([[fmpq_to_float(w) for w in row] for row in W]) @ H
        b = [_centre(act) - _round(np.quantile(Z0[k], rng.uniform(0.2, 0.8)), 16) + fmpq(1, 257)
             for k in range(dout)]
        layers.append((W, b))
        Z = Z0 + np.array([fmpq_to_float(v) for v in b])[:, None]
        H = act.evaluate(TORCH, torch.tensor(Z))[0].numpy()
    if any(a.kind == "piecewise_linear" for a in net.activations):
        layers = _off_breakpoints(net, X, layers)
    return layers


def _off_breakpoints(net, X, layers):
    """Condition C1 by construction: a unit with a pre-activation exactly on a breakpoint gets its bias nudged."""
    H = [list(col) for col in zip(*X)]
    out = []
    for l in range(1, net.depth):
        W, b = layers[l - 1]
        b = list(b)
        act = net.activations[l - 1]
        Z = _preacts(W, b, H)
        if act.kind == "piecewise_linear":
            for k in range(len(b)):
                while any(z == c for z in Z[k] for c in act.breakpoints):
                    b[k] += fmpq(1, 4099)
                    Z[k] = [z + fmpq(1, 4099) for z in Z[k]]
            H = _apply(act, Z)
        else:
            H = _apply(act, Z)
        out.append((W, b))
    return out + [layers[-1]]


def act_kind(net, l):
    return net.activations[l - 1].kind


def _random_inputs(n, d, rng):
    X, seen = [], set()
    while len(X) < n:
        x = tuple(_round(v, 8) for v in rng.normal(size=d))
        if x not in seen:
            seen.add(x)
            X.append(x)
    return X


# float model (choices) ------------------------------------------------------------------------------------------
class _Float:
    def __init__(self, net, X, layers):
        import torch

        from ..arithmetic import FloatModel

        self.torch = torch
        self.net = net
        self.point = _point(layers)
        problem = Problem(net, FiniteData(tuple(X), tuple((fmpq(0),) * net.widths[-1] for _ in X)), Loss())
        self.model = FloatModel(problem, self.point)
        self.X = self.model.X
        self.Xq = X

    def theta(self, layers):
        return self.torch.tensor(_point(layers).flatten_float(self.net))

    def outputs(self, layers):
        return self.model.forward(self.theta(layers), self.X).reshape(-1).numpy()

    def _one(self, th, x):
        return self.model.forward(th, x[None, :])[0]

    def jacobian(self, layers):
        """J = dF/dtheta, (n d_L) x P, one sample at a time (vmap): linear in n, where the Jacobian of the whole
        batch's output would back-propagate every output through every sample."""
        from torch.func import jacrev, vmap

        J = vmap(jacrev(self._one), in_dims=(None, 0))(self.theta(layers), self.X)
        return J.reshape(-1, J.shape[-1]).numpy()

    def whitened_hessians(self, layers, Wh, rows=slice(None)):
        """Per-sample Hessians Wh^T Hess f_i Wh in the coordinates theta + Wh u, (n d_L) x k x k (vmap over the samples
        ``rows``)."""
        from torch.func import hessian, vmap

        th, W = self.theta(layers), self.torch.tensor(Wh)
        u = self.torch.zeros(W.shape[1], dtype=th.dtype)
        H = vmap(hessian(lambda u, x: self._one(th + W @ u, x)), in_dims=(None, 0))(u, self.X[rows])
        return H.reshape(-1, W.shape[1], W.shape[1]).numpy()

    def curvature(self, layers, r):
        """E(r) = sum_i r_i Hess f_i (float64)."""
        from torch.func import hessian

        rt = self.torch.tensor(r)
        return hessian(lambda th: (rt * self.model.forward(th, self.X).reshape(-1)).sum())(self.theta(layers)).numpy()


def _point(layers):
    return Point.from_arrays([W for W, _ in layers], [b for _, b in layers])


def _tangents_float(net, layers):
    """The symmetry tangents at the point as a float P x t matrix (columns): :func:`_exact_tangents`, rounded."""
    rows = _exact_tangents(net, layers)
    if not rows:
        return np.zeros((net.num_params, 0))
    return np.array([[fmpq_to_float(x) for x in r] for r in rows]).T

def _complement(T, P):
    import scipy.linalg

    return np.eye(P) if T.shape[1] == 0 else scipy.linalg.null_space(T.T)


def _curvature_ratio(net, fl, layers, J, r):
    """Smallest generalised eigenvalue of (E(r), J^T J) on the complement of the tangents, in parameters scaled to
    unit Jacobian columns (invariant under the scaling, better conditioned); None when C2 fails numerically."""
    red = _reduced(net, J, layers)
    if red is None:
        return None
    d, Q, S, Vt = red
    B = Q.T @ (fl.curvature(layers, r) / np.outer(d, d)) @ Q
    M = (Vt @ B @ Vt.T) / np.outer(S, S)
    return float(np.linalg.eigvalsh((M + M.T) / 2).min())


def _exact_jacobian(net, X, layers):
    """(F, J) exactly via the one forward pass: F the N = n d_L outputs (sample-major), J the N x P Jacobian (rows
    of fmpq)."""
    from ..errors import UnsupportedError

    try:
        F, J = jacobian(EXACT, net, X, [(list(map(list, W)), list(b)) for W, b in layers])
    except UnsupportedError:
        raise InputError("planted: condition C1 violated: a pre-activation lies on a breakpoint") from None
    return [v for row in F for v in row], J.tolist()


def _exact_tangents(net, layers):
    """Exact symmetry tangents at the point (rows), from the one statement of the symmetries
    (:func:`spurious.symmetries.symmetry_tangents`): for planted networks, the rescaling of homogeneous units."""
    return [list(t.vector) for t in symmetry_tangents(net, _point(layers))]


# the construction -----------------------------------------------------------------------------------------------
def planted(*, widths=(2, 3, 3, 1), activation="relu", n=None, seed=0, eta="1/4", residual="1", route="auto"):
    """A planted strict, non-global local minimum (see the module docstring for the route and its conditions)."""
    return plant(widths=widths, activation=activation, n=n, seed=seed, eta=eta, residual=residual, route=route)


def plant(*, widths, activation="relu", n=None, seed=0, eta="1/4", residual="1", route="auto",
          check_curvature=True, deadline=None):
    """Build the planted candidate. ``route`` chooses r: ``weak-unit``, ``sdp`` (polynomial and smooth units) or
    ``auto`` (:func:`_sdp_route`). ``deadline`` (a ``time.monotonic()`` value): stop with an InputError once it has
    passed (checked between points, witnesses and exact checks). ``residual`` scales r after it is chosen (1: as
    chosen); with ``check_curvature=False`` condition C5 is not enforced (for soundness tests: such points must never
    verify as minima unless they are).

    Runs single-threaded (BLAS via threadpoolctl, and torch): the float choices (SVD, eigh, the SDP, torch Hessians)
    round differently with the number of threads, and randomness must come only from ``seed``. On the 2-core
    machines this is also faster (tanh 3-4-4-1: 6.6 s at one thread, 8.2 s at two)."""
    with _single_threaded():
        return _plant(widths=widths, activation=activation, n=n, seed=seed, eta=eta, residual=residual, route=route,
                      check_curvature=check_curvature, deadline=deadline)


@contextlib.contextmanager
def _single_threaded():
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)


def _plant(*, widths, activation="relu", n=None, seed=0, eta="1/4", residual="1", route="auto",
           check_curvature=True, deadline=None):
    """:func:`plant` in the calling thread's thread limits."""
    widths = widths_of(widths, "planted", min_depth=2, d_out=None)
    act = activation_of(activation)
    if act.is_linear:
        raise InputError("planted: condition C0 violated: a linear activation has no spurious minima (Kawaguchi 2016, "
                         "deep linear networks: every local minimum is global)")
    seed = seed_of(seed)
    eta = rational_param(eta, "eta", positive=True)
    scale = rational_param(residual, "residual", positive=True)
    net = Network.make(widths, act)
    P = net.num_params
    if route not in ROUTES:
        raise InputError(f"planted: route must be one of {', '.join(ROUTES)}, got {route!r}")
    sdp = _sdp_route(net) if route == "auto" else route == "sdp"
    if sdp and act.kind == "piecewise_linear":
        raise InputError("planted: route sdp is for polynomial and smooth units (piecewise-linear: E(r) has no "
                         "curvature to cancel; use the weak-unit route)")
    if P > MAX_PARAMS:
        raise InputError(f"planted: at most {MAX_PARAMS} parameters, got {P}")
    tdim = _symmetry_dim(net)
    n_given = n
    n = default_samples(widths, act, sdp) if n is None else int_param(n, "n", 1, 5000)
    if n * widths[-1] <= P - tdim:
        raise InputError(f"planted: condition C2 violated: need n d_L > P - dim T = {P - tdim} samples x outputs, "
                         f"got n = {n}")
    k = max((i for i, c in enumerate(act.coefficients or ()) if c != 0), default=0)
    if act.kind == "polynomial" and k >= 1:
        # every column of J is d_L polynomials in x of degree k^(L-1): rank J <= d_L binom(d_0 + k^(L-1), d_0)
        D = widths[-1] * math.comb(widths[0] + k ** (net.depth - 1), widths[0])
        if D < P - tdim:
            raise InputError(f"planted: condition C2 violated: the network is a polynomial of degree "
                             f"{k ** (net.depth - 1)} in x, so rank J <= {D} < P - dim T = "
                             f"{P - tdim} for any data; use wider inputs, more depth or a higher degree")
    rng = np.random.default_rng(seed)
    X = _random_inputs(n, widths[0], rng)
    if sdp and act.name == "sigmoid" and route == "auto":
        # sigmoid(2z) = (1 + tanh(z)) / 2: a sigmoid network is an affine reparametrisation of a tanh network
        return _sigmoid_from_tanh(_plant(widths=widths, activation="tanh", n=n_given, seed=seed, eta=eta,
                                        residual=residual, route="sdp", check_curvature=check_curvature,
                                        deadline=deadline), act)
    if sdp:
        try:
            return _plant_by_sdp(net, act, X, rng, seed, eta, scale, n, check_curvature, deadline)
        except InputError as e:
            more = _sdp_retry_samples(net)
            if not ("C5" in str(e) and n_given is None and act.kind == "polynomial" and more > n):
                raise
        # polynomial units: features, J and delta all live in the polynomials of degree k^(L-1) in x, so the
        # normal space must be about as large as the k(k+1)/2 entries of E~ for the SDP to cancel them
        n = more
        X = _random_inputs(n, widths[0], rng)
        return _plant_by_sdp(net, act, X, rng, seed, eta, scale, n, check_curvature, deadline,
                             tries=SDP_POINT_TRIES)  # n ~ P^2 / 2: points cost more there
    fl, result, failed = None, None, "C2"
    eta0 = eta
    smooth = act.kind == "smooth"
    tries = POLY_POINT_TRIES if act.kind == "polynomial" else POINT_TRIES
    for _ in range(tries):  # C2 fails when too few activation regions carry samples: draw another point
        _check_deadline(deadline)
        layers = _random_point(net, X, rng, eta0)
        fl = fl or _Float(net, X, layers)
        if smooth:  # the interval proof needs a well-conditioned Hessian: keep the best of a few points
            layers = _best_conditioned(net, X, fl, rng, eta0, layers)
        if not _rank_ok(net, fl, layers):
            continue
        witnesses = _weak_unit_variants(net, X, layers, rng)
        eta = eta0
        halvings = (FULL_HALVINGS if _full_cancellation(net) else POLY_HALVINGS if act.kind == "polynomial"
                    else MAX_HALVINGS)
        for _ in range(halvings):
            _check_deadline(deadline)
            layers = _with_eta(layers, eta)
            # polynomial units: the float C5 estimate may reject, but only the exact Hessian accepts
            exact_c5 = act.kind == "polynomial" and check_curvature
            result = _attempt(net, act, fl, layers, witnesses, eta, scale, check_curvature)
            if isinstance(result, dict) and exact_c5:
                cand = _exactly_accepted(net, act, X, layers, result, seed, eta, scale, n)
                if cand is not None:
                    return cand
                result = None  # the float estimate accepted what the exact Hessian refutes
            if result is not None:
                break
            eta /= 2
        if result == "C2":  # ill-conditioned at this eta: another point
            result = None
            continue
        if result is not None:
            break
        failed = "C5"
    else:
        if failed == "C2":
            raise InputError(f"planted: condition C2 violated: rank J < P - dim T = {P - tdim} (or J too ill-"
                             f"conditioned to choose r) for {tries} random points; try more samples (n) or "
                             "another seed")
        how = "float curvature check (and, polynomial units, the exact Hessian)"
        raise InputError(f"planted: condition C5 violated: the {how} failed for every point tried (eta halved "
                         f"down to {eta})")
    return _candidate(net, act, X, layers, result, seed, eta, scale, n)


def _check_deadline(deadline):
    import time

    if deadline is not None and time.monotonic() > deadline:
        raise InputError("planted: stopped at the time budget before a point passed every condition")


def _exactly_accepted(net, act, X, layers, res, seed, eta, scale, n):
    """Polynomial activations: condition C5 decided exactly, not by the float estimate. The residual is scaled by
    RESIDUAL_SHRINK factors (C4, the witness, is re-checked exactly for each); the first candidate whose exact Hessian
    is positive definite on the complement of the symmetry tangents is returned, else None."""
    for factor in RESIDUAL_SHRINK:
        try:
            cand = _candidate(net, act, X, layers, res, seed, eta, scale * factor, n)
        except InputError as e:
            if "C4" in str(e):
                break  # smaller residuals lose the witness too
            raise
        if _exact_hessian_definite(net, cand, layers):
            return cand
    return None


def _exact_hessian_definite(net, cand, layers) -> bool:
    """Exactly: is the loss Hessian at the point positive definite on the complement of the symmetry tangents?

    Decided on the Hessian's ball enclosure at HESSIAN_BALL_PREC bits first (a decided answer is the exact one:
    :func:`spurious.linalg.ball_positive_definite`); the exact rational Hessian only when a pivot is undecided
    (quadratic 3-5-5-5-1 at n = 2657: 4.7 s in balls against ~250 s exactly)."""
    from ..arithmetic import evaluate_ball
    from ..linalg import ball_positive_definite, compress, is_positive_definite, nullspace

    tangents = _exact_tangents(net, layers)
    basis = nullspace(tangents, net.num_params) if tangents else None
    Hb = evaluate_ball(cand.problem, cand.point, prec=HESSIAN_BALL_PREC, order=2).hessian
    decided = ball_positive_definite(Hb, basis)
    if decided is not None:
        return decided
    H = evaluate_exact(cand.problem, cand.point, order=2).hessian
    return is_positive_definite(H if basis is None else compress(H, basis))


def _with_eta(layers, eta):
    W, b = layers[-1]
    return list(layers[:-1]) + [([[eta] + list(row[1:]) for row in W], b)]


def _rank_ok(net, fl, layers):
    """Float estimate of C2: J, with equilibrated columns, well conditioned on the complement of the tangents."""
    return _reduced(net, fl.jacobian(layers), layers) is not None


def _best_conditioned(net, X, fl, rng, eta, first, tries=SMOOTH_POINTS):
    """Among ``first`` and tries - 1 more random points, the one whose Jacobian is best conditioned."""
    def quality(layers):
        red = _reduced(net, fl.jacobian(layers), layers)
        return -1.0 if red is None else red[2][-1] / red[2][0]

    best, q = first, quality(first)
    for _ in range(tries - 1):
        cand = _random_point(net, X, rng, eta)
        qc = quality(cand)
        if qc > q:
            best, q = cand, qc
    return best


def _reduced(net, J, layers):
    """(d, Q, S, Vt): parameter scaling d (column norms of J), an orthonormal basis Q of the complement of the scaled
    tangents, and the SVD of (J / d) Q; None when its condition number exceeds 1/MIN_SV_RATIO (float curvature
    estimates would not be trustworthy: C2 counts as failed for this point)."""
    d = np.linalg.norm(J, axis=0)
    if d.min() == 0:
        return None
    T = _tangents_float(net, layers) * d[:, None]
    Q = _complement(T, net.num_params)
    _, S, Vt = np.linalg.svd((J / d) @ Q, full_matrices=False)
    return (d, Q, S, Vt) if S[-1] > MIN_SV_RATIO * S[0] else None


def _weak_unit_variants(net, X, layers, rng):
    """Witness points: the weak unit's incoming weights (layer L-1, unit 0) replaced by random ones (the last layer
    is re-set by :func:`_with_eta`)."""
    L = net.depth
    din = net.widths[L - 2]
    out = []
    for _ in range(WITNESS_TRIES):
        new = [([list(r) for r in W], list(b)) for W, b in layers]
        w = [_round(v, 8) for v in rng.normal(size=din) * 1.5 / math.sqrt(din)]
        if all(v == 0 for v in w):
            w[0] = fmpq(1)
        new[L - 2][0][0] = w
        new[L - 2][1][0] = _round(rng.normal(), 8) + fmpq(1, 263)
        out.append([(tuple(tuple(r) for r in W), tuple(b)) for W, b in new])
    return out


def _attempt(net, act, fl, layers, witnesses, eta, scale, check_curvature):
    """Float choices for one eta: the witness and r; None when the curvature check (C5) fails."""
    X = fl.Xq
    F = fl.outputs(layers)
    J = fl.jacobian(layers)
    P = net.num_params
    T = _tangents_float(net, layers)
    Q = _complement(T, P)
    feats = _hessian_features(fl, layers) if _full_cancellation(net) else _weak_curvature_features(net, fl, layers)
    U, sv, _ = np.linalg.svd(np.hstack([J, feats]), full_matrices=False)
    U = U[:, sv > 1e-12 * sv[0]]  # orthonormal basis of range [J, features]: one SVD for all witnesses
    best = None
    for wl in witnesses:
        wl = _with_eta(wl, eta)
        try:
            if act.kind == "piecewise_linear":
                _check_margins(net, X, wl)
        except InputError:
            continue
        delta = fl.outputs(wl) - F
        u = delta - U @ (U.T @ delta)
        cos = np.linalg.norm(u) / max(np.linalg.norm(delta), 1e-300)
        if best is None or cos > best[0]:
            best = (cos, wl, delta, u)
    if best is None or best[0] < 1e-8:
        raise InputError("planted: condition C4 violated: no witness with an output change off the range of J")
    cos, wl, delta, u = best
    alpha = float(np.dot(delta, delta) / np.dot(u, delta))
    r = -alpha * u * float(scale)
    if check_curvature:
        ratio = _curvature_ratio(net, fl, layers, J, r)
        if ratio is None:
            return "C2"
        if ratio < -0.5:
            return None
    return {"witness": wl, "alpha": alpha, "u": u, "r_float": r}


def _full_cancellation(net) -> bool:
    """Smooth activations, two or more hidden layers, few parameters: r is made orthogonal to every entry of every
    per-sample Hessian, so E(r) = 0 (up to rounding) and the Hessian is 2c J^T J at any residual size."""
    return net.depth >= 3 and net.activations[0].kind == "smooth" and net.num_params <= FULL_MAX_P


def _hessian_features(fl, layers):
    """N x P(P+1)/2: entry (a, b), a <= b, of the Hessian of each output f_i, as columns (float64)."""
    from torch.func import hessian

    theta = fl.theta(layers)
    X = fl.model.X
    H = hessian(lambda th: fl.model.forward(th, X).reshape(-1))(theta).numpy()  # N x P x P
    iu = np.triu_indices(H.shape[1])
    return H[:, iu[0], iu[1]]


def _curvature_units(net):
    """Units whose own curvature block is cancelled: the weak unit; with one hidden layer and a smooth activation
    every unit (then E(r) = 0 exactly up to rounding, and any residual size works)."""
    if net.depth == 2 and net.activations[0].kind == "smooth":
        return range(net.widths[1])
    return range(1)


def _weak_curvature_features(net, fl, layers):
    """Columns sigma''(z_k) h_a h_b (units k of :func:`_curvature_units`, their inputs h with a 1 appended): r
    orthogonal to them makes each such unit's own curvature block sum_i r_i Hess_{w_k} f_i vanish (N x k; empty for
    piecewise-linear units)."""
    act = net.activations[-1]
    if act.kind == "piecewise_linear":
        return np.zeros((len(fl.Xq) * net.widths[-1], 0))
    import torch

    from ..arithmetic import TORCH

    h = fl.model.X
    layers_t = fl.model.layers(fl.theta(layers))
    for l in range(net.depth - 2):
        W, b = layers_t[l]
        h = net.activations[l].evaluate(TORCH, h @ W.T + b)[0]
    W, b = layers_t[net.depth - 2]
    s2 = act.evaluate(TORCH, h @ W.T + b)[2].numpy()  # n x d_{L-1}
    ht = np.hstack([h.numpy(), np.ones((h.shape[0], 1))])
    cols = [s2[:, k] * ht[:, a] * ht[:, c] for k in _curvature_units(net)
            for a in range(ht.shape[1]) for c in range(a, ht.shape[1])]
    out = np.array(cols).T
    return np.repeat(out, net.widths[-1], axis=0) if net.widths[-1] > 1 else out


def _check_margins(net, X, layers):
    H = [list(col) for col in zip(*X)]
    for l in range(1, net.depth):
        W, b = layers[l - 1]
        Z = _preacts(W, b, H)
        H = _apply(net.activations[l - 1], Z)


def _candidate(net, act, X, layers, res, seed, eta, scale, n):
    witness = _point(res["witness"])
    point = _point(layers)
    d_out = net.widths[-1]
    if act.exact:
        Y, info = _exact_labels(net, X, layers, res, scale)
    else:
        Fv, r = _accurate_residual(net, X, layers, res["r_float"])
        Yf = Fv - r
        Y = [tuple(to_fmpq(float(Yf[i * d_out + o])) for o in range(d_out)) for i in range(n)]
        info = {}
    problem = Problem(net, FiniteData(tuple(tuple(x) for x in X), tuple(Y)), Loss())
    meta = {"construction": "planted", "reference": REFERENCE,
            "params": {"widths": list(net.widths), "activation": act.to_json(), "n": n, "seed": seed,
                       "eta": str(eta), "residual": str(scale)},
            "notes": ("point chosen first; labels Y = f(X; point) - r with r in the left null space of the Jacobian "
                      + ("(exact: an exact critical point)" if act.exact else
                         "(float64, labels rounded: a rational point near a true critical point)")
                      + ("; r chosen by an SDP or least curvature (curvature cancelled on (range J)^perp); witness: "
                         "another point"
                         if res.get("features", True) is False else
                         f"; weak unit: last hidden layer unit 0, outgoing weight {eta}; witness: its incoming "
                         "weights replaced"))}
    meta.update(info)
    return Candidate(problem, point, witness, meta)


def _accurate_residual(net, X, layers, r):
    """(F, r) for smooth units: outputs and Jacobian at 128 bits (arb midpoints), r projected once more onto
    (range J)^perp. The float64 J carries absolute errors ~1e-9 where the pre-activations are large (cancellation);
    times a residual of norm ~1e5 (the least-curvature residuals of deep networks) that left gradients ~1e-7 at the
    planted point, and the interval path's Newton polish could not reach the critical point (measured: softplus
    3-5-5-5-1 seed 0, gradient 5e-7 -> 2e-12 with this, inconclusive -> strict)."""
    from ..arithmetic.contexts import BallContext

    ball = BallContext()
    with ball.workprec():
        F, J = jacobian(ball, net, [list(x) for x in X],
                        context_layers(ball, [(L.W, L.b) for L in _point(layers).layers]))
        F = np.array([float(v.mid()) for row in F for v in row])
        J = np.array([[float(J[i, j].mid()) for j in range(J.ncols())] for i in range(J.nrows())])
    U = np.linalg.svd(J, full_matrices=False)[0][:, :net.num_params - _symmetry_dim(net)]
    for _ in range(2):
        r = r - U @ (U.T @ r)
    return F, r


def _exact_labels(net, X, layers, res, scale):
    """Exact r in the left null space of J (C2, C3), checked witness (C4); returns (Y rows, meta info)."""
    import scipy.linalg

    F, J = _exact_jacobian(net, X, layers)
    Fw, _ = _exact_jacobian(net, X, res["witness"])
    N, P = len(J), net.num_params
    tangents = _exact_tangents(net, layers)
    Jm = fmpq_mat(J)
    for t in tangents:  # the tangents lie in ker J (the function is invariant); checked exactly
        v = Jm * fmpq_mat(P, 1, t)
        if any(v[i, 0] != 0 for i in range(N)):
            raise InputError("planted: internal check failed: a rescaling tangent is not in ker J")
    need = P - len(tangents)
    Jf = np.array([[fmpq_to_float(x) for x in row] for row in J])
    _, _, piv = scipy.linalg.qr(Jf, pivoting=True, mode="economic")
    cols = sorted(piv[:need].tolist())
    Jc = fmpq_mat([[row[c] for c in cols] for row in J])
    G = Jc.transpose() * Jc
    delta = fmpq_mat(N, 1, [a - b for a, b in zip(Fw, F)])
    uq = fmpq_mat(N, 1, [_round(x, 2 ** 40) for x in res["u"]])
    try:
        coef = G.solve(Jc.transpose() * uq)
    except ZeroDivisionError:
        raise InputError(f"planted: condition C2 violated: rank J < P - dim T = {need} (exact); try another seed or "
                         "more samples") from None
    perp = uq - Jc * coef
    K = _exact_curvature_features(net, X, layers) if res.get("features", True) else []
    if K:  # r orthogonal to the weak units' curvature features too (exactly): their curvature blocks vanish
        A = fmpq_mat([list(row[c] for c in cols) + list(k) for row, k in zip(J, K)])
        try:
            coef = (A.transpose() * A).solve(A.transpose() * uq)
            perp = uq - A * coef
        except ZeroDivisionError:
            pass  # features dependent on range J: keep the projection on (range J)^perp
    dd = sum((delta[i, 0] ** 2 for i in range(N)), fmpq(0))
    alpha = _simple_rational(res["alpha"]) * scale
    r = [-alpha * perp[i, 0] for i in range(N)]
    # C3: J^T r = 0 exactly (every column of J is in range Jc because rank J = rank Jc)
    gr = Jm.transpose() * fmpq_mat(N, 1, r)
    if any(gr[q, 0] != 0 for q in range(P)):
        raise InputError("planted: condition C3 violated: J^T r != 0 (rank J > P - dim T?)")
    # C4: loss(witness) < loss(point)  <=>  |delta|^2 + 2 r.delta < 0
    rd = sum((a * delta[i, 0] for i, a in enumerate(r)), fmpq(0))
    if not dd + 2 * rd < 0:
        raise InputError("planted: condition C4 violated: the witness does not have lower loss (exact check)")
    d_out = net.widths[-1]
    Y = [tuple(F[i * d_out + o] - r[i * d_out + o] for o in range(d_out)) for i in range(N // d_out)]
    return Y, {"exact_checks": f"C1 margins, C2 rank J = {need} = P - dim T, C3 J^T r = 0, C4 witness lower "
                               "(all exact)"}


def _exact_curvature_features(net, X, layers):
    """Exact rows of the curvature features of :func:`_weak_curvature_features` (N x k lists; [] for PL)."""
    act = net.activations[-1]
    if act.kind != "polynomial":
        return []
    H = [list(col) for col in zip(*X)]
    for l in range(1, net.depth - 1):
        W, b = layers[l - 1]
        H = _apply(net.activations[l - 1], _preacts(W, b, H))
    W, b = layers[net.depth - 2]
    Z = _preacts(W, b, H)
    n = len(X)
    ht = [[H[a][i] for a in range(len(H))] + [fmpq(1)] for i in range(n)]
    rows = []
    for i in range(n):
        s2 = [act.evaluate(EXACT, Z[k][i])[2] for k in _curvature_units(net)]
        row = [s * ht[i][a] * ht[i][c] for s in s2 for a in range(len(ht[i])) for c in range(a, len(ht[i]))]
        rows += [row] * net.widths[-1]
    return rows


def _simple_rational(x):
    """A short rational >= x (relative 2^-20): alpha only needs to exceed |delta|^2 / (2 |P_perp delta|^2)."""
    e = math.floor(math.log2(abs(x))) if x else 0
    den = 2 ** max(0, 20 - e)
    return fmpq(math.ceil(x * den), den)



# polynomial units, two or more hidden layers: the residual by a small SDP --------------------------------------------
SDP_POINT_TRIES = 6
SDP_POLY_POINT_TRIES = 30  # polynomial units: points are cheap (small P) and most fail C5 where the polynomial space
                           # leaves little room (quadratic 2-3-3-3-1, n = 120, seeds 0-3: 1 of 4 planted with 6 points,
                           # 3 of 4 with 30, 6-12 s each)
SDP_WITNESSES = 4      # SDPs solved per point (witnesses with the largest off-range part first)
SDP_RANDOM_WITNESSES = 8
SDP_KAPPA = 1.5        # witness margin: -delta . r >= kappa |delta|^2 / 2 (C4 survives shrinking r to 1/kappa)
SDP_MAX_P = 250       # k = P - dim T: per-sample k x k Hessians and a Gram matrix of size ~11 k (tanh 10-10-10-1,
#                       P = 231: find certifies it in ~100 s)
SDP_DENSE_MAX = 60    # largest LMI given to the interior-point solver (least curvature beyond)
SDP_SMOOTH_PENALTY = 0.05  # smooth units: weight of |r| against the margin (a smaller r: a tighter interval proof)
SDP_GOOD = 0.5        # a margin that is good enough to stop improving
SDP_CHUNK = 256       # samples per batch of per-sample Hessians
LS_RIDGES = (1e-4, 1e-6, 1e-8, 1e-10, 1e-12)  # least-curvature residual: ridges relative to the largest Gram
#                                              eigenvalue, large (small r) first
LS_TINY_RIDGES = (1e-14, 1e-15, 1e-16)  # only when no witness has a margin above: directions that barely act on E~
# (softplus 2-10-10-1: 1030 of 1681 Gram eigenvalues below 1e-12 of the largest; best margin -2.6 at 1e-12, +0.5 at
# 1e-16); r is then large and the Hessian's reduced eigenvalue ~1e-9 of its scale, which the interval path proves by
# an arb congruence (:func:`spurious.verifiers.interval._preconditioned_box`)
SDP_MIN_MARGIN = 1e-2  # float estimate of lambda_min(I + E~(r)) needed before the exact Hessian is tried
_CLARABEL_OPTS = dict(tol_gap_abs=1e-5, tol_gap_rel=1e-5, tol_feas=1e-6)  # a choice, not a proof: loose is enough


def _sdp_route(net) -> bool:
    """Polynomial and smooth units with two or more hidden layers: the weak-unit witness fails there (module
    docstring, (b)), and the residual is chosen by :func:`_sdp_residuals` instead."""
    return net.depth >= 3 and net.activations[0].kind in ("polynomial", "smooth") and net.num_params <= SDP_MAX_P


def _sigmoid_from_tanh(cand, act):
    """The tanh candidate in sigmoid coordinates: tanh(z) = 2 sigmoid(2 z) - 1, so with h_t = 2 h_s - 1 the map
    W_1 -> 2 W_1, b_1 -> 2 b_1; inner layers W -> 4 W, b -> 2 (b - W 1); output W -> 2 W, b -> b - W 1 gives the same
    function on the same data. The map is affine and invertible, so critical points, strictness and losses carry
    over; the certificate is nevertheless the interval path's, at the sigmoid point itself."""
    from ..network import Layer

    def mapped(point):
        out, L = [], len(point.layers)
        for l, layer in enumerate(point.layers, start=1):
            W, b = layer.W, layer.b
            rows = [sum(r, fmpq(0)) for r in W]
            if l == 1:
                W2, b2 = [[2 * w for w in r] for r in W], [2 * v for v in b]
            elif l < L:
                W2, b2 = [[4 * w for w in r] for r in W], [2 * (v - s_) for v, s_ in zip(b, rows)]
            else:
                W2, b2 = [[2 * w for w in r] for r in W], [v - s_ for v, s_ in zip(b, rows)]
            out.append(Layer(tuple(map(tuple, W2)), tuple(b2)))
        return Point(out)

    net = Network.make(cand.problem.network.widths, act)
    problem = Problem(net, cand.problem.data, cand.problem.loss)
    meta = dict(cand.meta, notes=cand.meta.get("notes", "") + "; built for tanh and mapped to sigmoid "
                "(sigmoid(2z) = (1 + tanh z) / 2, an affine reparametrisation)")
    meta["params"] = dict(meta.get("params", {}), activation=act.to_json())
    return Candidate(problem, mapped(cand.point), mapped(cand.witness), meta)


def _sdp_retry_samples(net):
    free = net.num_params - _symmetry_dim(net)
    return min(5000, math.ceil((free * (free + 1) // 2 + free + 30) / net.widths[-1]))


def _plant_by_sdp(net, act, X, rng, seed, eta, scale, n, check_curvature, deadline=None, tries=None):
    """Points and witnesses are drawn as in the weak-unit route; r is the SDP's; acceptance is the exact Hessian."""
    P, tdim = net.num_params, _symmetry_dim(net)
    failed = "C2"
    if tries is None:
        tries = SDP_POLY_POINT_TRIES if act.kind == "polynomial" else SDP_POINT_TRIES
    for _ in range(tries):
        _check_deadline(deadline)
        layers = _random_point(net, X, rng, eta)
        fl = _Float(net, X, layers)
        # a well-conditioned J: better SDP margins (polynomial) and a tighter interval proof (smooth)
        layers = _best_conditioned(net, X, fl, rng, eta, layers)
        J = fl.jacobian(layers)
        red = _reduced(net, J, layers)
        if red is None:
            continue
        witnesses = [_with_eta(w, eta) for w in _weak_unit_variants(net, X, layers, rng)]
        witnesses += [_random_point(net, X, rng, fmpq(1)) for _ in range(SDP_RANDOM_WITNESSES)]
        failed = "C5"
        for res in _sdp_residuals(net, fl, layers, J, witnesses, red, deadline):
            _check_deadline(deadline)
            if not check_curvature or not act.exact:  # smooth units: the interval path is the judge
                return _candidate(net, act, X, layers, res, seed, eta, scale, n)
            cand = _exactly_accepted(net, act, X, layers, res, seed, eta, scale, n)
            if cand is not None:
                return cand
    if failed == "C2":
        raise InputError(f"planted: condition C2 violated: rank J < P - dim T = {P - tdim} (or J too ill-conditioned "
                         f"to choose r) for {tries} random points; try more samples (n) or another seed")
    raise InputError("planted: condition C5 violated: no residual found (SDP or least curvature) keeps the Hessian "
                     f"positive definite off the symmetry orbit ({tries} points tried); try more samples (n) or "
                     "another seed")


def _sdp_residuals(net, fl, layers, J, witnesses, red, deadline=None):
    """Residuals r in (range J)^perp chosen by semidefinite programming (float; the exact Hessian decides).

    In coordinates z on a complement of the symmetry tangents in which J^T J = I (whitening by the SVD of J), the
    Hessian is 2c (I + E~(r)) with E~ linear in r; r = N c, N an orthonormal basis of (range J)^perp. For a witness
    with output change delta: maximise t subject to I + E~(N c) >= t I and -delta . N c >= kappa |delta|^2 / 2 (the
    witness has lower loss with margin), with a small penalty on |c| so that directions that change neither E~ nor the
    witness gain are not inflated. Unlike the weak-unit route this can cancel the curvature of every unit at once;
    it needs many samples (N - rank J well above the k(k+1)/2 entries of E~). Beyond k > SDP_DENSE_MAX the least-
    curvature residual (:func:`_least_curvature`) replaces the SDP, for every witness. Yields candidate dicts for
    :func:`_candidate`: each one with margin >= SDP_GOOD at once, the others (margin >= SDP_MIN_MARGIN) after, best
    first."""
    d, Q, S, Vt = red
    Wh = ((Q @ Vt.T) / S) / d[:, None]                      # P x k: J Wh has orthonormal columns
    k = Wh.shape[1]
    F = fl.outputs(layers)
    U, _, _ = np.linalg.svd(J, full_matrices=True)
    Nb = U[:, k:]                                          # (range J)^perp (rank J = k: C2, float)
    if Nb.shape[1] == 0:
        return
    # c -> E~(N c) from whitened per-sample Hessians, packed: the upper triangle, off-diagonal entries times sqrt 2,
    # so that |E~(N c)|_F = |A^T c|; ``full`` indexes the packed entry of each (a, b)
    iu = np.triu_indices(k)
    wts = np.where(iu[0] == iu[1], 1.0, math.sqrt(2))
    full = np.zeros((k, k), dtype=int)
    full[iu] = np.arange(len(wts))
    full = (full + full.T - np.diag(np.diag(full))).reshape(-1)
    A = np.zeros((Nb.shape[1], len(wts)))
    d_out = net.widths[-1]
    for i0 in range(0, len(fl.Xq), SDP_CHUNK):
        _check_deadline(deadline)  # the per-sample Hessians dominate the first point's cost at P ~ 230 (~60 s)
        Hw = fl.whitened_hessians(layers, Wh, slice(i0, i0 + SDP_CHUNK))
        A += Nb[i0 * d_out:i0 * d_out + len(Hw)].T @ (Hw[:, iu[0], iu[1]] * wts)
    lam, V = np.linalg.eigh(A @ A.T)                       # |E~(N c)|_F^2 = c^T (A A^T) c
    R = V[:, lam > 1e-24 * lam[-1]]                        # directions that act on E~

    def curvature(z):                                      # E~(N z), k x k
        return ((A.T @ z) / wts)[full].reshape(k, k)
    found = []
    deltas = [(wl, fl.outputs(wl) - F) for wl in witnesses]
    deltas = [(wl, dl, Nb.T @ dl) for wl, dl in deltas if np.all(np.isfinite(dl))]
    deltas.sort(key=lambda t: -np.linalg.norm(t[2]) / max(np.linalg.norm(t[1]), 1e-300))
    dense = k <= SDP_DENSE_MAX

    def residuals(ridges):
        """Each witness's residual (the SDP's, or least curvature with ``ridges``): margin >= SDP_GOOD yielded at once,
        margin >= SDP_MIN_MARGIN kept in ``found`` for after."""
        for wl, dl, g in deltas[:SDP_WITNESSES] if dense else deltas:
            _check_deadline(deadline)
            if np.linalg.norm(g) < 1e-9 * np.linalg.norm(dl):
                continue
            need = SDP_KAPPA * float(dl @ dl) / 2
            if not dense:  # the LMI is too large for the interior-point solver: least curvature in closed form
                solved = _least_curvature(curvature, lam, V, -g, need, k, ridges)
            else:
                # only directions that act on E~ or on the witness gain: the span of R and g
                gp = g - R @ (R.T @ g)
                B = np.hstack([R, gp[:, None] / np.linalg.norm(gp)]) \
                    if np.linalg.norm(gp) > 1e-12 * np.linalg.norm(g) else R
                sdp = _max_margin(((B.T @ A) / wts)[:, full].T, k, -(g @ B), need,
                                  SDP_SMOOTH_PENALTY if net.activations[0].kind == "smooth" else 1e-4)
                solved = (sdp[0], B @ sdp[1])
            if not solved[0] >= SDP_MIN_MARGIN:
                continue
            t, zv = solved
            r = Nb @ zv
            res = {"witness": wl, "alpha": 1.0, "u": -r, "r_float": r, "features": False, "sdp_margin": t}
            if t >= SDP_GOOD:
                yield res  # good enough: no need to solve the other witnesses' programs first
            else:
                found.append((t, res))

    yielded = False
    for res in residuals(LS_RIDGES):
        yielded = True
        yield res
    if not dense and not found and not yielded:  # tiny ridges only when no witness has a margin at the ordinary ones
        yield from residuals(LS_TINY_RIDGES)
    for _, res in sorted(found, key=lambda f: -f[0]):
        yield res


def _least_curvature(curvature, lam, V, a, need, k, ridges=LS_RIDGES):
    """(t, z): the z of least |E~(z)|_F^2 + ridge |z|^2 with a . z = need, and its margin t = lambda_min(I + E~(z)).
    Ridges from large to small: the first z with margin >= SDP_GOOD (the smallest residual that is good enough: the
    labels are rounded relative to r, so a large r leaves the point further from critical), else the best margin
    (the caller passes LS_TINY_RIDGES only when no witness had a margin at the ordinary ones). A closed form: when N - rank J is well above the k(k+1)/2 entries of E~ it already has a large margin, and the SDP,
    whose cost grows with both, is not needed."""
    best = (-np.inf, None)
    aV = V.T @ a
    for ridge in ridges:
        y = V @ (aV / (lam + ridge * lam[-1]))
        z = y * (need / float(a @ y))
        t = float(np.linalg.eigvalsh(np.eye(k) + curvature(z))[0])
        if t >= SDP_GOOD:
            return t, z
        if t > best[0]:
            best = (t, z)
    return best


def _margin(z, Ek, k):
    return float(np.linalg.eigvalsh(np.eye(k) + np.tensordot(z, Ek, 1))[0]), z


def _max_margin(C, k, a, need, penalty=1e-4):
    """max t s.t. I + E(z) >= t I and a . z >= need, E(z) = sym(reshape(C z)) (k x k, k <= SDP_DENSE_MAX): one
    interior-point SDP (cvxpy, Clarabel). Returns (t, z), t the margin of z on all of R^k recomputed in float64 (an
    estimate: the exact or interval path decides); the least-norm z meeting the witness constraint if the solver does
    no better."""
    import cvxpy as cp

    p = C.shape[1]
    Ek = C.T.reshape(p, k, k)
    Ek = (Ek + Ek.transpose(0, 2, 1)) / 2
    z0 = a * (need / float(a @ a))                      # least-norm z meeting the witness constraint
    best = _margin(z0, Ek, k)
    z, t = cp.Variable(p), cp.Variable()
    M = cp.reshape(C @ z, (k, k), order="C")
    cons = [np.eye(k) + (M + M.T) / 2 - t * np.eye(k) >> 0, a @ z >= need, t <= 1]  # t <= 1: bounded
    try:
        with warnings.catch_warnings():  # "solution may be inaccurate": the float margin is re-measured below,
            warnings.simplefilter("ignore")  # and the exact or interval path decides anyway
            cp.Problem(cp.Maximize(t - penalty * cp.norm(z, 2) / np.linalg.norm(z0)), cons).solve(
                solver="CLARABEL", **_CLARABEL_OPTS)
    except cp.error.SolverError:
        return best
    if z.value is not None:
        best = max(best, _margin(z.value, Ek, k), key=lambda m: m[0])
    return best


def residual_family(cand):
    """(at, s_star, hessian) for a planted point: ``at(s)`` is the candidate with labels Y_s = F - s r (F the float64
    outputs taken exactly, r = F - Y), critical at the same point for every s up to float rounding of F, with Hessian
    H(s) = H(0) + s (H(1) - H(0)) linear in s; ``s_star`` is the float crossing where lambda_min(H(s)) = 0 (beyond
    it the point is a saddle); ``hessian(c)`` the float Hessian of a member at the point. Near misses on both sides
    of s_star test verifiers (tests/test_interval_refined.py, benchmarks/bench_interval_refined.py)."""
    import torch
    from fractions import Fraction

    from ..arithmetic import FloatModel

    prob, net = cand.problem, cand.problem.network
    x = cand.point.flatten_float(net)
    model = FloatModel(prob, cand.point)
    F = model.forward(torch.tensor(x), model.X).numpy().reshape(prob.data.n, -1)
    R = F - np.array([[fmpq_to_float(v) for v in row] for row in prob.data.Y])

    def at(s):
        s = to_fmpq(Fraction(s).limit_denominator(10**12))
        Ys = tuple(tuple(to_fmpq(float(f)) - s * to_fmpq(float(r)) for f, r in zip(fr, rr)) for fr, rr in zip(F, R))
        return Candidate(Problem(net, FiniteData(prob.data.X, Ys), prob.loss), cand.point, cand.witness, cand.meta)

    def hessian(c):
        return FloatModel(c.problem, c.point).hessians(x)[0].numpy()

    H0, H1 = hessian(at(0)), hessian(at(1))
    Li = np.linalg.inv(np.linalg.cholesky(H0))
    return at, 1 / np.linalg.eigvalsh(-Li @ (H1 - H0) @ Li.T)[-1], hessian


FAMILY = dict(
    name="planted",
    reference=REFERENCE,
    activations="every supported activation except linear",
    architectures="any depth >= 1 hidden layer, any widths (P <= 2000)",
    strict="yes: strict modulo rescaling (exact path) / strict (interval path, smooth)",
    summary="point first, labels from the left null space of the Jacobian; witness: a weak unit rewired",
    params=(Param("widths", (2, 3, 3, 1), "any, >= 1 hidden layer", "architecture d_0,...,d_L", kind="widths"),
            Param("activation", "relu", "any except linear", "hidden activation", kind="activation"),
            Param("n", None, "n d_L > P - dim T (default: about 2 (P - dim T) + 10)", "samples", kind="int", min=1,
                  max=5000),
            Param("seed", 0, ">= 0", "random data and point", kind="int", min=0),
            Param("eta", "1/4", "> 0 (halved until the curvature check holds)", "outgoing weight of the weak unit",
                  kind="rational", min="0"),
            Param("residual", "1", "> 0", "scale of the residual r after it is chosen (1: as chosen)",
                  kind="rational", min="0"),
            Param("route", "auto", "auto, weak-unit or sdp", "how r is chosen (auto: sdp for polynomial and smooth "
                  "units at >= 2 hidden layers, P <= 200)", kind="choice", choices=ROUTES)),
    function=planted,
    covers=lambda widths, activation: len(widths) >= 3 and not activation.is_linear,
)
