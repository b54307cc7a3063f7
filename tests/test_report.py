"""``spurious report``: the static site from a temporary catalog (rows, pages, figures, escaping, claims, CLI)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from spurious.activations import make_activation
from spurious.catalog import Catalog
from spurious.constructions import construct
from spurious.rationals import fmpq_to_float, parse_number
from spurious.report import agreement, build_report, esc, num

pytest.importorskip("matplotlib")

EVIL = "<script>alert('x')</script> & \"quoted\""
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def _candidates():
    leaky = make_activation("leaky_relu", slope="1/10")
    evil = construct("yun-lift", widths=(1, 2, 1), n=5, seed=7)
    evil.meta["reference"] = EVIL
    evil.meta["notes"] = EVIL
    return [construct("yun-lift", widths=(1, 2, 1), n=5, seed=1),
            construct("yun-lift", widths=(2, 2, 1), activation=leaky, n=6, seed=3),
            construct("pattern-minima", widths=(1, 2, 1), seed=0),
            construct("dead-units", widths=(1, 2, 1), seed=0),
            construct("deep-lift"),
            evil]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    catalog = Catalog(url=f"sqlite:///{base / 'catalog.sqlite'}")
    ids = [catalog.add(c)[0] for c in _candidates()]
    summary = build_report(base / "site", catalog=catalog, claims=False)
    return catalog, ids, summary


class WellFormed(HTMLParser):
    """Every non-void element closed in order; collects links, ids and script tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.links, self.ids, self.scripts = [], [], [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.links += [a[k] for k in ("href", "src") if a.get(k)]
        if a.get("id"):
            self.ids.append(a["id"])
        self.scripts += tag == "script"
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        if tag not in VOID:
            self.errors.append(f"self-closing <{tag}/> at {self.getpos()}")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"end tag of void </{tag}> at {self.getpos()}")
        elif not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> at {self.getpos()} closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def parse(path: Path) -> WellFormed:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>"), path
    p = WellFormed()
    p.feed(text)
    p.close()
    assert not p.errors, (path, p.errors[:5])
    assert not p.stack, (path, p.stack)
    assert len(p.ids) == len(set(p.ids)), (path, "duplicate ids")
    return p


def test_index_lists_every_entry_with_its_figures(report):
    catalog, ids, summary = report
    rows = catalog.find(include_numerical=True)
    assert set(ids) <= {r["id"] for r in rows}
    text = summary.index.read_text(encoding="utf-8")
    body = text.split('<table id="catalog">')[1].split("</table>")[0]
    trs = re.findall(r"<tr data-activation.*?</tr>", body, flags=re.S)
    assert len(trs) == len(rows)
    for row in rows:
        tr = next(t for t in trs if f"<code>{row['id']}</code>" in t)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)
        assert [re.sub(r"<[^>]+>", "", c) for c in cells[1:7]] == [
            esc(row["family"]), esc(row["activation"]), row["widths"], row["verdict"], row["global"], row["rigor"]]
        assert f'data-verdict="{row["verdict"]}"' in tr and f'href="entries/{row["id"]}.html"' in tr
    assert 'data-activation="leaky_relu"' in text and 'data-activation="relu"' in text
    assert "Claims were not checked" in text


def test_every_page_is_well_formed_and_local(report):
    _, _, summary = report
    out = summary.out
    pages = [summary.index] + summary.pages
    assert len(summary.pages) == len(list((out / "entries").glob("*.html")))
    for page in pages:
        p = parse(page)
        for link in p.links:
            assert not re.match(r"^(https?:|//|ftp:)", link), (page, link)
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.exists(), (page, link)
        text = page.read_text(encoding="utf-8")
        assert "Content-Security-Policy" in text and "default-src 'none'" in text
        assert "<link" not in text  # no external stylesheets: CSS is inline
    assert parse(summary.index).scripts == 1  # the filter, inline


def test_pngs_exist_and_are_pngs(report):
    _, ids, summary = report
    for entry_id in ids:
        for kind in ("segment", "slice", "spectrum"):
            path = summary.out / "figures" / f"{entry_id}-{kind}.png"
            data = path.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, path
    assert len(summary.figures) >= 3 * len(ids)


