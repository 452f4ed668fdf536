"""The Brian2 engine: trains an EP network one sample at a time as Brian2 equations, on the
runtime targets (numpy, cython) or as compiled programs (``cpp_standalone``,
``cuda_standalone``).

Runtime: each chunk of samples builds the objects afresh with its data and runs them
(Cython code is compiled once and cached by Brian2). Standalone: the training program is
built once with ``capacity`` windows; every chunk is one run with ``run_args`` that swap in
the weights, optimiser state and data without recompiling (chunk boundaries are
checkpoints). Padding windows carry ``mask = 0`` and learn nothing. Prediction uses a second,
shorter network: the free phase only (:func:`~brian_ep.brian.build_network` with
``predict=True``), so it costs about ``free / (free + nudged)`` of training. Each compiled
program has a device of its own (:mod:`brian_ep.brian.program`).
"""

from __future__ import annotations

import math

import numpy as np

from ..brian.builder import build_network
from ..brian.stream import stim_rows
from ..brian.spikes import sends_spikes
from ..brian.program import StandaloneProgram, standalone_device
from ..errors import DIVERGENCE_ADVICE, DivergenceError, SpecError
from ..maths.stream import stream_of
from ..maths.noise import noise_layers
from ..maths.optim import learning_rates
from ..epochs import chunk_length
from .base import ChunkResult, Engine
from .brian_options import brian_options

__all__ = ["BrianEngine"]


def _copy(values) -> np.ndarray:
    """``values`` (a Brian2 variable read with ``[:]``) as a float64 array of its own.

    Under brian2 >= 2.10 a ``Synapses`` or ``StateMonitor`` variable read on a runtime target
    is a view of memory owned by a C++ dynamic array that the view does not keep alive: once the
    network is garbage-collected the view reads freed memory (NaN or garbage weights in the next
    run). ``np.asarray`` would keep the view; this copies."""
    return np.array(values, dtype=np.float64, copy=True)


def _seeded_groups(net) -> list:
    """The groups that hold a ``noise_seed`` (stochastic layers, a spike-encoded input)."""
    return [G for G in net.groups.values() if "noise_seed" in G.variables]


