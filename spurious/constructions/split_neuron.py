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
from ..errors import InputError, SpuriousError
from ..network import Network, Point
from ..problem import Problem
from . import Param, Shape
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


PARENTS = ("single-neuron", "narrow-strict")


def _parent(parent, widths=None, activation=None):
    """The parent candidate: a Candidate as given, or the named family built for ``widths`` minus one hidden unit
    (``auto``: the first of PARENTS whose declared range covers it; without widths the single-neuron 1-1-1 minimum)."""
    from . import construct, get_family

    if isinstance(parent, Candidate):
        return parent
    if parent not in ("auto",) + PARENTS:
        raise InputError(f"split-neuron: parent must be 'auto', 'single-neuron', 'narrow-strict' or a Candidate, "
                         f"got {parent!r}")
    if widths is None:
        if parent in ("auto", "single-neuron"):
            return construct("single-neuron", d=1, n=2, index=[1])
        return construct("narrow-strict", activation=activation or "tanh", seed=1)
    d, m = widths[0], widths[1]
    target = (d, m - 1, 1)
    names = PARENTS if parent == "auto" else (parent,)
    reasons = []
    for name in names:
        if get_family(name).covers(target, activation):
            try:
                return construct(name, widths=target, activation=activation)
            except SpuriousError as exc:  # e.g. narrow-strict's float search found no minimum: try the next
                reasons.append(str(exc))
        else:
            reasons.append(get_family(name).range_violation(target, activation))
    reason = "; ".join(reasons)
    raise InputError(f"split-neuron: no parent for widths {list(widths)} (the parent has widths {list(target)}): "
                     f"{reason}")


def covers(widths, activation):
    """A parent family covers the widths minus one hidden unit (the declared ranges are checked by Family)."""
    from . import get_family

    target = (widths[0], widths[1] - 1, 1)
    return any(get_family(n).covers(target, activation) for n in PARENTS)


def split_neuron(*, parent="auto", unit=0, lam="3/2", widths=None, activation=None):
    """The width-(m+1) point obtained by splitting unit ``unit`` of a narrow minimum with ratio ``lam``.

    ``widths`` (d, m + 1, 1) and ``activation`` choose the child's architecture: the parent is built for
    (d, m, 1) (see :func:`_parent`)."""
    if widths is not None:
        widths = tuple(int(w) for w in widths)
    par = _parent(parent, widths, activation)
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
            "params": {"parent": par.meta.get("construction") if isinstance(parent, str) else "candidate", "unit": unit,
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
    params=(Param("widths", None, "d,m+1,1: the parent is built for d,m,1", "architecture of the split network",
                  kind="widths", shape=Shape(hidden=(2, None))),
            Param("activation", None, "smooth", "hidden activation (of the parent)", kind="activation",
                  choices=("smooth",)),
            Param("parent", "auto", "auto | single-neuron | narrow-strict", "the certified narrow minimum (auto: "
                  "the first that covers widths minus one unit; single-neuron 1-1-1 without widths)", kind="choice",
                  choices=("auto",) + PARENTS),
            Param("unit", 0, "0 <= unit < m", "the unit to split", kind="int", min=0, max="d_1 - 2"),
            Param("lam", "3/2", "lam not in {0, 1}", "outgoing weight ratio", kind="rational")),
    function=split_neuron,
    covers=covers,
)
