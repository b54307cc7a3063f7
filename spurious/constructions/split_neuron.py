"""Split a hidden unit of a certified narrow minimum (Fukumizu-Amari 2000; the embedding principle of Zhang et al.).

Fukumizu and Amari, "Local minima and plateaus in hierarchical structures of multilayer perceptrons", Neural
Networks 13 (2000); Zhang, Zhang, Luo, Xu, "Embedding principle of loss landscape of deep neural networks",
NeurIPS 2021; shared/research/constructions.md 11. From a critical point of width m, unit j = (w*, v*) is replaced by
two copies with incoming weights w* and outgoing weights lam v*, (1 - lam) v*: same function, same loss, again
critical. With B = v* sum_i dloss/df(x_i) sigma''(w* . x~_i) x~_i x~_i^T, the loss near the split point is
L_parent(theta) + (1/2) lam (1 - lam) eta^T B eta + O(|eta|^3) (eta = difference of the two copies' incoming
weights), so lam (1 - lam) B > 0 (with a parent minimum) gives local minima and an indefinite lam (1 - lam) B gives
saddles. The verdict is NOT taken from this module: :mod:`spurious.verifiers.structured` (argument "split-neuron")
re-derives the parent from the candidate, re-certifies it, and decides.

Parents: ``single-neuron`` (d = 1; no hidden bias, output fixed to 1, so B is a scalar: here B < 0, so lam in (0,1)
gives saddles and lam outside [0, 1] minima: strict ones, since the fixed output layer leaves no flat lam-line),
``narrow-strict`` (tanh, width 2 with biases: B is indefinite, every split is a saddle), or a Candidate object.
Lineage: meta["lineage"] holds the parent's construction, parameters and SHA-256 of its canonical JSON.
"""

from __future__ import annotations

import hashlib
import json


from ..candidate import Candidate
from ..errors import InputError
from ..network import Network, Point
from ..problem import Problem
from . import Param
from .common import int_param, rational_param

__all__ = ["split_neuron", "split_point", "FAMILY", "REFERENCE", "parent_hash"]

REFERENCE = ("Fukumizu and Amari, Local minima and plateaus in hierarchical structures of multilayer perceptrons, "
             "Neural Networks 13 (2000); Zhang, Zhang, Luo, Xu, Embedding principle of loss landscape of deep "
             "neural networks, NeurIPS 2021")


def split_point(network, point, unit, lam):
    """(child network, child point): unit ``unit`` duplicated as units unit and m (appended), outputs lam, 1 - lam."""
    (W1, b1), (W2, b2) = [(L.W, L.b) for L in point.layers]
    m = network.widths[1]
    W1n = [list(r) for r in W1] + [list(W1[unit])]
    b1n = None if b1 is None else list(b1) + [b1[unit]]
    W2n = []
    for row in W2:
        row = list(row)
        v = row[unit]
        row[unit] = lam * v
        W2n.append(row + [(1 - lam) * v])
    child_net = Network((network.widths[0], m + 1, network.widths[2]), network.activations, network.bias,
                        network.trainable)
    return child_net, Point.from_arrays([W1n, W2n], [b1n, None if b2 is None else list(b2)])


def parent_hash(candidate) -> str:
    return hashlib.sha256(json.dumps(candidate.to_json(), sort_keys=True).encode()).hexdigest()


def _parent(parent):
    if isinstance(parent, Candidate):
        return parent
    if parent == "single-neuron":
        from .single_neuron import single_neuron
        return single_neuron(d=1, n=2, index=[1])
    if parent == "narrow-strict":
        from .narrow_strict import narrow_strict
        return narrow_strict(activation="tanh", seed=1)
    raise InputError(f"split-neuron: parent must be 'single-neuron', 'narrow-strict' or a Candidate, got {parent!r}")


def split_neuron(*, parent="single-neuron", unit=0, lam="3/2"):
    """The width-(m+1) point obtained by splitting unit ``unit`` of a narrow minimum with ratio ``lam``."""
    par = _parent(parent)
    net = par.network
    if net.depth != 2 or net.widths[2] != 1 or net.activations[0].kind != "smooth":
        raise InputError("split-neuron: the parent needs one hidden layer, a scalar output and a smooth activation")
    unit = int_param(unit, "unit", 0, net.widths[1] - 1)
    lam = rational_param(lam, "lam")
    if lam == 0 or lam == 1:
        raise InputError("split-neuron: lam not in {0, 1} fails (lam = 0 or 1 is the degenerate split)")
    if par.point.layers[1].W[0][unit] == 0:
        raise InputError("split-neuron: the split unit's outgoing weight v* != 0 fails")
    child_net, child = split_point(net, par.point, unit, lam)
    problem = Problem(child_net, par.problem.data, par.problem.loss)
    witness = None if par.witness is None else split_point(net, par.witness, unit, lam)[1]
    m = net.widths[1]
    meta = {"construction": "split-neuron", "reference": REFERENCE,
            "params": {"parent": parent if isinstance(parent, str) else "candidate", "unit": unit,
                       "lam": str(lam)},
            "lineage": {"relation": "split", "parent_construction": par.meta.get("construction"),
                        "parent_params": par.meta.get("params"), "parent_sha256": parent_hash(par)},
            "notes": (f"unit {unit} of the width-{m} parent split into units {unit} and {m} with outgoing "
                      f"weights lam v*, (1 - lam) v*, lam = {lam}; witness: the parent's witness split alike"),
            "proof": {"argument": "split-neuron", "units": [unit, m], "lam": str(lam)}}
    return Candidate(problem, child, witness, meta)


FAMILY = dict(
    name="split-neuron",
    reference=REFERENCE,
    activations="sigmoid, tanh (any smooth activation of a certified parent)",
    architectures="d-(m+1)-1 from a certified d-m-1 minimum (one unit duplicated, outgoing weight split)",
    strict="decided per point: local minima (non-strict on the lam-segment; strict when the output layer is "
           "fixed) or saddles, by the sign of lam (1 - lam) B (structured proof)",
    summary="Fukumizu-Amari unit splitting of a certified narrow minimum; lineage recorded",
    params=(Param("parent", "single-neuron", "single-neuron | narrow-strict", "the certified narrow minimum"),
            Param("unit", 0, "0 <= unit < m", "the unit to split"),
            Param("lam", "3/2", "lam not in {0, 1}", "outgoing weight ratio")),
    function=split_neuron,
)
