"""The weights after 200 training samples, in every Brian2 target and the batched numpy engine,
against each other (the README row "numpy / cython / cpp_standalone / batched numpy after 200
samples"); writes the table to docs/results/targets_equal.txt.

    BRIAN_EP_DATA=../shared/data python benchmarks/targets_equal.py      # ~3-5 min on 2 cores (two compiles)

The digits spec (64-256-10, softmax readout), 200 training samples in one chunk, seed 0; each
run trains through ``brian_ep.train`` into its own run directory. The largest absolute
difference of every weight array to the numpy engine's is printed, relative to the largest
weight (the tests assert 1e-9, ``tests/brian/test_targets.py``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RUNS = [
    ("numpy engine (batched, batch 1)", {"run.engine": "numpy"}),
    ("brian2 runtime, numpy target", {"run.brian2.device": "runtime", "run.brian2.target": "numpy"}),
    ("brian2 runtime, cython target", {"run.brian2.device": "runtime", "run.brian2.target": "cython"}),
    ("brian2 cpp_standalone", {"run.brian2.device": "cpp_standalone"}),
]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--out", default=str(REPO / "docs" / "results" / "targets_equal.txt"))
    args = parser.parse_args(argv)
    import brian_ep

    base = {"run.epochs": 1, "data.n_train": args.samples, "data.n_test": 50, "run.chunk_size": args.samples}
    weights = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, over in RUNS:
            spec = brian_ep.load_spec(REPO / "network_specs" / "digits.yaml", {**base, **over})
            brian_ep.train(spec, out=Path(tmp) / label.replace(" ", "_").replace(",", ""), progress=False)
            weights[label] = brian_ep.maths.params.Params.load(Path(tmp) / label.replace(" ", "_").replace(",", "") / "weights.npz")
    ref = weights[RUNS[0][0]]
    scale = max(float(np.max(np.abs(w))) for w in ref.W.values())
    lines = [f"digits 64-256-10, {args.samples} training samples, seed 0; largest |difference| to the numpy engine "
             f"(largest weight {scale:.3g})", ""]
    diffs = {}
    for label, _ in RUNS[1:]:
        diffs[label] = weights[label].max_abs_diff(ref)
        lines.append(f"{label:40s} {diffs[label]:.3g}  ({diffs[label] / scale:.2g} of the largest weight)")
    lines.append(f"{'largest weight change from the initial weights':40s} "
                 f"{ref.max_abs_diff(brian_ep.initial_params(brian_ep.build_architecture(spec), 0)):.3g}")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)
    return diffs


if __name__ == "__main__":
    main()
