"""The Brian2 engine: trains an EP network one sample at a time as Brian2 equations, on the
runtime targets (numpy, cython) or as one compiled ``cpp_standalone`` program.

Runtime: each chunk of samples builds the objects afresh with its data and runs them
(Cython code is compiled once and cached by Brian2). Standalone: the program is built once
with ``capacity`` windows; every chunk is one ``device.run(run_args=...)`` that swaps in
the weights, optimiser state and data without recompiling (chunk boundaries are
checkpoints). Padding windows carry ``mask = 0`` and learn nothing.
"""

from __future__ import annotations

import math
import tempfile

import numpy as np

from ..brian.builder import build_network
from ..brian.program import build_program
from ..errors import DIVERGENCE_ADVICE, BrianEPError, DivergenceError
from ..maths.noise import noise_layers
from ..maths.optim import learning_rates
from ..epochs import chunk_length
from .base import ChunkResult, Engine

__all__ = ["BrianEngine"]


def _is_standalone(dev) -> bool:
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    return isinstance(dev, CPPStandaloneDevice)


def _seeded_groups(net) -> list:
    """The groups that hold a ``noise_seed`` (stochastic layers, a spike-encoded input)."""
    return [G for G in net.groups.values() if "noise_seed" in G.variables]


def _reseed_each_run(net) -> None:
    """Make a ``cpp_standalone`` program seed its random generators from ``noise_seed`` (a
    run argument) before it runs, instead of from the seed compiled in: every chunk then
    draws new numbers, and each is reproducible from the run's seed and its position."""
    from brian2 import device, prefs

    groups = _seeded_groups(net)
    if not groups:
        return
    array = device.get_array_name(groups[0].variables["noise_seed"])
    threads = max(1, prefs.devices.cpp_standalone.openmp_threads)
    device.apply_run_args()
    device.insert_code(
        "main", f"for (int _i=0; _i<{threads}; _i++) _random_generators[_i].seed((unsigned long){array}[0] * {threads} + _i);"
    )


