"""brian_ep: Equilibrium Propagation for Brian2."""

__version__ = "0.1.0"
