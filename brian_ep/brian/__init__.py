"""The Brian2 side: equations and schedule code (text), and the builder of the objects.
The engine that trains with them is :mod:`brian_ep.engines.brian`."""

from .builder import EPNetwork, build_network

__all__ = ["EPNetwork", "build_network"]
