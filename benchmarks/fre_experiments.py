"""FRE-RNN experiments of issue 9: the steps table, the depth table and the headline run.

    export BRIAN_EP_DATA=../shared/data
    python benchmarks/fre_experiments.py headline   # 2x512 authors' mode, 50 epochs  (~25 min)
    python benchmarks/fre_experiments.py headline --seeds 0,1,2 [SPEC...] [--only-complete]   # mean +- std
    python benchmarks/fre_experiments.py steps      # gamma sweep, 1 and 3 hidden      (~2.5 h)
    python benchmarks/fre_experiments.py depth      # 5/10/20 x 64, +-skips, and BP    (~1.5 h)
    python benchmarks/fre_experiments.py variant [--seeds 0,1,2] SPEC...   # EP and BP under one spec (protocol variants)
    python benchmarks/fre_figures.py                # figures from the results below

All runs use the batched numpy engine (the same mathematics as the Brian2 engine, tested
equal to it) on 2 CPU cores. Training runs live in ``runs/fre/<name>`` and are reused when
complete or resumed from their checkpoint when interrupted, so the command can be re-run.
Results (JSON and Markdown tables) go to ``docs/results/fre/``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.data import load_dataset
from brian_ep.maths.convergence import coupling_spectral_radius, settling_steps, spectral_radius
from brian_ep.maths.dynamics import readout_output, relax
from brian_ep.maths.activations import get_activation
from brian_ep.maths.params import Params
from brian_ep.rundir import RunDirectory
from brian_ep.spec import load_spec
from brian_ep.errors import DivergenceError
from brian_ep.train import train
from fre_authors_reference import LATE_EPOCHS  # the same late-epoch window as the authors' table

SPECS = Path("network_specs/fre")
GAMMAS = [1.0, 0.5, 0.2, 0.1, 0.01]
TOL = 1e-6
MAX_STEPS = 400


def trained(spec, runs: Path, dataset):
    """Train (or reuse / resume) ``spec`` in ``runs/<spec.name>``; returns (params, metrics) or
    (None, error message) if the run diverged."""
    out = runs / spec.name
    rd = RunDirectory(out)
    if rd.is_complete:
        return Params.load(out / "weights.npz"), rd.read_metrics()
    resume = (out / "checkpoint.npz").exists()
    print(f"[{time.strftime('%H:%M:%S')}] training {spec.name} ({'resume' if resume else 'new'})", flush=True)
    try:
        result = train(spec, out=out, resume=resume, progress=False, dataset=dataset)
    except DivergenceError as exc:
        (out / "DIVERGED").write_text(str(exc))
        return None, str(exc)
    return result.params, result.metrics


def _output(arch, params, u):
    r_top = get_activation(arch.top.activation).rho(u[arch.top.name])
    return readout_output(arch, params, r_top)


def convergence_measures(spec, params, x, labels):
    """Steps to tolerance, spectral radii, and accuracy / time with the free phase cut there."""
    arch = build_architecture(spec)
    dtype = np.float32 if spec.run.dtype == "float32" else np.float64
    p = params.astype(np.float64)  # convergence to 1e-6 is measured in double precision
    steps, change, u = settling_steps(arch, p, x.astype(np.float64), tol=TOL, max_steps=MAX_STEPS)
    radius = spectral_radius(arch, p, u, samples=range(20))
    converged = steps <= MAX_STEPS
    row = {
        "median_steps": float(np.median(steps)),
        "p90_steps": float(np.percentile(steps, 90)),
        "converged": float(np.mean(converged)),
        "radius_J": float(np.median(radius)),
        "radius_M": coupling_spectral_radius(arch, p),
        "median_change": np.median(change, axis=1).tolist(),
    }
    # accuracy and free-phase time when the free phase stops at the median steps to tolerance
    T = int(min(math.ceil(row["median_steps"]), MAX_STEPS))
    pc = params.astype(dtype)
    xc = x.astype(dtype)
    t0 = time.perf_counter()
    outs = [_output(arch, pc, relax(arch, pc, xc[i : i + 1000], T)) for i in range(0, len(xc), 1000)]
    row["free_ms_per_sample_at_median"] = 1e3 * (time.perf_counter() - t0) / len(xc)
    row["accuracy_at_median_steps"] = float(np.mean(np.concatenate(outs).argmax(1) == labels))
    row["T_eval"] = T
    return row


def _write(out: Path, name: str, rows, table: str):
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(rows, indent=1))
    (out / f"{name}.md").write_text(table + "\n")
    print(table, flush=True)


# ---------------------------------------------------------------------------------------


def run_steps(runs: Path, out: Path, depths=(1, 3)):
    ds = load_dataset("mnist")
    rows = []
    for L in depths:
        for mode in ("exact", "vf"):
            base = load_spec(SPECS / f"steps_L{L}_{mode}.yaml")
            for gamma in GAMMAS:
                spec = load_spec(base, overrides={"model.chain.gamma": gamma, "name": f"{base.name}_g{gamma:g}"})
                params, metrics = trained(spec, runs, ds)
                row = {"hidden_layers": L, "mode": "exact" if mode == "exact" else "vector_field", "gamma": gamma,
                       "conventional_ep": mode == "exact" and gamma == 1.0, "free_steps_trained": spec.ep.free_steps,
                       "epochs": spec.run.epochs, "name": spec.name}
                if params is None:
                    row.update({"status": "diverged", "message": metrics})
                else:
                    last = metrics["epochs"][-1]
                    row.update({
                        "status": "ok",
                        "test_accuracy": last["test_accuracy"],
                        "seconds_per_epoch": float(np.mean([r["train_seconds"] for r in metrics["epochs"]])),
                    })
                    row.update(convergence_measures(spec, params, ds.x_test, ds.y_test))
                rows.append(row)
                _write(out, "steps", rows, steps_table(rows))
    return rows


def steps_table(rows) -> str:
    lines = [
        "| hidden | mode | gamma | test acc (%) | median steps to 1e-6 | 90% steps | converged | rho(J) | rho(M) "
        "| acc, free phase cut at median steps (%) | free phase ms/sample at median steps | s/epoch (T fixed) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        name = r["mode"] + (" (conventional EP)" if r.get("conventional_ep") else "")
        if r["status"] != "ok":
            lines.append(f"| {r['hidden_layers']} | {name} | {r['gamma']:g} | diverged | | | | | | | | |")
            continue
        steps = f"{r['median_steps']:.0f}" if r["median_steps"] <= MAX_STEPS else f"> {MAX_STEPS}"
        p90 = f"{r['p90_steps']:.0f}" if r["p90_steps"] <= MAX_STEPS else f"> {MAX_STEPS}"
        lines.append(
            f"| {r['hidden_layers']} | {name} | {r['gamma']:g} | {100 * r['test_accuracy']:.2f} | {steps} | {p90} | "
            f"{100 * r['converged']:.0f}% | {r['radius_J']:.3f} | {r['radius_M']:.2f} | {100 * r['accuracy_at_median_steps']:.2f} | "
            f"{r['free_ms_per_sample_at_median']:.3f} | {r['seconds_per_epoch']:.0f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------


def backprop_baseline(spec, file: Path, dataset) -> dict:
    """BP on the feed-forward counterpart of ``spec``: ``{"curve", "seconds_per_epoch"}``,
    cached in ``file`` (trained once, reused after)."""
    from brian_ep.baselines import train_backprop

    if file.exists():
        return json.loads(file.read_text())
    print(f"[{time.strftime('%H:%M:%S')}] training BP for {spec.name}", flush=True)
    result = train_backprop(spec, dataset=dataset)
    bp = {"curve": result.test_accuracy, "seconds_per_epoch": float(np.mean(result.seconds_per_epoch))}
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(bp))
    return bp


def run_depth(runs: Path, out: Path, depths=(5, 10, 20)):
    ds = load_dataset("mnist")
    rows = []
    for L in depths:
        for res in ("", "_res"):
            spec = load_spec(SPECS / f"depth_L{L}x64_vf{res}.yaml")
            params, metrics = trained(spec, runs, ds)
            row = {"hidden_layers": L, "method": "EP (vector field)" + (", residual skips" if res else ""),
                   "gamma": spec.model.chain.gamma, "epochs": spec.run.epochs, "name": spec.name}
            if params is None:
                row.update({"status": "diverged", "message": metrics})
            else:
                row.update({
                    "status": "ok",
                    "test_accuracy": metrics["epochs"][-1]["test_accuracy"],
                    "curve": [r["test_accuracy"] for r in metrics["epochs"]],
                    "seconds_per_epoch": float(np.mean([r["train_seconds"] for r in metrics["epochs"]])),
                })
            rows.append(row)
            _write(out, "depth", rows, depth_table(rows))
        bp = backprop_baseline(spec, runs / f"bp_L{L}x64.json", ds)
        rows.append({"hidden_layers": L, "method": "BP (autograd, feed-forward)", "gamma": None, "epochs": spec.run.epochs,
                     "status": "ok", "test_accuracy": bp["curve"][-1], "curve": bp["curve"],
                     "seconds_per_epoch": bp["seconds_per_epoch"], "name": f"bp_L{L}x64"})
        _write(out, "depth", rows, depth_table(rows))
    return rows


def depth_table(rows) -> str:
    lines = ["| hidden layers | method | gamma | epochs | final test acc (%) | s/epoch |", "|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        acc = f"{100 * r['test_accuracy']:.2f}" if r["status"] == "ok" else "diverged"
        sec = f"{r['seconds_per_epoch']:.1f}" if r["status"] == "ok" else ""
        gamma = "" if r["gamma"] is None else f"{r['gamma']:g}"
        lines.append(f"| {r['hidden_layers']} | {r['method']} | {gamma} | {r['epochs']} | {acc} | {sec} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------


def run_headline(runs: Path, out: Path, seeds=(0,), spec_paths=(), only_complete=False):
    """The 2 x 512 headline run (or the given protocol variants of it): one row per spec and
    seed (seed 0 keeps the spec's name, seed s the suffix ``_seed<s>``), mean +- std over the
    seeds of each spec. ``only_complete``: tabulate finished runs, train none."""
    ds = load_dataset("mnist")
    names = [Path(p) for p in spec_paths] or [SPECS / "mnist_2x512_vf.yaml"]
    rows = []
    for file in names:
        base = load_spec(file)
        for seed in seeds:
            spec = seeded(base, seed)
            name = spec.name
            if only_complete and not RunDirectory(runs / name).is_complete:
                continue
            params, metrics = trained(spec, runs, ds)
            if params is None:
                rows.append({"spec": str(file), "seed": seed, "status": "diverged", "message": metrics})
                continue
            ep = metrics["epochs"]
            rows.append({
                "spec": str(file), "seed": seed, "status": "ok", "name": name,
                "engine": f"{spec.run.engine} ({spec.run.dtype}), 2 CPU cores",
                "free_steps": spec.ep.free_steps, "schedule": spec.optim.lr_schedule, "epochs": len(ep),
                "final_test_accuracy": ep[-1]["test_accuracy"],
                "best_test_accuracy_for_reference_only": max(r["test_accuracy"] for r in ep),
                "total_train_seconds": sum(r["train_seconds"] for r in ep),
                "seconds_per_epoch": float(np.mean([r["train_seconds"] for r in ep])),
                "curve": [r["test_accuracy"] for r in ep],
            })
            val = [r["validation_accuracy"] for r in ep]
            if all(v is not None for v in val):  # model selection: the first epoch with the best validation accuracy
                k = int(np.argmax(val))
                rows[-1].update({"validation_curve": val, "selected_epoch": k + 1, "selected_test_accuracy": ep[k]["test_accuracy"]})
    lines = ["| spec | seed | free steps, schedule | final-epoch test acc (%) | validation-selected epoch: test acc (%) | epochs | training time | engine |",
             "|---|---:|---|---:|---:|---:|---:|---|"]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['spec']} | {r['seed']} | | diverged | | | | |")
            continue
        selected = f"{r['selected_epoch']}: {100 * r['selected_test_accuracy']:.2f}" if "selected_epoch" in r else ""
        lines.append(f"| {r['spec']} | {r['seed']} | {r['free_steps']}, {r['schedule']} | {100 * r['final_test_accuracy']:.2f} | {selected} | "
                     f"{r['epochs']} | {r['total_train_seconds'] / 60:.1f} min ({r['seconds_per_epoch']:.1f} s/epoch) | {r['engine']} |")
    for file in names:
        acc = [100 * r["final_test_accuracy"] for r in rows if r["spec"] == str(file) and r["status"] == "ok"]
        sel = [100 * r["selected_test_accuracy"] for r in rows if r["spec"] == str(file) and "selected_epoch" in r]
        if len(acc) > 1:
            sel_text = f"**{np.mean(sel):.2f} +- {np.std(sel, ddof=1):.2f}**" if len(sel) == len(acc) else ""
            lines.append(f"| {file}: mean +- std over {len(acc)} seeds | | | **{np.mean(acc):.2f} +- {np.std(acc, ddof=1):.2f}** | {sel_text} | | | |")
    _write(out, "headline", rows, "\n".join(lines))
    return rows


def seeded(base, seed: int):
    """``base`` with ``run.seed = seed``; seed 0 keeps the spec's name (and run directory),
    seed s gets the suffix ``_seed<s>``."""
    name = base.name if seed == 0 else f"{base.name}_seed{seed}"
    return load_spec(base, overrides={"run.seed": seed, "name": name})


def run_variant(runs: Path, out: Path, spec_paths, seeds=(0,), only_complete=False):
    """EP and BP under the same spec and seed, for protocol variants of the depth table; one
    row per spec and seed, mean +- std over the seeds of each spec. ``only_complete``:
    tabulate finished EP runs, train none."""
    ds = load_dataset("mnist")
    file = out / "depth_variants.json"
    rows = json.loads(file.read_text()) if file.exists() else []
    for path in spec_paths:
        base = load_spec(path)
        for seed in seeds:
            spec = seeded(base, seed)
            if only_complete and not RunDirectory(runs / spec.name).is_complete:
                continue
            params, metrics = trained(spec, runs, ds)
            rows = [r for r in rows if r["name"] != spec.name]
            row = {"name": spec.name, "spec": str(path), "seed": seed, "hidden_layers": len(build_architecture(spec).free_layers),
                   "epochs": spec.run.epochs, "lr": spec.model.chain.lr, "schedule": spec.optim.lr_schedule, "dtype": spec.run.dtype,
                   "nudge_force": spec.ep.nudge_force, "readout_error": spec.ep.readout_error,
                   "shuffle": spec.optim.shuffle}
            row["ep_test_accuracy"] = metrics["epochs"][-1]["test_accuracy"] if params is not None else None
            row["ep_curve"] = [r["test_accuracy"] for r in metrics["epochs"]] if params is not None else []
            if params is not None:
                row["ep_seconds_per_epoch"] = float(np.mean([r["train_seconds"] for r in metrics["epochs"]]))
            row["bp_curve"] = backprop_baseline(spec, runs / f"bp_{spec.name}.json", ds)["curve"]
            row["bp_test_accuracy"] = row["bp_curve"][-1]
            rows.append(row)
            _write(out, "depth_variants", rows, variant_table(rows))
    return rows


def variant_table(rows) -> str:
    table = ["| spec | seed | nudge | readout error at | epochs | lr, schedule | dtype | EP final test acc (%) | "
             f"EP mean of last {LATE_EPOCHS} epochs (%) | BP final test acc (%) | EP - BP (pt) |",
             "|---|---:|---|---|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        ep = "diverged" if r["ep_test_accuracy"] is None else f"{100 * r['ep_test_accuracy']:.2f}"
        batches = ", fixed batches" if r["shuffle"] == "batches" else ""
        late = "" if r["ep_test_accuracy"] is None else f"{100 * np.mean(r['ep_curve'][-LATE_EPOCHS:]):.2f}"
        diff = "" if r["ep_test_accuracy"] is None else f"{100 * (r['ep_test_accuracy'] - r['bp_test_accuracy']):+.2f}"
        table.append(f"| {r['spec']} | {r['seed']} | {r['nudge_force']} | {r['readout_error']} | {r['epochs']} | {r['lr']}, {r['schedule']}{batches} | "
                     f"{r['dtype']} | {ep} | {late} | {100 * r['bp_test_accuracy']:.2f} | {diff} |")
    for spec in dict.fromkeys(r["spec"] for r in rows):
        done = [r for r in rows if r["spec"] == spec and r["ep_test_accuracy"] is not None]
        if len(done) > 1:
            ep = 100 * np.array([r["ep_test_accuracy"] for r in done])
            late = 100 * np.array([np.mean(r["ep_curve"][-LATE_EPOCHS:]) for r in done])
            bp = 100 * np.array([r["bp_test_accuracy"] for r in done])
            table.append(f"| {spec}: mean +- std over {len(done)} seeds | | | | | | | **{ep.mean():.2f} +- {ep.std(ddof=1):.2f}** | "
                         f"{late.mean():.2f} +- {late.std(ddof=1):.2f} | {bp.mean():.2f} +- {bp.std(ddof=1):.2f} | {(ep - bp).mean():+.2f} |")
    return "\n".join(table)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["headline", "steps", "depth", "variant", "all"])
    parser.add_argument("specs", nargs="*", help="for 'variant': spec files to run with EP and BP; for 'headline': "
                        "spec files to run instead of network_specs/fre/mnist_2x512_vf.yaml")
    parser.add_argument("--runs", default="runs/fre", help="where training runs are kept")
    parser.add_argument("--out", default="docs/results/fre", help="where result tables go")
    parser.add_argument("--depths", help="comma-separated subset of depths to run")
    parser.add_argument("--seeds", default="0", help="for 'headline' and 'variant': comma-separated seeds")
    parser.add_argument("--only-complete", action="store_true", help="for 'headline' and 'variant': tabulate finished runs only")
    args = parser.parse_intermixed_args(argv)
    runs, out = Path(args.runs), Path(args.out)
    depths = tuple(int(d) for d in args.depths.split(",")) if args.depths else None
    seeds = tuple(int(x) for x in args.seeds.split(","))
    if args.what in ("headline", "all"):
        run_headline(runs, out, seeds, args.specs, args.only_complete)
    if args.what in ("steps", "all"):
        run_steps(runs, out, depths or (1, 3))
    if args.what in ("depth", "all"):
        run_depth(runs, out, depths or (5, 10, 20))
    if args.what == "variant":
        run_variant(runs, out, args.specs, seeds, args.only_complete)


if __name__ == "__main__":
    main()
