"""The catalog: canonical ids, storage, filters, lineage, export, tamper detection, migrations, CLI.

Canonical ids are checked against an independent relation: isomorphism of the rescaled layered weighted graph
(networkx), on symmetric images (permutations, positive rescalings of ReLU units, data-row permutations) and on
near misses (one weight changed, outgoing weights of two distinct units swapped, rescaling under weight decay).
"""

import json
import random
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner
from flint import fmpq
from sqlalchemy import create_engine, text

from conftest import random_problem
from spurious import Catalog as LazyCatalog
from spurious.activations import make_activation
from spurious.arithmetic import evaluate_exact
from spurious.candidate import Candidate, load_candidate
from spurious.catalog import Catalog, NotCertifiedError, stable_id
from spurious.catalog.canonical import canonical_form, same_minimum_by_graph
from spurious.catalog.entries import content_hash
from spurious.catalog.export import build_module, build_module_from_json, npz_arrays, state_dict, write_export
from spurious.catalog.migrations import SCHEMA_VERSION, create_v1_schema
from spurious.catalog.shipped_loader import shipped_files
from spurious.errors import InputError
from spurious.network import Layer, Point
from spurious.problem import FiniteData, Problem
from spurious.rationals import fmpq_to_float, parse_number
from spurious.verifiers import verify

YUN = "examples/yun2019-theorem1.json"


# --- helpers: symmetries implemented independently of canonical.py -------------------------------------------
def permute_units(point, l, perm):
    """Hidden layer l (1-based): unit perm[k] moves to position k."""
    layers = list(point.layers)
    a, b = layers[l - 1], layers[l]
    layers[l - 1] = Layer(tuple(a.W[k] for k in perm), None if a.b is None else tuple(a.b[k] for k in perm))
    layers[l] = Layer(tuple(tuple(row[k] for k in perm) for row in b.W), b.b)
    return Point(layers)


def rescale_unit(point, l, k, a, p=1):
    """Incoming (w, b) of unit k of hidden layer l times a, outgoing times a^-p."""
    layers = list(point.layers)
    x, y = layers[l - 1], layers[l]
    W = list(x.W)
    W[k] = tuple(v * a for v in W[k])
    bias = None if x.b is None else tuple(v * a if j == k else v for j, v in enumerate(x.b))
    layers[l - 1] = Layer(tuple(W), bias)
    layers[l] = Layer(tuple(tuple(v / a ** p if j == k else v for j, v in enumerate(row)) for row in y.W), y.b)
    return Point(layers)


def permute_rows(candidate, perm):
    d = candidate.problem.data
    data = FiniteData(tuple(d.X[i] for i in perm), tuple(d.Y[i] for i in perm))
    return Candidate(Problem(candidate.problem.network, data, candidate.problem.loss), candidate.point,
                     candidate.witness, candidate.meta)


def random_image(candidate, rng):
    """A random symmetric copy: permute every hidden layer, rescale homogeneous units, permute data rows."""
    net = candidate.problem.network
    point = candidate.point
    for l in range(1, net.depth):
        perm = list(range(net.widths[l]))
        rng.shuffle(perm)
        point = permute_units(point, l, perm)
        p = net.activations[l - 1].homogeneity
        if p is None or candidate.problem.loss.weight_decay != 0 or not (net.trainable[l - 1] and net.trainable[l]):
            continue  # rescaling is a symmetry of the loss only for homogeneous units between trainable layers
        for k in range(net.widths[l]):
            point = rescale_unit(point, l, k, fmpq(rng.randint(1, 9), rng.randint(1, 9)), p)
    rows = list(range(candidate.problem.data.n))
    rng.shuffle(rows)
    return permute_rows(candidate.with_point(point), rows)


def cand(seed, widths=(2, 3, 1), act="relu", n=4, family="random-test", **kw):
    problem, point = random_problem(seed, widths, act, n=n, **kw)
    return Candidate(problem, point, meta={"construction": family, "params": {"seed": seed}})


def with_ties(seed):
    """A 1-3-3-1 ReLU point whose first two units of layer 1 have identical incoming weights (a split neuron)."""
    c = cand(seed, widths=(1, 3, 3, 1))
    layers = list(c.point.layers)
    first = layers[0]
    layers[0] = Layer((first.W[0], first.W[0], first.W[2]), (first.b[0], first.b[0], first.b[2]))
    return c.with_point(Point(layers))


@pytest.fixture
def cat(tmp_path):
    c = Catalog(str(tmp_path / "catalog.sqlite"))
    yield c
    c.close()


def raw(cat):
    return create_engine(cat.url)


