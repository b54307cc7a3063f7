"""The candidate file ``spurious.candidate/1``: reading, validating and writing it exactly.

A candidate = one training problem + one point (+ an optional lower-loss witness point) + provenance. It is what
constructions return, what verifiers read, what the catalog stores, and what users write by hand. Validation
happens here, once, at the boundary; error messages name the offending field precisely.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace

from .activations import parse_activation
from .errors import InputError
from .network import Network, Point, parse_matrix
from .rationals import format_number, parse_number
from .problem import FiniteData, GaussianData, Loss, Problem

__all__ = ["Candidate", "FORMAT", "ENTRY_FORMAT", "load_candidate", "loads_candidate", "load_document",
           "loads_document", "candidate_from_json"]

FORMAT = "spurious.candidate/1"
# an exported catalog entry (``spurious catalog export --format json``): its ``candidate`` member is a candidate
ENTRY_FORMAT = "spurious.catalog-entry/1"
MAX_FILE_BYTES = 512 * 1024 * 1024
_TOP_KEYS = {"format", "network", "loss", "data", "point", "witness", "meta"}


@dataclass(frozen=True)
class Candidate:
    """problem + point (+ witness) + meta (construction, reference, params, notes)."""

    problem: Problem
    point: Point
    witness: Point | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.point.check_fits(self.problem.network, "point")
        if self.witness is not None:
            self.witness.check_fits(self.problem.network, "witness")
            for l, (a, b, tr) in enumerate(zip(self.point.layers, self.witness.layers, self.problem.network.trainable),
                                           start=1):
                if not tr and a != b:
                    raise InputError(f"witness: layer {l} is not trainable, so its values must equal the point's")

    @property
    def network(self) -> Network:
        return self.problem.network

    def with_point(self, point: Point) -> "Candidate":
        return replace(self, point=point)

    def to_json(self) -> dict:
        p = self.problem
        out = {"format": FORMAT, "network": p.network.to_json(), "loss": p.loss.to_json()}
        if p.finite:
            out["data"] = {"X": [[format_number(v) for v in row] for row in p.data.X],
                           "Y": [[format_number(v) for v in row] for row in p.data.Y]}
        else:
            out["data"] = {"distribution": "standard_gaussian",
                           "teacher": {"network": p.data.teacher_network.to_json(),
                                       "point": p.data.teacher_point.to_json()}}
        out["point"] = self.point.to_json()
        if self.witness is not None:
            out["witness"] = self.witness.to_json()
        if self.meta:
            out["meta"] = self.meta
        return out

    def dumps(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_json(), indent=indent, allow_nan=False)

    def save(self, path) -> None:
        """Write the file atomically (a temporary file renamed into place): no half-written candidate."""
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(self.dumps())
            fh.write("\n")
        os.replace(tmp, path)


def _reject_constant(name):
    raise InputError(f"number is not finite: {name} (NaN and infinities are not allowed)")


def loads_document(text: str, source: str = "<string>"):
    """(candidate, entry) from a candidate document or an exported catalog entry (``entry`` is then the whole
    parsed entry, with its stored ``certificate``; None for a plain candidate file)."""
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{source}: not valid JSON ({exc})") from None
    entry = obj if isinstance(obj, dict) and obj.get("format") == ENTRY_FORMAT else None
    return candidate_from_json(obj), entry


def loads_candidate(text: str, source: str = "<string>") -> Candidate:
    return loads_document(text, source)[0]


def load_document(path):
    """Read a candidate file or an exported catalog entry: (candidate, entry or None), see :func:`loads_document`;
    any problem raises :class:`InputError` with a one-line message."""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise InputError(f"{path}: file is {size} bytes, more than the {MAX_FILE_BYTES} allowed")
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (is this a candidate JSON file?)") from None
    return loads_document(text, str(path))


def load_candidate(path) -> Candidate:
    """Read and validate a candidate file (or the candidate of an exported catalog entry); any problem raises
    :class:`InputError` with a one-line message."""
    return load_document(path)[0]


def _flags(obj, L, name):
    if obj is None:
        return (True,) * L
    if isinstance(obj, bool):
        return (obj,) * L
    if isinstance(obj, list) and len(obj) == L and all(isinstance(b, bool) for b in obj):
        return tuple(obj)
    raise InputError(f"network.{name}: expected true/false or a list of {L} booleans (one per layer l = 1..{L})")


def network_from_json(obj, where="network") -> Network:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected an object with 'widths' and 'activation'")
    extra = set(obj) - {"widths", "activation", "bias", "trainable"}
    if extra:
        raise InputError(f"{where}: unexpected key(s) {sorted(extra)}")
    widths = obj.get("widths")
    if not isinstance(widths, list) or len(widths) < 2:
        raise InputError(f"{where}.widths: expected a list [d_0, ..., d_L] of at least two positive integers")
    if len(widths) > 1000:
        raise InputError(f"{where}.widths: absurd depth ({len(widths) - 1} layers)")
    widths = tuple(widths)
    L = len(widths) - 1
    if L > 1 and "activation" not in obj:
        raise InputError(f"{where}: missing 'activation' (the network has {L - 1} hidden layer(s))")
    spec = obj.get("activation", "linear")
    if isinstance(spec, list):
        if len(spec) != L - 1:
            raise InputError(f"{where}.activation: a list needs one entry per hidden layer ({L - 1}), got {len(spec)}")
        acts = tuple(parse_activation(s, f"{where}.activation[{i}]") for i, s in enumerate(spec))
    else:
        acts = (parse_activation(spec, f"{where}.activation"),) * (L - 1)
    return Network(widths, acts, _flags(obj.get("bias", True), L, "bias"),
                   _flags(obj.get("trainable"), L, "trainable"))


def _loss_from_json(obj) -> Loss:
    if obj is None:
        return Loss()
    if not isinstance(obj, dict):
        raise InputError("loss: expected an object like {\"name\": \"squared\", \"reduction\": \"mean\"}")
    extra = set(obj) - {"name", "reduction", "weight_decay"}
    if extra:
        raise InputError(f"loss: unexpected key(s) {sorted(extra)}")
    wd = parse_number(obj.get("weight_decay", 0), "loss.weight_decay")
    return Loss(obj.get("name", "squared"), obj.get("reduction", "mean"), wd)


def _data_from_json(obj, network: Network):
    if not isinstance(obj, dict):
        raise InputError("data: expected an object with 'X' and 'Y', or a 'distribution'")
    if "distribution" in obj:
        if obj["distribution"] != "standard_gaussian":
            raise InputError(f"data.distribution: unknown {obj['distribution']!r}; known: standard_gaussian")
        teacher = obj.get("teacher")
        if not isinstance(teacher, dict) or "network" not in teacher or "point" not in teacher:
            raise InputError("data.teacher: expected an object with 'network' and 'point'")
        tnet = network_from_json(teacher["network"], "data.teacher.network")
        return GaussianData(tnet, Point.from_json(tnet, teacher["point"], "data.teacher.point"))
    for key in ("X", "Y"):
        if key not in obj:
            raise InputError(f"data: missing '{key}'")
    extra = set(obj) - {"X", "Y"}
    if extra:
        raise InputError(f"data: unexpected key(s) {sorted(extra)}")
    X = parse_matrix(obj["X"], None, network.widths[0], "data.X")
    Y = parse_matrix(obj["Y"], len(X), network.widths[-1], "data.Y")
    return FiniteData(X, Y)


def candidate_from_json(obj) -> Candidate:
    """Validate a parsed JSON document and build the :class:`Candidate`."""
    if not isinstance(obj, dict):
        raise InputError("candidate: expected a JSON object")
    fmt = obj.get("format")
    if fmt == ENTRY_FORMAT:  # an exported catalog entry carries its candidate (a plain candidate, not an entry)
        inner = obj.get("candidate")
        if not isinstance(inner, dict) or inner.get("format") != FORMAT:
            raise InputError(f"catalog entry {obj.get('id')}: 'candidate' must be a {FORMAT!r} object")
        try:
            return candidate_from_json(inner)
        except InputError as exc:
            raise InputError(f"catalog entry {obj.get('id')}: candidate: {exc}") from None
    if fmt != FORMAT:
        raise InputError(f"format: expected {FORMAT!r} (or an exported {ENTRY_FORMAT!r}), got {fmt!r}")
    extra = set(obj) - _TOP_KEYS
    if extra:
        raise InputError(f"candidate: unexpected key(s) {sorted(extra)}")
    for key in ("network", "data", "point"):
        if key not in obj:
            raise InputError(f"candidate: missing '{key}'")
    network = network_from_json(obj["network"])
    problem = Problem(network, _data_from_json(obj["data"], network), _loss_from_json(obj.get("loss")))
    point = Point.from_json(network, obj["point"], "point")
    witness = obj.get("witness")
    witness = None if witness is None else Point.from_json(network, witness, "witness")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise InputError("meta: expected an object")
    return Candidate(problem, point, witness, meta)
