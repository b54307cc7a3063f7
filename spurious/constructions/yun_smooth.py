"""Yun-Sra-Jadbabaie 2019, Theorem 2: a spurious local minimum of smooth 2-2-1 networks on one three-point data set.

Yun, Sra, Jadbabaie, "Small nonlinearities in activation functions create bad local minima in neural networks",
ICLR 2019 (arXiv:1802.03487), Theorem 2 and Corollary 3; shared/research/constructions.md 1.3.

Data X = [[1, 0, 1/2], [0, 1, 1/2]] (samples (1,0), (0,1), (1/2,1/2) as columns), Y = [0, 0, 1].
Local minimum (Thm 2 (2)): W1 = 0, b1 = (v1, v2), W2 = (u1, u2), b2 = 0 with u1 h(v1) + u2 h(v2) = 1/3 (C2.3) and
the 2 x 2 matrix a a^T + diag(c)/3 positive definite, a_j = u_j h'(v_j), c_j = u_j h''(v_j) ((C2.6)-(C2.7)). The
output is the constant 1/3; loss 1/3 in the paper's (1/2)-sum convention, 2/9 in our mean convention
((1/3)(1/9 + 1/9 + 4/9)). The paper's Appendix A5 numbers were not read: our tuples (v1, v2, u1) are rational and
u2 solves (C2.3) (rounded; the output bias b2 absorbs the rounding, so the true point with b2 = c* lies within the
certified radius). Certified by the structured proof (argument D, :mod:`spurious.verifiers.structured`), whose
matrix Q is exactly 2 (a a^T + diag(c)/3) on this data (B M B^T = 2/3, B St B^T = 2 along V = span((-1, 1))).

Witness (Thm 2 (1)): any W1, b1 with a non-singular 3 x 3 system [h(z_i1), h(z_i2), 1] (u1, u2, b2) = y interpolates
the data; we solve it in ball arithmetic and round, so the witness loss is below 10^-30 (the paper: exactly 0).
For tanh and erf the chosen tuple has c_2 < 0: the minimum rests on (C2.7), not on c_j > 0.
"""

from __future__ import annotations

from flint import arb, arb_mat, ctx as flint_ctx, fmpq

from ..arithmetic import evaluate_ball
from ..arithmetic.balls import ball_bounds
from ..candidate import Candidate
from ..errors import InputError, InternalError
from ..network import Network, Point
from ..problem import FiniteData, Loss, Problem
from ..rationals import fmpq_to_float
from . import Param, Shape
from .common import activation_of, rational_param
from .constant_output import PREC, _round, act_values

__all__ = ["yun_smooth", "FAMILY", "REFERENCE", "TUPLES", "yun_data", "reproduce", "reproduce_rows"]

REFERENCE = ("Yun, Sra, Jadbabaie, Small nonlinearities in activation functions create bad local minima in neural "
             "networks, ICLR 2019, arXiv:1802.03487, Theorem 2 and Corollary 3")
# (v1, v2, u1) per activation; u2 from (C2.3). Ours (the paper's A5 numbers were not read).
TUPLES = {"sigmoid": ("-1", "-1", "1/2"), "tanh": ("-1/2", "1/2", "1"), "erf": ("-1/2", "1/2", "1"),
          "softplus": ("-1", "1", "1/8"), "gelu": ("0", "1/2", "1"), "swish": ("0", "1/2", "1")}
# interpolating first layer for the witness (rows w_j, biases b_j)
WITNESS_LAYER = ([[1, -1], [2, fmpq(1, 2)]], [fmpq(1, 2), fmpq(-1, 3)])


def yun_data():
    h = fmpq(1, 2)
    X = ((fmpq(1), fmpq(0)), (fmpq(0), fmpq(1)), (h, h))
    Y = ((fmpq(0),), (fmpq(0),), (fmpq(1),))
    return X, Y


def _interpolating_witness(net, X, Y):
    """Solve [h(z_i1), h(z_i2), 1] (u1, u2, b2) = y in balls and round: loss ~ 0."""
    act = net.activations[0]
    W, b = WITNESS_LAYER
    with flint_ctx.workprec(PREC):
        rows = []
        for x in X:
            z = [sum((fmpq(wk) * xk for wk, xk in zip(w, x)), fmpq(0)) + bj for w, bj in zip(W, b)]
            rows.append([arb(act_values(act, zj)[0]) for zj in z] + [arb(1)])
        A = arb_mat(rows)
        sol = A.solve(arb_mat([[arb(y[0])] for y in Y]))
        u = [_round(sol[0, 0]), _round(sol[1, 0])]
        c = _round(sol[2, 0])
    return Point.from_arrays([W, [u]], [b, [c]])


