"""Export catalog entries: JSON (candidate + certificate), npz (numpy arrays, no pickle), torch state_dict.

- JSON: the ``spurious.catalog-entry/1`` document (:meth:`Entry.to_json`); ``spurious catalog import`` reads it back,
  and its ``candidate`` member is a candidate file for ``spurious verify``.
- npz: float64 arrays ``W1, b1, ...`` (and ``witness_W1, ...``, ``X``, ``Y``), the exact values as unicode arrays
  (``W1_exact`` of "p/q" strings), ``widths`` and the JSON of network and certificate as 0-d unicode arrays.
  Readable with ``np.load(path, allow_pickle=False)``.
- torch: a state_dict of float64 tensors for :func:`build_module` (an ``nn.Sequential`` of Linear layers and
  activations), written with ``torch.save``. This module never reads torch files (no ``torch.load``).
"""

from __future__ import annotations

import io
import json

import numpy as np

from ..errors import InputError
from ..rationals import fmpq_to_float

__all__ = ["export_json", "export_npz", "state_dict", "export_torch", "build_module", "build_module_from_json",
           "FORMATS"]

FORMATS = ("json", "npz", "torch")


def export_json(entry) -> str:
    return json.dumps(entry.to_json(), indent=1, allow_nan=False)


def _exact(rows):
    """Exact rationals as "p/q" (or "p") strings: never a decimal rendering of a binary64 value."""
    return np.array([[str(x) for x in row] for row in rows], dtype=np.str_)


def _float(rows, cols):
    return np.array([[fmpq_to_float(x) for x in row] for row in rows], dtype=np.float64).reshape(len(rows), cols)


def npz_arrays(entry) -> dict:
    """The arrays written by :func:`export_npz` (names -> numpy arrays of numbers or unicode, never objects)."""
    cand = entry.candidate
    net = cand.problem.network
    out = {"widths": np.array(net.widths, dtype=np.int64),
           "network_json": np.array(json.dumps(net.to_json())),
           "certificate_json": np.array(json.dumps(entry.certificate_json)),
           "id": np.array(entry.id)}
    for prefix, point in (("", cand.point), ("witness_", cand.witness)):
        if point is None:
            continue
        for l, layer in enumerate(point.layers, start=1):
            out[f"{prefix}W{l}"] = _float(layer.W, net.widths[l - 1])
            out[f"{prefix}W{l}_exact"] = _exact(layer.W)
            if layer.b is not None:
                out[f"{prefix}b{l}"] = _float([layer.b], net.widths[l])[0]
                out[f"{prefix}b{l}_exact"] = _exact([layer.b])[0]
    if cand.problem.finite:
        data = cand.problem.data
        out["X"], out["X_exact"] = _float(data.X, net.widths[0]), _exact(data.X)
        out["Y"], out["Y_exact"] = _float(data.Y, net.widths[-1]), _exact(data.Y)
    return out


def export_npz(entry, path) -> None:
    with open(path, "wb") as fh:  # a file handle: np.savez would append ".npz" to a bare path
        np.savez(fh, **npz_arrays(entry))


def state_dict(entry) -> dict:
    """{"0.weight": ..., "0.bias": ..., "2.weight": ...} (float64) matching :func:`build_module`."""
    import torch

    net = entry.candidate.problem.network
    sd = {}
    for l, layer in enumerate(entry.candidate.point.layers):
        idx = 2 * l
        sd[f"{idx}.weight"] = torch.tensor(_float(layer.W, net.widths[l]), dtype=torch.float64)
        if layer.b is not None:
            sd[f"{idx}.bias"] = torch.tensor([fmpq_to_float(x) for x in layer.b], dtype=torch.float64)
    return sd


def export_torch(entry, path) -> None:
    """Write the state_dict with torch.save (writing only: users load it with weights_only=True; spurious itself
    never loads torch files)."""
    import torch

    buf = io.BytesIO()
    torch.save(state_dict(entry), buf)
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())


def _torch_activation(act):
    """An ``nn.Module`` applying ``act`` elementwise by its own formula (:mod:`spurious.activations`, TORCH
    context): one definition of every activation, exact kinks and pieces included."""
    from torch import nn

    from ..arithmetic.floating import torch_activation

    class Activation(nn.Module):
        def __init__(self):
            super().__init__()
            self.fn = torch_activation(act)

        def forward(self, z):
            return self.fn(z)

        def extra_repr(self):
            return str(act)

    return Activation()


def build_module(widths, activation, bias=True):
    """An ``nn.Sequential`` (float64) computing the spec's network: Linear, activation, ..., Linear.

    ``activation``: an :class:`~spurious.activations.Activation`, a file-format spec (``"relu"``,
    ``{"name": "leaky_relu", "slope": "1/10"}``) or a list with one per hidden layer; ``bias``: a flag or a list.
    """
    import torch
    from torch import nn

    from ..activations import Activation, parse_activation

    L = len(widths) - 1
    acts = activation if isinstance(activation, list) else [activation] * (L - 1)
    acts = [a if isinstance(a, Activation) else parse_activation(a, "activation") for a in acts]
    flags = bias if isinstance(bias, (list, tuple)) else [bias] * L
    layers = []
    for l in range(L):
        layers.append(nn.Linear(widths[l], widths[l + 1], bias=bool(flags[l]), dtype=torch.float64))
        if l < L - 1:
            layers.append(_torch_activation(acts[l]))
    return nn.Sequential(*layers)


def build_module_from_json(network_json: dict):
    """:func:`build_module` from the ``network`` object of a candidate file (or the npz ``network_json``)."""
    from ..candidate import network_from_json

    net = network_from_json(network_json)
    return build_module(list(net.widths), list(net.activations), list(net.bias))


def write_export(entry, fmt, path) -> None:
    if fmt == "json":
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(export_json(entry) + "\n")
    elif fmt == "npz":
        export_npz(entry, path)
    elif fmt == "torch":
        export_torch(entry, path)
    else:
        raise InputError(f"export format {fmt!r}: expected one of {', '.join(FORMATS)}")
