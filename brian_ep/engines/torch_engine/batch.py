"""One mini-batch of EP in the torch engine, as a function of tensors built from the maths
(nothing here restates an equation): the free and nudged phases and the EP update
(:func:`~brian_ep.maths.phases.ep_phase_gradient`), the outputs at the free state and the
divergence summary of every phase (:func:`~brian_ep.maths.dynamics.divergence_summary`).

:func:`make_batch_function` returns it eager, with a compiled relaxation step
(``torch.compile`` of :func:`~brian_ep.maths.dynamics.relax_step`), and/or replayed from CUDA
graphs (:class:`CudaGraphBatch`); the optimiser step stays outside (its Adam bias
correction changes every step).
"""

from __future__ import annotations

from functools import partial

import torch

from ...maths.dynamics import divergence_summary, output, relax_step
from ...maths.params import Params
from ...maths.phases import ep_phase_gradient

__all__ = ["ep_batch", "make_batch_function", "CudaGraphBatch", "COMPILE_BACKEND"]

#: The ``torch.compile`` backend of ``run.torch.compile`` (tests trace with ``aot_eager``,
#: which generates no code).
COMPILE_BACKEND = "inductor"

#: Compiled variants of the relaxation step kept per process (``torch._dynamo.config.recompile_limit``).
RECOMPILE_LIMIT = 64


def ep_batch(arch, ep, stepper, W: dict, b: dict, x, y, signs=None, noise=None):
    """The EP phases of one mini-batch.

    Parameters
    ----------
    arch : Architecture
    ep : EPSpec
    stepper : callable or None
        Stand-in for :func:`~brian_ep.maths.dynamics.relax_step` (its compiled form).
    W, b : dict of tensors
        Weights and biases (read only).
    x, y : tensors, shape (n, n_input), (n, n_output)
    signs : tensor of +-1, shape (n,), optional
        Nudging signs (``nudging: random_sign``).
    noise : callable, optional
        Uniform noise for stochastic neuron models.

    Returns
    -------
    grads_W, grads_b : dict of tensors
        The mean EP update over the batch.
    outputs : tensor, shape (n, n_output)
        The output at the free state (before the update).
    summary : tensor, shape (n_phases, n_free_layers, 3)
        Divergence summary of the free state and the nudged states.
    """
    params = Params(W, b)
    grads, ph = ep_phase_gradient(arch, params, x, y, ep, signs, noise, stepper)
    states = (ph.u_free, ph.u_a) if ph.u_b is ph.u_free else (ph.u_free, ph.u_a, ph.u_b)
    summary = torch.stack([divergence_summary(arch, u, ep.divergence_threshold) for u in states])
    return grads.W, grads.b, output(arch, params, ph.u_free), summary


def make_batch_function(arch, ep, compile_step: bool = False, cuda_graphs: bool = False, backend: str | None = None):
    """``(stepper, f)``: the relaxation step to use (``None``: the maths' own) and the
    mini-batch function ``f(W, b, x, y, signs, noise) -> (grads_W, grads_b, outputs, summary)``.

    ``compile_step``: run the phases with ``torch.compile(relax_step)`` (``backend``: the
    ``torch.compile`` backend, :data:`COMPILE_BACKEND` by default). ``cuda_graphs``: capture the whole mini-batch as a CUDA graph per batch size and
    replay it (:class:`CudaGraphBatch`).
    """
    backend = COMPILE_BACKEND if backend is None else backend
    if compile_step:
        # one compiled step per phase kind (free, first nudged, nudged), batch shape (full, last,
        # evaluation) and engine of the process (a benchmark or sweep makes several): more than
        # dynamo's default of 8 for one function, past which it runs the step eagerly
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    stepper = torch.compile(relax_step, dynamic=False, backend=backend) if compile_step else None
    fn = partial(ep_batch, arch, ep, stepper)
    return stepper, (CudaGraphBatch(fn) if cuda_graphs else fn)


class CudaGraphBatch:
    """Replays ``fn`` as one CUDA graph per batch size: inputs are copied into static
    buffers, the weights are read in place (the engine updates them in place), and the
    outputs are cloned out of the graph's memory.

    Parameters
    ----------
    fn : callable
        ``fn(W, b, x, y, signs, noise)`` without host synchronisation or host-to-device
        copies (true of the maths on device tensors).
    warmup : int
        Eager calls on a side stream before capture (``torch.compile`` and cuBLAS set-up).
    """

    def __init__(self, fn, warmup: int = 3):
        self.fn = fn
        self.warmup = warmup
        self.graphs = {}

    def __call__(self, W, b, x, y, signs=None, noise=None):
        if noise is not None:
            raise ValueError("CUDA graphs are not used with stochastic neuron models")
        key = (tuple(x.shape), signs is not None)
        if key not in self.graphs:
            self.graphs[key] = self._capture(W, b, x, y, signs)
        graph, static_in, static_out = self.graphs[key]
        for buffer, value in zip(static_in, (x, y, signs)):
            if buffer is not None:
                buffer.copy_(value)
        graph.replay()
        gW, gb, out, summary = static_out
        return ({k: v.clone() for k, v in gW.items()}, {k: v.clone() for k, v in gb.items()}, out.clone(), summary.clone())

    def _capture(self, W, b, x, y, signs):
        static_in = (x.clone(), y.clone(), None if signs is None else signs.clone())
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(self.warmup):
                self.fn(W, b, *static_in)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self.fn(W, b, *static_in)
        return graph, static_in, static_out
