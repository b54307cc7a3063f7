"""Three arithmetic contexts with the same method names, so that the mathematics is written once.

* :data:`EXACT` works on ``fmpq`` (exact rationals): proofs for piecewise-linear and polynomial activations.
* :class:`BallContext` works on ``arb`` balls at a chosen precision: every result encloses the true value.
* :data:`TORCH` works on float64 torch tensors: fast evidence for search and triage, never proof.
* :data:`FLOAT` works on Python floats with numpy matrices: evidence for small problems without importing torch.

Activations (:mod:`spurious.activations`) are written against these methods. The piecewise-linear primitive is
context specific because comparison is: exact comparison is decidable, ball comparison has three values (a ball
that straddles a breakpoint is reported as a *possible* kink), and torch just picks a side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flint import arb, arb_mat, ctx as flint_ctx, fmpq, fmpq_mat

from ..errors import NotExactError

__all__ = ["ExactContext", "BallContext", "TorchContext", "FloatContext", "EXACT", "TORCH", "FLOAT"]


@dataclass(frozen=True)
class ExactContext:
    """Exact rational arithmetic (python-flint ``fmpq`` / ``fmpq_mat``)."""

    name: str = "exact"
    rigorous: bool = True

    def const(self, q):
        return fmpq(q) if not isinstance(q, fmpq) else q

    matrix = staticmethod(fmpq_mat)

    def _no(self, what):
        raise NotExactError(f"{what} is not rational: use the ball (interval) context")

    def exp(self, z):
        self._no("exp")

    def log1p(self, z):
        self._no("log")

    def tanh(self, z):
        self._no("tanh")

    def erf(self, z):
        self._no("erf")

    def atan(self, z):
        self._no("atan")

    def pi(self):
        self._no("pi")

    def sigmoid(self, z):
        self._no("sigmoid")

    def softplus(self, z):
        self._no("softplus")

    def sqrt(self, z):
        self._no("sqrt")

    def piecewise_linear(self, z, breakpoints, slopes, offset):
        """Value, slope and curvature (0) of a continuous piecewise-linear function.

        On a breakpoint the slope and curvature are not defined: they come back as None.
        """
        value = offset + slopes[0] * z
        piece = 0
        for k, c in enumerate(breakpoints):
            if z > c:
                value += (slopes[k + 1] - slopes[k]) * (z - c)
                piece += 1
        if any(z == c for c in breakpoints):
            return value, None, None
        return value, slopes[piece], fmpq(0)


@dataclass(frozen=True)
class BallContext:
    """Ball arithmetic (python-flint ``arb``); ``prec`` is the working precision in bits."""

    prec: int = 128
    name: str = "ball"
    rigorous: bool = True

    def const(self, q):
        return arb(q)

    matrix = staticmethod(arb_mat)

    def exp(self, z):
        return z.exp()

    def log1p(self, z):
        return z.log1p()

    def tanh(self, z):
        return z.tanh()

    def erf(self, z):
        return z.erf()

    def atan(self, z):
        return z.atan()

    def pi(self):
        return arb.pi()

    def sigmoid(self, z):
        return 1 / (1 + (-z).exp())

    def softplus(self, z):
        return z.exp().log1p() if z < 0 else z + (-z).exp().log1p()

    def sqrt(self, z):
        return z.sqrt()

    def piecewise_linear(self, z, breakpoints, slopes, offset):
        """Enclosures of value, slope and curvature; slope and curvature are None when the ball may hold a kink."""
        value = arb(offset) + arb(slopes[0]) * z
        for k, c in enumerate(breakpoints):
            value += arb(slopes[k + 1] - slopes[k]) * (z - arb(c)).max(arb(0))
        if not all(z > c or z < c for c in breakpoints):
            return value, None, None
        piece = sum(1 for c in breakpoints if z > c)
        return value, arb(slopes[piece]), arb(0)

    def workprec(self):
        return flint_ctx.workprec(self.prec)


class TorchContext:
    """float64 torch tensors, elementwise; usable inside ``torch.func`` transforms."""

    name = "float"
    rigorous = False

    @staticmethod
    def _torch():
        import torch

        return torch

    def const(self, q):
        return float(q.p) / float(q.q) if isinstance(q, fmpq) else float(q)

    def exp(self, z):
        return self._torch().exp(z)

    def log1p(self, z):
        return self._torch().log1p(z)

    def tanh(self, z):
        return self._torch().tanh(z)

    def erf(self, z):
        return self._torch().erf(z)

    def atan(self, z):
        return self._torch().atan(z)

    def pi(self):
        return math.pi

    def sqrt(self, z):
        return math.sqrt(z) if isinstance(z, (int, float)) else self._torch().sqrt(z)

    def softplus(self, z):
        return self._torch().nn.functional.softplus(z)

    def sigmoid(self, z):
        return self._torch().sigmoid(z)

    def piecewise_linear(self, z, breakpoints, slopes, offset):
        torch = self._torch()
        value = self.const(offset) + self.const(slopes[0]) * z
        slope = torch.full_like(z, self.const(slopes[0]))
        for k, c in enumerate(breakpoints):
            jump = self.const(slopes[k + 1] - slopes[k])
            value = value + jump * torch.relu(z - self.const(c))
            slope = slope + jump * (z > self.const(c)).to(z.dtype)
        return value, slope, torch.zeros_like(z)


class FloatMatrix:
    """A float64 numpy matrix with the few ``fmpq_mat`` / ``arb_mat`` methods the structured evaluator uses."""

    __slots__ = ("a",)

    def __init__(self, rows, cols=None):
        import numpy as np

        if cols is not None:
            self.a = np.zeros((rows, cols))
        else:
            self.a = rows if isinstance(rows, np.ndarray) else np.array(rows, dtype=np.float64)

    def tolist(self):
        return self.a.tolist()

    def transpose(self):
        return FloatMatrix(self.a.T)

    def __mul__(self, other):
        return FloatMatrix(self.a @ other.a if isinstance(other, FloatMatrix) else self.a * other)

    def __rmul__(self, scalar):
        return FloatMatrix(scalar * self.a)

    def __add__(self, other):
        return FloatMatrix(self.a + other.a)

    def __getitem__(self, index):
        return float(self.a[index])

    def __setitem__(self, index, value):
        self.a[index] = value


class FloatContext:
    """float64 on Python floats (``math``), matrices in numpy: the structured formula without torch, for small
    problems where importing torch costs more than the evaluation. Evidence only; a kink picks the right piece."""

    name = "float-numpy"
    rigorous = False
    matrix = FloatMatrix

    @staticmethod
    def const(q):
        from ..rationals import fmpq_to_float

        return fmpq_to_float(q) if isinstance(q, fmpq) else float(q)

    exp = staticmethod(math.exp)
    log1p = staticmethod(math.log1p)
    tanh = staticmethod(math.tanh)
    erf = staticmethod(math.erf)
    atan = staticmethod(math.atan)
    sqrt = staticmethod(math.sqrt)

    @staticmethod
    def pi():
        return math.pi

    @staticmethod
    def sigmoid(z):
        return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))

    @staticmethod
    def softplus(z):
        return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))

    def piecewise_linear(self, z, breakpoints, slopes, offset):
        K = self.const
        value, piece = K(offset) + K(slopes[0]) * z, 0
        for k, c in enumerate(breakpoints):
            if z > K(c):
                value += (K(slopes[k + 1]) - K(slopes[k])) * (z - K(c))
                piece += 1
        return value, K(slopes[piece]), 0.0


EXACT = ExactContext()
TORCH = TorchContext()
FLOAT = FloatContext()
