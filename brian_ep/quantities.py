"""Quantities written as text in specs (``"0.5 ms"``, ``"200 Hz"``) turned into Brian2 quantities.

Below the spec package so that neuron models can declare options with units."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["parse_time", "TimeQuantity", "format_time", "parse_rate", "RateQuantity", "format_rate"]

_UNITS = {"s": 1.0, "second": 1.0, "ms": 1e-3, "msecond": 1e-3, "us": 1e-6, "usecond": 1e-6}
_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([a-z]+)\s*$")


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
    from brian2 import Quantity, second
    from brian2.units.fundamentalunits import get_dimensions

    if isinstance(value, Quantity):
        if get_dimensions(value) != get_dimensions(second):
            raise ValueError(f"must be a duration (got {value!r})")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"needs a unit, e.g. '{value} ms' (got the bare number {value!r})")
    if not isinstance(value, str):
        raise ValueError(f"must be a duration such as '0.5 ms' (got {value!r})")
    match = _PATTERN.match(value)
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"must be a duration such as '0.5 ms' with unit s, ms or us (got {value!r})")
    number = float(match.group(1))
    if not number > 0:
        raise ValueError(f"must be > 0 (got {value!r})")
    seconds = number * _UNITS[match.group(2)]
    if not math.isfinite(seconds) or seconds == 0:
        raise ValueError(f"must be a finite duration that a float can hold, e.g. '0.5 ms' (got {value!r})")
    return seconds * second


def format_time(q) -> str:
    """Format a time quantity as text that :func:`parse_time` reads back, e.g. ``"0.5 ms"``."""
    return f"{float(q) * 1e3:.12g} ms"


TimeQuantity = Annotated[
    Any,
    BeforeValidator(parse_time),
    PlainSerializer(format_time, return_type=str),
]


_RATE_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([a-zA-Z]+)\s*$")
_RATE_UNITS = {"Hz": 1.0, "hertz": 1.0, "kHz": 1e3, "khertz": 1e3}


def parse_rate(value: Any):
    """Parse a rate written as text (``"200 Hz"``, ``"0.5 kHz"``) into a Brian2 ``Quantity``
    in hertz; a Brian2 ``Quantity`` with the dimension of a frequency passes through.

    Raises
    ------
    ValueError
        If the text is not a positive, finite number followed by ``Hz`` or ``kHz``.
    """
    from brian2 import Hz, Quantity
    from brian2.units.fundamentalunits import get_dimensions

    if isinstance(value, Quantity):
        if get_dimensions(value) != get_dimensions(Hz):
            raise ValueError(f"must be a rate (got {value!r})")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"needs a unit, e.g. '{value} Hz' (got the bare number {value!r})")
    match = _RATE_PATTERN.match(value) if isinstance(value, str) else None
    if not match or match.group(2) not in _RATE_UNITS:
        raise ValueError(f"must be a rate such as '200 Hz' with unit Hz or kHz (got {value!r})")
    hertz = float(match.group(1)) * _RATE_UNITS[match.group(2)]
    if not (math.isfinite(hertz) and hertz > 0):
        raise ValueError(f"must be a finite rate > 0, e.g. '200 Hz' (got {value!r})")
    return hertz * Hz


def format_rate(q) -> str:
    """Format a rate as text that :func:`parse_rate` reads back, e.g. ``"200 Hz"``."""
    return f"{float(q):.12g} Hz"


RateQuantity = Annotated[
    Any,
    BeforeValidator(parse_rate),
    PlainSerializer(format_rate, return_type=str),
]
