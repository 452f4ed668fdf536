"""Engines: the interface training uses, and the batched numpy engine."""

from .base import ChunkResult, Engine
from .numpy_batched import NumpyEngine

__all__ = ["ChunkResult", "Engine", "NumpyEngine"]
