"""The ``brian-ep`` command line: ``train``, ``evaluate``, ``analyze``, ``compare``, ``cache``.

Errors in specs, data, arguments, files or diverging dynamics are printed as one paragraph
(no traceback) and the command exits with status 2; an interrupted run exits with 130 after
saying how to resume it. Anything else is a bug: one paragraph too, exit status 1, and the
traceback with ``--debug``. Warnings of the package (a run that does not learn) are printed
as ``brian-ep: warning: ...`` paragraphs.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import textwrap
from pathlib import Path

from .errors import ArgumentError, BrianEPError, Interrupted, StorageError, storage_problem

__all__ = ["main", "build_parser", "FLAG_KEYS"]


#: Command-line flags that set a spec key, and the key each one sets.
FLAG_KEYS = (("run.brian2.device", "device"), ("run.engine", "engine"), ("run.brian2.target", "target"),
             ("run.epochs", "epochs"), ("run.seed", "seed"))


def _overrides(args) -> dict:
    """The spec keys the command sets: ``--set KEY=VALUE`` and the flags of :data:`FLAG_KEYS`.

    A flag and a ``--set`` of the same key must agree (``--epochs 1 --set run.epochs=1``);
    different values are refused, so that neither is dropped without a word.
    """
    from .spec.yaml_text import parse_yaml

    out = {}
    for item in getattr(args, "set", None) or []:
        if "=" not in item:
            raise ArgumentError(f"--set expects KEY=VALUE (e.g. --set run.epochs=2), got '{item}'")
        key, value = item.split("=", 1)
        if not key.strip():
            raise ArgumentError(f"--set expects KEY=VALUE with a dotted key such as run.epochs, got '{item}'")
        out[key.strip()] = parse_yaml(value, f"--set {key.strip()}")
    for key, attr in FLAG_KEYS:
        value = getattr(args, attr, None)
        if value is None:
            continue
        if key in out and out[key] != value:
            raise ArgumentError(
                f"--{attr} {value} and --set {key}={out[key]!r} give the key '{key}' two different values; "
                f"give it once (--{attr} is short for --set {key}=...)"
            )
        out[key] = value
    return out


def _cmd_train(args) -> int:
    from .rundir import default_run_dir
    from .runlock import reap
    from .session import run_device
    from .spec import load_spec
    from .train import is_main_process, train

    spec = load_spec(args.spec, _overrides(args))
    out = Path(args.out) if args.out else default_run_dir(spec)
    reap(out)  # a killed run's compilers end even if this command is refused
    if args.resume and not (out / "checkpoint.npz").exists():
        raise ArgumentError(
            f"--resume: no checkpoint in '{out}'; pass the run directory with --out (the default directory depends on "
            "the spec's content)"
        )
    if args.resume and args.overwrite:
        raise ArgumentError("--resume continues the run in --out and --overwrite replaces it; give one of them")
    if args.allow_changes and not args.resume:
        raise ArgumentError("--allow-changes only applies with --resume")
    where = f"{spec.run.engine} engine on {run_device(spec)}, {spec.run.dtype}"
    main_process = is_main_process()  # under torchrun, one process speaks
    result = train(
        spec, out=out, resume=args.resume, progress=not args.quiet, command=args.command_line,
        overwrite=args.overwrite, allow_changes=args.allow_changes or (), resume_command=_resume_command(args, out),
        on_start=lambda: print(f"brian-ep: training '{spec.name}' ({where}) -> {out}", flush=True),
    )
    if not main_process:
        return 0
    final = result.metrics["epochs"][-1]
    total = sum(r["train_seconds"] + r["eval_seconds"] for r in result.metrics["epochs"])
    print(
        f"brian-ep: final test accuracy {100 * final['test_accuracy']:.2f}% after {final['epoch']} epochs "
        f"({total:.1f} s training + evaluation); run directory {out}"
    )
    return 0


def _resume_command(args, out) -> str:
    """The command that continues this run where it stops."""
    parts = ["brian-ep", "train", str(args.spec)]
    for _, flag in FLAG_KEYS:
        value = getattr(args, flag, None)
        if value is not None:
            parts += [f"--{flag}", str(value)]
    for item in args.set or []:
        parts += ["--set", item]
    return shlex.join(parts + ["--out", str(out), "--resume"])


def _cmd_evaluate(args) -> int:
    from .spec import load_spec
    from .train import evaluate
    from .weights import load_weights

    spec_path = Path(args.spec)
    weights = Path(args.weights) if args.weights else None
    workdir = None
    if spec_path.is_dir():
        from .runlock import reap

        reap(spec_path)
        weights = weights or spec_path / "weights.npz"
        workdir = spec_path / "standalone"  # the programs training compiled there are reused
        spec_path = spec_path / "spec.yaml"
    if weights is None:
        raise ArgumentError("evaluate needs --weights FILE.npz (or a run directory instead of SPEC)")
    if not weights.is_file():
        raise ArgumentError(f"weights file '{weights}' not found")
    spec = load_spec(spec_path, _overrides(args))
    acc = evaluate(spec, load_weights(weights, spec), split=args.split, workdir=workdir)
    print(f"{args.split} accuracy: {100 * acc:.2f}%")
    return 0


def _cmd_analyze(args) -> int:
    """``brian-ep analyze``: print spectral radius and steps to tolerance per gamma, recommend a
    free-phase length for the spec's gamma, and plot the residuals."""
    from .analysis import convergence_rows, plot_radius_vs_gamma, plot_residuals, recommend_free_steps
    from .architecture import build_architecture
    from .spec import load_spec
    from .maths.stream import stream_of
    from .splits import prepare_data

    spec = load_spec(args.spec, _overrides(args))
    arch = build_architecture(spec)
    params, source = _analysis_weights(args, spec, arch)
    gammas = _gammas(args.gammas)
    _, _, (x_test, _) = prepare_data(spec)
    x = x_test[: args.samples]
    stream = stream_of(spec)
    if stream is not None:  # an event stream: the settling on the held input (docs/events.md)
        x = stream.held(stream.frames(x))
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
    try:
        fig = plot_residuals(rows, out / f"{spec.name}_residuals.png", tol=args.tol, title=title)
        radius = plot_radius_vs_gamma(rows, out / f"{spec.name}_radius.png", title=title)
    except OSError as exc:
        problem = storage_problem(exc)
        if problem is None:
            raise
        raise StorageError(
            f"analyze --out: cannot write the figure '{exc.filename or out}': {problem}. The results above are "
            "complete and nothing else was written (analyze reads the spec and weights only); choose another --out"
        ) from exc
    print(f"figures: {fig} and {radius}")
    return 0


