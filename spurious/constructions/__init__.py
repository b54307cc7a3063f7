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

from dataclasses import dataclass, field

from ..errors import InputError

__all__ = ["Family", "Param", "register", "families", "get_family", "construct"]


@dataclass(frozen=True)
class Param:
    """One declared parameter: name, default, human-readable range, description, and the range as data.

    ``kind``: ``int``, ``rational``, ``widths``, ``activation``, ``choice``, ``path`` or ``""`` (undeclared);
    ``min``/``max`` bound an ``int``/``rational`` (inclusive), ``choices`` lists a ``choice``'s values.
    ``construct`` enforces the declared bounds; ``spurious constructions --json`` lists them (``find`` reads them).
    """

    name: str
    default: object = None
    range: str = ""
    description: str = ""
    kind: str = ""
    min: object = None
    max: object = None
    choices: tuple = ()

    def to_json(self):
        default = self.default if isinstance(self.default, (int, str, type(None))) else str(self.default)
        if isinstance(self.default, tuple):
            default = list(self.default)
        out = {"name": self.name, "default": default, "range": self.range, "description": self.description}
        if self.kind:
            out.update(kind=self.kind, min=None if self.min is None else str(self.min),
                       max=None if self.max is None else str(self.max), choices=list(self.choices))
        return out

    def check(self, value):
        """Enforce the declared range (an InputError names the parameter and the bound)."""
        if value is None or not self.kind:
            return
        if self.kind in ("int", "rational"):
            from ..rationals import parse_number

            v = parse_number(value, self.name) if not isinstance(value, int) else value
            if self.kind == "int" and v != int(v):
                raise InputError(f"{self.name}: expected an integer, got {value!r}")
            if self.min is not None and v < parse_number(self.min, self.name):
                raise InputError(f"{self.name}: must satisfy {self.name} >= {self.min}, got {value}")
            if self.max is not None and v > parse_number(self.max, self.name):
                raise InputError(f"{self.name}: must satisfy {self.name} <= {self.max}, got {value}")
        if self.kind == "choice" and value not in self.choices:
            raise InputError(f"{self.name}: expected one of {list(self.choices)}, got {value!r}")


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
    covers: object = field(default=None, repr=False, compare=False)  # covers(widths, activation) -> bool, or None

    def to_json(self):
        names = {p.name for p in self.params}
        return {"name": self.name, "reference": self.reference, "activations": self.activations,
                "architectures": self.architectures, "strict": self.strict, "summary": self.summary,
                "architecture_params": "widths" in names and "activation" in names,
                "declares_covers": self.covers is not None,
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


def construct(family, **params):
    """Build a candidate of the named family; unknown parameter names are an InputError listing the known ones."""
    fam = get_family(family)
    known = {p.name for p in fam.params}
    extra = sorted(set(params) - known)
    if extra:
        raise InputError(f"{fam.name}: unknown parameter(s) {extra}; known: {sorted(known)}")
    for p in fam.params:
        p.check(params.get(p.name))
    defaults = {p.name: p.default for p in fam.params if p.default is not None and p.name not in params}
    return fam.function(**defaults, **params)
