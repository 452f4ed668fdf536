"""Baselines trained with backpropagation (torch is imported lazily, only when used)."""

from .backprop import BackpropResult, train_backprop

__all__ = ["BackpropResult", "train_backprop"]
