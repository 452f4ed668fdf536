"""What a run will need, estimated from the spec before anything is allocated, and refused
when it can never fit.

A hidden layer of 1e9 neurons, a chunk of 1e9 samples under ``cpp_standalone`` or a free
phase of 1e9 steps used to start, then allocate hundreds of GiB or run until killed. The
estimate counts the weights (with the optimiser state and the copies the engines keep), the
per-sample state of one engine call, and the arrays of one chunk (inputs, targets, outputs);
:func:`check_resources` compares it with the machine's memory and the steps per sample with
a fixed bound, and the error carries the estimate and the key to change.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from .epochs import chunk_length
from .engines.registry import get_engine_entry
from .errors import SpecError

__all__ = ["MAX_STEPS_PER_SAMPLE", "Estimate", "estimate", "machine_memory", "check_resources", "format_bytes"]

#: More time steps than this per sample window (free plus nudged phases) is refused: at
#: ~1 us per step for the smallest network it is already 0.1 s per sample.
MAX_STEPS_PER_SAMPLE = 100_000
#: Bytes per float (float64 everywhere but the numpy engine's float32 mode).
_F64 = 8
#: Copies of the weights an engine and the trainer keep (engine, checkpoint, serialised
#: checkpoint, gradient), without the optimiser's moments.
_WEIGHT_COPIES = 4
#: Arrays of one mini-batch in the batched engines (states of three phases, rates, currents,
#: gradients' temporaries), per neuron and sample.
_BATCH_ARRAYS = 12


@dataclass(frozen=True)
class Estimate:
    """Memory (bytes) and time steps a run needs.

    Attributes
    ----------
    weights : int
        Weights and biases with the optimiser state and the copies kept while training.
    state : int
        Neuron and synapse state of one engine call (one mini-batch, or the Brian2 objects).
    chunk : int
        Per-chunk arrays: inputs, targets, masks and recorded outputs of ``run.chunk_size``
        samples (Brian2), or of the data set held in memory.
    steps_per_sample : int
        Time steps of one sample window.
    """

    weights: int
    state: int
    chunk: int
    steps_per_sample: int

    @property
    def total(self) -> int:
        return self.weights + self.state + self.chunk

    def describe(self) -> str:
        return (
            f"about {format_bytes(self.total)} (weights and optimiser state {format_bytes(self.weights)}, "
            f"network state {format_bytes(self.state)}, chunk and data arrays {format_bytes(self.chunk)})"
        )


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def estimate(spec, arch, n_samples: int, engine: str | None = None) -> Estimate:
    """Estimate the memory and steps of training (or evaluating) ``n_samples`` samples.

    Parameters
    ----------
    spec : Spec
    arch : Architecture
        The spec's network.
    n_samples : int
        Samples held in memory (the training split, or the test split for evaluation).
    engine : str, optional
        The engine that will hold the network (default ``spec.run.engine``; ``build``
        passes ``"brian2"``).
    """
    n_weights = sum(math.prod(arch.weight_shape(p)) for p in arch.all_projections)
    n_weights += sum(layer.bias_size for layer in arch.free_layers if layer.bias)
    n_neurons = sum(layer.size for layer in arch.layers)
    n_io = arch.input.size + arch.output.size
    adam = spec.optim.algorithm == "adam"
    weights = _F64 * n_weights * (_WEIGHT_COPIES + (2 if adam else 0))
    data = _F64 * n_samples * n_io
    memory = get_engine_entry(engine or spec.run.engine).memory_estimate()
    if memory is not None:  # the engine's own estimate (Brian2: its network and chunk arrays)
        state, chunk = memory(spec, arch, n_samples)
        chunk += data
    else:
        batch = max(spec.optim.batch_size, spec.run.eval_batch_size)
        state = _F64 * min(batch, max(n_samples, 1)) * n_neurons * _BATCH_ARRAYS
        chunk = data
    return Estimate(int(weights), int(state), int(chunk), spec.ep.window_steps)


def machine_memory() -> int | None:
    """Physical memory of this machine in bytes (the container's limit if it is lower), or
    ``None`` where it cannot be read."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limit = int(text)
            total = limit if total is None else min(total, limit)
            break
    return total


def check_resources(spec, arch, n_samples: int, available: int | None = -1, engine: str | None = None) -> Estimate:
    """Refuse a run that can never fit: more memory than the machine has, or more than
    :data:`MAX_STEPS_PER_SAMPLE` steps per sample.

    Parameters
    ----------
    available : int or None
        Bytes of memory to compare with; ``-1``: :func:`machine_memory`; ``None``: no memory check.
    engine : str, optional
        See :func:`estimate`.

    Returns
    -------
    Estimate

    Raises
    ------
    SpecError
        Naming the key that makes the run too large and the estimate.
    """
    est = estimate(spec, arch, n_samples, engine)
    if est.steps_per_sample > MAX_STEPS_PER_SAMPLE:
        ep = spec.ep
        key = "ep.free_steps" if ep.free_steps >= ep.nudged_steps else "ep.nudged_steps"
        raise SpecError(
            f"a sample window would take {est.steps_per_sample:,} time steps (free {ep.free_steps:,}, nudged "
            f"{ep.nudged_steps:,} per phase), more than the bound of {MAX_STEPS_PER_SAMPLE:,}; such a run would not "
            "finish. 'brian-ep analyze SPEC' measures how many free steps the network needs",
            key=key,
            allowed=f"at most {MAX_STEPS_PER_SAMPLE:,} steps per sample",
        )
    if available == -1:
        available = machine_memory()
    if available is not None and est.total > available:
        raise SpecError(
            f"this run would need {est.describe()}, more than this machine's {format_bytes(available)} of memory",
            key=_largest_key(spec, arch),
            allowed="smaller layers, run.chunk_size or batch sizes",
        )
    return est


#: Sizes beyond which a setting is unusual (the key named is the one furthest beyond its own).
_USUAL = {"layer": 10_000, "chunk": 100_000, "batch": 10_000}


def _largest_key(spec, arch) -> str:
    """The spec key that is furthest beyond its usual size (the one to change)."""
    largest = max(arch.layers, key=lambda layer: layer.size)
    candidates = [(largest.size / _USUAL["layer"], _layer_key(spec, arch, largest))]
    if get_engine_entry(spec.run.engine).one_sample_at_a_time:
        candidates.append((chunk_length(spec) / _USUAL["chunk"], "run.chunk_size"))
        if spec.optim.batch_size > spec.run.chunk_size:
            candidates.append((spec.optim.batch_size / _USUAL["chunk"] * 1.01, "optim.batch_size"))
    else:
        candidates.append((spec.optim.batch_size / _USUAL["batch"], "optim.batch_size"))
        candidates.append((spec.run.eval_batch_size / _USUAL["batch"], "run.eval_batch_size"))
    return max(candidates)[1]


def _layer_key(spec, arch, layer) -> str:
    if layer.is_input:
        return "model.input.size"
    if layer.role == "output":
        return "model.output.size"
    hidden = [item.name for item in arch.layers if item.role == "hidden"]
    if isinstance(spec.model.hidden, list):
        return f"model.hidden[{hidden.index(layer.name)}].size"
    return "model.hidden.size"
