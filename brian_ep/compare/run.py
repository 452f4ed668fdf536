"""``brian-ep compare``: train every method on the same task (or read the runs already
finished), then write the report.

Layout of the comparison folder ``OUT``::

    report.md, report.csv   one row per method (final test accuracy mean +- std over seeds,
                            time, memory, steps and spikes per sample, settings)
    runs.csv                one row per run
    learning_curves.png, accuracy_vs_time.png
    specs/<method>-s<seed>.yaml   the spec each run trained (``brian-ep train`` reproduces it)
    runs/<method>-s<seed>/  ordinary run directories (plus compare.json: peak memory)
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

from ..errors import ArgumentError
from .methods import Unavailable, method_spec, parse_methods
from .report import write_report
from .runner import prepare_run, read_run, run_directory, train_run
from .stop import ChildStop

__all__ = ["compare_methods", "default_out", "claim_out", "MARKER"]


def _say(text: str) -> None:
    print(text, flush=True)


def default_out(spec) -> Path:
    """``runs/compare-<spec name>``."""
    return Path("runs") / f"compare-{spec.name}"


def _method_specs(base, methods, overrides, say):
    """``({method: spec}, {method: why skipped})``."""
    specs, skipped = {}, {}
    for method in methods:
        try:
            specs[method.key] = method_spec(base, method, overrides)
        except Unavailable as exc:
            skipped[method.key] = str(exc)
            say(f"brian-ep compare: skipping {method.key}: {exc}")
    if not specs:
        raise ArgumentError("none of the methods can run here: " + "; ".join(f"{m}: {why}" for m, why in skipped.items()))
    return specs, skipped


#: The file that marks a folder as a comparison folder (written when compare creates it).
MARKER = ".brian-ep-compare"
#: What a comparison folder of an earlier version (without the marker) holds.
_OWN = {"report.md", "report.csv", "runs.csv", "runs", "specs", "learning_curves.png", "accuracy_vs_time.png", MARKER}
#: Files that make a folder a ``brian-ep train`` run directory.
_RUN_FILES = ("spec.yaml", "metrics.json", "checkpoint.npz", "weights.npz", "history.json", "COMPLETE")


def claim_out(out: Path, create: bool = True) -> None:
    """Refuse a comparison folder that compare did not create (a ``brian-ep train`` run directory,
    a folder of other files); mark a new one as compare's.

    Raises
    ------
    ArgumentError
        Naming the folder and what it holds (nothing is written into it).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ArgumentError(f"--out '{out}' is a file, not a folder; choose another --out")
    if not create and not out.is_dir():
        raise ArgumentError(f"--out '{out}' does not exist: --report-only reports the finished runs of an earlier "
                            "compare; give the folder that compare wrote (or drop --report-only to train)")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if MARKER in held:
        return
    run_files = [name for name in _RUN_FILES if name in held]
    if run_files:
        raise ArgumentError(
            f"--out '{out}' is a brian-ep train run directory (it holds {', '.join(run_files)}), not a comparison "
            "folder; compare would write its reports, specs and runs into it. Choose another --out (nothing was written)"
        )
    other = [name for name in held if name not in _OWN]
    if other:
        raise ArgumentError(
            f"--out '{out}' holds files compare did not write ({', '.join(other[:5])}{' ...' if len(other) > 5 else ''}); "
            "choose an empty or new folder for the comparison (nothing was written)"
        )
    if create:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKER).write_text("a brian-ep compare folder\n")


