"""The examples in the docstrings of the public surface and the kernel modules run and give what they show."""

import doctest
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = ["spurious", "spurious.certificate", "spurious.linalg", "spurious.roundoff", "spurious.rationals",
           "spurious.verifiers", "spurious.verifiers.paths"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples read examples/*.json
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_import_spurious_is_light():
    """``import spurious`` loads neither torch nor the proof paths nor the database layer (the doctests of
    ``spurious`` resolve the lazy names)."""
    code = ("import sys, spurious\n"
            "heavy = [m for m in ('torch', 'sqlalchemy', 'spurious.verifiers', 'spurious.constructions') "
            "if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "assert spurious.Certificate.__module__ == 'spurious.certificate'\n"
            "assert {'construct', 'verify', 'load_candidate', 'Catalog', 'Certificate'} <= set(dir(spurious))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env, timeout=120)
