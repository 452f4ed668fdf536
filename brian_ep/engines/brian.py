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
from ..brian.program import StandaloneProgram, standalone_device
from ..errors import DIVERGENCE_ADVICE, DivergenceError
from ..maths.optim import learning_rates
from ..epochs import chunk_length
from .base import ChunkResult, Engine

__all__ = ["BrianEngine"]


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
    The device comes from ``spec.run.device``; if the caller selected a standalone device with
    ``set_device`` (``build_on_run`` either way), its class and its ``directory`` are used.
    The programs are built on device instances of their own, so the caller's device is left
    untouched and the engine can be created again in the same process.
    """

    def __init__(self, spec, arch, params, optim_state, workdir=None):
        super().__init__(spec, arch, params.astype(np.float64), optim_state, workdir)
        self.capacity = chunk_length(spec)
        self.device_class, user_directory = standalone_device(spec.run.device)
        self.standalone = self.device_class is not None
        self.directory = user_directory if user_directory is not None else (None if workdir is None else str(workdir))
        self._programs = {}

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
        return out

    def _read_back(self, net, n_real: int) -> None:
        adam = self.spec.optim.algorithm == "adam"
        for p in self.arch.all_projections:
            S = net.synapses[p.name]
            shape = self.arch.weight_shape(p)
            self.params.W[p.name] = np.asarray(S.w[:], dtype=np.float64).reshape(shape)
            if adam:
                self.optim_state.m.W[p.name] = np.asarray(S.m[:], dtype=np.float64).reshape(shape)
                self.optim_state.v.W[p.name] = np.asarray(S.v[:], dtype=np.float64).reshape(shape)
        for layer in self.arch.free_layers:
            if layer.bias:
                G = net.groups[layer.name]
                self.params.b[layer.name] = np.asarray(G.b[:], dtype=np.float64)
                if adam:
                    self.optim_state.m.b[layer.name] = np.asarray(G.mb[:], dtype=np.float64)
                    self.optim_state.v.b[layer.name] = np.asarray(G.vb[:], dtype=np.float64)
        if adam:
            self.optim_state.t += math.ceil(n_real / self.spec.optim.batch_size)

    def _data(self, x, y, signs, n_windows):
        n = x.shape[0]
        pad = n_windows - n
        mask = np.concatenate([np.ones(n), np.zeros(pad)])
        xs = np.concatenate([x, np.zeros((pad, x.shape[1]))])
        ys = np.concatenate([y, np.zeros((pad, y.shape[1]))])
        sg = np.ones(n_windows) if signs is None else np.concatenate([np.asarray(signs, float), np.ones(pad)])
        return {"x": xs, "y": ys, "mask": mask, "signs": sg}

    def _brian_prefs(self) -> dict:
        """Brian2 preferences of this run: float32 state (``run.dtype``), OpenMP threads."""
        out = {}
        if self.spec.run.dtype == "float32":
            out["core.default_float_dtype"] = np.float32
        if self.spec.run.threads:
            out["devices.cpp_standalone.openmp_threads"] = self.spec.run.threads
        return out

    # -- one run ----------------------------------------------------------------------------------
    def _run(self, x, y, signs, learn: bool, offset: int = 0) -> np.ndarray:
        n = x.shape[0]
        if self.standalone:
            outputs = self._run_standalone(x, y, signs, learn)
        else:
            outputs = self._run_runtime(x, y, signs, learn)
        outputs = outputs[:n]
        self._check(outputs, offset)
        return outputs

    def _network(self, n_windows, data, predict):
        # The two programs' objects carry different names, so that the code objects of one do
        # not take suffixed names while the other is alive: a program rebuilt on its own (e.g.
        # by evaluate) then has the same source files, and make finds nothing to recompile.
        name = "ep_predict" if predict else "ep"
        return build_network(self.arch, self.spec.ep, self.spec.optim, n_windows, data, name=name, predict=predict)

    def _run_runtime(self, x, y, signs, learn):
        from brian2 import prefs

        previous = {key: prefs[key] for key in ["codegen.target", *self._brian_prefs()]}
        try:
            for key, value in {"codegen.target": self.spec.run.target, **self._brian_prefs()}.items():
                prefs[key] = value
            net = self._network(x.shape[0], self._data(x, y, signs, x.shape[0]), predict=not learn)
            for view, value in self._values(net, learn, x.shape[0]).items():
                view[:] = value
            net.network.run(net.duration, namespace={})
        finally:
            for key, value in previous.items():
                prefs[key] = value
        if learn:
            self._read_back(net, x.shape[0])
        return net.outputs()

    def _program(self, kind: str, n_windows: int) -> StandaloneProgram:
        """The compiled training (``"train"``) or prediction (``"predict"``) program, built the
        first time it is needed."""
        if kind not in self._programs:
            program = StandaloneProgram(self.device_class, kind, self.directory, self._brian_prefs())
            empty = self._data(np.zeros((0, self.arch.input.size)), np.zeros((0, self.arch.output.size)), None, n_windows)
            program.build(lambda: self._network(n_windows, empty, predict=kind == "predict"))
            self._programs[kind] = program
        return self._programs[kind]

    def _run_standalone(self, x, y, signs, learn):
        kind = "train" if learn else "predict"
        program = self._program(kind, self.capacity if learn else min(self.capacity, x.shape[0]))
        net = program.net
        data = self._data(x, y, signs, net.n_windows)
        run_args = self._values(net, learn, x.shape[0])
        keys = (("stim", "x"),) if net.predict else (("stim", "x"), ("target", "y"), ("mask", "mask"), ("signs", "signs"))
        for key, value in keys:
            if key in net.timed_arrays:
                run_args[net.timed_arrays[key]] = data[value]
        program.run(run_args)
        if learn:
            program.read(lambda: self._read_back(net, x.shape[0]))
        return program.read(net.outputs)

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
        outputs = []
        for start in range(0, x.shape[0], self.capacity):
            sl = slice(start, start + self.capacity)
            outputs.append(self._run(x[sl], y[sl], None if signs is None else signs[sl], learn=True, offset=start))
        self.samples_seen += x.shape[0]
        return ChunkResult(np.concatenate(outputs, axis=0))

    def predict(self, x):
        outputs = []
        step = self._programs["predict"].net.n_windows if "predict" in self._programs else min(self.capacity, x.shape[0])
        zeros_y = np.zeros((x.shape[0], self.arch.output.size))
        for start in range(0, x.shape[0], step):
            xs = x[start : start + step]
            outputs.append(self._run(xs, zeros_y[: xs.shape[0]], None, learn=False))
        return np.concatenate(outputs, axis=0)

    def close(self):
        """Forget the programs and remove their folders where they are temporary ones."""
        for program in self._programs.values():
            program.close()
        self._programs = {}