def test_plotted_floats_agree_with_the_certificate(report):
    """The segment and slice pass through point and witness: float losses there equal the exact certified ones;
    the float reduced spectrum of a proved minimum has no clearly negative eigenvalue."""
    catalog, ids, summary = report
    for entry_id in ids:
        cert = catalog.get(entry_id).certificate_json
        loss = fmpq_to_float(parse_number(cert["loss"]))
        wloss = fmpq_to_float(parse_number(cert["witness_loss"]))
        assert wloss < loss
        ts, seg = summary.plots[entry_id]["segment"]
        for t, value in ((0.0, loss), (1.0, wloss)):
            i = int(np.argmin(np.abs(ts - t)))
            assert ts[i] == pytest.approx(t, abs=1e-12) and seg[i] == pytest.approx(value, rel=1e-9, abs=1e-14)
        a, b, Z = summary.plots[entry_id]["slice"]
        i0, j0, i1 = int(np.argmin(np.abs(b))), int(np.argmin(np.abs(a))), int(np.argmin(np.abs(a - 1)))
        assert b[i0] == 0 or abs(b[i0]) < 1e-12
        assert Z[i0, j0] == pytest.approx(loss, rel=1e-9, abs=1e-14)
        assert Z[i0, i1] == pytest.approx(wloss, rel=1e-9, abs=1e-14)
        lam = summary.plots[entry_id]["spectrum"]
        assert cert["verdict"] in ("strict_local_min", "strict_modulo_symmetry", "non_strict_local_min")
        assert lam.min() > -1e-8 * max(1.0, abs(lam).max())
        if cert["verdict"] == "non_strict_local_min":  # a proved flat direction shows as a (numerically) zero one
            assert np.min(np.abs(lam)) < 1e-8 * max(1.0, abs(lam).max())


def test_entry_page_shows_network_numbers_and_proof_steps(report):
    catalog, ids, summary = report
    entry = catalog.get(ids[1])  # yun-lift 2-2-1 leaky ReLU on 6 samples
    text = (summary.out / "entries" / f"{entry.id}.html").read_text(encoding="utf-8")
    assert "2-2-1" in text and "leaky_relu(slope=1/10)" in text and "6 samples" in text
    assert f"<th>parameters (trainable)</th><td>{entry.candidate.network.num_params}</td>" in text
    for step in entry.certificate_json["reasons"]:
        assert f"<li>{esc(step)}</li>" in text
    assert f"<td>{esc(entry.certificate_json['loss'])}</td>" in text or esc(entry.certificate_json["loss"]) in text
    assert "<details><summary>point (exact)</summary>" in text and "witness (exact)" in text
    W = entry.candidate_json["point"][0]["W"]
    assert all(esc(v) in text for row in W for v in row)
    assert "float64 evaluation, illustration only" in text.replace("Float64", "float64")
    assert "Numerical: float64 triage" in text
    stored = (summary.out / "entries" / f"{entry.id}.json").read_text(encoding="utf-8")
    from spurious.candidate import loads_candidate
    from spurious.catalog import stable_id

    assert stable_id(loads_candidate(stored)) == entry.id


def test_catalog_strings_are_escaped(report):
    catalog, ids, summary = report
    evil_id = ids[-1]
    page = (summary.out / "entries" / f"{evil_id}.html").read_text(encoding="utf-8")
    index = summary.index.read_text(encoding="utf-8")
    for text in (page, index):
        assert "<script>alert" not in text
    assert esc(EVIL) in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert esc(EVIL.lower()) in index  # in the search text of the row
    assert parse(summary.out / "entries" / f"{evil_id}.html").scripts == 0


