"""The network spec: typed, immutable (frozen pydantic models) sections
``model / ep / optim / data / run``.

A spec describes *what* to train; :mod:`brian_ep.architecture` turns it into the list of
layers and projections that the mathematics and the engines use. Field docs here are the
reference for the YAML format (``docs/spec.md`` shows them with examples).
"""

from __future__ import annotations

import difflib
import math
import re
from typing import TYPE_CHECKING, Any, Literal, Optional, Union, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator

from ..engines.registry import engine_names, get_engine_entry
from ..maths.activations import ACTIVATIONS
from ..neurons import get_neuron_model, neuron_model_names
from .quantities import TimeQuantity

if TYPE_CHECKING:  # typing.Self is Python >= 3.11; the annotations are not evaluated at run time
    from typing import Self

__all__ = [
    "KeyedValueError",
    "NeuronSpec",
    "LayerSpec",
    "InputSpec",
    "HiddenStack",
    "InitSpec",
    "ChainSpec",
    "ConvSpec",
    "ProjectionSpec",
    "ResidualSpec",
    "ReadoutSpec",
    "ModelSpec",
    "EventsSpec",
    "EPSpec",
    "OptimSpec",
    "AugmentSpec",
    "DataSpec",
    "RunSpec",
    "Spec",
]

class KeyedValueError(ValueError):
    """A validation error about a key below the one pydantic is validating: ``loc`` is
    appended to pydantic's location, so that the error names e.g.
    ``model.hidden[0].neuron.trace_tau`` rather than ``model``; ``allowed`` says what would
    be accepted."""

    def __init__(self, message: str, loc: tuple[Any, ...] = (), allowed: str | None = None) -> None:
        super().__init__(message)
        self.loc = tuple(loc)
        self.allowed = allowed


def _one_of(value: Any, allowed: tuple[str, ...]) -> Any:
    """``value`` if it is in the registry ``allowed``; else an error listing the registry,
    worded like pydantic's for a fixed list."""
    if value not in allowed:
        quoted = [repr(a) for a in allowed]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise KeyedValueError(f"{value!r} is not one of the supported values", allowed=listed)
    return value


def _options(cls: type[BaseModel] | None, values: dict[str, Any], loc: tuple[Any, ...]) -> BaseModel | None:
    """Validate a model's (or engine's) extra keys ``values`` with the pydantic class ``cls``
    (``None``: no extra keys allowed); errors name the key below ``loc``."""
    known = sorted(cls.model_fields) if cls is not None else []
    if cls is None:
        if values:
            raise _unknown_key(next(iter(values)), known, loc)
        return None
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        if err["type"] == "extra_forbidden":
            raise _unknown_key(err["loc"][-1], known, loc + tuple(err["loc"][:-1])) from None
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] != "missing" and "(got " not in message:
            message += f" (got {err.get('input')!r})"
        raise KeyedValueError(message, loc + _sub_loc(err)) from None


def _gamma_or_auto(v: Any) -> Any:
    if isinstance(v, float) and not (0 < v <= 1):
        raise ValueError(f"must be in (0, 1] or 'auto' (got {v})")
    return v


#: A layer name: it becomes part of Brian2 object and variable names (``ep_<layer>``,
#: ``I_<pre>_<post>``), which must be ASCII identifiers.
LAYER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: A spec name: it becomes a folder under ``runs/`` and must not leave it.
SPEC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


class _Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, validate_default=True, allow_inf_nan=False
    )


class NeuronSpec(_Frozen):
    """A neuron model for a (non-input) layer.

    ``model``: a registered neuron model (:mod:`brian_ep.neurons`; ``rate``: leaky rate neuron,
    ``tau du/dt = -u + I``, rate ``r = rho(u)``); ``activation``: the rate function ``rho``;
    ``tau``: membrane time constant, e.g. ``"1 ms"``; ``bias``: whether the layer has a learned
    bias current. A model may add keys of its own (its ``options``), validated here.
    """

    model_config = ConfigDict(
        frozen=True, extra="allow", arbitrary_types_allowed=True, validate_default=True, allow_inf_nan=False
    )

    model: str = "rate"
    activation: str = "hard_sigmoid"
    tau: TimeQuantity = "1 ms"
    bias: bool = True
    _options: object = PrivateAttr(None)

    @field_validator("model")
    @classmethod
    def _registered_model(cls, v: Any) -> Any:
        return _one_of(v, neuron_model_names())

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, v: Any) -> Any:
        return _one_of(v, tuple(ACTIVATIONS))

    @model_validator(mode="after")
    def _model_options(self) -> Self:
        self._options = _options(get_neuron_model(self.model).options, dict(self.model_extra or {}), ())
        return self

    @property
    def options(self) -> Any:
        """The model's own settings, validated (``None`` for a model without options)."""
        return self._options


