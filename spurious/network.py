"""Architecture of a fully connected feed-forward network, and points in its parameter space.

The network computes h_0 = x, h_l = sigma_l(W_l h_{l-1} + b_l) for l = 1..L-1, f(x) = W_L h_{L-1} + b_L, with W_l of
shape d_l x d_{l-1} (candidate format ``spurious.candidate/1``).

Flattening order (used everywhere: gradients, Hessians, directions): layer by layer from the input, for each
*trainable* layer first W_l row-major (W_l[0,0], W_l[0,1], ...), then b_l if the layer has a bias. Layers marked not
trainable are constants of the problem and have no coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from .activations import Activation
from .errors import InputError
from .rationals import fmpq_to_float, format_number, parse_number, to_fmpq

__all__ = ["Network", "Layer", "Point", "MAX_PARAMETERS"]

MAX_PARAMETERS = 5_000_000
MAX_WIDTH = 100_000


@dataclass(frozen=True)
class Network:
    """Widths d_0..d_L, one activation per hidden layer, bias and trainable flags per layer l = 1..L."""

    widths: tuple
    activations: tuple
    bias: tuple
    trainable: tuple

    def __post_init__(self):
        L = len(self.widths) - 1
        if L < 1:
            raise InputError(f"network.widths: need at least input and output widths, got {list(self.widths)}")
        for i, d in enumerate(self.widths):
            if not isinstance(d, int) or isinstance(d, bool) or d < 1 or d > MAX_WIDTH:
                raise InputError(f"network.widths[{i}]: expected an integer from 1 to {MAX_WIDTH}, got {d!r}")
        if not all(isinstance(a, Activation) for a in self.activations):
            raise InputError("network.activation: expected Activation objects (use make_activation or a name)")
        if len(self.activations) != L - 1:
            raise InputError(f"network.activation: expected {L - 1} activation(s) (one per hidden layer), "
                             f"got {len(self.activations)}")
        for name, flags in (("bias", self.bias), ("trainable", self.trainable)):
            if len(flags) != L or not all(isinstance(f, bool) for f in flags):
                raise InputError(f"network.{name}: expected true/false or a list of {L} booleans (one per layer)")
        if sum(self.widths[l] * (self.widths[l - 1] + 1) for l in range(1, L + 1)) > MAX_PARAMETERS:
            raise InputError(f"network: more than {MAX_PARAMETERS} parameters; refusing an absurd size")

    @classmethod
    def make(cls, widths, activation, bias=True, trainable=True) -> "Network":
        """Convenience constructor: one activation (or a list), bias/trainable as a flag or a list of flags."""
        from .activations import make_activation

        widths = tuple(widths)
        L = len(widths) - 1
        acts = tuple(activation) if isinstance(activation, (list, tuple)) else (activation,) * max(L - 1, 0)
        acts = tuple(make_activation(a) if isinstance(a, str) else a for a in acts)
        flags = lambda f: tuple(f) if isinstance(f, (list, tuple)) else (f,) * L  # noqa: E731
        return cls(widths, acts, flags(bias), flags(trainable))

    @property
    def depth(self) -> int:
        """L, the number of weight layers."""
        return len(self.widths) - 1

    def layer_shapes(self):
        """[(d_l, d_{l-1}, has_bias)] for l = 1..L."""
        return [(self.widths[l], self.widths[l - 1], self.bias[l - 1]) for l in range(1, self.depth + 1)]

    def layer_offsets(self):
        """Start index of each layer's coordinates in the flat vector (None for non-trainable layers), and P."""
        offsets, pos = [], 0
        for (dout, din, has_b), tr in zip(self.layer_shapes(), self.trainable):
            if tr:
                offsets.append(pos)
                pos += dout * din + (dout if has_b else 0)
            else:
                offsets.append(None)
        return offsets, pos

    @property
    def num_params(self) -> int:
        """P, the number of trainable coordinates."""
        return self.layer_offsets()[1]

    def parameter_names(self):
        """Readable name of each flat coordinate, e.g. ``W1[0,2]`` or ``b2[1]`` (layers counted from 1)."""
        names = []
        for l, ((dout, din, has_b), tr) in enumerate(zip(self.layer_shapes(), self.trainable), start=1):
            if not tr:
                continue
            names += [f"W{l}[{k},{j}]" for k in range(dout) for j in range(din)]
            if has_b:
                names += [f"b{l}[{k}]" for k in range(dout)]
        return names

    def to_json(self) -> dict:
        acts = [a.to_json() for a in self.activations]
        out = {"widths": list(self.widths)}
        out["activation"] = acts[0] if acts and all(a == self.activations[0] for a in self.activations) else acts
        out["bias"] = self.bias[0] if len(set(self.bias)) == 1 else list(self.bias)
        if not all(self.trainable):
            out["trainable"] = list(self.trainable)
        return out

    def describe(self) -> str:
        acts = ", ".join(sorted({str(a) for a in self.activations})) or "none"
        return f"widths {'-'.join(map(str, self.widths))}, activation {acts}"