def yun_smooth(*, activation="sigmoid", v1=None, v2=None, u1=None, widths=(2, 2, 1)):
    """The Theorem 2 local minimum (non-strict, loss 2/9 mean = 1/3 half-sum) with a near-zero-loss witness."""
    from . import architecture

    architecture("yun-smooth", widths, None)  # 2,2,1 only
    act = activation_of(activation, "sigmoid")
    if act.kind != "smooth":
        raise InputError(f"yun-smooth: activation must be smooth (one of {', '.join(TUPLES)}), got {act.name}")
    dv = TUPLES.get(act.name, ("-1", "-1", "1/2"))
    v1, v2, u1 = (rational_param(x if x is not None else y, n) for x, y, n in
                  ((v1, dv[0], "v1"), (v2, dv[1], "v2"), (u1, dv[2], "u1")))
    X, Y = yun_data()
    net = Network.make((2, 2, 1), act)
    problem = Problem(net, FiniteData(X, Y), Loss())
    with flint_ctx.workprec(PREC):
        h1, d1, s1 = act_values(act, v1)
        h2, d2, s2 = act_values(act, v2)
        if not (abs(h2) > 0):
            raise InputError(f"yun-smooth: h(v2) != 0 fails (v2 = {v2}); (C2.3) cannot be solved for u2")
        u2b = (arb(1) / 3 - arb(u1) * h1) / h2
        u2 = _round(u2b)
        b2 = _round(arb(1) / 3 - arb(u1) * h1 - arb(u2) * h2)
        a = [arb(u1) * d1, arb(u2) * d2]
        c = [arb(u1) * s1, arb(u2) * s2]
        c26 = a[0] ** 2 + c[0] / 3
        det = c26 * (a[1] ** 2 + c[1] / 3) - (a[0] * a[1]) ** 2
        if not (c26 > 0 and det > 0):
            raise InputError("yun-smooth: (C2.6) (u1 h'(v1))^2 + u1 h''(v1)/3 > 0 and (C2.7) "
                             "(u1h'(v1) u2h'(v2))^2 < prod_j ((u_j h'(v_j))^2 + u_j h''(v_j)/3) must hold; "
                             f"they fail or are undecided for v = ({v1}, {v2}), u1 = {u1}")
    point = Point.from_arrays([[[0, 0], [0, 0]], [[u1, u2]]], [[v1, v2], [b2]])
    witness = _interpolating_witness(net, X, Y)
    wl = ball_bounds(evaluate_ball(problem, witness, order=0, prec=PREC).loss)[1]
    if not wl < fmpq(2, 9):
        raise InternalError("yun-smooth: the interpolating witness does not have a lower loss")
    meta = {"construction": "yun-smooth", "reference": REFERENCE,
            "params": {"activation": act.name, "v1": str(v1), "v2": str(v2), "u1": str(u1)},
            "notes": (f"Thm 2 (2): W1 = 0, b1 = (v1, v2), W2 = (u1, u2) with u2 = {fmpq_to_float(u2):.12g} from "
                      "(C2.3), b2 ~ 0 absorbs the rounding; loss 2/9 (mean) = 1/3 (paper's 1/2-sum); witness "
                      f"interpolates (loss <= {fmpq_to_float(wl):.3g}; paper: 0)"),
            "proof": {"argument": "constant-output",
                      "C2.6": f"{float(c26.mid()):.9g}", "C2.7_det": f"{float(det.mid()):.9g}",
                      "loss": "2/9"}}
    return Candidate(problem, point, witness, meta)


def reproduce(activations=tuple(TUPLES), *, verify):
    """Side by side: the paper's 1/3 (local) vs 0 (global) in the (1/2)-sum convention, and ours.

    Returns a list of dicts with exact / upper-bound numbers (our mean loss times n/2 = 3/2 gives the half-sum).
    ``verify``: the verifier (``spurious.verifiers.verify``; passed in, constructions do not import verifiers).
    """
    out = []
    for name in activations:
        cand = yun_smooth(activation=name)
        cert = verify(cand)
        half = fmpq(3, 2)
        wl = cert.witness_loss
        w_hi = ball_bounds(wl)[1] if hasattr(wl, "mid") else wl
        out.append({"activation": name, "paper_local_min_half_sum": fmpq(1, 3), "paper_global_half_sum": fmpq(0),
                    "ours_local_min_half_sum": None if cert.loss is None else half * cert.loss,
                    "ours_witness_half_sum_upper": None if w_hi is None else half * w_hi,
                    "verdict": cert.verdict, "global": cert.glob, "rigor": cert.rigor})
    return out


def reproduce_rows(activations=("sigmoid", "tanh"), *, verify):
    """Rows (quantity, published value, ours) for ``spurious constructions --reproduce``."""
    rows = []
    for r in reproduce(activations, verify=verify):
        a = r["activation"]
        rows.append((f"Thm 2 local minimum loss, (1/2)-sum convention ({a}; {r['verdict']}, {r['global']})",
                     r["paper_local_min_half_sum"], r["ours_local_min_half_sum"]))
        up = r["ours_witness_half_sum_upper"]
        rows.append((f"Thm 2 global minimum, (1/2)-sum convention, to 60 decimals ({a}; ours: proven upper "
                     f"bound {float(up):.2g} at the witness)", r["paper_global_half_sum"],
                     fmpq(int((up * 10**60).floor()), 10**60)))
    return rows


FAMILY = dict(
    name="yun-smooth",
    reference=REFERENCE,
    activations="sigmoid, tanh, softplus, erf, gelu, swish",
    architectures="2-2-1 with biases on X = [[1,0,1/2],[0,1,1/2]], Y = [0,0,1]",
    strict="no (non-strict; structured proof, argument D with Yun's (C2.6)-(C2.7))",
    summary="Thm 2: constant output 1/3, loss 1/3 (1/2-sum) = 2/9 (mean) while an interpolating point has loss 0",
    params=(Param("widths", (2, 2, 1), "2,2,1 only", "architecture (Yun et al.'s data are 2-dimensional)",
                  kind="widths", shape=Shape(only=((2, 2, 1),))),
            Param("activation", "sigmoid", "smooth", "hidden activation", kind="activation", choices=tuple(TUPLES)),
            Param("v1", None, "(C2.6), (C2.7)", "hidden bias 1 (default per activation)", kind="rational"),
            Param("v2", None, "h(v2) != 0", "hidden bias 2", kind="rational"),
            Param("u1", None, "(C2.6), (C2.7)", "output weight 1 (u2 from (C2.3))", kind="rational")),
    function=yun_smooth,
    reproduce=reproduce_rows,
)
