"""Catalog lookup benchmark: find one entry among N (default 100,000) by filters; target under 50 ms.

Rows are built from a few real entries (verified candidates) with varied figures and ids, bulk-inserted in one
transaction; then filtered queries are timed (median and worst of --repeat runs, wall clock, warm cache).

    python benchmarks/bench_catalog.py [--n 100000] [--url PATH_OR_URL] [--repeat 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from spurious.catalog import Catalog  # noqa: E402
from spurious.catalog.entries import content_hash  # noqa: E402

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "quadratic", "softplus", "gelu", "erf")
FAMILIES = tuple(f"family-{k}" for k in range(12))
VERDICTS = ("strict_local_min", "strict_modulo_symmetry", "non_strict_local_min", "not_local_min", "not_critical")


def real_rows(cat, count=4):
    from conftest import random_problem

    from spurious.candidate import Candidate

    rows = []
    for seed, widths in enumerate([(1, 2, 1), (2, 3, 1), (2, 2, 2, 1), (3, 4, 1)][:count]):
        problem, point = random_problem(seed, widths, "relu")
        rows.append(cat.prepare(Candidate(problem, point, meta={"construction": "bench"})))
    return rows


def synthetic_rows(base, n, rng):
    """n rows copied from real ones with varied searchable figures and fresh ids."""
    out = []
    for k in range(n):
        row = dict(rng.choice(base))
        depth = rng.randint(1, 4)
        hidden = [rng.randint(1, 64) for _ in range(depth - 1)]
        d_in = rng.randint(1, 32)
        row.update(id=hashlib.sha256(f"{rng.random()}-{k}".encode()).hexdigest()[:20],
                   activation=rng.choice(ACTIVATIONS) if hidden else "none", depth=depth,
                   widths="-".join(map(str, [d_in, *hidden, 1])), max_width=max(hidden, default=0), input_dim=d_in,
                   family=rng.choice(FAMILIES), verdict=rng.choice(VERDICTS), certified=rng.random() < 0.9,
                   loss_value=rng.random(), n_samples=rng.randint(1, 1000))
        row["content_hash"] = content_hash(row)
        out.append(row)
    return out


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return result, 1000 * statistics.median(times), 1000 * max(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--url", default=None, help="catalog URL or SQLite path (default: a temporary file)")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    tmp = None
    if args.url is None:
        tmp = tempfile.mkdtemp(prefix="spurious-bench-")
        args.url = os.path.join(tmp, "bench.sqlite")
    rng = random.Random(args.seed)
    cat = Catalog(args.url, load_shipped=False)
    base = real_rows(cat)
    rows = synthetic_rows(base, args.n, rng)
    needle = dict(rows[rng.randrange(len(rows))], id="fee1dead" + "0" * 12, activation="gelu", depth=3,
                  widths="7-13-5-1", max_width=13, input_dim=7, family="family-3", certified=True)
    needle["content_hash"] = content_hash(needle)
    rows.append(needle)
    t = time.perf_counter()
    cat.bulk_insert(rows)
    insert_s = time.perf_counter() - t
    report = {"backend": cat.backend, "entries": len(cat.ids()), "bulk_insert_s": round(insert_s, 2)}
    queries = {
        "needle: activation+depth+max_width+input_dim+family": lambda: cat.find(
            activation="gelu", depth=3, max_width=13, input_dim=7, family="family-3"),
        "get by id": lambda: [cat.get(needle["id"])],
        "get by 8-digit prefix": lambda: [cat.get(needle["id"][:8])],
        "activation+max_width<=4, 20 lowest losses": lambda: cat.find(activation="relu", max_width=4, limit=20),
        "family+verdict, 20 lowest losses": lambda: cat.find(family="family-5", verdict="strict_local_min", limit=20),
        "input_dim only (no leading index column), 20 lowest": lambda: cat.find(input_dim=7, limit=20),
        "unindexed tag (full scan of the figures table)": lambda: cat.find(tag="none-such"),
    }
    for name, fn in queries.items():
        result, med, worst = timed(fn, args.repeat)
        report[name] = {"median_ms": round(med, 2), "max_ms": round(worst, 2), "hits": len(result)}
    hit = cat.find(activation="gelu", depth=3, max_width=13, input_dim=7, family="family-3")
    assert any(r["id"] == needle["id"] for r in hit), "the needle was not found"
    print(json.dumps(report, indent=1))
    cat.close()
    if tmp:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return report


if __name__ == "__main__":
    main()
