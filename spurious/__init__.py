"""spurious: constructive counterexamples for spurious local minima of narrow networks, with proofs.

A construction returns a :class:`Candidate` (problem + point + witness + provenance); :func:`verify` turns it into
an immutable :class:`Certificate` (a verdict with the steps of its proof); a :class:`Catalog` stores both. Everything
a researcher needs is reachable from ``import spurious`` alone; the heavy parts (the proof paths, the catalog's
database layer, torch) load on first use.

Build the counterexample of Yun, Sra and Jadbabaie (ICLR 2019, Theorem 1) and prove it:

>>> import spurious
>>> cand = spurious.construct("yun-lift")
>>> cand.network.widths
(1, 2, 1)
>>> cert = spurious.verify(cand)
>>> cert.verdict, cert.glob, cert.rigor, cert.spurious
('non_strict_local_min', 'not_global', 'exact', True)
>>> cert.loss
3431/13400

A candidate file is read with :func:`load_candidate`, and a proof path can be asked for by name:

>>> again = spurious.load_candidate("examples/yun2019-theorem1.json")
>>> spurious.verify(again, path="frozen_pattern").verdict
'non_strict_local_min'

Store it in a catalog (here a temporary SQLite file); a rescaled or permuted copy gets the same id:

>>> import os, tempfile
>>> db = os.path.join(tempfile.mkdtemp(), "catalog.sqlite")
>>> cat = spurious.Catalog(db, load_shipped=False)
>>> entry_id, new = cat.add(cand, cert)
>>> new, [row["verdict"] for row in cat.find(family="yun-lift")]
(True, ['non_strict_local_min'])
"""

from .activations import make_activation
from .candidate import Candidate, load_candidate, loads_candidate
from .errors import InputError, SpuriousError
from .network import Network, Point
from .problem import FiniteData, GaussianData, Loss, Problem

__version__ = "0.1.0"

__all__ = ["construct", "find", "verify", "load_candidate", "loads_candidate", "Catalog", "Certificate", "Candidate",
           "Network", "Point", "Problem", "FiniteData", "GaussianData", "Loss", "make_activation", "InputError",
           "SpuriousError", "__version__"]

# name -> (module, attribute): imported on first use, so that ``import spurious`` stays light (no torch, no
# SQLAlchemy, no proof path is loaded until it is needed)
_LAZY = {
    "construct": ("spurious.constructions", "construct"),
    "find": ("spurious.finder", "find"),
    "verify": ("spurious.verifiers", "verify"),
    "Catalog": ("spurious.catalog", "Catalog"),
    "Certificate": ("spurious.certificate", "Certificate"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spurious' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