class NeuronOverride(_Frozen):
    """Per-layer override of the default neuron model (only the keys given change; a layer
    that names another ``model`` does not inherit the default model's own keys)."""

    model_config = ConfigDict(
        frozen=True, extra="allow", arbitrary_types_allowed=True, validate_default=True, allow_inf_nan=False
    )

    model: Optional[str] = None
    activation: Optional[str] = None
    tau: Optional[TimeQuantity] = None
    bias: Optional[bool] = None

    def apply_to(self, default: NeuronSpec) -> NeuronSpec:
        """The neuron model of a layer: ``default`` with this override's keys."""
        given = {k: getattr(self, k) for k in type(self).model_fields if getattr(self, k) is not None}
        base = {k: getattr(default, k) for k in type(default).model_fields}
        if given.get("model", default.model) == default.model:
            base.update(default.model_extra or {})
        return NeuronSpec.model_validate({**base, **given, **(self.model_extra or {})})


class LayerSpec(_Frozen):
    """A layer: ``size`` neurons, or an image layer of ``shape: [channels, height, width]``
    (``size`` is then their product and may be omitted; an image layer has one bias per
    channel and can be the end of a convolutional projection, ``model.projections[i].conv``);
    an optional ``name`` and neuron-model override."""

    name: Optional[str] = None
    size: Optional[int] = Field(default=None, gt=0)
    shape: Optional[tuple[int, int, int]] = None
    neuron: Optional[NeuronOverride] = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, v: Any) -> Any:
        if v is not None and not LAYER_NAME.fullmatch(v):
            raise ValueError(
                "must be a valid identifier in ASCII (a letter, then letters, digits or underscores): Brian2 builds "
                f"object and variable names from it (got {v!r})"
            )
        return v

    @field_validator("shape")
    @classmethod
    def _positive_shape(cls, v: Any) -> Any:
        if v is not None and min(v) < 1:
            raise ValueError(f"channels, height and width must be >= 1 (got {list(v)})")
        return v

    @model_validator(mode="after")
    def _size_from_shape(self) -> Self:
        if self.shape is None:
            if self.size is None:
                raise KeyedValueError("a layer needs 'size' (or 'shape: [channels, height, width]')", ("size",))
            return self
        n = self.shape[0] * self.shape[1] * self.shape[2]
        if self.size is not None and self.size != n:
            raise KeyedValueError(
                f"is {self.size} but shape {list(self.shape)} has {n} neurons", ("size",),
                allowed=f"size: {n}, or leave 'size' out",
            )
        object.__setattr__(self, "size", n)
        return self


class InputSpec(LayerSpec):
    """The clamped input layer: ``size``, an optional ``name`` and its ``encoding``:
    ``current`` (each pixel ``x`` drives ``x w`` into the next layers, constant over a sample)
    or ``spikes`` (each pixel is a Bernoulli spike train with probability ``x`` per step, a
    spike carrying ``w``: the same mean current)."""

    encoding: Literal["current", "spikes"] = "current"


class HiddenStack(_Frozen):
    """``count`` hidden layers of ``size`` neurons each (named ``h1`` ... ``hN``)."""

    count: int = Field(gt=0, le=200)
    size: int = Field(gt=0)
    neuron: Optional[NeuronOverride] = None


class InitSpec(_Frozen):
    """Weight initialisation: ``fan_in_uniform`` (U(+-gain/sqrt(n_pre)), the default),
    ``glorot_uniform`` (U(+-gain*sqrt(6/(n_pre+n_post)))), or ``zeros``. The default was chosen
    by measurement (docs/reliability.md): with Glorot's larger bound a 64-128-64-10 network of
    hard-sigmoid neurons saturates its output and stays at chance."""

    scheme: Literal["glorot_uniform", "fan_in_uniform", "zeros"] = "fan_in_uniform"
    gain: float = Field(default=1.0, ge=0)


Sign = Literal["any", "excitatory", "inhibitory"]


