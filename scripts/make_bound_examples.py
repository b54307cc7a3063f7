"""Write examples/bound-*.json: one candidate per convex relaxation of `spurious bound`, each with a positive proven
lower bound on the global minimum (tests/test_bound_examples.py checks the figures; README "Bounding the global
minimum" uses them). Run: python scripts/make_bound_examples.py"""

from __future__ import annotations

from pathlib import Path

from flint import fmpq

from spurious.activations import make_activation
from spurious.candidate import Candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, Loss, Problem
from spurious.rationals import to_fmpq

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _rows(A):
    return tuple(tuple(to_fmpq(v) for v in r) for r in A)


def deep_linear():
    """Yun, Sra, Jadbabaie (ICLR 2018) test problem: X = [I | I], Y = Q [D + E | D - E], Sigma with eigenvalues
    18, 8, 2 and rational eigenvectors; 3-2-3 linear network without biases; the point is the saddle that keeps
    eigen-directions 1 and 3. L* = 157/108 exactly (reduced-rank regression)."""
    Q = [[fmpq(3, 5), fmpq(-4, 5), 0], [fmpq(4, 5), fmpq(3, 5), 0], [0, 0, 1]]
    D = [3, 2, 1]
    E = [[1, 0, fmpq(1, 2)], [0, -1, 0], [fmpq(1, 3), 0, 1]]
    DpE = [[(D[i] if i == j else 0) + E[i][j] for j in range(3)] for i in range(3)]
    DmE = [[(D[i] if i == j else 0) - E[i][j] for j in range(3)] for i in range(3)]
    Y = [[sum(Q[i][k] * M[k][j] for k in range(3)) for M in (DpE, DmE) for j in range(3)] for i in range(3)]
    X = [[1 if i == j % 3 else 0 for j in range(6)] for i in range(3)]
    net = Network.make((3, 2, 3), make_activation("linear"), bias=False)
    problem = Problem(net, FiniteData(_rows(zip(*X)), _rows(zip(*Y))), Loss())
    W1 = [[D[0], 0, 0], [0, 0, D[2]]]
    W2 = [[Q[i][0], Q[i][2]] for i in range(3)]
    point = Point.from_arrays([W1, W2], [None, None])
    meta = {"construction": "example", "reference": "Yun, Sra, Jadbabaie, ICLR 2018, Prop. 3.1 and Thms 2.1/2.2",
            "params": {}, "notes": "deep linear: spurious bound gives L* = 157/108 exactly (closed form)"}
    return Candidate(problem, point, None, meta)


def quadratic():
    """2-3-1 network with sigma(z) = z^2 and biases, 8 points: k = 3 >= d' = 3, so the least-squares relaxation over
    the lifted matrix is exact (Soltanolkotabi, Javanmard, Lee, Lemma 6.1) and L* comes with a witness network."""
    X = [[0, 0], [1, 0], [0, 1], [1, 1], [-1, 1], [2, -1], [-1, -2], [1, 2]]
    Y = [[1], [0], [2], [-1], [3], [0], [1], [-2]]
    net = Network.make((2, 3, 1), make_activation("quadratic"), bias=True)
    problem = Problem(net, FiniteData(_rows(X), _rows(Y)), Loss())
    point = Point.from_arrays([[[1, 0], [0, 1], [1, -1]], [[1, -1, fmpq(1, 2)]]], [[0, 0, 0], [0]])
    meta = {"construction": "example", "reference": "Soltanolkotabi, Javanmard, Lee, IEEE TIT 2019, Lemma 6.1",
            "params": {}, "notes": "quadratic activation: spurious bound gives L* exactly with a witness network"}
    return Candidate(problem, point, None, meta)


def relu_weight_decay():
    """1-5-1 ReLU network with biases and weight decay 1/10 on 5 points in 1-D: the Pilanci-Ergen convex program
    over all activation patterns, made exact by a dual certificate: a positive proven lower bound (weight decay
    makes L* > 0 even where a network could interpolate)."""
    X = [[-2], [-1], [0], [1], [2]]
    Y = [[1], [-1], [1], [-1], [1]]
    net = Network.make((1, 5, 1), make_activation("relu"), bias=True)
    problem = Problem(net, FiniteData(_rows(X), _rows(Y)), Loss(weight_decay=fmpq(1, 10)))
    point = Point.from_arrays([[[1], [-1], [1], [-1], [1]], [[1, 1, -1, -1, 1]]], [[0, 0, -1, -1, 1], [0]])
    meta = {"construction": "example", "reference": "Pilanci, Ergen, ICML 2020 (convex two-layer ReLU networks)",
            "params": {}, "notes": "ReLU with weight decay: spurious bound gives an exact lower bound > 0"}
    return Candidate(problem, point, None, meta)


BUILDERS = {"bound-deep-linear.json": deep_linear, "bound-quadratic.json": quadratic,
            "bound-relu-weight-decay.json": relu_weight_decay}

if __name__ == "__main__":
    for name, build in BUILDERS.items():
        build().save(str(EXAMPLES / name))
        print(f"wrote examples/{name}")
