"""Regenerate the catalog entries shipped with the package: one certified entry per construction family.

Run from the repository root: ``python scripts/make_shipped.py``. Each candidate is built by its family with the
parameters below, proved by ``spurious.verifiers.verify``, and written to ``spurious/catalog/shipped/NAME.json``
with its certificate in ``spurious/catalog/shipped/certificates/NAME.json``. A candidate that is not a proved
spurious minimum stops the script (nothing unproved ships as certified).
"""

import json
import sys
from pathlib import Path

from spurious.candidate import load_candidate
from spurious.constructions import construct
from spurious.verifiers import verify

ENTRIES = [
    ("yun2019-theorem1", None, "examples/yun2019-theorem1.json"),
    ("yun-lift-relu-1-3-1", "yun-lift", {"widths": [1, 3, 1], "activation": "relu", "seed": 0}),
    ("yun-lift-leaky-2-3-1", "yun-lift", {"widths": [2, 3, 1], "activation": "leaky_relu:1/10", "seed": 1}),
    ("pattern-minima", "pattern-minima", {}),
    ("deep-lift", "deep-lift", {}),
    ("dead-units", "dead-units", {}),
    ("yun-smooth-sigmoid", "yun-smooth", {"activation": "sigmoid"}),
    ("yun-smooth-tanh", "yun-smooth", {"activation": "tanh"}),
    ("constant-output", "constant-output", {}),
    ("safran-shamir-k6", "safran-shamir", {"k": 6}),
    ("safran-shamir-k7", "safran-shamir", {"k": 7}),
    ("single-neuron", "single-neuron", {}),
    ("split-neuron", "split-neuron", {}),
    ("narrow-strict", "narrow-strict", {}),
    ("quadratic-narrow", "quadratic-narrow", {}),
]


def main():
    folder = Path(__file__).resolve().parents[1] / "spurious" / "catalog" / "shipped"
    (folder / "certificates").mkdir(parents=True, exist_ok=True)
    for name, family, params in ENTRIES:
        candidate = load_candidate(folder.parents[2] / params) if family is None else construct(family, **params)
        cert = verify(candidate)
        if not cert.spurious:
            sys.exit(f"{name}: {cert.verdict}, {cert.glob}, {cert.rigor}: not a proved spurious minimum")
        (folder / f"{name}.json").write_text(candidate.dumps() + "\n")
        (folder / "certificates" / f"{name}.json").write_text(json.dumps(cert.to_json(), indent=1) + "\n")
        print(f"{name:24s} {cert.verdict:22s} {cert.glob:10s} {cert.rigor}")


if __name__ == "__main__":
    main()
