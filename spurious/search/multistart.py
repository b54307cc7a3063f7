"""Multi-start search for local minima, clustered modulo symmetries and handed to the verifiers.

Pipeline (DESIGN.md "Numerical triage"; verification.md section 0, steps 1-5):
1. starts: start i draws its coordinates from ``numpy.random.default_rng([seed, 2, i])`` (N(0, scale^2/fan_in),
   Xavier-type as in Safran and Shamir 2018), so a start does not depend on how the work is chunked;
2. chunks of starts are optimised together (:mod:`.optimizers`: vmap over the starts, torch float64), polished by
   Newton steps and clustered modulo the unit symmetries (:mod:`spurious.symmetries`) inside the worker;
3. chunk results are merged in chunk order (deterministic for a fixed seed whatever ran them: one process, a
   process pool or a Dask cluster, see :mod:`.executors`);
4. each distinct end point becomes a :class:`~spurious.candidate.Candidate` (float coordinates taken exactly as
   dyadic rationals) whose witness is the best point found, and goes to :func:`spurious.verifiers.verify`.
   Where no proof applies, the float triage verdict is reported with ``rigor: numerical``.
Hit counts per minimum are the basin-hit frequencies that Safran and Shamir (ICML 2018, Table 1) report.
A time budget (``budget`` seconds) or an interrupt (KeyboardInterrupt, from Ctrl-C or a callback) stops the
search; the optimisers stop between iterations (:func:`~.optimizers.run_optimizer` ``stop``), so every start that
finished counts, whatever chunk it was in; what was found is still verified, and the result says
``complete: false`` with the number of starts done. A second interrupt stops verification, keeping what was
certified so far.

Flat sets: for piecewise-linear networks on finite data, end points with equal loss, the same activation pattern
(dead units included) and the same outputs on the data are one entry (:func:`same_flat_set`), not thousands.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
import math
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..candidate import Candidate, loads_candidate
from ..errors import InputError
from ..symmetries import align, canonical_float, normalise_units
from .optimizers import OPTIMIZERS, UNFINISHED

__all__ = ["SearchSpec", "SearchResult", "Minimum", "search", "run_chunk", "ChunkResult", "write_candidates"]

MAX_STARTS = 100_000_000
ZERO_LOSS = 1e-10
SNAP_DENOMINATORS = (10, 100, 1000, 10**4, 10**6)


@dataclass(frozen=True)
class SearchSpec:
    """Everything a worker needs, as plain values (the problem travels as candidate-format JSON text)."""

    problem_json: str
    starts: int
    seed: int = 0
    optimizer: str = "lbfgs"
    chunk_size: int = 500
    max_iter: int = 1000
    gtol: float = 1e-6
    lr: float = 0.1
    polish_steps: int = 8
    handoff: float | None = None   # optimisers stop at this gradient norm (if above gtol); Newton polishes on
    converged_tol: float = 1e-9
    cluster_tol: float = 1e-5
    init_scale: float = 1.0
    deadline: float | None = None  # wall-clock time (time.time()) after which optimisers stop
    fault_dir: str | None = None   # tests only: each chunk fails once (a simulated lost worker)

    def __post_init__(self):
        if not isinstance(self.starts, int) or not 1 <= self.starts <= MAX_STARTS:
            raise InputError(f"--starts: expected an integer from 1 to {MAX_STARTS}, got {self.starts!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"--seed: expected a non-negative integer, got {self.seed!r}")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"--optimizer: expected one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not isinstance(self.max_iter, int) or self.max_iter < 0:
            raise InputError(f"--max-iter: expected a non-negative integer, got {self.max_iter!r}")
        if not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise InputError(f"--chunk-size: expected a positive integer, got {self.chunk_size!r}")
        names = ("lr", "gtol", "converged_tol", "cluster_tol", "init_scale")
        for name in names + (("handoff",) if self.handoff is not None else ()):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"{name}: expected a positive number, got {v!r}")

    @classmethod
    def build(cls, problem, base, starts, **options):
        text = Candidate(problem, base).dumps(indent=None)
        return cls(problem_json=text, starts=starts, **options)

    @property
    def n_chunks(self) -> int:
        return -(-self.starts // self.chunk_size)

    def chunk_range(self, index):
        lo = index * self.chunk_size
        return lo, min(self.starts, lo + self.chunk_size)

    def token(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------- worker side
_MODELS: dict = {}
_CHUNK_LOCK = threading.Lock()
_STOP = threading.Event()  # set by the first Ctrl-C of a search in this process: optimisers stop, results stay


def _stopper(spec):
    deadline = spec.deadline

    def stop():
        return _STOP.is_set() or (deadline is not None and time.time() > deadline)

    return stop


class _Model:
    """Problem, base point, float model and vmapped loss of one spec (cached per worker process)."""

    def __init__(self, spec):
        from ..arithmetic.floating import FloatModel
        from .optimizers import BatchedLoss, TeacherReluLoss

        cand = loads_candidate(spec.problem_json, "search problem")
        self.problem, self.base = cand.problem, cand.point
        self.network = net = cand.problem.network
        self.wd = float(cand.problem.loss.weight_decay)
        self.float_model = FloatModel(cand.problem, cand.point)
        self.fns = TeacherReluLoss.for_problem(cand.problem, cand.point, self.float_model.loss) or \
            BatchedLoss(self.float_model.loss)
        self.base_arrays = cand.point.arrays_float()
        offsets, self.P = net.layer_offsets()
        self.piecewise_linear = cand.problem.finite and all(a.kind == "piecewise_linear"
                                                           for a in net.activations)
        self.X = np.array([[float(v) for v in x] for x in cand.problem.data.X]) if self.piecewise_linear else None
        self.std = np.zeros(self.P)
        for (dout, din, has_b), off in zip(net.layer_shapes(), offsets):
            if off is not None:
                self.std[off:off + dout * din + (dout if has_b else 0)] = spec.init_scale / math.sqrt(din)

    def layers(self, theta):
        """Per-layer (W, b) float arrays: trainable layers from theta, fixed ones from the base point."""
        offsets, _ = self.network.layer_offsets()
        out = []
        for (dout, din, has_b), off, (W0, b0) in zip(self.network.layer_shapes(), offsets, self.base_arrays):
            if off is None:
                out.append((W0, b0))
                continue
            W = np.asarray(theta[off:off + dout * din]).reshape(dout, din)
            out.append((W, np.asarray(theta[off + dout * din: off + dout * din + dout]) if has_b else None))
        return out

    def normalised(self, theta):
        return normalise_units(self.network, self.layers(theta), self.wd)

    def flat(self, layers):
        """Inverse of :meth:`layers`: the trainable coordinates of per-layer arrays."""
        return np.concatenate([np.concatenate([W.ravel()] + ([b] if b is not None else []))
                               for (W, b), tr in zip(layers, self.network.trainable) if tr] or [np.zeros(0)])

    def pattern(self, layers):
        """Activation pattern on the data (piece index of every unit at every sample, -1 for units that cannot
        affect the output: on zero-slope pieces at every sample, or feeding only such units) of a piecewise-linear
        network, and the network's outputs on the data."""
        h, pieces, slopes = self.X, [], []
        for l, (W, b) in enumerate(layers[:-1]):
            z = h @ W.T + (0.0 if b is None else b)
            act = self.network.activations[l]
            bps = np.array([float(v) for v in act.breakpoints])
            p = np.searchsorted(bps, z)
            pieces.append(p)
            slopes.append(np.array([float(v) for v in act.slopes])[p] != 0)
            h = float(act.offset) + float(act.slopes[0]) * z
            for k, c in enumerate(bps):
                h = h + float(act.slopes[k + 1] - act.slopes[k]) * np.maximum(z - c, 0.0)
        W, b = layers[-1]
        relevant = np.ones(W.shape[0], dtype=bool)
        for l in range(len(pieces) - 1, -1, -1):
            out_W = layers[l + 1][0]
            relevant = slopes[l].any(axis=0) & (np.abs(out_W[relevant]) > 0).any(axis=0)
            pieces[l] = np.where(relevant[None, :], pieces[l], -1)
        return tuple(p.tobytes() for p in pieces), h @ W.T + (0.0 if b is None else b)


