"""Activation functions: declared facts plus value, first and second derivative in every arithmetic context.

Facts (``kind``, ``breakpoints``, ``homogeneity``, ``odd``, ``polynomial_degree``) are what verifiers read to
decide which proof applies; the derivatives are written once against a context
(:mod:`spurious.arithmetic.contexts`). Names and parameters follow the candidate format
(``spurious.candidate/1``): ``linear``, ``relu``, ``leaky_relu`` (``slope``), ``piecewise_linear``
(``breakpoints``, ``slopes``, ``intercept`` = value at 0), ``quadratic``, ``polynomial`` (``coefficients``,
lowest degree first), ``sigmoid``, ``tanh``, ``softplus``, ``erf``, ``gelu``, ``swish``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flint import fmpq

from .errors import InputError
from .rationals import format_number, parse_number

__all__ = ["Activation", "make_activation", "parse_activation", "KNOWN_ACTIVATIONS"]

PIECEWISE_LINEAR = "piecewise_linear"
POLYNOMIAL = "polynomial"
SMOOTH = "smooth"


@dataclass(frozen=True)
class Activation:
    """One activation function with its facts.

    Attributes
    ----------
    name : file-format name.
    params : tuple of (key, exact value or tuple of values), as written in the file.
    kind : ``piecewise_linear``, ``polynomial`` (includes ``linear`` and ``quadratic``) or ``smooth``.
    breakpoints, slopes, offset : for piecewise-linear kinds, sigma(z) = offset + slopes[0] z
        + sum_k (slopes[k+1] - slopes[k]) relu(z - breakpoints[k]).
    coefficients : for polynomial kinds, lowest degree first.
    homogeneity : p if sigma(a z) = a^p sigma(z) for every a > 0, else None.
    odd : sigma(-z) = -sigma(z).
    """

    name: str
    params: tuple = ()
    kind: str = SMOOTH
    breakpoints: tuple = ()
    slopes: tuple = ()
    offset: fmpq = field(default_factory=lambda: fmpq(0))
    coefficients: tuple = ()
    homogeneity: int | None = None
    odd: bool = False

    @property
    def exact(self) -> bool:
        """True when the activation is rational on rationals (piecewise linear or polynomial)."""
        return self.kind in (PIECEWISE_LINEAR, POLYNOMIAL)

    @property
    def is_linear(self) -> bool:
        """sigma(z) = c z with c != 0: a linear layer (GL(k) symmetry)."""
        return self.kind == POLYNOMIAL and len(self.coefficients) == 2 and self.coefficients[0] == 0

    def evaluate(self, ctx, z):
        """Return (sigma(z), sigma'(z), sigma''(z)) in context ``ctx``.

        Raises ``KinkHit`` (from the context) when z is, or may be, a breakpoint of a piecewise-linear activation.
        """
        if self.kind == PIECEWISE_LINEAR:
            return ctx.piecewise_linear(z, self.breakpoints, self.slopes, self.offset)
        if self.kind == POLYNOMIAL:
            return _polynomial(ctx, self.coefficients, z)
        return _SMOOTH[self.name](ctx, z)

    def value(self, ctx, z):
        """sigma(z) alone (cheaper than :meth:`evaluate` where derivatives come from autodiff); on a breakpoint
        too."""
        if self.kind == PIECEWISE_LINEAR:
            return ctx.piecewise_linear(z, self.breakpoints, self.slopes, self.offset)[0]
        if self.kind == POLYNOMIAL:
            return _polynomial(ctx, self.coefficients, z, derivatives=False)
        return _SMOOTH[self.name](ctx, z, derivatives=False)

    def piece_of(self, z) -> int:
        """Index of the linear piece holding z (piecewise-linear kinds; the left piece on a breakpoint).

        z may be exact, an arb ball strictly between breakpoints, or a float."""
        if isinstance(z, float):
            return sum(1 for c in self.breakpoints if z > float(c.p) / float(c.q))
        return sum(1 for c in self.breakpoints if z > c)

    def piece_line(self, p):
        """(slope, intercept) of piece p: sigma(z) = intercept + slope z there (exact)."""
        a = self.offset - sum(((self.slopes[k + 1] - self.slopes[k]) * c for k, c in enumerate(self.breakpoints[:p])),
                              fmpq(0))
        return self.slopes[p], a

    def to_json(self):
        if not self.params:
            return self.name
        out = {"name": self.name}
        for key, value in self.params:
            out[key] = [format_number(v) for v in value] if isinstance(value, tuple) else format_number(value)
        return out

    def __str__(self):
        if not self.params:
            return self.name
        inner = ", ".join(
            f"{k}={[str(x) for x in v] if isinstance(v, tuple) else str(v)}" for k, v in self.params
        )
        return f"{self.name}({inner})"


def _polynomial(ctx, coefficients, z, derivatives=True):
    c = [ctx.const(a) for a in coefficients]
    value, d1, d2 = c[-1] + 0 * z, 0 * z, 0 * z
    if not derivatives:
        for a in reversed(c[:-1]):
            value = value * z + a
        return value
    for a in reversed(c[:-1]):  # Horner for p, p', p'' together
        d2 = d2 * z + 2 * d1
        d1 = d1 * z + value
        value = value * z + a
    return value, d1, d2


# smooth activations: (sigma, sigma', sigma''), or sigma alone when derivatives=False (for autodiff callers)
def _sigmoid(ctx, z, derivatives=True):
    s = ctx.sigmoid(z)
    if not derivatives:
        return s
    ds = s * (1 - s)
    return s, ds, ds * (1 - 2 * s)


def _tanh(ctx, z, derivatives=True):
    t = ctx.tanh(z)
    if not derivatives:
        return t
    dt = 1 - t * t
    return t, dt, -2 * t * dt


def _softplus(ctx, z, derivatives=True):
    if not derivatives:
        return ctx.softplus(z)
    s = ctx.sigmoid(z)
    return ctx.softplus(z), s, s * (1 - s)


def _erf(ctx, z, derivatives=True):
    if not derivatives:
        return ctx.erf(z)
    g = 2 / ctx.sqrt(ctx.const(fmpq(1)) * ctx.pi()) * ctx.exp(-z * z)
    return ctx.erf(z), g, -2 * z * g


def _gelu(ctx, z, derivatives=True):
    # gelu(z) = z Phi(z); Phi' = phi; gelu' = Phi + z phi; gelu'' = phi (2 - z^2)
    two = ctx.const(fmpq(2))
    cdf = (1 + ctx.erf(z / ctx.sqrt(two))) / 2
    if not derivatives:
        return z * cdf
    phi = ctx.exp(-z * z / 2) / ctx.sqrt(two * ctx.pi())
    return z * cdf, cdf + z * phi, phi * (2 - z * z)


def _swish(ctx, z, derivatives=True):
    s = ctx.sigmoid(z)
    if not derivatives:
        return z * s
    ds = s * (1 - s)
    return z * s, s + z * ds, 2 * ds + z * ds * (1 - 2 * s)


_SMOOTH = {"sigmoid": _sigmoid, "tanh": _tanh, "softplus": _softplus, "erf": _erf, "gelu": _gelu, "swish": _swish}

KNOWN_ACTIVATIONS = (
    "linear", "relu", "leaky_relu", "piecewise_linear", "quadratic", "polynomial",
    "sigmoid", "tanh", "softplus", "erf", "gelu", "swish",
)


def _piecewise(name, params, breakpoints, slopes, intercept):
    breakpoints = tuple(breakpoints)
    slopes = tuple(slopes)
    if len(slopes) != len(breakpoints) + 1:
        raise InputError(
            f"activation {name}: needs one more slope than breakpoints (got {len(breakpoints)} breakpoints, "
            f"{len(slopes)} slopes)"
        )
    if any(a >= b for a, b in zip(breakpoints, breakpoints[1:])):
        raise InputError(f"activation {name}: breakpoints must be strictly increasing")
    if any(s0 == s1 for s0, s1 in zip(slopes, slopes[1:])):
        raise InputError(f"activation {name}: adjacent slopes must differ (a breakpoint with equal slopes is no kink)")
    if not breakpoints:
        raise InputError(f"activation {name}: needs at least one breakpoint (use 'linear' for a line)")
    # offset such that sigma(0) = intercept
    offset = intercept - sum(((slopes[k + 1] - slopes[k]) * max(fmpq(0), -c) for k, c in enumerate(breakpoints)),
                             fmpq(0))
    homogeneous = breakpoints == (fmpq(0),) and intercept == 0
    odd = homogeneous and slopes[0] == slopes[1]
    return Activation(
        name=name, params=params, kind=PIECEWISE_LINEAR, breakpoints=breakpoints, slopes=slopes, offset=offset,
        homogeneity=1 if homogeneous else None, odd=odd,
    )


def _poly(name, params, coefficients):
    coefficients = tuple(coefficients)
    while len(coefficients) > 1 and coefficients[-1] == 0:
        coefficients = coefficients[:-1]
    if not coefficients:
        raise InputError(f"activation {name}: needs at least one coefficient")
    nonzero = [k for k, c in enumerate(coefficients) if c != 0]
    homogeneity = nonzero[0] if len(nonzero) == 1 and nonzero[0] >= 1 else None
    odd = all(k % 2 == 1 for k in nonzero) and bool(nonzero)
    return Activation(name=name, params=params, kind=POLYNOMIAL, coefficients=coefficients,
                      homogeneity=homogeneity, odd=odd)


def make_activation(name: str, **params) -> Activation:
    """Build an activation by its file-format name; parameters are exact numbers (or lists of them)."""
    if not isinstance(name, str) or name not in KNOWN_ACTIVATIONS:
        raise InputError(f"unknown activation {name!r}; known: {', '.join(KNOWN_ACTIVATIONS)}")
    where = f"activation {name}"
    allowed = {"leaky_relu": {"slope"}, "piecewise_linear": {"breakpoints", "slopes", "intercept"},
               "polynomial": {"coefficients"}}.get(name, set())
    extra = set(params) - allowed
    if extra:
        raise InputError(f"{where}: unexpected parameter(s) {sorted(extra)}; allowed: {sorted(allowed) or 'none'}")

    def num(key, default=None):
        if key not in params:
            if default is None:
                raise InputError(f"{where}: missing parameter '{key}'")
            return default
        return parse_number(params[key], f"{where}.{key}")

    def nums(key):
        if key not in params:
            raise InputError(f"{where}: missing parameter '{key}'")
        value = params[key]
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{where}.{key}: expected a list of numbers")
        if len(value) > 10_000:
            raise InputError(f"{where}.{key}: absurdly many entries ({len(value)})")
        return tuple(parse_number(v, f"{where}.{key}[{i}]") for i, v in enumerate(value))

    zero, one = fmpq(0), fmpq(1)
    if name == "linear":
        return _poly("linear", (), (zero, one))
    if name == "quadratic":
        return _poly("quadratic", (), (zero, zero, one))
    if name == "polynomial":
        c = nums("coefficients")
        return _poly("polynomial", (("coefficients", c),), c)
    if name == "relu":
        return _piecewise("relu", (), (zero,), (zero, one), zero)
    if name == "leaky_relu":
        a = num("slope", fmpq(1, 100))
        if a == 1:
            raise InputError(f"{where}: slope 1 makes it linear; use 'linear'")
        return _piecewise("leaky_relu", (("slope", a),), (zero,), (a, one), zero)
    if name == "piecewise_linear":
        bps, sl = nums("breakpoints"), nums("slopes")
        icpt = num("intercept", zero)
        return _piecewise("piecewise_linear", (("breakpoints", bps), ("slopes", sl), ("intercept", icpt)), bps, sl,
                          icpt)
    odd = name in ("tanh", "erf")
    return Activation(name=name, kind=SMOOTH, odd=odd)


def parse_activation(spec, where: str = "activation") -> Activation:
    """Activation from the file syntax: a bare name or ``{"name": ..., params...}``."""
    if isinstance(spec, str):
        return make_activation(spec)
    if isinstance(spec, dict):
        if "name" not in spec:
            raise InputError(f"{where}: object needs a 'name' (known: {', '.join(KNOWN_ACTIVATIONS)})")
        params = {k: v for k, v in spec.items() if k != "name"}
        return make_activation(spec["name"], **params)
    raise InputError(f"{where}: expected a name or an object with 'name', got {type(spec).__name__}")


def parse_activation_option(text: str) -> Activation:
    """Command-line syntax: ``relu``, ``leaky_relu:1/10`` or ``leaky_relu:slope=1/10``."""
    name, _, rest = text.partition(":")
    if not rest:
        return make_activation(name)
    if "=" not in rest:
        key = {"leaky_relu": "slope", "polynomial": "coefficients"}.get(name)
        if key is None:
            raise InputError(f"activation {name}: takes no positional parameter")
        return make_activation(name, **{key: rest.split(",") if key == "coefficients" else rest})
    params = {}
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        params[key.strip()] = value.split(",") if key.strip() in ("breakpoints", "slopes", "coefficients") else value
    return make_activation(name, **params)