# --- canonical form ---------------------------------------------------------------------------------------------
def test_symmetric_copies_share_the_id_and_the_loss():
    rng = random.Random(0)
    for seed in range(6):
        c = cand(seed, widths=(2, 3, 2, 1), n=5)
        image = random_image(c, rng)
        assert image.point != c.point
        if c.problem.exact_capable:
            assert evaluate_exact(image.problem, image.point, 0).loss == evaluate_exact(c.problem, c.point, 0).loss
        else:  # a permuted copy: the same loss, so the two enclosures overlap
            from spurious.arithmetic import evaluate_ball

            assert evaluate_ball(image.problem, image.point, order=0).loss.overlaps(
                evaluate_ball(c.problem, c.point, order=0).loss)
        assert stable_id(image) == stable_id(c)
        assert same_minimum_by_graph(image, c)


def test_ties_in_a_middle_layer_are_canonical():
    rng = random.Random(1)
    for seed in range(5):
        c = with_ties(seed)
        for _ in range(4):
            assert stable_id(random_image(c, rng)) == stable_id(c)
        assert "tie_budget_exhausted" not in canonical_form(c)


def test_id_equality_is_graph_isomorphism_on_images_and_near_misses():
    rng = random.Random(2)
    same = differ = 0
    for seed in range(12):
        c = with_ties(seed) if seed % 2 else cand(seed, widths=(2, 3, 1), n=3)
        others = [random_image(c, rng)]
        # near misses: one weight changed; outgoing weights of two units swapped (not a symmetry unless tied)
        flat = c.point.flatten(c.problem.network)
        j = rng.randrange(len(flat))
        others.append(c.with_point(c.point.with_flat(c.problem.network, flat[:j] + [flat[j] + 1] + flat[j + 1:])))
        L = c.problem.network.depth
        last = list(c.point.layers)
        out = last[L - 1]
        W = tuple(tuple(row[1::-1] + row[2:]) for row in out.W)
        last[L - 1] = Layer(W, out.b)
        others.append(c.with_point(Point(last)))
        for o in others:
            iso = same_minimum_by_graph(c, o)
            assert (stable_id(c) == stable_id(o)) == iso
            same += iso
            differ += not iso
    assert same >= 12 and differ >= 12  # both relations exercised


def test_rescaling_is_not_identified_under_weight_decay():
    c = cand(3, widths=(2, 2, 1), weight_decay=fmpq(1, 10))
    image = c.with_point(rescale_unit(c.point, 1, 0, fmpq(2)))
    # with weight decay the rescaled point is a different point of the landscape: different loss, different id
    assert evaluate_exact(image.problem, image.point, 0).loss != evaluate_exact(c.problem, c.point, 0).loss
    assert stable_id(image) != stable_id(c)
    permuted = c.with_point(permute_units(c.point, 1, [1, 0]))
    assert stable_id(permuted) == stable_id(c)


def test_rescaling_is_not_identified_for_non_homogeneous_activations():
    c = cand(4, widths=(2, 2, 1), act="tanh")
    assert stable_id(c.with_point(rescale_unit(c.point, 1, 0, fmpq(2)))) != stable_id(c)
    assert stable_id(c.with_point(permute_units(c.point, 1, [1, 0]))) == stable_id(c)


def test_quadratic_units_rescale_with_degree_two():
    c = cand(5, widths=(2, 2, 1), act="quadratic")
    image = c.with_point(rescale_unit(c.point, 1, 1, fmpq(3, 2), p=2))
    assert evaluate_exact(image.problem, image.point, 0).loss == evaluate_exact(c.problem, c.point, 0).loss
    assert stable_id(image) == stable_id(c)
    wrong = c.with_point(rescale_unit(c.point, 1, 1, fmpq(3, 2), p=1))  # not a symmetry for z^2
    assert stable_id(wrong) != stable_id(c)


def test_witness_and_meta_are_not_part_of_the_identity():
    c = load_candidate(YUN)
    assert stable_id(Candidate(c.problem, c.point, None, {})) == stable_id(c)


# --- storage ---------------------------------------------------------------------------------------------------
def test_fresh_catalog_holds_the_shipped_entries_and_reproves_them(cat):
    files = shipped_files()
    assert files and any(name == "yun2019-theorem1.json" for name, _ in files)
    ids = set(cat.ids())
    assert len(ids) == len(files)
    for name, textual in files:
        from spurious.candidate import loads_candidate

        assert stable_id(loads_candidate(textual)) in ids
    results = cat.verify()
    assert all(ok for _, ok, _ in results), results


def test_yun_entry_figures_are_exact(cat):
    c = load_candidate(YUN)
    assert verify(c).proved
    entry = cat.get(stable_id(c))
    assert entry.certified and entry.certificate.rigor in ("exact", "interval")
    assert entry.figures["loss_exact"] == "3/14" and parse_number(entry.certificate_json["witness_loss"]) == \
        fmpq(23, 112)
    assert entry.figures["widths"] == "1-2-1" and entry.figures["n_params"] == 7 and entry.figures["n_samples"] == 3
    assert entry.provenance["family"] == "yun-lift" and "shipped" in entry.tags
    assert cat.find(family="yun-lift", activation="relu", max_width=2)[0]["id"] == entry.id