def model_for(spec) -> _Model:
    key = hashlib.sha256(spec.problem_json.encode()).hexdigest() + repr(spec.init_scale)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = _Model(spec)
    return _MODELS[key]


def initial_points(model, seed, lo, hi):
    """Start i: N(0, std^2) coordinates from default_rng([seed, 2, i]) (independent of chunking)."""
    return np.stack([np.random.default_rng([seed, 2, i]).standard_normal(model.P) * model.std
                     for i in range(lo, hi)]) if hi > lo else np.zeros((0, model.P))


@dataclass
class ChunkResult:
    """Clusters of one chunk (representative = lowest start index) and its best point."""

    index: int
    n: int
    reps: np.ndarray
    rep_starts: np.ndarray
    hits: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    min_eigs: np.ndarray
    unconverged: int
    best_loss: float
    best_start: int
    best_point: np.ndarray
    iterations: float
    seconds: float
    unfinished: int = 0       # starts stopped by the budget or an interrupt before they finished (not results)
    max_iterations: int = 0   # the most iterations any finished start of the chunk took
    cpu_seconds: float = 0.0  # CPU time of the process that ran the chunk, while it ran it


def _maybe_fail(spec, index):
    if spec.fault_dir is None:
        return
    marker = os.path.join(spec.fault_dir, f"chunk-{index}")
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        raise RuntimeError(f"simulated lost worker on chunk {index}")


_HEAP_KEPT = []


def _keep_freed_memory():
    """glibc only, once per process: serve allocations up to 32 MB from the heap and keep freed heap memory
    (mallopt M_MMAP_THRESHOLD, M_TRIM_THRESHOLD). The batched optimisers allocate and free arrays of ~1 MB every
    iteration; by default each goes back to the kernel and every new one page-faults in again, which on a virtual
    machine costs as much as the arithmetic (measured: Safran-Shamir k = 20, 125 starts, 9.9 -> 4.0 ms per
    gradient). Memory is not returned to the system while a search runs in this process."""
    if _HEAP_KEPT:
        return
    _HEAP_KEPT.append(True)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)   # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: leave the allocator alone
        pass


