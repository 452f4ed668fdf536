"""The settings and capabilities of the ``brian2`` engine, without importing Brian2: the spec
section ``run.brian2`` (validated by the spec through the engine registry, so an error names
e.g. ``run.brian2.device``), where a run computes, and the memory it holds.

Example::

    run:
      engine: brian2
      brian2: {device: cpp_standalone, threads: 2}

Before version 0.2 these keys sat at the top of ``run`` (``run.device``, ``run.target``,
``run.threads``); a spec that still has them is refused with the new keys named.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["BrianOptions", "MAX_THREADS", "brian_options", "brian_device", "brian_memory"]

#: Largest ``run.brian2.threads`` accepted: far beyond any one machine's cores, small enough
#: that a typo (``threads: 1000000``) is refused before minutes of compiling.
MAX_THREADS = 1024

#: Floats the Brian2 network holds per synapse: w, lr, the accumulated update and the latched
#: products, plus the run_args copy (Adam adds m and v); and per neuron (state, latches, currents).
PER_SYNAPSE = 8
PER_NEURON = 40
_F64 = 8


class BrianOptions(BaseModel):
    """``run.brian2: {device, target, threads}``.

    Attributes
    ----------
    device : {"runtime", "cpp_standalone", "cuda_standalone"}
        Brian2's device: ``runtime`` runs generated code from Python (codegen ``target``);
        ``cpp_standalone`` compiles the whole training run to one C++ program;
        ``cuda_standalone`` to a CUDA program (the optional ``brian2cuda``, Python 3.12).
        A device selected with ``set_device`` in the caller's script takes precedence.
    target : {"numpy", "cython"}
        Code generation target of the ``runtime`` device.
    threads : int
        OpenMP threads of the standalone program (0: one), at most :data:`MAX_THREADS`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: Literal["runtime", "cpp_standalone", "cuda_standalone"] = "runtime"
    target: Literal["numpy", "cython"] = "cython"
    threads: int = Field(default=0, ge=0)

    @field_validator("threads")
    @classmethod
    def _few_enough_threads(cls, v):
        if v > MAX_THREADS:
            raise ValueError(
                f"at most {MAX_THREADS} OpenMP threads (got {v}): the standalone program starts one thread each; "
                "use the number of cores this run may take, or 0 for one"
            )
        return v


def brian_options(spec) -> BrianOptions:
    """The validated ``run.brian2`` section of ``spec`` (defaults where it is absent)."""
    return spec.run.engine_options("brian2")


def brian_device(spec) -> str:
    """Where a ``brian2`` run computes, as its metrics record it: Brian2's device name."""
    return brian_options(spec).device


def brian_memory(spec, arch, n_samples: int) -> tuple:
    """Bytes of ``(state, chunk)`` that the Brian2 network of ``spec`` holds: its variables
    per synapse and neuron, and the windows of one chunk (a standalone program holds the
    whole chunk's stimulus and target arrays; the runtime device at most ``n_samples``)."""
    import math

    from ..epochs import chunk_length

    n_weights = sum(math.prod(arch.weight_shape(p)) for p in arch.all_projections)
    n_weights += sum(layer.bias_size for layer in arch.free_layers if layer.bias)
    n_neurons = sum(layer.size for layer in arch.layers)
    n_io = arch.input.size + arch.output.size
    adam = spec.optim.algorithm == "adam"
    state = _F64 * (n_weights * (PER_SYNAPSE + (2 if adam else 0)) + n_neurons * PER_NEURON)
    windows = chunk_length(spec) if brian_device(spec) == "cpp_standalone" else min(chunk_length(spec), n_samples)
    return state, _F64 * windows * (n_io + 2) * 3