def test_claims_section_with_a_user_claim(tmp_path, report):
    """Claims are data too: a user claim with markup in its title is escaped; every claim gets a status."""
    from spurious.claims.schema import load_claim, shipped_claims

    catalog, _, _ = report
    path = tmp_path / "mine.toml"
    path.write_text('id = "mine"\ntitle = "<b>bold</b> claim & co"\n[source]\npaper = "<i>me</i>"\n'
                    '[hypotheses]\ndepth = 2\n[conclusion]\nkind = "no_spurious_local_min"\n', encoding="utf-8")
    claims = [load_claim(path)] + [c for c in shipped_claims() if c.id == "yun-2019-relu-like"]
    summary = build_report(tmp_path / "site", catalog=catalog, claims=claims, budget=30, reproduce=False,
                           figures=False)
    text = summary.index.read_text(encoding="utf-8")
    parse(summary.index)
    assert "&lt;b&gt;bold&lt;/b&gt; claim &amp; co" in text and "<b>bold</b>" not in text and "<i>me</i>" not in text
    assert [c["id"] for c in summary.claims] == ["mine", "yun-2019-relu-like"]
    for c in summary.claims:
        assert c["verdict"] in ("refuted", "consistent", "out_of_scope", "error", "not_checked")
        assert f'<span class="v-{c["verdict"]}">{c["verdict"]}</span>' in text
        if c["verdict"] == "refuted":  # only with a certified counterexample, linked when it is in the catalog
            assert c["certificate"]["rigor"] in ("exact", "interval")
    # "every local minimum is global" for depth-2 networks is false: the catalog holds certified counterexamples,
    # and the report links the one the checker names
    mine, yun = summary.claims
    assert mine["verdict"] == "refuted" and mine["certificate"]["global"] == "not_global"
    assert mine["counterexample"] in {r["id"] for r in catalog.find()}
    assert f'<a href="entries/{mine["counterexample"]}.html">' in text
    assert (summary.out / "entries").is_dir()
    # Yun et al. 2019 Theorem 1 is an existence claim: consistent, reproduced by a certified entry
    assert yun["verdict"] == "consistent" and yun["reproduced"] is True and "<td>yes</td>" in text


def test_budget_zero_checks_no_claim(tmp_path, report):
    from spurious.claims.schema import shipped_claims

    catalog, _, _ = report
    summary = build_report(tmp_path / "s", catalog=catalog, claims=shipped_claims()[:2], budget=0, reproduce=False,
                           figures=False)
    assert [c["verdict"] for c in summary.claims] == ["not_checked", "not_checked"]
    assert "not_checked" in summary.index.read_text(encoding="utf-8")


def test_reproduction_tables_are_shown_and_agree(report):
    _, _, summary = report
    tables = {t["family"]: t for t in summary.reproductions}
    assert "yun-lift" in tables and tables["yun-lift"]["error"] is None
    rows = tables["yun-lift"]["rows"]
    assert rows and all(r[3] == "equal" for r in rows)  # Yun et al. Theorem 1: 9/28 in their convention
    assert any(r[1] == r[2] and str(r[1]) == "9/28" for r in rows)
    text = summary.index.read_text(encoding="utf-8")
    assert "Reproduction tables" in text and "9/28" in text
    if "safran-shamir" in tables and tables["safran-shamir"]["error"] is None:
        agree = [r[3] for r in tables["safran-shamir"]["rows"] if r[1] is not None]
        assert agree and all(a == "agrees to 10 decimals" for a in agree)


def test_number_helpers():
    from flint import fmpq

    assert agreement(fmpq(9, 28), fmpq(9, 28)) == "equal"
    assert agreement(fmpq(9, 28), fmpq(9, 29)) == "DIFFERENT"
    assert agreement(0.2616910758, 0.26169107580655443) == "agrees to 10 decimals"
    assert agreement(0.2616910758, 0.2616910768) == "DIFFERS at 10 decimals"
    assert agreement(None, 1.0) == "not published"
    assert num(None) == "&mdash;" and num(fmpq(-3, 7)) == "-3/7" and num(["1/3", "1/2"]) == "[1/3, 1/2]"
    long = num(fmpq(10 ** 30 + 1, 3 * 10 ** 30))
    assert long.startswith('<span title="1000000000000000000000000000001/3000000000000000000000000000000">')
    assert "&asymp; 0.3333333333<" in long


def test_cli_report_and_bad_input(tmp_path, report):
    from click.testing import CliRunner

    from spurious.cli import _register, cli

    catalog, _, _ = report
    _register()
    url = str(catalog.url)
    res = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "r"), "--catalog", url, "--no-claims"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r" / "index.html").exists() and "wrote" in res.output
    res = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "r2"), "--catalog", url, "--budget", "-1"])
    assert res.exit_code == 2 and res.output.strip().startswith("error:") and len(res.output.strip().splitlines()) == 1
    (tmp_path / "file").write_text("x")
    res = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "file"), "--catalog", url, "--no-claims"])
    assert res.exit_code == 2
