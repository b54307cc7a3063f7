"""Solve times of the convex relaxations against problem size (python benchmarks/bench_relaxations.py [--quick]).

Prints one row per (relaxation, size, solver): wall time of ``global_bound`` (solve + rigorous repair + witness),
the proven lower bound, the proven upper bound (witness or enclosure) and their gap.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from flint import fmpq

from spurious.activations import make_activation
from spurious.candidate import Candidate
from spurious.network import Layer, Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.rationals import fmpq_to_float
from spurious.verifiers.relaxations import global_bound


def _rat(rng):
    return fmpq(rng.randint(-9, 9), rng.randint(1, 5))


def problem(seed, widths, act, n, bias=True, wd=0, trainable=True):
    rng = random.Random(seed)
    net = Network.make(widths, make_activation(act), bias=bias, trainable=trainable)
    X = tuple(tuple(_rat(rng) for _ in range(widths[0])) for _ in range(n))
    Y = tuple(tuple(_rat(rng) for _ in range(widths[-1])) for _ in range(n))
    return Problem(net, FiniteData(X, Y), Loss(weight_decay=fmpq(wd))), rng


def fixed_output_candidate(seed, d, k, n):
    pb, rng = problem(seed, (d, k, 1), "quadratic", n, bias=True, trainable=[True, False])
    W = tuple(tuple(_rat(rng) for _ in range(d)) for _ in range(k))
    b = tuple(_rat(rng) for _ in range(k))
    pt = Point([Layer(W, b), Layer((tuple(fmpq(1) for _ in range(k)),), (fmpq(0),))])
    return Candidate(pb, pt)


def run(label, size, obj, solver):
    t = time.perf_counter()
    b = global_bound(obj, solver=solver)
    dt = time.perf_counter() - t
    lo = fmpq_to_float(b.global_lower_bound)
    hi = None if b.global_upper_bound is None else fmpq_to_float(b.global_upper_bound)
    gap = "-" if hi is None else f"{hi - lo:.2e}"
    print(f"{label:<34} {size:<18} {solver or '-':<9} {dt:8.3f}s  {b.rigor:<9} lb={lo:<14.8g} "
          f"ub={'-' if hi is None else f'{hi:.8g}':<14} gap={gap}")
    sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    args = ap.parse_args(argv)
    q = args.quick
    pb, _ = problem(9, (1, 3, 1), "relu", 4, wd=fmpq(1, 20))
    global_bound(pb)  # warm-up: imports, cvxpy and torch first-call costs are not solve times
    global_bound(fixed_output_candidate(9, 2, 1, 5))
    print(f"{'relaxation':<34} {'size':<18} {'solver':<9} {'time':>9}  {'rigor':<9}")
    for d in ([4, 8] if q else [4, 8, 16, 32]):
        pb, _ = problem(0, (d, d // 2, d), "linear", 2 * d)
        run("deep linear closed form", f"d={d} r={d // 2} n={2 * d}", pb, None)
    for d in ([3, 5] if q else [3, 5, 8, 12]):
        n = d * (d + 1) // 2 + 10
        pb, _ = problem(0, (d, 2, 1), "quadratic", n)
        run("quadratic least squares (exact)", f"d={d} n={n}", pb, None)
    for d in ([3, 5] if q else [3, 5, 10, 20]):
        for solver in ("clarabel", "scs"):
            run("quadratic SDP (fixed v > 0)", f"d={d} k={max(1, d // 2)} n=50",
                fixed_output_candidate(0, d, max(1, d // 2), 50), solver)
    for n in ([5, 10] if q else [5, 10, 20, 40, 80]):
        for solver in ("clarabel", "scs"):
            pb, _ = problem(0, (1, n + 1, 1), "relu", n, wd=fmpq(1, 20))
            run("Pilanci-Ergen 1-D (all patterns)", f"n={n} m={n + 1}", pb, solver)
    for n in ([8] if q else [8, 16, 24, 32]):
        for solver in ("clarabel", "scs"):
            pb, _ = problem(0, (2, n, 1), "relu", n, wd=fmpq(1, 20))
            run("Pilanci-Ergen 2-D (all cells)", f"n={n} m={n}", pb, solver)
    for n in ([8] if q else [8, 16, 32]):
        pb, _ = problem(0, (3, n, 1), "relu", n, wd=fmpq(1, 20))
        run("Pilanci-Ergen 3-D (sampled)", f"n={n} m={n}", pb, "clarabel")


if __name__ == "__main__":
    main()
