"""Benchmark: the exact proof path against P (issue 3 items 1-2, issue 13 "Scale").

Each configuration is a one-hidden-layer leaky-ReLU network fitted exactly to n = P data points (labels = the
network's own outputs), so the point is a critical point whose Hessian is positive definite modulo the rescalings:
the full pipeline runs and returns strict_modulo_symmetry.

Columns (wall seconds, one process, side by side):
  evaluate   exact loss/gradient/Hessian (fmpq), only where P <= EXACT_HESSIAN_MAX_P
  charpoly   exact inertia by the characteristic polynomial (the old decision step), only where P <= CHARPOLY_MAX_P
  full run   ``spurious.verifiers.exact.run``: verified float Cholesky of the exact Hessian (Rump) modulo the
             tangents; above ``ENCLOSURE_MIN_P`` the exact gradient plus a rigorous float Hessian enclosure
  float      float analysis of the same point: torch Hessian (FloatModel.hessians) + numpy eigvalsh
  ratio      full run / float

Run: python benchmarks/bench_verify_exact.py [MAX_P]   (default 1000; 2000 takes minutes: the torch Hessian needs ~9 GB,
the certificate ~3 GB)
"""

import random
import sys
import time

import numpy as np
from flint import fmpq

from spurious.activations import make_activation
from spurious.arithmetic import FloatModel, evaluate_exact
from spurious.arithmetic.contexts import EXACT
from spurious.candidate import Candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, Problem
from spurious.verifiers.exact import run
from spurious.linalg import charpoly_inertia

# (d0, width): P = width (d0 + 2) + 1
CONFIGS = [(8, 10), (13, 20), (30, 31), (42, 45)]  # P = 101, 301, 993, 1981
EXACT_HESSIAN_MAX_P = 400
CHARPOLY_MAX_P = 310


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


def float_analysis(problem, point):
    """Seconds for the float Hessian (torch) and its eigenvalues (numpy), after a warm-up call."""
    model = FloatModel(problem, point)
    x = point.flatten_float(problem.network)
    model.hessians(x)  # warm-up (tracing)
    t = time.perf_counter()
    H = model.hessians(x)[0].numpy()
    np.linalg.eigvalsh(H)
    return time.perf_counter() - t


def main(configs=CONFIGS, max_p=1000):
    import torch

    torch.set_num_threads(1)
    print(f"{'P':>5} {'n':>5} {'evaluate':>9} {'charpoly':>9} {'full run':>9} {'float':>7} {'ratio':>6}  verdict")
    for d0, k in configs:
        seed = 0
        problem, point = setup(d0, k, seed)
        if problem.network.num_params > max_p:
            continue
        while evaluate_exact(problem, point, order=0).kinks:  # the first seed with no pre-activation on the kink
            seed += 1
            problem, point = setup(d0, k, seed)
        P = problem.network.num_params
        t_eval = t_cp = float("nan")
        if P <= EXACT_HESSIAN_MAX_P:
            t = time.perf_counter()
            ev = evaluate_exact(problem, point)
            t_eval = time.perf_counter() - t
            if P <= CHARPOLY_MAX_P:
                t = time.perf_counter()
                charpoly_inertia(ev.hessian)
                t_cp = time.perf_counter() - t
        t = time.perf_counter()
        cert = run(Candidate(problem, point))
        t_run = time.perf_counter() - t
        t_float = float_analysis(problem, point)
        print(f"{P:>5} {problem.data.n:>5} {t_eval:>9.3f} {t_cp:>9.3f} {t_run:>9.3f} {t_float:>7.3f} "
              f"{t_run / t_float:>6.2f}  {cert.verdict}", flush=True)


if __name__ == "__main__":
    main(max_p=int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