def test_add_get_round_trip_and_dedup(cat):
    c = cand(10)
    entry_id, new = cat.add(c)
    assert new and entry_id == stable_id(c)
    entry = cat.get(entry_id)
    assert entry.candidate_json == c.to_json()
    assert entry.candidate.point == c.point and entry.candidate.problem == c.problem
    cert = verify(c)
    assert entry.certificate.verdict == cert.verdict and entry.certified == cert.proved
    again = random_image(c, random.Random(3))
    assert cat.add(again) == (entry_id, False)
    assert cat.get(entry_id[:8]).id == entry_id
    assert len(cat.ids()) == 1 + len(shipped_files())


def _numerical_only(monkeypatch, c):
    """Make the catalog's verifier answer with float evidence for ``c`` (as when no proof path applies)."""
    import spurious.catalog.store as store
    from spurious.verifiers import verify as real
    from spurious.certificate import INCONCLUSIVE, NUMERICAL, Certificate

    def fake(candidate):
        if candidate.point == c.point:
            return Certificate(INCONCLUSIVE, NUMERICAL, loss=0.25, reasons=["float triage only"])
        return real(candidate)
    monkeypatch.setattr(store, "run_verify", fake)


def test_numerical_evidence_is_refused_by_default_and_flagged_when_allowed(cat, monkeypatch):
    c = cand(11)
    _numerical_only(monkeypatch, c)
    with pytest.raises(NotCertifiedError, match="only proved certificates"):
        cat.add(c)
    assert stable_id(c) not in cat.ids()
    entry_id, new = cat.add(c, allow_numerical=True)
    assert new
    assert entry_id not in {r["id"] for r in cat.find()}
    listed = {r["id"]: r for r in cat.find(include_numerical=True)}
    assert listed[entry_id]["certified"] is False and listed[entry_id]["rigor"] == "numerical"
    assert listed[entry_id]["loss"] == 0.25
    assert cat.stats()["numerical"] == 1 and cat.stats()["certified"] == len(shipped_files())
    (_, ok, msg), = cat.verify([entry_id])
    assert ok and "numerical evidence only" in msg
    monkeypatch.undo()  # the real verifier proves this candidate: verify says so, add upgrades the entry
    (_, ok, msg), = cat.verify([entry_id])
    assert ok and "now provable" in msg
    assert cat.add(c) == (entry_id, False) and cat.get(entry_id).certified


def test_numerical_entry_is_upgraded_when_a_proof_arrives(cat, monkeypatch):
    import spurious.catalog.store as store
    from spurious.certificate import NUMERICAL, Certificate

    c = cand(12)
    real = store.run_verify
    proof = real(c)
    assert proof.proved
    monkeypatch.setattr(store, "run_verify", lambda cd: Certificate(proof.verdict, NUMERICAL, glob=proof.glob,
                                                                    loss=0.5))
    entry_id, _ = cat.add(c, allow_numerical=True)
    assert not cat.get(entry_id).certified
    monkeypatch.setattr(store, "run_verify", real)
    assert cat.add(c) == (entry_id, False)
    assert cat.get(entry_id).certified


def test_a_certificate_that_disagrees_with_verification_is_rejected(cat):
    from spurious.certificate import EXACT, STRICT_LOCAL_MIN, Certificate

    c = cand(13)
    assert verify(c).verdict != STRICT_LOCAL_MIN
    with pytest.raises(InputError, match="disagrees"):
        cat.add(c, Certificate(STRICT_LOCAL_MIN, EXACT))


def test_filters(cat):
    specs = [((2, 3, 1), "relu"), ((2, 5, 1), "relu"), ((3, 2, 1), "relu"), ((2, 2, 2, 1), "relu"),
             ((2, 3, 1), "quadratic"), ((2, 4, 1), make_activation("leaky_relu", slope="1/10"))]
    ids = {}
    for seed, (widths, act) in enumerate(specs):
        c = cand(100 + seed, widths=widths, act=act, family="fam-a" if seed % 2 else "fam-b")
        assert verify(c).proved, (widths, str(act))
        ids[(widths, str(act))] = cat.add(c)[0]
    mine = set(ids.values())  # the shipped entries are in the catalog too
    got = lambda **f: {r["id"] for r in cat.find(**f)} & mine  # noqa: E731
    assert got(activation="relu", max_width=3, family=None) >= {ids[((2, 3, 1), "relu")], ids[((3, 2, 1), "relu")],
                                                               ids[((2, 2, 2, 1), "relu")]}
    assert ids[((2, 5, 1), "relu")] not in got(activation="relu", max_width=3)
    assert got(activation="quadratic") == {ids[((2, 3, 1), "quadratic")]}
    assert got(activation="leaky_relu") == {ids[((2, 4, 1), "leaky_relu(slope=1/10)")]}
    assert got(depth=3) == {ids[((2, 2, 2, 1), "relu")]}
    assert got(input_dim=3) == {ids[((3, 2, 1), "relu")]}
    assert got(widths=[2, 5, 1]) == got(widths="2-5-1") == {ids[((2, 5, 1), "relu")]}
    assert got(family="fam-a") == {v for (i, v) in enumerate(ids.values()) if i % 2}
    verdicts = {r["verdict"] for r in cat.find(family="fam-a")}
    for v in verdicts:
        assert all(r["verdict"] == v for r in cat.find(verdict=v))
    losses = [r["loss"] for r in cat.find()]
    assert losses == sorted(losses)
    assert len(cat.find(limit=2)) == 2
    tagged = cat.add(cand(199), tags=("100%_real", "x"))[0]
    assert {r["id"] for r in cat.find(tag="100%_real")} == {tagged} and cat.find(tag="100%") == []
    assert cat.get(tagged).tags == ["100%_real", "x"]
    with pytest.raises(InputError, match="unknown filter"):
        cat.find(colour="red")


