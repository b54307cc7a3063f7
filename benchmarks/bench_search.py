"""Benchmarks for `spurious search`.

    python benchmarks/bench_search.py speed [--starts 1000] [--loop-starts 50]
        starts per second of the batched search (vmap over starts, Newton polish, clustering; no verification)
        against the per-start loop a researcher would write (nn.Module + torch.optim.LBFGS, one start at a time,
        same tolerance and iteration budget), 2-4-1 tanh on 20 random-label samples. The loop is timed on
        --loop-starts starts and reported per start (it is linear in the number of starts).
    python benchmarks/bench_search.py safran-shamir [--k 6,7,8,9,10] [--starts 500] [--optimizer lbfgs]
        Safran-Shamir (ICML 2018) reproduction through search: k = n, teacher = identity, Gaussian inputs,
        output weights fixed to 1; fraction of starts ending in spurious minima (certified by the interval path
        where it succeeds, else numerical), with the loss values (their F = our loss / 2). The full k = 6..20
        table under the paper's protocol is benchmarks/bench_safran_shamir_table.py.
Timings on a shared machine vary; the ratio is what matters.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def _tanh_problem(n=20, seed=0):
    from spurious.activations import make_activation
    from spurious.search.datasets import make_data
    from spurious.network import Network
    from spurious.problem import Loss, Problem

    net = Network.make((2, 4, 1), make_activation("tanh"))
    return Problem(net, make_data("random-labels", (2, 4, 1), n=n, seed=seed), Loss())


def loop_search(problem, starts, max_iter=1000, gtol=1e-6, seed=0):
    """The researcher's loop: a fresh nn.Module per start, torch.optim.LBFGS to the same tolerance."""
    from spurious.arithmetic import FloatModel
    from spurious.search.multistart import _zero_point

    fm = FloatModel(problem, _zero_point(problem.network))
    X, Y = fm.X, fm.Y
    torch.manual_seed(seed)
    losses = []
    for _ in range(starts):
        model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
        opt = torch.optim.LBFGS(model.parameters(), max_iter=max_iter, tolerance_grad=gtol, tolerance_change=0,
                                history_size=10, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = ((model(X) - Y) ** 2).mean()
            loss.backward()
            return loss

        opt.step(closure)
        losses.append(float(closure().detach()))
    return losses


def speed(args):
    from spurious.search.multistart import search

    torch.set_num_threads(1)
    problem = _tanh_problem()
    t = time.perf_counter()
    res = search(problem, starts=args.starts, seed=0, verify=False, chunk_size=args.starts)
    batched = time.perf_counter() - t
    t = time.perf_counter()
    loop_search(problem, args.loop_starts)
    loop = time.perf_counter() - t
    b_rate, l_rate = args.starts / batched, args.loop_starts / loop
    print(f"batched search : {args.starts} starts in {batched:.2f} s = {b_rate:.1f} starts/s "
          f"({len(res.minima)} distinct minima, {res.unconverged} unconverged)")
    print(f"per-start loop : {args.loop_starts} starts in {loop:.2f} s = {l_rate:.2f} starts/s "
          "(nn.Module + torch.optim.LBFGS, strong Wolfe)")
    print(f"speed-up       : {b_rate / l_rate:.1f}x")


def safran_shamir(args):
    from spurious.search.datasets import safran_shamir_problem
    from spurious.search.multistart import search

    print("| k = n | starts | unconverged | spurious (certified) | spurious (numerical only) | % spurious "
          "| families: F (hits) | s |")
    print("|---|---|---|---|---|---|---|---|")
    for k in [int(v) for v in args.k.split(",")]:
        problem, base = safran_shamir_problem(k, k)
        t = time.perf_counter()
        res = search(problem, base, starts=args.starts, seed=args.seed, optimizer=args.optimizer,
                     chunk_size=min(args.starts, 500), max_verify=args.max_verify, lr=0.05,
                     max_iter=args.max_iter)
        spurious = [m for m in res.minima if m.loss / 2 >= 1e-3]
        cert = sum(m.hits for m in spurious if m.certified_spurious)
        num = sum(m.hits for m in spurious if not m.certified_spurious)
        fams = {}
        for m in spurious:
            fams.setdefault(m.family, [m.loss / 2, 0, 0])
            fams[m.family][1] += m.hits
            fams[m.family][2] += int(m.certified_spurious)
        ftxt = "; ".join(f"{F:.10f} ({h})" for F, h, _ in fams.values()) or "-"
        print(f"| {k} | {res.starts_done} | {res.unconverged} | {cert} | {num} | {100 * (cert + num) / res.starts_done:.1f} | {ftxt} "
              f"| {time.perf_counter() - t:.0f} |", flush=True)
        if args.verbose:
            for m in res.minima:
                r = m.reported
                print(f"    F={m.loss / 2:.10f} hits={m.hits} verdict={r.verdict if r else '-'} "
                      f"rigor={r.rigor if r else '-'} global={r.glob if r else '-'} lam_min={m.min_eigenvalue:.3e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--starts", type=int, default=1000)
    s.add_argument("--loop-starts", type=int, default=50)
    s.set_defaults(fn=speed)
    s = sub.add_parser("safran-shamir")
    s.add_argument("--k", default="6,7,8,9,10")
    s.add_argument("--starts", type=int, default=500)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--optimizer", default="lbfgs")
    s.add_argument("--max-iter", type=int, default=1000)
    s.add_argument("--max-verify", type=int, default=60)
    s.add_argument("--verbose", action="store_true")
    s.set_defaults(fn=safran_shamir)
    args = ap.parse_args()
    np.set_printoptions(precision=4)
    args.fn(args)


if __name__ == "__main__":
    main()
