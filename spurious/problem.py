"""A training problem: network + data + loss.

Loss conventions (candidate format, section "Loss"): squared loss with ``reduction`` ``mean`` (default),
L(theta) = (1/n) sum_i ||f(x_i) - y_i||^2, or ``sum`` (drop the 1/n); optional ``weight_decay`` lambda adds
(lambda/2) * (sum of squared weights of the trainable layers, biases excluded). Population data: inputs
x ~ N(0, I), labels from a teacher network, loss = E ||f(x) - teacher(x)||^2.

Note the factor: papers often use (1/2) sum; their numbers equal ours times n/2 (mean) or 1/2 (sum).
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import fmpq

from .errors import InputError
from .network import Network, Point

__all__ = ["FiniteData", "GaussianData", "Loss", "Problem", "MAX_SAMPLES"]

MAX_SAMPLES = 10_000_000


@dataclass(frozen=True)
class FiniteData:
    """n samples: X is a tuple of n input rows (length d_0), Y a tuple of n label rows (length d_L), exact."""

    X: tuple
    Y: tuple

    @property
    def n(self) -> int:
        return len(self.X)


@dataclass(frozen=True)
class GaussianData:
    """Population data: x ~ N(0, I_{d_0}), y = teacher(x)."""

    teacher_network: Network
    teacher_point: Point


@dataclass(frozen=True)
class Loss:
    name: str = "squared"
    reduction: str = "mean"
    weight_decay: fmpq = fmpq(0)

    def __post_init__(self):
        if self.name != "squared":
            raise InputError(f"loss.name: unknown loss {self.name!r}; known: squared")
        if self.reduction not in ("mean", "sum"):
            raise InputError(f"loss.reduction: expected 'mean' or 'sum', got {self.reduction!r}")
        if self.weight_decay < 0:
            raise InputError(f"loss.weight_decay: must be >= 0, got {self.weight_decay}")

    def to_json(self) -> dict:
        from .rationals import format_number

        out = {"name": self.name, "reduction": self.reduction}
        if self.weight_decay != 0:
            out["weight_decay"] = format_number(self.weight_decay)
        return out


@dataclass(frozen=True)
class Problem:
    network: Network
    data: FiniteData | GaussianData
    loss: Loss = Loss()

    def __post_init__(self):
        d_in, d_out = self.network.widths[0], self.network.widths[-1]
        if isinstance(self.data, FiniteData):
            if self.data.n < 1:
                raise InputError("data: need at least one sample")
            if len(self.data.Y) != self.data.n:
                raise InputError(f"data: X has {self.data.n} rows but Y has {len(self.data.Y)}")
            for i, (x, y) in enumerate(zip(self.data.X, self.data.Y)):
                if len(x) != d_in:
                    raise InputError(f"data.X[{i}]: expected {d_in} entries (input width), got {len(x)}")
                if len(y) != d_out:
                    raise InputError(f"data.Y[{i}]: expected {d_out} entries (output width), got {len(y)}")
        else:
            t = self.data.teacher_network
            if t.widths[0] != d_in or t.widths[-1] != d_out:
                raise InputError(f"data.teacher: widths {list(t.widths)} must start with {d_in} and end with {d_out}")
            self.data.teacher_point.check_fits(t, "data.teacher.point")

    @property
    def finite(self) -> bool:
        return isinstance(self.data, FiniteData)

    @property
    def exact_capable(self) -> bool:
        """Loss is a rational function of rational parameters near generic points: exact evaluation applies."""
        return self.finite and all(a.exact for a in self.network.activations)
