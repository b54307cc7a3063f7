"""The Safran-Shamir table by search (issue 15): batched plain GD under the paper's protocol, the iteration cap,
and the cheap certificate of the zero-loss (teacher) cluster."""

import math

import numpy as np
import pytest
import torch
from flint import fmpq

from spurious.candidate import Candidate
from spurious.certificate import EXACT, GLOBAL, INCONCLUSIVE, LOCAL_MIN, NUMERICAL, Certificate
from spurious.search.datasets import safran_shamir_problem
from spurious.search.multistart import (ZERO_LOSS, Minimum, SearchSpec, certify, initial_points, model_for,
                                        run_chunk, zero_loss_certificate)
from spurious.search.optimizers import run_optimizer

PAPER_GTOL = 2e-9 / (2 * math.pi)   # their 2 pi |dF/dw_i| <= 1e-9, F = our loss / 2
PAPER_STEP = 0.05                    # their step 0.1 on F


def _model(k, starts=4, **options):
    pr, base = safran_shamir_problem(k, k)
    return model_for(SearchSpec.build(pr, base, starts, **options))


def test_batched_gd_equals_per_start_gd_with_an_independent_gradient():
    """Plain GD on a batch of starts (numpy closed form, converged starts leaving the batch) ends where GD run on
    each start alone ends when its gradient comes from the independent float64 closed forms of
    arithmetic/population (arctan2 form, Hessian included): same end points (to 1e-9) and the same number of
    steps (within one: the tolerance test may flip on rounding)."""
    from spurious.arithmetic.population import population_numpy

    k = 3
    m = _model(k)
    x0 = initial_points(m, 5, 0, 3)
    x, iters = run_optimizer(m.fns, torch.as_tensor(x0.copy()), "gd", 100_000, 1e-7, PAPER_STEP)
    ones, eye = np.ones((1, k)), np.eye(k)
    for i in range(3):
        W, steps = x0[i].reshape(k, k).copy(), 0
        while True:
            g = population_numpy(W, ones, eye, ones)[1].reshape(k, k)
            if np.linalg.norm(g) <= 1e-7:
                break
            W, steps = W - PAPER_STEP * g, steps + 1
        assert float(np.abs(x[i].numpy() - W.ravel()).max()) < 1e-9
        assert abs(int(iters[i]) - steps) <= 1
    assert int(iters.min()) > 1000   # real descents, not starts that began converged


def test_start_at_the_iteration_cap_is_unconverged_whatever_the_polish_does():
    """No silent cap: in one batch the exact teacher start (gradient 0) converges at once, the random starts hit
    the cap (iteration count = max_iter, gradient above the tolerance); run_chunk counts every capped start as
    unconverged and clusters none of them, although the Newton polish would bring them to critical points; with
    room to run, every start converges."""
    m = _model(4)
    x = torch.as_tensor(np.vstack([np.eye(4).ravel(), initial_points(m, 0, 0, 3)]))
    x, iters = run_optimizer(m.fns, x, "gd", 40, PAPER_GTOL, PAPER_STEP)
    gn = m.fns.grad(x)[0].norm(dim=1)
    assert int(iters[0]) == 0 and float(gn[0]) == 0.0
    assert iters[1:].tolist() == [40, 40, 40] and bool((gn[1:] > PAPER_GTOL).all())
    opts = dict(optimizer="gd", gtol=PAPER_GTOL, lr=PAPER_STEP, converged_tol=PAPER_GTOL, chunk_size=6)
    capped = run_chunk(SearchSpec.build(*safran_shamir_problem(4, 4), 6, max_iter=40, **opts), 0)
    assert capped.n == 6 and capped.unconverged == 6 and len(capped.hits) == 0
    free = run_chunk(SearchSpec.build(*safran_shamir_problem(4, 4), 6, max_iter=10**6, **opts), 0)
    assert free.unconverged == 0 and int(free.hits.sum()) == 6 and free.max_iterations < 10**6