def run_chunk(spec: SearchSpec, index: int) -> ChunkResult:
    """Optimise, polish and cluster the starts of chunk ``index`` (module-level: runs in any worker)."""
    import torch

    from .optimizers import polish, run_optimizer

    t0, c0 = time.perf_counter(), time.process_time()
    _maybe_fail(spec, index)
    # torch.func transforms keep global state (forward-AD levels): chunks in one process run one at a time, e.g.
    # on a Dask worker with several threads. Use one single-threaded worker process per core.
    with _CHUNK_LOCK:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one process per core; small batched ops lose badly to thread contention
        _keep_freed_memory()
        try:
            r = _run_chunk(spec, index, t0)
            r.cpu_seconds = time.process_time() - c0
            return r
        finally:
            torch.set_num_threads(threads)


def _run_chunk(spec, index, t0):
    import torch

    from .optimizers import min_eigenvalues, polish, run_optimizer

    m = model_for(spec)
    lo, hi = spec.chunk_range(index)
    if _stopper(spec)():  # out of time before this chunk began: nothing run, nothing reported
        return ChunkResult(index=index, n=0, unfinished=hi - lo, reps=np.zeros((0, m.P)),
                           rep_starts=np.zeros(0, dtype=np.int64), hits=np.zeros(0, dtype=np.int64),
                           losses=np.zeros(0), grad_norms=np.zeros(0), min_eigs=np.zeros(0), unconverged=0,
                           best_loss=math.inf, best_start=-1, best_point=np.zeros(m.P), iterations=0.0,
                           seconds=time.perf_counter() - t0)
    x = torch.as_tensor(initial_points(m, spec.seed, lo, hi))
    gtol = spec.gtol if spec.handoff is None else max(spec.gtol, spec.handoff)
    x, iters = run_optimizer(m.fns, x, spec.optimizer, spec.max_iter, gtol, spec.lr, stop=_stopper(spec))
    finished = (iters != UNFINISHED).numpy()
    starts = np.arange(lo, hi)[finished]
    x, iters = x[torch.as_tensor(finished)], iters[torch.as_tensor(finished)]
    capped = iters.numpy() >= spec.max_iter  # no silent cap: whatever the polish does, such a start is unconverged
    unfinished = int((~finished).sum())
    lo_hi = len(starts)
    if lo_hi:
        x, f, gn, _ = polish(m.fns, x, spec.polish_steps, eigenvalues=False)
        x, f, gn = (t.detach().numpy() for t in (x, f, gn))
    else:
        x, f, gn = np.zeros((0, m.P)), np.zeros(0), np.zeros(0)
    finite = np.isfinite(f) & np.isfinite(gn) & np.all(np.isfinite(x), axis=1)
    # converged: a critical point to float precision, or (numerically) zero loss, the least value of the squared
    # loss, where the gradient can stall at ~1e-7 (kernel formulas lose digits at parallel unit pairs)
    conv = finite & ~capped & ((gn <= spec.converged_tol * np.maximum(1.0, np.abs(f))) | (np.abs(f) <= ZERO_LOSS))
    idx = np.nonzero(conv)[0]
    clusters = cluster_points(m, [(x[i], f[i], int(starts[i]), 1, gn[i], math.nan) for i in idx], spec.cluster_tol)
    if clusters:  # the smallest Hessian eigenvalue of the representatives only (the rest are never reported)
        lam = min_eigenvalues(m.fns, torch.as_tensor(np.array([c.theta for c in clusters]))).numpy()
        for c, v in zip(clusters, lam):
            c.min_eigenvalue = float(v)
    fb = np.where(finite, f, np.inf)
    b = int(np.argmin(fb)) if finite.any() else 0
    return ChunkResult(index=index, n=lo_hi, unfinished=unfinished,
                       reps=np.array([c.theta for c in clusters]).reshape(len(clusters), m.P),
                       rep_starts=np.array([c.first_start for c in clusters], dtype=np.int64),
                       hits=np.array([c.hits for c in clusters], dtype=np.int64),
                       losses=np.array([c.loss for c in clusters]),
                       grad_norms=np.array([c.grad_norm for c in clusters]),
                       min_eigs=np.array([c.min_eigenvalue for c in clusters]),
                       unconverged=int((~conv).sum()), best_loss=float(fb[b]) if lo_hi else math.inf,
                       best_start=int(starts[b]) if lo_hi else -1, best_point=x[b] if lo_hi else np.zeros(m.P),
                       iterations=float(iters.float().mean()) if lo_hi else 0.0,
                       max_iterations=int(iters.max()) if lo_hi else 0, seconds=time.perf_counter() - t0)