def test_lineage(cat):
    a, b, c = cand(20), cand(21), cand(22)
    ia = cat.add(a)[0]
    ib = cat.add(b, parent=ia, relation="split-neuron")[0]
    ic = cat.add(c, parent=ib, relation="restriction")[0]
    G = cat.lineage(ic)
    assert set(G.nodes) == {ia, ib, ic}
    assert G.edges[ia, ib]["relation"] == "split-neuron" and G.edges[ib, ic]["relation"] == "restriction"
    assert G.nodes[ia]["family"] == "random-test"
    with pytest.raises(InputError, match="relation"):
        cat.link(ia, ic, "magic")
    with pytest.raises(InputError, match="no catalog entry"):
        cat.add(cand(23), parent="ffffffffffff", relation="derived")
    assert cand(23) is not None and stable_id(cand(23)) not in cat.ids()  # refused write left nothing behind
    cat.link(ia, ic, "embedding")
    assert cat.lineage(ia).number_of_edges() == 3
    cat.remove(ib)
    G = cat.lineage(ia)
    assert set(G.nodes) == {ia, ic} and G.edges[ia, ic]["relation"] == "embedding"


def test_remove_and_unknown_ids(cat):
    entry_id = cat.add(cand(30))[0]
    cat.remove(entry_id)
    with pytest.raises(InputError, match="no catalog entry"):
        cat.get(entry_id)
    with pytest.raises(InputError, match="no catalog entry"):
        cat.remove(entry_id)


# --- export ----------------------------------------------------------------------------------------------------
def _forward_exact(candidate):
    """f(x_i) for every sample, exactly, via a tiny independent evaluator (relu / leaky / quadratic networks)."""
    net = candidate.problem.network
    outs = []
    for x in candidate.problem.data.X:
        h = list(x)
        for l, layer in enumerate(candidate.point.layers):
            z = [sum((w * v for w, v in zip(row, h)), fmpq(0)) + (layer.b[k] if layer.b else 0)
                 for k, row in enumerate(layer.W)]
            if l < net.depth - 1:
                act = net.activations[l]
                z = [act.evaluate(__import__("spurious.arithmetic.contexts", fromlist=["EXACT"]).EXACT, v)[0]
                     for v in z]
            h = z
        outs.append(h)
    return outs


@pytest.mark.parametrize("name", [n for n, _ in shipped_files()])
def test_every_shipped_family_round_trips_through_add_get_export(tmp_path, name):
    import torch

    from spurious.candidate import loads_candidate

    textual = dict(shipped_files())[name]
    c = loads_candidate(textual)
    cat = Catalog(str(tmp_path / "c.sqlite"))
    entry = cat.get(stable_id(c))
    assert entry.candidate_json == c.to_json()
    # json: an exported entry imports into an empty catalog under the same id
    write_export(entry, "json", str(tmp_path / "e.json"))
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["candidate"] == c.to_json() and doc["certificate"] == entry.certificate_json
    other = Catalog(str(tmp_path / "other.sqlite"), load_shipped=False)
    from spurious.candidate import candidate_from_json

    assert other.add(candidate_from_json(doc["candidate"]), allow_numerical=True) == (entry.id, True)
    # npz: no pickle needed; exact strings give the point back exactly
    write_export(entry, "npz", str(tmp_path / "e.npz"))
    with np.load(tmp_path / "e.npz", allow_pickle=False) as z:
        for l, layer in enumerate(c.point.layers, start=1):
            assert [[parse_number(s) for s in row] for row in z[f"W{l}_exact"]] == [list(r) for r in layer.W]
            assert np.array_equal(z[f"W{l}"], np.array([[fmpq_to_float(v) for v in r] for r in layer.W]))
        assert json.loads(str(z["network_json"])) == c.problem.network.to_json()
    # torch: build_module + state_dict reproduce the network's outputs on the data
    write_export(entry, "torch", str(tmp_path / "e.pt"))
    assert (tmp_path / "e.pt").stat().st_size > 0
    module = build_module_from_json(c.problem.network.to_json())
    module.load_state_dict(state_dict(entry))
    if c.problem.finite and c.problem.network.activations[0].exact:
        X = torch.tensor([[fmpq_to_float(v) for v in row] for row in c.problem.data.X], dtype=torch.float64)
        want = np.array([[fmpq_to_float(v) for v in row] for row in _forward_exact(c)])
        assert np.allclose(module(X).detach().numpy(), want, rtol=1e-12, atol=1e-12)