@dataclass(frozen=True)
class Layer:
    """Weights of one layer as exact rationals: W is a tuple of rows, b a tuple (or None without bias)."""

    W: tuple
    b: tuple | None


class Point:
    """A point in parameter space: one :class:`Layer` per layer l = 1..L, exact rationals throughout."""

    __slots__ = ("layers",)

    def __init__(self, layers):
        self.layers = tuple(layers)

    def __eq__(self, other):
        return isinstance(other, Point) and self.layers == other.layers

    def __hash__(self):
        return hash(self.layers)

    def __repr__(self):
        return f"Point({len(self.layers)} layers)"

    # construction -----------------------------------------------------------------
    @classmethod
    def from_arrays(cls, Ws, bs) -> "Point":
        """From per-layer arrays of numbers (ints, Fractions, fmpq or floats, floats taken exactly)."""
        layers = []
        for W, b in zip(Ws, bs):
            Wq = tuple(tuple(to_fmpq(x) for x in row) for row in (W.tolist() if hasattr(W, "tolist") else W))
            bq = None if b is None else tuple(to_fmpq(x) for x in (b.tolist() if hasattr(b, "tolist") else b))
            layers.append(Layer(Wq, bq))
        return cls(layers)

    @classmethod
    def from_json(cls, network: Network, obj, where: str = "point") -> "Point":
        if not isinstance(obj, list):
            raise InputError(f"{where}: expected a list with one object per layer ({network.depth} layers)")
        if len(obj) != network.depth:
            raise InputError(f"{where}: expected {network.depth} layer object(s), got {len(obj)}")
        layers = []
        for l, ((dout, din, has_b), entry) in enumerate(zip(network.layer_shapes(), obj), start=1):
            w = f"{where}[{l - 1}] (layer {l})"
            if not isinstance(entry, dict):
                raise InputError(f"{w}: expected an object with 'W'" + (" and 'b'" if has_b else ""))
            if "W" not in entry:
                raise InputError(f"{w}: missing 'W' (shape {dout} x {din})")
            W = _parse_matrix(entry["W"], dout, din, f"{w}.W")
            if has_b:
                if "b" not in entry:
                    raise InputError(f"{w}: missing 'b' (length {dout}); the network says this layer has a bias")
                b = _parse_vector(entry["b"], dout, f"{w}.b")
            else:
                if "b" in entry:
                    raise InputError(f"{w}: has 'b' but the network says this layer has no bias")
                b = None
            extra = set(entry) - {"W", "b"}
            if extra:
                raise InputError(f"{w}: unexpected key(s) {sorted(extra)}")
            layers.append(Layer(W, b))
        return cls(layers)

    def to_json(self) -> list:
        out = []
        for layer in self.layers:
            entry = {"W": [[format_number(x) for x in row] for row in layer.W]}
            if layer.b is not None:
                entry["b"] = [format_number(x) for x in layer.b]
            out.append(entry)
        return out

    # flat vectors -------------------------------------------------------------------
    def flatten(self, network: Network) -> list:
        """Trainable coordinates in the documented order, as exact ``fmpq``."""
        out = []
        for layer, tr in zip(self.layers, network.trainable):
            if tr:
                for row in layer.W:
                    out.extend(row)
                if layer.b is not None:
                    out.extend(layer.b)
        return out

    def flatten_float(self, network: Network) -> np.ndarray:
        return np.array([fmpq_to_float(x) for x in self.flatten(network)], dtype=np.float64)

    def with_flat(self, network: Network, values) -> "Point":
        """A new point whose trainable coordinates are ``values`` (exact; floats are taken exactly)."""
        values = [to_fmpq(v) for v in values]
        if len(values) != network.num_params:
            raise InputError(f"expected {network.num_params} coordinates, got {len(values)}")
        it = iter(values)
        layers = []
        for layer, tr in zip(self.layers, network.trainable):
            if not tr:
                layers.append(layer)
                continue
            W = tuple(tuple(next(it) for _ in row) for row in layer.W)
            b = None if layer.b is None else tuple(next(it) for _ in layer.b)
            layers.append(Layer(W, b))
        return Point(layers)

    def shift(self, network: Network, direction, step) -> "Point":
        """point + step * direction (direction in flat coordinates)."""
        x = self.flatten(network)
        step = to_fmpq(step)
        return self.with_flat(network, [a + step * to_fmpq(d) for a, d in zip(x, direction)])

    def arrays_float(self):
        """Per-layer float64 (W, b) numpy arrays (b None without bias)."""
        return [(np.array([[fmpq_to_float(x) for x in row] for row in L.W], dtype=np.float64).reshape(len(L.W), -1),
                 None if L.b is None else np.array([fmpq_to_float(x) for x in L.b], dtype=np.float64))
                for L in self.layers]

    def check_fits(self, network: Network, where: str = "point"):
        if len(self.layers) != network.depth:
            raise InputError(f"{where}: expected {network.depth} layers, got {len(self.layers)}")
        for l, (layer, (dout, din, has_b)) in enumerate(zip(self.layers, network.layer_shapes()), start=1):
            if len(layer.W) != dout or any(len(r) != din for r in layer.W):
                raise InputError(f"{where}: layer {l} W must be {dout} x {din}")
            if has_b != (layer.b is not None) or (has_b and len(layer.b) != dout):
                raise InputError(f"{where}: layer {l} bias must be " + (f"of length {dout}" if has_b else "absent"))


def _parse_vector(obj, n, where):
    if not isinstance(obj, list):
        raise InputError(f"{where}: expected a list of {n} numbers, got {type(obj).__name__}")
    if len(obj) != n:
        raise InputError(f"{where}: expected {n} entries, got {len(obj)}")
    return tuple(parse_number(v, f"{where}[{i}]") for i, v in enumerate(obj))


def _parse_matrix(obj, rows, cols, where):
    if not isinstance(obj, list):
        raise InputError(f"{where}: expected a {rows} x {cols} list of rows, got {type(obj).__name__}")
    if len(obj) != rows:
        raise InputError(f"{where}: expected {rows} rows (shape {rows} x {cols}), got {len(obj)}")
    return tuple(_parse_vector(r, cols, f"{where}[{i}]") for i, r in enumerate(obj))


def parse_matrix(obj, rows, cols, where):
    """Public alias: a rows x cols matrix of exact numbers (rows may be None to accept any count)."""
    if rows is None:
        if not isinstance(obj, list):
            raise InputError(f"{where}: expected a list of rows, got {type(obj).__name__}")
        rows = len(obj)
    return _parse_matrix(obj, rows, cols, where)
