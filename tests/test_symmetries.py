"""The output form's orthogonal group of a last quadratic hidden layer (:mod:`spurious.symmetries`): its tangents lie
exactly in the kernel of the output Jacobian, its rational group elements (Cayley transforms) leave every output
exactly unchanged, and no generator is listed where the transformation is not a symmetry of the loss."""

import random

import pytest
from flint import fmpq, fmpq_mat

from spurious.activations import make_activation
from spurious.arithmetic import EXACT
from spurious.arithmetic.passes import context_layers, forward, jacobian
from spurious.network import Layer, Network, Point
from spurious.symmetries import hidden_symmetries, quadratic_shift, symmetry_names, symmetry_tangents

SHIFTED = dict(coefficients=["1", "2", "3"])  # 3 z^2 + 2 z + 1 = 3 (z + 1/3)^2 + 2/3: s = 1/3


def _random(widths, act, rng, bias=True, trainable=True):
    net = Network.make(widths, act, bias=bias, trainable=trainable)
    q = lambda: fmpq(rng.randint(-9, 9), rng.randint(1, 5))  # noqa: E731
    layers = [([[q() for _ in range(widths[l])] for _ in range(widths[l + 1])],
               [q() for _ in range(widths[l + 1])] if bias else None) for l in range(net.depth)]
    X = [[q() for _ in range(widths[0])] for _ in range(3 * net.num_params)]
    return net, layers, X


def _point(layers):
    return Point([Layer(W, b) for W, b in layers])


def _outputs(net, X, layers):
    return forward(EXACT, net, X, context_layers(EXACT, layers)).outputs


def _cayley(S, t):
    """(I - t S)^-1 (I + t S): in the group of diag(v) whenever diag(v) S is antisymmetric (rational)."""
    k = S.nrows()
    I = fmpq_mat(k, k, [fmpq(int(i == j)) for i in range(k) for j in range(k)])
    return (I - t * S).inv() * (I + t * S)


def _act_on_last_hidden(layers, A, s):
    """[W, b + s] -> A [W, b + s] on the last hidden layer's incoming weights."""
    W, b = layers[-2]
    k = len(W)
    rows = fmpq_mat([list(W[j]) + ([b[j] + s] if b is not None else []) for j in range(k)])
    new = A * rows
    d = len(W[0])
    W2 = [[new[j, q] for q in range(d)] for j in range(k)]
    b2 = [new[j, d] - s for j in range(k)] if b is not None else None
    return layers[:-2] + [(W2, b2), layers[-1]]


@pytest.mark.parametrize("widths,act,seed", [
    ((2, 3, 1), make_activation("quadratic"), 0),
    ((3, 4, 4, 1), make_activation("quadratic"), 1),
    ((2, 3, 3, 3, 1), make_activation("quadratic"), 2),
    ((2, 3, 3, 1), make_activation("polynomial", **SHIFTED), 3),
])
def test_orthogonal_tangents_are_in_the_exact_jacobian_kernel(widths, act, seed):
    net, layers, X = _random(widths, act, random.Random(seed))
    _, J = jacobian(EXACT, net, X, context_layers(EXACT, layers))
    tangents = symmetry_tangents(net, _point(layers))
    orth = [t for t in tangents if t.group == "O"]
    k = widths[-2]
    assert len(orth) == k * (k - 1) // 2
    for t in tangents:
        Jt = J * fmpq_mat([[x] for x in t.vector])
        assert all(x == 0 for x in Jt.entries()), t.name
    assert f"O(p,q) of the output form diag(v), layer {net.depth - 1} ({len(orth)} generator(s))" in \
        symmetry_names(tangents)


@pytest.mark.parametrize("act,s", [(make_activation("quadratic"), fmpq(0)),
                                   (make_activation("polynomial", **SHIFTED), fmpq(1, 3))])
