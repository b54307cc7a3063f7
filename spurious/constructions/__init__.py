"""Constructions: one module per published family of spurious local minima, and the registry that lists them.

Each family module defines a keyword-only generator (networkx style) that checks its theorem's range first (an
:class:`~spurious.errors.InputError` names the violated inequality), builds exact rationals, and returns a
:class:`~spurious.candidate.Candidate` whose ``meta`` cites paper, theorem and equation; it registers a
:class:`Family` record here. ``construct(name, **params)`` validates the parameter names and dispatches.

>>> from spurious.constructions import construct, families
>>> [f.name for f in families()][:2]
['yun-lift', 'pattern-minima']
>>> construct("yun-lift", widths=(1, 2, 1), n=5, seed=1).meta["construction"]
'yun-lift'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InputError

__all__ = ["Family", "Param", "Shape", "ACTIVATION_CLASSES", "register", "families", "get_family", "construct",
           "resolve", "range_text", "family_table"]


@dataclass(frozen=True)
class Param:
    """One declared parameter: name, default, human-readable range, description, and the range as data.

    ``kind``: ``int``, ``rational``, ``widths``, ``activation``, ``choice``, ``path``, ``bool``, ``ints``,
    ``rationals`` (lists, checked by the family) or ``""`` (undeclared).
    ``min``/``max`` bound an ``int``/``rational`` (inclusive): a constant, or ``symbol [+|- integer]`` where the
    symbol is d_i, L, m (= d_1) of the requested widths or another int parameter (``"d_0 + 2"``, ``"k + 1"``).
    ``choices``: a ``choice``'s values; for an ``activation``, activation names or ACTIVATION_CLASSES keys; for an
    ``int``, extra literal values accepted as they are (``which="all"``). ``shape``: the widths' Shape.
    ``from_widths``: the parameter is d_i of the widths (safran-shamir's k = d_0, n = d_1).
    ``construct`` enforces all of it; ``spurious constructions --json`` lists it; ``Family.covers`` and ``find`` read
    it. ``range`` is the human text, shown beside the data in errors and listings.
    """

    name: str
    default: object = None
    range: str = ""
    description: str = ""
    kind: str = ""
    min: object = None
    max: object = None
    choices: tuple = ()
    shape: object = None  # a Shape, for kind "widths"
    from_widths: int | None = None  # this parameter is d_i of the requested widths (i = from_widths)

    def to_json(self):
        default = self.default if isinstance(self.default, (int, str, type(None))) else str(self.default)
        if isinstance(self.default, tuple):
            default = list(self.default)
        out = {"name": self.name, "default": default, "range": self.range, "description": self.description}
        if self.kind:
            out.update(kind=self.kind, min=None if self.min is None else str(self.min),
                       max=None if self.max is None else str(self.max), choices=list(self.choices))
            if self.shape is not None:
                out["shape"] = self.shape.to_json()
            if self.from_widths is not None:
                out["from_widths"] = self.from_widths
        return out

    def bound(self, which, symbols):
        """The declared min or max as a number: a constant, or ``name [+|- integer]`` over ``symbols`` (widths d_i,
        depth L, other parameters); None when it is undeclared or names a symbol not known here."""
        raw = self.min if which == "min" else self.max
        if raw is None:
            return None
        if isinstance(raw, str):
            m = _SYMBOLIC.fullmatch(raw.strip())
            if m:
                value = symbols.get(m.group(1))
                if value is None:
                    return None
                return value + (int(m.group(3)) * (-1 if m.group(2) == "-" else 1) if m.group(2) else 0)
        from ..rationals import parse_number

        return parse_number(raw, self.name)

    def check(self, value, symbols=None):
        """Enforce the declared range (an InputError names the parameter and the violated bound)."""
        if value is None or not self.kind or (self.kind in ("int", "rational") and value in self.choices):
            return
        symbols = symbols or {}
        if self.kind in ("int", "rational"):
            from ..rationals import parse_number

            if isinstance(value, bool):
                raise InputError(f"{self.name}: expected a number, got {value!r}")
            v = parse_number(value, self.name) if not isinstance(value, int) else value
            if self.kind == "int" and v != int(v):
                raise InputError(f"{self.name}: expected an integer, got {value!r}")
            lo, hi = self.bound("min", symbols), self.bound("max", symbols)
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                law = (f"{self.min} <= {self.name}" if self.min is not None else self.name) + \
                    (f" <= {self.max}" if self.max is not None else "")
                if self.min is not None and self.max is None:
                    law = f"{self.name} >= {self.min}"
                here = ", ".join(f"{b} = {v_}" for b, v_ in ((self.min, lo), (self.max, hi))
                                 if isinstance(b, str) and _SYMBOLIC.fullmatch(b.strip()) and v_ is not None)
                raise InputError(f"{self.name}: must satisfy {law}{f' ({here} here)' if here else ''}"
                                 f"{self._declared()}, got {value}")
        if self.kind == "choice" and value not in self.choices:
            raise InputError(f"{self.name}: expected {' or '.join(repr(c) for c in self.choices)}, got {value!r}")
        if self.kind == "widths" and self.shape is not None:
            bad = self.shape.violation(widths_tuple(value))
            if bad:
                raise InputError(f"widths: {bad}{self._declared()}, got {list(widths_tuple(value))}")
        if self.kind == "activation" and self.choices:
            bad = activation_violation(self.choices, value)
            if bad:
                raise InputError(f"activation: {bad}")

    def _declared(self):
        """`` (declared: <range text>)`` when the human range text says more than the bound."""
        return f" (declared: {self.range})" if self.range else ""


_SYMBOLIC = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\s*(?:([+-])\s*(\d+))?")


def widths_tuple(widths):
    """Widths as a tuple of ints from a tuple, list or ``"1,2,1"`` (an InputError otherwise)."""
    try:
        if isinstance(widths, str):
            widths = widths.split(",")
        return tuple(int(w) for w in widths)
    except (TypeError, ValueError):
        raise InputError(f"widths: expected integers like 1,3,1, got {widths!r}") from None


def architecture_symbols(widths):
    """The symbols a bound may name: d_0, ..., d_L, L (weight layers) and m = d_1."""
    if widths is None:
        return {}
    w = widths_tuple(widths)
    out = {f"d_{i}": v for i, v in enumerate(w)}
    out.update(L=len(w) - 1, d_L=w[-1])
    if len(w) >= 3:
        out["m"] = w[1]
    return out


@dataclass(frozen=True)
class Shape:
    """The architectures a family builds, as data. ``L`` = number of weight layers = hidden layers + 1.

    Each of ``layers`` (hidden layers), ``input`` (d_0), ``hidden`` (every hidden width) and ``output`` (d_L) is an
    inclusive (min, max) pair, max None meaning unbounded; ``max_params`` bounds the parameter count with biases,
    sum_l (d_{l-1} + 1) d_l; ``only``, when set, lists the allowed widths exactly.
    """

    layers: tuple = (1, 1)
    input: tuple = (1, None)
    hidden: tuple = (1, None)
    output: tuple = (1, 1)
    max_params: int | None = None
    only: tuple = ()

    def violation(self, widths):
        """None when the widths are in range, else the violated range in words."""
        w = tuple(widths)
        if self.only:
            return None if w in self.only else f"only {' or '.join(','.join(map(str, o)) for o in self.only)}"
        if len(w) < 2 or any(v < 1 for v in w):
            return "need d_0, ..., d_L >= 1"
        checks = (("depth L - 1 (hidden layers)", self.layers, [len(w) - 2]), ("input width d_0", self.input, [w[0]]),
                  ("every hidden width", self.hidden, list(w[1:-1])), ("output width", self.output, [w[-1]]))
        for what, (lo, hi), values in checks:
            for v in values:
                if (lo is not None and v < lo) or (hi is not None and v > hi):
                    return f"{what} must be {_interval(lo, hi).lstrip('= ')}"
        if self.max_params is not None:
            P = sum((a + 1) * b for a, b in zip(w, w[1:]))
            if P > self.max_params:
                formula = "m (d + 2) + 1" if len(w) == 3 and w[-1] == 1 else "sum (d_{l-1} + 1) d_l"
                return f"parameter count P = {formula} <= {self.max_params} fails (P = {P})"
        return None

    def describe(self) -> str:
        if self.only:
            return " or ".join(",".join(map(str, o)) for o in self.only)
        parts = [f"hidden layers {_interval(*self.layers)}", f"d_0 {_interval(*self.input)}",
                 f"hidden widths {_interval(*self.hidden)}", f"d_L {_interval(*self.output)}"]
        if self.max_params is not None:
            parts.append(f"P <= {self.max_params}")
        return ", ".join(parts)

    def to_json(self):
        return {"layers": list(self.layers), "input": list(self.input), "hidden": list(self.hidden),
                "output": list(self.output), "max_params": self.max_params, "only": [list(o) for o in self.only],
                "description": self.describe()}


def _interval(lo, hi):
    if lo == hi:
        return f"= {lo}"
    return f"{lo}..{hi}" if hi is not None else f">= {lo}"


def _two_slope(a):
    return a.kind == "piecewise_linear" and tuple(a.breakpoints) == (0,) and a.offset == 0


# activation classes a family may declare (Param kind "activation", choices: class names or activation names)
ACTIVATION_CLASSES = {
    "nonlinear": ("any activation except linear", lambda a: not a.is_linear),
    "smooth": ("smooth (sigmoid, tanh, softplus, erf, gelu, swish)", lambda a: a.kind == "smooth"),
    "curved": ("C^3 with sigma'' != 0 somewhere (smooth, or polynomial of degree >= 2)",
               lambda a: a.kind == "smooth" or (a.kind == "polynomial" and len(a.coefficients) >= 3)),
    "piecewise_linear": ("piecewise linear", lambda a: a.kind == "piecewise_linear"),
    "two_slope": ("max(s+ z, 0) + min(s- z, 0), one breakpoint at 0 (relu, leaky_relu)", _two_slope),
    "zero_slope_piece": ("piecewise linear with a piece of slope 0 (relu)",
                         lambda a: a.kind == "piecewise_linear" and any(s == 0 for s in a.slopes)),
}


def activation_violation(choices, activation):
    """None when the activation is one of ``choices`` (class names or activation names), else the range in words."""
    from .common import activation_of

    act = activation_of(activation)
    for c in choices:
        if c in ACTIVATION_CLASSES and ACTIVATION_CLASSES[c][1](act):
            return None
        if c == act.name:
            return None
    return f"must be {describe_activations(choices)}, got {act}"


def describe_activations(choices):
    return " or ".join(ACTIVATION_CLASSES[c][0] if c in ACTIVATION_CLASSES else c for c in choices)


@dataclass(frozen=True)
class Family:
    """A registered construction family.

    ``reproduce(verify=...)``, when set, recomputes the paper's worked example: rows (quantity, published value,
    ours). The caller passes the verifier (``spurious.verifiers.verify``) because constructions sit below the
    verifiers and never import them; families whose rows are exact formulas ignore it.
    """

    name: str
    reference: str
    activations: str
    architectures: str
    strict: str
    params: tuple
    function: object = field(repr=False, compare=False)
    summary: str = ""
    reproduce: object = field(default=None, repr=False, compare=False)
    covers: object = field(default=None, repr=False, compare=False)  # covers(widths, activation) -> bool
    fixed_parameters: str = ""  # e.g. "no biases": the network is a restriction of the plain one (find skips it)

    def __post_init__(self):
        declared = self.covers

        def covers(widths, activation):
            """True when the family builds this architecture: its declared ranges (and a declared extra test)."""
            from .common import activation_of

            widths, activation = widths_tuple(widths), activation_of(activation)
            if self.range_violation(widths, activation) is not None:
                return False
            return True if declared is None else bool(declared(widths, activation))

        object.__setattr__(self, "covers", covers)

    def range_violation(self, widths, activation):
        """None when the declared ranges admit this architecture (every other parameter at its default), else the
        first violated range, one line (the message ``construct`` raises)."""
        names = {p.name for p in self.params}
        if "widths" not in names or "activation" not in names:
            return f"{self.name}: its architecture is not set by widths and activation"
        try:
            resolve(self, {"widths": widths, "activation": activation})
        except InputError as exc:
            return str(exc)
        return None

    def to_json(self):
        names = {p.name for p in self.params}
        return {"name": self.name, "reference": self.reference, "activations": self.activations,
                "architectures": self.architectures, "strict": self.strict, "summary": self.summary,
                "architecture_params": "widths" in names and "activation" in names,
                "declares_covers": True, "fixed_parameters": self.fixed_parameters,
                "params": [p.to_json() for p in self.params]}


_REGISTRY: dict = {}


def register(family: Family) -> Family:
    _REGISTRY[family.name] = family
    return family


_FAMILY_MODULES = ("yun_smooth", "constant_output", "safran_shamir", "single_neuron", "split_neuron",
                   "narrow_strict", "quadratic_narrow", "planted")


def _load():
    # each module registers its family; this order is the listing order
    from . import yun_lift  # noqa: F401
    from . import pattern_minima  # noqa: F401
    from . import deep_lift  # noqa: F401
    from . import dead_units  # noqa: F401
    import importlib

    for name in _FAMILY_MODULES:  # modules that declare a FAMILY dict instead of calling register()
        spec = importlib.import_module(f"{__name__}.{name}").FAMILY
        if spec["name"] not in _REGISTRY:
            register(Family(**spec))


def families() -> list:
    """All registered families, in registration order."""
    _load()
    return list(_REGISTRY.values())


def get_family(name) -> Family:
    _load()
    if name not in _REGISTRY:
        raise InputError(f"unknown construction {name!r}; known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def resolve(fam, params):
    """The keyword arguments for ``fam.function``: declared ranges enforced (an InputError naming the family and the
    violated range), parameters declared ``from_widths`` filled from the widths, int defaults raised to a symbolic
    minimum they fall below (n >= d_0 + 2)."""
    import inspect

    known = {p.name for p in fam.params}
    extra = sorted(set(params) - known)
    if extra:
        raise InputError(f"{fam.name}: unknown parameter(s) {extra}; known: {sorted(known)}")
    params = dict(params)
    widths = params.get("widths")
    if widths is not None:
        widths = params["widths"] = widths_tuple(widths)
    for p in fam.params:
        if p.from_widths is not None and widths is not None and p.from_widths < len(widths):
            given, value = params.get(p.name), widths[p.from_widths]
            if given is not None and str(given) != str(value):
                raise InputError(f"{fam.name}: {p.name} = {given} conflicts with widths {list(widths)} "
                                 f"({p.name} = d_{p.from_widths} = {value})")
            params[p.name] = value
    symbols = architecture_symbols(widths)
    for p in fam.params:  # int parameters given (or filled from widths) are symbols for the other bounds
        value = params.get(p.name, p.default)
        if isinstance(value, str) and value.strip().isdigit():  # from the command line
            value = int(value)
        if p.kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            symbols.setdefault(p.name, value)
    for p in fam.params:
        if p.name not in params and p.kind == "int" and isinstance(p.default, int):
            lo = p.bound("min", symbols)
            if lo is not None and p.default < lo:
                params[p.name] = int(lo)
                symbols[p.name] = int(lo)
    for p in fam.params:
        try:
            p.check(params.get(p.name), symbols)
        except InputError as exc:
            raise InputError(f"{fam.name}: {exc}") from None
    accepted = inspect.signature(fam.function).parameters
    defaults = {p.name: p.default for p in fam.params
                if p.default is not None and p.name not in params and p.name in accepted}
    return {**defaults, **params}


def architecture(family, widths, activation):
    """For a family function called with ``widths``/``activation``: enforce the declared ranges and return the
    parameters the widths set (``from_widths``), e.g. ``{"k": 7, "n": 7}`` for safran-shamir."""
    fam = get_family(family)
    for p in fam.params:
        if p.name in ("widths", "activation"):
            try:
                p.check(widths if p.name == "widths" else activation)
            except InputError as exc:
                raise InputError(f"{fam.name}: {exc}") from None
    if widths is None:
        return {}
    w = widths_tuple(widths)
    return {p.name: w[p.from_widths] for p in fam.params if p.from_widths is not None}


def construct(family, **params):
    """Build a candidate of the named family; unknown parameter names are an InputError listing the known ones,
    and a parameter outside its declared range an InputError naming the range."""
    fam = get_family(family)
    return fam.function(**resolve(fam, params))


def describe_range(p) -> str:
    """A declared range in words, generated from the data (the free text ``range`` is added as a note)."""
    if p.kind == "widths" and p.shape is not None:
        text = p.shape.describe()
    elif p.kind == "activation" and p.choices:
        text = describe_activations(p.choices)
    elif p.kind in ("int", "rational"):
        text = ((f"{p.min} <= " if p.min is not None else "") + p.name +
                (f" <= {p.max}" if p.max is not None else "")) if p.min is not None or p.max is not None else "any"
    elif p.kind == "choice":
        text = " or ".join(map(str, p.choices))
    else:
        text = ""
    if p.from_widths is not None:
        text += f" (= d_{p.from_widths} of widths)"
    return text


def family_table() -> str:
    """A Markdown table of the families and their declared ranges (the README's table is this function's output)."""
    rows = ["| family | widths | activation | other parameters (declared ranges) |", "|---|---|---|---|"]
    for fam in families():
        by_name = {p.name: p for p in fam.params}
        widths = by_name.get("widths")
        act = by_name.get("activation")
        others = "; ".join(f"`{p.name}`: {_cell(p)}" for p in fam.params if p.name not in ("widths", "activation"))
        rows.append(f"| {fam.name} | {_cell(widths) if widths else '-'} | {_cell(act) if act else '-'} | {others} |")
    return "\n".join(rows)


def range_text(p) -> str:
    """The declared range, then the human text when it says something else."""
    data = describe_range(p)
    return (p.range or "-") if not data else data if not p.range or p.range in data else f"{data} ({p.range})"


def _cell(p):
    return range_text(p).replace("|", "\\|")  # Markdown cell