# ----------------------------------------------------------------------------------------------- clustering
@dataclass
class Minimum:
    """One distinct end point (modulo symmetries) with its hit count and, after verification, its certificate."""

    theta: np.ndarray
    loss: float
    first_start: int
    hits: int
    grad_norm: float
    min_eigenvalue: float
    normalised: list = field(default=None, repr=False)
    pattern: tuple = field(default=None, repr=False)   # activation pattern (piecewise-linear networks)
    family: int = 0                   # minima with the same loss and smallest eigenvalue (see assign_families)
    candidate: Candidate | None = field(default=None, repr=False)
    certificate: object = None        # from spurious.verifiers.verify
    reaches_global_value: bool = False  # float loss = the proved global minimum value (SearchResult.global_bound)
    file: str | None = None           # candidate file written by write_candidates
    numerical: object = None          # float triage, when no proof was obtained
    id: str = ""

    @property
    def reported(self):
        """The certificate if it proves something, else the numerical triage (else None: not verified)."""
        if self.certificate is not None and self.certificate.proved:
            return self.certificate
        return self.numerical if self.numerical is not None else self.certificate

    @property
    def certified_spurious(self) -> bool:
        return self.certificate is not None and self.certificate.spurious

    def status(self) -> str:
        """One line: what was proved about this end point, or what it is near."""
        from ..certificate import MINIMUM_VERDICTS

        c = self.certificate
        if c is not None and c.proved and c.verdict in MINIMUM_VERDICTS:
            text = f"{c.verdict.replace('_', ' ')} ({c.rigor}), {c.glob.replace('_', ' ')}"
        else:
            text = f"near a critical point of loss ~{self.loss:.10g} (gradient {self.grad_norm:.1e} in float)"
            if c is not None:
                text += f"; proof at the rounded point: {c.verdict} ({c.rigor})"
        if self.reaches_global_value:
            text += "; its loss is the proved global minimum value"
        return text

    def to_json(self, starts) -> dict:
        from ..certificate import MINIMUM_VERDICTS, format_value

        c = self.reported
        out = {"id": self.id, "loss": format_value(c.loss) if c is not None and c.loss is not None else self.loss,
               "verdict": c.verdict if c is not None else "unverified",
               "global": c.glob if c is not None else "unknown",
               "rigor": c.rigor if c is not None else "numerical",
               "hits": self.hits, "fraction": self.hits / starts if starts else 0.0, "family": self.family,
               "float_loss": self.loss, "first_start": self.first_start, "grad_norm": self.grad_norm,
               # NaN where the float Hessian is undefined (e.g. parallel units of the Gaussian closed form): null
               "min_hessian_eigenvalue": self.min_eigenvalue if math.isfinite(self.min_eigenvalue) else None,
               "status": self.status()}
        if self.file is not None:
            out["file"] = self.file
        if self.reaches_global_value and not (c is not None and c.proved and c.verdict in MINIMUM_VERDICTS):
            out["global"] = "global"
            out["global_rigor"] = "value proved; the end point reaches it in float"
        if c is not None:
            out["witness_loss"] = format_value(c.witness_loss)
            out["reduced_min_eigenvalue"] = format_value(c.reduced_min_eigenvalue)
            out["reasons"] = list(c.reasons)
        if self.certificate is not None and c is not self.certificate:
            out["proof_attempt"] = {"verdict": self.certificate.verdict, "rigor": self.certificate.rigor,
                                    "reasons": list(self.certificate.reasons[:3])}
        return out


def cluster_points(model, points, tol, clusters=None):
    """Greedy clustering in the given order: a point joins the first cluster with (nearly) the same loss whose
    representative it matches modulo symmetries within ``tol`` (max-abs on normalised units), else founds one.
    All end points with loss <= ZERO_LOSS form one cluster (often a manifold of interpolating global minima).
    Piecewise-linear networks on finite data: a point also joins a cluster of equal loss with the same activation
    pattern and the same outputs on the data (:func:`same_flat_set`).

    ``points``: iterable of (theta, loss, start, hits, grad_norm, min_eig). Representatives are the first members.
    """
    clusters = [] if clusters is None else clusters
    for theta, loss, start, hits, gn, lam in points:
        norm = model.normalised(theta)
        ltol = 1e-8 * max(1.0, abs(loss))
        pattern = model.pattern(norm) if model.piecewise_linear else None
        for c in clusters:
            if loss <= ZERO_LOSS and c.loss <= ZERO_LOSS:  # the (numerically) zero-loss set: one global entry
                c.hits += int(hits)
                break
            if abs(c.loss - loss) > ltol:
                continue
            if same_flat_set(model, c, pattern, loss, ltol) or _symmetric_copy(model, c.normalised, norm, tol):
                c.hits += int(hits)
                break
        else:
            clusters.append(Minimum(np.array(theta), float(loss), int(start), int(hits), float(gn), float(lam),
                                    normalised=norm, pattern=pattern))
    return clusters


def _symmetric_copy(model, A, B, tol) -> bool:
    """``B`` is ``A`` within ``tol`` (max-abs, relative to the largest weight) after a symmetry of the network, or,
    when the problem also allows it (``fns.input_permutations``: the Safran-Shamir teacher V = I, whose loss is
    invariant under permuting input coordinates, x -> Q x keeps N(0, I) and permutes the teacher's units), after
    permuting the input coordinates (matched by their sorted columns, Hungarian method) and then the units."""
    bound = tol * max(1.0, _scale(B))
    if _distance(A, align(model.network, A, B, model.wd)) <= bound:
        return True
    if not getattr(model.fns, "input_permutations", False):
        return False
    from scipy.optimize import linear_sum_assignment

    (Wa, ba), (Wb, bb) = A[0], B[0]
    sa, sb = np.sort(Wa, axis=0), np.sort(Wb, axis=0)
    cost = np.abs(sa[:, :, None] - sb[:, None, :]).max(axis=0)
    rows, cols = linear_sum_assignment(cost)
    permuted = [(Wb[:, cols[np.argsort(rows)]], bb)] + list(B[1:])
    return _distance(A, align(model.network, A, permuted, model.wd)) <= bound


