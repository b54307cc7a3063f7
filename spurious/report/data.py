"""The report's data gathering: claim checks within a budget and the papers' reproduction tables (no HTML)."""

from __future__ import annotations

import importlib
import time
from fractions import Fraction

__all__ = ["run_claims", "agreement", "reproduction_tables", "is_exact", "CLAIM_STATUSES"]

CLAIM_STATUSES = ("refuted", "consistent", "out_of_scope", "error", "not_checked")


def is_exact(x) -> bool:
    """An exact number (fmpq, int, Fraction), not a float or a string."""
    return type(x).__name__ == "fmpq" or isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def run_claims(claims, catalog, budget: float) -> list:
    """Check claims in turn within ``budget`` seconds in all (each gets an equal share of what is left); a claim
    that cannot start in time is ``not_checked``; a checker failure is ``error`` with its message (never hidden)."""
    from ..claims.checker import check_claim

    end = time.monotonic() + budget
    out = []
    for i, claim in enumerate(claims):
        row = {"id": claim.id, "title": claim.title, "statement": claim.statement, "source": dict(claim.source),
               "conclusion": claim.conclusion, "expected": claim.expected, "verdict": "not_checked",
               "reproduced": None, "counterexample": None, "certificate": None, "reasons": [], "tried": [],
               "seconds": 0.0}
        left = end - time.monotonic()
        if left <= 0:
            row["reasons"] = ["the report's --budget was used up before this claim"]
            out.append(row)
            continue
        t0 = time.monotonic()
        try:
            result = check_claim(claim, catalog=catalog, budget=left / (len(claims) - i)).to_json()
            row.update({k: result.get(k) for k in ("verdict", "reproduced", "counterexample", "certificate",
                                                   "reasons", "tried")})
        except Exception as e:  # noqa: BLE001  (a checker bug must not hide the other claims)
            row["verdict"] = "error"
            row["reasons"] = [f"the checker failed: {type(e).__name__}: {e}"]
        row["seconds"] = time.monotonic() - t0
        out.append(row)
    return out


def _printed_digits(x: float) -> int:
    text = repr(float(x))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def agreement(paper, ours) -> str:
    """Exact comparison for exact numbers, printed-digit comparison for a published decimal."""
    if paper is None:
        return "not published"
    if ours is None:
        return "not computed"
    if is_exact(paper) and is_exact(ours):
        return "equal" if paper == ours else "DIFFERENT"
    digits = _printed_digits(paper) if isinstance(paper, float) else 12
    ok = abs(float(ours) - float(paper)) <= 0.5 * 10.0 ** -digits * (1 + 1e-9)
    return f"agrees to {digits} decimals" if ok else f"DIFFERS at {digits} decimals"


def _normalise(name, reference, rows) -> dict:
    rows = list(rows)
    if rows and isinstance(rows[0], dict):
        columns = list(dict.fromkeys(k for r in rows for k in r))
        return {"family": name, "reference": reference, "columns": columns,
                "rows": [[r.get(c) for c in columns] for r in rows], "error": None}
    return {"family": name, "reference": reference, "columns": ["quantity", "paper", "spurious", "agreement"],
            "rows": [[q, p, o, agreement(p, o)] for q, p, o in rows], "error": None}


def reproduction_tables(extra_modules=("safran_shamir", "yun_smooth")) -> list:
    """The construction families' ``reproduce()`` tables (as ``spurious constructions --reproduce`` prints them),
    plus those of construction modules that exist but are not registered yet."""
    from ..constructions import families
    from ..verifiers import verify

    sources = [(f.name, f.reference, f.reproduce) for f in families() if f.reproduce is not None]
    names = {s[0] for s in sources}
    for mod_name in extra_modules:
        try:
            mod = importlib.import_module(f"spurious.constructions.{mod_name}")
        except ImportError:
            continue
        fam = getattr(mod, "FAMILY", None) or {}
        if fam.get("name") not in names and callable(getattr(mod, "reproduce", None)):
            sources.append((fam.get("name", mod_name), fam.get("reference", ""), mod.reproduce))
    tables = []
    for name, reference, fn in sources:
        try:
            tables.append(_normalise(name, reference, fn(verify=verify)))
        except Exception as e:  # noqa: BLE001
            tables.append({"family": name, "reference": reference, "columns": [], "rows": [],
                           "error": f"{type(e).__name__}: {e}"})
    return tables