def _family_names():
    from spurious.constructions import families

    return [f.name for f in families()]


@pytest.mark.parametrize("family", _family_names())
def test_every_construction_family_round_trips(tmp_path, family):
    """Each registered family (default parameters): add, dedup of a symmetric copy, get, export json / npz / torch."""
    import torch

    from spurious.constructions import construct

    c = construct(family)
    cert = verify(c)
    cat = Catalog(str(tmp_path / "c.sqlite"), load_shipped=False)
    entry_id, new = cat.add(c, allow_numerical=not cert.proved)
    assert new and entry_id == stable_id(c)
    if c.problem.finite:
        image = random_image(c, random.Random(5))
        if c.problem.exact_capable:
            assert evaluate_exact(image.problem, image.point, 0).loss == evaluate_exact(c.problem, c.point, 0).loss
        else:  # a permuted copy: the same loss, so the two enclosures overlap
            from spurious.arithmetic import evaluate_ball

            assert evaluate_ball(image.problem, image.point, order=0).loss.overlaps(
                evaluate_ball(c.problem, c.point, order=0).loss)
        assert cat.add(image, allow_numerical=not cert.proved) == (entry_id, False)
    entry = cat.get(entry_id)
    assert entry.candidate_json == c.to_json() and entry.certificate.verdict == cert.verdict
    assert entry.provenance["family"] == c.meta.get("construction")
    for fmt in ("json", "npz", "torch"):
        write_export(entry, fmt, str(tmp_path / f"e.{fmt}"))
    doc = json.loads((tmp_path / "e.json").read_text())
    from spurious.candidate import candidate_from_json

    assert stable_id(candidate_from_json(doc["candidate"])) == entry_id
    with np.load(tmp_path / "e.npz", allow_pickle=False) as z:
        assert [[parse_number(v) for v in row] for row in z["W1_exact"]] == [list(r) for r in c.point.layers[0].W]
    module = build_module_from_json(c.problem.network.to_json())
    module.load_state_dict(state_dict(entry))
    if c.problem.finite and all(a.exact for a in c.problem.network.activations):
        X = torch.tensor([[fmpq_to_float(v) for v in row] for row in c.problem.data.X], dtype=torch.float64)
        want = np.array([[fmpq_to_float(v) for v in row] for row in _forward_exact(c)])
        assert np.allclose(module(X).detach().numpy(), want, rtol=1e-12, atol=1e-12)
    assert all(ok for _, ok, _ in cat.verify())


def test_torch_module_matches_exact_forward_for_several_activations():
    import torch

    for act in ("relu", "quadratic", make_activation("leaky_relu", slope="1/10"),
                make_activation("piecewise_linear", breakpoints=["-1", "1"], slopes=["0", "1", "1/2"],
                                intercept="1/3")):
        c = cand(40, widths=(2, 3, 2, 1), act=act)
        module = build_module(list(c.problem.network.widths), act)

        class E:  # the state_dict only reads entry.candidate
            candidate = c
        module.load_state_dict(state_dict(E))
        X = torch.tensor([[fmpq_to_float(v) for v in row] for row in c.problem.data.X], dtype=torch.float64)
        want = np.array([[fmpq_to_float(v) for v in row] for row in _forward_exact(c)])
        assert np.allclose(module(X).detach().numpy(), want, rtol=1e-12, atol=1e-12), act


def test_npz_holds_no_object_arrays(cat):
    entry = cat.get(cat.add(cand(41))[0])
    assert all(a.dtype != object for a in npz_arrays(entry).values())


# --- integrity -------------------------------------------------------------------------------------------------
def _tamper(cat, entry_id, sql, params):
    with raw(cat).begin() as conn:
        conn.execute(text(sql), dict(params, id=entry_id))


def _full_row(cat, entry_id):
    with raw(cat).connect() as conn:
        return dict(conn.execute(text("SELECT * FROM entries JOIN entry_json USING (id) WHERE id = :id"),
                                 {"id": entry_id}).mappings().one())


def _write_row(cat, row):
    """Write every column of a (forged) row back, the JSON to entry_json and the rest to entries."""
    blob = {k: row[k] for k in ("candidate_json", "certificate_json")}
    rest = {k: v for k, v in row.items() if k not in blob and k != "id"}
    _tamper(cat, row["id"], "UPDATE entry_json SET candidate_json = :candidate_json, certificate_json = "
            ":certificate_json WHERE id = :id", blob)
    _tamper(cat, row["id"], f"UPDATE entries SET {', '.join(f'{k} = :{k}' for k in rest)} WHERE id = :id", rest)


