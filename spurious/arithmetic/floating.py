"""float64 evaluation with torch.func: loss, gradient and Hessian, batched over many points (vmap).

Fast and independent of the exact/ball derivatives (autodiff of sigma's value, instead of the chain rule of
:mod:`.passes` and the declared sigma', sigma''), so the two check each other. Results here are evidence
(``rigor: numerical``), never proof.
"""

from __future__ import annotations

import numpy as np

from ..rationals import fmpq_to_float
from .contexts import TORCH
from .population import check_closed_form, population_loss_torch

__all__ = ["FloatModel", "torch_activation"]


def _torch():
    import torch

    return torch


def torch_activation(act):
    """sigma as a function of float64 torch tensors: the activation's own formula in the TORCH context
    (:mod:`spurious.activations`), differentiable by torch.func."""
    return lambda z: act.value(TORCH, z)


def _tensor(rows):
    torch = _torch()
    return torch.tensor([[fmpq_to_float(v) for v in row] for row in rows], dtype=torch.float64)


class FloatModel:
    """The loss of one problem as a function of the flat trainable vector theta (float64 torch).

    Non-trainable layers take their values from ``base`` (a :class:`~spurious.network.Point`).
    """

    def __init__(self, problem, base):
        torch = _torch()
        self.problem = problem
        self.network = net = problem.network
        self.offsets, self.P = net.layer_offsets()
        self.fixed = [None if tr else (_tensor(L.W), None if L.b is None else _tensor([L.b])[0])
                      for L, tr in zip(base.layers, net.trainable)]
        self.acts = [torch_activation(a) for a in net.activations]
        self.wd = fmpq_to_float(problem.loss.weight_decay)
        if problem.finite:
            self.X = _tensor(problem.data.X)
            self.Y = _tensor(problem.data.Y)
            self.scale = 1.0 / len(problem.data.X) if problem.loss.reduction == "mean" else 1.0
        else:
            check_closed_form(problem)
            tl = problem.data.teacher_point.layers
            self.V, self.C = _tensor(tl[0].W), _tensor(tl[1].W)
        self._torch = torch

    def layers(self, theta):
        """Per-layer (W, b) tensors from the flat vector (documented order in :mod:`spurious.network`)."""
        out = []
        for l, (dout, din, has_b) in enumerate(self.network.layer_shapes()):
            off = self.offsets[l]
            if off is None:
                out.append(self.fixed[l])
                continue
            W = theta[off:off + dout * din].reshape(dout, din)
            b = theta[off + dout * din: off + dout * din + dout] if has_b else None
            out.append((W, b))
        return out

    def forward(self, theta, X):
        layers = self.layers(theta)
        h = X
        for l, (W, b) in enumerate(layers):
            z = h @ W.T
            if b is not None:
                z = z + b
            h = self.acts[l](z) if l < len(layers) - 1 else z
        return h

    def loss(self, theta):
        layers = self.layers(theta)
        if self.problem.finite:
            r = self.forward(theta, self.X) - self.Y
            value = self.scale * (r * r).sum()
        else:
            value = population_loss_torch(layers[0][0], layers[1][0], self.V, self.C)
        if self.wd:
            value = value + self.wd / 2 * sum((W * W).sum() for (W, _), off in zip(layers, self.offsets)
                                              if off is not None)
        return value

    # batched evaluation ----------------------------------------------------------
    def _as_batch(self, thetas):
        torch = self._torch
        t = torch.as_tensor(np.asarray(thetas, dtype=np.float64))
        return t[None, :] if t.ndim == 1 else t

    def losses(self, thetas):
        from torch.func import vmap

        return vmap(self.loss)(self._as_batch(thetas))

    def gradients(self, thetas):
        from torch.func import grad, vmap

        return vmap(grad(self.loss))(self._as_batch(thetas))

    def hessians(self, thetas):
        from torch.func import hessian, vmap

        return vmap(hessian(self.loss))(self._as_batch(thetas))

    def lbfgs(self, theta0, *, max_iter=500, rounds=1, tolerance_grad=1e-13, history_size=100):
        """Local minimisation from ``theta0`` by torch L-BFGS with strong-Wolfe line search (float evidence);
        returns the end point as a numpy float64 vector."""
        torch = self._torch
        th = torch.tensor(np.asarray(theta0, dtype=np.float64), requires_grad=True)
        opt = torch.optim.LBFGS([th], max_iter=max_iter, tolerance_grad=tolerance_grad, tolerance_change=1e-16,
                                history_size=history_size, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            value = self.loss(th)
            value.backward()
            return value

        for _ in range(rounds):
            opt.step(closure)
        return th.detach().numpy().copy()

    def evaluate(self, theta):
        """(loss, gradient, Hessian) at one point as numpy float64."""
        t = self._as_batch(theta)
        return (float(self.losses(t)[0]), self.gradients(t)[0].numpy(), self.hessians(t)[0].numpy())
