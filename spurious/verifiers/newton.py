"""Polish a float point towards a nearby critical point by Newton steps (evidence only; the proof comes later).

The gradient is evaluated accurately (the caller passes an ``arb`` evaluation at 128 bits, rounded to float), the
Hessian in float64, and the iterate stays a float64 vector (an exact dyadic rational, the centre of the later
proof). So the residual gradient is limited only by the float64 representation of the point, typically
||grad|| ~ 1e-16 ||H|| ||x||. The Hessian is reused while the gradient keeps shrinking fast (a chord step) and
recomputed otherwise; singular Hessians get a least-squares step (flat directions are not moved). Newton steps
go to any nearby nondegenerate critical point, minimum or saddle: the caller decides what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["polish", "Polish"]


@dataclass
class Polish:
    x: np.ndarray                 # best iterate (smallest gradient norm), float64
    grad_norm: float              # its (float) gradient norm, free coordinates only
    start_norm: float             # gradient norm at the start
    steps: int
    converged: bool               # the gradient reached the float noise level
    hessian: np.ndarray | None = None  # the last float Hessian used (free coordinates), an estimate
    history: list = field(default_factory=list)


def _step(H, g):
    try:
        d = np.linalg.solve(H, -g)
        if np.all(np.isfinite(d)) and np.linalg.norm(H @ d + g) <= 1e-6 * max(np.linalg.norm(g), 1e-300):
            return d
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(H, -g, rcond=1e-12)[0]


def polish(grad_fn, hess_fn, x0, free=None, max_steps=10, max_hessians=4, max_move=None, accept=None) -> Polish:
    """Newton iteration on the coordinates ``free`` (a slice; the others stay fixed).

    grad_fn(x) -> accurate float gradient (length P); hess_fn(x) -> float Hessian (P x P).
    ``max_move``: give up (converged False) if the iterate moves farther than this from x0.
    Iterates until the gradient reaches the float noise level 64 u (1 + max|H|) (1 + max|x|); ``converged`` means
    the best gradient norm is <= ``accept`` (default 1024 u (1 + max|H|) (1 + max|x|)).
    """
    x = np.array(x0, dtype=np.float64)
    P = x.size
    free = np.arange(P) if free is None else np.asarray(free)
    g = np.asarray(grad_fn(x), dtype=np.float64)[free]
    gn = float(np.linalg.norm(g))
    best = (gn, x.copy())
    history = [gn]
    H, hessians, steps = None, 0, 0
    scale = None
    while steps < max_steps and gn > 0 and np.isfinite(gn):
        if H is None:
            if hessians >= max_hessians:
                break
            Hf = np.asarray(hess_fn(x), dtype=np.float64)
            H = Hf[np.ix_(free, free)]
            H = (H + H.T) / 2
            hessians += 1
            if not np.all(np.isfinite(H)):  # e.g. a zero population unit: no Newton step (converged stays False)
                H = None
                break
            scale = 1.0 + float(np.abs(H).max(initial=0.0))
        threshold = 64 * 2.0 ** -53 * scale * (1 + float(np.abs(x).max(initial=0.0)))
        if gn <= threshold:
            break
        d = _step(H, g)
        xn = x.copy()
        xn[free] = x[free] + d
        if max_move is not None and np.linalg.norm(xn - x0) > max_move:
            break
        gnew = np.asarray(grad_fn(xn), dtype=np.float64)[free]
        gnn = float(np.linalg.norm(gnew))
        steps += 1
        history.append(gnn)
        if not np.isfinite(gnn):
            break
        if gnn > 0.25 * gn:
            H = None  # slow progress with this Hessian: recompute it at the new point
        x, g, gn = xn, gnew, gnn
        if gn < best[0]:
            best = (gn, x.copy())
        if len(history) > 4 and min(history[-3:]) >= 0.5 * min(history[:-3]):
            break  # stagnated at the noise level
    if scale is None:
        Hf = np.asarray(hess_fn(best[1]), dtype=np.float64)[np.ix_(free, free)] if best[0] > 0 else np.zeros((1, 1))
        scale = 1.0 + float(np.abs(Hf).max(initial=0.0))
    threshold = accept if accept is not None else 1024 * 2.0 ** -53 * scale * (1 + float(np.abs(best[1]).max(initial=0.0)))
    return Polish(best[1], best[0], history[0], steps, best[0] <= threshold, hessian=H, history=history)
