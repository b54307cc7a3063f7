"""Closed-form Gaussian population loss of one-hidden-layer ReLU networks without biases.

For x ~ N(0, I): E[relu(w.x) relu(v.x)] = |w||v| (sin t + (pi - t) cos t) / (2 pi), t the angle between w and v
(the arc-cosine kernel of degree 1; Cho and Saul 2009). With f(x) = A relu(W x) and teacher g(x) = C relu(V x),

    E ||f(x) - g(x)||^2 = sum_o [ a_o^T K(W, W) a_o - 2 a_o^T K(W, V) c_o + c_o^T K(V, V) c_o ].

Written as |w||v| sin t = sqrt(|w|^2 |v|^2 - (w.v)^2) and t = atan2(that, w.v), which is stable in both contexts.
"""

from __future__ import annotations

import math

from flint import arb

from ..errors import UnsupportedError

__all__ = ["check_closed_form", "population_loss_ball", "population_loss_torch", "relu_kernel_torch"]


def check_closed_form(problem) -> None:
    """Raise UnsupportedError unless student and teacher are one-hidden-layer ReLU networks without biases."""
    for who, net in (("student", problem.network), ("teacher", problem.data.teacher_network)):
        if net.depth != 2 or net.activations[0].name != "relu" or any(net.bias):
            raise UnsupportedError(
                f"population loss: a closed form exists only for one-hidden-layer ReLU networks without biases "
                f"({who} is {net.describe()}, bias {list(net.bias)})")


def _kernel_ball(w, v, same=False):
    dot = sum((a * b for a, b in zip(w, v)), arb(0))
    if same:
        return dot / 2
    nw2 = sum((a * a for a in w), arb(0))
    nv2 = sum((a * a for a in v), arb(0))
    q = nw2 * nv2 - dot * dot  # = (|w||v| sin t)^2 >= 0 mathematically
    if q > 0:
        s = q.sqrt()
    else:
        up = q.upper()
        s = arb(0) if not (up > 0) else arb(0).union(up.sqrt())
    t = arb.atan2(s, dot)
    return (s + (arb.pi() - t) * dot) / (2 * arb.pi())


def population_loss_ball(layers, teacher_layers):
    """Enclosure of the population loss; ``layers`` and ``teacher_layers`` are [(W rows, None), (A rows, None)]."""
    (W, _), (A, _) = layers
    (V, _), (C, _) = teacher_layers
    total = arb(0)
    for a, c in zip(A, C):
        for j, wj in enumerate(W):
            for k, wk in enumerate(W):
                total += a[j] * a[k] * _kernel_ball(wj, wk, same=(j == k))
            for m, vm in enumerate(V):
                total -= 2 * a[j] * c[m] * _kernel_ball(wj, vm)
        for m, vm in enumerate(V):
            for m2, vm2 in enumerate(V):
                total += c[m] * c[m2] * _kernel_ball(vm, vm2, same=(m == m2))
    return total


def relu_kernel_torch(W, V):
    """Matrix of E[relu(w_j.x) relu(v_m.x)] for the rows of W (k x d) and V (m x d), float64 torch."""
    import torch

    dot = W @ V.T
    nw = torch.linalg.vector_norm(W, dim=1)
    nv = torch.linalg.vector_norm(V, dim=1)
    q = torch.clamp(nw[:, None] ** 2 * nv[None, :] ** 2 - dot ** 2, min=0.0)
    s = torch.sqrt(q + 1e-300)
    t = torch.atan2(s, dot)
    return (s + (math.pi - t) * dot) / (2 * math.pi)


def _gram_torch(W):
    import torch

    k = W.shape[0]
    eye = torch.eye(k, dtype=W.dtype)
    off = relu_kernel_torch(W, W) * (1 - eye)
    return off + torch.diag((W * W).sum(dim=1) / 2)


def population_loss_torch(W, A, V, C):
    """Population loss in float64 torch (differentiable by torch.func)."""
    kww = _gram_torch(W)
    kwv = relu_kernel_torch(W, V)
    kvv = _gram_torch(V)
    return ((A @ kww) * A).sum() - 2 * ((A @ kwv) * C).sum() + ((C @ kvv) * C).sum()