def _check_bounds(v: Any) -> Any:
    if v is not None and not (v[0] < v[1]):
        raise ValueError(f"bounds must be [lower, upper] with lower < upper (got {list(v)})")
    return v


class ChainSpec(_Frozen):
    """The feedforward chain input -> h1 -> ... -> output.

    ``gamma`` (feedback regulation factor) and ``lr`` (learning rate) are one number for
    every projection of the chain or a list with one entry per projection, from the input up.
    ``sign`` (Dale's law: ``excitatory`` weights stay >= 0, ``inhibitory`` ones <= 0) and
    ``bounds`` (``[lower, upper]``) constrain every chain weight; initial weights take the
    sign, and every update is followed by clipping to the allowed interval (a projected
    gradient step). ``model.projections`` may set them per projection.
    """

    gamma: Union[float, list[float]] = 1.0
    lr: Union[float, list[float]] = 0.05
    init: InitSpec = InitSpec()
    sign: Sign = "any"
    bounds: Optional[tuple[float, float]] = None

    _bounds = field_validator("bounds")(_check_bounds)

    @field_validator("gamma", "lr")
    @classmethod
    def _positive(cls, v: Any, info: ValidationInfo) -> Any:
        values = v if isinstance(v, list) else [v]
        for x in values:
            if info.field_name == "gamma" and not (0 < x <= 1):
                raise ValueError(f"each gamma must be in (0, 1] (got {x})")
            if info.field_name == "lr" and not x >= 0:
                raise ValueError(f"each lr must be >= 0 (got {x})")
        return v


#: Why max pooling is refused (``model.projections[i].conv.pool``).
MAX_POOL_REASON = (
    "max pooling is not linear: its feedback (unpooling through the arg max) changes with the state, so the "
    "forward and feedback paths are no longer one weight tensor and its transpose, the network has no energy "
    "function and the EP update is not the gradient (with spiking neurons the arg max follows the spike noise, "
    "which breaks spiking EP)"
)


class ConvSpec(_Frozen):
    """A convolutional projection: ``kernel x kernel`` kernels (stride 1) over ``padding``
    zeros on each side, then ``pool: avg`` (average over ``pool_size x pool_size`` windows,
    stride ``pool_size``) or ``pool: none``. The same kernel carries the feedback through the
    transposed convolution. Both ends must be image layers (``shape``) whose sizes fit:
    ``post = (C_post, (H + 2 padding - kernel + 1) / pool_size, ...)``."""

    kernel: int = Field(default=3, ge=1)
    padding: int = Field(default=1, ge=0)
    pool: str = "none"
    pool_size: int = Field(default=2, ge=2)

    @field_validator("pool")
    @classmethod
    def _linear_pool(cls, v: Any) -> Any:
        if v == "max":
            raise KeyedValueError(f"'max' is refused: {MAX_POOL_REASON}", allowed="'avg' or 'none'")
        return _one_of(v, ("none", "avg"))

    @model_validator(mode="after")
    def _padding_below_kernel(self) -> Self:
        if self.padding > self.kernel - 1:
            raise KeyedValueError(
                f"{self.padding} is larger than kernel - 1 = {self.kernel - 1}: the extra rows and columns would see "
                "only zeros", ("padding",), allowed=f"0 to {self.kernel - 1}",
            )
        return self

    @property
    def pool_factor(self) -> int:
        """The pooling window (and stride); 1 without pooling."""
        return self.pool_size if self.pool == "avg" else 1


class ProjectionSpec(_Frozen):
    """An extra projection (or an override of a chain projection) between two named layers.

    ``gamma``: feedback factor in (0, 1], or ``auto`` (exact mode: the value that keeps the
    network an energy-based model, derived from the other projections). ``conv``: make it a
    convolution (:class:`ConvSpec`) instead of a dense matrix. ``sign`` and ``bounds``: as in
    ``model.chain`` (default: those of the chain).
    """

    pre: str
    post: str
    gamma: Union[float, Literal["auto"], None] = None
    lr: Optional[float] = Field(default=None, ge=0)
    init: Optional[InitSpec] = None
    sign: Optional[Sign] = None
    bounds: Optional[tuple[float, float]] = None
    conv: Optional[ConvSpec] = None

    _gamma = field_validator("gamma")(_gamma_or_auto)
    _bounds = field_validator("bounds")(_check_bounds)


