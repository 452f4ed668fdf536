"""The Brian2 pieces of a time-varying input (an event stream, :mod:`brian_ep.maths.stream`).

The binned stream enters as one ``TimedArray`` ``stim`` of ``n_windows * (bins + 1)`` rows:
row ``w * (bins + 1) + b`` holds bin ``b`` of window ``w``'s sample, and row
``w * (bins + 1) + bins`` the held input (the last bin, or the mean). The input neurons read it
on the step clock at the row of the current step::

    j   = timestep(t, dt) % NW                    (step in the window)
    b   = min(j // BS, NB)                        (bin, or NB: the held row)
    x   = stim((timestep(t, WDT) * (NB + 1) + b) * SDT, i)

and their synapses deliver ``w x`` into the layer's input relay only on the steps where a bin
begins (``j % BS == 0`` and ``j <= NB * BS``), after the relay is cleared: a pixel costs
nothing while its bin lasts, and nothing at all while it is 0. The EP update at the start of a
window reads ``x_last``, the input of the last step of the previous window: the held input,
which the nudged phases saw.

Why a ``TimedArray`` rather than a ``SpikeGeneratorGroup``: the binned counts are an input
*current* (the same ``x W`` as a static input, one value per bin), which a spike generator
cannot carry without turning each count into spikes of its own; and under ``cpp_standalone``
a ``TimedArray``'s values are swapped per chunk through ``run_args`` without recompiling,
whereas a ``SpikeGeneratorGroup``'s spike times and indices are fixed in the compiled program
(their number sets array sizes).
"""

from __future__ import annotations

import numpy as np

__all__ = ["stim_rows", "stream_constants", "bin_index", "bin_start", "stream_load_code", "stream_input_events", "relay_clear_code"]

STEP = "(timestep(t, dt) % NW)"


def stim_rows(x, n_in: int, stream) -> np.ndarray:
    """The ``stim`` values of ``x`` (``(n_windows, n_in)``, or ``(n_windows, bins * n_in)``
    for a stream): for a stream ``(n_windows * (bins + 1), n_in)``, each window's bins then
    its held input."""
    x = np.asarray(x, dtype=float)
    if stream is None:
        return x.reshape(-1, n_in)
    frames = x.reshape(x.shape[0], stream.bins, n_in)
    rows = np.concatenate([frames, stream.held(frames)[:, None, :]], axis=1)
    return rows.reshape(-1, n_in)


def stream_constants(stream, dt) -> dict:
    """The namespace constants of the stream code: ``NB`` bins, ``BS`` steps per bin,
    ``NB1 = NB + 1`` rows per window, ``SDT`` the ``stim`` row length (the step ``dt``)."""
    return {"NB": stream.bins, "BS": stream.bin_steps, "NB1": stream.bins + 1, "SDT": dt}


def bin_index() -> str:
    """The row within the window of the current step: the bin, or ``NB`` (the held input)."""
    b = f"int({STEP} / BS)"
    return f"({b} + int({b} > NB) * (NB - {b}))"


def bin_start() -> str:
    """Whether a bin (or the held input) begins at this step (integer 0 or 1)."""
    return f"int({STEP} % BS == 0) * int({STEP} <= NB * BS)"


def stream_load_code(predict: bool = False) -> str:
    """Every step: ``x`` from the row of the current bin; at a window's first step ``x_last``
    keeps the last window's held input first (training only)."""
    load = f"x = stim((timestep(t, WDT) * NB1 + {bin_index()}) * SDT, i)\n"
    return load if predict else f"x_last += int({STEP} == 0) * (x - x_last)\n" + load


def stream_input_events(rule) -> dict:
    """The input neurons' events on the step clock: ``learn_ev`` at a window's first step for
    neurons that carried the last held input, ``deliver_ev`` where a bin begins."""
    deliver = {"deliver_ev": f"x > 0 and {bin_start()} == 1"}
    return deliver if rule.predict else {"learn_ev": f"x_last > 0 and {STEP} == 0", **deliver}


def relay_clear_code() -> str:
    """The relay forgets the last bin's current where a bin begins (before the delivery)."""
    return f"I_in *= 1 - {bin_start()}\n"
