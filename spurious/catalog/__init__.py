"""The catalog: a database of candidates with their certificates, searchable, exportable and re-verifiable.

``Catalog(url)`` opens (or creates) a catalog; see :mod:`spurious.catalog.store`. Stable ids come from a canonical
form (:mod:`spurious.catalog.canonical`), derivations are kept as lineage (:mod:`spurious.catalog.lineage`),
exports in :mod:`spurious.catalog.export`.
"""

from .canonical import canonical_form, stable_id
from .entries import Entry, NotCertifiedError
from .store import Catalog, default_url

__all__ = ["Catalog", "Entry", "NotCertifiedError", "canonical_form", "stable_id", "default_url"]
