"""The symmetries of a network's loss: one statement, used by the verifiers, search and the catalog.

Model core (imports nothing above :mod:`spurious.network`). :func:`hidden_symmetries` says, per hidden layer, which
transformations of a point leave the loss unchanged; the rest of this module acts on it:
:func:`symmetry_tangents` (exact tangent vectors of the continuous ones, for the verifiers' reduced Hessian),
:func:`normalise_units` / :func:`align` / :func:`canonical_float` (float quotients, for clustering search end
points) and ``spurious.catalog.canonical`` (exact canonical ids). The symmetries:

* permuting the units of a hidden layer (rows of W_l, b_l and columns of W_{l+1}). Always a symmetry of the
  function; when a layer is fixed (not trainable) it maps the point into the same problem only if the fixed
  numbers are permuted onto themselves, which :func:`align` enforces by matching units on *all* their numbers;
* positive rescaling of a unit whose activation is positively homogeneous of degree p (incoming (w, b) times
  a > 0, outgoing times a^-p): a loss symmetry only when both adjacent layers are trainable and there is no weight
  decay (the penalty is not invariant);
* flipping the sign of a unit with an odd activation (incoming (w, b) and outgoing weights times -1): needs both
  adjacent layers trainable; weight decay is invariant.

* GL(k) of a linear hidden layer of width k (W_l -> G W_l, b_l -> G b_l, W_{l+1} -> W_{l+1} G^-1): needs both
  adjacent layers trainable and no weight decay (with weight decay only O(k) remains, not used here).
* the orthogonal group of the output form of a *last* hidden layer with a degree-2 polynomial activation
  sigma(z) = c2 (z + s)^2 + const (``quadratic``: s = 0). With scalar output v, the network is
  c2 x~^T U~^T diag(v) U~ x~ + const with U~ = [W_l, b_l + s] (x~ = (h_{l-1}, 1)), so U~ -> A U~ for every A with
  A^T diag(v) A = diag(v) (the group O(p, q) of diag(v)) leaves it unchanged; the output layer does not move. Its
  Lie algebra is spanned by S = v_b E_ab - v_a E_ba (diag(v) S antisymmetric), one generator per pair of units.
  With d_L > 1 outputs a pair acts when the two columns of W_{l+1} are proportional (every output's form is
  preserved). Needs the incoming layer trainable (and a bias there when s != 0) and no weight decay (A is not
  orthogonal). The float quotients below ignore it (two entries, never a wrong one).

The float functions work on per-layer numpy arrays ``[(W, b or None), ...]`` (float64); they are for clustering
search end points, not for proofs. A missed identification gives two entries, never a wrong one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["UnitSymmetries", "hidden_symmetries", "quadratic_shift", "normalise_units", "align", "aligned_distance",
           "canonical_float", "Tangent", "symmetry_tangents", "symmetry_names"]


@dataclass(frozen=True)
class UnitSymmetries:
    """Symmetries acting on the units of hidden layer ``layer`` (1-based: between weight layers l and l+1)."""

    layer: int
    rescale: int | None   # homogeneity degree p when positive rescaling is a loss symmetry
    sign_flip: bool       # odd activation, both adjacent layers trainable
    general_linear: bool = False  # linear activation: GL(width) acts (both adjacent layers trainable, no decay)
    quadratic_form: bool = False  # last hidden layer, degree-2 activation: O(diag(v)) acts on [W_l, b_l + s]


def quadratic_shift(act):
    """s with sigma(z) = c2 (z + s)^2 + const when ``act`` is a polynomial of degree exactly 2, else None."""
    c = list(act.coefficients or ()) if act.kind == "polynomial" else []
    while c and c[-1] == 0:
        c.pop()
    if len(c) != 3:
        return None
    return c[1] / (2 * c[2])


def hidden_symmetries(network, weight_decay=0, function_only=False) -> list:
    """One :class:`UnitSymmetries` per hidden layer l = 1..L-1 (permutations are always included).

    ``function_only``: the symmetries of the network *function* (e.g. of a fixed teacher), ignoring which layers
    are trainable and the weight decay."""
    out = []
    for l in range(1, network.depth):
        act = network.activations[l - 1]
        both = function_only or (network.trainable[l - 1] and network.trainable[l])
        free = both and (function_only or weight_decay == 0)
        p = act.homogeneity if (free and act.homogeneity is not None) else None
        shift = quadratic_shift(act)
        form = (l == network.depth - 1 and shift is not None
                and (function_only or (network.trainable[l - 1] and weight_decay == 0))
                and (shift == 0 or network.bias[l - 1]))
        out.append(UnitSymmetries(l, p, bool(both and act.odd), bool(free and act.is_linear), bool(form)))
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
    """Copy of ``layers`` with each rescalable unit's incoming (w, b) of Euclidean norm 1, each flippable unit's
    largest incoming entry positive (layer by layer from the input, so later layers see normalised columns), and
    each block of consecutive GL(k) layers replaced by the balanced factorisation of its composite map
    (:func:`_balance_linear_block`)."""
    layers = _copy(layers)
    syms = hidden_symmetries(network, weight_decay)
    done = set()
    for sym in syms:
        l = sym.layer
        if sym.general_linear:
            if l not in done:
                block = _linear_block(syms, l)
                done.update(block)
                _balance_linear_block(layers, block)
            continue
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


def _linear_block(syms, l):
    """The maximal run of consecutive GL(k) hidden layers starting at hidden layer l."""
    block = [l]
    while block[-1] < len(syms) and syms[block[-1]].general_linear:
        block.append(block[-1] + 1)
    return block


def _balance_linear_block(layers, block, rtol=1e-12):
    """In place: weight layers block[0] .. block[-1] + 1 replaced by a canonical factorisation of their composite
    affine map M = U S V^T (SVD): first layer sqrt(S) V^T, pass-through identities, last layer U sqrt(S), biases
    folded into the first layer, signs fixed by U. Equal for all points related by GL of the block's layers (and
    for all points computing the same composite map: one flat set of equal loss, which search merges too)."""
    idx = list(range(block[0] - 1, block[-1] + 1))  # 0-based weight layers
    has_b = [layers[i][1] is not None for i in idx]
    if any(has_b) and not has_b[0]:
        return  # a bias after a bias-free first layer cannot be folded into it: leave the block as it is
    bias = has_b[0]
    d = layers[idx[0]][0].shape[1]
    T = np.eye(d + 1)
    for i in idx:
        W, b = layers[i]
        A = np.zeros((W.shape[0] + 1, W.shape[1] + 1))
        A[:-1, :-1] = W
        if b is not None:
            A[:-1, -1] = b
        A[-1, -1] = 1.0
        T = A @ T
    M = T[:-1, :] if bias else T[:-1, :-1]
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    r = int(np.sum(S > rtol * max(S[0] if S.size else 0.0, 1e-300)))
    for i in range(r):
        j = int(np.argmax(np.abs(U[:, i])))
        if U[j, i] < 0:
            U[:, i] *= -1.0
            Vt[i] *= -1.0
    sq = np.sqrt(S[:r])
    for pos, i in enumerate(idx):
        W, b = layers[i]
        Wn = np.zeros_like(W)
        bn = None if b is None else np.zeros_like(b)
        if pos == 0:
            F = sq[:, None] * Vt[:r]
            Wn[:r] = F[:, :d]
            if bias:
                bn[:r] = F[:, d]
        elif pos == len(idx) - 1:
            Wn[:, :r] = U[:, :r] * sq[None, :]
        else:
            Wn[np.arange(r), np.arange(r)] = 1.0
        layers[i] = (Wn, bn)


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
        if sym.general_linear:  # already canonical (balanced factorisation): nothing to permute
            continue
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
        if sym.general_linear:
            continue
        f = _features(layers, l, l == L - 1)
        order = sorted(range(f.shape[0]), key=lambda k: rnd(f[k]))
        W, b = layers[l - 1]
        layers[l - 1] = (W[order], None if b is None else b[order])
        layers[l] = (layers[l][0][:, order], layers[l][1])
    return tuple((rnd(W), None if b is None else rnd(b)) for W, b in layers)


# ------------------------------------------------------------------------------ exact tangents (verifiers)
@dataclass(frozen=True)
class Tangent:
    """A tangent vector of a continuous symmetry at a point (exact fmpq, flat coordinates)."""

    name: str          # e.g. "rescale layer 1 unit 2", "GL(3) layer 1 E[0,2]" or "O(v) layer 2 (0,1)"
    group: str         # "rescale", "GL" or "O"
    vector: tuple
    layer: int = 0     # hidden layer (1-based)
    width: int = 0     # that layer's width (k of GL(k))


def symmetry_tangents(network, point, weight_decay=0) -> list:
    """Tangent vectors of the continuous symmetries (:func:`hidden_symmetries`) at ``point``, exact.

    Positive rescaling of a unit (degree p): (+incoming, -p * outgoing). GL(k) of a linear layer: the k^2 vectors
    (M W_l, M b_l, -W_{l+1} M) for M = E_ab (they contain the rescalings). The output form's orthogonal group of a
    last quadratic layer: (S W_l, S (b_l + s)) for S = v_b E_ab - v_a E_ba, a < b, v = the output weights of one
    output where the columns a, b of W_{l+1} are proportional (a pair of zero columns gives none: those units'
    incoming weights are flat, not a symmetry). Discrete symmetries have none."""
    from flint import fmpq

    offsets, P = network.layer_offsets()
    shapes = network.layer_shapes()
    out = []
    for sym in hidden_symmetries(network, weight_decay):
        l = sym.layer
        if sym.rescale is None and not sym.general_linear and not sym.quadratic_form:
            continue
        off_in, off_out = offsets[l - 1], offsets[l]
        dout, din, has_b = shapes[l - 1]
        nxt_out = shapes[l][0]
        W_in, b_in = point.layers[l - 1].W, point.layers[l - 1].b
        W_out = point.layers[l].W

        def incoming(k, src, c=fmpq(1)):
            """Unit k's incoming slots set to c * (W_in[src, :], b_in[src])."""
            v = {off_in + k * din + j: c * W_in[src][j] for j in range(din)}
            if has_b:
                v[off_in + dout * din + k] = c * b_in[src]
            return v

        if sym.general_linear:
            for a in range(dout):
                for b in range(dout):
                    v = incoming(a, b)                # (E_ab W)[a, :] = W[b, :]
                    for o in range(nxt_out):          # -(W_out E_ab)[o, b] = -W_out[o, a]
                        v[off_out + o * dout + b] = v.get(off_out + o * dout + b, fmpq(0)) - W_out[o][a]
                    out.append(Tangent(f"GL({dout}) layer {l} E[{a},{b}]", "GL", _dense(v, P, fmpq(0)), l, dout))
            continue
        if sym.rescale is not None:
            for k in range(dout):
                v = incoming(k, k)
                for o in range(nxt_out):
                    v[off_out + o * dout + k] = -sym.rescale * W_out[o][k]
                out.append(Tangent(f"rescale layer {l} unit {k}", "rescale", _dense(v, P, fmpq(0)), l, dout))
        if sym.quadratic_form:
            s = quadratic_shift(network.activations[l - 1])
            for a in range(dout):
                for b in range(a + 1, dout):
                    col_a = [W_out[o][a] for o in range(nxt_out)]
                    col_b = [W_out[o][b] for o in range(nxt_out)]
                    o = next((o for o in range(nxt_out) if col_a[o] != 0 or col_b[o] != 0), None)
                    if o is None or any(col_a[o] * col_b[q] != col_b[o] * col_a[q] for q in range(nxt_out)):
                        continue  # both columns zero, or not proportional: no generator for this pair
                    v = {}
                    for k, src, c in ((a, b, col_b[o]), (b, a, -col_a[o])):   # row k += c * row src of [W, b + s]
                        for j in range(din):
                            v[off_in + k * din + j] = c * W_in[src][j]
                        if has_b:
                            v[off_in + dout * din + k] = c * (b_in[src] + s)
                    out.append(Tangent(f"O(v) layer {l} ({a},{b})", "O", _dense(v, P, fmpq(0)), l, dout))
    return out


def _dense(v: dict, P: int, zero) -> tuple:
    out = [zero] * P
    for i, x in v.items():
        out[i] = x
    return tuple(out)


def symmetry_names(tangents) -> list:
    """Short names of the symmetry groups, e.g. ['positive rescaling of hidden units (3)', 'GL(2) layer 1']."""
    rescale = sum(1 for t in tangents if t.group == "rescale")
    names = [f"positive rescaling of hidden units ({rescale})"] if rescale else []
    gl = {}
    for t in tangents:
        if t.group == "GL":
            gl[t.layer] = gl.get(t.layer, 0) + 1
    orth = {}
    for t in tangents:
        if t.group == "O":
            orth[t.layer] = orth.get(t.layer, 0) + 1
    return (names + [f"GL({math.isqrt(n)}) layer {l}" for l, n in sorted(gl.items())]
            + [f"O(p,q) of the output form diag(v), layer {l} ({n} generator(s))" for l, n in sorted(orth.items())])
