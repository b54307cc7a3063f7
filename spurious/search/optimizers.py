"""Batched local optimisers over many starts at once (torch float64, torch.func.vmap over the starts).

Every start follows its own trajectory (its own step sizes, L-BFGS memory and stopping time); the batch only
shares the tensor operations. Converged starts leave the batch, so late iterations run on the stragglers only.

* ``gd``: plain gradient descent with a fixed step, restarting from the same start with half the step when a run
  diverges (the protocol of Safran and Shamir 2018, GD_code/findMinimum.m);
* ``lbfgs``: L-BFGS (Nocedal and Wright, Numerical Optimization, Algorithm 7.4/7.5) with Armijo backtracking;
* ``newton``: Newton with the absolute-value eigenvalue modification (Nocedal and Wright section 3.4; the
  "saddle-free" variant turns negative curvature into descent) and Armijo backtracking.
:func:`polish` then takes pure Newton steps (pseudo-inverse on the nonzero spectrum, which leaves symmetry
directions alone) to bring end points to machine precision.
Floats here are search, not proof.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import hessian, vmap

__all__ = ["BatchedLoss", "run_optimizer", "polish", "OPTIMIZERS"]

OPTIMIZERS = ("lbfgs", "newton", "gd")
ARMIJO = 1e-4


class BatchedLoss:
    """vmapped loss / gradient / Hessian of ``loss(theta)`` (a FloatModel's loss)."""

    def __init__(self, loss):
        self.value = vmap(loss)
        self.hess = vmap(hessian(loss))

    def grad(self, x):
        """(gradients, values): reverse mode through the vmapped loss (starts are independent, so the gradient of
        the sum is the stack of the gradients; cheaper than vmap(grad) for small networks)."""
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            v = self.value(x)
            (g,) = torch.autograd.grad(v.sum(), x)
        return g, v.detach()


class TeacherReluLoss(BatchedLoss):
    """Closed-form batched value and gradient of the Gaussian-input ReLU teacher-student loss of Safran and Shamir
    (ICML 2018): student x -> sum_i relu(w_i . x), teacher x -> sum_j relu(v_j . x), no biases, output weights 1,
    loss E (f - g)^2 = sum_ij K(w_i, w_j) - 2 sum_ij K(w_i, v_j) + sum_ij K(v_i, v_j) with the arc-cosine kernel
    K(w, v) = |w||v| (sin t + (pi - t) cos t) / (2 pi), t = angle(w, v) (Cho and Saul 2009), whose gradient in w
    is (|v| sin t w/|w| + (pi - t) v) / (2 pi) (Brutzkus and Globerson 2017). A few batched matrix products per
    step instead of autograd through the generic population kernel. The Hessian is closed-form too (:meth:`hess`):
    with c = w.y, s = |w||y| sin t, u = |w|^2 y - c w,
    d2K/dw2 = ((s/|w|^2)(I - w w^T/|w|^2) + u u^T/(s |w|^4)) / (2 pi) and
    d2K/dw dy^T = ((pi - t) I + (w y^T + y w^T - c (w w^T/|w|^2 + y y^T/|y|^2)) / s) / (2 pi)
    (Safran and Shamir section 4; the same formulas as :func:`spurious.arithmetic.population.population_numpy`).
    No continuous symmetry (output layer fixed): Hessians at minima are positive definite, so the polish may
    solve by Cholesky instead of an eigendecomposition (``nondegenerate``)."""

    nondegenerate = True
    HESS_BLOCK = 2**19  # entries of the largest (starts, k, k, n, n) temporary of the Hessian

    def __init__(self, loss, teacher_rows, k, n):
        super().__init__(loss)
        self.V = torch.as_tensor(teacher_rows, dtype=torch.float64)
        self.k, self.n = k, n
        self.V_np = self.V.numpy()
        self.nv = np.sqrt((self.V_np ** 2).sum(1))
        self.inv_nv = iv = np.divide(1.0, self.nv, out=np.zeros_like(self.nv), where=self.nv > 0)
        c = np.clip(self.V_np @ self.V_np.T * iv[:, None] * iv[None, :], -1.0, 1.0)
        self.const = float((np.outer(self.nv, self.nv) * (np.sqrt(1 - c * c) + (math.pi - np.arccos(c)) * c)).sum()
                           / (2 * math.pi))   # sum_ij K(v_i, v_j)
        # teacher V = I: the loss is invariant under permutations of the input coordinates (search clustering)
        self.input_permutations = bool(self.V.shape[0] == self.V.shape[1]
                                       and torch.equal(self.V, torch.eye(self.V.shape[0], dtype=self.V.dtype)))
        self.generic_value, self.generic_hess = self.value, self.hess
        self.value = lambda x: torch.from_numpy(self.numpy_grad(_flat_numpy(x), grad=False)[1])
        self.hess = self._hess

    def numpy_grad(self, x, value=True, grad=True):
        """(gradient, value) in numpy float64 of a batch x (S, k * n or k, n); either may be skipped (None).

        All rows of W against the stack Y = [W; V] at once: K(w_i, y_c) with weight +1 (student) or -2 (teacher);
        a zero unit (or parallel pair) has cosine 0 like the torch formulas of :meth:`_hess`. Few, in-place
        numpy operations: late in a GD run the batch is a handful of slow starts and the cost is per operation."""
        S, k, n, q = x.shape[0], self.k, self.n, self.V_np.shape[0]
        W = x.reshape(S, k, n)
        Y = np.empty((S, k + q, n))
        Y[:, :k], Y[:, k:] = W, self.V_np
        nw = np.sqrt(np.einsum("skn,skn->sk", W, W))
        iy = np.empty((S, k + q))
        np.divide(1.0, nw, out=iy[:, :k], where=nw > 0)
        iy[:, :k][nw == 0] = 0.0
        iy[:, k:] = self.inv_nv
        iw = iy[:, :k]
        C = W @ Y.transpose(0, 2, 1)
        C *= iw[:, :, None]
        C *= iy[:, None, :]
        np.clip(C, -1.0, 1.0, out=C)
        T = np.arccos(C)
        Sn = np.multiply(C, C)
        np.subtract(1.0, Sn, out=Sn)
        np.maximum(Sn, 0.0, out=Sn)
        np.sqrt(Sn, out=Sn)
        nys = np.empty((S, k + q))   # |y_c| sign_c
        nys[:, :k], nys[:, k:] = nw, -self.nv
        g = v = None
        if value:  # sum_ij K(w_i, w_j) - 2 sum_im K(w_i, v_m) + sum K(v, v)
            K = (math.pi - T) * C
            K += Sn
            K[:, :, k:] *= 2.0
            v = np.einsum("skc,sc,sk->s", K, nys, nw) / (2 * math.pi) + self.const
        if grad:   # d/dw_i: 2 sum_c sign_c (|y_c| sin t_ic w_i/|w_i| + (pi - t_ic) y_c) / (2 pi)
            a = Sn @ nys[:, :, None]
            a *= iw[:, :, None]
            np.subtract(math.pi, T, out=T)
            T[:, :, k:] *= -1.0
            g = T @ Y
            g += a * W
            g *= 1 / math.pi
            g = g.reshape(x.shape)
        return g, v

    def grad(self, x):
        g, v = self.numpy_grad(_flat_numpy(x))
        return torch.from_numpy(g), torch.from_numpy(v)

    def _hess(self, x):
        """Batched Hessian (S, P, P) in the flat order of x (row-major W): diagonal blocks
        I + 2 sum_{l != j} h1(w_j, w_l) - 2 sum_m h1(w_j, v_m), off-diagonal blocks 2 h2(w_j, w_l).
        NaN where a formula divides by zero (a zero unit, a parallel pair), like the formulas."""
        x = x.detach()
        S, k, n = x.shape[0], self.k, self.n
        block = max(1, self.HESS_BLOCK // (k * k * n * n))
        if S > block:  # a few starts at a time: the S k^2 n^2 temporaries stay in cache (k = 20: 1.8x faster)
            return torch.cat([self._hess(x[i:i + block]) for i in range(0, S, block)])
        W = x.reshape(S, k, n)
        Y = torch.cat([W, self.V[None].expand(S, -1, -1)], 1)
        m = Y.shape[1]
        Cf = torch.cat([2 * (1 - torch.eye(k, dtype=x.dtype)), torch.full((k, m - k), -2.0, dtype=x.dtype)], 1)
        c = W @ Y.transpose(1, 2)
        nw2, ny2 = (W * W).sum(2), (Y * Y).sum(2)
        s = torch.sqrt(torch.clamp(nw2[:, :, None] * ny2[:, None, :] - c * c, min=0.0))
        t = torch.atan2(s, c)
        eye = torch.eye(n, dtype=x.dtype)
        two_pi = 2 * math.pi
        U = nw2[:, :, None, None] * Y[:, None, :, :] - c[..., None] * W[:, :, None, :]          # S k m n
        live = Cf != 0
        wt = torch.where(live, Cf / torch.where(live, s * nw2[:, :, None] ** 2, 1.0), 0.0)
        P1 = (U * wt[..., None]).transpose(2, 3) @ U                                               # S k n n
        a1 = (Cf * s).sum(2) / nw2
        proj = W[..., :, None] * W[..., None, :] / nw2[..., None, None]                           # S k n n
        D = eye + (a1[..., None, None] * (eye - proj) + P1) / two_pi
        WW = W[:, :, None, :, None] * W[:, None, :, None, :]                                      # S k k n n
        cw, sw = c[:, :, :k, None, None], s[:, :, :k, None, None]
        M = WW + WW.transpose(3, 4) - cw * (proj[:, :, None] + proj[:, None, :])
        H = 2 * ((math.pi - t[:, :, :k, None, None]) * eye + M / sw) / two_pi
        idx = torch.arange(k)
        H[:, idx, idx] = D
        return H.permute(0, 1, 3, 2, 4).reshape(S, k * n, k * n)

    @classmethod
    def for_problem(cls, problem, base, loss):
        """The closed form when ``problem`` is exactly that setting (else None: the generic loss is used)."""
        from ..problem import GaussianData

        net, data = problem.network, problem.data
        if not isinstance(data, GaussianData) or net.depth != 2 or problem.loss.weight_decay != 0:
            return None
        tnet, tpoint = data.teacher_network, data.teacher_point
        ok = lambda nw, pt, out_fixed=True: (nw.depth == 2 and nw.activations[0].name == "relu"  # noqa: E731
                                              and all(layer.b is None for layer in pt.layers)
                                              and all(v == 1 for v in pt.layers[1].W[0]) and nw.widths[2] == 1)
        if not (ok(net, base) and ok(tnet, tpoint) and tuple(net.trainable) == (True, False)):
            return None
        k, n = net.widths[1], net.widths[0]
        return cls(loss, [[float(v) for v in row] for row in tpoint.layers[0].W], k, n)


def _flat_numpy(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)


UNFINISHED = -1  # iteration count of a start stopped by ``stop()`` before it finished


def _numpy_gradient(fns):
    """x (numpy, S x P) -> (gradient, value or None): the loss's numpy closed form when it has one (without the
    value, which GD does not need), else its torch gradient."""
    if hasattr(fns, "numpy_grad"):
        return lambda x: fns.numpy_grad(x, value=False)

    def grad(x):
        g, v = fns.grad(torch.from_numpy(x))
        return g.numpy(), v.numpy()

    return grad


def _gd(fns, x, lr, max_iter, gtol, stop=None):
    """Plain GD, all starts as one numpy batch (converged starts leave it). A start whose gradient becomes
    non-finite or > 1e4 restarts from its initial point with half the step (Safran and Shamir, findMinimum.m).
    Iterations count every gradient step, restarted runs included; a start still running after ``max_iter`` has
    count ``max_iter``."""
    grad = _numpy_gradient(fns)
    x0 = x.detach().numpy().copy()
    B = x0.shape[0]
    out, iters = x0.copy(), np.zeros(B, dtype=np.int64)
    ids, xa = np.arange(B), x0.copy()
    steps, ia = np.full(B, float(lr)), np.zeros(B, dtype=np.int64)
    for _ in range(max_iter):
        if ids.size == 0:
            break
        if stop is not None and stop():
            ia[:] = UNFINISHED
            break
        g, v = grad(xa)
        gn = np.sqrt(np.einsum("sp,sp->s", g, g))
        bad = ~(gn <= 1e4)                      # also NaN and inf
        if v is not None:
            bad |= ~np.isfinite(v)
        done = gn <= gtol
        if bad.any():
            done &= ~bad
            xa = np.where(bad[:, None], x0[ids], xa - (steps * ~done)[:, None] * np.where(bad[:, None], 0.0, g))
            steps = np.where(bad, steps / 2, steps)
            ia += ~done
        elif done.any():
            xa -= (steps * ~done)[:, None] * g
            ia += ~done
        else:
            xa -= steps[:, None] * g
            ia += 1
        if done.any():
            out[ids[done]], iters[ids[done]] = xa[done], ia[done]
            keep = ~done
            ids, xa, steps, ia = ids[keep], xa[keep], steps[keep], ia[keep]
    out[ids], iters[ids] = xa, ia
    x.copy_(torch.from_numpy(out))
    return x, torch.from_numpy(iters)


def _two_loop(g, S, Y, rho):
    """L-BFGS direction -H g from histories S, Y (B, m, P), oldest first; rho = 0 marks empty slots."""
    q = g.clone()
    m = S.shape[1]
    alpha = torch.zeros(g.shape[0], m, dtype=g.dtype)
    for i in range(m - 1, -1, -1):
        alpha[:, i] = rho[:, i] * (S[:, i] * q).sum(1)
        q = q - alpha[:, i, None] * Y[:, i]
    sy = (S[:, -1] * Y[:, -1]).sum(1)
    yy = (Y[:, -1] * Y[:, -1]).sum(1)
    gamma = torch.where((rho[:, -1] != 0) & (yy > 0), sy / torch.where(yy > 0, yy, 1.0), torch.ones_like(sy))
    r = gamma[:, None] * q
    for i in range(m):
        beta = rho[:, i] * (Y[:, i] * r).sum(1)
        r = r + S[:, i] * (alpha[:, i] - beta)[:, None]
    return -r


def _armijo(fns, x, f, g, d, t0, tries=30):
    """Backtracking: largest t = t0 / 2^j with f(x + t d) <= f + c t g.d (per start). Returns (t, f_new, ok)."""
    slope = (g * d).sum(1)
    t = t0.clone()
    f_new = torch.full_like(f, float("inf"))
    ok = torch.zeros_like(f, dtype=torch.bool)
    todo = torch.arange(x.shape[0])
    for _ in range(tries):
        if todo.numel() == 0:
            break
        fv = fns.value(x[todo] + t[todo, None] * d[todo])
        acc = torch.isfinite(fv) & (fv <= f[todo] + ARMIJO * t[todo] * slope[todo])
        ia = todo[acc]
        f_new[ia], ok[ia] = fv[acc], True
        todo = todo[~acc]
        t[todo] = t[todo] / 2
    return t, f_new, ok


STALL_ITERS = 100  # L-BFGS: a start whose loss has not decreased (beyond rounding) for this many iterations stops


def _lbfgs(fns, x, max_iter, gtol, memory=10, stop=None):
    """Works on compact arrays of the still-active starts; finished starts are written back into ``x``.
    A start also stops when it has made no progress in loss beyond rounding (4 eps |f|) for :data:`STALL_ITERS`
    iterations (its line searches succeed on rounding noise); it is judged by its final gradient like any other."""
    B, P = x.shape
    iters = torch.zeros(B, dtype=torch.long)
    g, f = fns.grad(x)
    ids = torch.nonzero(g.norm(dim=1) > gtol).flatten()
    xa, ga, fa = x[ids], g[ids], f[ids]
    n = ids.numel()
    S, Y = torch.zeros(n, memory, P, dtype=x.dtype), torch.zeros(n, memory, P, dtype=x.dtype)
    rho = torch.zeros(n, memory, dtype=x.dtype)
    empty = torch.ones(n, dtype=torch.bool)
    ia = torch.zeros(n, dtype=torch.long)
    best, since = fa.clone(), torch.zeros(n, dtype=torch.long)
    eps = torch.finfo(x.dtype).eps
    for _ in range(max_iter):
        if ids.numel() == 0:
            break
        if stop is not None and stop():
            ia = torch.full_like(ia, UNFINISHED)
            break
        d = _two_loop(ga, S, Y, rho)
        d = torch.where(((d * ga).sum(1) < 0)[:, None], d, -ga)
        t0 = torch.where(empty, torch.clamp(1.0 / ga.norm(dim=1), max=1.0), torch.ones_like(fa))
        t, f_new, ok = _armijo(fns, xa, fa, ga, d, t0)
        s = t[:, None] * d * ok[:, None]
        x_new = xa + s
        g_new, f_new = fns.grad(x_new)
        y = g_new - ga
        sy = (s * y).sum(1)
        upd = ok & (sy > 1e-12 * s.norm(dim=1) * y.norm(dim=1))
        if upd.any():
            S = torch.where(upd[:, None, None], torch.cat([S[:, 1:], s[:, None]], 1), S)
            Y = torch.where(upd[:, None, None], torch.cat([Y[:, 1:], y[:, None]], 1), Y)
            r_new = torch.where(upd, 1.0 / torch.where(upd, sy, 1.0), 0.0)
            rho = torch.where(upd[:, None], torch.cat([rho[:, 1:], r_new[:, None]], 1), rho)
        # no acceptable step: clear the memory (next step is steepest descent); twice in a row: stop
        stuck = ~ok
        halted = stuck & empty
        empty = stuck
        if stuck.any():
            S, Y, rho = S * ~stuck[:, None, None], Y * ~stuck[:, None, None], rho * ~stuck[:, None]
        xa, ga, fa = x_new, g_new, f_new
        ia = ia + 1
        progress = fa < best - 4 * eps * best.abs()
        best = torch.minimum(best, fa)
        since = torch.where(progress, 0, since + 1)
        fin = (ga.norm(dim=1) <= gtol) | halted | ~torch.isfinite(fa) | (since >= STALL_ITERS)
        if fin.any():
            x[ids[fin]], iters[ids[fin]] = xa[fin], ia[fin]
            k = ~fin
            ids, xa, ga, fa, S, Y, rho, empty, ia, best, since = (
                a[k] for a in (ids, xa, ga, fa, S, Y, rho, empty, ia, best, since))
    x[ids], iters[ids] = xa, ia
    return x, iters


def _newton_direction(H, g, floor=1e-8):
    lam, V = torch.linalg.eigh(H)
    scale = torch.clamp(lam.abs().amax(1, keepdim=True), min=1.0)
    inv = 1.0 / torch.maximum(lam.abs(), floor * scale)
    return -(V @ (inv * (V.transpose(1, 2) @ g[..., None]).squeeze(-1))[..., None]).squeeze(-1)


def _newton(fns, x, max_iter, gtol, stop=None):
    B = x.shape[0]
    iters = torch.zeros(B, dtype=torch.long)
    g, f = fns.grad(x)
    active = torch.nonzero(g.norm(dim=1) > gtol).flatten()
    for _ in range(max_iter):
        if active.numel() == 0:
            break
        if stop is not None and stop():
            iters[active] = UNFINISHED
            break
        a = active
        d = _newton_direction(fns.hess(x[a]), g[a])
        t, f_new, ok = _armijo(fns, x[a], f[a], g[a], d, torch.ones(a.numel(), dtype=x.dtype))
        x[a] = torch.where(ok[:, None], x[a] + t[:, None] * d, x[a])
        g_new, fv = fns.grad(x[a])
        g[a], f[a] = g_new, fv
        iters[a] += 1
        active = a[ok & (g_new.norm(dim=1) > gtol)]
    return x, iters


def run_optimizer(fns, x, optimizer="lbfgs", max_iter=2000, gtol=1e-7, lr=0.1, stop=None):
    """Optimise every row of ``x`` (B x P, float64) in place; returns (x, iterations per start).

    A start with ``max_iter`` iterations used the whole budget (it had not met the stopping rule before its last
    iteration): callers count it as unconverged.
    ``stop()`` (checked once per iteration; a time budget or an interrupt) ends the run early: starts still
    running then get the iteration count :data:`UNFINISHED` (their end points are not results)."""
    if optimizer == "gd":
        return _gd(fns, x, lr, max_iter, gtol, stop)
    if optimizer == "lbfgs":
        return _lbfgs(fns, x, max_iter, gtol, stop=stop)
    if optimizer == "newton":
        return _newton(fns, x, max_iter, gtol, stop)
    raise ValueError(f"unknown optimizer {optimizer!r}")


def _eigh(H):
    """Batched eigh that never raises: a Hessian with non-finite entries (e.g. the population kernel at parallel
    or zero units) or one LAPACK cannot diagonalise gets NaN eigenvalues (its start is then never 'better')."""
    ok = torch.isfinite(H).all(dim=(1, 2))
    Hc = torch.where(ok[:, None, None], H, torch.eye(H.shape[1], dtype=H.dtype).expand_as(H))
    try:
        lam, V = torch.linalg.eigh(Hc)
    except RuntimeError:
        lam, V = torch.full(H.shape[:2], float("nan"), dtype=H.dtype), torch.zeros_like(H)
        for i in range(H.shape[0]):
            try:
                lam[i], V[i] = torch.linalg.eigh(Hc[i])
            except RuntimeError:
                ok[i] = False
    return torch.where(ok[:, None], lam, float("nan")), V


def _pinv_step(H, g, rcond):
    """-H^+ g with the eigenvalues below rcond * max dropped (leaves symmetry directions alone)."""
    lam, V = _eigh(H)
    cut = rcond * torch.clamp(lam.abs().amax(1, keepdim=True), min=1e-300)
    inv = torch.where(lam.abs() > cut, 1.0 / torch.where(lam.abs() > cut, lam, 1.0), torch.zeros_like(lam))
    return -(V @ (inv * (V.transpose(1, 2) @ g[..., None]).squeeze(-1))[..., None]).squeeze(-1)


def _newton_step(fns, x, g, rcond):
    """Pure Newton step. For losses without continuous symmetry (``fns.nondegenerate``) a Cholesky solve where the
    Hessian is positive definite (the same step as the pseudo-inverse there, at a fraction of the cost of an
    eigendecomposition); the pseudo-inverse elsewhere."""
    H = fns.hess(x)
    if not getattr(fns, "nondegenerate", False):
        return _pinv_step(H, g, rcond)
    ok = torch.isfinite(H).all(dim=(1, 2))
    L, info = torch.linalg.cholesky_ex(torch.where(ok[:, None, None], H, torch.eye(H.shape[1], dtype=H.dtype)))
    pd = ok & (info == 0)
    d = torch.empty_like(g)
    if pd.any():
        d[pd] = -torch.cholesky_solve(g[pd][..., None], L[pd]).squeeze(-1)
    if (~pd).any():
        d[~pd] = _pinv_step(H[~pd], g[~pd], rcond)
    return d


def _min_eigenvalue(H):
    ok = torch.isfinite(H).all(dim=(1, 2))
    Hc = torch.where(ok[:, None, None], H, torch.eye(H.shape[1], dtype=H.dtype).expand_as(H))
    try:
        lam = torch.linalg.eigvalsh(Hc)[:, 0]
    except RuntimeError:
        return _eigh(H)[0][:, 0]
    return torch.where(ok, lam, float("nan"))


def min_eigenvalues(fns, x):
    """Smallest Hessian eigenvalue at every row of ``x`` (NaN where the Hessian is not finite)."""
    return _min_eigenvalue(fns.hess(x))


def polish(fns, x, steps=6, rcond=1e-10, eigenvalues=True):
    """Pure Newton steps (:func:`_newton_step`), each start kept only while its gradient norm decreases; started
    near a nondegenerate critical point (gradient ~1e-6) this converges quadratically to rounding level. Updates
    ``x`` in place.
    Returns (x, loss, gradient norm, smallest Hessian eigenvalue); the last is None with ``eigenvalues=False``
    (callers that need it for a few of the points only: :func:`min_eigenvalues`)."""
    g, f = fns.grad(x)
    gn = g.norm(dim=1)
    a = torch.arange(x.shape[0])
    for _ in range(steps):
        if a.numel() == 0:
            break
        x_new = x[a] + _newton_step(fns, x[a], g[a], rcond)
        g_new, f_new = fns.grad(x_new)
        gn_new = g_new.norm(dim=1)
        better = torch.isfinite(f_new) & (gn_new < gn[a])
        b = a[better]
        x[b], g[b], f[b], gn[b] = x_new[better], g_new[better], f_new[better], gn_new[better]
        a = b
    return x, f, gn, (min_eigenvalues(fns, x) if eigenvalues else None)
