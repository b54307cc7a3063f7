"""Search: symmetry clustering, determinism across executors, interrupts, CLI, and Safran-Shamir through search."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from spurious.activations import make_activation
from spurious.arithmetic import FloatModel
from spurious.cli import cli, _register
from spurious.search.datasets import make_data, safran_shamir_problem
from spurious.search.multistart import SearchSpec, _zero_point, initial_points, model_for, search
from spurious.network import Network, Point
from spurious.problem import Loss, Problem
from spurious.symmetries import aligned_distance, canonical_float, hidden_symmetries, normalise_units
from spurious.certificate import EXACT, NOT_GLOBAL, STRICT_LOCAL_MIN, Certificate

_register()


# ------------------------------------------------------------------------------------------- symmetries
def _random_layers(rng, widths, bias=True):
    return [(rng.standard_normal((widths[l + 1], widths[l])), rng.standard_normal(widths[l + 1]) if bias else None)
            for l in range(len(widths) - 1)]


def _loss(problem, layers):
    fm = FloatModel(problem, Point.from_arrays([W for W, _ in layers], [b for _, b in layers]))
    theta = np.concatenate([np.concatenate([W.ravel()] + ([b] if b is not None else [])) for W, b in layers])
    return float(fm.losses(theta)[0])


def _problem(widths, act, wd=0, bias=True):
    net = Network.make(widths, make_activation(act), bias=bias)
    data = make_data("random-labels", widths, n=7, seed=3)
    from flint import fmpq
    return Problem(net, data, Loss(weight_decay=fmpq(wd)))


def _dist(problem, A, B):
    net, wd = problem.network, problem.loss.weight_decay
    return aligned_distance(net, normalise_units(net, A, wd), normalise_units(net, B, wd), wd)


def _transform(layers, l, perm=None, scale=None, flip=None, p=1):
    """Apply a unit permutation / positive rescaling / sign flip to hidden layer l (1-based)."""
    L = [(W.copy(), None if b is None else b.copy()) for W, b in layers]
    W, b = L[l - 1]
    Wn = L[l][0]
    if scale is not None:
        W *= scale[:, None]
        if b is not None:
            b *= scale
        Wn *= scale[None, :] ** (-p)
    if flip is not None:
        W *= flip[:, None]
        if b is not None:
            b *= flip
        Wn *= flip[None, :]
    if perm is not None:
        W, b, Wn = W[perm], None if b is None else b[perm], Wn[:, perm]
    L[l - 1] = (W, b)
    L[l] = (Wn, L[l][1])
    return L


def test_symmetry_facts():
    relu = Network.make((2, 3, 1), make_activation("relu"))
    tanh = Network.make((2, 3, 1), make_activation("tanh"))
    fixed = Network.make((2, 3, 1), make_activation("relu"), trainable=[True, False])
    assert hidden_symmetries(relu)[0].rescale == 1 and not hidden_symmetries(relu)[0].sign_flip
    assert hidden_symmetries(relu, weight_decay=1)[0].rescale is None
    assert hidden_symmetries(tanh)[0].rescale is None and hidden_symmetries(tanh)[0].sign_flip
    assert hidden_symmetries(fixed)[0].rescale is None


def test_relu_permuted_rescaled_copies_merge_and_have_equal_loss():
    rng = np.random.default_rng(0)
    pr = _problem((2, 4, 1), "relu")
    A = _random_layers(rng, (2, 4, 1))
    B = _transform(A, 1, perm=[2, 0, 3, 1], scale=np.array([0.5, 3.0, 1.7, 0.2]))
    assert _loss(pr, A) == pytest.approx(_loss(pr, B), rel=1e-12)   # it is a symmetry of the loss
    assert _dist(pr, A, B) < 1e-12
    assert canonical_float(pr.network, A) == canonical_float(pr.network, B)
    # a genuinely different point stays apart
    C = [(W + 1e-3 * rng.standard_normal(W.shape), b) for W, b in A]
    assert _dist(pr, A, C) > 1e-4


def test_rescaling_is_not_merged_with_weight_decay_or_for_tanh():
    rng = np.random.default_rng(1)
    A = _random_layers(rng, (2, 3, 1))
    B = _transform(A, 1, scale=np.array([2.0, 1.0, 1.0]))
    assert _dist(_problem((2, 3, 1), "relu", wd="1/10"), A, B) > 0.1
    assert _dist(_problem((2, 3, 1), "tanh"), A, B) > 0.1


def test_tanh_sign_flips_merge_sigmoid_flips_do_not():
    rng = np.random.default_rng(2)
    A = _random_layers(rng, (2, 3, 1))
    B = _transform(A, 1, perm=[1, 2, 0], flip=np.array([-1.0, 1.0, -1.0]))
    tanh = _problem((2, 3, 1), "tanh")
    assert _loss(tanh, A) == pytest.approx(_loss(tanh, B), rel=1e-12)
    assert _dist(tanh, A, B) < 1e-12
    sig = _problem((2, 3, 1), "sigmoid")
    assert abs(_loss(sig, A) - _loss(sig, B)) > 1e-6        # not a symmetry for sigmoid
    assert _dist(sig, A, B) > 0.1


def test_deep_network_permutations_in_every_layer():
    rng = np.random.default_rng(3)
    pr = _problem((2, 3, 3, 1), "tanh")
    A = _random_layers(rng, (2, 3, 3, 1))
    B = _transform(_transform(A, 1, perm=[2, 1, 0], flip=np.array([1.0, -1.0, 1.0])), 2, perm=[1, 2, 0])
    assert _loss(pr, A) == pytest.approx(_loss(pr, B), rel=1e-12)
    assert _dist(pr, A, B) < 1e-12


def test_linear_layers_merge_modulo_gl_and_the_tangents_are_symmetries():
    """GL(k) of linear hidden layers (deep linear 2-3-3-1): G-images merge, their loss is equal, a perturbed point
    stays apart; the exact GL tangents at a point are directions of zero loss change to first order."""
    from fractions import Fraction

    from spurious.symmetries import symmetry_names, symmetry_tangents

    rng = np.random.default_rng(4)
    pr = _problem((2, 3, 3, 1), "linear")
    A = _random_layers(rng, (2, 3, 3, 1))
    G1, G2 = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    B = [(G1 @ A[0][0], G1 @ A[0][1]), (G2 @ A[1][0] @ np.linalg.inv(G1), G2 @ A[1][1]),
         (A[2][0] @ np.linalg.inv(G2), A[2][1])]
    assert _loss(pr, A) == pytest.approx(_loss(pr, B), rel=1e-10)
    assert _dist(pr, A, B) < 1e-9
    assert canonical_float(pr.network, A) == canonical_float(pr.network, B)
    C = [(W + 1e-3 * rng.standard_normal(W.shape), b) for W, b in A]
    assert _dist(pr, A, C) > 1e-4
    assert _dist(_problem((2, 3, 3, 1), "linear", wd="1/10"), A, B) > 1e-2   # GL is no symmetry under decay
    point = Point.from_arrays([W for W, _ in A], [b for _, b in A])
    tangents = symmetry_tangents(pr.network, point)
    assert len(tangents) == 18 and symmetry_names(tangents) == ["GL(3) layer 1", "GL(3) layer 2"]
    theta = np.concatenate([np.concatenate([W.ravel(), b]) for W, b in A])
    fm = FloatModel(pr, point)
    eps = 1e-6
    for t in tangents[::5]:
        v = np.array([float(Fraction(int(x.p), int(x.q))) for x in t.vector])
        d = (fm.losses(theta + eps * v)[0] - fm.losses(theta - eps * v)[0]) / (2 * eps)
        assert abs(float(d)) < 1e-6


def test_fixed_output_layer_permutations_only_where_fixed_numbers_agree():
    rng = np.random.default_rng(4)
    net = Network.make((3, 3, 1), make_activation("relu"), bias=False, trainable=[True, False])
    A = [(rng.standard_normal((3, 3)), None), (np.array([[1.0, 1.0, 2.0]]), None)]
    same = [(A[0][0][[1, 0, 2]], None), (A[1][0], None)]                   # swaps two units with equal outgoing 1
    other = [(A[0][0][[2, 1, 0]], None), (A[1][0], None)]                  # moves the unit with outgoing 2
    na, ns, no = (normalise_units(net, X) for X in (A, same, other))
    assert aligned_distance(net, na, ns) < 1e-12
    assert aligned_distance(net, na, no) > 0.1


# ----------------------------------------------------------------------------------------------- search
def _small(seed=0):
    net = Network.make((1, 2, 1), make_activation("tanh"))
    return Problem(net, make_data("regression-1d", (1, 2, 1), n=6, seed=seed), Loss())


FAST = dict(max_iter=200, chunk_size=16, max_verify=4)


def _strip(res):
    out = res.to_json()
    out.pop("seconds")
    return out


def test_search_clusters_symmetric_end_points_and_is_deterministic():
    pr = _small()
    res = search(pr, starts=32, seed=1, verify=False, **FAST)
    assert res.starts_done == 32 and sum(m.hits for m in res.minima) + res.unconverged == 32
    # 1-2-1 tanh: each end point has 2! * 2^2 symmetric copies; no two distinct minima may be copies
    net = pr.network
    for i, a in enumerate(res.minima):
        for b in res.minima[i + 1:]:
            if abs(a.loss - b.loss) < 1e-8:
                assert aligned_distance(net, a.normalised, b.normalised) > 1e-5
    again = search(pr, starts=32, seed=1, verify=False, **FAST)
    assert _strip(res) == _strip(again)
    other = search(pr, starts=16, seed=2, verify=False, **FAST)
    assert _strip(other) != _strip(res)


def test_gradient_and_witness_of_reported_minima():
    pr = _small()
    res = search(pr, starts=32, seed=0, **FAST)
    best = min(m.loss for m in res.minima)
    assert res.best_loss <= best + 1e-15
    for m in res.minima:
        g = FloatModel(pr, m.candidate.point).gradients(m.theta)[0]
        assert float(g.norm()) <= 1e-9 * max(1, m.loss)
        if m.loss > res.best_loss + 1e-12:
            assert m.candidate.witness is not None     # witness = the best point found
        if m.reported is not None and m.reported.glob == NOT_GLOBAL:
            assert m.loss > res.best_loss


def test_dask_local_cluster_same_result_as_one_process_and_retries_lost_chunks(tmp_path):
    import distributed
    pr = _small()
    serial = search(pr, starts=48, seed=3, **FAST)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as lc, \
            distributed.Client(lc) as client:
        dask = search(pr, starts=48, seed=3, client=client, fault_dir=str(tmp_path), retries=2, **FAST)
    assert len(list(tmp_path.iterdir())) == 3     # every chunk failed once and was retried
    assert _strip(dask)["minima"] == _strip(serial)["minima"]
    assert [m.id for m in dask.certified_spurious] == [m.id for m in serial.certified_spurious]


def test_serial_retries_then_fails_loudly(tmp_path):
    pr = _small()
    res = search(pr, starts=16, seed=0, verify=False, fault_dir=str(tmp_path), retries=1, **FAST)
    assert res.starts_done == 16
    from spurious.search.executors import iter_chunks
    spec = SearchSpec.build(pr, _zero_point(pr.network), 16, chunk_size=16, fault_dir=str(tmp_path / "x"))
    (tmp_path / "x").mkdir()
    with pytest.raises(RuntimeError):
        list(iter_chunks(spec, [0], retries=0))


def _stub_verifier(candidate, rigor="auto"):
    """Test double for the pipeline only (not a proof): every candidate with a witness is 'certified'."""
    glob = NOT_GLOBAL if candidate.witness is not None else "unknown"
    return Certificate(STRICT_LOCAL_MIN, EXACT, glob=glob, loss=0.5, method="stub")


def test_interrupt_keeps_what_was_found_and_certified():
    pr = _small()
    saved = []

    def stop_after_two(event):
        if event["chunks_done"] == 2:
            raise KeyboardInterrupt

    res = search(pr, starts=80, seed=0, callback=stop_after_two, verifier=_stub_verifier,
                 on_minimum=lambda m: saved.append(m.id) if m.certified_spurious else None, **FAST)
    assert res.interrupted and res.chunks_done == 2 and res.starts_done == 32
    full = search(pr, starts=32, seed=0, verify=False, **FAST)
    assert [m.loss for m in res.minima] == [m.loss for m in full.minima]   # the two chunks' minima, all of them
    assert saved and saved == [m.id for m in res.minima if m.certified_spurious][:len(saved)]
    assert sorted(saved) == sorted(m.id for m in res.certified_spurious)


def test_interrupt_during_verification_keeps_certified_ones():
    pr = _small()
    calls = []

    def verifier(candidate, rigor="auto"):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return _stub_verifier(candidate)

    res = search(pr, starts=48, seed=1, verifier=verifier, **FAST)
    assert res.verification_interrupted and len(calls) == 2
    assert sum(m.certificate is not None for m in res.minima) == 1


def test_starts_do_not_depend_on_chunking():
    pr = _small()
    spec = SearchSpec.build(pr, _zero_point(pr.network), 10)
    from spurious.search.multistart import initial_points
    m = model_for(spec)
    a = initial_points(m, 5, 0, 10)
    b = np.concatenate([initial_points(m, 5, 0, 4), initial_points(m, 5, 4, 10)])
    assert np.array_equal(a, b)


# ------------------------------------------------------------------------------------------------- CLI
def test_cli_json_and_bad_input(tmp_path):
    r = CliRunner().invoke(cli, ["search", "--widths", "1,2,1", "--activation", "tanh", "--dataset",
                                 "regression-1d", "--n", "6", "--starts", "16", "--max-iter", "200",
                                 "--chunk-size", "16", "--max-verify", "2", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["starts"] == 16 and out["minima"]
    for m in out["minima"]:
        assert {"loss", "verdict", "global", "rigor", "hits", "id"} <= set(m)
    bad = tmp_path / "d.csv"
    bad.write_text("x,y\n1,2,3\n")
    for args in (["--widths", "2,x,1", "--dataset", "random-labels"],
                 ["--widths", "1,2,1", "--data", str(bad)],
                 ["--widths", "1,2,1", "--data", str(bad), "--dataset", "random-labels"],
                 ["--widths", "1,2,1"],
                 ["--widths", "1,2,1", "--dataset", "random-labels", "--starts", "0"]):
        r = CliRunner().invoke(cli, ["search"] + args)
        assert r.exit_code == 2, (args, r.output)
        assert r.output.strip().startswith("error:") and len(r.output.strip().splitlines()) == 1


def test_cli_reads_csv_json_and_candidate_data(tmp_path):
    from spurious.cli.search import read_data
    (tmp_path / "d.csv").write_text("x,y\n0,1/2\n1,0.25\n")
    (tmp_path / "d.json").write_text(json.dumps({"X": [[0], [1]], "Y": [["1/2"], [0.25]]}))
    a, b = read_data(str(tmp_path / "d.csv"), (1, 2, 1)), read_data(str(tmp_path / "d.json"), (1, 2, 1))
    from flint import fmpq
    assert a == b and a.Y[0][0] == fmpq(1, 2)


def test_datasets_are_seeded():
    a = make_data("gaussian-teacher", (2, 3, 1), n=5, seed=1)
    assert a == make_data("gaussian-teacher", (2, 3, 1), n=5, seed=1)
    assert a != make_data("gaussian-teacher", (2, 3, 1), n=5, seed=2)
    pr, base = safran_shamir_problem(3, 4)
    assert pr.network.trainable == (True, False) and base.layers[1].W == ((1, 1, 1, 1),)


# ------------------------------------------------------------------------------------------ Safran-Shamir
@pytest.mark.slow
def test_safran_shamir_k7_search_finds_the_certified_single_failure_minimum():
    """k = n = 7: search reaches the Delta(S_1 x S_6) minimum, F = 0.0232027149 (constructions.md 4.3; their
    F = our loss / 2), and the interval path certifies it strict and non-global."""
    pr, base = safran_shamir_problem(7, 7)
    res = search(pr, base, starts=100, seed=0, chunk_size=100, max_verify=10)
    bad = [m for m in res.minima if m.loss > 1e-3]
    assert bad, "no spurious minimum in 100 starts (6% expected)"
    assert min(m.loss for m in bad) / 2 == pytest.approx(0.0232027149, abs=1e-10)
    zero = [m for m in res.minima if m.loss <= 1e-10]
    assert zero and zero[0].hits + sum(m.hits for m in bad) + res.unconverged == 100
    assert any(m.certified_spurious for m in bad)


@pytest.mark.slow
def test_cli_save_stores_certified_spurious_minima(tmp_path):
    """k = n = 7 Safran-Shamir through the CLI with --save: every certified spurious minimum lands in the catalog
    (the catalog re-verifies before storing)."""
    db = str(tmp_path / "cat.sqlite")
    r = CliRunner().invoke(cli, ["search", "--widths", "7,7,1", "--dataset", "safran-shamir", "--starts", "60",
                                 "--chunk-size", "60", "--max-verify", "6", "--save", "--catalog", db, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    certified = [m for m in out["minima"] if m["verdict"] == "strict_local_min" and m["global"] == "not_global"
                 and m["rigor"] == "interval"]
    assert certified and len(out["saved"]) == len(certified)
    from spurious.catalog import Catalog
    ids = set(Catalog(db, load_shipped=False).ids())
    assert set(out["saved"]) <= ids


@pytest.mark.slow
@pytest.mark.parametrize("k,F", [(8, 0.0215080372), (9, 0.0200141758), (10, 0.0187021946)])
def test_safran_shamir_reproduction_lowest_spurious_family(k, F):
    """k = n = 8..10: the most frequent spurious end point of search is the single-failure family of
    constructions.md 4.3 (F to 10 digits), certified strict and non-global by the interval path."""
    pr, base = safran_shamir_problem(k, k)
    res = search(pr, base, starts=60, seed=1, chunk_size=60, max_verify=3)
    bad = [m for m in res.minima if m.loss / 2 >= 1e-3]
    assert bad, f"no spurious end point in 60 starts at k = {k}"
    assert min(m.loss for m in bad) / 2 == pytest.approx(F, abs=1e-10)
    assert any(m.certified_spurious and abs(m.loss / 2 - F) < 1e-9 for m in bad)


# ------------------------------------------------------------------------ budget, out-dir, flat sets, depth
def test_stopped_optimiser_keeps_exactly_the_finished_starts():
    """A stop (budget or Ctrl-C) between iterations: starts that had finished keep their end points, bit for bit
    the ones of an unstopped run; the others are marked unfinished (not results)."""
    import torch

    from spurious.search.optimizers import UNFINISHED, run_optimizer

    pr = _small()
    m = model_for(SearchSpec.build(pr, _zero_point(pr.network), 24))
    x0 = torch.as_tensor(initial_points(m, 0, 0, 24))
    full, it_full = run_optimizer(m.fns, x0.clone(), "lbfgs", 300, 1e-9)
    calls = [0]

    def stop():
        calls[0] += 1
        return calls[0] > int(it_full.median())

    part, it_part = run_optimizer(m.fns, x0.clone(), "lbfgs", 300, 1e-9, stop=stop)
    done = it_part != UNFINISHED
    assert 0 < int(done.sum()) < 24
    assert torch.equal(part[done], full[done]) and torch.equal(it_part[done], it_full[done])


def test_budget_returns_complete_false_json_with_the_finished_starts():
    r = CliRunner().invoke(cli, ["search", "--widths", "1,3,1", "--activation", "tanh", "--dataset", "regression-1d",
                                 "--n", "6", "--starts", "200000", "--chunk-size", "2000", "--budget", "3",
                                 "--max-verify", "2", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["complete"] is False and 0 <= out["starts"] < out["requested_starts"] == 200000
    assert sum(m["hits"] for m in out["minima"]) + out["unconverged"] == out["starts"]
    assert "error" not in r.output


def test_interrupt_flag_stops_optimisers_and_result_says_incomplete():
    """The first Ctrl-C sets the stop flag: the chunk in progress returns its finished starts, JSON follows."""
    from spurious.search import multistart

    pr = _small()

    def press_ctrl_c(event):
        multistart._STOP.set()   # what the SIGINT handler does

    res = search(pr, starts=64, seed=0, callback=press_ctrl_c, verify=False, **FAST)
    out = res.to_json()
    assert not res.complete and out["complete"] is False and out["starts"] < 64 and res.interrupted


def test_deep_linear_search_reports_one_proved_global_minimum_and_no_spurious():
    """2-3-3-1 linear (GL(3) x GL(3) symmetry): every end point is one entry whose loss is the proved global
    minimum value (reduced-rank regression closed form, exact); no spurious minimum (every local minimum of a
    deep linear network is global: Kawaguchi 2016, Laurent and von Brecht 2018)."""
    from spurious.verifiers.relaxations import global_bound

    pr = _problem((2, 3, 3, 1), "linear")
    res = search(pr, starts=40, seed=0, max_verify=1, **{k: v for k, v in FAST.items() if k != "max_verify"})
    out = res.to_json()
    value = global_bound(pr).global_value
    assert out["global_minimum"]["value"] == str(value) and out["global_minimum"]["rigor"] == "exact"
    assert len(res.minima) == 1 and res.minima[0].hits + res.unconverged == 40
    m = res.minima[0]
    assert abs(m.loss - float(value)) <= 1e-9 and m.reaches_global_value
    assert out["minima"][0]["global"] == "global" and out["certified_spurious"] == 0
    assert out["numerical_spurious"] == 0 and out["global_minimum"]["reached_by"] == m.hits


def _five_points(tmp_path):
    path = tmp_path / "five.csv"
    path.write_text("x,y\n-2,1\n-1,0\n0,1\n1,0\n2,2\n")
    return str(path)


def test_flat_sets_are_one_entry_and_out_dir_files_reverify(tmp_path):
    """1-1-1 ReLU on five 1-D points: thousands of end points lie in a handful of flat sets (dead units, units whose
    active samples fix only a product); each set is one entry. --out-dir writes one candidate per entry, named by
    its stable id, and `spurious verify` gives the verdict the search reported."""
    from spurious.candidate import load_candidate
    from spurious.catalog import stable_id
    from spurious.verifiers import verify

    out_dir = tmp_path / "minima"
    r = CliRunner().invoke(cli, ["search", "--widths", "1,1,1", "--data", _five_points(tmp_path), "--starts", "150",
                                 "--chunk-size", "150", "--max-verify", "3", "--out-dir", str(out_dir), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["complete"] and len(out["minima"]) <= 6
    files = sorted(out_dir.iterdir())
    assert len(files) == len(out["minima"])
    certified = 0
    for m in out["minima"]:
        c = load_candidate(m["file"])
        assert m["file"].endswith(stable_id(c) + ".json") and m["id"] == stable_id(c)
        prov = c.meta["search"]
        assert prov["seed"] == 0 and prov["optimizer"] == "lbfgs" and prov["hits"] == m["hits"]
        if m["verdict"] != "unverified" and m["rigor"] != "numerical":
            cert = verify(c)
            assert (cert.verdict, cert.glob, cert.rigor) == (m["verdict"], m["global"], m["rigor"])
            certified += cert.spurious
    assert certified >= 1     # a spurious (non-global) flat minimum is proved from a search end point


@pytest.mark.slow
def test_deep_relu_search_certifies_the_constant_fit_exactly():
    """2-3-3-1 ReLU on random labels: end points with a dead layer output the mean label, a known spurious
    non-strict minimum (the constant least-squares fit; a dead layer freezes the output). The exact polish inside
    the pattern (last layer by exact least squares) makes the float end point exactly critical, and the exact path
    certifies it: loss = the labels' variance (mean reduction)."""
    from flint import fmpq

    pr = _problem((2, 3, 3, 1), "relu")
    ys = [y[0] for y in pr.data.Y]
    mean = sum(ys, fmpq(0)) / len(ys)
    variance = sum(((y - mean) ** 2 for y in ys), fmpq(0)) / len(ys)
    res = search(pr, starts=60, seed=0, chunk_size=60, max_verify=60)
    constant = [m for m in res.minima if m.certified_spurious and m.certificate.loss == variance]
    assert constant and constant[0].certificate.rigor == EXACT
    assert constant[0].certificate.verdict == "non_strict_local_min"