def same_flat_set(model, cluster, pattern, loss, ltol, otol=1e-7) -> bool:
    """Piecewise-linear networks: ``pattern`` (activation pattern and outputs on the data of an end point) is the
    representative's pattern with the same outputs (to ``otol``, relative) and the loss is equal. Inside one
    activation pattern the loss depends on the parameters only through the outputs on the data, so such points
    are one flat set of the loss as far as the data can tell (dead units, units whose active samples fix only a
    product, frozen patterns; and all points whose output is the same constant, which are joined through
    points with a dead layer); they are reported as one entry with their hit count, and the entry's
    representative is what gets verified. A grouping for reports, never used as a proof."""
    if not model.piecewise_linear or cluster.pattern is None or pattern is None or abs(cluster.loss - loss) > ltol:
        return False
    (pieces_a, out_a), (pieces_b, out_b) = cluster.pattern, pattern
    scale = otol * max(1.0, float(np.max(np.abs(out_a), initial=0.0)))
    if not np.max(np.abs(out_a - out_b), initial=0.0) <= scale:
        return False
    constant = np.max(np.abs(out_a - out_a[:1]), initial=0.0) <= scale  # the constant fit: one flat set
    return pieces_a == pieces_b or bool(constant)


def _distance(A, B) -> float:
    d = 0.0
    for (Wa, ba), (Wb, bb) in zip(A, B):
        d = max(d, float(np.max(np.abs(Wa - Wb))) if Wa.size else 0.0)
        if ba is not None and ba.size:
            d = max(d, float(np.max(np.abs(ba - bb))))
    return d


def assign_families(minima, rtol=1e-9, eig_tol=1e-6):
    """Number families: minima (sorted by loss) with equal loss and smallest Hessian eigenvalue within tolerance.

    Distinct minima of one family are usually copies under a symmetry of the *problem* rather than of the network
    (e.g. Safran-Shamir's permutations of input coordinates together with teacher units, which their paper merges);
    this is a grouping for reports, never used as a proof.
    """
    fam, prev = -1, None
    for m in minima:
        if prev is None or abs(m.loss - prev.loss) > rtol * max(1.0, abs(m.loss)) or \
                abs(m.min_eigenvalue - prev.min_eigenvalue) > eig_tol * max(1.0, abs(m.min_eigenvalue)):
            fam += 1
            prev = m
        m.family = fam
    return minima


def _scale(layers):
    return max((float(np.max(np.abs(W))) for W, _ in layers if W.size), default=1.0)


def merge_chunks(model, results, tol):
    """Merge chunk results in chunk order into global clusters; also the global best point."""
    clusters = []
    best = (math.inf, -1, None)
    for r in sorted(results, key=lambda r: r.index):
        pts = [(r.reps[i], r.losses[i], int(r.rep_starts[i]), int(r.hits[i]), r.grad_norms[i], r.min_eigs[i])
               for i in range(len(r.hits))]
        cluster_points(model, pts, tol, clusters)
        if (r.best_loss, r.best_start) < best[:2] and r.best_start >= 0:
            best = (r.best_loss, r.best_start, r.best_point)
    return clusters, best


