"""Every command of the README's tour runs as written, on a fresh catalog, and shows what its comment promises
(issue 16, item 2). Commands are read from README.md itself, so an edited README is tested as edited; each one
needs a check below (a command without one fails the test). No substitutions: the README's commands are small.

The expensive commands (seconds to minutes: a Safran-Shamir construction, the claims with their budget, the
search, re-proving the catalog, the report) are marked slow; the Python example and the main command's spurious
part are run too.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SLOW = ("construct safran-shamir", "show ss8.json", "verify ss8.json", "catalog verify --all", "search ",
        "claims check  ", "report ")


def _block(after: str, lang: str) -> str:
    start = README.index(after)
    m = re.compile(rf"```{lang}\n(.*?)```", re.S).search(README, start)
    return m.group(1)


def tour_commands() -> list:
    """(command line without its comment, the comment) for each line of the tour's bash block."""
    out = []
    for line in _block("## A short tour", "bash").splitlines():
        if line.strip():
            cmd, _, comment = line.partition("  #")
            out.append((cmd.strip(), comment.strip()))
    return out


def _is_slow(cmd):
    text = cmd.removeprefix("spurious ") + "  "
    return any(text.startswith(s) for s in SLOW)


TOUR = tour_commands()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A fresh directory with the repository's examples and a fresh catalog (shipped entries only)."""
    d = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", d / "examples")
    return d


def run(workdir, cmd, monkeypatch):
    """Run one README line with the CLI in ``workdir``; ``> FILE`` redirects the output as a shell would."""
    from spurious.cli import _register, cli

    _register()
    argv = shlex.split(cmd)
    assert argv[0] == "spurious", cmd
    target = None
    if ">" in argv:
        k = argv.index(">")
        argv, target = argv[:k], argv[k + 1]
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("SPURIOUS_CATALOG", f"sqlite:///{workdir / 'catalog.sqlite'}")
    result = CliRunner().invoke(cli, argv[1:], catch_exceptions=False)
    if target:
        (workdir / target).write_text(result.output)
    return result


def _needs(workdir, monkeypatch, path, producer):
    """Run the README line that writes ``path`` first, if an earlier test has not."""
    if not (workdir / path).exists():
        line = next(c for c, _ in TOUR if producer in c)
        assert run(workdir, line, monkeypatch).exit_code == 0


