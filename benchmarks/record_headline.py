"""Commit a headline run's weights: copy them beside the results, with their SHA-256, the
run's final-epoch test accuracy and the accuracy of the same weights on the first test
samples, into ``docs/results/stochep/headline.json`` (read by ``tests/test_headline_weights.py``).

    BRIAN_EP_DATA=../shared/data python benchmarks/record_headline.py RUN_DIR NAME [--set KEY=VALUE ...]

``RUN_DIR`` is a finished run directory (``weights.npz``, ``metrics.json``, ``spec.yaml``,
``environment.json``); ``NAME`` names the entry and its weights file
(``docs/results/stochep/headline/NAME.npz``). ``--set`` gives the overrides the run was trained
with that re-evaluation needs (``run.engine=numpy``, ``run.dtype=float32``). An entry of the
same name is replaced only with ``--replace``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import yaml

from brian_ep.spec import load_spec
from brian_ep.train import evaluate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results" / "stochep"
MANIFEST = RESULTS / "headline.json"
SLICE = 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--spec", required=True, help="the shipped spec the run trained (path from the repository root)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--replace", action="store_true", help="replace an entry of the same name")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    overrides = {key: yaml.safe_load(value) for key, value in overrides.items()}
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"runs": []}
    if any(run["name"] == args.name for run in manifest["runs"]) and not args.replace:
        sys.exit(f"record_headline: {MANIFEST} already lists '{args.name}'; pass --replace to record it again")
    metrics = json.loads((args.run_dir / "metrics.json").read_text())
    environment = json.loads((args.run_dir / "environment.json").read_text())
    final = metrics["epochs"][-1]
    weights = RESULTS / "headline" / f"{args.name}.npz"
    weights.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.run_dir / "weights.npz", weights)
    spec = load_spec(ROOT / args.spec, overrides={**overrides, "data.n_test": SLICE})
    full = evaluate(load_spec(ROOT / args.spec, overrides=overrides), weights)
    if abs(full - final["test_accuracy"]) > 1e-9:
        sys.exit(f"record_headline: the weights re-evaluate to {full:.4f}, the run reported {final['test_accuracy']:.4f}")
    sliced = evaluate(spec, weights)
    rel = weights.relative_to(ROOT).as_posix()
    sets = "".join(f" --set {item}" for item in args.set)
    entry = {
        "name": args.name,
        "spec": args.spec,
        "overrides": overrides,
        "dataset": spec.data.dataset,
        "weights": rel,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "seed": environment["seed"],
        "epochs": final["epoch"],
        "test_accuracy": final["test_accuracy"],
        "trained_by": environment["command"],
        "brian_ep_commit": environment.get("commit"),
        "slice": {"n_test": SLICE, "accuracy": sliced},
        "command": f"brian-ep evaluate {args.spec}{sets} --weights {rel}",
    }
    manifest["runs"] = [run for run in manifest["runs"] if run["name"] != args.name] + [entry]
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{args.name}: {full:.2%} on the test set (the run reported {final['test_accuracy']:.2%}), "
          f"{sliced:.2%} on its first {SLICE} samples; {rel}")


if __name__ == "__main__":
    main()
