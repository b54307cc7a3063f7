"""Exact inertia: characteristic polynomial (Descartes) and LDL^T (Sylvester) agree; directions are negative."""

import random

import pytest
from flint import fmpq, fmpq_mat

from spurious.linalg import (charpoly_inertia, inertia, ldl_inertia, min_positive_eigenvalue_bound,
                             negative_direction, nullspace, quad_form)


def _rand_q(rng, num=6, den=4):
    return fmpq(rng.randint(-num, num), rng.randint(1, den))


def _congruent(rng, diag):
    """S D S^T for a random invertible integer-unimodular-ish S: inertia equals the signs of diag."""
    n = len(diag)
    while True:
        S = fmpq_mat([[_rand_q(rng, 3, 2) for _ in range(n)] for _ in range(n)])
        if n == 0 or S.det() != 0:
            break
    D = fmpq_mat(n, n)
    for i, d in enumerate(diag):
        D[i, i] = d
    return S * D * S.transpose()


def _signs(diag):
    return (sum(1 for d in diag if d > 0), sum(1 for d in diag if d < 0), sum(1 for d in diag if d == 0))


@pytest.mark.parametrize("seed", range(120))
def test_known_inertia_by_congruence(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 8)
    diag = [rng.choice([fmpq(0), fmpq(0), _rand_q(rng)]) for _ in range(n)]
    H = _congruent(rng, diag)
    want = _signs(diag)
    a = charpoly_inertia(H)
    b = ldl_inertia(H)
    assert (a.n_pos, a.n_neg, a.n_zero) == want
    assert (b.n_pos, b.n_neg, b.n_zero) == want
    if want[1]:
        assert quad_form(H, b.direction) < 0
        d = inertia(H).direction
        assert quad_form(H, d) < 0
    else:
        assert b.direction is None
        assert negative_direction(H) is None