def _header(spec_path, seeds, threads, command) -> dict:
    versions = []
    for module in ("torch", "snntorch", "brian2"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            versions.append(f"{module} not installed")
    return {
        "spec": str(spec_path),
        "command": f"`{command}`",
        "seeds": ", ".join(map(str, seeds)),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPU cores, {threads} thread(s) per run, "
                   "the runs this command trains one at a time",
        "versions": f"Python {platform.python_version()}, " + ", ".join(versions),
        "started": time.strftime("%Y-%m-%d %H:%M"),
    }


def compare_methods(
    spec_path, methods=None, seeds=None, overrides=None, out=None, threads=1, progress=True, command=None, say=_say,
    train=True,
):
    """Train (or read) every method with every seed and write the report.

    Parameters
    ----------
    spec_path : str or Path
        The spec compared (the ``ep`` method; the others are derived from it).
    methods : str, optional
        ``"ep@0,stochep,bptt_snn=FILE,..."`` (default: every method, see :data:`~brian_ep.compare.methods.METHODS`).
    seeds : list of int, optional
        Default: the spec's ``run.seed``. A method named ``METHOD@SEEDS`` in ``methods`` runs
        its own seeds instead.
    overrides : dict, optional
        Dotted spec keys applied to every method's spec (e.g. ``{"run.epochs": 2}``).
    out : path, optional
        The comparison folder (default :func:`default_out`).
    threads : int
        Threads of each training process (runs go one at a time).
    train : bool
        ``False``: only read the finished runs and write the report (the others are listed
        as not finished).

    Returns
    -------
    Path
        ``OUT/report.md``.
    """
    from ..spec import load_spec

    if int(threads) < 1:
        raise ArgumentError(f"--threads must be at least 1 (got {threads})")
    overrides = dict(overrides or {})
    base = load_spec(spec_path, overrides)
    parsed = parse_methods(methods)
    specs, skipped = _method_specs(base, parsed, overrides, say)
    seeds = list(seeds) if seeds else [base.run.seed]
    own = {m.key: m.seeds or tuple(seeds) for m in parsed}  # ep@0: a method's own seeds
    out = Path(out) if out is not None else default_out(base)
    claim_out(out, create=train)
    every = list(dict.fromkeys([*seeds, *(s for m in own.values() for s in m)]))
    plan = [(name, seed, load_spec(spec, {"run.seed": seed})) for seed in every for name, spec in specs.items() if seed in own[name]]
    actions = [prepare_run(run_directory(out, name, seed), spec) for name, seed, spec in plan]  # refuse before training
    header = _header(spec_path, seeds, threads, command or " ".join(sys.argv))
    mine = [f"{m.key}: {', '.join(map(str, m.seeds))}" for m in parsed if m.seeds and m.key in specs]
    if mine:
        header["seeds"] += f" ({'; '.join(mine)})"
    read_before = sum(action == "read" for action in actions)
    if read_before:  # trained by an earlier command, perhaps beside other trainings: say so next to the timings
        header["machine"] += (f"; {read_before} of {len(plan)} runs were read from earlier commands, with the "
                              "times measured then (other trainings may have shared the machine)")
    records = {name: [] for name in specs}
    unfinished = [f"{name} seed {seed}" for (name, seed, _), action in zip(plan, actions) if action != "read"]
    if not train and unfinished:
        header["not finished (not in the tables)"] = ", ".join(unfinished)
    with ChildStop() as guard:
        for i, ((name, seed, spec), action) in enumerate(zip(plan, actions)):
            path = run_directory(out, name, seed)
            if action != "read" and not train:
                continue
            guard.check(f"the finished runs are kept in '{out}'", command or " ".join(sys.argv))
            verb = {"read": "reading the finished run", "resume": "resuming", "train": "training"}[action]
            say(f"brian-ep compare [{i + 1}/{len(plan)}] {name}, seed {seed}: {verb} -> {path}")
            if action != "read":
                train_run(spec, path, resume=action == "resume", threads=threads, progress=progress, guard=guard)
                guard.check(f"the run in '{path}' kept its last checkpoint and the finished runs are kept in '{out}'",
                            command or " ".join(sys.argv))
            records[name].append(read_run(path, name, seed))
            if action != "read":  # a long comparison shows its results as they come
                write_report(out, records, specs.get("ep", base), header, skipped)
    return write_report(out, records, specs.get("ep", base), header, skipped)
