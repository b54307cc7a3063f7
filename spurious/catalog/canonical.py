"""Canonical form and stable id of a catalogued minimum.

Two candidates describe the same minimum when one is obtained from the other by a symmetry of the training
problem that the catalog recognises:

- a permutation of the hidden units of any hidden layer (applied to the whole problem: rows of W_l and b_l,
  columns of W_{l+1}, fixed layers included, since relabelling units relabels the problem);
- a positive rescaling of a hidden unit whose activation is positively homogeneous of degree p
  (incoming (w, b) times a > 0, outgoing times a^-p), only where it is a symmetry of the *loss*: both adjacent
  layers trainable and no weight decay (with weight decay the rescaled point has a different loss);
- a permutation of the data rows (the loss is a sum over samples).

Which symmetries exist is :func:`spurious.symmetries.hidden_symmetries` (the statement search and the verifiers
use). Sign flips of odd activations and GL(k) of linear layers are symmetries there but are not identified here:
identifying them would change the ids of stored entries (two shipped tanh entries among them) and needs a
canonical-version migration of existing catalogs (a missed merge gives two entries, never a wrong one).
Witness and meta are not part of the identity.

Canonical rescaling is exact in rationals and permutation-equivariant: each unit's incoming (w, b) is divided by
its largest absolute entry (a unit with zero incoming weights is normalised by its outgoing weights instead), layer
by layer from the input. Canonical ordering sorts units by their incoming row (columns already canonical); units
with equal rows are ordered by the lexicographically smallest encoding of the rest of the network (exhaustive over
tie orderings, capped at :data:`MAX_TIE_BRANCHES`). :func:`canonical_graph` gives the rescaled layered weighted graph
whose isomorphism class the id represents (the tests check id equality against ``networkx.is_isomorphic``).
"""

from __future__ import annotations

import hashlib
import itertools
import json

import networkx as nx
from flint import fmpq

from ..network import Layer, Point
from ..rationals import format_number
from ..symmetries import hidden_symmetries

__all__ = ["canonical_form", "stable_id", "canonical_graph", "rescale_canonically", "MAX_TIE_BRANCHES",
           "ID_LENGTH"]

MAX_TIE_BRANCHES = 5040
ID_LENGTH = 20
CANONICAL_VERSION = 1


def _matrices(point):
    """Mutable copies: per layer a list of rows [w..., b?] and a flag for the bias."""
    Ws = [[list(row) for row in layer.W] for layer in point.layers]
    bs = [None if layer.b is None else list(layer.b) for layer in point.layers]
    return Ws, bs


def _rescalable(network, loss, l):
    """Degree p if positive rescaling of the units of hidden layer l (1-based) is a symmetry of the loss (of the
    function when ``loss`` is None: a fixed teacher), else None (:func:`spurious.symmetries.hidden_symmetries`)."""
    syms = hidden_symmetries(network, 0 if loss is None else loss.weight_decay, function_only=loss is None)
    return syms[l - 1].rescale


def rescale_canonically(network, point, loss=None) -> Point:
    """The representative of ``point`` on its rescaling orbit (``loss=None``: a fixed teacher, always rescaled)."""
    Ws, bs = _matrices(point)
    for l in range(1, network.depth):
        p = _rescalable(network, loss, l)
        if p is None:
            continue
        W, b, Wn = Ws[l - 1], bs[l - 1], Ws[l]
        for k in range(len(W)):
            incoming = W[k] + ([b[k]] if b is not None else [])
            c = max((abs(x) for x in incoming), default=fmpq(0))
            if c > 0:
                W[k] = [x / c for x in W[k]]
                if b is not None:
                    b[k] = b[k] / c
                for row in Wn:
                    row[k] = row[k] * c ** p
            else:
                c = max((abs(row[k]) for row in Wn), default=fmpq(0))
                if c > 0:
                    for row in Wn:
                        row[k] = row[k] / c
    return Point([Layer(tuple(map(tuple, W)), None if b is None else tuple(b)) for W, b in zip(Ws, bs)])


def _permute_units(Ws, bs, l, order):
    """Reorder the units of hidden layer l (1-based): rows of layer l, columns of layer l+1 (in place copies)."""
    Ws, bs = list(Ws), list(bs)
    Ws[l - 1] = [Ws[l - 1][k] for k in order]
    if bs[l - 1] is not None:
        bs[l - 1] = [bs[l - 1][k] for k in order]
    Ws[l] = [[row[k] for k in order] for row in Ws[l]]
    return Ws, bs


def _row_key(Ws, bs, l, k):
    return tuple(Ws[l - 1][k]) + ((bs[l - 1][k],) if bs[l - 1] is not None else ())


def _encoding(Ws, bs):
    return tuple(tuple(tuple(r) for r in W) + ((tuple(b),) if b is not None else ()) for W, b in zip(Ws, bs))


