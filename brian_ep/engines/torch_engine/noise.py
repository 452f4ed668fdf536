"""Uniform noise for stochastic neuron models in the torch engine, as the ``noise(layer, like)``
callables that :func:`brian_ep.maths.dynamics.step` takes.

Two sources: :class:`GeneratorNoise` draws from a seeded ``torch.Generator`` on the engine's
device (real runs); :class:`SuppliedNoise` hands out arrays given from outside, in order (to
run the same noise through two engines, or through Brian2 as a ``TimedArray``).

Both draw for the *global* mini-batch and give a process the rows of its own samples
(:meth:`set_rows`), so the noise a sample sees does not depend on how many processes share
the batch.
"""

from __future__ import annotations

from ...errors import ArgumentError

__all__ = ["GeneratorNoise", "SuppliedNoise"]


class _RowsMixin:
    """The rows of the global mini-batch that this process computes."""

    n_global: int | None = None
    rows: slice = slice(None)

    def set_rows(self, n_global: int, rows: slice) -> None:
        """Draw for ``n_global`` samples and return ``rows`` of them from now on."""
        self.n_global, self.rows = n_global, rows

    def _global_shape(self, like) -> tuple:
        n = like.shape[0] if self.n_global is None else self.n_global
        return (n,) + tuple(like.shape[1:])


class GeneratorNoise(_RowsMixin):
    """Uniform numbers in [0, 1) from a ``torch.Generator`` seeded with ``seed``.

    Parameters
    ----------
    seed : int
        Seed of the generator (the engine derives it from ``run.seed``, stream ``noise``).
    device : torch.device or str
    """

    def __init__(self, seed: int, device):
        import torch

        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(int(seed))

    def __call__(self, layer, like):
        import torch

        draw = torch.rand(self._global_shape(like), generator=self.generator, dtype=like.dtype, device=like.device)
        return draw[self.rows]

    def get_state(self):
        """The generator state (a CPU byte tensor), for checkpoints."""
        return self.generator.get_state()

    def set_state(self, state) -> None:
        self.generator.set_state(state)


class SuppliedNoise(_RowsMixin):
    """Noise given from outside: ``draws[layer_name][k]`` is the ``k``-th draw of that layer
    (one per step in which the layer advances), shape ``(n_samples, ...)`` like the layer's
    current; numpy arrays or tensors.

    Parameters
    ----------
    draws : dict of str -> array, shape (n_draws, n_samples, ...)
    """

    def __init__(self, draws: dict):
        self.draws = dict(draws)
        self.used = {name: 0 for name in self.draws}

    def __call__(self, layer, like):
        import torch

        if layer.name not in self.draws:
            raise ArgumentError(f"the supplied noise has no draws for layer '{layer.name}' (it has {sorted(self.draws)})")
        k = self.used[layer.name]
        stack = self.draws[layer.name]
        if k >= len(stack):
            raise ArgumentError(f"the supplied noise of layer '{layer.name}' ran out after {k} draws; supply more steps")
        self.used[layer.name] = k + 1
        draw = torch.as_tensor(stack[k], dtype=like.dtype, device=like.device)
        if tuple(draw.shape) != self._global_shape(like):
            raise ArgumentError(
                f"supplied noise draw {k} of layer '{layer.name}' has shape {tuple(draw.shape)}, "
                f"expected {self._global_shape(like)}"
            )
        return draw[self.rows]