def _minimum(m, theta, loss):
    mn = Minimum(np.asarray(theta, dtype=float), loss, 0, 7, 1e-12, 0.1)
    mn.candidate = Candidate(m.problem, m.base.with_flat(m.network, [float(v) for v in mn.theta]))
    return mn


def _refusing_verifier(candidate, rigor="auto"):
    raise AssertionError("the zero-loss cluster must not need the verifier")


def test_teacher_cluster_is_certified_global_at_the_exact_teacher_point():
    """A float end point 1e-9 from a permutation of the teacher V = I: the certificate is at the exact permuted
    teacher (integer entries), loss exactly 0, global, rigor exact, local_min (strictness not claimed), and it
    comes without running the (25 s) interval path."""
    k = 5
    m = _model(k)
    rng = np.random.default_rng(0)
    P = np.eye(k)[rng.permutation(k)]
    mn = _minimum(m, P.ravel() + 1e-9 * rng.standard_normal(k * k), 1e-17)
    certify(mn, _refusing_verifier, "auto", m)
    c = mn.certificate
    assert (c.verdict, c.glob, c.rigor) == (LOCAL_MIN, GLOBAL, EXACT) and c.proved
    assert c.loss == fmpq(0) and c.global_lower_bound == fmpq(0)
    assert [[int(v) for v in row] for row in mn.candidate.point.layers[0].W] == P.astype(int).tolist()
    assert mn.candidate.point.layers[1].W == ((1,) * k,)


def test_spurious_cluster_is_never_taken_for_the_teacher():
    """The k = 6 spurious minimum (F = 0.0250805810), reported with its true loss or with a lying float loss of 0,
    and a near-teacher point with one unit scaled by 1.001: no exact rounding of them computes the teacher's
    function, so no zero-loss certificate; certify falls through to the verifier (the lying ones: the others do not
    even reach the zero-loss test)."""
    from spurious.constructions.safran_shamir import safran_shamir

    m = _model(6)
    cand = safran_shamir(k=6)
    W = np.array([[float(v) for v in row] for row in cand.point.layers[0].W])
    loss = float(m.fns.value(torch.as_tensor(W.reshape(1, -1)))[0])
    assert loss / 2 == pytest.approx(0.0250805810, abs=1e-9)
    near = np.eye(6)
    near[2] *= 1.001
    for theta, claimed in ((W, loss), (W, 0.0), (near, 1e-7), (near, 0.0), (near, 1e-12)):
        mn = _minimum(m, theta.ravel(), claimed)
        assert zero_loss_certificate(m, mn) is None
        if claimed > ZERO_LOSS:
            continue
        asked = []
        stub = Certificate(INCONCLUSIVE, NUMERICAL, reasons=("stub",))
        certify(mn, lambda c, rigor="auto": asked.append(c) or stub, "auto", m)
        assert asked and mn.certificate is stub and mn.certificate.glob != GLOBAL
    assert ZERO_LOSS < 1e-9


def test_hessian_in_blocks_of_starts_and_representative_eigenvalues():
    """The closed-form Hessian computed a few starts at a time is the same array as in one batch, and the smallest
    eigenvalues reported for cluster representatives agree with the autodiff Hessian of the generic population
    loss (k = 4, random points)."""
    from spurious.search.optimizers import BatchedLoss, min_eigenvalues

    m = _model(4)
    x = torch.as_tensor(initial_points(m, 3, 0, 7))
    whole = m.fns.hess(x)
    m.fns.HESS_BLOCK = 2 * 4 ** 4     # blocks of two starts (the model is cached: restore)
    try:
        blocked = m.fns.hess(x)
    finally:
        del m.fns.HESS_BLOCK
    assert torch.equal(whole, blocked)
    generic = torch.linalg.eigvalsh(BatchedLoss(m.float_model.loss).hess(x))[:, 0]
    assert torch.allclose(min_eigenvalues(m.fns, x), generic, rtol=1e-9, atol=1e-12)
