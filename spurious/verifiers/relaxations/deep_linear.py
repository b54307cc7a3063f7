"""Deep linear networks: the global minimum in closed form, and the Yun-Sra-Jadbabaie (ICLR 2018) test.

A network whose hidden activations are all linear (sigma(z) = c z, c != 0), squared loss, finite data and no weight
decay computes an affine map x -> A x + c0. Cutting the network at hidden layer j gives the constraints

* rank A <= d_j (every cut, and the input/output widths), and
* if no layer after j has a bias but one before does: rank [A c0] <= d_j; if no layer has a bias: c0 = 0.

So with r1 = min of all widths and r2 = min of the widths after the last bias layer (infinite when the output layer
has a bias), the reachable set is {rank A <= r1, c0 free} when r2 > r1 (centre the data), {rank [A c0] <= r1}
when r2 == r1 (augment X with a row of ones) and {rank A <= r1, c0 = 0} without biases. Each is reduced-rank
regression: min ||R X - Y||^2 = ||Y||^2 - (sum of the r largest eigenvalues of Y X^T (X X^T)^+ X Y^T)
(Eckart-Young after projecting Y on the row space of X; YSJ18 Prop. 3.1). The eigenvalue sum is exact when the top-r
eigenvalues form whole irreducible factors of the characteristic polynomial, and enclosed by isolated roots otherwise.
"""

from __future__ import annotations

from flint import fmpq, fmpq_mat

from ...arithmetic import evaluate_exact
from ...errors import InternalError
from ...linalg import rank
from ...certificate import EXACT, INTERVAL
from .bound import Bound, loss_scale
from .rigor import eigen_sum_top, mat, real_roots

__all__ = ["DeepLinear", "closed_form", "yun_test", "YunResult", "end_to_end"]

GLOBAL, SADDLE, NOT_GLOBAL, NOT_CRITICAL, INCONCLUSIVE = "global", "saddle", "not_global", "not_critical", "inconclusive"


def accepts(problem) -> bool:
    net = problem.network
    return (problem.finite and all(a.is_linear for a in net.activations) and all(net.trainable)
            and problem.loss.weight_decay == 0)


def _structure(net):
    """(r, mode): mode 'linear' (no intercept), 'free' (intercept free, centre) or 'augmented' (rank [A c0] <= r)."""
    w = net.widths
    L = net.depth
    r1 = min(w)
    if not any(net.bias):
        return r1, "linear"
    if net.bias[L - 1]:
        return r1, "free"
    last = max(l for l in range(L) if net.bias[l])  # 0-based layer index of the last bias layer
    r2 = min(w[j] for j in range(last + 1, L))  # widths d_j after that layer (hidden only: j <= L-1)
    return r1, ("free" if r2 > r1 else "augmented")


def _data(problem, mode):
    X = [[x for x in row] for row in problem.data.X]  # n x d0
    Y = [[y for y in row] for row in problem.data.Y]
    n = len(X)
    if mode == "free":
        for M in (X, Y):
            for j in range(len(M[0])):
                m = sum((row[j] for row in M), fmpq(0)) / n
                for row in M:
                    row[j] -= m
    if mode == "augmented":
        X = [row + [fmpq(1)] for row in X]
    return mat(X).transpose(), mat(Y).transpose()  # d x n, dy x n


def _sigma(Xt, Yt):
    """M with the spectrum of Y X^T (X X^T)^+ X Y^T (the smaller of the two similar forms) and ||Y||^2."""
    R, rk = Xt.rref()
    rows = [[R[i, j] for j in range(R.ncols())] for i in range(rk)]
    total = sum((Yt[i, j] ** 2 for i in range(Yt.nrows()) for j in range(Yt.ncols())), fmpq(0))
    if rk == 0:
        return fmpq_mat(0, 0), total
    B = mat(rows)  # rank x n, same row space as X
    G = B * B.transpose()
    C = B * Yt.transpose()  # rank x dy
    if Yt.nrows() <= rk:
        Sigma = C.transpose() * G.solve(C)
    else:
        Sigma = G.solve(C * C.transpose())
    return Sigma, total


def closed_form(problem):
    """(lo, hi, exact, r, mode, gap): exact rational enclosure of the global minimum value L*."""
    r, mode = _structure(problem.network)
    Xt, Yt = _data(problem, mode)
    Sigma, total = _sigma(Xt, Yt)
    lo, hi, exact, gap = eigen_sum_top(Sigma, r) if Sigma.nrows() else (fmpq(0),) * 3 + (True,)
    c = loss_scale(problem)
    if exact is not None:
        v = c * (total - exact)
        return v, v, v, r, mode, gap
    return c * (total - hi), c * (total - lo), None, r, mode, gap


class DeepLinear:
    """Reduction: deep linear network -> reduced-rank regression (closed form, no solver)."""

    name = "deep linear closed form (reduced-rank regression)"

    @staticmethod
    def accepts(problem) -> bool:
        return accepts(problem)

    @staticmethod
    def apply(problem, solver=None) -> Bound:
        lo, hi, exact, r, mode, _ = closed_form(problem)
        why = {"linear": "no biases: R X with rank R <= r",
               "free": "intercept free: centred data, rank A <= r",
               "augmented": "intercept in the bottleneck: rank [A c] <= r on [X; 1]"}[mode]
        reasons = [f"end-to-end affine map, rank bound r = {r} ({why}); Eckart-Young (YSJ18 Prop. 3.1)"]
        if exact is not None:
            reasons.append("top-r eigenvalues form whole factors of the characteristic polynomial: value exact")
            return Bound(exact, exact, EXACT, DeepLinear.name, reasons, global_upper_bound=exact)
        reasons.append("irrational eigenvalue sum enclosed by certified root isolation")
        return Bound(lo, None, INTERVAL, DeepLinear.name, reasons, global_upper_bound=hi)


