"""verify() across paths: convex relaxations decide globality; saddles are never promoted."""

from flint import fmpq

from spurious import Candidate, FiniteData, Network, Point, Problem, make_activation
from spurious.verifiers import verify


def _linear_problem():
    net = Network.make([1, 1, 1], make_activation("linear"))
    return Problem(net, FiniteData(((fmpq(0),), (fmpq(1),), (fmpq(2),)), ((fmpq(0),), (fmpq(2),), (fmpq(1),))))


def test_degenerate_global_minimum_of_a_deep_linear_net_is_proved_global_by_the_closed_form():
    # the affine least-squares fit y = x/2 + 1/2 realised by a 1-1-1 linear net: loss 1/2 = the proven global min
    pb = _linear_problem()
    cert = verify(Candidate(pb, Point.from_arrays([[[1]], [[fmpq(1, 2)]]], [[0], [fmpq(1, 2)]])))
    assert (cert.verdict, cert.glob, cert.rigor) == ("local_min", "global", "exact")
    assert cert.global_lower_bound == fmpq(1, 2)


def test_a_point_above_the_global_value_is_not_promoted():
    pb = _linear_problem()
    # the origin of the weights with the mean as output bias: a saddle of a deep linear net
    cert = verify(Candidate(pb, Point.from_arrays([[[0]], [[0]]], [[0], [1]])))
    assert cert.verdict in ("not_local_min", "inconclusive")
    assert cert.glob != "global"