def _reseed_each_run(net) -> None:
    """Make a ``cpp_standalone`` program seed its random generators from ``noise_seed`` (a
    run argument) before it runs, instead of from the seed compiled in: every chunk then
    draws new numbers, and each is reproducible from the run's seed and its position. Called
    while the program's device is the active one, before its network runs symbolically."""
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
        Where the compiled programs are kept (``<workdir>/train``, ``<workdir>/predict``);
        default: a temporary folder removed by :meth:`close`, or the ``directory`` given to
        ``set_device``.

    Notes
    -----
    The device comes from ``run.brian2.device`` (:class:`~brian_ep.engines.brian_options.BrianOptions`); if the caller selected a standalone device with
    ``set_device`` (``build_on_run`` either way), its class and its ``directory`` are used.
    The programs are built on device instances of their own, so the caller's device is left
    untouched and the engine can be created again in the same process.
    """

    def __init__(self, spec, arch, params, optim_state, workdir=None):
        super().__init__(spec, arch, params.astype(np.float64), optim_state, workdir)
        self.capacity = chunk_length(spec)
        self.options = brian_options(spec)
        self.device_class, user_directory = standalone_device(self.options.device)
        self.standalone = self.device_class is not None
        self.directory = user_directory if user_directory is not None else (None if workdir is None else str(workdir))
        self._programs = {}
        #: seconds spent building standalone programs so far (train leaves them out of ms/sample)
        self.build_seconds = 0.0
        self._noise_window = 0  # supplied noise: windows already consumed
        self._spikes = {}
        self._offset = 0  # first sample of the current run within its chunk (noise seeds)
        self.stochastic = bool(noise_layers(arch))
        self.stream = stream_of(spec)  # None: static input; else event bins (brian_ep.brian.stream)
        if self.device_class is not None and self.device_class.__name__ == "CUDAStandaloneDevice" and sends_spikes(arch):
            raise SpecError(
                "cuda_standalone delivers currents as dense sums on the GPU, and cannot carry the spikes of "
                "spiking layers or a spike-encoded input (they travel by synaptic pathways on the step clock)",
                key="run.brian2.device", allowed="runtime or cpp_standalone for spiking networks",
            )

    # -- values moving in and out of Brian2 --------------------------------------------------
    def _values(self, net, learn: bool, n_real: int) -> dict:
        """Every per-run value as ``{variable_view: array}``."""
        if net.predict:
            out = {net.synapses[p.name].w: self.params.W[p.name].ravel() for p in self.arch.all_projections}
            out.update({net.groups[k].b: v for k, v in self.params.b.items()})
            return out
        lrs = learning_rates(self.arch)
        factor = self.lr_factor
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
            out[G.beta] = self.spec.ep.beta
            out[G.learn] = 1.0
            out[G.div_theta] = self.spec.ep.divergence_threshold
            out[G.n_real] = float(n_real)
            out[G.t_adam0] = float(self.optim_state.t)
            if layer.bias:
                out[G.b] = self.params.b[layer.name]
                out[G.lr_b] = lrs.b[layer.name] * factor
                if adam:
                    out[G.mb] = self.optim_state.m.b[layer.name]
                    out[G.vb] = self.optim_state.v.b[layer.name]
        for G in [net.groups["readout"]] if "readout" in net.groups else []:
            out[G.learn] = 1.0
        for G in list(net.relays.values()) + ([net.groups["readout"]] if "readout" in net.groups else []):
            out[G.n_real] = float(n_real)
            out[G.t_adam0] = float(self.optim_state.t)
        for G in net.spiking_groups.values():
            out[G.n_spk] = np.zeros(len(G))
        out.update(self._seeds(net, learn))
        return out

    def _seeds(self, net, learn: bool) -> dict:
        """The seed of ``rand()`` of every stochastic group for the next run."""
        return {G.noise_seed: self._seed(learn) for G in _seeded_groups(net)}

    def _read_back(self, net, n_real: int) -> None:
        """Weights, biases and optimiser state of a finished training run, copied out of the
        network (see :func:`_copy`)."""
        self._spikes = net.spike_counts()
        adam = self.spec.optim.algorithm == "adam"
        for p in self.arch.all_projections:
            S = net.synapses[p.name]
            shape = self.arch.weight_shape(p)
            self.params.W[p.name] = _copy(S.w[:]).reshape(shape)
            if adam:
                self.optim_state.m.W[p.name] = _copy(S.m[:]).reshape(shape)
                self.optim_state.v.W[p.name] = _copy(S.v[:]).reshape(shape)
        for layer in self.arch.free_layers:
            if layer.bias:
                G = net.groups[layer.name]
                self.params.b[layer.name] = _copy(G.b[:])
                if adam:
                    self.optim_state.m.b[layer.name] = _copy(G.mb[:])
                    self.optim_state.v.b[layer.name] = _copy(G.vb[:])
        if adam:
            self.optim_state.t += math.ceil(n_real / self.spec.optim.batch_size)

    def _data(self, x, y, signs, n_windows, learn: bool = True):
        n = x.shape[0]
        pad = n_windows - n
        mask = np.concatenate([np.ones(n), np.zeros(pad)])
        xs = np.concatenate([x, np.zeros((pad, x.shape[1]))])
        ys = np.concatenate([y, np.zeros((pad, y.shape[1]))])
        sg = np.ones(n_windows) if signs is None else np.concatenate([np.asarray(signs, float), np.ones(pad)])
        return {"x": xs, "y": ys, "mask": mask, "signs": sg, "noise": self._chunk_noise(n) if learn else None}

    def _chunk_noise(self, n: int):
        """The supplied noise of the next ``n`` training windows (``None``: ``rand()``)."""
        if self.supplied_noise is None:
            return None
        nw = self.spec.ep.window_steps
        rows = slice(self._noise_window * nw, (self._noise_window + n) * nw)
        return {name: a[rows] for name, a in self.supplied_noise.items()}

    def set_noise(self, arrays):
        if "train" in self._programs and (arrays is None) != (self.supplied_noise is None):
            raise ValueError("the standalone program is built; set the noise before the first chunk")
        super().set_noise(arrays)
        self._noise_window = 0

    def _seed(self, learn: bool) -> int:
        """The seed of ``rand()`` for the next run (from :meth:`noise_seed` and the run's first
        sample within the chunk), below 2**31."""
        key = self.noise_seed(predict=not learn, offset=self._offset)
        return int(np.random.SeedSequence(key).generate_state(1)[0] >> 1)

    def _brian_prefs(self) -> dict:
        """Brian2 preferences of this run: float32 state (``run.dtype``), OpenMP threads
        (``run.brian2.threads``)."""
        out = {}
        if self.spec.run.dtype == "float32":
            out["core.default_float_dtype"] = np.float32
        if self.options.threads:
            out["devices.cpp_standalone.openmp_threads"] = self.options.threads
        return out

    # -- one run ----------------------------------------------------------------------------------
    def _run(self, x, y, signs, learn: bool, offset: int = 0) -> np.ndarray:
        n = x.shape[0]
        self._offset = offset
        if self.standalone:  # both check the recorded divergence of a training run (_check_state)
            outputs = self._run_standalone(x, y, signs, learn)
        else:
            outputs = self._run_runtime(x, y, signs, learn)
        outputs = outputs[:n]
        self._check(outputs, offset)
        return outputs

    def _network(self, n_windows, data, predict, run_values=True):
        # The two programs' objects carry different names, so that the code objects of one do
        # not take suffixed names while the other is alive: a program rebuilt on its own (e.g.
        # by evaluate) then has the same source files, and the same cache key.
        name = "ep_predict" if predict else "ep"
        return build_network(
            self.arch, self.spec.ep, self.spec.optim, n_windows, data, name=name, predict=predict, stream=self.stream,
            run_values=run_values,
        )

    def _run_runtime(self, x, y, signs, learn):
        from brian2 import prefs

        from brian2 import seed

        previous = {key: prefs[key] for key in ["codegen.target", *self._brian_prefs()]}
        try:
            for key, value in {"codegen.target": self.options.target, **self._brian_prefs()}.items():
                prefs[key] = value
            net = self._network(x.shape[0], self._data(x, y, signs, x.shape[0], learn), predict=not learn)
            for view, value in self._values(net, learn, x.shape[0]).items():
                view[:] = value
            if self.stochastic:
                seed(self._seed(learn))
            net.network.run(net.duration, namespace={})
        finally:
            for key, value in previous.items():
                prefs[key] = value
        if learn:
            self._read_back(net, x.shape[0])
            self._check_state(net, x.shape[0], self._offset)
        return net.outputs()

    def _program(self, kind: str, n_windows: int) -> StandaloneProgram:
        """The compiled training (``"train"``) or prediction (``"predict"``) program, built the
        first time it is needed."""
        if kind not in self._programs:
            program = StandaloneProgram(self.device_class, kind, self.directory, self._brian_prefs())
            learn = kind == "train"
            n_x = self.arch.input.size * (1 if self.stream is None else self.stream.bins)
            empty = self._data(np.zeros((0, n_x)), np.zeros((0, self.arch.output.size)), None, n_windows, learn)
            # every value that a run reads from the spec comes in as a run argument (_values)
            network = lambda: self._seeded(self._network(n_windows, empty, predict=not learn, run_values=False), learn)  # noqa: E731
            program.build(network, info={"spec": self.spec.name})
            self.build_seconds += program.build_seconds
            self._programs[kind] = program
        return self._programs[kind]

    def _seeded(self, net, learn: bool):
        """``net`` with its stochastic groups' generators seeded from ``noise_seed`` at every
        run (on the program's device, before the symbolic run). No seed is compiled in (the
        generators are seeded from ``noise_seed`` before any number is drawn), so the program
        does not depend on the run's seed and is shared by all seeds (the program cache)."""
        if self.stochastic:
            _reseed_each_run(net)
        return net

    def _run_standalone(self, x, y, signs, learn):
        kind = "train" if learn else "predict"
        program = self._program(kind, self.capacity if learn else min(self.capacity, x.shape[0]))
        net = program.net
        data = self._data(x, y, signs, net.n_windows, learn)
        run_args = self._values(net, learn, x.shape[0])
        keys = (("stim", "x"),) if net.predict else (("stim", "x"), ("target", "y"), ("mask", "mask"), ("signs", "signs"))
        data["x"] = stim_rows(data["x"], self.arch.input.size, self.stream)
        for key, value in keys:
            if key in net.timed_arrays:
                run_args[net.timed_arrays[key]] = data[value]
        for name, values in (data.get("noise") or {}).items():
            full = np.ones((net.n_windows * self.spec.ep.window_steps + 1, values.shape[1]))
            full[: values.shape[0]] = values
            run_args[net.timed_arrays[f"noise_{name}"]] = full
        program.run(run_args)
        if learn:
            program.read(lambda: self._read_back(net, x.shape[0]))
            program.read(lambda: self._check_state(net, x.shape[0], self._offset))
        return program.read(net.outputs)

    def _check_state(self, net, n_real, offset):
        """Refuse a training run whose state passed ``ep.divergence_threshold`` (or became
        non-finite) at the end of a phase, as recorded in ``diverged_at`` by the phase schedule;
        names the layer and the first sample."""
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
        step = self._programs["predict"].net.n_windows if "predict" in self._programs else min(self.capacity, x.shape[0])
        zeros_y = np.zeros((x.shape[0], self.arch.output.size))
        for start in range(0, x.shape[0], step):
            xs = x[start : start + step]
            outputs.append(self._run(xs, zeros_y[: xs.shape[0]], None, learn=False, offset=start))
        return np.concatenate(outputs, axis=0)

    def close(self):
        """Forget the programs and remove their folders where they are temporary ones."""
        for program in self._programs.values():
            program.close()
        self._programs = {}