# --- Yun, Sra, Jadbabaie (ICLR 2018), Theorems 2.1 / 2.2 -------------------------------------------------------------

class YunResult:
    def __init__(self, status, reasons, loss=None, global_value=None):
        self.status, self.reasons, self.loss, self.global_value = status, reasons, loss, global_value

    def __repr__(self):
        return f"YunResult({self.status!r})"


def end_to_end(network, point, start, stop) -> fmpq_mat:
    """W_stop c ... W_{start+1} (0-based layers start..stop-1) including the linear activations' factors c."""
    M = None
    for l in range(start, stop):
        W = mat(point.layers[l].W)
        if M is not None:
            M = W * (network.activations[l - 1].coefficients[1] * M)
        else:
            M = W
    return M


def yun_test(problem, point) -> YunResult:
    """Decide exactly whether a point of a bias-free deep linear net is a global minimum, a saddle, or not critical.

    Global iff the loss equals the closed-form minimum (assumption-free). "saddle" (not a local minimum) needs YSJ18's
    hypotheses (d_x, d_y <= m, X X^T and Y X^T full rank; Thm 2.2 also distinct eigenvalues of Sigma) and is
    decided by rank(W_{H+1..1}) = k and (Thm 2.2) col(W_{H+1..p+1}) = top-k eigenspace of Sigma, tested exactly:
    Sigma-invariance by rank, eigenvalue order by certified root isolation. Both answers are cross-checked.
    """
    if not accepts(problem) or any(problem.network.bias):
        return YunResult(INCONCLUSIVE, ["the YSJ18 test needs a bias-free deep linear network, squared loss, no decay"])
    ev = evaluate_exact(problem, point, order=1)
    if any(g != 0 for g in ev.gradient):
        return YunResult(NOT_CRITICAL, ["the exact gradient is nonzero: not a critical point"], ev.loss)
    lo, hi, exact, k, _, _ = closed_form(problem)
    loss = ev.loss
    by_value = GLOBAL if (exact is not None and loss == exact) else (NOT_GLOBAL if loss > hi else None)
    if by_value is None and loss < lo:
        raise InternalError("a loss below the proven global minimum: closed form is wrong")
    thm = _theorem(problem, point, k)
    reasons = []
    if thm is not None:
        status, why = thm
        reasons.append(why)
        if by_value is not None and (status == GLOBAL) != (by_value == GLOBAL):
            raise InternalError(f"YSJ18 test says {status} but the loss comparison says {by_value}")
        return YunResult(status, reasons, loss, exact)
    if by_value is None:
        return YunResult(INCONCLUSIVE, ["YSJ18 hypotheses fail and the loss is inside the enclosure of L*"], loss)
    reasons.append("loss " + ("equals" if by_value == GLOBAL else "exceeds") + " the closed-form global minimum"
                   + ("" if by_value == GLOBAL else " (YSJ18 hypotheses fail: saddle not claimed)"))
    return YunResult(by_value, reasons, loss, exact)


def _theorem(problem, point, k):
    """(status, reason) from YSJ18 Thm 2.1/2.2 when their hypotheses hold exactly, else None."""
    net = problem.network
    X = mat(problem.data.X).transpose()
    Y = mat(problem.data.Y).transpose()
    dx, m = X.nrows(), X.ncols()
    dy = Y.nrows()
    if dx > m or dy > m or rank(X) != dx or rank(Y * X.transpose()) != min(dx, dy):
        return None
    R = end_to_end(net, point, 0, net.depth)
    r = rank(R)
    if k == min(dx, dy):
        ok = r == k
        return (GLOBAL if ok else SADDLE), f"YSJ18 Thm 2.1: rank(W_(H+1)...W_1) = {r} {'=' if ok else '<'} k = {k}"
    if r != k:
        return SADDLE, f"YSJ18 Thm 2.2: rank(W_(H+1)...W_1) = {r} < k = {k}"
    Sigma = Y * X.transpose() * (X * X.transpose()).solve(X * Y.transpose())
    chi = Sigma.charpoly()
    if chi.gcd(chi.derivative()).degree() > 0:
        return None  # repeated eigenvalues: U-hat not unique, outside the theorem
    p = min(i for i, d in enumerate(net.widths) if d == k)
    A = end_to_end(net, point, p, net.depth)  # dy x k
    AM = fmpq_mat(dy, 2 * k, [x for i in range(dy) for x in
                               [A[i, j] for j in range(k)] + [(Sigma * A)[i, j] for j in range(k)]])
    if rank(AM) != k:
        return SADDLE, "YSJ18 Thm 2.2: col(W_(H+1)...W_(p+1)) is not Sigma-invariant, so not the top-k eigenspace"
    At = A.transpose()
    C = (At * A).solve(At * Sigma * A)
    chiC = C.charpoly()
    q, rem = divmod(chi, chiC)
    if not rem.is_zero():
        raise InternalError("restriction's characteristic polynomial does not divide Sigma's")
    inside = [z for z, _ in real_roots(chiC, 256)]
    outside = [z for z, _ in real_roots(q, 256)] if q.degree() > 0 else []
    lo_in = min(inside, key=lambda z: float(z.mid()))
    top = all(lo_in > z for z in outside)
    if top:
        return GLOBAL, "YSJ18 Thm 2.2: rank k and col(W_(H+1)...W_(p+1)) is the top-k eigenspace of Sigma (exact)"
    if any(z > lo_in for z in outside):
        return SADDLE, "YSJ18 Thm 2.2: col(W_(H+1)...W_(p+1)) is an invariant subspace other than the top-k one"
    return None