@pytest.mark.slow
def test_real_dask_cluster_loses_no_start_when_a_worker_is_killed(tmp_path):
    """A scheduler and two single-threaded worker processes on 127.0.0.1 (started here); one worker is killed
    after the first chunk arrives. Dask reschedules its chunks: every start is done, and the minima and hit
    counts equal the one-process run."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import distributed

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    log = open(tmp_path / "dask.log", "w")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", "127.0.0.1:0"], env=env, stdout=log, stderr=log)]
    try:
        time.sleep(2)
        workers = [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                                     "--dashboard-address", "127.0.0.1:0"], env=env, stdout=log, stderr=log)
                   for _ in range(2)]
        procs += workers
        pr = _small()
        serial = search(pr, starts=64, seed=4, verify=False, max_iter=200, chunk_size=4)
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            killed = []

            def kill_one(event):
                if not killed:
                    workers[0].kill()
                    killed.append(event["chunks_done"])

            res = search(pr, starts=64, seed=4, verify=False, max_iter=200, chunk_size=4, client=client,
                         callback=kill_one)
        assert killed and killed[0] < 16 and workers[0].wait(timeout=10) is not None
        assert res.complete and res.starts_done == 64 and res.chunks_done == 16
        assert _strip(res)["minima"] == _strip(serial)["minima"]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        log.close()


def test_closed_form_teacher_loss_equals_the_generic_population_loss():
    """Safran-Shamir setting: the closed-form arc-cosine kernel loss and gradient used by search agree with the
    generic population loss (autograd through arithmetic/population) to rounding at random points; the teacher is
    a zero of both; other problems keep the generic loss."""
    import torch

    from spurious.search.optimizers import BatchedLoss, TeacherReluLoss

    for k in (3, 7):
        pr, base = safran_shamir_problem(k, k)
        m = model_for(SearchSpec.build(pr, base, 4))
        assert isinstance(m.fns, TeacherReluLoss)
        x = torch.as_tensor(initial_points(m, 1, 0, 4))
        generic = BatchedLoss(m.float_model.loss)
        (g1, v1), (g2, v2) = m.fns.grad(x), generic.grad(x)
        assert torch.allclose(v1, v2, rtol=1e-12, atol=1e-12) and torch.allclose(g1, g2, rtol=1e-10, atol=1e-12)
        assert torch.allclose(m.fns.value(x), v2, rtol=1e-12, atol=1e-12)
    teacher_point = torch.eye(3).reshape(1, 9).double()        # the global minimum: loss 0, gradient 0
    fns = TeacherReluLoss.for_problem(*safran_shamir_problem(3, 3), generic.value)
    g, v = fns.grad(teacher_point)
    assert float(v.abs().max()) < 1e-14 and float(g.abs().max()) < 1e-14
    tanh = _problem((2, 3, 1), "tanh")
    assert TeacherReluLoss.for_problem(tanh, _zero_point(tanh.network), generic.value) is None


def test_closed_form_teacher_hessian_equals_the_generic_hessian_and_polish_converges():
    """The closed-form arc-cosine Hessian of the Safran-Shamir loss agrees with the autodiff Hessian of the generic
    population loss to 1e-10 (relative) at random points (k = 3, 5) and with the float64 closed forms of
    arithmetic/population; it is symmetric. Newton polish with it (Cholesky where positive definite) takes a start
    1e-6 away from the k = n = 6 spurious minimum back to gradient < 1e-12, at the same point and loss, with a
    positive smallest eigenvalue equal to the generic Hessian's."""
    import numpy as np
    import torch

    from spurious.arithmetic.population import population_numpy
    from spurious.constructions.safran_shamir import safran_shamir
    from spurious.search.optimizers import BatchedLoss, polish

    for k in (3, 5):
        pr, base = safran_shamir_problem(k, k)
        m = model_for(SearchSpec.build(pr, base, 3))
        x = torch.as_tensor(initial_points(m, 2, 0, 3))
        H, Hg = m.fns.hess(x), BatchedLoss(m.float_model.loss).hess(x)
        assert float((H - Hg).abs().max() / Hg.abs().max()) < 1e-10
        assert torch.equal(H, H.transpose(1, 2)) or float((H - H.transpose(1, 2)).abs().max()) < 1e-13
        Hn = population_numpy(x[1].reshape(k, k).numpy(), np.ones((1, k)), np.eye(k), np.ones((1, k)))[2]
        assert np.max(np.abs(H[1].numpy() - Hn)) < 1e-12 * np.max(np.abs(Hn))
    cand = safran_shamir(k=6)
    pr, base = safran_shamir_problem(6, 6)
    m = model_for(SearchSpec.build(pr, base, 2))
    star = torch.tensor([[float(v) for row in cand.point.layers[0].W for v in row]], dtype=torch.float64)
    x = star + 1e-6 * torch.randn(2, 36, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert float(m.fns.grad(x)[0].norm(dim=1).min()) > 1e-7
    x, f, gn, lam = polish(m.fns, x.clone(), steps=8)
    assert float(gn.max()) < 1e-12 and float((x - star).abs().max()) < 1e-10
    assert float((f - m.fns.value(star)).abs().max()) < 1e-14
    lam_generic = torch.linalg.eigvalsh(BatchedLoss(m.float_model.loss).hess(x))[:, 0]
    assert float(lam.min()) > 1e-3 and torch.allclose(lam, lam_generic, rtol=1e-9)


def test_safran_shamir_end_points_merge_modulo_input_coordinate_permutations():
    """Teacher V = I: the loss is invariant under permuting input coordinates (with the teacher's units), so a copy
    of the k = 6 spurious minimum with permuted coordinates and students is one cluster with it (verified once);
    a point at the same loss that is not such a copy (one column changed) is not merged, and neither is the
    coordinate-permuted copy when the teacher is not the identity (no such symmetry)."""
    import torch

    from spurious.constructions.safran_shamir import safran_shamir
    from spurious.search.multistart import cluster_points

    cand = safran_shamir(k=6)
    pr, base = safran_shamir_problem(6, 6)
    m = model_for(SearchSpec.build(pr, base, 2))
    assert m.fns.input_permutations
    W = np.array([[float(v) for v in row] for row in cand.point.layers[0].W])
    loss = float(m.fns.value(torch.tensor(W.reshape(1, -1)))[0])
    rng = np.random.default_rng(0)
    cols, rows = rng.permutation(6), rng.permutation(6)
    assert list(cols) != list(range(6))
    copy = W[rows][:, cols] + 1e-9 * rng.standard_normal((6, 6))
    other = W.copy()
    other[:, 2] = other[:, 2][::-1]
    pts = [(W.ravel(), loss, 0, 1, 0.0, 0.1), (copy.ravel(), loss, 1, 1, 0.0, 0.1), (other.ravel(), loss, 2, 1, 0.0, 0.1)]
    clusters = cluster_points(m, pts, 1e-5)
    assert [c.hits for c in clusters] == [2, 1] and clusters[1].first_start == 2
    m.fns.input_permutations = False  # as for a teacher other than the identity (the model is cached: restore)
    try:
        assert [c.hits for c in cluster_points(m, pts[:2], 1e-5)] == [1, 1]
    finally:
        m.fns.input_permutations = True


def test_minimum_json_has_no_nan():
    """The Gaussian closed form has no float Hessian at parallel units (the teacher cluster): its smallest eigenvalue
    is NaN, which JSON cannot carry; it is written as null and the rest of the row is kept."""
    import math

    from spurious.search.multistart import Minimum

    row = Minimum(np.zeros(3), 0.0, 0, 5, 1e-12, math.nan).to_json(10)
    assert row["min_hessian_eigenvalue"] is None and row["hits"] == 5 and row["fraction"] == 0.5
    json.dumps(row, allow_nan=False)
    assert Minimum(np.zeros(3), 0.0, 0, 5, 1e-12, -0.25).to_json(10)["min_hessian_eigenvalue"] == -0.25