def float_id(network, layers, wd=0) -> str:
    """Id of a float end point: hash of its rounded canonical form (for results; catalog ids are exact)."""
    text = json.dumps([network.to_json(), canonical_float(network, layers, wd)], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# ------------------------------------------------------------------------------------------------- driver
@dataclass
class SearchResult:
    """What a search found: minima sorted by loss, with hit counts and certificates."""

    spec: SearchSpec
    minima: list
    starts_done: int
    unconverged: int
    best_loss: float
    best_start: int
    best_point: np.ndarray | None
    chunks_done: int
    interrupted: bool = False
    verification_interrupted: bool = False
    seconds: float = 0.0
    search_seconds: float = 0.0
    global_bound: object = None       # a proved Bound with the global minimum value, where a relaxation gives it

    @property
    def complete(self) -> bool:
        """Every requested start finished and every selected minimum was verified."""
        return self.starts_done == self.spec.starts and not self.interrupted and not self.verification_interrupted

    @property
    def certified_spurious(self) -> list:
        return [m for m in self.minima if m.certified_spurious]

    @property
    def numerically_spurious(self) -> list:
        """Minima whose reported verdict (proof or float triage) is a minimum and that are not global."""
        from ..certificate import MINIMUM_VERDICTS, NOT_GLOBAL

        return [m for m in self.minima if m.reported is not None and m.reported.verdict in MINIMUM_VERDICTS
                and m.reported.glob == NOT_GLOBAL and not m.reaches_global_value]

    def to_json(self) -> dict:
        """Always complete JSON: ``complete`` false (with ``starts`` done of ``requested_starts``) when a budget or
        an interrupt stopped the search. Unconverged starts are a count, never entries."""
        s = self.spec
        out = {"complete": self.complete, "starts": self.starts_done, "requested_starts": s.starts,
               "seed": s.seed, "optimizer": s.optimizer, "chunk_size": s.chunk_size,
               "interrupted": self.interrupted, "verification_interrupted": self.verification_interrupted,
               "unconverged": self.unconverged, "best_loss": self.best_loss if math.isfinite(self.best_loss)
               else None, "distinct_minima": len(self.minima),
               "certified_spurious": len(self.certified_spurious),
               "numerical_spurious": len([m for m in self.numerically_spurious if not m.certified_spurious]),
               "seconds": round(self.seconds, 3)}
        b = self.global_bound
        if b is not None:
            from ..rationals import format_number

            out["global_minimum"] = {"value": format_number(b.global_value) if b.global_value is not None else None,
                                     "lower_bound": format_number(b.global_lower_bound), "rigor": b.rigor,
                                     "method": b.method,
                                     "reached_by": sum(m.hits for m in self.minima if m.reaches_global_value)}
        out["minima"] = [m.to_json(self.starts_done) for m in self.minima]
        return out


def _witness_for(model, m, best):
    """The best point found, as an exact Point, when it is not this minimum's own representative."""
    loss, start, theta = best
    if theta is None or start == m.first_start or not loss < m.loss:
        return None
    return model.base.with_flat(model.network, [float(v) for v in theta])


def snapped_candidate(model, m, max_den):
    """The candidate at a nearby simple rational point: rescalable units normalised to max |incoming| = 1 (so that
    a rational minimum up to rescaling becomes rational), then every coordinate replaced by its best rational
    approximation with denominator <= max_den. The verifier re-proves everything at the new point."""
    layers = _max_abs_layers(model, m.theta)
    theta = [v for (W, b), tr in zip(layers, model.network.trainable) if tr
             for v in list(W.ravel()) + ([] if b is None else list(b))]
    point = model.base.with_flat(model.network, [Fraction(float(v)).limit_denominator(max_den) for v in theta])
    return Candidate(model.problem, point, m.candidate.witness, m.candidate.meta)


def _max_abs_layers(model, theta):
    """Float layers with each rescalable unit's incoming (w, b) scaled to max |entry| = 1."""
    from ..symmetries import hidden_symmetries

    layers = [(W.copy(), None if b is None else b.copy()) for W, b in model.layers(theta)]
    for sym in hidden_symmetries(model.network, model.wd):
        if sym.rescale is None:
            continue
        W, b = layers[sym.layer - 1]
        for k in range(W.shape[0]):
            c = max(np.max(np.abs(W[k])), abs(b[k]) if b is not None else 0.0)
            if c > 0:
                W[k] /= c
                if b is not None:
                    b[k] /= c
                layers[sym.layer][0][:, k] *= c ** sym.rescale
    return layers


def polished_candidates(model, m):
    """Exact points inside the end point's activation pattern (:func:`.polish.pattern_polish`), one per
    rounding denominator, without repeats."""
    from .polish import pattern_polish

    layers = _max_abs_layers(model, m.theta)
    seen = []
    for den in SNAP_DENOMINATORS:
        point = pattern_polish(model.problem, layers, model.base, max_den=den)
        if point is not None and point not in seen:
            seen.append(point)
            yield Candidate(model.problem, point, m.candidate.witness, m.candidate.meta)


def zero_loss_certificate(model, minimum, max_distance=1e-5):
    """A population (Gaussian teacher) problem's zero-loss end point, certified cheaply: its coordinates rounded to
    simple rationals (denominators up to 10^6, each within ``max_distance`` of the float end point) give an exact
    point at which the student computes exactly the teacher's function (e.g. Safran-Shamir: W = a permutation of
    V), checked exactly by :func:`spurious.verifiers.obvious_global.decide`: the population loss there is exactly
    0, the least value of the squared loss, so the point is a global, hence local, minimum (strictness not
    claimed). Returns (candidate, certificate), or None when no rounding is such a point (any spurious end point:
    its exact loss is positive, so the exact check fails whatever its float loss says)."""
    from ..certificate import GLOBAL, INCONCLUSIVE, NUMERICAL, Certificate
    from ..verifiers.obvious_global import decide

    if model.problem.finite or not minimum.loss <= ZERO_LOSS or minimum.candidate is None:
        return None
    theta = np.asarray(minimum.theta, dtype=float)
    for den in SNAP_DENOMINATORS:
        exact = [Fraction(float(v)).limit_denominator(den) for v in theta]
        dist = float(np.max(np.abs(np.array([float(v) for v in exact]) - theta), initial=0.0))
        if dist > max_distance:
            continue
        cand = Candidate(model.problem, model.base.with_flat(model.network, exact), minimum.candidate.witness,
                         minimum.candidate.meta)
        start = Certificate(INCONCLUSIVE, NUMERICAL, reasons=(
            f"the search end point (float loss {minimum.loss:.1e}) is within {dist:.1e} (max-abs) of this exact "
            f"point (coordinates rounded to denominators <= {den})",), method="zero-loss end point")
        cert = decide(cand, start)
        if cert.glob == GLOBAL and cert.verdict != INCONCLUSIVE:
            return cand, cert
    return None


def certify(minimum, verifier=None, rigor="auto", model=None):
    """Run the verifier; when it proves nothing, add the float triage (rigor numerical).

    Exact problems (piecewise-linear / polynomial activations, finite data) need an exactly critical point: a float
    end point is only nearly one, so when the exact path answers ``not_critical`` the point is snapped to nearby
    simple rationals (:func:`snapped_candidate`) and verified again; the snapped candidate is kept if that proves
    a verdict other than ``not_critical``. Piecewise-linear networks first try the exact polish inside the
    activation pattern (:func:`polished_candidates`). A population problem's zero-loss end point is certified
    global at the exact teacher point nearby, without the verifier (:func:`zero_loss_certificate`).
    """
    from ..verifiers import verify
    from ..certificate import EXACT, NOT_CRITICAL
    from ..verifiers.numerical import triage

    run = verifier or verify
    zero = zero_loss_certificate(model, minimum) if model is not None and rigor in ("auto", "exact") else None
    if zero is not None:
        minimum.candidate, minimum.certificate = zero
        return minimum
    cert = run(minimum.candidate, rigor=rigor) if rigor != "numerical" else None
    if cert is not None and model is not None and cert.rigor == EXACT and cert.verdict == NOT_CRITICAL:
        tries = list(polished_candidates(model, minimum)) if model.piecewise_linear else []
        for snapped in tries + [snapped_candidate(model, minimum, den) for den in SNAP_DENOMINATORS]:
            c2 = run(snapped, rigor=rigor)
            if c2.proved and c2.verdict != NOT_CRITICAL:
                minimum.candidate, cert = snapped, c2
                break
    minimum.certificate = cert
    if cert is None or not cert.proved:
        try:
            minimum.numerical = triage(minimum.candidate)
        except np.linalg.LinAlgError:  # a non-finite float Hessian (e.g. the population kernel at a zero unit)
            minimum.numerical = None
    return minimum


def search(problem, base=None, *, starts=1000, seed=0, optimizer="lbfgs", workers=1, scheduler=None, client=None,
           retries=2, budget=None, callback=None, on_minimum=None, verify=True, max_verify=50, rigor="auto",
           verifier=None, id_fn=None, meta=None, global_bound=True, **options) -> SearchResult:
    """Multi-start search on ``problem`` (fixed layers from ``base``; default zeros) and verification.

    ``budget``: seconds for the whole search; optimisation stops at 80% of it (every finished start counts) and
    no new proof starts after it. ``callback(event)`` is called after each chunk (``event``: dict with
    chunks_done, n_chunks, starts_done); it may raise KeyboardInterrupt to stop the search. In one process the
    first Ctrl-C stops the optimisers between iterations, the second stops verification (results are kept).
    ``on_minimum(minimum)`` is called after each verification (the CLI saves certified minima there).
    ``verifier`` replaces :func:`spurious.verifiers.verify` (tests); ``id_fn(candidate)`` computes the reported
    id (the CLI passes the catalog's stable id). ``global_bound``: look up the proved global minimum value
    (:func:`spurious.verifiers.relaxations.global_bound`, e.g. deep linear networks) and report end points that
    reach it. Remaining ``options`` go to :class:`SearchSpec` (chunk_size, max_iter, gtol, lr, cluster_tol, ...).
    """
    from .executors import iter_chunks

    t0 = time.perf_counter()
    if budget is not None and not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise InputError(f"--budget: expected a positive number of seconds, got {budget!r}")
    end = None if budget is None else t0 + budget
    if budget is not None:
        options["deadline"] = time.time() + (0.8 * budget if verify else budget)
    if base is None:
        base = _zero_point(problem.network)
    spec = SearchSpec.build(problem, base, starts, seed=seed, optimizer=optimizer, **options)
    model = model_for(spec)
    results, interrupted = [], False
    local = scheduler is None and client is None and workers == 1
    with _interrupts(stop_raises=not local) as presses:
        it = iter_chunks(spec, range(spec.n_chunks), workers=workers, scheduler=scheduler, client=client,
                         retries=retries)
        try:
            for r in it:
                results.append(r)
                if callback is not None:
                    callback({"chunks_done": len(results), "n_chunks": spec.n_chunks,
                              "starts_done": sum(x.n for x in results), "starts": spec.starts, "result": r})
                if _STOP.is_set():
                    break
        except KeyboardInterrupt:
            interrupted = True
        finally:
            it.close()
        interrupted = interrupted or _STOP.is_set()
        t_search = time.perf_counter() - t0
        clusters, best = merge_chunks(model, results, spec.cluster_tol)
        clusters.sort(key=lambda c: (c.loss, c.first_start))
        assign_families(clusters)
        res = SearchResult(spec, clusters, sum(r.n for r in results), sum(r.unconverged for r in results), best[0],
                           best[1], best[2], len(results), interrupted, search_seconds=t_search)
        if global_bound:
            res.global_bound = _global_value(model.problem)
        _mark_global_value(res)
        base_meta = {"construction": "search", "params": {"seed": seed, "starts": spec.starts,
                                                          "optimizer": optimizer, "chunk_size": spec.chunk_size}}
        base_meta.update(meta or {})
        for m in clusters:
            witness = _witness_for(model, m, best)
            note = f"reached by {m.hits} of {res.starts_done} starts (first: start {m.first_start})"
            provenance = {"seed": seed, "start": m.first_start, "optimizer": optimizer, "hits": m.hits,
                          "starts": res.starts_done}
            m.candidate = Candidate(model.problem, model.base.with_flat(model.network, [float(v) for v in m.theta]),
                                    witness, dict(base_meta, notes=note, search=provenance))
            m.id = id_fn(m.candidate) if id_fn is not None else float_id(model.network, model.layers(m.theta),
                                                                         model.wd)
        if verify:
            order = verification_order(clusters)[:max_verify]
            try:
                for m in order:
                    if presses[0] > 1 or (end is not None and time.perf_counter() > end):
                        res.verification_interrupted = True
                        break
                    before = m.candidate
                    with _CHUNK_LOCK:  # a chunk may still run in a thread of this process (Dask processes=False)
                        certify(m, verifier, rigor, model)
                    if m.candidate is not before and id_fn is not None:  # snapped to rationals: id of what is kept
                        m.id = id_fn(m.candidate)
                    if on_minimum is not None:
                        on_minimum(m)
            except KeyboardInterrupt:
                res.interrupted = res.verification_interrupted = True
    res.seconds = time.perf_counter() - t0
    return res


def write_candidates(result, out_dir) -> list:
    """One candidate file per distinct minimum in ``out_dir`` (created), named ``<id>.json`` (the catalog's stable
    id when the search had ``id_fn``): the point that was verified, the data, the witness (best point found) and
    the provenance in ``meta.search`` (seed, first start index, optimizer, hits). ``spurious verify FILE`` gives the
    verdict the search reported. Returns the paths, in the order of ``result.minima``."""
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out-dir: cannot create {out_dir}: {exc.strerror or exc}") from None
    paths = []
    for m in result.minima:
        path = os.path.join(out_dir, f"{m.id}.json")
        try:
            m.candidate.save(path)
        except OSError as exc:
            raise InputError(f"--out-dir: cannot write {path}: {exc.strerror or exc}") from None
        m.file = path
        paths.append(path)
    return paths


class _interrupts:
    """Ctrl-C during a search: the first press stops the optimisers (``_STOP``; with ``stop_raises`` it also
    raises KeyboardInterrupt, for executors that block on other processes), the second stops verification, the
    third raises KeyboardInterrupt. Yields a one-element list with the number of presses. Only in the main
    thread; elsewhere (and for callbacks that raise KeyboardInterrupt) interrupts behave as usual."""

    def __init__(self, stop_raises):
        self.stop_raises = stop_raises
        self.presses = [0]
        self.previous = None

    def _handler(self, signum, frame):
        self.presses[0] += 1
        _STOP.set()
        if self.presses[0] >= 3 or (self.presses[0] == 1 and self.stop_raises):
            raise KeyboardInterrupt

    def __enter__(self):
        import signal

        _STOP.clear()
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self.presses

    def __exit__(self, *exc):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        _STOP.clear()
        return False


def _model_wd(res):
    return model_for(res.spec).wd


def _global_value(problem):
    """The proved global minimum value of ``problem`` where a relaxation gives it exactly (else None)."""
    from ..verifiers.relaxations import REDUCTIONS, global_bound

    if not problem.finite or not any(red.accepts(problem) for red in REDUCTIONS):
        return None
    try:
        b = global_bound(problem)
    except Exception:  # noqa: BLE001 - a bound that cannot be computed is no bound; the search result stands
        return None
    return b if b.proved else None


def _mark_global_value(res, rtol=1e-9):
    """Minima whose float loss equals the proved global minimum value (to ``rtol``) reach the global minimum;
    without weight decay, (numerically) zero loss is the least value of the squared loss."""
    if res.spec is not None and _model_wd(res) == 0:
        for m in res.minima:
            m.reaches_global_value = m.loss <= ZERO_LOSS
    b = res.global_bound
    if b is None:
        return
    if b.global_value is None:
        return
    value = float(b.global_value)
    for m in res.minima:
        m.reaches_global_value = abs(m.loss - value) <= rtol * max(1.0, abs(value))


def verification_order(minima):
    """Round robin over families (most hits first inside a family), so that every family gets verified before
    any family's second member."""
    fams = {}
    for m in sorted(minima, key=lambda c: (-c.hits, c.loss, c.first_start)):
        fams.setdefault(m.family, []).append(m)
    queues = sorted(fams.values(), key=lambda q: (-sum(m.hits for m in q), q[0].loss))
    out = []
    for r in range(max((len(q) for q in queues), default=0)):
        out += [q[r] for q in queues if r < len(q)]
    return out


def _zero_point(network):
    from ..network import Point

    return Point.from_arrays([np.zeros((d, k)) for d, k, _ in network.layer_shapes()],
                             [np.zeros(d) if hb else None for d, _, hb in network.layer_shapes()])
