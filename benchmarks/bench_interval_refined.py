"""The interval path near a nearly singular minimum: verdict and time with and without the refined centre.

A planted tanh point (default 2-3-3-1, seed 0) is critical for every label set Y_s = F - s r; its Hessian is linear in
s and loses positive definiteness at a float crossing s*. For s = s* (1 - rel) the point is a strict minimum whose
smallest eigenvalue shrinks with rel; for s = s* (1 + rel) a saddle. Each row: rel, the float smallest eigenvalue,
the verdict and time with the float64 centre only (REFINE_STEPS = 0) and with refinement (the default).

    python benchmarks/bench_interval_refined.py [--widths 2,3,3,1] [--activation tanh] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import numpy as np

from spurious.constructions.planted import plant, residual_family
from spurious.verifiers import interval


def timed(cand, steps):
    saved = interval.REFINE_STEPS
    interval.REFINE_STEPS = steps
    try:
        t = time.perf_counter()
        cert = interval.run(cand)
        return cert.verdict, time.perf_counter() - t
    finally:
        interval.REFINE_STEPS = saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="2,3,3,1")
    ap.add_argument("--activation", default="tanh")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cand = plant(widths=tuple(int(w) for w in a.widths.split(",")), activation=a.activation, seed=a.seed)
    at, s_star, hessian = residual_family(cand)
    print(f"{a.activation} {a.widths} seed {a.seed}: s* = {s_star:.6g}")
    print("| s / s* | lambda_min (float) | float64 centre | refined centre |")
    print("|---|---|---|---|")
    for rel in (-1e-1, -1e-2, -1e-3, -1e-4, -1e-5, -1e-6, 1e-6, 1e-3):
        cand = at(s_star * (1 + rel))
        lam = np.linalg.eigvalsh(hessian(cand))[0]
        (v0, t0), (v1, t1) = timed(cand, 0), timed(cand, interval.REFINE_STEPS)
        print(f"| 1 {'+' if rel > 0 else '-'} {abs(rel):.0e} | {lam:.3g} | {v0} ({t0:.2f} s) | {v1} ({t1:.2f} s) |")


if __name__ == "__main__":
    main()
