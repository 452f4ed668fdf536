"""The network a spec describes, resolved: layers (with their neuron models), projections,
feedback factors and the energy weights that keep feedback-regulated EP exact.

:func:`build_architecture` is the second half of spec validation: the spec loader runs it
(through :func:`brian_ep.spec.register_spec_check`), so a spec whose graph cannot work is
refused when it is loaded, and the result is cached for everyone who asks later.
"""

from ..spec.load import register_spec_check
from .build import build_architecture
from .network import Architecture, Layer, Projection
from .variants import with_gamma

__all__ = ["Layer", "Projection", "Architecture", "build_architecture", "with_gamma"]

register_spec_check(build_architecture)
