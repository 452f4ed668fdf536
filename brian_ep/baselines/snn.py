r"""A spiking network trained by backprop through time with a surrogate gradient
(``run.engine: bptt_snn``): snntorch leaky integrate-and-fire layers with the spec's layer
sizes, the reference that users of surrogate-gradient SNNs compare EP with.

Every layer after the input is a layer of ``snn.Leaky`` neurons fed by the spikes of the
layer below through the weights of the chain projection between them (plus the layer's bias
current)::

    I_l[t] = S_{l-1}[t] W_l + b_l
    U_l[t] = beta U_l[t-1] + I_l[t] - theta S_l[t-1]      (reset by subtraction)
    S_l[t] = H(U_l[t] - theta)                             (surrogate dS/dU in the backward pass)

with ``S_0[t] = x`` (direct current) or Bernoulli spikes of probability ``x`` (rate coding),
for ``t = 1 .. T``, from ``U = 0``. Symbols: ``U`` membrane potential, ``I`` input current
and ``theta`` threshold (dimensionless: one unit is the threshold's current), ``beta`` decay
per step, ``S`` spikes (0 or 1), ``T`` steps per sample, ``H`` the Heaviside step. The state
is passed explicitly (``spk, mem = lif(cur, mem)``): no ``init_hidden``, no ``utils.reset``.
Options come from ``run.bptt_snn`` (:class:`~brian_ep.baselines.options.SnnOptions`).

The weights are the snn's own, but they have the projections' shapes and names
(``W:input_h1``, ...; only chain projections, skips are ignored), start from the spec's
initial weights (:func:`~brian_ep.maths.params.initial_params`) and are stepped by the spec's
optimiser (:func:`~brian_ep.maths.optim.apply_update` on torch tensors), so a run writes an
ordinary run directory. The network is feed-forward, so it is simulated layer by layer over
all ``T`` steps (one matrix product per layer), which gives the same numbers as stepping the
whole network step by step. torch and snntorch are imported when the engine is built.
"""

from __future__ import annotations

import numpy as np

from ..engines.base import ChunkResult
from ..errors import SpecError
from ..maths.dynamics import softmax
from ..maths.params import Params
from ..seeds import stream
from .backprop import BackpropEngine

__all__ = ["SnnEngine", "make_surrogate"]

#: a fixed position of the input-spike stream for evaluation (the same spikes every time)
_EVAL_POSITION = 2**31 - 1


def make_surrogate(name: str, slope: float):
    """The snntorch surrogate ``name`` with its slope (``atan``: ``alpha``)."""
    from snntorch import surrogate

    if name == "atan":
        return surrogate.atan(alpha=slope)
    if name == "fast_sigmoid":
        return surrogate.fast_sigmoid(slope=slope)
    if name == "sigmoid":
        return surrogate.sigmoid(slope=slope)
    raise ValueError(f"unknown surrogate {name!r}")


