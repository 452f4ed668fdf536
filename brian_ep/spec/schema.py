"""The network spec: typed, immutable (frozen pydantic models) sections
``model / ep / optim / data / run``.

A spec describes *what* to train; :mod:`brian_ep.architecture` turns it into the list of
layers and projections that the mathematics and the engines use. Field docs here are the
reference for the YAML format (``docs/spec.md`` shows them with examples).
"""

from __future__ import annotations

import math
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .quantities import TimeQuantity

__all__ = [
    "ACTIVATIONS",
    "NEURON_MODELS",
    "NeuronSpec",
    "LayerSpec",
    "HiddenStack",
    "InitSpec",
    "ChainSpec",
    "ProjectionSpec",
    "ResidualSpec",
    "ReadoutSpec",
    "ModelSpec",
    "EPSpec",
    "OptimSpec",
    "DataSpec",
    "RunSpec",
    "Spec",
]

ACTIVATIONS = ("hard_sigmoid", "sigmoid", "tanh")
NEURON_MODELS = ("rate",)

Activation = Literal["hard_sigmoid", "sigmoid", "tanh"]


def _gamma_or_auto(v):
    if isinstance(v, float) and not (0 < v <= 1):
        raise ValueError(f"must be in (0, 1] or 'auto' (got {v})")
    return v


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True, validate_default=True)


class NeuronSpec(_Frozen):
    """A neuron model for a (non-input) layer.

    ``model``: ``rate`` (leaky rate neuron, ``tau du/dt = -u + I``, rate ``r = rho(u)``);
    ``activation``: the rate function ``rho``; ``tau``: membrane time constant, e.g. ``"1 ms"``;
    ``bias``: whether the layer has a learned bias current.
    """

    model: Literal["rate"] = "rate"
    activation: Activation = "hard_sigmoid"
    tau: TimeQuantity = "1 ms"
    bias: bool = True


class NeuronOverride(_Frozen):
    """Per-layer override of the default neuron model (only the keys given change)."""

    model: Optional[Literal["rate"]] = None
    activation: Optional[Activation] = None
    tau: Optional[TimeQuantity] = None
    bias: Optional[bool] = None


class LayerSpec(_Frozen):
    """A layer: ``size`` neurons, an optional ``name`` and neuron-model override."""

    name: Optional[str] = None
    size: int = Field(gt=0)
    neuron: Optional[NeuronOverride] = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, v):
        if v is not None and not v.isidentifier():
            raise ValueError(f"must be a valid identifier (letters, digits, underscore) (got {v!r})")
        return v


class HiddenStack(_Frozen):
    """``count`` hidden layers of ``size`` neurons each (named ``h1`` ... ``hN``)."""

    count: int = Field(gt=0, le=200)
    size: int = Field(gt=0)
    neuron: Optional[NeuronOverride] = None


class InitSpec(_Frozen):
    """Weight initialisation: ``glorot_uniform`` (U(+-gain*sqrt(6/(n_pre+n_post)))),
    ``fan_in_uniform`` (U(+-gain/sqrt(n_pre))), or ``zeros``."""

    scheme: Literal["glorot_uniform", "fan_in_uniform", "zeros"] = "glorot_uniform"
    gain: float = Field(default=1.0, ge=0)


class ChainSpec(_Frozen):
    """The feedforward chain input -> h1 -> ... -> output.

    ``gamma`` (feedback regulation factor) and ``lr`` (learning rate) are one number for
    every projection of the chain or a list with one entry per projection, from the input up.
    """

    gamma: Union[float, list[float]] = 1.0
    lr: Union[float, list[float]] = 0.05
    init: InitSpec = InitSpec()

    @field_validator("gamma", "lr")
    @classmethod
    def _positive(cls, v, info):
        values = v if isinstance(v, list) else [v]
        for x in values:
            if info.field_name == "gamma" and not (0 < x <= 1):
                raise ValueError(f"each gamma must be in (0, 1] (got {x})")
            if info.field_name == "lr" and not x >= 0:
                raise ValueError(f"each lr must be >= 0 (got {x})")
        return v


class ProjectionSpec(_Frozen):
    """An extra projection (or an override of a chain projection) between two named layers.

    ``gamma``: feedback factor in (0, 1], or ``auto`` (exact mode: the value that keeps the
    network an energy-based model, derived from the other projections).
    """

    pre: str
    post: str
    gamma: Union[float, Literal["auto"], None] = None
    lr: Optional[float] = Field(default=None, ge=0)
    init: Optional[InitSpec] = None

    _gamma = field_validator("gamma")(_gamma_or_auto)


