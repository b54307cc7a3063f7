"""Does a candidate satisfy a claim's hypotheses? Decided exactly from the candidate's numbers.

``check_hypotheses(hypotheses, candidate)`` returns (ok, reasons): ok is True only if every testable hypothesis
holds; reasons name each hypothesis and what was found.
"""

from __future__ import annotations

from flint import fmpq

from .schema import width_bound

__all__ = ["check_hypotheses", "activation_in_class"]


def activation_in_class(act, cls: str) -> bool:
    """Whether one activation belongs to a named class (or is the named activation)."""
    if cls == "any_continuous":
        return True
    if cls == "piecewise_linear":
        return act.kind == "piecewise_linear"
    if cls == "relu_like":  # h(z) = max(s+ z, 0) + min(s- z, 0), s+ > 0, s- >= 0, s+ != s- (Yun et al. 2019)
        return (act.kind == "piecewise_linear" and act.breakpoints == (fmpq(0),) and act.homogeneity == 1
                and act.slopes[1] > 0 and act.slopes[0] >= 0 and act.slopes[0] != act.slopes[1])
    if cls == "smooth":
        return act.kind == "smooth"
    if cls == "polynomial":
        return act.kind == "polynomial"
    if cls == "linear":
        return act.is_linear
    return act.name == cls


def check_hypotheses(hyp: dict, candidate):
    """(ok, reasons) for one candidate. Untestable hypotheses are not judged here (see the checker)."""
    p = candidate.problem
    net = p.network
    reasons = []
    ok = True

    def need(cond, text):
        nonlocal ok
        reasons.append(("holds: " if cond else "fails: ") + text)
        ok = ok and cond

    N = p.data.n if p.finite else None
    d = net.widths[0]
    hidden = net.widths[1:-1]
    if "depth" in hyp:
        need(net.depth == hyp["depth"], f"depth {net.depth} == {hyp['depth']}")
    if "depth_min" in hyp:
        need(net.depth >= hyp["depth_min"], f"depth {net.depth} >= {hyp['depth_min']}")
    acts = hyp.get("activation", ["any_continuous"])
    need(all(any(activation_in_class(a, c) for c in acts) for a in net.activations),
         f"activation(s) {sorted({str(a) for a in net.activations}) or ['none']} in {acts}")
    for key, pick, op in (("hidden_width_min", min, ">="), ("hidden_width_max", max, "<="),
                          ("last_hidden_width_min", None, ">=")):
        if key not in hyp:
            continue
        if "N" in str(hyp[key]) and N is None:
            need(False, f"{key} {hyp[key]} refers to the sample count N, but the data is a population")
            continue
        bound = width_bound(hyp[key], N, d)
        if not hidden:
            need(False, f"{key}: the network has no hidden layer")
            continue
        width = hidden[-1] if pick is None else pick(hidden)
        cond = width >= bound if op == ">=" else width <= bound
        need(cond, f"{key}: width {width} {op} {hyp[key]} = {bound}")
    if "input_dim" in hyp:
        need(net.widths[0] == hyp["input_dim"], f"input dimension {net.widths[0]} == {hyp['input_dim']}")
    if "output_dim" in hyp:
        need(net.widths[-1] == hyp["output_dim"], f"output dimension {net.widths[-1]} == {hyp['output_dim']}")
    if "bias" in hyp:
        want = bool(hyp["bias"])
        has = all(net.bias) if want else not any(net.bias)
        need(has, f"bias {'in every layer' if want else 'in no layer'}")
    if not hyp.get("weight_decay", False):
        need(p.loss.weight_decay == 0, "no weight decay")
    for assumption in hyp.get("data", []):
        if assumption == "gaussian":
            need(not p.finite, "standard Gaussian (population) inputs")
        elif assumption == "finite":
            need(p.finite, "a finite training set")
        elif assumption in ("distinct", "distinct_coordinate"):
            if not p.finite:
                need(True, f"{assumption}: population data (distinct almost surely)")
                continue
            X = p.data.X
            if assumption == "distinct":
                need(len(set(X)) == len(X), "the inputs are distinct")
            else:
                cond = any(len({x[j] for x in X}) == len(X) for j in range(d))
                need(cond, "the inputs are distinct in at least one coordinate")
        else:
            need(False, f"unknown data assumption {assumption!r}")
    fixed_output = bool(hyp.get("output_layer_fixed"))
    if fixed_output:
        need(not net.trainable[-1], "the output layer is fixed (not trainable)")
    need(all(net.trainable[:-1]) and (fixed_output or net.trainable[-1]),
         "every layer is trainable" + (" except the output layer" if fixed_output else ""))
    if "output_signs_min" in hyp:
        bound = width_bound(hyp["output_signs_min"], N, d)
        out = [w for row in candidate.point.layers[-1].W for w in row]
        pos, neg = sum(1 for w in out if w > 0), sum(1 for w in out if w < 0)
        need(pos >= bound and neg >= bound, f"output weights: {pos} positive and {neg} negative, each >= {bound}")
    return ok, reasons
