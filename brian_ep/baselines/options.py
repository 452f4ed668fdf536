"""Spec options of the baselines, read from the sections ``run.bptt_snn`` and
``run.bptt_crnn`` (pydantic models with no heavy imports, so that the engine registry can
validate a spec without torch or snntorch installed).

Example::

    run:
      engine: bptt_snn
      bptt_snn:
        steps: 25
        surrogate: atan
        optim: {algorithm: adam, batch_size: 32, lr: 0.002}

A baseline trains with the spec's optimiser (``optim``, the projections' ``lr``) unless its
section says otherwise in ``optim`` (:class:`BaselineOptim`): gradients of networks this
different need their own learning rates, and an snn is slow at one sample per step.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["BaselineOptim", "BackpropOptions", "SnnOptions", "CrnnOptions", "SURROGATE_SLOPES", "bp_steps", "crnn_steps",
           "snn_steps"]

#: The surrogate gradients of :mod:`snntorch.surrogate` that ``surrogate`` may name, with the
#: default of their slope parameter (``atan``: ``alpha``; the sigmoids: ``slope``).
SURROGATE_SLOPES = {"atan": 2.0, "fast_sigmoid": 25.0, "sigmoid": 25.0}


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BaselineOptim(_Options):
    """How a baseline's optimiser departs from the spec's ``optim`` (unset keys: the spec's).

    Attributes
    ----------
    algorithm : {"sgd", "adam"}, optional
    batch_size : int, optional
        Samples per optimiser step. Mini-batches are cut within each chunk of
        ``run.chunk_size`` samples, so a chunk size that is a multiple of it keeps them equal.
    lr : float, optional
        One learning rate for every weight and bias (instead of the projections' ``lr``);
        ``optim.lr_scale`` and the schedule still apply.
    """

    algorithm: Optional[Literal["sgd", "adam"]] = None
    batch_size: Optional[int] = Field(default=None, gt=0)
    lr: Optional[float] = Field(default=None, gt=0)


class BackpropOptions(_Options):
    """Settings common to the baselines (``run.bp``, and part of the others)."""

    optim: BaselineOptim = BaselineOptim()


class SnnOptions(BackpropOptions):
    """The snntorch network of ``run.engine: bptt_snn`` (:mod:`brian_ep.baselines.snn`).

    Every layer after the input is a layer of leaky integrate-and-fire neurons
    (``snn.Leaky``), ``U[t] = beta U[t-1] + I[t] - S[t-1] theta`` (reset by subtraction; with
    ``reset: zero`` the membrane is set to 0 after a spike), ``S[t] = H(U[t] - theta)``.

    Attributes
    ----------
    steps : int
        Time steps ``T`` a sample is presented for (and backpropagated through), e.g. 25.
    beta : float
        Membrane decay per step, in (0, 1] (0.95: a time constant of about 20 steps).
    threshold : float
        Firing threshold ``theta`` (dimensionless, in units of the input current).
    reset : {"subtract", "zero"}
        What a spike does to the membrane.
    surrogate : {"atan", "fast_sigmoid", "sigmoid"}
        The derivative used for ``dS/dU`` in the backward pass (``snntorch.surrogate``).
    slope : float, optional
        Its sharpness (``atan``: ``alpha``, default 2; ``fast_sigmoid``, ``sigmoid``:
        ``slope``, default 25).
    input : {"direct", "rate"}
        ``direct``: the pixel values as a constant current at every step; ``rate``: Bernoulli
        spikes with probability the pixel value at every step, drawn from a generator seeded
        by the run seed and the position in the run.
    loss : {"membrane_ce", "rate_ce"}
        ``membrane_ce``: cross-entropy of the output membrane potentials at every step,
        averaged over steps (snntorch tutorial 5); the prediction is the largest mean
        membrane potential. ``rate_ce``: cross-entropy of the output spikes at every step
        (``snntorch.functional.ce_rate_loss``); the prediction is the largest spike count.
    optim : BaselineOptim
        Departures from the spec's optimiser.
    """

    steps: int = Field(default=25, gt=0)
    beta: float = Field(default=0.95, gt=0, le=1)
    threshold: float = Field(default=1.0, gt=0)
    reset: Literal["subtract", "zero"] = "subtract"
    surrogate: Literal["atan", "fast_sigmoid", "sigmoid"] = "atan"
    slope: Optional[float] = Field(default=None, gt=0)
    input: Literal["direct", "rate"] = "direct"
    loss: Literal["membrane_ce", "rate_ce"] = "membrane_ce"

    @model_validator(mode="after")
    def _default_slope(self):
        if self.slope is None:
            object.__setattr__(self, "slope", SURROGATE_SLOPES[self.surrogate])
        return self


class CrnnOptions(BackpropOptions):
    """The recurrent network of ``run.engine: bptt_crnn`` (:mod:`brian_ep.baselines.crnn`).

    Attributes
    ----------
    steps : int, optional
        Steps of the free phase that backprop runs through (default: the spec's
        ``ep.free_steps``, the free phase EP runs).
    optim : BaselineOptim
        Departures from the spec's optimiser.
    """

    steps: Optional[int] = Field(default=None, gt=0)


def bp_steps(spec) -> int:
    """Steps per sample of ``bp``: one feed-forward pass."""
    return 1


def crnn_steps(spec) -> int:
    """Steps of the free phase that ``bptt_crnn`` backpropagates through: ``run.bptt_crnn.steps``
    or, by default, the spec's ``ep.free_steps``."""
    steps = spec.run.engine_options("bptt_crnn").steps
    return spec.ep.free_steps if steps is None else steps


def snn_steps(spec) -> int:
    """Time steps ``bptt_snn`` simulates per sample: ``run.bptt_snn.steps``."""
    return spec.run.engine_options("bptt_snn").steps