class SnnEngine(BackpropEngine):
    """BPTT with a surrogate gradient in an snntorch LIF network, behind the engine interface
    (built like every :class:`~brian_ep.engines.base.Engine`; its options come from
    ``run.bptt_snn``).

    Attributes
    ----------
    spikes : dict
        Spikes emitted while training, per layer (and ``input`` under rate coding), summed
        over neurons, steps and samples since the engine was built.
    """

    def __init__(self, spec, arch, params, optim_state, workdir=None):
        import snntorch as snn

        super().__init__(spec, arch, params, optim_state, workdir)
        self.options = o = spec.run.engine_options("bptt_snn")
        grad = make_surrogate(o.surrogate, o.slope)
        self.lifs = [snn.Leaky(beta=o.beta, threshold=o.threshold, spike_grad=grad, reset_mechanism=o.reset) for _ in self.chain]
        self.spikes: dict = {}
        self._counts = None
        self._generator = None
        self.bins = 1 if spec.data.events is None else spec.data.events.bins
        if self.bins > o.steps:
            raise SpecError(
                f"an event stream of {self.bins} bins (data.events.bins) needs at least as many time steps of the snn, "
                f"which has {o.steps}: every bin is presented for steps // bins steps, in order",
                key="run.bptt_snn.steps", allowed=f"at least {self.bins}",
            )

    # -- the network ----------------------------------------------------------------------------
    def _input_generator(self, position: int):
        seed = int(stream(self.spec.run.seed, "noise", 7, position).integers(2**62))
        return self.torch.Generator().manual_seed(seed)

    def step_bins(self, x):
        """An event stream ``x`` (``(n_samples, bins * n_input)``, the bins one after the other)
        as one input per time step, ``(T, n_samples, n_input)``: step ``t`` receives bin
        ``floor(t * bins / T)``, so the stream is fed in order over the ``T`` steps, bin by bin
        (no frame is collapsed; the EP engines present the same bins through their free phase)."""
        torch = self.torch
        n = x.shape[0]
        per_step = torch.div(torch.arange(self.options.steps) * self.bins, self.options.steps, rounding_mode="floor")
        return x.reshape(n, self.bins, -1)[:, per_step, :].permute(1, 0, 2)

    def _input(self, x, generator):
        """What the first layer receives: ``x`` (one current for every step; an event stream,
        its bins in order: :meth:`step_bins`) or Bernoulli spikes of shape
        ``(T, n_samples, n_input)``."""
        if self.bins > 1:
            x = self.step_bins(x)
        if self.options.input == "direct":
            return x
        torch = self.torch
        shape = x.shape if x.ndim == 3 else (self.options.steps, *x.shape)
        spikes = (torch.rand(shape, generator=generator, dtype=x.dtype) < x).to(x.dtype)
        self._count("input", spikes)
        return spikes

    def _count(self, name, spikes):
        if self._counts is not None:
            self._counts[name] = self._counts.get(name, 0.0) + float(spikes.detach().sum())

    def _simulate(self, weights: Params, x, generator):
        """Spikes and membrane potentials of the output layer, each ``(T, n_samples, n_out)``."""
        torch = self.torch
        signal = self._input(x, generator)
        for p, lif in zip(self.chain, self.lifs):
            current = signal @ weights.W[p.name]
            if p.post in weights.b:
                current = current + weights.b[p.post]
            mem = torch.zeros((x.shape[0], current.shape[-1]), dtype=x.dtype)
            spikes, mems = [], []
            for t in range(self.options.steps):
                spk, mem = lif(current if current.ndim == 2 else current[t], mem)
                spikes.append(spk)
                mems.append(mem)
            signal = torch.stack(spikes).to(x.dtype)  # snntorch's spikes are float32
            self._count(p.post, signal)
        return signal, torch.stack(mems)

    def _score(self, spk, mem):
        """What the prediction reads: the mean output membrane potential (membrane loss) or
        the output spike count (rate loss), shape ``(n_samples, n_out)``."""
        return mem.mean(0) if self.options.loss == "membrane_ce" else spk.sum(0)

    def _forward(self, weights: Params, x, generator=None):
        """Class probabilities: the softmax of :meth:`_score`."""
        if generator is None:
            generator = self._input_generator(_EVAL_POSITION)
        return softmax(self._score(*self._simulate(weights, x, generator)))

    def _batch_loss(self, weights: Params, x, y):
        torch = self.torch
        spk, mem = self._simulate(weights, x, self._generator)
        labels = torch.argmax(y, dim=1)
        steps = self.options.steps
        trace = mem if self.options.loss == "membrane_ce" else spk
        loss = torch.nn.functional.cross_entropy(trace.reshape(-1, trace.shape[-1]), labels.repeat(steps))
        return loss, softmax(self._score(spk, mem))

    # -- training ------------------------------------------------------------------------------
    def train_chunk(self, x, y, signs=None):
        self._generator = self._input_generator(self.samples_seen)
        self._counts = {}
        try:
            result = super().train_chunk(x, y, signs)
        finally:
            counts, self._counts = self._counts, None
        for name, count in counts.items():
            self.spikes[name] = self.spikes.get(name, 0.0) + count
        return ChunkResult(result.outputs, spikes=counts)

    def predict(self, x):
        generator = self._input_generator(_EVAL_POSITION)
        bs = self.spec.run.eval_batch_size
        with self.torch.no_grad():
            out = [self._forward(self.weights, self._tensor(x[s : s + bs]), generator) for s in range(0, x.shape[0], bs)]
        return self.torch.cat(out).numpy().astype(np.float64)
