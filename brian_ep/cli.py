"""The ``brian-ep`` command line: ``train``, ``evaluate``, ``analyze``.

Errors in specs, data, arguments or diverging dynamics are printed as one paragraph
(no traceback) and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

__all__ = ["main", "build_parser"]


def _overrides(args) -> dict:
    import yaml

    out = {}
    for item in getattr(args, "set", None) or []:
        if "=" not in item:
            raise _ArgumentError(f"--set expects KEY=VALUE (e.g. --set run.epochs=2), got '{item}'")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    for key, attr in (("run.device", "device"), ("run.engine", "engine"), ("run.target", "target"), ("run.epochs", "epochs"), ("run.seed", "seed")):
        value = getattr(args, attr, None)
        if value is not None:
            out[key] = value
    return out


class _ArgumentError(Exception):
    pass


def _cmd_train(args) -> int:
    from .rundir import default_run_dir
    from .spec import load_spec
    from .train import train

    spec = load_spec(args.spec, _overrides(args))
    out = Path(args.out) if args.out else default_run_dir(spec)
    if args.resume and not (out / "checkpoint.npz").exists():
        raise _ArgumentError(f"--resume: no checkpoint in '{out}'; pass the run directory with --out")
    where = f"brian2, {spec.run.device}" if spec.run.engine == "brian2" else f"{spec.run.engine} engine, {spec.run.dtype}"
    print(f"brian-ep: training '{spec.name}' ({where}) -> {out}", flush=True)
    result = train(spec, out=out, resume=args.resume, progress=not args.quiet, command=" ".join(sys.argv))
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
    if spec_path.is_dir():
        weights = weights or spec_path / "weights.npz"
        spec_path = spec_path / "spec.yaml"
    if weights is None:
        raise _ArgumentError("evaluate needs --weights FILE.npz (or a run directory instead of SPEC)")
    if not weights.is_file():
        raise _ArgumentError(f"weights file '{weights}' not found")
    spec = load_spec(spec_path, _overrides(args))
    acc = evaluate(spec, Params.load(weights), split=args.split)
    print(f"{args.split} accuracy: {100 * acc:.2f}%")
    return 0


def _cmd_analyze(args) -> int:
    from .analysis import analyze_command

    return analyze_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brian-ep", description="Equilibrium Propagation in Brian2.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("spec", help="network spec (YAML), e.g. network_specs/digits.yaml")
        p.add_argument("--device", choices=["runtime", "cpp_standalone"], help="Brian2 device (overrides run.device)")
        p.add_argument("--engine", choices=["brian2", "numpy"], help="engine (overrides run.engine)")
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
    from .spec.errors import BrianEPError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (BrianEPError, _ArgumentError) as exc:
        print(_paragraph(f"brian-ep: error: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("brian-ep: interrupted; continue with the same command and --resume --out DIR", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
