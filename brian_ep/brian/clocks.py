"""The time steps of the two clocks of an EP network: the step clock (``dt``) and the window
clock (``NW dt``, one tick per sample window), chosen so that their times agree exactly.

Brian2 runs the objects of two clocks in the same time step only if the clocks' times are
equal: within ``1e-4`` of ``dt`` in runtime mode, but within an absolute ``1e-14 s`` in
``cpp_standalone`` (``Clock_epsilon`` in its ``network.cpp``). The window clock's time
``k * (NW * dt)`` and the step clock's ``(k * NW) * dt`` are two roundings of the same number,
and past about 64 s of simulated time (where one rounding unit of a time exceeds 1e-14 s)
they can differ by more than that: the window clock's operations (loading the input, the EP
update, the optimiser step) then ran in a step of their own, before or after the step
clock's phase schedule, in a fifth of the windows (a training chunk of 5000 MNIST windows
lasts 115 s). :func:`clock_steps` rounds ``dt`` to the nearest number whose product with
``NW`` is exact; ``k * (NW * dt)`` and ``(k * NW) * dt`` are then the rounding of the same
exact product and equal, on every device.
"""

from __future__ import annotations

import math

__all__ = ["exact_step", "clock_steps"]


def exact_step(dt: float, steps: int) -> float:
    """The double nearest ``dt`` (seconds) whose product with ``steps`` is exact.

    Its mantissa keeps ``53 - bit_length(steps)`` bits, so ``steps * dt`` fits the 53 bits of
    a double; the relative change is below ``2**(bit_length(steps) - 53)`` (``1e-14`` for
    ``steps < 32``), far below any physical meaning of ``dt``.
    """
    if dt <= 0 or steps < 1:
        raise ValueError(f"need dt > 0 and steps >= 1, not dt={dt!r}, steps={steps!r}")
    mantissa, exponent = math.frexp(float(dt))  # dt = mantissa * 2**exponent, 0.5 <= mantissa < 1
    bits = 53 - int(steps).bit_length()
    return math.ldexp(round(mantissa * 2**bits), exponent - bits)


def clock_steps(dt, steps: int) -> tuple:
    """``(step dt, window dt)`` as Brian2 quantities for a window of ``steps`` steps of ``dt``
    (a quantity): ``dt`` rounded by :func:`exact_step` and ``steps`` times it, exactly."""
    from brian2 import second

    step = exact_step(float(dt), steps)
    return step * second, (steps * step) * second
