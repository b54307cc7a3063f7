"""Continuous symmetries of the loss at a point, and their tangent vectors (exact).

* A hidden unit whose activation is positively homogeneous of degree p (ReLU, leaky ReLU: p = 1; z^2: p = 2) can
  be rescaled: incoming weights and bias times a, outgoing weights times a^-p. Tangent: (+incoming, -p * outgoing).
* A linear hidden layer of width k carries GL(k): W_l -> G W_l, b_l -> G b_l, W_{l+1} -> W_{l+1} G^-1, with the k^2
  tangents (M W_l, M b_l, -W_{l+1} M) for M = E_ab.

A symmetry needs both the layer and the next one trainable, and no weight decay (the penalty is not invariant).
See ../shared/DESIGN.md, "What a certificate is", step 3.
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import fmpq

__all__ = ["Tangent", "symmetry_tangents"]


@dataclass(frozen=True)
class Tangent:
    name: str          # e.g. "rescale layer 1 unit 2" or "GL(3) layer 1 E[0,2]"
    group: str         # "rescale" or "GL"
    vector: tuple      # exact fmpq, flat coordinates
    layer: int = 0     # the hidden layer (1-based) it acts on
    width: int = 0     # that layer's width (k of GL(k))


def symmetry_tangents(network, point, weight_decay=0) -> list:
    """Tangent vectors of the continuous symmetries at ``point`` (exact), in flat coordinates."""
    if weight_decay:
        return []
    offsets, P = network.layer_offsets()
    shapes = network.layer_shapes()
    out = []
    for l in range(1, network.depth):  # hidden layer l sits between weight layers l and l+1 (1-based)
        act = network.activations[l - 1]
        off_in, off_out = offsets[l - 1], offsets[l]
        if off_in is None or off_out is None:
            continue
        dout, din, has_b = shapes[l - 1]
        nxt_out, _, _ = shapes[l]
        W_in, b_in = point.layers[l - 1].W, point.layers[l - 1].b
        W_out = point.layers[l].W

        def incoming(k, row_coeffs):
            """Place sum_a row_coeffs[a] * (W_in[a,:], b_in[a]) into unit k's incoming slots."""
            v = {}
            for j in range(din):
                v[off_in + k * din + j] = sum((c * W_in[a][j] for a, c in row_coeffs), fmpq(0))
            if has_b:
                v[off_in + dout * din + k] = sum((c * b_in[a] for a, c in row_coeffs), fmpq(0))
            return v

        if act.is_linear:
            for a in range(dout):
                for b in range(dout):
                    v = incoming(a, [(b, fmpq(1))])  # (E_ab W)[a,:] = W[b,:]
                    for o in range(nxt_out):          # -(W_out E_ab)[o, b] = -W_out[o, a]
                        v[off_out + o * dout + b] = v.get(off_out + o * dout + b, fmpq(0)) - W_out[o][a]
                    out.append(Tangent(f"GL({dout}) layer {l} E[{a},{b}]", "GL", _dense(v, P), l, dout))
        elif act.homogeneity is not None:
            p = act.homogeneity
            for k in range(dout):
                v = incoming(k, [(k, fmpq(1))])
                for o in range(nxt_out):
                    v[off_out + o * dout + k] = -p * W_out[o][k]
                out.append(Tangent(f"rescale layer {l} unit {k}", "rescale", _dense(v, P), l, dout))
    return out


def _dense(v: dict, P: int) -> tuple:
    out = [fmpq(0)] * P
    for i, x in v.items():
        out[i] = x
    return tuple(out)


def symmetry_names(tangents) -> list:
    """Short names of the symmetry groups, e.g. ['positive rescaling of 3 units', 'GL(2) at layer 1']."""
    rescale = sum(1 for t in tangents if t.group == "rescale")
    names = [f"positive rescaling of hidden units ({rescale})"] if rescale else []
    gl = sorted({f"GL({t.width}) layer {t.layer}" for t in tangents if t.group == "GL"})
    return names + gl