def test_group_elements_leave_every_output_exactly_unchanged(act, s):
    assert quadratic_shift(act) == s
    net, layers, X = _random((3, 4, 3, 1), act, random.Random(5))
    v = layers[-1][0][0]
    S = fmpq_mat(3, 3, [fmpq(0)] * 9)
    S[0, 2], S[2, 0] = v[2], -v[0]               # diag(v) S antisymmetric
    S[1, 2], S[2, 1] = 2 * v[2], -2 * v[1]
    A = _cayley(S, fmpq(3, 7))
    moved = _act_on_last_hidden(layers, A, s)
    assert moved[-2][0] != layers[-2][0]
    assert _outputs(net, X, moved) == _outputs(net, X, layers)


def test_multi_output_pairs_act_only_with_proportional_columns():
    net, layers, X = _random((2, 3, 3, 2), make_activation("quadratic"), random.Random(7))
    W = layers[-1][0]
    for o in range(2):
        W[o][1] = -2 * W[o][0]      # columns 0 and 1 proportional; column 2 generic
    orth = [t for t in symmetry_tangents(net, _point(layers)) if t.group == "O"]
    assert [t.name for t in orth] == ["O(v) layer 2 (0,1)"]
    # the pair (0, 2) with output 0's weights is not a symmetry of output 1: the group element moves the outputs
    S = fmpq_mat(3, 3, [fmpq(0)] * 9)
    S[0, 2], S[2, 0] = W[0][2], -W[0][0]
    moved = _act_on_last_hidden(layers, _cayley(S, fmpq(1, 2)), fmpq(0))
    out, new = _outputs(net, X, layers), _outputs(net, X, moved)
    assert [r[0] for r in new] == [r[0] for r in out] and [r[1] for r in new] != [r[1] for r in out]


def test_no_orthogonal_generators_where_the_group_is_not_a_loss_symmetry():
    q = make_activation("quadratic")
    last = lambda net, wd=0: [s.quadratic_form for s in hidden_symmetries(net, wd)]  # noqa: E731
    assert last(Network.make((2, 3, 3, 1), q)) == [False, True]                      # only the last hidden layer
    assert last(Network.make((2, 3, 1), q), wd=fmpq(1, 10)) == [False]              # weight decay: A not orthogonal
    assert last(Network.make((2, 3, 1), q, trainable=[False, True])) == [False]     # incoming layer fixed
    assert last(Network.make((2, 3, 1), q, trainable=[True, False])) == [True]      # output layer may be fixed
    shifted = make_activation("polynomial", **SHIFTED)
    assert last(Network.make((2, 3, 1), shifted, bias=False)) == [False]           # shift without a bias
    assert last(Network.make((2, 3, 1), make_activation("polynomial", coefficients=["0", "1", "0", "1"]))) \
        == [False]                                                                   # cubic
    # without a bias the shifted square is not invariant: the would-be group element moves the outputs
    net, layers, X = _random((2, 3, 1), shifted, random.Random(9), bias=False)
    v = layers[-1][0][0]
    S = fmpq_mat(3, 3, [fmpq(0)] * 9)
    S[0, 1], S[1, 0] = v[1], -v[0]
    moved = _act_on_last_hidden(layers, _cayley(S, fmpq(1, 3)), fmpq(0))
    assert _outputs(net, X, moved) != _outputs(net, X, layers)


@pytest.mark.parametrize("widths", [(3, 2, 1), (4, 3, 1)])
def test_generic_exact_path_agrees_with_the_structured_orbit_argument(widths):
    """quadratic-narrow (fixed output layer, no biases) with k >= 2: the structured quadratic-orbit proof and the
    generic exact path, now that the symmetry list holds O(diag(v)), give the same verdict and orbit dimension."""
    from spurious.constructions import construct
    from spurious.verifiers import verify

    cand = construct("quadratic-narrow", widths=widths)
    k = widths[1]
    structured, exact = verify(cand, path="structured"), verify(cand, path="exact")
    assert structured.verdict == exact.verdict == "strict_modulo_symmetry"
    assert structured.glob == exact.glob == "not_global"
    assert any(f"span has dimension {k * (k - 1) // 2}" in r for r in exact.reasons)
    assert f"O(p,q) of the output form diag(v), layer 1 ({k * (k - 1) // 2} generator(s))" in exact.symmetries
