"""Benchmark (issue 3 item 5): the rigorous interval verdict against the float analysis, as P grows.

A tanh network 10-h-h-1, biases only at the output (P = h^2 + 11 h + 1), on n = 100 seeded samples with weight
decay 1/20 (no flat bias directions, so minima are typically strict), trained to a
minimum by float optimisation (torch LBFGS, then float Newton steps; not timed). Timed per point:

* float analysis: the torch Hessian (``FloatModel.hessians``) plus ``numpy.linalg.eigvalsh``;
* rigorous verdict: ``verify(candidate, "interval")`` (Newton polishing with arb gradients, arb gradient and loss,
  the fast float Hessian enclosure with rounding bounds, Rump's verified Cholesky), end to end.

Run: ``python benchmarks/bench_verify_interval.py [h ...]`` (default h = 7 18 27 41, i.e. P = 127 .. 2133).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from flint import fmpq

from spurious.activations import make_activation
from spurious.arithmetic import FloatModel
from spurious.candidate import Candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.verifiers import verify


def problem(h, n=100, d=10, seed=0):
    rng = np.random.default_rng(seed)
    net = Network.make([d, h, h, 1], make_activation("tanh"), bias=[False, False, True])
    Xf = rng.integers(-8, 9, (n, d)) / 8
    Yf = np.tanh(Xf @ rng.normal(size=(d, 3))) @ rng.normal(size=3) + 0.1 * rng.normal(size=n)
    X = tuple(tuple(fmpq(int(round(8 * v)), 8) for v in row) for row in Xf)
    Y = tuple((fmpq(int(round(256 * v)), 256),) for v in Yf)
    prob = Problem(net, FiniteData(X, Y), Loss(weight_decay=fmpq(1, 20)))
    base = Point.from_arrays([np.zeros((h, d)), np.zeros((h, h)), np.zeros((1, h))], [None, None, np.zeros(1)])
    return prob, base


def train(prob, base, seed=0):
    model = FloatModel(prob, base)
    rng = np.random.default_rng(seed)
    x = model.lbfgs(rng.normal(size=prob.network.num_params) * 0.3, max_iter=500, rounds=6)
    for _ in range(3):  # float Newton steps
        _, g, H = model.evaluate(x)
        x = x - np.linalg.lstsq(H, g, rcond=1e-13)[0]
    return Candidate(prob, base.with_flat(prob.network, x.tolist())), model


def float_analysis(model, x):
    t = time.perf_counter()
    H = model.hessians(x)[0].numpy()
    w = np.linalg.eigvalsh(H)
    return time.perf_counter() - t, w[0]


def main(hs):
    print(f"{'P':>6} {'float (s)':>10} {'rigorous (s)':>13} {'ratio':>6}  verdict / float lambda_min / proven mu / radius")
    for h in hs:
        prob, base = problem(h)
        cand, model = train(prob, base)
        x = cand.point.flatten_float(prob.network)
        model.hessians(x[:])  # warm-up (torch.func tracing)
        tf, lam = float_analysis(model, x)
        t = time.perf_counter()
        cert = verify(cand, "interval")
        tr = time.perf_counter() - t
        mu = None if cert.reduced_min_eigenvalue is None else float(cert.reduced_min_eigenvalue)
        rad = None if cert.radius is None else float(cert.radius)
        print(f"{prob.network.num_params:>6} {tf:>10.2f} {tr:>13.2f} {tr / tf:>6.2f}  {cert.verdict} / {lam:.3g} / "
              f"{mu if mu is None else f'{mu:.3g}'} / {rad if rad is None else f'{rad:.3g}'}", flush=True)
        if cert.verdict == "inconclusive":
            print("   ", cert.reasons[-3:])


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [7, 18, 27, 41])
