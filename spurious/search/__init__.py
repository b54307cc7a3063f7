"""Multi-start search for local minima: starts, optimisers, executors, clustering modulo symmetries, verification.

Beside :mod:`spurious.constructions` (which holds only the families): a search finds end points numerically and
hands each distinct one to :func:`spurious.verifiers.verify`.

* :mod:`.multistart` — :func:`search` (the public entry point) and :class:`SearchResult`;
* :mod:`.optimizers` — batched L-BFGS / GD / Newton over starts (torch, float64);
* :mod:`.executors` — where chunks run (this process, a process pool, a Dask cluster);
* :mod:`.polish` — exact polish of piecewise-linear end points inside their activation pattern;
* :mod:`.datasets` — seeded built-in data (Gaussian teacher, random labels, Safran-Shamir).
"""

from .multistart import Minimum, SearchResult, SearchSpec, search, write_candidates

__all__ = ["search", "SearchResult", "SearchSpec", "Minimum", "write_candidates"]
