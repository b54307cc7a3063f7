"""The report's figures (matplotlib, Agg canvas): loss along the segment to the witness, a 2-D slice, the reduced
Hessian spectrum. Float64 illustrations (:class:`~spurious.arithmetic.FloatModel`, numerical triage), labelled as
such; the proof is the certificate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["entry_plots"]


def _figure(width=5.0, height=3.6):
    from matplotlib.figure import Figure  # the Agg canvas, without touching pyplot's global backend

    fig = Figure(figsize=(width, height), dpi=100)
    fig.subplots_adjust(left=0.16, right=0.95, bottom=0.14, top=0.84)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig, path: Path):
    fig.savefig(path, format="png", metadata={"Software": None})


def _orthogonal(d1, candidates, seed=0):
    """A direction orthogonal to d1, scaled like d1: the first candidate that is not parallel, else seeded random."""
    n1 = float(np.linalg.norm(d1))
    rng = np.random.default_rng(seed)
    for v in list(candidates) + [rng.standard_normal(d1.shape[0]) for _ in range(3)]:
        v = np.asarray(v, dtype=float)
        if n1 > 0:
            v = v - (v @ d1) / (n1 * n1) * d1
        nv = float(np.linalg.norm(v))
        if nv > 1e-8 * max(1.0, n1):
            return v / nv * (n1 if n1 > 0 else 1.0)
    return None


def entry_plots(candidate, fig_dir: Path, slug: str, *, grid=41, segment_points=151):
    """Write the three figures of one entry; returns (files {kind: Path}, data {kind: arrays}, notes [str]).

    segment: loss on theta(t) = point + t (witness - point), t in [-0.25, 1.25] (the default grids hold t = 0, 1
    and a, b = 0, a = 1 exactly); slice: loss on point + a d1 + b d2
    (d1 = witness - point, d2 = the reduced Hessian's lowest eigenvector made orthogonal to d1); spectrum: the float
    reduced Hessian eigenvalues of :class:`~spurious.verifiers.numerical.Triage`. All float64, illustration only.
    """
    from ..arithmetic import FloatModel

    files, data, notes = {}, {}, []
    net = candidate.problem.network
    theta0 = candidate.point.flatten_float(net)
    try:
        model = FloatModel(candidate.problem, candidate.point)
    except Exception as e:  # noqa: BLE001  (no float model for this problem: say so)
        return files, data, [f"no float model for this problem ({type(e).__name__}: {e}); no figures"]
    triage = None
    try:
        from ..verifiers.numerical import Triage

        triage = Triage(candidate)
    except Exception as e:  # noqa: BLE001
        notes.append(f"numerical triage failed ({type(e).__name__}: {e}): no spectrum")
    theta1 = None if candidate.witness is None else candidate.witness.flatten_float(net)
    low = []
    if triage is not None and triage.reduced_eigenvalues.size:
        low = [triage.reduced_basis @ triage.reduced_vectors[:, i] for i in range(min(2, triage.reduced_vectors.shape[1]))]
    if theta1 is not None:
        ts = np.linspace(-0.25, 1.25, segment_points)
        d1 = theta1 - theta0
        losses = model.losses(theta0[None, :] + ts[:, None] * d1[None, :]).numpy()
        data["segment"] = (ts, losses)
        files["segment"] = _plot_segment(fig_dir / f"{slug}-segment.png", ts, losses)
    else:
        notes.append("no witness stored: no segment plot; the slice uses the two lowest-curvature directions")
        d1 = low[0] if low else None
        low = low[1:]
    if d1 is not None and net.num_params >= 2:
        d2 = _orthogonal(d1, low)
        if d2 is not None:
            a = np.linspace(-0.5, 1.5, grid) if theta1 is not None else np.linspace(-1, 1, grid)
            b = np.linspace(-1.0, 1.0, grid)
            A, B = np.meshgrid(a, b)
            thetas = theta0[None, :] + A.reshape(-1, 1) * d1[None, :] + B.reshape(-1, 1) * d2[None, :]
            Z = model.losses(thetas).numpy().reshape(A.shape)
            data["slice"] = (a, b, Z)
            files["slice"] = _plot_slice(fig_dir / f"{slug}-slice.png", A, B, Z, theta1 is not None)
    if triage is not None:
        lam = np.asarray(triage.reduced_eigenvalues, dtype=float)
        data["spectrum"] = lam
        files["spectrum"] = _plot_spectrum(fig_dir / f"{slug}-spectrum.png", lam, triage.symmetry_dim)
    return files, data, notes


def _plot_segment(path, ts, losses):
    fig, ax = _figure()
    ax.plot(ts, losses, color="#1f5fa8", lw=1.5)
    ax.axvline(0, color="#b00", ls=":", lw=1)
    ax.axvline(1, color="#070", ls=":", lw=1)
    ax.plot([0], [losses[np.argmin(np.abs(ts))]], "o", color="#b00", label="point (t = 0)")
    ax.plot([1], [losses[np.argmin(np.abs(ts - 1))]], "s", color="#070", label="witness (t = 1)")
    ax.set_xlabel("t   (point + t (witness - point))")
    ax.set_ylabel("loss")
    ax.set_title("loss along the segment to the witness\nfloat64 evaluation, illustration only", fontsize=10)
    ax.legend(fontsize=8)
    _save(fig, path)
    return path


def _plot_slice(path, A, B, Z, has_witness):
    fig, ax = _figure(5.4, 4.2)
    fig.subplots_adjust(right=0.9)
    finite = Z[np.isfinite(Z)]
    levels = np.unique(np.quantile(finite, np.linspace(0, 1, 25))) if finite.size else 10
    if np.size(levels) < 2:
        levels = 10
    norm = None
    if np.size(levels) > 2:  # one colour per quantile band: the low region near point and witness stays readable
        from matplotlib.colors import BoundaryNorm

        norm = BoundaryNorm(levels, ncolors=256)
    cs = ax.contourf(A, B, Z, levels=levels, cmap="viridis", norm=norm)
    ax.contour(A, B, Z, levels=levels, colors="k", linewidths=0.3)
    fig.colorbar(cs, ax=ax, label="loss")
    ax.plot([0], [0], "o", color="#f33", label="point")
    if has_witness:
        ax.plot([1], [0], "s", color="#fff", markeredgecolor="k", label="witness")
    ax.set_xlabel("a   (d1 = witness - point)" if has_witness else "a   (lowest-curvature direction)")
    ax.set_ylabel("b   (d2, orthogonal to d1)")
    ax.set_title("2-D slice: loss(point + a d1 + b d2)\nfloat64 evaluation, illustration only", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    _save(fig, path)
    return path


def _plot_spectrum(path, lam, symmetry_dim):
    """|eigenvalue| on a log scale, marked by sign; values within 1e-9 x max|lambda| are drawn at that floor."""
    fig, ax = _figure()
    if lam.size:
        idx = np.arange(1, lam.size + 1)
        scale = float(np.max(np.abs(lam))) or 1.0
        floor = 1e-9 * scale
        for mask, style, label in ((lam > floor, "o", "positive"), (lam < -floor, "x", "negative"),
                                   (np.abs(lam) <= floor, "^", f"|lambda| <= {floor:.1e} (numerically 0)")):
            if mask.any():
                ax.plot(idx[mask], np.maximum(np.abs(lam[mask]), floor), style, label=label,
                        color={"o": "#1f5fa8", "x": "#b00", "^": "#888"}[style])
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no directions left after the symmetries", ha="center", transform=ax.transAxes)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("index (ascending eigenvalue)")
    ax.set_ylabel("|eigenvalue|")
    ax.set_title(f"reduced Hessian spectrum ({symmetry_dim} symmetry tangent(s) removed)\n"
                 "numerical: float64 triage, evidence only", fontsize=10)
    _save(fig, path)
    return path