def test_tampered_numbers_are_caught(cat):
    entry_id = cat.add(cand(50))[0]
    row_json = cat.get(entry_id).candidate_json
    row_json["point"][0]["b"][0] = "12345/7"
    _tamper(cat, entry_id, "UPDATE entry_json SET candidate_json = :j WHERE id = :id",
            {"j": json.dumps(row_json, separators=(",", ":"))})
    (i, ok, msg), = cat.verify([entry_id])
    assert not ok and "content hash" in msg
    with pytest.raises(InputError, match="content-hash check"):
        cat.get(entry_id)  # not trusted: never handed out (nor exported) as if it were intact


def test_tampering_with_a_recomputed_hash_is_caught_by_the_id_and_by_re_proof(cat):
    from spurious.catalog.entries import figures_of

    entry_id = cat.add(cand(51))[0]
    row = _full_row(cat, entry_id)
    # 1. numbers changed and the hash recomputed: the canonical id no longer matches
    cand_json = json.loads(row["candidate_json"])
    cand_json["point"][1]["W"][0][0] = "99"
    forged = dict(row, candidate_json=json.dumps(cand_json, separators=(",", ":")))
    forged["content_hash"] = content_hash(forged)
    _write_row(cat, forged)
    (_, ok, msg), = cat.verify([entry_id])
    assert not ok and "canonical id" in msg
    # 2. a forged verdict with JSON, every figure column and the hash consistent: re-proof disagrees
    cert = json.loads(row["certificate_json"])
    cert["verdict"] = "strict_local_min"
    forged = dict(row, certificate_json=json.dumps(cert, separators=(",", ":")))
    forged.update(figures_of(cand(51), cert))
    forged["content_hash"] = content_hash(forged)
    _write_row(cat, forged)
    (_, ok, msg), = cat.verify([entry_id])
    assert not ok and "re-verification" in msg
    # 2b. a forged loss (consistent JSON, figures and hash; verdict untouched): the exact loss is recomputed
    cert = json.loads(row["certificate_json"])
    assert cert["rigor"] == "exact" and parse_number(cert["loss"]) > 0
    cert["loss"] = "1/1000000"
    forged = dict(row, certificate_json=json.dumps(cert, separators=(",", ":")))
    forged.update(figures_of(cand(51), cert))
    forged["content_hash"] = content_hash(forged)
    _write_row(cat, forged)
    (_, ok, msg), = cat.verify([entry_id])
    assert not ok and "gives loss" in msg
    # 3. a figure column edited alone (e.g. to make an entry show up in a search)
    _write_row(cat, dict(row, max_width=1))
    (_, ok, msg), = cat.verify([entry_id])
    assert not ok and "max_width" in msg
    # 4. the JSON row deleted: reported by verify, refused by get
    _write_row(cat, row)
    assert cat.verify([entry_id])[0][1]
    _tamper(cat, entry_id, "DELETE FROM entry_json WHERE id = :id", {})
    (_, ok, msg), = cat.verify([entry_id])
    assert not ok and "missing" in msg
    with pytest.raises(InputError, match="lost its stored JSON"):
        cat.get(entry_id)


