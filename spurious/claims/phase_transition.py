"""The Li-Ding-Sun narrow-to-wide phase transition as a reproducible experiment.

Li, Ding, Sun (arXiv:1812.11039; SIAM J. Optim. 2022): with the last hidden layer at least as wide as the number of
samples N, no sub-optimal strict local minimum (or basin) exists; below the threshold, strict spurious minima exist.
For fixed seeded data of N samples and hidden widths 1..N+1 this runs a seeded float search (BFGS from random starts,
the `narrow-strict` family's search), hands every distinct finite strict float minimum above the best point found to
the verifiers (witness: the best point), and counts the certified strict spurious minima per width, with the search
effort. Certified minima below the threshold reproduce the negative result; none is expected at or above it (a
certified one there would refute the positive result, given its hypotheses: every layer trainable, distinct data).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..candidate import Candidate
from ..constructions.narrow_strict import float_minima, teacher_data
from ..errors import InputError
from ..network import Network
from ..problem import FiniteData, Loss, Problem
from ..verifiers import verify
from ..certificate import STRICT_VERDICTS

__all__ = ["PhaseRow", "phase_transition"]


@dataclass
class PhaseRow:
    width: int
    starts: int
    float_minima: int            # distinct finite strict float minima (evidence)
    float_spurious: int          # of those, above the best point found
    certified_spurious: int      # certified strict, not global (exact or interval rigor)
    checked: int                 # how many float spurious minima were sent to the verifiers
    best_loss: float

    def to_json(self):
        return dict(self.__dict__)


def phase_transition(*, activation="tanh", n=8, d=1, seed=1, starts=40, widths=None, max_checked=4,
                     teacher=2, progress=None) -> list:
    """Rows of the experiment, one per hidden width (default 1..n+1) on the same data."""
    if not 2 <= n <= 20:
        raise InputError(f"phase transition: n must satisfy 2 <= n <= 20, got {n}")
    if not 1 <= starts <= 2000:
        raise InputError(f"phase transition: starts must satisfy 1 <= starts <= 2000, got {starts}")
    widths = list(widths) if widths is not None else list(range(1, n + 2))
    X, Y = teacher_data(d, n, seed, teacher)  # the same data for every width (a seeded tanh teacher of width teacher + 3)
    rows = []
    for m in widths:
        found, lowest, fnet = float_minima(activation, X, Y, m, starts, seed)
        spurious = [f for f in found if f[0] > lowest[0] + 1e-6 * (1 + lowest[0])]
        net = Network.make((d, m, 1), activation)
        problem = Problem(net, FiniteData(X, Y), Loss())
        certified = 0
        for loss, th in spurious[:max_checked]:
            cand = Candidate(problem, fnet.point(th), fnet.point(lowest[1]),
                             {"construction": "phase-transition", "params": {"width": m, "n": n, "seed": seed}})
            cert = verify(cand)
            if cert.spurious and cert.verdict in STRICT_VERDICTS:
                certified += 1
        rows.append(PhaseRow(m, starts, len(found), len(spurious), certified, min(len(spurious), max_checked),
                             float(lowest[0])))
        if progress:
            progress(rows[-1])
    return rows


def plot(rows, n, path):
    """Bar chart of certified strict spurious minima per width, the threshold N marked (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar([r.width for r in rows], [r.float_spurious for r in rows], color="#cccccc",
           label="float spurious minima (evidence)")
    ax.bar([r.width for r in rows], [r.certified_spurious for r in rows], color="#c0392b",
           label="certified strict spurious (checked subset)")
    ax.axvline(n - 0.5, color="black", linestyle="--", label=f"threshold: width = N = {n}")
    ax.set_xlabel("hidden width")
    ax.set_ylabel("minima")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
