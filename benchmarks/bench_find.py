"""Coverage of `spurious find`: activation x architecture, the best certified result, its route and the time.

    python benchmarks/bench_find.py                       # the full table (long: up to budget s per cell)
    python benchmarks/bench_find.py --activations relu,tanh --archs 2-3-1,2-3-3-1 --budget 60
    python benchmarks/bench_find.py --json out.json       # also write the rows as JSON

Each cell runs ``spurious.find(widths, activation, strict=True, budget=B)`` in a fresh process (so one cell's time
does not include another's imports), and prints the certificate's verdict/global/rigor, the route and the wall time.
Linear networks are reported with the theorem (none exist).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu", "erf", "quadratic", "cubic", "linear"]
ALIASES = {"cubic": "polynomial:0,1,0,1/3"}  # names with commas cannot go in --activations
ARCHS = ["2-3-1", "3-5-1", "2-10-1", "2-3-3-1", "3-4-4-1", "4-8-8-1", "2-3-3-3-1", "3-5-5-5-1", "4-8-8-8-1", "2-10-10-1",
         "10-10-10-1"]

CELL = r"""
import json, sys, time
t = time.monotonic()
from spurious.finder import find
widths = tuple(int(w) for w in sys.argv[1].split("-"))
try:
    res = find(widths, sys.argv[2], strict=True, budget=float(sys.argv[3]))
    c = res.certificate
    row = {"found": res.found, "verdict": c.verdict if c else None, "global": c.glob if c else None,
           "rigor": c.rigor if c else None, "route": res.route, "theorem": res.theorem, "tried": len(res.tried)}
except Exception as exc:  # a crash is a result too
    row = {"found": False, "verdict": None, "error": f"{type(exc).__name__}: {exc}"[:200]}
row["seconds"] = round(time.monotonic() - t, 1)
print(json.dumps(row))
"""


def run_cell(arch, act, budget, timeout):
    try:
        out = subprocess.run([sys.executable, "-c", CELL, arch, ALIASES.get(act, act), str(budget)],
                             capture_output=True, text=True,
                             timeout=timeout)
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        return json.loads(line) if line.startswith("{") else {"found": False, "error": out.stderr.strip()[-200:]}
    except subprocess.TimeoutExpired:
        return {"found": False, "error": f"timeout after {timeout} s", "seconds": timeout}


def describe(row):
    if row.get("theorem"):
        return "none exist (Kawaguchi 2016); global min certified" if "Kawaguchi" in row["theorem"] else \
            "none exist (" + row["theorem"][:40] + ")"
    if row.get("error"):
        return "error: " + row["error"]
    if row.get("verdict") is None:
        return "nothing proved"
    return f"{row['verdict']}/{row['global']} ({row['rigor']})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activations", default=",".join(ACTIVATIONS))
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--budget", type=float, default=120.0, help="find's budget per cell (seconds)")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    rows = []
    print("| activation | architecture | best certified result | route | time (s) |")
    print("|---|---|---|---|---|")
    for act in args.activations.split(","):
        for arch in args.archs.split(","):
            t = time.monotonic()
            row = run_cell(arch, act, args.budget, timeout=args.budget * 3 + 120)
            row.setdefault("seconds", round(time.monotonic() - t, 1))
            row.update(activation=act, architecture=arch)
            rows.append(row)
            mark = "**" if row.get("found") else ""
            print(f"| {act} | {arch} | {mark}{describe(row)}{mark} | {row.get('route', '') or '-'} | "
                  f"{row['seconds']} |", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)
    found = sum(1 for r in rows if r.get("found"))
    print(f"\n{found} of {len(rows)} cells hold a certified strict non-global minimum (bold)")


if __name__ == "__main__":
    main()
