"""Rump's verified positive definiteness: accepts PD matrices with margin, never accepts a matrix that is not PD.

Soundness is checked against exact rational arithmetic (Sylvester's leading minors of integer matrices) on many
adversarial near-singular matrices, and against matrices with known spectra.
"""

import numpy as np
import pytest
from flint import fmpz_mat

from spurious.roundoff import norm2_upper, rump_pd


def exact_pd(A_int) -> bool:
    """Exact test for an integer symmetric matrix: all leading principal minors > 0."""
    M = fmpz_mat([[int(v) for v in row] for row in A_int])
    n = M.nrows()
    for k in range(1, n + 1):
        sub = fmpz_mat([[M[i, j] for j in range(k)] for i in range(k)])
        if not sub.det() > 0:
            return False
    return True


def test_accepts_pd_with_margin():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 30, 200):
        G = rng.normal(size=(n, n))
        A = G @ G.T + n * np.eye(n)
        A = (A + A.T) / 2
        assert rump_pd(A)[0]
        lam = np.linalg.eigvalsh(A)[0]
        assert rump_pd(A, mu=0.5 * lam)[0]


def test_mu_is_a_strict_lower_bound():
    A = np.diag(np.arange(1.0, 11.0))  # exact spectrum 1..10
    assert rump_pd(A, mu=0.99)[0]
    assert not rump_pd(A, mu=1.0)[0]  # lambda_min = 1 is not > 1
    assert not rump_pd(A, mu=1.01)[0]


def test_rejects_indefinite_and_singular():
    assert not rump_pd(np.array([[1.0, 2.0], [2.0, 1.0]]))[0]           # eigenvalues 3, -1
    assert not rump_pd(np.array([[1.0, 1.0], [1.0, 1.0]]))[0]           # singular PSD
    assert not rump_pd(np.zeros((3, 3)))[0]
    G = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 4.0]])                 # rank 2 in R^3, exact products
    assert not rump_pd(G @ G.T)[0]
    assert not rump_pd(-np.eye(4))[0]


def test_adversarial_shift_just_past_lambda_min():
    """A = B - (lambda_min(B) + delta) I is indefinite for delta well above eigvalsh's error: never accepted."""
    rng = np.random.default_rng(1)
    for n in (3, 10, 50, 150):
        for delta_rel in (1e-13, 1e-11, 1e-9, 1e-6):
            G = rng.normal(size=(n, n))
            B = G @ G.T
            B = (B + B.T) / 2
            lam = np.linalg.eigvalsh(B)[0]
            A = B - (lam + delta_rel * np.abs(B).max()) * np.eye(n)
            A = (A + A.T) / 2
            assert not rump_pd(A)[0], (n, delta_rel)


def test_soundness_against_exact_minors():
    """Integer matrices near singularity: whenever Rump accepts, the matrix is PD exactly."""
    rng = np.random.default_rng(2)
    accepted = rejected_pd = 0
    for trial in range(300):
        n = int(rng.integers(2, 7))
        M = rng.integers(-20, 21, size=(n, n))
        S = M @ M.T
        lam = np.linalg.eigvalsh(S.astype(float))[0]
        k = int(np.floor(lam)) + int(rng.integers(-1, 2))  # shift to within ~1 of the smallest eigenvalue
        A = S - k * np.eye(n, dtype=np.int64)
        ok = rump_pd(A.astype(np.float64))[0]
        pd = exact_pd(A)
        if ok:
            assert pd, A
            accepted += 1
        elif pd:
            rejected_pd += 1
    assert accepted > 50  # the test is not vacuous


def test_interval_version_radius():
    n = 6
    A = np.eye(n)
    # every X with |X - I| <= r (entrywise) is PD iff r n < 1 (the worst case is X = I - r 11^T)
    assert rump_pd(A, np.full((n, n), 0.9 / n))[0]
    assert not rump_pd(A, np.full((n, n), 1.0 / n))[0]
    assert not rump_pd(A, np.full((n, n), 1.2 / n))[0]
    # spectral-norm radius
    assert rump_pd(A, extra=0.5)[0]
    assert not rump_pd(A, extra=1.0)[0]
    # radius plus mu
    assert rump_pd(2 * A, np.full((n, n), 0.5 / n), mu=1.4)[0]
    assert not rump_pd(2 * A, np.full((n, n), 0.5 / n), mu=1.5)[0]