class _Budget:
    def __init__(self, n):
        self.left = n
        self.exhausted = False


def _canonical_order(Ws, bs, l, L, budget):
    """Canonically order hidden layers l..L-1; returns (Ws, bs) with the smallest encoding among tie orderings."""
    if l >= L:
        return Ws, bs
    n = len(Ws[l - 1])
    if l == L - 1:  # output units are not permutable: ties are broken by outgoing columns, canonically
        key = lambda k: (_row_key(Ws, bs, l, k), tuple(row[k] for row in Ws[l]))  # noqa: E731
        return _permute_units(Ws, bs, l, sorted(range(n), key=key))
    order = sorted(range(n), key=lambda k: _row_key(Ws, bs, l, k))
    groups = [list(g) for _, g in itertools.groupby(order, key=lambda k: _row_key(Ws, bs, l, k))]
    choices = [itertools.permutations(g) if len(g) > 1 else [tuple(g)] for g in groups]
    best = None
    for combo in itertools.product(*choices):
        budget.left -= 1
        if budget.left < 0 and best is not None:
            budget.exhausted = True
            break
        perm = [k for part in combo for k in part]
        cand = _canonical_order(*_permute_units(Ws, bs, l, perm), l + 1, L, budget)
        if best is None or _encoding(*cand) < _encoding(*best):
            best = cand
    return best


def _canonical_point(network, point, loss):
    """(canonical Point, complete flag): rescaled, then units ordered canonically."""
    scaled = rescale_canonically(network, point, loss)
    Ws, bs = _matrices(scaled)
    budget = _Budget(MAX_TIE_BRANCHES)
    Ws, bs = _canonical_order(Ws, bs, 1, network.depth, budget)
    layers = [Layer(tuple(map(tuple, W)), None if b is None else tuple(b)) for W, b in zip(Ws, bs)]
    return Point(layers), not budget.exhausted


def canonical_form(candidate) -> dict:
    """A JSON-ready document that is equal for all symmetric copies of one minimum (see the module docstring)."""
    problem = candidate.problem
    net = problem.network
    point, complete = _canonical_point(net, candidate.point, problem.loss)
    doc = {"canonical": CANONICAL_VERSION, "network": net.to_json(), "loss": problem.loss.to_json(),
           "point": point.to_json()}
    if problem.finite:
        rows = sorted(zip(problem.data.X, problem.data.Y))
        doc["data"] = {"X": [[format_number(v) for v in x] for x, _ in rows],
                       "Y": [[format_number(v) for v in y] for _, y in rows]}
    else:
        tnet = problem.data.teacher_network
        tpoint, tcomplete = _canonical_point(tnet, problem.data.teacher_point, None)
        complete = complete and tcomplete
        doc["data"] = {"distribution": "standard_gaussian",
                       "teacher": {"network": tnet.to_json(), "point": tpoint.to_json()}}
    if not complete:
        doc["tie_budget_exhausted"] = True
    return doc


def stable_id(candidate) -> str:
    """First :data:`ID_LENGTH` hex digits of the SHA-256 of the canonical form (compact, key-sorted JSON)."""
    text = json.dumps(canonical_form(candidate), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_LENGTH]


def canonical_graph(candidate) -> nx.DiGraph:
    """The layered weighted graph of the canonically *rescaled* (not reordered) point.

    Nodes: ``("in", j)`` and ``("out", j)`` (labelled, not permutable) and ``(l, k)`` for hidden units, with
    attributes ``role`` (what an isomorphism must preserve) and ``bias`` (exact, file syntax). Edges carry ``weight``.
    Isomorphism with ``node_match``/``edge_match`` on these attributes is the relation the stable id encodes
    (for a fixed problem).
    """
    problem = candidate.problem
    net = problem.network
    point = rescale_canonically(net, candidate.point, problem.loss)
    L = net.depth
    G = nx.DiGraph()

    def node(l, k):
        return ("in", k) if l == 0 else ("out", k) if l == L else (l, k)

    for j in range(net.widths[0]):
        G.add_node(node(0, j), role=("in", j), bias=None)
    for l, layer in enumerate(point.layers, start=1):
        for k, row in enumerate(layer.W):
            role = ("out", k) if l == L else ("hidden", l)
            bias = None if layer.b is None else str(format_number(layer.b[k]))
            G.add_node(node(l, k), role=role, bias=bias)
            for j, w in enumerate(row):
                if w != 0:
                    G.add_edge(node(l - 1, j), node(l, k), weight=str(format_number(w)))
    return G


def same_minimum_by_graph(a, b) -> bool:
    """Isomorphism check of :func:`canonical_graph` (for tests and audits; exponential in the worst case)."""
    return nx.is_isomorphic(canonical_graph(a), canonical_graph(b),
                            node_match=lambda x, y: x["role"] == y["role"] and x["bias"] == y["bias"],
                            edge_match=lambda x, y: x["weight"] == y["weight"])
