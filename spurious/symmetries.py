"""Discrete and continuous symmetries of the loss that act unit by unit, and float canonical forms modulo them.

Model core (imports nothing above :mod:`spurious.network`), so that search (constructions) and the catalog share
one statement of which transformations of a point leave the loss unchanged:

* permuting the units of a hidden layer (rows of W_l, b_l and columns of W_{l+1}). Always a symmetry of the
  function; when a layer is fixed (not trainable) it maps the point into the same problem only if the fixed
  numbers are permuted onto themselves, which :func:`align` enforces by matching units on *all* their numbers;
* positive rescaling of a unit whose activation is positively homogeneous of degree p (incoming (w, b) times
  a > 0, outgoing times a^-p): a loss symmetry only when both adjacent layers are trainable and there is no weight
  decay (the penalty is not invariant);
* flipping the sign of a unit with an odd activation (incoming (w, b) and outgoing weights times -1): needs both
  adjacent layers trainable; weight decay is invariant.

GL(k) of linear layers is not handled here (a missed merge gives two entries, never a wrong one).
The float functions work on per-layer numpy arrays ``[(W, b or None), ...]`` (float64); they are for clustering
search end points, not for proofs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["UnitSymmetries", "hidden_symmetries", "normalise_units", "align", "aligned_distance",
           "canonical_float"]


@dataclass(frozen=True)
class UnitSymmetries:
    """Symmetries acting on the units of hidden layer ``layer`` (1-based: between weight layers l and l+1)."""

    layer: int
    rescale: int | None   # homogeneity degree p when positive rescaling is a loss symmetry
    sign_flip: bool       # odd activation, both adjacent layers trainable


def hidden_symmetries(network, weight_decay=0) -> list:
    """One :class:`UnitSymmetries` per hidden layer l = 1..L-1 (permutations are always included)."""
    out = []
    for l in range(1, network.depth):
        act = network.activations[l - 1]
        both = network.trainable[l - 1] and network.trainable[l]
        p = act.homogeneity if (both and act.homogeneity is not None and weight_decay == 0) else None
        out.append(UnitSymmetries(l, p, bool(both and act.odd)))
    return out


def _copy(layers):
    return [(np.array(W, dtype=np.float64, copy=True), None if b is None else np.array(b, dtype=np.float64))
            for W, b in layers]


def _incoming(layers, l, k):
    W, b = layers[l - 1]
    return W[k] if b is None else np.concatenate([W[k], b[k:k + 1]])


def _scale_unit(layers, l, k, a, p):
    """Incoming times a, outgoing times a^-p (a > 0), in place."""
    W, b = layers[l - 1]
    W[k] *= a
    if b is not None:
        b[k] *= a
    layers[l][0][:, k] *= a ** (-p)


def _flip_unit(layers, l, k):
    W, b = layers[l - 1]
    W[k] *= -1.0
    if b is not None:
        b[k] *= -1.0
    layers[l][0][:, k] *= -1.0


def normalise_units(network, layers, weight_decay=0):
    """Copy of ``layers`` with each rescalable unit's incoming (w, b) of Euclidean norm 1 and each flippable unit's
    largest incoming entry positive (layer by layer from the input, so later layers see normalised columns)."""
    layers = _copy(layers)
    for sym in hidden_symmetries(network, weight_decay):
        l = sym.layer
        for k in range(layers[l - 1][0].shape[0]):
            inc = _incoming(layers, l, k)
            if sym.rescale is not None:
                c = float(np.linalg.norm(inc))
                if c > 0:
                    _scale_unit(layers, l, k, 1.0 / c, sym.rescale)
                    inc = _incoming(layers, l, k)
            if sym.sign_flip and inc.size and inc[int(np.argmax(np.abs(inc)))] < 0:
                _flip_unit(layers, l, k)
    return layers


def _features(layers, l, last):
    """Rows: each unit's incoming (w, b), plus its outgoing column when the next layer is the output."""
    W, b = layers[l - 1]
    parts = [W] + ([b[:, None]] if b is not None else []) + ([layers[l][0].T] if last else [])
    return np.concatenate(parts, axis=1)


def align(network, A, B, weight_decay=0):
    """Permute (and flip) the units of normalised ``B`` to match normalised ``A`` as well as possible.

    Sequential assignment from the input layer (scipy's Hungarian method on squared differences of unit features):
    exact when B is a symmetric copy of A up to noise and the units of A are distinct. Returns the aligned copy of B.
    """
    from scipy.optimize import linear_sum_assignment

    B = _copy(B)
    syms = hidden_symmetries(network, weight_decay)
    L = network.depth
    for sym in syms:
        l = sym.layer
        last = l == L - 1
        fa, fb = _features(A, l, last), _features(B, l, last)
        cost = ((fa[:, None, :] - fb[None, :, :]) ** 2).sum(axis=2)
        flip = np.zeros_like(cost, dtype=bool)
        if sym.sign_flip:
            cost_f = ((fa[:, None, :] + fb[None, :, :]) ** 2).sum(axis=2)
            flip = cost_f < cost
            cost = np.minimum(cost, cost_f)
        rows, cols = linear_sum_assignment(cost)
        order = cols[np.argsort(rows)]
        W, b = B[l - 1]
        flips = flip[np.arange(len(order)), order]
        B[l - 1] = (W[order], None if b is None else b[order])
        B[l] = (B[l][0][:, order], B[l][1])
        for k in np.nonzero(flips)[0]:
            _flip_unit(B, l, int(k))
    return B


def aligned_distance(network, A, B, weight_decay=0) -> float:
    """Max-abs distance between normalised ``A`` and the best-aligned copy of normalised ``B``."""
    Bq = align(network, A, B, weight_decay)
    d = 0.0
    for (Wa, ba), (Wb, bb) in zip(A, Bq):
        d = max(d, float(np.max(np.abs(Wa - Wb))) if Wa.size else 0.0)
        if ba is not None:
            d = max(d, float(np.max(np.abs(ba - bb))) if ba.size else 0.0)
    return d


def canonical_float(network, layers, weight_decay=0, digits=6):
    """A hashable canonical form: normalised units sorted by their features rounded to ``digits`` significant
    digits (an id, not a clustering: values near a rounding boundary can split; use :func:`aligned_distance`)."""
    layers = normalise_units(network, layers, weight_decay)
    L = network.depth

    def rnd(x):
        return tuple(float(f"{v:.{digits - 1}e}") + 0.0 for v in np.ravel(x))

    for sym in hidden_symmetries(network, weight_decay):
        l = sym.layer
        f = _features(layers, l, l == L - 1)
        order = sorted(range(f.shape[0]), key=lambda k: rnd(f[k]))
        W, b = layers[l - 1]
        layers[l - 1] = (W[order], None if b is None else b[order])
        layers[l] = (layers[l][0][:, order], layers[l][1])
    return tuple((rnd(W), None if b is None else rnd(b)) for W, b in layers)