def test_corrupt_database_is_reported_and_left_untouched(tmp_path):
    path = tmp_path / "broken.sqlite"
    payload = bytes(random.Random(0).randrange(256) for _ in range(8192))
    path.write_bytes(payload)
    with pytest.raises(InputError, match="not a database"):
        Catalog(str(path))
    assert path.read_bytes() == payload
    result = CliRunner().invoke(_cli(), ["catalog", "list", "--catalog", str(path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert path.read_bytes() == payload


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE important (x INTEGER)")
    con.execute("INSERT INTO important VALUES (42)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="not a spurious catalog"):
        Catalog(str(path))
    con = sqlite3.connect(path)
    assert con.execute("SELECT name FROM sqlite_master").fetchall() == [("important",)]
    con.close()


def test_bad_urls(tmp_path):
    for url in ("nosuchdialect://x/y", "postgresql+nosuchdriver://u@h/db"):
        with pytest.raises(InputError):
            Catalog(url)


def test_default_location_is_the_user_data_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("SPURIOUS_CATALOG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    c = LazyCatalog()
    assert (tmp_path / "data" / "spurious" / "catalog.sqlite").exists()
    assert len(c.ids()) == len(shipped_files())
    monkeypatch.setenv("SPURIOUS_CATALOG", str(tmp_path / "env.sqlite"))
    LazyCatalog()
    assert (tmp_path / "env.sqlite").exists()


# --- migrations ------------------------------------------------------------------------------------------------
def test_upgrade_from_schema_v1(tmp_path):
    path = tmp_path / "old.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    c = cand(60)
    # a v1 row, written as version 1 of the tool would have written it
    probe = Catalog(str(tmp_path / "probe.sqlite"), load_shipped=False)
    row = probe.prepare(c)
    with engine.begin() as conn:
        create_v1_schema(conn)
        v1 = {k: v for k, v in row.items() if k != "tags"}
        conn.execute(text(f"INSERT INTO entries ({', '.join(v1)}) VALUES ({', '.join(':' + k for k in v1)})"), v1)
    engine.dispose()
    cat = Catalog(str(path))
    assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
    entry = cat.get(row["id"])
    assert entry.tags == [] and entry.candidate.point == c.point
    assert all(ok for _, ok, _ in cat.verify())
    cat.add(cand(61), parent=row["id"], relation="derived")  # the lineage table exists now
    assert cat.lineage(row["id"]).number_of_edges() == 1


def test_newer_schema_is_refused(tmp_path):
    cat = Catalog(str(tmp_path / "c.sqlite"), load_shipped=False)
    cat.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    cat.close()
    with pytest.raises(InputError, match="newer"):
        Catalog(str(tmp_path / "c.sqlite"))


# --- CLI -------------------------------------------------------------------------------------------------------
def _cli():
    from spurious.cli import _register, cli

    _register()
    return cli


def run(*args, ok=True):
    result = CliRunner().invoke(_cli(), list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_cli_end_to_end(tmp_path):
    url = str(tmp_path / "cli.sqlite")
    c = cand(70)
    c.save(tmp_path / "c.json")
    random_image(c, random.Random(4)).save(tmp_path / "image.json")
    out = json.loads(run("catalog", "add", str(tmp_path / "c.json"), "--json", "--catalog", url).output)
    assert out == {"id": stable_id(c), "new": True}
    out = json.loads(run("catalog", "add", str(tmp_path / "image.json"), "--json", "--catalog", url).output)
    assert out == {"id": stable_id(c), "new": False}
    listed = json.loads(run("catalog", "list", "--json", "--catalog", url, "--family", "random-test").output)
    assert [r["id"] for r in listed] == [stable_id(c)] and listed[0]["widths"] == "2-3-1"
    narrow = json.loads(run("catalog", "list", "--json", "--catalog", url, "--max-width", "2").output)
    assert stable_id(c) not in {r["id"] for r in narrow} and all(r["max_width"] <= 2 for r in narrow)
    wide = json.loads(run("catalog", "list", "--json", "--catalog", url, "--max-width", "3", "--activation", "relu",
                          "--depth", "2", "--input-dim", "2").output)
    assert [r["id"] for r in wide] == [stable_id(c)]
    shown = json.loads(run("catalog", "show", stable_id(c)[:10], "--json", "--catalog", url).output)
    assert shown["candidate"] == c.to_json()
    for fmt in ("json", "npz", "torch"):
        out = json.loads(run("catalog", "export", stable_id(c), "--format", fmt, "--out",
                             str(tmp_path / f"x.{fmt}"), "--json", "--catalog", url).output)
        assert (tmp_path / f"x.{fmt}").stat().st_size > 0 and out["format"] == fmt
    url2 = str(tmp_path / "cli2.sqlite")
    out = json.loads(run("catalog", "import", str(tmp_path / "x.json"), str(tmp_path / "c.json"), "--json",
                         "--catalog", url2).output)
    assert [(r["id"], r["new"]) for r in out] == [(stable_id(c), True), (stable_id(c), False)]
    verified = json.loads(run("catalog", "verify", "--all", "--json", "--catalog", url).output)
    assert verified and all(r["ok"] for r in verified)
    stats = json.loads(run("catalog", "stats", "--json", "--catalog", url).output)
    assert stats["total"] == 1 + len(shipped_files())
    c2 = cand(71)
    c2.save(tmp_path / "c2.json")
    child = json.loads(run("catalog", "add", str(tmp_path / "c2.json"), "--parent", stable_id(c), "--relation",
                           "embedding", "--json", "--catalog", url).output)["id"]
    lin = json.loads(run("catalog", "lineage", child, "--json", "--catalog", url).output)
    assert lin["edges"] == [{"parent": stable_id(c), "child": child, "relation": "embedding"}]
    assert json.loads(run("catalog", "remove", child, "--json", "--catalog", url).output)["removed"]
    assert "added" in run("catalog", "add", str(tmp_path / "c2.json"), "--catalog", url).output


def test_cli_errors_are_one_line_exit_2(tmp_path, monkeypatch):
    url = str(tmp_path / "cli.sqlite")
    for args in (["catalog", "show", "0123456789ab", "--catalog", url],
                 ["catalog", "remove", "nope", "--catalog", url],
                 ["catalog", "list", "--catalog", "nosuchdialect://x"],
                 ["catalog", "add", str(tmp_path / "missing.json"), "--catalog", url]):
        result = run(*args, ok=False)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    monkeypatch.setenv("SPURIOUS_CATALOG", url)
    assert json.loads(run("catalog", "list", "--json").output)  # env var selects the catalog


def test_cli_verify_reports_tampering_with_exit_1(tmp_path):
    url = str(tmp_path / "cli.sqlite")
    cat = Catalog(url)
    entry_id = cat.add(cand(72))[0]
    _tamper(cat, entry_id, "UPDATE entries SET loss_exact = '\"0\"', loss_value = 0 WHERE id = :id", {})
    result = run("catalog", "verify", "--catalog", url, ok=False)
    assert result.exit_code == 1 and f"{entry_id} FAIL" in result.output


def test_population_candidates_identify_student_and_teacher_permutations_only():
    from spurious.problem import GaussianData, Loss
    from spurious.network import Network

    relu = make_activation("relu")
    teacher_net = Network.make((2, 2, 1), relu, bias=False)
    teacher = Point.from_arrays([[[1, 0], [0, 1]], [[1, 1]]], [None, None])
    student_net = Network.make((2, 3, 1), relu, bias=False, trainable=[True, False])
    W = [[fmpq(1), fmpq(1, 3)], [fmpq(-1, 2), fmpq(2)], [fmpq(0), fmpq(1)]]
    point = Point.from_arrays([W, [[1, 1, 1]]], [None, None])
    problem = Problem(student_net, GaussianData(teacher_net, teacher), Loss())
    c = Candidate(problem, point)
    assert stable_id(c.with_point(permute_units(point, 1, [2, 0, 1]))) == stable_id(c)
    swapped_teacher = Problem(student_net, GaussianData(teacher_net, permute_units(teacher, 1, [1, 0])), Loss())
    assert stable_id(Candidate(swapped_teacher, point)) == stable_id(c)
    scaled_teacher = Problem(student_net, GaussianData(teacher_net, rescale_unit(teacher, 1, 0, fmpq(3))), Loss())
    assert stable_id(Candidate(scaled_teacher, point)) == stable_id(c)  # the teacher's function is unchanged
    # the output layer is fixed: rescaling a student unit changes a constant of the problem, not a symmetry
    assert stable_id(c.with_point(rescale_unit(point, 1, 0, fmpq(2)))) != stable_id(c)


def test_fresh_install_lists_and_reproves_the_shipped_entries(tmp_path):
    """`spurious catalog list` / `verify` in a fresh environment (no catalog yet, default location)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SPURIOUS_CATALOG"}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "xdg"))
    listed = subprocess.run([sys.executable, "-m", "spurious", "catalog", "list", "--json", "--include-numerical"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    from spurious.candidate import loads_candidate

    assert {r["id"] for r in rows} == {stable_id(loads_candidate(t)) for _, t in shipped_files()}
    checked = subprocess.run([sys.executable, "-m", "spurious", "catalog", "verify", "--json"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert all(r["ok"] for r in json.loads(checked.stdout))
    assert (tmp_path / "xdg" / "spurious" / "catalog.sqlite").exists()


def test_split_neuron_lineage_with_interval_certificates(tmp_path):
    """A real derivation: the certified single-neuron minimum and its Fukumizu-Amari split child (interval)."""
    cat = Catalog(str(tmp_path / "bare.sqlite"), load_shipped=False)  # the shipped set holds this child already
    from spurious.constructions.split_neuron import _parent, split_neuron

    parent, child = _parent("single-neuron"), split_neuron()
    assert verify(parent).proved and verify(child).proved
    pid, _ = cat.add(parent)
    cid, new = cat.add(child, parent=pid, relation="split-neuron")
    assert new and child.meta["lineage"]["relation"] == "split"
    G = cat.lineage(pid)
    assert list(G.edges(data="relation")) == [(pid, cid, "split-neuron")]
    assert G.nodes[cid]["family"] == "split-neuron" and G.nodes[cid]["widths"] == "1-2-1"
    entry = cat.get(cid)
    assert entry.certificate.rigor == "interval" and entry.figures["spurious"]
    lo, hi = (parse_number(v) for v in entry.certificate_json["loss"])  # an enclosure, stored verbatim
    assert lo <= hi and fmpq_to_float(lo) <= entry.figures["loss"] <= fmpq_to_float(hi)
    assert all(ok for _, ok, _ in cat.verify([pid, cid]))


def test_re_proved_numbers_must_agree():
    from spurious.catalog.integrity import _numbers_agree

    assert _numbers_agree("3/14", "3/14") and not _numbers_agree("3/14", "3/15")
    assert _numbers_agree(["1/10", "1/5"], ["3/20", "1/2"])  # two true enclosures of one value overlap
    assert not _numbers_agree(["1/10", "1/5"], ["1/4", "1/2"])  # disjoint: one of them is false
    assert _numbers_agree("3/14", ["1/5", "1/4"]) and not _numbers_agree("3/14", ["1/4", "1/2"])
    assert not _numbers_agree(None, "1") and _numbers_agree(None, None) and not _numbers_agree("x", "1")
