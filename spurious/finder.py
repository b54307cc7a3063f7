"""Architecture first: ``find(widths, activation)`` returns a certified spurious local minimum for that network.

Routes, strongest first, until the goal holds (``strict=True``: a certificate ``strict_local_min`` /
``strict_modulo_symmetry`` and ``not_global``; ``strict=False``: any certified spurious minimum):

1. Theory. Deep linear networks (every hidden activation linear) have no spurious local minima: Kawaguchi,
   "Deep learning without poor local minima", NeurIPS 2016 (every local minimum is global; Lu and Kawaguchi 2017
   for any widths). ``find`` says so and certifies a global minimum instead (the affine least-squares fit,
   realised exactly; the closed form of :mod:`spurious.verifiers.relaxations.deep_linear` proves it global).
2. Families (after planting when the goal is strict or there are two or more hidden layers: planting certifies a
   strict minimum in seconds where it applies, and no published family gives one beyond one hidden layer). Every
   registered family whose declared ranges cover the widths and activation
   (:meth:`~spurious.constructions.Family.covers`; families whose network is restricted, e.g. without biases, are
   skipped), walking its own parameters (``seed``, ``which``, the number of samples ``n``).
3. Planting (:mod:`spurious.constructions.planted`): any depth, width and non-linear activation; seeds 0-2 first,
   then, after the families, further seeds while 3/4 of the budget lasts unless the error holds for any draw
   (C0, C2 for a polynomial network of too low a degree, the size limits).
4. Search (:func:`spurious.search.search`): multi-start on the planted data (or on ``data``: with
   fixed data only the weights are sought, so this is the only route).

Stops at ``budget`` seconds (checked between attempts, and inside planting between its points and exact checks) with the best proved result and the list of what was tried.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from .errors import InputError

__all__ = ["find", "FindResult", "KAWAGUCHI"]

KAWAGUCHI = ("Kawaguchi, Deep learning without poor local minima, NeurIPS 2016 (Thm 2.3: every local minimum of a "
             "deep linear network with squared loss is global; Lu and Kawaguchi 2017 remove the width assumptions)")
FAMILY_SEEDS = 3
FAMILY_WHICH = 3
PLANT_SEEDS = 3
PLANT_MORE_UNTIL = 0.75  # further planting seeds only within this fraction of the budget
SEARCH_STARTS = 200


@dataclass
class FindResult:
    """What ``find`` holds: the best candidate and certificate, the route that produced it, and what was tried."""

    candidate: object = None
    certificate: object = None
    route: str = ""
    tried: list = field(default_factory=list)
    theorem: str | None = None
    seconds: float = 0.0
    goal: str = "strict"

    @property
    def found(self) -> bool:
        return _meets(self.certificate, self.goal == "strict")

    def to_json(self) -> dict:
        return {"found": self.found, "goal": self.goal, "route": self.route, "theorem": self.theorem,
                "tried": list(self.tried), "seconds": round(self.seconds, 3),
                "certificate": None if self.certificate is None else self.certificate.to_json()}


def _meets(cert, strict) -> bool:
    from .certificate import STRICT_VERDICTS

    if cert is None or not cert.spurious:
        return False
    return cert.verdict in STRICT_VERDICTS if strict else True


def _rank(cert) -> int:
    """Order of merit of a certificate: strict spurious > spurious > proved minimum > anything else."""
    if cert is None:
        return 0
    if _meets(cert, True):
        return 4
    if cert.spurious:
        return 3
    from .certificate import MINIMUM_VERDICTS, PROOF_RIGORS

    if cert.verdict in MINIMUM_VERDICTS and cert.rigor in PROOF_RIGORS:
        return 2
    return 1


def _architecture(widths, activation):
    from .constructions.common import activation_of, widths_of
    from .network import Network

    widths = widths_of(widths, "find", min_depth=1, d_out=None)
    act = activation_of(activation)
    Network.make(widths, act)  # the network's own checks (sizes)
    return widths, act


def find(widths, activation="relu", *, strict=True, data=None, seed=0, budget=120.0, log=None) -> FindResult:
    """A certified spurious (by default strict) local minimum for the architecture; see the module docstring.

    ``data``: a path or :class:`~spurious.problem.FiniteData` (fixed data: search only). ``log(line)`` is called
    with each attempt as it finishes.
    """
    widths, act = _architecture(widths, activation)
    if budget is None or budget <= 0:
        raise InputError(f"budget: expected a positive number of seconds, got {budget!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed: expected an integer >= 0, got {seed!r}")
    t0 = time.monotonic()
    res = FindResult(goal="strict" if strict else "any")
    say = log or (lambda line: None)

    def attempt(route, make):
        """Build and verify one candidate; keep it if it beats the best so far."""
        from .verifiers import verify

        t = time.monotonic()
        try:
            cand = make()
            if isinstance(cand, list):
                cand = cand[0]
            cert = verify(cand)
        except InputError as exc:
            line = f"{route}: not applicable ({exc})"
            res.tried.append(line)
            say(line)
            return False
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # a route that fails (e.g. a family's float search found nothing) is not fatal
            line = f"{route}: failed ({type(exc).__name__}: {exc})"
            res.tried.append(line)
            say(line)
            return False
        return consider(route, cand, cert, time.monotonic() - t)

    def consider(route, cand, cert, seconds):
        line = f"{route}: {cert.verdict}, global {cert.glob}, rigor {cert.rigor} ({seconds:.1f} s)"
        res.tried.append(line)
        say(line)
        if _rank(cert) > _rank(res.certificate):
            res.candidate, res.certificate, res.route = cand, cert, route
        return _meets(cert, strict)

    attempt.consider = consider

    def out_of_time():
        return time.monotonic() - t0 > budget

    def done():
        res.seconds = time.monotonic() - t0
        if not res.found and res.theorem is None:
            res.tried.append(f"stopped after {res.seconds:.0f} s (budget {budget:g} s) without reaching the goal")
        return res

    if len(widths) >= 3 and all(a.is_linear for a in (act,)):
        res.theorem = KAWAGUCHI
        res.tried.append(f"theory: no spurious local minimum exists for deep linear networks ({KAWAGUCHI}); "
                         "certifying a global minimum instead")
        attempt("theory: affine least-squares fit realised exactly (global minimum)",
                lambda: _linear_global(widths, act, data, seed))
        return done()
    if len(widths) == 2:
        res.theorem = "no hidden layer: the loss is a convex quadratic (linear least squares); every local minimum " \
                      "is global"
        res.tried.append(f"theory: {res.theorem}")
        return done()

    if data is not None:
        _search_route(attempt, widths, act, data, seed, budget - (time.monotonic() - t0), res)
        return done()

    # families (their range checks decide whether they cover the request): each family's first parameter set, then
    # planting, then the rest of each family's walk
    walks = []
    for fam in _families_for():
        covered = _covers(fam, widths, act)
        if covered is not True:
            res.tried.append(f"family {fam.name}: does not cover this architecture ({covered})")
            continue
        walks.append((fam, _walk(fam, widths, act, seed)))

    def run_family(fam, extra):
        params = dict(extra, widths=widths, activation=act)
        label = (f"family {fam.name} " + " ".join(f"{k}={v}" for k, v in extra.items())).strip()
        return attempt(label, lambda p=params, f=fam: _plain(_construct(f.name, p)))

    from .constructions.planted import plant

    def planting_failed_for_good():
        """A planting error that another draw cannot change (C0, C2 'for any data', the size limits)."""
        redraw = ("C1", "C4", "C5", "rank J < P - dim T", "time budget")
        return any(t.startswith("planted") and "not applicable" in t and not any(m in t for m in redraw)
                   for t in res.tried)

    def run_planting(seeds, until=1.0):
        for s in seeds:
            if out_of_time() or time.monotonic() - t0 > until * budget:
                return out_of_time()
            if attempt(f"planted seed={seed + s}", lambda s=s: plant(widths=widths, activation=act, seed=seed + s,
                                                                     deadline=t0 + budget)):
                return True
        return False

    # planting first when the goal is a strict minimum (it certifies one at any depth in seconds for piecewise-linear
    # units, while a family's own search can take minutes at width 10) or at two or more hidden layers (no published
    # family gives a strict minimum there); the published families follow
    first = strict or len(widths) >= 4
    if first and run_planting(range(PLANT_SEEDS)):
        return done()
    excluded = set()
    for fam, walk in walks:
        if out_of_time():
            return done()
        n_before = len(res.tried)
        if run_family(fam, walk[0]):
            return done()
        if "not applicable" in res.tried[n_before]:
            excluded.add(fam.name)  # its range check rejects the architecture: no other parameters will help

    if not first and run_planting(range(PLANT_SEEDS)):
        return done()

    for fam, walk in walks:
        if fam.name in excluded:
            continue
        for extra in walk[1:]:
            if out_of_time():
                return done()
            if run_family(fam, extra):
                return done()

    # more planting seeds while 3/4 of the budget lasts (a planting that fails C5 often succeeds at another draw:
    # quadratic 2-3-3-3-1 plants at about one seed in four), then the search
    if not planting_failed_for_good() and run_planting(itertools.count(PLANT_SEEDS), until=PLANT_MORE_UNTIL):
        return done()
    # bounded search on generated data
    if not out_of_time():
        _search_route(attempt, widths, act, None, seed, budget - (time.monotonic() - t0), res)
    return done()


def _families_for():
    from .constructions import families

    return [f for f in families() if f.name != "planted"]


def _construct(name, params):
    from .constructions import construct

    return construct(name, **params)


def _covers(fam, widths, act):
    """True when the family's declared ranges cover the architecture with a plain network (biases, every layer
    trained); else the reason (the violated range)."""
    if fam.fixed_parameters:
        return f"its network is restricted: {fam.fixed_parameters}"
    if fam.covers(widths, act):
        return True
    return fam.range_violation(widths, act) or "outside its declared range"


def _walk(fam, widths, act, seed):
    """The family's own parameters to try, in order: each explicit ``parent`` (split-neuron), seeds (FAMILY_SEEDS),
    ``which`` (FAMILY_WHICH), then twice the default number of samples ``n`` for each seed."""
    from .constructions import resolve

    names = {p.name for p in fam.params}
    walk = [{}]
    parent = next((p for p in fam.params if p.name == "parent" and p.kind == "choice"), None)
    if parent is not None:  # split-neuron: each parent family in turn
        walk = [{"parent": c} for c in parent.choices if c != parent.default]
    if "seed" in names:
        walk = [{"seed": seed + s} for s in range(FAMILY_SEEDS)]
    if "which" in names:
        walk = [dict(w, which=k) for k in range(FAMILY_WHICH) for w in walk]
    n = resolve(fam, {"widths": widths, "activation": act}).get("n") if "n" in names else None
    if isinstance(n, int):
        walk += [dict(w, n=2 * n) for w in walk if "which" not in w or w["which"] == 0]
    return walk


def _plain(cand):
    """The candidate, if its network is the plain one ``find`` asks for (biases, every layer trained)."""
    first = cand[0] if isinstance(cand, list) else cand
    net = first.network
    if not all(net.bias) or not all(net.trainable):
        raise InputError("its network is restricted (no biases or a fixed layer), not the plain architecture")
    return cand


def _linear_global(widths, act, data, seed):
    """The affine least-squares fit realised exactly by the deep linear network (needs every hidden width >= d_L)."""
    from flint import fmpq

    from .candidate import Candidate
    from .constructions.common import affine_fit, generate_data, load_data
    from .network import Network, Point
    from .problem import FiniteData, Loss, Problem

    d0, dL = widths[0], widths[-1]
    if min(widths[1:-1]) < dL:
        raise InputError("a hidden layer narrower than the output: the global minimum is reduced-rank regression "
                         "(no exact rational realisation implemented)")
    if data is None:
        X, Y = generate_data(max(d0 + 3, 6), d0, seed) if dL == 1 else (None, None)
        if X is None:
            raise InputError("generated data are scalar-output only; give --data")
    else:
        X, Y = load_data(data)
    if dL != 1:
        raise InputError("exact realisation implemented for scalar output only")
    coef = affine_fit(X, Y)[0]
    a, c0 = list(coef[:d0]), coef[d0]
    slope = act.coefficients[1]
    Ws, bs = [], []
    L = len(widths) - 1
    for l in range(1, L + 1):
        dout, din = widths[l], widths[l - 1]
        W = [[fmpq(0)] * din for _ in range(dout)]
        b = [fmpq(0)] * dout
        if l == 1:
            W[0] = list(a)
            b[0] = c0
        else:
            W[0][0] = fmpq(1) / slope
        Ws.append(W)
        bs.append(b)
    net = Network.make(widths, act)
    problem = Problem(net, FiniteData(tuple(tuple(x) for x in X), tuple(tuple(y) for y in Y)), Loss())
    return Candidate(problem, Point.from_arrays(Ws, bs), None,
                     {"construction": "find (deep linear: affine least squares)", "reference": KAWAGUCHI,
                      "notes": "the global minimum; no spurious local minimum exists for this architecture"})


def _search_route(attempt, widths, act, data, seed, seconds, res):
    from .constructions.common import generate_data, load_data
    from .search import search
    from .network import Network
    from .problem import FiniteData, Loss, Problem

    net = Network.make(widths, act)
    if data is None:
        if widths[-1] != 1:
            res.tried.append("search: generated data are scalar-output only")
            return
        X, Y = generate_data(max(widths[0] + 3, net.num_params // 2), widths[0], seed)
    else:
        X, Y = load_data(data)
        if not X or len(X[0]) != widths[0] or len(Y[0]) != widths[-1]:
            raise InputError(f"data: shapes {len(X[0]) if X else 0} -> {len(Y[0]) if Y else 0} do not match widths "
                             f"{list(widths)}")
    problem = Problem(net, FiniteData(tuple(tuple(x) for x in X), tuple(tuple(y) for y in Y)), Loss())
    starts = max(20, min(SEARCH_STARTS, int(seconds * 4)))
    t = time.monotonic()
    try:
        sr = search(problem, starts=starts, seed=seed, max_verify=10)
    except InputError as exc:
        res.tried.append(f"search: not applicable ({exc})")
        return
    res.tried.append(f"search: {starts} starts, {len(sr.minima)} distinct end points, "
                     f"{len(sr.certified_spurious)} certified spurious ({time.monotonic() - t:.1f} s)")
    for m in sr.minima:
        if m.certificate is None:
            continue
        if attempt.consider(f"search minimum {m.id} (hits {m.hits})", m.candidate, m.certificate, 0.0):
            return

