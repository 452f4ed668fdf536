"""The quantities of the spec format (defined in :mod:`brian_ep.quantities`, below the spec
package, so that neuron models can use them for their own options)."""

from ..quantities import RateQuantity, TimeQuantity, format_rate, format_time, parse_rate, parse_time

__all__ = ["parse_time", "TimeQuantity", "format_time", "parse_rate", "RateQuantity", "format_rate"]
