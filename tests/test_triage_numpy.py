"""The torch-free float path (issue 16, item 6): `verify --rigor numerical` on a small problem never imports torch,
and its numpy evaluation agrees with the torch.func one (loss, gradient, Hessian) and with exact arithmetic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from flint import fmpq

from spurious.activations import make_activation
from spurious.arithmetic import FloatModel, evaluate_exact, evaluate_numpy
from spurious.candidate import candidate_from_json
from spurious.rationals import fmpq_to_float

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    ((2, 3, 1), "tanh", {}),
    ((1, 2, 2, 1), "sigmoid", {"reduction": "sum"}),
    ((2, 2, 1), "softplus", {"weight_decay": fmpq(1, 10)}),
    ((2, 3, 1), "erf", {"bias": False}),
    ((1, 3, 1), "gelu", {}),
    ((2, 2, 1), "swish", {"trainable": [True, False]}),
    ((2, 3, 2, 1), make_activation("leaky_relu", slope="1/10"), {}),
    ((2, 3, 1), make_activation("polynomial", coefficients=["1/2", "-1", "1/3"]), {"weight_decay": fmpq(1, 3)}),
]


@pytest.mark.parametrize("widths,act,kw", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_numpy_float_path_agrees_with_torch(make_problem, widths, act, kw):
    problem, point = make_problem(3, widths, act, n=5, **kw)
    ev = evaluate_numpy(problem, point)
    model = FloatModel(problem, point)
    loss, grad, hess = model.evaluate(point.flatten_float(problem.network))
    scale = max(1.0, abs(loss), float(np.max(np.abs(hess))))
    assert abs(ev.loss - loss) <= 1e-12 * scale
    assert np.max(np.abs(np.array(ev.gradient) - grad)) <= 1e-11 * scale
    assert ev.hessian.shape == hess.shape and np.max(np.abs(ev.hessian - hess)) <= 1e-11 * scale
    np.testing.assert_array_equal(ev.hessian, ev.hessian.T)


def test_numpy_float_path_is_the_rounded_exact_value(make_problem):
    act = make_activation("leaky_relu", slope="1/4")
    problem, point = make_problem(5, (2, 3, 1), act, n=6)
    exact = evaluate_exact(problem, point)
    ev = evaluate_numpy(problem, point)
    assert abs(ev.loss - fmpq_to_float(exact.loss)) <= 1e-13 * max(1.0, abs(ev.loss))
    H = np.array([[fmpq_to_float(exact.hessian[i, j]) for j in range(exact.hessian.ncols())]
                  for i in range(exact.hessian.nrows())])
    assert np.max(np.abs(ev.hessian - H)) <= 1e-12 * max(1.0, np.max(np.abs(H)))


def test_triage_verdicts_do_not_depend_on_the_engine(monkeypatch):
    """The same float verdicts from numpy (small problems) and torch (forced), on a minimum and on a non-minimum."""
    import spurious
    from spurious.verifiers import numerical

    yun = spurious.load_candidate(ROOT / "examples" / "yun2019-theorem1.json")
    moved = yun.to_json()
    moved["point"][0]["W"][0][0] = str(fmpq(moved["point"][0]["W"][0][0]) + fmpq(1, 8))  # off the critical point
    moved = candidate_from_json(moved)
    origin = yun.to_json()  # tanh at the origin: critical, and the W-v coupling of the Hessian makes it a saddle
    origin["network"]["activation"] = {"name": "tanh"}
    origin["point"] = [{k: [[0] * len(r) for r in v] if k == "W" else [0] * len(v) for k, v in layer.items()}
                       for layer in origin["point"]]
    origin["point"][-1]["b"] = ["1/3"]  # the mean label: the output bias is critical too
    origin = candidate_from_json(origin)
    verdicts = []
    for cand in (yun, moved, origin, spurious.construct("single-neuron")):
        small = numerical.triage(cand)
        monkeypatch.setattr(numerical, "SMALL_WORK", -1)
        big = numerical.triage(cand)
        monkeypatch.undo()
        assert "numpy" in small.reasons[0] and "torch" in big.reasons[0]
        assert (small.verdict, small.glob, small.rigor) == (big.verdict, big.glob, big.rigor)
        assert abs(small.loss - big.loss) <= 1e-12 * max(1.0, abs(big.loss))
        verdicts.append(small.verdict)
    assert verdicts[1:] == ["not_critical", "not_local_min", "strict_local_min"]


def test_small_numerical_verify_never_imports_torch():
    code = ("import sys\n"
            "import spurious\n"
            "assert 'torch' not in sys.modules, 'import spurious imported torch'\n"
            "from spurious.cli import main\n"
            "sys.argv = ['spurious', 'verify', 'examples/yun2019-theorem1.json', '--rigor', 'numerical']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'torch' not in sys.modules, 'verify --rigor numerical imported torch'\n"
            "print('no torch')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert "numpy, structured formula" in out.stdout and out.stdout.strip().endswith("no torch")
