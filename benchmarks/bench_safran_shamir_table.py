"""The Safran-Shamir table (ICML 2018, arXiv 1712.08968, Table 1) by search, k = n = 6..20, every spurious end point
certified by the interval path.

    python benchmarks/bench_safran_shamir_table.py --k 6..20 --starts 500 --optimizer gd --workers 2 \
        --chunk-size 250 --out ss-gd.jsonl
    python benchmarks/bench_safran_shamir_table.py --k 6..20 --starts 500 --optimizer lbfgs --workers 2 \
        --chunk-size 125 --out ss-lbfgs.jsonl

Protocol of the paper: k = n, teacher = identity (output weights fixed to 1), Gaussian inputs; W = randn(k, n) /
sqrt(k) (our starts: N(0, 1/fan_in), fan_in = n = k); plain gradient descent with step 0.1 on their
F = E(f - g)^2 / 2 = our loss / 2, i.e. step 0.05 on our loss; stop when 2 pi ||dF/dw_i|| <= 1e-9 for every
neuron i, which ||grad(our loss)|| <= 2e-9 / (2 pi) implies (a slightly stricter test); an end point is "bad" when
F >= 1e-3. There is no silent iteration cap: --max-iter (default 10^6) is reported, and every start that has not
met the stopping rule by then is counted as unconverged (whatever the Newton polish that follows would make of
it). L-BFGS runs to the same gradient tolerance. Plain GD runs all starts of a chunk as one numpy batch with the
closed-form gradient (converged starts leave the batch; :func:`spurious.search.optimizers._gd`).
With --handoff G (e.g. 1e-6) the optimiser stops at gradient norm G instead and Newton steps on the closed-form
Hessian finish to the paper's tolerance (quadratic convergence): the basin is the optimiser's, Newton only polishes;
an end point still above the tolerance after the polish counts as unconverged. L-BFGS also stops a start whose loss
has not decreased beyond rounding for 100 iterations (judged by its final gradient).

Each k is one search (chunked, --workers processes); its row is appended to --out as one JSON line as soon as it
is done, and a rerun skips the k already in --out (resumable). Per row: starts, unconverged, hits in certified
spurious minima, hits in spurious end points left numerical (the goal is none), families (F, hits, certified),
and seconds spent in optimisation (incl. polish and clustering) and in verification, CPU seconds of the chunks
(whatever process ran them) and of this process outside them (merging, verification), the most iterations of a
start, and whether the zero-loss (teacher) cluster was certified global (exactly, at the permuted teacher: see
:func:`spurious.search.multistart.zero_loss_certificate`). The table is printed at the end (markdown).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

PAPER_GTOL = 2e-9 / (2 * math.pi)   # on our loss = 2F: 2 pi |dF/dw_i| <= 1e-9 for all i is implied
PAPER_STEP = 0.05                    # their step 0.1 on F = our loss / 2
BAD_F = 1e-3


def parse_ks(text):
    if ".." in text:
        a, b = text.split("..")
        return list(range(int(a), int(b) + 1))
    return [int(v) for v in text.split(",")]


def run_k(k, args):
    from spurious.search import search
    from spurious.search.multistart import ZERO_LOSS
    from spurious.search.datasets import safran_shamir_problem

    problem, base = safran_shamir_problem(k, k)
    chunks = []
    t0, c0 = time.perf_counter(), time.process_time()
    res = search(problem, base, starts=args.starts, seed=args.seed, optimizer=args.optimizer, workers=args.workers,
                 chunk_size=args.chunk_size, max_iter=args.max_iter, gtol=PAPER_GTOL, lr=PAPER_STEP,
                 converged_tol=PAPER_GTOL, max_verify=args.max_verify, budget=args.budget, handoff=args.handoff,
                 callback=lambda e: chunks.append(e["result"]))
    total = time.perf_counter() - t0
    cpu_main = time.process_time() - c0
    # CPU: the chunks' own CPU time (in whatever process ran them) + this process's time outside the chunks
    cpu_chunks = sum(c.cpu_seconds for c in chunks)
    cpu_here = cpu_main - (cpu_chunks if args.workers == 1 else 0.0)
    bad = [m for m in res.minima if m.loss / 2 >= BAD_F]
    fams = {}
    for m in bad:
        f = fams.setdefault(m.family, {"F": round(m.loss / 2, 10), "hits": 0, "entries": 0, "certified": 0})
        f["hits"] += m.hits
        f["entries"] += 1
        f["certified"] += int(m.certified_spurious)
        if m.certificate is not None:
            f.setdefault("proofs", sorted({f"{m.certificate.verdict} ({m.certificate.rigor}): {m.certificate.method}"}))
    return {"k": k, "optimizer": args.optimizer, "starts": res.starts_done, "requested": args.starts,
            "complete": res.complete, "unconverged": res.unconverged, "max_iter": args.max_iter,
            "certified_hits": sum(m.hits for m in bad if m.certified_spurious),
            "numerical_hits": sum(m.hits for m in bad if not m.certified_spurious),
            "families": list(fams.values()), "seconds_search": round(res.search_seconds, 1),
            "seconds_verify": round(total - res.search_seconds, 1), "seconds": round(total, 1),
            "cpu_search": round(cpu_chunks, 1), "cpu_main": round(cpu_here, 1),
            "workers": args.workers, "handoff": args.handoff, "chunk_size": args.chunk_size,
            "max_chunk_iterations": max((c.max_iterations for c in chunks), default=0),
            "zero_loss_hits": sum(m.hits for m in res.minima if m.loss <= ZERO_LOSS),
            "zero_loss_certified": any(m.loss <= ZERO_LOSS and m.certificate is not None and m.certificate.proved
                                       and m.certificate.glob == "global" for m in res.minima),
            "mean_iterations": round(sum(c.iterations * c.n for c in chunks) / max(1, sum(c.n for c in chunks)), 1),
            "distinct_minima": len(res.minima), "verified": sum(m.certificate is not None for m in res.minima)}


def table(rows):
    out = ["| k = n | starts | unconverged | % in certified spurious minima | numerical only | families: F (hits) "
           "| s (search + verify) | CPU s (search + main) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fam = "; ".join(f"{f['F']:.10f} ({f['hits']})" for f in r["families"]) or "-"
        pct = 100 * r["certified_hits"] / r["starts"] if r["starts"] else 0.0
        out.append(f"| {r['k']} | {r['starts']} | {r['unconverged']} | {pct:.1f} | {r['numerical_hits']} | {fam} "
                   f"| {r['seconds_search']:.0f} + {r['seconds_verify']:.0f} "
                   f"| {r.get('cpu_search', 0):.0f} + {r.get('cpu_main', 0):.0f} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", default="6..20")
    ap.add_argument("--starts", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--optimizer", choices=["gd", "lbfgs"], default="gd")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--chunk-size", type=int, default=125)
    ap.add_argument("--max-iter", type=int, default=10**6)
    ap.add_argument("--max-verify", type=int, default=200)
    ap.add_argument("--handoff", type=float, default=None,
                    help="the optimiser stops at this gradient norm and Newton (closed-form Hessian) finishes to the "
                         "paper's tolerance; the basin is the optimiser's (default: the optimiser runs to it)")
    ap.add_argument("--budget", type=float, default=None, help="seconds per k")
    ap.add_argument("--out", default=None, help="JSON lines file: rows are appended; k already there are skipped")
    args = ap.parse_args()
    rows = []
    if args.out and os.path.exists(args.out):
        with open(args.out) as fh:
            rows = [r for r in map(json.loads, fh) if r["optimizer"] == args.optimizer]
    done = {r["k"] for r in rows}
    for k in parse_ks(args.k):
        if k in done:
            continue
        row = run_k(k, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
    print(table(sorted(rows, key=lambda r: r["k"])))


if __name__ == "__main__":
    main()
