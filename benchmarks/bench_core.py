"""Benchmark: exact Hessian of a network with P ~ 300 parameters on n = 50 samples (issue goal: < 10 s).

Run: python benchmarks/bench_core.py   (prints one line per configuration: P, n, seconds)
"""

import random
import time

from flint import fmpq

from spurious.activations import make_activation
from spurious.arithmetic import evaluate_ball, evaluate_exact, evaluate_float
from spurious.network import Network, Point
from spurious.problem import FiniteData, Problem


def setup(widths, activation, n, seed=0):
    rng = random.Random(seed)
    rq = lambda: fmpq(rng.randint(-999, 999), rng.randint(1, 100))  # noqa: E731
    net = Network.make(widths, make_activation(**activation) if isinstance(activation, dict)
                       else make_activation(activation))
    X = tuple(tuple(rq() for _ in range(widths[0])) for _ in range(n))
    Y = tuple(tuple(rq() for _ in range(widths[-1])) for _ in range(n))
    Ws = [[[rq() for _ in range(widths[l])] for _ in range(widths[l + 1])] for l in range(len(widths) - 1)]
    bs = [[rq() for _ in range(widths[l + 1])] for l in range(len(widths) - 1)]
    return Problem(net, FiniteData(X, Y)), Point.from_arrays(Ws, bs)


def timed(f, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


if __name__ == "__main__":
    print("path     activation  widths        P     n   seconds (best of 3)")
    for widths in ([5, 20, 8, 1], [10, 25, 1], [3, 12, 12, 12, 1]):
        problem, point = setup(widths, {"name": "leaky_relu", "slope": "1/10"}, 50)
        P = problem.network.num_params
        t = timed(lambda: evaluate_exact(problem, point))
        print(f"exact    leaky_relu  {'-'.join(map(str, widths)):12s} {P:4d} {50:5d}   {t:.3f}")
    for widths in ([5, 20, 8, 1],):
        problem, point = setup(widths, "tanh", 50)
        P = problem.network.num_params
        t = timed(lambda: evaluate_ball(problem, point, radius=1e-12))
        print(f"ball     tanh        {'-'.join(map(str, widths)):12s} {P:4d} {50:5d}   {t:.3f}")
        t = timed(lambda: evaluate_float(problem, point))
        print(f"float    tanh        {'-'.join(map(str, widths)):12s} {P:4d} {50:5d}   {t:.3f}")
