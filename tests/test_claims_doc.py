"""The claim file format is documented (docs/claims.md) and templated (`spurious claims template`): the template is
accepted by `claims check --file` and refutes what it should; every key the schema knows is documented; every
shipped claim says how much of its paper was read."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from spurious.claims.schema import (ACTIVATION_CLASSES, CONCLUSIONS, DATA_ASSUMPTIONS, HYPOTHESIS_KEYS, TEMPLATE,
                                    load_claim, shipped_claims)

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    from spurious.cli import _register, cli

    _register()
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_template_is_accepted_and_checked(tmp_path):
    res = _run("claims", "template")
    assert res.exit_code == 0 and res.output == TEMPLATE
    path = tmp_path / "mine.toml"
    path.write_text(res.output)
    claim = load_claim(path)
    assert claim.conclusion == "no_spurious_local_min" and claim.tries
    res = _run("claims", "check", "--file", path, "--no-catalog", "--json")
    assert res.exit_code == 0, res.output
    [result] = json.loads(res.output)
    assert result["verdict"] == "refuted"  # Yun et al.'s construction meets every hypothesis of the template
    assert result["certificate"]["rigor"] in ("exact", "interval") and result["certificate"]["global"] == "not_global"


def test_every_schema_key_is_documented_and_in_the_template():
    doc = (ROOT / "docs" / "claims.md").read_text()
    for key in list(HYPOTHESIS_KEYS) + list(CONCLUSIONS) + sorted(ACTIVATION_CLASSES) + list(DATA_ASSUMPTIONS):
        assert f"`{key}`" in doc, key
        assert key in TEMPLATE, key
    for key in ("id", "title", "statement", "paper", "theorem", "read", "family", "params"):
        assert f"`{key}`" in doc and key in TEMPLATE


def test_every_shipped_claim_says_what_was_read():
    claims = shipped_claims()
    assert len(claims) >= 10
    for c in claims:
        assert str(c.source.get("read", "")).strip(), c.id
    listing = _run("claims", "list").output
    assert listing.count("read: ") == len(claims)
