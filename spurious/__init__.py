"""spurious: constructive counterexamples for spurious local minima of narrow networks, with proofs.

A construction returns a :class:`Candidate` (problem + point + witness + provenance); a verifier turns it into a
:class:`~spurious.verifiers.Certificate`; the catalog stores both. See README.md and the candidate format.
"""

from .activations import make_activation
from .candidate import Candidate, load_candidate, loads_candidate
from .constructions import construct
from .errors import InputError, SpuriousError
from .network import Network, Point
from .problem import FiniteData, GaussianData, Loss, Problem

__version__ = "0.1.0"

__all__ = ["Candidate", "load_candidate", "loads_candidate", "Network", "Point", "Problem", "FiniteData",
           "GaussianData", "Loss", "make_activation", "InputError", "SpuriousError", "Catalog", "construct",
           "find", "__version__"]


def __getattr__(name):  # lazy: the catalog pulls in SQLAlchemy and the verifiers
    if name == "find":
        from .find import find

        return find
    if name == "Catalog":
        from .catalog import Catalog

        return Catalog
    raise AttributeError(f"module 'spurious' has no attribute {name!r}")
