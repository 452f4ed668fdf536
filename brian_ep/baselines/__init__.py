"""Baselines that run behind the engine interface, so that :func:`brian_ep.train` trains them
and writes ordinary run directories (torch is imported only when one is built)."""

from .backprop import BackpropEngine, BackpropResult, train_backprop

__all__ = ["BackpropEngine", "BackpropResult", "train_backprop"]