class BrianEngine(Engine):
    """EP in Brian2 (``run.engine: brian2``).

    Parameters
    ----------
    spec : Spec
    arch : Architecture
    params : Params
        Initial weights.
    optim_state : OptimState
    workdir : str, optional
        Where the standalone project is built (default: a new temporary directory).

    Notes
    -----
    The device comes from ``spec.run.device``; if the caller already selected
    ``cpp_standalone`` with ``set_device``, that device is used. The engine resets a device
    it set itself when :meth:`close` is called.
    """

    def __init__(self, spec, arch, params, optim_state, workdir=None):
        from brian2 import get_device

        super().__init__(spec, arch, params.astype(np.float64), optim_state, workdir)
        self.capacity = chunk_length(spec)
        self.standalone = spec.run.device == "cpp_standalone" or _is_standalone(get_device())
        self.directory = None if workdir is None else str(workdir)
        self._net = None
        self._owns_device = False
        self._built = False
        self._noise_window = 0  # supplied noise: windows already consumed
        self._spikes = {}
        self._offset = 0  # first sample of the current run within its chunk (noise seeds)
        self.stochastic = bool(noise_layers(arch))

    # -- values moving in and out of Brian2 --------------------------------------------------
    def _values(self, net, learn: bool, n_real: int) -> dict:
        """Every per-run value as ``{variable_view: array}``."""
        lrs = learning_rates(self.arch)
        factor = self.lr_factor
        n_real = n_real if learn else 0  # evaluation: the optimiser never steps
        adam = self.spec.optim.algorithm == "adam"
        out = {}
        for p in self.arch.all_projections:
            S = net.synapses[p.name]
            out[S.w] = self.params.W[p.name].ravel()
            out[S.lr] = lrs.W[p.name] * factor
            if adam:
                out[S.m] = self.optim_state.m.W[p.name].ravel()
                out[S.v] = self.optim_state.v.W[p.name].ravel()
        for layer in self.arch.free_layers:
            G = net.groups[layer.name]
            out[G.beta] = self.spec.ep.beta if learn else 0.0
            out[G.div_theta] = self.spec.ep.divergence_threshold
            out[G.learn] = 1.0 if learn else 0.0
            out[G.n_real] = float(n_real)
            out[G.t_adam0] = float(self.optim_state.t)
            if layer.bias:
                out[G.b] = self.params.b[layer.name]
                out[G.lr_b] = lrs.b[layer.name] * factor
                if adam:
                    out[G.mb] = self.optim_state.m.b[layer.name]
                    out[G.vb] = self.optim_state.v.b[layer.name]
        if "readout" in net.groups:
            R = net.groups["readout"]
            out[R.learn] = 1.0 if learn else 0.0
            out[R.n_real] = float(n_real)
            out[R.t_adam0] = float(self.optim_state.t)
        for G in net.spiking_groups.values():
            out[G.n_spk] = np.zeros(len(G))
        for G in _seeded_groups(net):
            out[G.noise_seed] = self._seed(learn)
        return out

    def _read_back(self, net, n_real: int, learn: bool) -> None:
        self._spikes = net.spike_counts()
        adam = self.spec.optim.algorithm == "adam"
        for p in self.arch.all_projections:
            S = net.synapses[p.name]
            shape = self.arch.weight_shape(p)
            self.params.W[p.name] = np.asarray(S.w[:], dtype=np.float64).reshape(shape)
            if adam:
                self.optim_state.m.W[p.name] = np.asarray(S.m[:]).reshape(shape)
                self.optim_state.v.W[p.name] = np.asarray(S.v[:]).reshape(shape)
        for layer in self.arch.free_layers:
            if layer.bias:
                G = net.groups[layer.name]
                self.params.b[layer.name] = np.asarray(G.b[:], dtype=np.float64)
                if adam:
                    self.optim_state.m.b[layer.name] = np.asarray(G.mb[:])
                    self.optim_state.v.b[layer.name] = np.asarray(G.vb[:])
        if learn and self.spec.optim.algorithm == "adam":
            self.optim_state.t += math.ceil(n_real / self.spec.optim.batch_size)

    def _data(self, x, y, signs, n_windows):
        n = x.shape[0]
        pad = n_windows - n
        mask = np.concatenate([np.ones(n), np.zeros(pad)])
        xs = np.concatenate([x, np.zeros((pad, x.shape[1]))])
        ys = np.concatenate([y, np.zeros((pad, y.shape[1]))])
        sg = np.ones(n_windows) if signs is None else np.concatenate([np.asarray(signs, float), np.ones(pad)])
        return {"x": xs, "y": ys, "mask": mask, "signs": sg, "noise": self._chunk_noise(n)}

    def _chunk_noise(self, n: int):
        """The supplied noise of the next ``n`` training windows (``None``: ``rand()``)."""
        if self.supplied_noise is None:
            return None
        nw = self.spec.ep.window_steps
        rows = slice(self._noise_window * nw, (self._noise_window + n) * nw)
        return {name: a[rows] for name, a in self.supplied_noise.items()}

    def set_noise(self, arrays):
        if self._built and (arrays is None) != (self.supplied_noise is None):
            raise ValueError("the standalone program is built; set the noise before the first chunk")
        super().set_noise(arrays)
        self._noise_window = 0

    def _seed(self, learn: bool) -> int:
        """The seed of ``rand()`` for the next run (from :meth:`noise_seed` and the run's first
        sample within the chunk), below 2**31."""
        key = self.noise_seed(predict=not learn, offset=self._offset)
        return int(np.random.SeedSequence(key).generate_state(1)[0] >> 1)

    # -- one run ----------------------------------------------------------------------------------
    def _run(self, x, y, signs, learn: bool, offset: int = 0) -> np.ndarray:
        n = x.shape[0]
        self._offset = offset
        if self.standalone:
            outputs, net = self._run_standalone(x, y, signs, learn)
        else:
            outputs, net = self._run_runtime(x, y, signs, learn)
        outputs = outputs[:n]
        self._check_state(net, n, offset)
        self._check(outputs, offset)
        return outputs

    def _run_runtime(self, x, y, signs, learn):
        from brian2 import prefs

        from brian2 import seed

        net = build_network(self.arch, self.spec.ep, self.spec.optim, x.shape[0], self._data(x, y, signs, x.shape[0]))
        for view, value in self._values(net, learn, x.shape[0]).items():
            view[:] = value
        previous = prefs.codegen.target
        prefs.codegen.target = self.spec.run.target
        try:
            if self.stochastic:
                seed(self._seed(learn))
            net.network.run(net.duration, namespace={})
        finally:
            prefs.codegen.target = previous
        self._read_back(net, x.shape[0], learn)
        return net.outputs(), net

    def _build_standalone(self):
        from brian2 import get_device, prefs, seed, set_device

        if not _is_standalone(get_device()):
            set_device("cpp_standalone", build_on_run=False)
            self._owns_device = True
        if self.directory is None:
            self.directory = tempfile.mkdtemp(prefix="brian_ep_standalone_")
        if self.spec.run.threads:
            prefs.devices.cpp_standalone.openmp_threads = self.spec.run.threads
        data = self._data(np.zeros((0, self.arch.input.size)), np.zeros((0, self.arch.output.size)), None, self.capacity)
        net = build_network(self.arch, self.spec.ep, self.spec.optim, self.capacity, data)
        if self.stochastic:
            seed(self._seed(True))
            _reseed_each_run(net)
        net.network.run(net.duration, namespace={})
        build_program(self.directory)
        self._net = net
        self._built = True

    def _run_standalone(self, x, y, signs, learn):
        from brian2 import device

        if not self._built:
            self._build_standalone()
        net = self._net
        data = self._data(x, y, signs, self.capacity)
        run_args = self._values(net, learn, x.shape[0])
        for key, value in (("stim", "x"), ("target", "y"), ("mask", "mask"), ("signs", "signs")):
            if key in net.timed_arrays:
                run_args[net.timed_arrays[key]] = data[value]
        if "noise" in data and data["noise"] is not None:
            for name, values in data["noise"].items():
                timed = net.timed_arrays[f"noise_{name}"]
                full = np.ones((self.capacity * self.spec.ep.window_steps + 1, values.shape[1]))
                full[: values.shape[0]] = values
                run_args[timed] = full
        try:
            device.run(directory=self.directory, with_output=False, run_args=run_args)
        except RuntimeError as exc:  # the binary ended with an error (killed, out of memory...)
            raise BrianEPError(
                f"the compiled program failed: {exc}; its output is in {self.directory}/results/stdout.txt. The last "
                "checkpoint is kept; resume once the cause (memory, disk space, a killed process) is fixed"
            ) from None
        self._read_back(net, x.shape[0], learn)
        return net.outputs(), net

    def _check_state(self, net, n_real, offset):
        """Refuse a run whose state passed ``ep.divergence_threshold`` (or became non-finite) at
        the end of a phase, as recorded in ``diverged_at`` by the phase schedule; names the
        layer and the first sample."""
        first = None
        for layer in self.arch.free_layers:
            at = np.asarray(net.groups[layer.name].diverged_at[:])
            hit = at[at > 0]
            if hit.size and (first is None or hit.min() < first[0]):
                first = (float(hit.min()), layer.name)
        if first is None or first[0] - 1 >= n_real:
            return
        window, layer = int(first[0]) - 1, first[1]
        raise DivergenceError(
            f"the state of layer '{layer}' diverged (non-finite or |u| > {self.spec.ep.divergence_threshold:g}, "
            f"ep.divergence_threshold) at {self.describe_sample(offset + window)}. {DIVERGENCE_ADVICE}"
        )

    def _check(self, outputs, offset):
        bad = ~np.all(np.isfinite(outputs), axis=1)
        if np.any(bad) or not self.params.is_finite():
            first = int(np.argmax(bad)) if np.any(bad) else None
            where = f"at {self.describe_sample(offset + first)}" if first is not None else "in this chunk"
            layer = self.arch.top.name
            for p in self.arch.all_projections:
                if not np.all(np.isfinite(self.params.W[p.name])):
                    layer = f"{p.name} (weights)"
                    break
            raise DivergenceError(f"the network diverged {where} (first non-finite values in '{layer}'). {DIVERGENCE_ADVICE}")

    # -- Engine interface --------------------------------------------------------------------------
    def train_chunk(self, x, y, signs=None):
        outputs, spikes = [], {}
        for start in range(0, x.shape[0], self.capacity):
            sl = slice(start, start + self.capacity)
            outputs.append(self._run(x[sl], y[sl], None if signs is None else signs[sl], learn=True, offset=start))
            self._noise_window += outputs[-1].shape[0]
            for name, count in self._spikes.items():
                spikes[name] = spikes.get(name, 0.0) + count
        self.samples_seen += x.shape[0]
        return ChunkResult(np.concatenate(outputs, axis=0), spikes or None)

    def predict(self, x):
        outputs = []
        zeros_y = np.zeros((min(x.shape[0], self.capacity), self.arch.output.size))
        for start in range(0, x.shape[0], self.capacity):
            xs = x[start : start + self.capacity]
            outputs.append(self._run(xs, zeros_y[: xs.shape[0]], None, learn=False, offset=start))
        return np.concatenate(outputs, axis=0)

    def close(self):
        if self._owns_device:
            from brian2 import device
            from brian2.devices.device import reset_device

            device.reinit()
            reset_device()
            self._owns_device = False
        self._built = False
        self._net = None
