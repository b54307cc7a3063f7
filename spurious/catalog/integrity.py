"""Integrity of stored entries: content hash, canonical id, figure columns, and a fresh proof that must agree.

A tampered entry (numbers edited behind the tool's back, even with a recomputed hash) fails one of: the content
hash; the canonical id of the stored candidate; the figure columns recomputed from the stored JSON; the verdict,
global status and rigor of a fresh ``verify()``; the fresh proof's loss and witness loss (equal when exact,
overlapping when enclosures: two true enclosures of one number always overlap).
"""

from __future__ import annotations

import json

from ..candidate import candidate_from_json
from ..errors import InputError
from ..rationals import parse_number
from .canonical import stable_id
from .entries import content_hash, figures_of

__all__ = ["check_row"]


def check_row(row, run_verify) -> tuple:
    """(ok, message) for one stored row (figures + JSON); ``run_verify`` re-proves the candidate."""
    if row["candidate_json"] is None or row["certificate_json"] is None:
        return False, "TAMPERED: the stored candidate / certificate JSON is missing"
    if content_hash(row) != row["content_hash"]:
        return False, "TAMPERED: content hash mismatch (stored numbers were changed outside the catalog)"
    try:
        candidate = candidate_from_json(json.loads(row["candidate_json"]))
        stored = json.loads(row["certificate_json"])
    except (InputError, ValueError) as e:
        return False, f"TAMPERED: stored candidate does not parse ({e})"
    if stable_id(candidate) != row["id"]:
        return False, "TAMPERED: the stored candidate's canonical id differs from the entry id"
    expected = figures_of(candidate, stored)
    bad = [k for k, v in expected.items() if not _same(v, row.get(k))]
    if bad:
        return False, f"TAMPERED: figure columns disagree with the stored JSON ({', '.join(bad)})"
    fresh = run_verify(candidate)
    if not row["certified"] and fresh.proved:
        return True, (f"numerical evidence that is now provable ({fresh.verdict}, {fresh.glob}, rigor {fresh.rigor}):"
                      " add it again to store the certificate")
    now = (fresh.verdict, fresh.glob, fresh.rigor)
    then = (stored.get("verdict"), stored.get("global"), stored.get("rigor"))
    if now != then:
        return False, f"FAILED: re-verification gives {'/'.join(now)}, stored {'/'.join(map(str, then))}"
    if row["certified"] and not fresh.proved:
        return False, f"FAILED: stored as certified but re-verification is not a proof ({fresh.rigor})"
    if fresh.proved:
        again = fresh.to_json()
        for key in ("loss", "witness_loss"):
            if not _numbers_agree(again.get(key), stored.get(key)):
                return False, f"FAILED: re-verification gives {key} {again.get(key)}, stored {stored.get(key)}"
    label = "re-proved" if fresh.proved else "re-checked (numerical evidence only)"
    return True, f"{label}: {fresh.verdict}, {fresh.glob}, rigor {fresh.rigor}"


def _bounds(v):
    """(lo, hi) exact bounds of a certificate number: exact text or a [lo, hi] enclosure; None for floats."""
    if isinstance(v, list) and len(v) == 2:
        lo, hi = v
    else:
        lo = hi = v
    if isinstance(lo, float) or isinstance(hi, float):
        return None
    return parse_number(lo), parse_number(hi)


def _numbers_agree(fresh, stored) -> bool:
    """Two proved values of one quantity agree: equal when exact, overlapping when enclosures (both are true)."""
    if fresh is None or stored is None:
        return fresh is None and stored is None
    try:
        a, b = _bounds(fresh), _bounds(stored)
    except InputError:
        return False
    if a is None or b is None:
        return True  # float evidence: nothing to compare exactly
    return max(a[0], b[0]) <= min(a[1], b[1])


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return a == b or abs(a - b) <= 1e-12 * max(1.0, abs(a))
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) if a is not None and b is not None else a is b
    return a == b
