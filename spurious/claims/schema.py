"""Claims as data: one TOML file per claim, validated here.

A claim file has: ``id``, ``title``, ``statement``, optional ``expected`` (for the shipped claims' tests),
``[source]`` (paper, theorem, read = how much of the paper could be read, note), ``[hypotheses]`` (see
:data:`HYPOTHESIS_KEYS`), ``[conclusion]`` (``kind`` in :data:`CONCLUSIONS`) and optional ``[[try]]`` tables
(a construction family and its parameters to try when looking for a counterexample or a reproduction).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Claim", "load_claim", "shipped_claims", "CONCLUSIONS", "HYPOTHESIS_KEYS", "width_bound", "TEMPLATE"]

CONCLUSIONS = {
    "no_spurious_local_min": "every local minimum is global",
    "no_strict_spurious_local_min": "every strict local minimum is global",
    "spurious_local_min_exists": "a spurious local minimum exists",
    "strict_spurious_local_min_exists": "a strict spurious local minimum exists",
    "no_worse_than_linear": "every local minimum is no worse than the affine least-squares fit",
}

ACTIVATION_CLASSES = {"any_continuous", "relu_like", "piecewise_linear", "smooth", "polynomial"}

HYPOTHESIS_KEYS = {
    "depth": "number of weight layers L (one hidden layer: 2)",
    "depth_min": "at least this many weight layers",
    "activation": "list of activation names or classes (any_continuous, relu_like, piecewise_linear, smooth, polynomial)",
    "hidden_width_min": "every hidden layer at least this wide (integer or expression in N and d, e.g. 'N-1', '2d')",
    "hidden_width_max": "every hidden layer at most this wide",
    "last_hidden_width_min": "the last hidden layer at least this wide",
    "output_dim": "output width d_L",
    "input_dim": "input width d_0",
    "bias": "true (biases required), false (no biases), omitted: any",
    "data": "list of data assumptions: finite, distinct, distinct_coordinate, gaussian",
    "output_layer_fixed": "the output layer is not trainable (otherwise every layer must be trainable)",
    "output_signs_min": "the fixed output weights have at least this many positive and this many negative entries",
    "weight_decay": "true/false: whether weight decay is allowed (default false)",
    "untestable": "hypotheses the tool cannot check, stated plainly (the claim is then out of scope)",
}

DATA_ASSUMPTIONS = ("finite", "distinct", "distinct_coordinate", "gaussian")

# printed by `spurious claims template`; `spurious claims check --file` accepts it as it is (tests/test_claims_doc.py)
TEMPLATE = """\
# A claim from a paper, as data (documented in docs/claims.md). Check it with
#   spurious claims check --file this.toml
# Answers: refuted (a certified counterexample meets every hypothesis), consistent (what was tried is listed),
# out_of_scope (a hypothesis the tool cannot test, named).

id = "my-claim"                      # a short name, letters, digits and dashes
title = "Wide one-hidden-layer ReLU networks have no spurious local minima"
statement = "If the hidden layer has at least N units, every local minimum of the squared loss is global."

[source]
paper = "Author, Title, Venue Year (arXiv:....)"
theorem = "Theorem 1"
read = "full"                        # how much of the paper you could read: full, abstract only, ...
# note = "anything else"

[hypotheses]                         # every key is optional; omitted means: any
depth = 2                            # weight layers L (one hidden layer: 2); or depth_min = 2
activation = ["relu"]                # names (relu, tanh, ...) or classes: any_continuous, relu_like,
                                     #   piecewise_linear, smooth, polynomial
hidden_width_min = "N"               # an integer or N (samples) / d (input width): "N-1", "2d", "2*d+1"
# hidden_width_max = "N-1"
# last_hidden_width_min = "N"
output_dim = 1                       # d_L
# input_dim = 1                      # d_0
# bias = true                        # true: biases required; false: no biases
data = ["distinct"]                  # finite, distinct, distinct_coordinate, gaussian
# output_layer_fixed = true          # the output layer is not trainable
# output_signs_min = 1               # fixed output weights with at least this many of each sign
# weight_decay = false
# untestable = ["the data lie on a sphere"]   # named; makes the claim out of scope

[conclusion]
kind = "no_spurious_local_min"       # no_spurious_local_min, no_strict_spurious_local_min,
                                     # spurious_local_min_exists, strict_spurious_local_min_exists,
                                     # no_worse_than_linear