class ResidualSpec(_Frozen):
    """Residual (skip) projections between non-adjacent hidden layers, generated from a
    brain-inspired topology (see ``brian_ep.topology``).

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
    sign: Sign = "any"
    bounds: Optional[tuple[float, float]] = None

    _gamma = field_validator("gamma")(_gamma_or_auto)
    _bounds = field_validator("bounds")(_check_bounds)


class ReadoutSpec(_Frozen):
    """How the output is read: ``none`` (the output layer's rates, MSE loss) or ``softmax``
    (a softmax readout of the last layer outside the recurrent state, cross-entropy loss,
    trained with its exact gradient at the free fixed point, or as ``ep.readout_error`` says).
    The readout weights are the last projection of ``model.chain`` (its ``lr`` and ``init``)."""

    kind: Literal["none", "softmax"] = "none"


class ModelSpec(_Frozen):
    """Layers, neuron models and projections."""

    input: InputSpec
    hidden: Union[list[LayerSpec], HiddenStack] = Field(default_factory=list)
    output: LayerSpec
    neuron: NeuronSpec = NeuronSpec()
    chain: ChainSpec = ChainSpec()
    projections: list[ProjectionSpec] = Field(default_factory=list)
    residual: list[ResidualSpec] = Field(default_factory=list)
    readout: ReadoutSpec = ReadoutSpec()

    @field_validator("residual", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return [v]
        return v

    def layer_neurons(self) -> list[tuple[str, NeuronSpec]]:
        """``(key, NeuronSpec)`` of every non-input layer from the bottom up: the default
        ``neuron`` with each layer's override applied (``key`` names the layer's section)."""
        if isinstance(self.hidden, HiddenStack):
            sections = [("hidden", self.hidden.neuron)] * self.hidden.count
        else:
            sections = [(f"hidden[{i}]", h.neuron) for i, h in enumerate(self.hidden)]
        sections.append(("output", self.output.neuron))
        return [(key, self.neuron if over is None else over.apply_to(self.neuron)) for key, over in sections]

    @model_validator(mode="after")
    def _overrides_valid(self) -> Self:
        sections: list[tuple[tuple[str | int, ...], NeuronOverride | None]]
        if isinstance(self.hidden, HiddenStack):
            sections = [(("hidden", "neuron"), self.hidden.neuron)]
        else:
            sections = [(("hidden", i, "neuron"), h.neuron) for i, h in enumerate(self.hidden)]
        for loc, over in sections + [(("output", "neuron"), self.output.neuron)]:
            if over is None:
                continue
            try:
                over.apply_to(self.neuron)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                inner = (err.get("ctx") or {}).get("error")
                allowed = inner.allowed if isinstance(inner, KeyedValueError) else None
                raise KeyedValueError(err["msg"].removeprefix("Value error, "), loc + _sub_loc(err), allowed) from None
        return self


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
    ``common_noise`` (stochastic neurons, centered nudging): the -beta phase reuses the random
    numbers of the +beta phase (common random numbers), so that the difference of the two
    nudged states, from which EP learns, is not swamped by independent noise.
    """

    mode: Literal["exact", "vector_field"] = "exact"
    dt: TimeQuantity = "0.5 ms"
    free_steps: Optional[int] = Field(default=None, gt=0)
    t_free: Optional[TimeQuantity] = None
    nudged_steps: Optional[int] = Field(default=None, gt=0)
    t_nudge: Optional[TimeQuantity] = None
    beta: float = Field(default=0.5, gt=0)
    nudging: Literal["centered", "positive", "random_sign"] = "centered"
    nudge_force: Literal["recomputed", "constant", "accumulated"] = "recomputed"
    readout_error: Literal["free", "nudged"] = "free"
    common_noise: bool = False
    divergence_threshold: float = Field(default=1e6, gt=0)

    @model_validator(mode="after")
    def _common_noise_needs_two_phases(self) -> Self:
        if self.common_noise and self.nudging != "centered":
            raise ValueError(
                "common_noise makes the -beta phase reuse the random numbers of the +beta phase, so it needs "
                f"'nudging: centered' (this spec has nudging '{self.nudging}'), or set common_noise to false"
            )
        return self

    @model_validator(mode="after")
    def _accumulated_needs_vector_field(self) -> Self:
        if self.nudge_force == "accumulated" and self.mode != "vector_field":
            raise ValueError(
                "nudge_force 'accumulated' integrates the nudge over the nudged phase, so the effective "
                "nudging strength is not 'beta' and the exact-mode update (divided by beta) would not be "
                "the gradient; use it with 'mode: vector_field', or set nudge_force to 'recomputed'"
            )
        return self

    @model_validator(mode="after")
    def _nudged_readout_error(self) -> Self:
        if self.readout_error == "nudged" and (self.mode != "vector_field" or self.nudging != "positive"):
            raise ValueError(
                "readout_error 'nudged' trains the readout from the output error at the +beta nudged "
                "state, which is not the loss gradient; it needs 'mode: vector_field' and "
                "'nudging: positive' (this spec has mode "
                f"'{self.mode}', nudging '{self.nudging}'), or set readout_error to 'free'"
            )
        return self

    @model_validator(mode="after")
    def _steps(self) -> Self:
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
        # both are set by validation (from the durations, or their defaults)
        return cast(int, self.free_steps) + n_nudged * cast(int, self.nudged_steps)


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

    @field_validator("adam_betas")
    @classmethod
    def _betas_in_unit_interval(cls, v: Any) -> Any:
        if not all(0 <= b < 1 for b in v):
            raise ValueError(
                f"each Adam beta must be in [0, 1): they are decay rates of running averages (got {list(v)}); "
                "the usual values are [0.9, 0.999]"
            )
        return v


