"""The ``brian-ep`` command line: ``train``, ``evaluate``, ``analyze``.

Errors in specs, data, arguments or diverging dynamics are printed as one paragraph
(no traceback) and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from .errors import ArgumentError, BrianEPError

__all__ = ["main", "build_parser"]


def _overrides(args) -> dict:
    import yaml

    out = {}
    for item in getattr(args, "set", None) or []:
        if "=" not in item:
            raise ArgumentError(f"--set expects KEY=VALUE (e.g. --set run.epochs=2), got '{item}'")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    for key, attr in (("run.device", "device"), ("run.engine", "engine"), ("run.target", "target"), ("run.epochs", "epochs"), ("run.seed", "seed")):
        value = getattr(args, attr, None)
        if value is not None:
            out[key] = value
    return out


def _cmd_train(args) -> int:
    from .rundir import default_run_dir
    from .spec import load_spec
    from .train import train

    spec = load_spec(args.spec, _overrides(args))
    out = Path(args.out) if args.out else default_run_dir(spec)
    if args.resume and not (out / "checkpoint.npz").exists():
        raise ArgumentError(f"--resume: no checkpoint in '{out}'; pass the run directory with --out")
    where = f"brian2, {spec.run.device}" if spec.run.engine == "brian2" else f"{spec.run.engine} engine, {spec.run.dtype}"
    main_process = os.environ.get("RANK", "0") == "0"  # under torchrun, one process speaks
    if main_process:
        print(f"brian-ep: training '{spec.name}' ({where}) -> {out}", flush=True)
    result = train(spec, out=out, resume=args.resume, progress=not args.quiet, command=" ".join(sys.argv))
    if not main_process:
        return 0
    final = result.metrics["epochs"][-1]
    total = sum(r["train_seconds"] + r["eval_seconds"] for r in result.metrics["epochs"])
    print(
        f"brian-ep: final test accuracy {100 * final['test_accuracy']:.2f}% after {final['epoch']} epochs "
        f"({total:.1f} s training + evaluation); run directory {out}"
    )
    return 0


def _cmd_evaluate(args) -> int:
    from .maths.params import Params
    from .spec import load_spec
    from .train import evaluate

    spec_path = Path(args.spec)
    weights = Path(args.weights) if args.weights else None
    workdir = None
    if spec_path.is_dir():
        weights = weights or spec_path / "weights.npz"
        workdir = spec_path / "standalone"  # the programs training compiled there are reused
        spec_path = spec_path / "spec.yaml"
    if weights is None:
        raise ArgumentError("evaluate needs --weights FILE.npz (or a run directory instead of SPEC)")
    if not weights.is_file():
        raise ArgumentError(f"weights file '{weights}' not found")
    spec = load_spec(spec_path, _overrides(args))
    acc = evaluate(spec, Params.load(weights), split=args.split, workdir=workdir)
    print(f"{args.split} accuracy: {100 * acc:.2f}%")
    return 0


def _cmd_analyze(args) -> int:
    """``brian-ep analyze``: print spectral radius and steps to tolerance per gamma, recommend a
    free-phase length for the spec's gamma, and plot the residuals."""
    from .analysis import convergence_rows, plot_radius_vs_gamma, plot_residuals, recommend_free_steps
    from .architecture import build_architecture
    from .spec import load_spec
    from .splits import prepare_data

    spec = load_spec(args.spec, _overrides(args))
    arch = build_architecture(spec)
    params, source = _analysis_weights(args, spec, arch)
    gammas = _gammas(args.gammas)
    _, _, (x_test, _) = prepare_data(spec)
    x = x_test[: args.samples]
    spec_gamma = arch.projections[-1].gamma if arch.projections else 1.0
    if spec_gamma not in gammas:
        gammas = sorted(set(gammas + [spec_gamma]), reverse=True)
    rows = convergence_rows(spec, params, x, gammas, tol=args.tol, max_steps=args.max_steps)
    print(f"{spec.name}: {spec.ep.mode} mode, {source}, {x.shape[0]} test samples, tolerance {args.tol:g}")
    print(f"{'gamma':>8s} {'median steps':>13s} {'90% steps':>10s} {'converged':>10s} {'rho(J)':>8s} {'rho(M)':>8s}")
    for r in rows:
        print(f"{r.gamma:8g} {r.median_steps:13.0f} {r.p90_steps:10.0f} {100 * r.converged:9.1f}% {r.radius:8.4f} {r.coupling_radius:8.3f}")
    rec = recommend_free_steps(next(r for r in rows if r.gamma == spec_gamma))
    if rec is None:
        print(f"recommendation: with gamma = {spec_gamma:g} fewer than 90% of samples converge within {args.max_steps} steps; lower gamma or the learning rates")
    else:
        print(f"recommendation: ep.free_steps: {rec} (spec has {spec.ep.free_steps}) for gamma = {spec_gamma:g}")
    out = Path(args.out) if args.out else Path(".")
    title = f"{spec.name} ({spec.ep.mode})"
    fig = plot_residuals(rows, out / f"{spec.name}_residuals.png", tol=args.tol, title=title)
    radius = plot_radius_vs_gamma(rows, out / f"{spec.name}_radius.png", title=title)
    print(f"figures: {fig} and {radius}")
    return 0