# Constructions to try when the catalog holds no counterexample (spurious constructions lists the families).
[[try]]
family = "yun-lift"
params = { widths = [1, 3, 1], activation = "relu", n = 3 }
"""

_BOUND = re.compile(r"^\s*(\d+)?\s*\*?\s*([Nd])?\s*(?:([+-])\s*(\d+))?\s*$")


def width_bound(text, N, d) -> int:
    """Evaluate a width bound like 3, 'N', 'N-1', '2d', '2*d+1' (no eval: a fixed grammar)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    m = _BOUND.match(str(text))
    if not m or not (m.group(1) or m.group(2)):
        raise InputError(f"width bound {text!r}: expected an integer or an expression like 'N-1' or '2d'")
    coef = int(m.group(1)) if m.group(1) else 1
    base = {"N": N, "d": d, None: None}[m.group(2)]
    value = coef * base if base is not None else coef
    if m.group(3):
        value += int(m.group(4)) if m.group(3) == "+" else -int(m.group(4))
    return value


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    statement: str
    source: dict
    hypotheses: dict
    conclusion: str
    tries: tuple = ()
    expected: str | None = None
    path: str = ""

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "statement": self.statement, "source": self.source,
                "hypotheses": self.hypotheses, "conclusion": self.conclusion,
                "tries": [dict(t) for t in self.tries]}


def claim_from_dict(obj: dict, where: str) -> Claim:
    for key in ("id", "title", "source", "hypotheses", "conclusion"):
        if key not in obj:
            raise InputError(f"{where}: missing '{key}'")
    extra = set(obj) - {"id", "title", "statement", "expected", "source", "hypotheses", "conclusion", "try"}
    if extra:
        raise InputError(f"{where}: unexpected key(s) {sorted(extra)}")
    hyp = obj["hypotheses"]
    if not isinstance(hyp, dict):
        raise InputError(f"{where}: [hypotheses] must be a table")
    unknown = set(hyp) - set(HYPOTHESIS_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown hypothesis key(s) {sorted(unknown)}; known: {', '.join(HYPOTHESIS_KEYS)}")
    for key in ("hidden_width_min", "hidden_width_max", "last_hidden_width_min", "output_signs_min"):
        if key in hyp:
            width_bound(hyp[key], 1, 1)  # validates the syntax
    acts = hyp.get("activation", ["any_continuous"])
    if not isinstance(acts, list) or not all(isinstance(a, str) for a in acts):
        raise InputError(f"{where}: hypotheses.activation must be a list of names")
    from ..activations import KNOWN_ACTIVATIONS

    bad = [a for a in acts if a not in ACTIVATION_CLASSES and a not in KNOWN_ACTIVATIONS]
    if bad:
        raise InputError(f"{where}: unknown activation or class {bad}; classes: {sorted(ACTIVATION_CLASSES)}")
    data = hyp.get("data", [])
    if not isinstance(data, list) or any(a not in DATA_ASSUMPTIONS for a in data):
        raise InputError(f"{where}: hypotheses.data must be a list of {', '.join(DATA_ASSUMPTIONS)}")
    conclusion = obj["conclusion"]
    kind = conclusion.get("kind") if isinstance(conclusion, dict) else None
    if kind not in CONCLUSIONS:
        raise InputError(f"{where}: conclusion.kind must be one of {', '.join(CONCLUSIONS)}")
    tries = obj.get("try", [])
    if not isinstance(tries, list) or not all(isinstance(t, dict) and "family" in t for t in tries):
        raise InputError(f"{where}: each [[try]] needs a 'family'")
    return Claim(id=str(obj["id"]), title=str(obj["title"]), statement=str(obj.get("statement", "")),
                 source=dict(obj["source"]), hypotheses=dict(hyp), conclusion=kind,
                 tries=tuple({"family": t["family"], "params": dict(t.get("params", {}))} for t in tries),
                 expected=obj.get("expected"), path=where)


def load_claim(path) -> Claim:
    try:
        with open(path, "rb") as fh:
            obj = tomllib.load(fh)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    return claim_from_dict(obj, str(path))


def shipped_claims() -> list:
    folder = Path(__file__).parent / "data"
    return [load_claim(p) for p in sorted(folder.glob("*.toml"))]