def _cmd_compare(args) -> int:
    """``brian-ep compare``: the methods on the same task, one report (:mod:`brian_ep.compare`)."""
    from .compare import compare_methods

    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()] if args.seeds else None
    except ValueError:
        raise ArgumentError(f"--seeds expects integers separated by commas, e.g. 0,1,2; got '{args.seeds}'") from None
    report = compare_methods(args.spec, args.methods, seeds, _overrides(args), args.out, args.threads, not args.quiet,
                             args.command_line,
                             train=not args.report_only)
    print(f"brian-ep compare: report {report}")
    return 0


def _cmd_cache(args) -> int:
    """``brian-ep cache list|clear``: the compiled programs kept for reuse (:mod:`brian_ep.brian.program_cache`)."""
    from .brian.program_cache import cache_root, clear_cache, describe_entries, list_entries

    root = cache_root()
    if root is None:
        print("brian-ep cache: the cache is off (BRIAN_EP_CACHE=off)")
        return 0
    if args.action == "clear":
        count, freed = clear_cache(root)
        print(f"brian-ep cache: removed {count} program(s), {freed / 1e6:.1f} MB, from {root}")
        return 0
    print(describe_entries(root, list_entries(root)))
    return 0


def _analysis_weights(args, spec, arch):
    """The weights ``analyze`` reads (``--weights``, or the spec's initial weights) and their source."""
    from .maths.params import initial_params
    from .weights import load_weights

    if not args.weights:
        return initial_params(arch, spec.run.seed), f"initial weights (seed {spec.run.seed})"
    if not Path(args.weights).is_file():
        raise ArgumentError(f"weights file '{args.weights}' not found")
    return load_weights(args.weights, arch), args.weights


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
        p.add_argument("--device", choices=["runtime", "cpp_standalone", "cuda_standalone"], help="Brian2 device (overrides run.brian2.device)")
        p.add_argument("--engine", choices=engine_names(), help="engine (overrides run.engine)")
        p.add_argument("--target", choices=["numpy", "cython"], help="Brian2 runtime code generation target (overrides run.brian2.target)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a spec key, e.g. run.epochs=2")
        p.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")

    p = sub.add_parser("train", help="train a network from a spec")
    common(p)
    p.add_argument("--out", help="run directory (default: runs/<name>-<hash>-s<seed>)")
    p.add_argument("--epochs", type=int, help="number of epochs (overrides run.epochs)")
    p.add_argument("--seed", type=int, help="seed (overrides run.seed)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out (same spec)")
    p.add_argument(
        "--allow-changes", nargs="+", metavar="KEY",
        help="with --resume: spec keys (or sections) that may differ from the checkpoint's, e.g. run.epochs",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run that --out already holds")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="test accuracy of saved weights")
    common(p)
    p.add_argument("--weights", help="weights .npz (default: SPEC is a run directory and its weights.npz)")
    p.add_argument("--split", choices=["test", "train", "validation"], default="test",
                   help="the split to score (validation: where the spec has data.validation > 0)")
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

    p = sub.add_parser("compare", help="EP against its baselines on the same task: train each method, write a report")
    p.add_argument("spec", help="network spec (YAML) of the EP run, e.g. network_specs/digits.yaml")
    p.add_argument("--methods", help="comma-separated, each optionally METHOD=SPEC_FILE and @SEEDS (ep@0: that method's own seeds, joined by +); METHOD:LABEL runs a method a second time under a label (ep:rate=FILE) (default: ep,stochep,bptt_snn,bptt_crnn,bp)")
    p.add_argument("--seeds", help="comma-separated seeds (default: the spec's run.seed)")
    p.add_argument("--epochs", type=int, help="number of epochs of every method (overrides run.epochs)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a spec key of every method, e.g. data.n_train=1000")
    p.add_argument("--out", help="comparison folder (default: runs/compare-<spec name>)")
    p.add_argument("--threads", type=int, default=1, help="threads per training process (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--report-only", action="store_true", help="train nothing: report the finished runs in --out")
    p.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("cache", help="compiled standalone programs kept for reuse: list them, or clear them")
    p.add_argument("action", choices=["list", "clear"], help="list: key, size, program, spec, last use; clear: remove them all")
    p.set_defaults(func=_cmd_cache)
    return parser


def _paragraph(message: str) -> str:
    return textwrap.fill(
        " ".join(str(message).split()), width=100, subsequent_indent="  ",
        break_long_words=False, break_on_hyphens=False,
    )


class _WarningParagraphs(logging.Handler):
    """Prints the package's warnings as ``brian-ep: warning: ...`` paragraphs on stderr."""

    def emit(self, record):
        print(_paragraph(f"brian-ep: warning: {record.getMessage()}"), file=sys.stderr, flush=True)


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit status:
    0, a :class:`~brian_ep.errors.BrianEPError`'s code after one paragraph on stderr, 130
    on Ctrl-C, 1 after one paragraph for a bug. With ``--debug`` a bug is raised instead,
    and only then is ``sys.excepthook`` set to Python's own, so that the traceback does not
    come with Brian2's banner blaming Brian2; otherwise the hook is left as it was."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["brian-ep", *argv])
    logger = logging.getLogger("brian_ep")
    handler = _WarningParagraphs(logging.WARNING)
    logger.addHandler(handler)
    try:
        return args.func(args)
    except BrianEPError as exc:
        kind = "stopped" if isinstance(exc, Interrupted) else "error"
        print(_paragraph(f"brian-ep: {kind}: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("brian-ep: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one paragraph, traceback with --debug
        problem = storage_problem(exc) if isinstance(exc, OSError) else None
        if problem is not None:  # the machine's state (disk full, read-only), not a bug
            print(_paragraph(f"brian-ep: error: cannot write '{exc.filename or '?'}': {problem}"), file=sys.stderr)
            return 2
        if getattr(args, "debug", False):
            sys.excepthook = sys.__excepthook__  # Brian2's hook would blame Brian2 for this error
            raise
        print(_paragraph(
            f"brian-ep: internal error: {type(exc).__name__}: {exc}. This is a bug in brian-ep, not in your input; "
            "run the command again with --debug for the traceback and report it"
        ), file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
