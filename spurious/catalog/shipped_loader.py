"""Entries shipped with the package (``spurious/catalog/shipped/*.json``), loaded into a catalog on first use.

Every ``*.json`` file in the folder is a candidate file (``spurious.candidate/1``). A candidate with a certificate
shipped beside it (``shipped/certificates/NAME``, produced by ``scripts/make_shipped.py`` from a full proof) is stored
with it, so that a fresh catalog opens in a second; one without is verified when loaded: a proved certificate makes a
certified entry, anything else is kept as flagged numerical evidence. ``spurious catalog verify`` re-proves all. The set is reloaded (idempotently: ids are canonical) whenever the shipped files or the
available proof paths change, so entries are upgraded to certified when a proof path lands.
"""

from __future__ import annotations

import hashlib
from importlib import resources

from ..candidate import loads_candidate

__all__ = ["shipped_files", "shipped_key", "load_shipped_entries"]

META_KEY = "shipped_key"


def shipped_files() -> list:
    """(name, text) of every shipped candidate file, sorted by name."""
    folder = resources.files("spurious.catalog") / "shipped"
    if not folder.is_dir():
        return []
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".json"))


def _shipped_certificates() -> dict:
    """name -> certificate JSON from ``shipped/certificates/NAME`` (written by scripts/make_shipped.py)."""
    import json

    folder = resources.files("spurious.catalog") / "shipped" / "certificates"
    if not folder.is_dir():
        return {}
    return {f.name: json.loads(f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".json")}


def shipped_key(files) -> str:
    from ..verifiers import PATH_NAMES
    from .entries import tool_version

    h = hashlib.sha256(("|".join(PATH_NAMES) + "|" + tool_version()).encode())
    for name, text in files:
        h.update(name.encode() + b"\x00" + text.encode() + b"\x00")
    return h.hexdigest()


def load_shipped_entries(catalog) -> int:
    """Load the shipped files when they (or the proof paths) changed since the last load; returns rows written."""
    files = shipped_files()
    key = shipped_key(files)
    if catalog.get_meta(META_KEY) == key:
        return 0
    rows = []
    certificates = _shipped_certificates()
    for name, text in files:
        candidate = loads_candidate(text, f"shipped/{name}")
        rows.append(catalog.prepare(candidate, allow_numerical=True, source="shipped", tags=("shipped",),
                                    shipped_certificate=certificates.get(name)))
    results = catalog.add_rows(rows)
    catalog.set_meta(META_KEY, key)
    return sum(new for _, new in results)
