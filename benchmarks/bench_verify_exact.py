"""Benchmark: the exact proof path against P (issue 3, items 1-2).

Each configuration is a one-hidden-layer leaky-ReLU network fitted exactly to n >= P data points (labels = the
network's own outputs), so the point is a critical point whose Hessian is positive definite modulo the rescalings:
the full pipeline runs (exact Hessian, tangent checks, characteristic-polynomial inertia, eigenvalue bound) and
returns strict_modulo_symmetry. Also timed: the inertia alone (charpoly) and the LDL^T cross-check.

Run: python benchmarks/bench_verify_exact.py [LDL_MAX_P]
(one line per P: CPU seconds (process_time) for evaluate / charpoly inertia / LDL / full run)
"""

import random
import sys
import time

from flint import fmpq

from spurious.activations import make_activation
from spurious.arithmetic import evaluate_exact
from spurious.arithmetic.contexts import EXACT
from spurious.candidate import Candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, Problem
from spurious.verifiers.exact import run
from spurious.linalg import charpoly_inertia, ldl_inertia

CONFIGS = [(4, 3), (8, 10), (13, 20)]  # (d0, width): P = width (d0 + 2) + 1 = 19, 101, 301


def setup(d0, k, seed=0):
    rng = random.Random(seed)
    rq = lambda: fmpq(rng.randint(-99, 99), rng.randint(1, 20))  # noqa: E731
    act = make_activation("leaky_relu", slope="1/10")
    net = Network.make([d0, k, 1], act)
    P = net.num_params
    n = P
    X = tuple(tuple(rq() for _ in range(d0)) for _ in range(n))
    W1 = [[rq() for _ in range(d0)] for _ in range(k)]
    b1 = [rq() for _ in range(k)]
    W2 = [[rq() for _ in range(k)]]
    b2 = [rq()]
    Y = []
    for x in X:
        h = [act.evaluate(EXACT, sum((w * v for w, v in zip(row, x)), fmpq(0)) + b)[0] for row, b in zip(W1, b1)]
        Y.append((sum((a * b for a, b in zip(W2[0], h)), fmpq(0)) + b2[0],))
    return Problem(net, FiniteData(X, tuple(Y))), Point.from_arrays([W1, W2], [b1, b2])


def main(configs=CONFIGS, ldl_max=120):
    print(f"{'P':>5} {'n':>5} {'evaluate':>9} {'charpoly':>9} {'LDL':>9} {'full run':>9}  verdict")
    for d0, k in configs:
        seed = 0
        problem, point = setup(d0, k, seed)
        while evaluate_exact(problem, point, order=0).kinks:  # the first seed with no pre-activation on the kink
            seed += 1
            problem, point = setup(d0, k, seed)
        P = problem.network.num_params
        t = time.process_time()
        ev = evaluate_exact(problem, point)
        t_eval = time.process_time() - t
        t = time.process_time()
        charpoly_inertia(ev.hessian)
        t_cp = time.process_time() - t
        t_ldl = float("nan")
        if P <= ldl_max:
            t = time.process_time()
            ldl_inertia(ev.hessian, want_direction=False)
            t_ldl = time.process_time() - t
        t = time.process_time()
        cert = run(Candidate(problem, point))
        t_run = time.process_time() - t
        print(f"{P:>5} {problem.data.n:>5} {t_eval:>9.3f} {t_cp:>9.3f} {t_ldl:>9.3f} {t_run:>9.3f}  {cert.verdict}",
              flush=True)


if __name__ == "__main__":
    main(ldl_max=int(sys.argv[1]) if len(sys.argv) > 1 else 120)
