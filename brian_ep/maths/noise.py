"""Sources of the uniform random numbers that stochastic neuron models draw from, usable by
every engine (numpy, torch) through the ``noise(layer, like)`` callable of
:func:`~brian_ep.maths.dynamics.step`.

* :class:`SeededNoise`: a seeded generator (numpy's ``Generator`` for numpy arrays, a
  ``torch.Generator`` on the tensor's device for torch tensors): reproducible from the seed.
* :class:`ArrayNoise`: numbers supplied from outside, one row per time step and neuron, read
  in the order a Brian2 network consumes them (sample window after sample window). Given the
  same arrays, the numpy engine and a Brian2 network fed the arrays as ``TimedArray``
  thresholds follow the same spike trains (the same-noise test).
"""

from __future__ import annotations

import numpy as np

from .arrays import device_of, namespace

__all__ = ["SeededNoise", "ArrayNoise", "RecordedNoise", "noise_layers"]


def noise_layers(arch) -> tuple:
    """The layers that draw noise: the stochastic free layers and, when the input is encoded
    as spikes, the input layer (in this order)."""
    layers = tuple(layer for layer in arch.free_layers if layer.neuron.stochastic)
    if arch.input.encoding == "spikes":
        layers = (arch.input,) + layers
    return layers


class SeededNoise:
    """Uniform numbers in [0, 1) from a generator seeded once.

    Parameters
    ----------
    seed : int or sequence of int
        Seed of the stream (e.g. ``[run.seed, STREAMS['noise'], epoch, first_sample]``).

    Notes
    -----
    The numbers depend only on the seed and the order of the calls, not on the layer names.
    A torch tensor gets numbers from a ``torch.Generator`` on its own device (seeded from the
    same seed), so no host-device copy happens per step.
    """

    def __init__(self, seed):
        self.seed = seed
        self._numpy = None
        self._torch = {}

    def __call__(self, layer, like):
        if isinstance(like, np.ndarray):
            if self._numpy is None:
                self._numpy = np.random.default_rng(self.seed)
            dtype = like.dtype if like.dtype in (np.float32, np.float64) else np.float64
            return self._numpy.random(like.shape, dtype=dtype)
        return self._torch_uniform(like)

    def _torch_uniform(self, like):
        import torch

        device = like.device
        gen = self._torch.get(str(device))
        if gen is None:
            gen = torch.Generator(device=device)
            gen.manual_seed(int(np.random.SeedSequence(self.seed).generate_state(1)[0]))
            self._torch[str(device)] = gen
        return torch.rand(like.shape, generator=gen, dtype=like.dtype, device=device)


class ArrayNoise:
    """Uniform numbers supplied as arrays, read window by window as a Brian2 network reads a
    ``TimedArray`` ``noise(t, i)``.

    Parameters
    ----------
    arrays : dict
        ``{layer name: array of shape (n_windows * window_steps, n_layer)}``: row
        ``k * window_steps + j`` holds the numbers of step ``j`` of sample window ``k``.
    window_steps : int
        Steps per sample window (``ep.window_steps``).

    Notes
    -----
    Each call for a layer returns the next step of the current windows, one row per sample
    of the batch (``like.shape[0]`` consecutive windows); after ``window_steps`` calls the
    next batch begins. A free phase and its nudged phases therefore read steps ``0`` to
    ``window_steps - 1`` of their windows in the order the maths runs them, which is the
    order of Brian2's time steps.
    """

    def __init__(self, arrays: dict, window_steps: int):
        self.arrays = {name: np.asarray(a) for name, a in arrays.items()}
        self.window_steps = int(window_steps)
        self._cursor = {name: (0, 0) for name in self.arrays}

    def __call__(self, layer, like):
        try:
            table = self.arrays[layer.name]
        except KeyError:
            raise ValueError(f"no noise array was supplied for layer '{layer.name}'") from None
        window, j = self._cursor[layer.name]
        n = like.shape[0]
        rows = (window + np.arange(n)) * self.window_steps + j
        if rows[-1] >= table.shape[0]:
            raise ValueError(
                f"the noise array of layer '{layer.name}' has {table.shape[0]} rows; "
                f"window {window + n - 1}, step {j} needs row {rows[-1]}"
            )
        j += 1
        self._cursor[layer.name] = (window + n, 0) if j == self.window_steps else (window, j)
        xp = namespace(like)
        return xp.asarray(table[rows], dtype=like.dtype, device=device_of(like))

    def skip(self, n_windows: int) -> None:
        """Move every layer past ``n_windows`` whole windows (e.g. padding)."""
        for name, (window, j) in self._cursor.items():
            self._cursor[name] = (window + n_windows, j)


class RecordedNoise:
    """Common random numbers: pass ``noise`` through while recording it, then :meth:`replay`
    the recording, call for call (``ep.common_noise``: the -beta phase reuses the numbers of
    the +beta phase).

    The replay still draws from ``noise`` and discards the numbers, so that a source read in
    time order (:class:`ArrayNoise`, Brian2's ``TimedArray``) stays aligned with the steps.
    """

    def __init__(self, noise):
        self.noise = noise
        self.calls = []

    def __call__(self, layer, like):
        values = self.noise(layer, like)
        self.calls.append((layer.name, values))
        return values

    def replay(self):
        """A noise callable returning the recorded numbers in the recorded order."""
        recorded = iter(self.calls)

        def again(layer, like):
            name, values = next(recorded)
            if name != layer.name:
                raise ValueError(f"replayed noise of layer '{name}' asked for layer '{layer.name}'")
            self.noise(layer, like)
            return values

        return again