def _analysis_weights(args, spec, arch):
    """The weights ``analyze`` reads (``--weights``, or the spec's initial weights) and their source."""
    from .maths.params import Params, initial_params

    if not args.weights:
        return initial_params(arch, spec.run.seed), f"initial weights (seed {spec.run.seed})"
    if not Path(args.weights).is_file():
        raise ArgumentError(f"weights file '{args.weights}' not found")
    params = Params.load(args.weights)
    missing = sorted({p.name for p in arch.all_projections} - set(params.W))
    if missing:
        raise ArgumentError(f"weights file '{args.weights}' has no weights for projection(s) {', '.join(missing)} of this spec")
    return params, args.weights


def _gammas(text):
    try:
        gammas = [float(g) for g in text.split(",") if g.strip()]
    except ValueError:
        raise ArgumentError(f"--gammas expects numbers separated by commas, got '{text}'") from None
    if any(not (0 < g <= 1) for g in gammas):
        raise ArgumentError(f"--gammas must lie in (0, 1], got '{text}'")
    return gammas


def build_parser() -> argparse.ArgumentParser:
    from .engines import engine_names

    parser = argparse.ArgumentParser(prog="brian-ep", description="Equilibrium Propagation in Brian2.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("spec", help="network spec (YAML), e.g. network_specs/digits.yaml")
        p.add_argument("--device", choices=["runtime", "cpp_standalone", "cuda_standalone"], help="Brian2 device (overrides run.device)")
        p.add_argument("--engine", choices=engine_names(), help="engine (overrides run.engine)")
        p.add_argument("--target", choices=["numpy", "cython"], help="runtime code generation target")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a spec key, e.g. run.epochs=2")

    p = sub.add_parser("train", help="train a network from a spec")
    common(p)
    p.add_argument("--out", help="run directory (default: runs/<name>-<hash>-s<seed>)")
    p.add_argument("--epochs", type=int, help="number of epochs (overrides run.epochs)")
    p.add_argument("--seed", type=int, help="seed (overrides run.seed)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="test accuracy of saved weights")
    common(p)
    p.add_argument("--weights", help="weights .npz (default: SPEC is a run directory and its weights.npz)")
    p.add_argument("--split", choices=["test", "train"], default="test")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("analyze", help="convergence of the free phase: spectral radius, steps to tolerance")
    common(p)
    p.add_argument("--weights", help="weights .npz (default: initial weights of the spec's seed)")
    p.add_argument("--gammas", default="1,0.5,0.2,0.1,0.01", help="feedback factors to compare (comma separated)")
    p.add_argument("--tol", type=float, default=1e-6, help="tolerance on the state change per step")
    p.add_argument("--max-steps", type=int, default=500)
    p.add_argument("--samples", type=int, default=200, help="test samples to analyse")
    p.add_argument("--out", help="directory for the figure (default: current directory)")
    p.set_defaults(func=_cmd_analyze)
    return parser


def _paragraph(message: str) -> str:
    return textwrap.fill(
        " ".join(str(message).split()), width=100, subsequent_indent="  ",
        break_long_words=False, break_on_hyphens=False,
    )


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrianEPError as exc:
        print(_paragraph(f"brian-ep: error: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("brian-ep: interrupted; continue with the same command and --resume --out DIR", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