def check(cmd, result, workdir, monkeypatch):
    """What the README's comment on ``cmd`` promises."""
    out = result.output
    assert result.exit_code == 0, (cmd, out)
    if cmd.startswith("spurious find"):
        assert "verdict: strict_" in out and "global: not_global" in out and "rigor: exact" in out
        assert (workdir / "found.json").exists()
    elif cmd.endswith("--path frozen_pattern"):
        assert "verdict: non_strict_local_min   global: not_global   rigor: exact" in out
        assert "frozen activation pattern" in out
    elif cmd == "spurious constructions":
        from spurious.constructions import families

        for f in families():
            assert f.name in out
    elif cmd == "spurious constructions --reproduce":
        assert " yes " in out and " NO " not in out
    elif cmd.startswith("spurious construct safran-shamir"):
        assert "verdict: strict_local_min" in out and "global: not_global" in out and "rigor: interval" in out
        assert (workdir / "ss8.json").exists()
    elif cmd == "spurious show ss8.json":
        assert "8-8-1" in out and "standard Gaussian inputs" in out and "loss at point" in out
    elif cmd == "spurious verify examples/yun2019-theorem1.json":
        assert "verdict: non_strict_local_min   global: not_global   rigor: exact" in out and "steps:" in out
    elif cmd == "spurious verify ss8.json --json":
        cert = json.loads(out)
        assert (cert["verdict"], cert["global"], cert["rigor"]) == ("strict_local_min", "not_global", "interval")
    elif cmd.endswith("--rigor numerical"):
        assert "rigor: numerical" in out and "not a proof" in out
    elif cmd.startswith("spurious catalog list --activation relu --max-width 4"):
        rows = json.loads(run(workdir, cmd + " --json", monkeypatch).output)
        assert rows and all(r["activation"] == "relu" and r["max_width"] <= 4 and r["certified"] for r in rows)
        assert all(r["id"] in out for r in rows)
    elif cmd == "spurious catalog verify --all":
        m = re.search(r"(\d+) of (\d+) entries passed", out)
        assert m and m.group(1) == m.group(2) and int(m.group(1)) >= 10
    elif cmd.startswith("spurious bound examples/bound-deep-linear.json"):
        b = json.loads(out)
        assert b["global_lower_bound"] == "157/108" == b["global_value"] and b["rigor"] == "exact"
    elif cmd.startswith("spurious search"):
        m = re.search(r"certified spurious minima: (\d+)", out)
        assert m and int(m.group(1)) >= 1, out
    elif cmd == "spurious claims check":
        from spurious.claims.schema import shipped_claims

        for claim in shipped_claims():
            line = next(ln for ln in out.splitlines() if f"  {claim.id}:" in ln)
            assert claim.expected is None or line.startswith(claim.expected), line
    elif cmd.startswith("spurious claims template"):
        assert (workdir / "mine.toml").read_text().startswith("# A claim from a paper")
    elif cmd == "spurious claims check --file mine.toml":
        assert out.startswith("refuted  my-claim:")
    elif cmd.startswith("spurious report"):
        index = workdir / "report" / "index.html"
        assert index.exists() and "Claims" in index.read_text() and list((workdir / "report" / "entries").iterdir())
    else:
        pytest.fail(f"README command without a check in tests/test_readme_commands.py: {cmd}")


@pytest.mark.parametrize("cmd", [pytest.param(c, marks=pytest.mark.slow) if _is_slow(c) else c for c, _ in TOUR])
def test_tour_command_does_what_it_says(cmd, workdir, monkeypatch):
    if "ss8.json" in cmd and "--out ss8.json" not in cmd:
        _needs(workdir, monkeypatch, "ss8.json", "--out ss8.json")
    if "--file mine.toml" in cmd:
        _needs(workdir, monkeypatch, "mine.toml", "> mine.toml")
    check(cmd, run(workdir, cmd, monkeypatch), workdir, monkeypatch)


def test_the_tour_is_what_the_test_reads():
    cmds = [c for c, _ in TOUR]
    assert len(cmds) >= 15 and all(c.startswith("spurious ") for c in cmds)
    assert "FILE" not in " ".join(cmds)  # no placeholders: every line runs as written


def test_main_command_after_install(workdir, monkeypatch):
    """The main command minus the install: find (construct, prove, store), list, show."""
    line = _block("<!-- main-command -->", "bash").strip()
    parts = [p.strip() for p in line.split("&&")]
    spurious_parts = [p for p in parts if p.startswith("spurious ")]
    assert len(spurious_parts) == 3 and parts[: -3] and "pip install" in line
    first = run(workdir, spurious_parts[0], monkeypatch)
    assert first.exit_code == 0 and "catalog: stored" in first.output
    assert "verdict: strict_modulo_symmetry" in first.output and "global: not_global" in first.output
    assert "rigor: exact" in first.output
    listed = run(workdir, spurious_parts[1], monkeypatch)
    entry = re.search(r"catalog: stored as (\w+)", first.output).group(1)
    assert listed.exit_code == 0 and entry in listed.output
    shown = run(workdir, spurious_parts[2], monkeypatch)
    assert shown.exit_code == 0 and "2-3-3-1" in shown.output and "activation pattern" in shown.output


def test_python_example(monkeypatch, capsys):
    """The README's Python block prints what its comments say."""
    code = _block("In Python:", "python")
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102  (the README's own example, not user input)
    printed = capsys.readouterr().out.splitlines()
    expected = [c.split("#", 1)[1].split("(")[0].strip() for c in code.splitlines() if c.startswith("print(")]
    assert [p.strip() for p in printed] == expected
