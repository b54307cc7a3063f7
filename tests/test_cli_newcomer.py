"""What a new user meets first (issue 16): exported entries re-verify, tables tell the truth when piped or narrow,
every mistake is one ``error:`` line with exit status 2, output folders are created."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from spurious.candidate import ENTRY_FORMAT, load_candidate, load_document


def _cli():
    from spurious.cli import _register, cli

    _register()
    return cli


def run(*args, ok=True, env=None):
    result = CliRunner().invoke(_cli(), [str(a) for a in args], env=env)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'c.sqlite'}"


def _shipped_id(url, family):
    rows = json.loads(run("catalog", "list", "--family", family, "--json", "--catalog", url).output)
    assert rows, f"no shipped {family} entry"
    return rows[0]["id"]


# --- 1. an exported catalog entry is a candidate for every command that reads one ------------------------------
@pytest.mark.parametrize("family", ["yun-lift", "yun-smooth"])  # exact and interval certificates
def test_export_then_verify_gives_the_stored_verdict(tmp_path, url, family):
    entry_id = _shipped_id(url, family)
    out = tmp_path / "entry.json"
    run("catalog", "export", entry_id, "--out", out, "--catalog", url)
    doc = json.loads(out.read_text())
    assert doc["format"] == ENTRY_FORMAT
    fresh = json.loads(run("verify", out, "--json").output)
    stored = doc["certificate"]
    assert (fresh["verdict"], fresh["global"], fresh["rigor"]) == (stored["verdict"], stored["global"],
                                                                    stored["rigor"])
    assert fresh["verdict"] in ("strict_local_min", "strict_modulo_symmetry", "non_strict_local_min", "local_min")
    assert fresh["global"] == "not_global"
    text = run("verify", out).output
    assert f"exported catalog entry {entry_id}" in text and "the same verdict, re-proved" in text
    # the candidate inside is exactly the stored one
    cand, entry = load_document(out)
    assert entry["id"] == entry_id and cand.to_json() == doc["candidate"]
    assert load_candidate(out).to_json() == doc["candidate"]


def test_exported_entry_feeds_show_bound_and_search_data(tmp_path, url):
    from spurious.cli.search import read_data

    entry_id = _shipped_id(url, "yun-lift")
    out = tmp_path / "entry.json"
    run("catalog", "export", entry_id, "--out", out, "--catalog", url)
    cand = load_candidate(out)
    assert f"stored certificate" in run("show", out).output
    bound = json.loads(run("bound", out, "--json").output)
    assert bound["global_lower_bound"] is not None
    data = read_data(str(out), cand.network.widths)
    assert data.X == cand.problem.data.X and data.Y == cand.problem.data.Y


def test_a_broken_exported_entry_is_one_line(tmp_path, url):
    entry_id = _shipped_id(url, "yun-lift")
    out = tmp_path / "entry.json"
    run("catalog", "export", entry_id, "--out", out, "--catalog", url)
    doc = json.loads(out.read_text())
    del doc["candidate"]["point"]
    out.write_text(json.dumps(doc))
    result = run("verify", out, ok=False)
    assert result.exit_code == 2 and result.output.startswith("error: ") and len(result.output.splitlines()) == 1
    assert "point" in result.output


# --- 3. tables: no truncated numbers, no markup eaten, when piped and at 40 columns ---------------------------------
def test_piped_tables_keep_every_digit_and_every_bracket(url):
    from spurious.rationals import decimal_str, parse_number

    listed = json.loads(run("catalog", "list", "--json", "--catalog", url).output)
    table = run("catalog", "list", "--catalog", url, env={"COLUMNS": "40"}).output
    assert "…" not in table
    for row in listed:
        assert row["id"] in table
        lo_hi = row["loss_exact"]
        text = f"[{lo_hi[0]}, {lo_hi[1]}]" if isinstance(lo_hi, list) else str(lo_hi)
        if len(text) <= 40:
            assert text in table, text  # a short value printed whole, brackets included
        else:  # a long one as its decimal value, marked approximate, never cut
            ends = lo_hi if isinstance(lo_hi, list) else [lo_hi]
            decimals = [decimal_str(parse_number(x), 12) for x in ends]
            shown = f"~[{decimals[0]}, {decimals[1]}]" if isinstance(lo_hi, list) else f"~{decimals[0]}"
            assert shown in table and "--json" in table, shown
    fams = run("constructions", env={"COLUMNS": "40"}).output
    assert "…" not in fams
    assert "(trainable [true, false])" in fams and "widths [d, 1, 1]" in fams


def test_narrow_terminal_folds_numbers_instead_of_cutting_them():
    from rich.console import Console

    from spurious.cli.render import data_table

    loss = "1.0550000000000000123e-29"
    t = data_table("family", "loss", "global")
    t.add_row("0", loss, "[not] global")
    narrow = Console(width=24, file=None, markup=False, highlight=False, record=True)
    with narrow.capture() as cap:
        narrow.print(t)
    text = cap.get()
    assert "…" not in text
    body = [line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│")]
    column = lambda k: "".join(cells[k].strip() for cells in body)  # noqa: E731  (a folded cell, rejoined)
    assert column(1) == loss and column(2) == "[not]global"


def test_search_loss_labels_say_what_the_number_is():
    from types import SimpleNamespace

    from flint import fmpq

    from spurious.cli.search import _loss_text

    interval = SimpleNamespace(loss=(0.25, 0.25000000000000006), rigor="interval")
    m = SimpleNamespace(reported=interval, loss=0.25)
    assert _loss_text(m) == "[0.25, 0.25000000000000006]"
    long_exact = SimpleNamespace(loss=fmpq(10 ** 70 + 1, 3 * 10 ** 70), rigor="exact")
    text = _loss_text(SimpleNamespace(reported=long_exact, loss=float(long_exact.loss)))
    assert "exact rational" in text and "long" not in text and text.startswith("~0.333333333333")
    numerical = SimpleNamespace(loss=1.055e-29, rigor="numerical")
    assert _loss_text(SimpleNamespace(reported=numerical, loss=1.055e-29)) == "1.055e-29"


# --- 4. mistakes: one line, exit 2 ------------------------------------------------------------------------------
ONE_LINE_ERRORS = [
    (["search", "--widths", "2,4,1", "--dataset", "nope"], "'nope' is not one of"),
    (["verify", "examples/yun2019-theorem1.json", "--rigor", "bogus"], "'bogus' is not one of"),
    (["catalog", "export", "x", "--format", "bogus"], "'bogus' is not one of"),
    (["catalog", "list", "--activation", "swishy"], "unknown activation 'swishy'"),
    (["catalog", "list", "--family", "nope"], "unknown family 'nope'"),
    (["catalog", "list", "--max-width", "-1"], "--max-width"),
    (["catalog", "list", "--depth", "0"], "--depth"),
    (["search", "--widths", "2,4,1", "--max-verify", "-1"], "--max-verify"),  # no data source given: options first
    (["search", "--widths", "2,4,1", "--max-iter", "0"], "--max-iter"),
    (["search", "--widths", "2,4,1", "--starts", "0"], "--starts"),
    (["search", "--widths", "2,4,1", "--dataset", "random-labels", "--starts", "0"], "--starts"),
    (["sweep", "--widths-range", "1..2", "--chunk-size", "0"], "--chunk-size"),
    (["verify"], "Missing argument"),
    (["no-such-command"], "No such command"),
]


@pytest.mark.parametrize("args,words", ONE_LINE_ERRORS, ids=[" ".join(a) for a, _ in ONE_LINE_ERRORS])
def test_mistakes_are_one_error_line_with_exit_2(args, words, url):
    if args[0] == "catalog":
        args = args + ["--catalog", url]
    result = run(*args, ok=False)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.output


def test_output_paths_create_their_folders(tmp_path, url, monkeypatch):
    monkeypatch.setenv("SPURIOUS_CATALOG", url)
    out = tmp_path / "new" / "deeper" / "yun.json"
    run("construct", "yun-lift", "--widths", "1,2,1", "--seed", "0", "--out", out)
    assert load_candidate(out).meta["construction"] == "yun-lift"
    entry_id = _shipped_id(url, "yun-lift")
    for fmt in ("json", "npz"):
        target = tmp_path / "exports" / fmt / f"entry.{fmt}"
        run("catalog", "export", entry_id, "--format", fmt, "--out", target, "--catalog", url)
        assert target.stat().st_size > 0


def test_an_output_folder_that_cannot_exist_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for args in (["construct", "yun-lift", "--widths", "1,2,1", "--out", blocker / "sub" / "y.json"],
                 ["claims", "phase-transition", "--plot", blocker / "pt.png"],
                 ["report", "--out", blocker / "site"],
                 ["construct", "yun-lift", "--widths", "1,2,1", "--out", tmp_path]):
        result = run(*args, ok=False)
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("error: ") and ("cannot create the folder" in result.output or
                                                        "is a directory" in result.output)


# --- 8. a torch export says where its architecture is, and writes it ------------------------------------------------
def test_torch_export_writes_its_architecture_beside_the_state_dict(tmp_path, url):
    import numpy as np
    import torch

    from spurious.catalog.export import build_module_from_json
    from spurious.rationals import fmpq_to_float

    entry_id = _shipped_id(url, "yun-lift")
    out = tmp_path / "models" / "yun.pt"
    result = run("catalog", "export", entry_id, "--format", "torch", "--out", out, "--catalog", url)
    arch = tmp_path / "models" / "yun.network.json"
    assert str(arch) in result.output and "build_module_from_json" in result.output
    cand = load_candidate(run("catalog", "export", entry_id, "--out", tmp_path / "e.json", "--catalog", url)
                          and tmp_path / "e.json")
    assert json.loads(arch.read_text()) == cand.problem.network.to_json()
    module = build_module_from_json(json.loads(arch.read_text()))
    module.load_state_dict(torch.load(out, weights_only=True))  # the user's side of the round trip
    X = torch.tensor([[fmpq_to_float(v) for v in row] for row in cand.problem.data.X], dtype=torch.float64)
    from spurious.arithmetic import evaluate_numpy

    loss = float(((module(X).detach().numpy() - np.array([[fmpq_to_float(v) for v in r]
                                                          for r in cand.problem.data.Y])) ** 2).mean())
    assert abs(loss - evaluate_numpy(cand.problem, cand.point, order=0).loss) <= 1e-12


def test_an_entry_inside_an_entry_is_refused(tmp_path):
    from spurious.candidate import loads_candidate
    from spurious.errors import InputError

    inner = json.loads((__import__("pathlib").Path(__file__).resolve().parents[1] / "examples" /
                        "yun2019-theorem1.json").read_text())
    entry = {"format": ENTRY_FORMAT, "id": "x", "candidate": inner}
    assert loads_candidate(json.dumps(entry)).to_json() == loads_candidate(json.dumps(inner)).to_json()
    nested = {"format": ENTRY_FORMAT, "id": "y", "candidate": entry}
    with pytest.raises(InputError, match="must be a 'spurious.candidate/1' object"):
        loads_candidate(json.dumps(nested))


def test_long_exact_rationals_are_abbreviated_in_text_but_whole_in_json():
    """Depth-3 exact constructions carry ~10^4-digit rationals: text output shows their value and size, JSON keeps
    the exact fraction."""
    from flint import fmpq

    from spurious.certificate import Certificate
    from spurious.cli.render import abbreviate, fmt_value

    big = fmpq(10 ** 200 + 1, 3 * 10 ** 200)
    assert fmt_value(big) == "~0.333333333333 (exact rational, 403 chars)"
    assert abbreviate(f"exact loss {big} is below 1/2") == "exact loss ~0.333333333333 (exact rational, 403 chars) is below 1/2"
    assert abbreviate("short 12345/678 stays") == "short 12345/678 stays"
    cert = Certificate("strict_local_min", "exact", loss=big)
    assert cert.to_json()["loss"] == str(big)
