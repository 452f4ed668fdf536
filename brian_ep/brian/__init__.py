"""The Brian2 side: equations (text), the object builder, and the engine that trains with them."""

from .builder import EPNetwork, build_network
from .engine import BrianEngine

__all__ = ["EPNetwork", "build_network", "BrianEngine"]