class AugmentSpec(_Frozen):
    """Augmentation of the training images (``data.augment``, ``brian_ep.augment``):
    ``shift``, the largest random translation in pixels on each axis (0: none; zeros move
    in), and ``flip``, mirror half of the images left to right (for data sets whose classes
    are symmetric, such as Fashion-MNIST or CIFAR-10; not for digits). Drawn per epoch from
    ``run.seed``; validation and test images are never augmented."""

    shift: int = Field(default=0, ge=0)
    flip: bool = False


class EventsSpec(_Frozen):
    """How an event stream is binned and presented (``data.events``, ``brian_ep.events``,
    docs/events.md). Events are counted in ``bins`` time bins of ``bin_duration`` from
    ``t = 0`` (later events are dropped), per polarity and pixel after ``downsample`` (a
    spatial factor), times ``scale`` (the input value of one event); ``denoise`` (a time)
    drops isolated events first (tonic's ``Denoise``). The free phase presents bin ``b``
    during its steps ``b * bin_steps .. (b + 1) * bin_steps - 1`` (default ``bin_steps``:
    ``ep.free_steps // bins``); its remaining steps and the nudged phases hold ``hold``:
    the ``last`` bin, or the ``mean`` of the bins (the input's rate estimate). ``seed``: the
    simulated sensor's threshold mismatch (Event-MNIST)."""

    bins: int = Field(default=6, gt=0, le=10000)
    bin_duration: TimeQuantity = "50 ms"
    bin_steps: Optional[int] = Field(default=None, gt=0)
    downsample: int = Field(default=1, ge=1)
    hold: Literal["last", "mean"] = "last"
    scale: float = Field(default=1.0, gt=0)
    denoise: Optional[TimeQuantity] = None
    seed: int = Field(default=0, ge=0)


EVENT_DATASETS = ("event-mnist", "events")


