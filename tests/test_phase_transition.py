"""Li-Ding-Sun phase transition: certified strict spurious minima below the width threshold, none at or above."""

import json
import subprocess
import sys

from spurious.claims.phase_transition import phase_transition


def test_certified_below_threshold_and_none_at_or_above():
    rows = phase_transition(activation="tanh", n=8, seed=1, starts=30, widths=[2, 8, 9])
    by_width = {r.width: r for r in rows}
    assert by_width[2].certified_spurious >= 1          # below N = 8: a certified strict spurious minimum
    for m in (8, 9):                                    # at or above N: the theorem (all layers trainable) forbids it
        assert by_width[m].certified_spurious == 0
    assert all(r.certified_spurious <= r.checked <= r.float_spurious <= r.float_minima for r in rows)


def test_cli_json_and_bad_input(tmp_path):
    out = subprocess.run([sys.executable, "-m", "spurious", "claims", "phase-transition", "--activation", "relu"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "smooth" in out.stderr