@pytest.mark.parametrize("seed", range(150))
def test_ldl_and_charpoly_agree_on_random_symmetric(seed):
    rng = random.Random(1000 + seed)
    n = rng.randint(1, 9)
    density = rng.choice([0.2, 0.5, 1.0])
    A = [[fmpq(0)] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            if rng.random() < density:
                A[i][j] = A[j][i] = _rand_q(rng)
    if seed % 3 == 0 and n > 1:  # rank-deficient: duplicate a row/column
        for j in range(n):
            A[n - 1][j] = A[0][j]
        for i in range(n):
            A[i][n - 1] = A[i][0]
    H = fmpq_mat(A)
    a, b = charpoly_inertia(H), ldl_inertia(H)
    assert (a.n_pos, a.n_neg, a.n_zero) == (b.n_pos, b.n_neg, b.n_zero)
    assert a.n_zero == n - H.rank()
    if a.n_neg:
        assert quad_form(H, b.direction) < 0
        assert quad_form(H, inertia(H).direction) < 0


def test_zero_diagonal_needs_2x2_pivot():
    H = fmpq_mat([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    b = ldl_inertia(H)
    assert (b.n_pos, b.n_neg, b.n_zero) == (1, 1, 1)
    assert quad_form(H, b.direction) == -2
    assert (charpoly_inertia(H).n_pos, charpoly_inertia(H).n_neg) == (1, 1)


def test_known_matrices():
    assert (lambda i: (i.n_pos, i.n_neg, i.n_zero))(charpoly_inertia(fmpq_mat([[2, 1], [1, 2]]))) == (2, 0, 0)
    assert (lambda i: (i.n_pos, i.n_neg, i.n_zero))(charpoly_inertia(fmpq_mat([[1, 2], [2, 1]]))) == (1, 1, 0)
    assert (lambda i: (i.n_pos, i.n_neg, i.n_zero))(charpoly_inertia(fmpq_mat([[1, 1], [1, 1]]))) == (1, 0, 1)
    assert (lambda i: (i.n_pos, i.n_neg, i.n_zero))(charpoly_inertia(fmpq_mat(3, 3))) == (0, 0, 3)
    # tiny negative eigenvalue: [[1, 1], [1, 1 - 1e-30]]
    H = fmpq_mat([[1, 1], [1, fmpq(1) - fmpq(1, 10**30)]])
    i = inertia(H)
    assert (i.n_pos, i.n_neg) == (1, 1) and quad_form(H, i.direction) < 0


def test_nullspace_exact():
    M = fmpq_mat([[1, 2, 3], [2, 4, 6]])
    ns = nullspace(M)
    assert len(ns) == 2
    for v in ns:
        assert all((M * fmpq_mat(3, 1, list(v)))[r, 0] == 0 for r in range(2))


def test_min_positive_eigenvalue_bound_is_a_lower_bound():
    # eigenvalues 1/3, 2, 5 (and a zero): bound in (0, 1/3]
    rng = random.Random(3)
    H = _congruent(rng, [fmpq(1)] * 0)  # 0 x 0
    assert charpoly_inertia(H).n_zero == 0
    D = fmpq_mat(4, 4)
    for i, d in enumerate([fmpq(1, 3), fmpq(2), fmpq(5), fmpq(0)]):
        D[i, i] = d
    # orthogonal (rational rotation) conjugation keeps eigenvalues
    c, s = fmpq(3, 5), fmpq(4, 5)
    Q = fmpq_mat([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, c, -s], [0, 0, s, c]])
    H = Q * D * Q.transpose()
    lb = min_positive_eigenvalue_bound(charpoly_inertia(H).charpoly)
    assert lb is not None and 0 < lb <= fmpq(1, 3) and lb > fmpq(1, 3) - fmpq(1, 10**6)


@pytest.mark.parametrize("seed", range(60))
def test_positive_definite_agrees_with_the_known_inertia(seed):
    """is_positive_definite (arb LDL^T first, exact only when a pivot's ball straddles 0) is True exactly when the
    congruence's diagonal is all positive, including singular and indefinite matrices."""
    from spurious.linalg import is_positive_definite

    rng = random.Random(5000 + seed)
    n = rng.randint(1, 7)
    diag = [rng.choice([fmpq(0), _rand_q(rng), fmpq(rng.randint(1, 5), rng.randint(1, 3))]) for _ in range(n)]
    H = _congruent(rng, diag)
    assert is_positive_definite(H) is all(d > 0 for d in diag)


def test_positive_definite_beyond_the_ball_precision():
    """Pivots of +-1e-200 and exact zeros: the 256-bit balls cannot decide the first two, the exact fallback does;
    the answer is never a ball's guess."""
    from spurious.linalg import PD_BALL_PREC, is_positive_definite

    assert 2.0 ** -PD_BALL_PREC > 1e-200
    tiny = fmpq(1, 10 ** 200)
    assert is_positive_definite([[1, 1], [1, 1 + tiny]]) is True      # pivots 1, 1e-200
    assert is_positive_definite([[1, 1], [1, 1 - tiny]]) is False     # pivots 1, -1e-200
    assert is_positive_definite([[1, 1], [1, 1]]) is False            # singular
    assert is_positive_definite(fmpq_mat([[2, 1], [1, 2]])) is True
    assert is_positive_definite([[1, 2], [2, 1]]) is False


def test_ball_positive_definite_is_three_valued_and_exact_when_decided():
    from flint import arb, arb_mat, fmpq_mat
    from spurious.linalg import ball_positive_definite

    pd = fmpq_mat([[2, 1, 0], [1, 2, 1], [0, 1, 2]])
    singular = fmpq_mat([[1, 1, 0], [1, 1, 0], [0, 0, 1]])   # eigenvalue 0 exactly
    indefinite = fmpq_mat([[1, 2, 0], [2, 1, 0], [0, 0, 1]])
    assert ball_positive_definite(arb_mat(pd)) is True
    assert ball_positive_definite(arb_mat(singular)) is False   # an exact zero pivot is decided: singular
    blurred = arb_mat(singular)
    blurred[1, 1] = arb(1, 1e-30)                                  # the pivot's ball straddles 0
    assert ball_positive_definite(blurred) is None
    assert ball_positive_definite(arb_mat(indefinite)) is False
    # restricted to a subspace: the singular form is positive definite off its kernel (1, -1, 0)
    assert ball_positive_definite(arb_mat(singular), [[1, 1, 0], [0, 0, 1]]) is True
    assert ball_positive_definite(arb_mat(indefinite), [[1, -1, 0]]) is False
    assert ball_positive_definite(arb_mat(indefinite), [[0, 0, 1]]) is True
    # a wide ball around a positive definite matrix is undecided, never True
    wide = arb_mat(pd)
    wide[0, 0] = arb(0, 3)
    assert ball_positive_definite(wide) is None
