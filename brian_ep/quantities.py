"""Quantities written as text in specs (``"0.5 ms"``, ``"200 Hz"``) turned into Brian2 quantities.

Below the spec package so that neuron models can declare options with units."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["parse_time", "TimeQuantity", "format_time", "parse_rate", "RateQuantity", "format_rate"]

_UNITS = {"s": 1.0, "second": 1.0, "ms": 1e-3, "msecond": 1e-3, "us": 1e-6, "usecond": 1e-6}
_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([a-zA-Z]+)\s*$")


def parse_time(value: Any):
    """Parse a duration written as text into a Brian2 ``Quantity`` of time.

    Parameters
    ----------
    value : {str, Quantity}
        E.g. ``"0.5 ms"``, ``"1*ms"`` or ``"2e-3 s"``; a Brian2 ``Quantity`` with the
        dimension of time passes through unchanged.

    Returns
    -------
    Quantity
        The duration, in seconds, with Brian2 units.

    Raises
    ------
    ValueError
        If the text is not a positive, finite number followed by one of ``s``, ``ms``, ``us``.
    """
    from brian2 import second

    return _parse(value, second, _UNITS, "duration", "0.5 ms", "s, ms or us")


def _parse(value: Any, unit, units: dict, what: str, example: str, allowed: str):
    """``value`` (text with one of ``units``, or a Brian2 quantity of the dimension of
    ``unit``) as a Brian2 quantity; errors say ``what`` is expected, with an ``example``."""
    from brian2 import Quantity
    from brian2.units.fundamentalunits import get_dimensions

    if isinstance(value, Quantity):
        if get_dimensions(value) != get_dimensions(unit):
            raise ValueError(f"must be a {what} (got {value!r})")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"needs a unit, e.g. '{value} {example.split()[1]}' (got the bare number {value!r})")
    if not isinstance(value, str):
        raise ValueError(f"must be a {what} such as '{example}' (got {value!r})")
    match = _PATTERN.match(value)
    if not match or match.group(2) not in units:
        raise ValueError(f"must be a {what} such as '{example}' with unit {allowed} (got {value!r})")
    number = float(match.group(1))
    if not number > 0:
        raise ValueError(f"must be > 0 (got {value!r})")
    base = number * units[match.group(2)]
    if not math.isfinite(base) or base == 0:
        raise ValueError(f"must be a finite {what} that a float can hold, e.g. '{example}' (got {value!r})")
    return base * unit


def format_time(q) -> str:
    """Format a time quantity as text that :func:`parse_time` reads back, e.g. ``"0.5 ms"``."""
    return f"{float(q) * 1e3:.12g} ms"


def _text_quantity(parse, fmt):
    """A pydantic type: text parsed by ``parse`` into a quantity, written back by ``fmt``."""
    return Annotated[Any, BeforeValidator(parse), PlainSerializer(fmt, return_type=str)]


TimeQuantity = _text_quantity(parse_time, format_time)


_RATE_UNITS = {"Hz": 1.0, "hertz": 1.0, "kHz": 1e3, "khertz": 1e3}


def parse_rate(value: Any):
    """Parse a rate written as text (``"200 Hz"``, ``"0.5 kHz"``) into a Brian2 ``Quantity``
    in hertz; a Brian2 ``Quantity`` with the dimension of a frequency passes through.

    Raises
    ------
    ValueError
        If the text is not a positive, finite number followed by ``Hz`` or ``kHz``.
    """
    from brian2 import Hz

    return _parse(value, Hz, _RATE_UNITS, "rate", "200 Hz", "Hz or kHz")


def format_rate(q) -> str:
    """Format a rate as text that :func:`parse_rate` reads back, e.g. ``"200 Hz"``."""
    return f"{float(q):.12g} Hz"


RateQuantity = _text_quantity(parse_rate, format_rate)