class DataSpec(_Frozen):
    """Data set: ``digits`` (scikit-learn's 8x8 digits, bundled), ``mnist`` or
    ``fashion-mnist`` (IDX files found in ``directory``, ``$BRIAN_EP_DATA`` or standard
    places), or ``cifar10`` (the binary batches, ``brian_ep.cifar``; 3x32x32 images for an
    input of ``shape: [3, 32, 32]``); event streams: ``event-mnist`` (MNIST seen by a simulated
    event camera in three saccades, a stand-in for N-MNIST generated on this machine) or
    ``events`` (your own, passed as ``dataset=`` to ``train``), presented as ``events`` says
    (:class:`EventsSpec`). ``n_train``/``n_test`` take the first samples of each split; ``validation`` is
    the number of training samples held out for model selection; ``augment`` shifts and flips
    the training images (:class:`AugmentSpec`)."""

    dataset: Literal["digits", "mnist", "fashion-mnist", "cifar10", "event-mnist", "events"] = "digits"
    directory: Optional[str] = None
    n_train: Optional[int] = Field(default=None, gt=0)
    n_test: Optional[int] = Field(default=None, gt=0)
    validation: int = Field(default=0, ge=0)
    augment: AugmentSpec = AugmentSpec()
    events: Optional[EventsSpec] = None

    @model_validator(mode="before")
    @classmethod
    def _events_default(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("dataset") in EVENT_DATASETS and values.get("events") is None:
            values = dict(values, events={})
        return values

    @model_validator(mode="after")
    def _events_need_event_data(self) -> "DataSpec":
        if self.events is not None and self.dataset not in EVENT_DATASETS:
            raise KeyedValueError(
                f"is set, but data.dataset is {self.dataset!r}, not an event stream; remove data.events or set "
                "data.dataset: event-mnist (or events, for your own)", ("events",)
            )
        if self.events is not None and (self.augment.shift or self.augment.flip):
            raise KeyedValueError("shifts and flips images, not event streams; remove it for event data", ("augment",))
        return self


class RunSpec(_Frozen):
    """How to run: ``epochs``, ``seed``, the ``engine`` (a registered engine,
    :mod:`brian_ep.engines`: ``brian2``, one sample at a time as Brian2 equations; ``numpy``
    and ``torch``, the same mathematics batched; the baselines), ``chunk_size`` (samples per
    engine call, i.e. between checkpoints), ``eval_batch_size`` and ``dtype`` (arithmetic of
    the batched engines, and of the Brian2 state variables). An engine with settings of its
    own reads them from the section named after it (``run.<engine>: {...}``): Brian2's
    ``device``, codegen ``target`` and OpenMP ``threads`` are ``run.brian2: {device, target,
    threads}`` (:class:`~brian_ep.engines.brian_options.BrianOptions`), torch's are
    ``run.torch``."""

    model_config = ConfigDict(
        frozen=True, extra="allow", arbitrary_types_allowed=True, validate_default=True, allow_inf_nan=False
    )

    epochs: int = Field(default=10, gt=0)
    seed: int = Field(default=0, ge=0)
    engine: str = "brian2"
    chunk_size: int = Field(default=2000, gt=0)
    eval_batch_size: int = Field(default=1000, gt=0)
    dtype: Literal["float64", "float32"] = "float64"
    _engine_options: dict = PrivateAttr(default_factory=dict)

    @field_validator("engine")
    @classmethod
    def _registered_engine(cls, v: Any) -> Any:
        return _one_of(v, engine_names())

    @model_validator(mode="after")
    def _engine_sections(self) -> Self:
        for key, value in (self.model_extra or {}).items():
            if key not in engine_names():
                raise _unknown_key(key, sorted(type(self).model_fields) + list(engine_names()), ())
            if not isinstance(value, dict):
                raise KeyedValueError(f"must be a mapping of the '{key}' engine's options (got {value!r})", (key,))
            self._engine_options[key] = _options(get_engine_entry(key).options_model(), value, (key,))
        return self

    def engine_options(self, name: str | None = None) -> Any:
        """The validated options of engine ``name`` (default: the selected engine), or
        ``None`` if it has none; engine defaults apply where the section is absent."""
        name = self.engine if name is None else name
        if name not in self._engine_options:
            options = get_engine_entry(name).options_model()
            return None if options is None else options()
        return self._engine_options[name]


class Spec(_Frozen):
    """A whole network spec: ``name``, ``description`` and the five sections."""

    name: str = "unnamed"
    description: str = ""
    model: ModelSpec

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: Any) -> Any:
        if not SPEC_NAME.fullmatch(v) or v in (".", ".."):
            raise ValueError(
                "must be a plain name (letters, digits and . _ + -, starting with a letter or digit, at most 100 "
                f"characters): runs are saved in runs/<name>-..., and the name must not leave that folder (got {v!r})"
            )
        return v
    ep: EPSpec = EPSpec()
    optim: OptimSpec = OptimSpec()
    data: DataSpec = DataSpec()
    run: RunSpec = RunSpec()


def _sub_loc(err: Any) -> tuple[Any, ...]:
    """The location inside a nested validation error (branch tags dropped), with the
    sub-location a :class:`KeyedValueError` adds."""
    inner = (err.get("ctx") or {}).get("error")
    extra = inner.loc if isinstance(inner, KeyedValueError) else ()
    return tuple(p for p in err["loc"] if not (isinstance(p, str) and (p[:1].isupper() or "[" in p))) + extra


def _unknown_key(key: Any, allowed: list[str] | tuple[str, ...], loc: tuple[Any, ...]) -> KeyedValueError:
    """The error for a key a section does not have, with the closest allowed one."""
    close = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return KeyedValueError(f"unknown key{hint}", loc + (key,), ", ".join(map(str, allowed)))