class ResidualSpec(_Frozen):
    """Residual (skip) projections between non-adjacent hidden layers, generated from a
    brain-inspired topology (see :mod:`brian_ep.topology`).

    ``dense_every``: skips ``h_s <-> h_{s+k} <-> h_{s+2k}`` ... from ``start`` (the paper's
    1-4-7-10 is ``k: 3, start: 1``); ``random``: each non-adjacent pair of hidden layers is
    connected with probability ``p``; ``small_world``: Watts-Strogatz ring lattice over the
    hidden layers with ``neighbours`` on each side, each lattice skip rewired with probability
    ``p``. The graph is drawn from ``seed`` (default: the run seed).
    """

    topology: Literal["dense_every", "random", "small_world"]
    k: int = Field(default=2, ge=2)
    start: int = Field(default=1, ge=1)
    p: float = Field(default=0.1, ge=0, le=1)
    neighbours: int = Field(default=2, ge=2)
    seed: Optional[int] = Field(default=None, ge=0)
    gamma: Union[float, Literal["auto"]] = "auto"
    lr: Optional[float] = Field(default=None, ge=0)
    init: Optional[InitSpec] = None

    _gamma = field_validator("gamma")(_gamma_or_auto)


class ReadoutSpec(_Frozen):
    """How the output is read: ``none`` (the output layer's rates, MSE loss) or ``softmax``
    (a softmax readout of the last layer outside the recurrent state, cross-entropy loss,
    trained with its exact gradient at the free fixed point, or as ``ep.readout_error`` says).
    The readout weights are the last projection of ``model.chain`` (its ``lr`` and ``init``)."""

    kind: Literal["none", "softmax"] = "none"


