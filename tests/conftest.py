"""Shared fixtures: random exact problems, seeded (randomness only through `seed`)."""

import random

import pytest
from flint import fmpq

from spurious.activations import make_activation
from spurious.network import Network, Point
from spurious.problem import FiniteData, Loss, Problem


def random_rational(rng, num=9, den=5):
    return fmpq(rng.randint(-num, num), rng.randint(1, den))


def random_problem(seed, widths, activation, bias=True, n=4, weight_decay=0, reduction="mean", trainable=True,
                   num=9):
    """A finite-data problem and a point with small random rationals."""
    rng = random.Random(seed)
    act = make_activation(activation) if isinstance(activation, str) else activation
    net = Network.make(widths, act, bias=bias, trainable=trainable)
    X = tuple(tuple(random_rational(rng, num) for _ in range(widths[0])) for _ in range(n))
    Y = tuple(tuple(random_rational(rng, num) for _ in range(widths[-1])) for _ in range(n))
    problem = Problem(net, FiniteData(X, Y), Loss(reduction=reduction, weight_decay=fmpq(weight_decay)))
    Ws = [[[random_rational(rng, num) for _ in range(widths[l])] for _ in range(widths[l + 1])]
          for l in range(len(widths) - 1)]
    bs = [[random_rational(rng, num) for _ in range(widths[l + 1])] if net.bias[l] else None
          for l in range(len(widths) - 1)]
    return problem, Point.from_arrays(Ws, bs)


@pytest.fixture
def make_problem():
    return random_problem


def pytest_configure(config):
    # small torch problems run far faster single-threaded (and the tests share 2 cores)
    import torch

    torch.set_num_threads(1)