def test_interval_version_against_a_bad_member():
    """If some X in the enclosure is indefinite, the test must fail."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 8))
        G = rng.normal(size=(n, n))
        A = G @ G.T
        A = (A + A.T) / 2
        lam, V = np.linalg.eigh(A)
        v = V[:, 0]
        # E = -t v v^T has |E| <= R := t |v||v|^T; choose t > lambda_min so that A + E is indefinite
        t = lam[0] * (1 + 1e-6) + 1e-12
        R = t * np.outer(np.abs(v), np.abs(v))
        assert not rump_pd(A, R)[0]


def test_bad_input_is_not_a_proof():
    assert not rump_pd(np.array([[2.0, 1.0], [0.0, 2.0]]))[0]  # not symmetric
    assert not rump_pd(np.array([[np.nan, 0.0], [0.0, 1.0]]))[0]
    assert not rump_pd(np.eye(2), -np.ones((2, 2)))[0]
    assert rump_pd(np.zeros((0, 0)))[0]


def test_norm2_upper_bounds_spectral_norm():
    rng = np.random.default_rng(4)
    for _ in range(20):
        R = np.abs(rng.normal(size=(7, 7)))
        assert norm2_upper(R) >= np.linalg.norm(R, 2)


@pytest.mark.slow
def test_large_near_singular_wishart_declined_or_correct():
    rng = np.random.default_rng(5)
    n = 1500
    G = rng.normal(size=(n, n - 1))
    A = G @ G.T  # rank n - 1: singular
    A = (A + A.T) / 2
    assert not rump_pd(A)[0]


def _gram_with_tiny_pivot(n, last, seed=0):
    """M = L L^T exactly (fmpq), L unit lower triangular with integer entries except L[n-1][n-1] = ``last``: positive
    definite with last LDL^T pivot last^2 (and a smallest eigenvalue of that order)."""
    import random
    from flint import fmpq, fmpq_mat

    rng = random.Random(seed)
    L = fmpq_mat(n, n)
    for i in range(n):
        for j in range(i):
            L[i, j] = rng.randint(-3, 3)
        L[i, i] = 1
    L[n - 1, n - 1] = last
    return L * L.transpose()


def test_preconditioned_proof_decides_what_rumps_test_on_the_matrix_cannot():
    """Last LDL^T pivot 2^-40 against entries ~ 1e2 (smallest eigenvalue far below the binary64 rounding of a
    Cholesky of M itself, Rump's shift ~ n u tr M): Rump's test on M fails, the congruence X M X^T in arb at 128 bits
    (X the inverse float Cholesky factor) proves M positive definite; the near miss M - 2^-38 e_n e_n^T (last pivot
    2^-40 - 2^-38 < 0: indefinite, exactly) is never proved, with its own preconditioner or with M's."""
    from flint import arb_mat, fmpq
    from spurious.verifiers.fast_definite import prove_pd_preconditioned

    n = 12
    M = _gram_with_tiny_pivot(n, fmpq(1, 2 ** 20))
    A = np.array([[float(M[i, j]) for j in range(n)] for i in range(n)])
    assert not rump_pd(A)[0]
    ok, detail = prove_pd_preconditioned(arb_mat(M), A, 128)
    assert ok and "congruence" in detail, detail
    near = M * 1
    near[n - 1, n - 1] -= fmpq(1, 2 ** 38)
    B = np.array([[float(near[i, j]) for j in range(n)] for i in range(n)])
    for prec in (128, 256):
        assert not prove_pd_preconditioned(arb_mat(near), B, prec)[0]
        assert not prove_pd_preconditioned(arb_mat(near), A, prec)[0]