class ModelSpec(_Frozen):
    """Layers, neuron models and projections."""

    input: LayerSpec
    hidden: Union[list[LayerSpec], HiddenStack] = Field(default_factory=list)
    output: LayerSpec
    neuron: NeuronSpec = NeuronSpec()
    chain: ChainSpec = ChainSpec()
    projections: list[ProjectionSpec] = Field(default_factory=list)
    residual: list[ResidualSpec] = Field(default_factory=list)
    readout: ReadoutSpec = ReadoutSpec()

    @field_validator("residual", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        if isinstance(v, dict):
            return [v]
        return v


class EPSpec(_Frozen):
    """Equilibrium Propagation settings.

    ``mode``: ``exact`` (energy-based EP; feedback regulation with layer-weighted energy, so
    the update is the gradient as beta -> 0) or ``vector_field`` (Liu & Chen's formulation:
    scaled feedback without energy weighting, one-sided update without 1/beta).
    Phase lengths are given as steps (``free_steps``) or durations (``t_free``, a multiple of
    ``dt``). ``nudging``: ``centered`` (+beta then -beta, both from the free fixed point),
    ``positive`` (+beta only), ``random_sign`` (+-beta, sign drawn per sample).
    ``nudge_force``: ``recomputed`` each step (exact), ``constant`` at its free-phase value
    (the FRE-RNN authors' shallow-network code, ``models_LN.py``) or ``accumulated``: the
    current recomputed each step is added to the previous one, so the nudge grows while the
    output error persists (their deep-network code, ``models_LN_G.py``; vector-field mode only,
    as the effective nudging strength is no longer ``beta``).
    ``readout_error`` (softmax readout only): the output error that trains the readout weights,
    ``r_top^0 (softmax(r_top W) - y)^T``, is read at the ``free`` state (the exact cross-entropy
    gradient) or at the ``nudged`` state (the authors' deep-network code; vector-field mode with
    positive nudging only: it is not a gradient, and the nudged state must be the +beta one).
    """

    mode: Literal["exact", "vector_field"] = "exact"
    dt: TimeQuantity = "0.5 ms"
    free_steps: Optional[int] = Field(default=None, gt=0)
    t_free: Optional[TimeQuantity] = None
    nudged_steps: Optional[int] = Field(default=None, gt=0)
    t_nudge: Optional[TimeQuantity] = None
    beta: float = Field(default=0.5, gt=0)
    nudging: Literal["centered", "positive", "random_sign"] = "centered"
    loss: Literal["mse", "cross_entropy"] = "mse"
    nudge_force: Literal["recomputed", "constant", "accumulated"] = "recomputed"
    readout_error: Literal["free", "nudged"] = "free"
    divergence_threshold: float = Field(default=1e6, gt=0)

    @model_validator(mode="after")
    def _accumulated_needs_vector_field(self):
        if self.nudge_force == "accumulated" and self.mode != "vector_field":
            raise ValueError(
                "nudge_force 'accumulated' integrates the nudge over the nudged phase, so the effective "
                "nudging strength is not 'beta' and the exact-mode update (divided by beta) would not be "
                "the gradient; use it with 'mode: vector_field', or set nudge_force to 'recomputed'"
            )
        return self

    @model_validator(mode="after")
    def _nudged_readout_error(self):
        if self.readout_error == "nudged" and (self.mode != "vector_field" or self.nudging != "positive"):
            raise ValueError(
                "readout_error 'nudged' trains the readout from the output error at the +beta nudged "
                "state, which is not the loss gradient; it needs 'mode: vector_field' and "
                "'nudging: positive' (this spec has mode "
                f"'{self.mode}', nudging '{self.nudging}'), or set readout_error to 'free'"
            )
        return self

    @model_validator(mode="after")
    def _steps(self):
        for steps_key, time_key, default in (("free_steps", "t_free", 20), ("nudged_steps", "t_nudge", 10)):
            steps, duration = getattr(self, steps_key), getattr(self, time_key)
            if steps is not None and duration is not None:
                raise ValueError(f"give either '{steps_key}' or '{time_key}', not both")
            if duration is not None:
                import numpy as np

                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    n = float(duration / self.dt)
                if not math.isfinite(n) or abs(n - round(n)) > 1e-6 or round(n) < 1:
                    raise ValueError(
                        f"'{time_key}' ({float(duration) * 1e3:g} ms) must be a positive multiple of dt "
                        f"({float(self.dt) * 1e3:g} ms)"
                    )
                object.__setattr__(self, steps_key, int(round(n)))
                object.__setattr__(self, time_key, None)
            elif steps is None:
                object.__setattr__(self, steps_key, default)
        return self

    @property
    def window_steps(self) -> int:
        """Time steps per sample window: free phase plus one or two nudged phases."""
        n_nudged = 2 if self.nudging == "centered" else 1
        return self.free_steps + n_nudged * self.nudged_steps


class OptimSpec(_Frozen):
    """Optimiser: ``sgd`` or ``adam`` on the EP gradient estimate, averaged over
    ``batch_size`` samples (Brian2 accumulates it in the synapses). Learning rates are set
    per projection in ``model``; ``lr_scale`` multiplies all of them; ``lr_schedule``
    ``cosine`` scales them by ``(1 + cos(pi * epoch / epochs)) / 2`` in each epoch.
    ``shuffle``: ``samples`` (a new permutation of the samples every epoch) or ``batches``
    (the mini-batches are formed once from the seed and only their order changes from epoch
    to epoch, as a list of pre-loaded batches shuffled each epoch, e.g. the FRE-RNN authors'
    training loop)."""

    algorithm: Literal["sgd", "adam"] = "sgd"
    batch_size: int = Field(default=1, gt=0)
    shuffle: Literal["samples", "batches"] = "samples"
    lr_scale: float = Field(default=1.0, gt=0)
    lr_schedule: Literal["constant", "cosine"] = "constant"
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = Field(default=1e-8, gt=0)


class DataSpec(_Frozen):
    """Data set: ``digits`` (scikit-learn's 8x8 digits, bundled), ``mnist`` or
    ``fashion-mnist`` (IDX files found in ``directory``, ``$BRIAN_EP_DATA`` or standard
    places). ``n_train``/``n_test`` take the first samples of each split; ``validation`` is
    the number of training samples held out for model selection."""

    dataset: Literal["digits", "mnist", "fashion-mnist"] = "digits"
    directory: Optional[str] = None
    n_train: Optional[int] = Field(default=None, gt=0)
    n_test: Optional[int] = Field(default=None, gt=0)
    validation: int = Field(default=0, ge=0)


class RunSpec(_Frozen):
    """How to run: ``epochs``, ``seed``, the ``engine`` (``brian2``: one sample at a time as
    Brian2 equations; ``numpy``: the same mathematics batched), the Brian2 ``device``
    (``runtime`` with codegen ``target`` numpy or cython, or ``cpp_standalone``), and
    ``chunk_size`` (samples per Brian2 run, i.e. between checkpoints), ``threads`` (OpenMP
    threads for standalone, 0: one), and ``dtype`` (numpy engine arithmetic)."""

    epochs: int = Field(default=10, gt=0)
    seed: int = Field(default=0, ge=0)
    engine: Literal["brian2", "numpy"] = "brian2"
    device: Literal["runtime", "cpp_standalone"] = "runtime"
    target: Literal["numpy", "cython"] = "cython"
    chunk_size: int = Field(default=2000, gt=0)
    threads: int = Field(default=0, ge=0)
    eval_batch_size: int = Field(default=1000, gt=0)
    dtype: Literal["float64", "float32"] = "float64"


class Spec(_Frozen):
    """A whole network spec: ``name``, ``description`` and the five sections."""

    name: str = "unnamed"
    description: str = ""
    model: ModelSpec
    ep: EPSpec = EPSpec()
    optim: OptimSpec = OptimSpec()
    data: DataSpec = DataSpec()
    run: RunSpec = RunSpec()
