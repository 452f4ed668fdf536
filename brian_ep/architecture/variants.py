"""The same network with other settings, for analyses that compare them."""

from __future__ import annotations

__all__ = ["with_gamma"]


def with_gamma(spec, gamma: float):
    """The same spec with every feedback factor set from ``gamma``: the chain (including
    entries of ``model.projections`` that override a chain projection) gets ``gamma``; other
    extra projections and skips get ``auto`` in exact mode (the consistent value) and
    ``gamma`` in vector-field mode. ``gamma`` must lie in (0, 1]; pass the result to
    :func:`~brian_ep.architecture.build_architecture`.
    """
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must lie in (0, 1] (got {gamma})")
    from .build import build_architecture

    m = spec.model
    each = "auto" if spec.ep.mode == "exact" else float(gamma)
    arch = build_architecture(spec)
    chain = {(p.pre, p.post) for p in arch.all_projections if p.kind in ("chain", "readout")}
    model = m.model_copy(
        update={
            "chain": m.chain.model_copy(update={"gamma": float(gamma)}),
            "residual": [r.model_copy(update={"gamma": each}) for r in m.residual],
            # an entry that overrides a chain projection (e.g. makes it a convolution) takes the chain's gamma
            "projections": [
                p.model_copy(update={"gamma": None if (p.pre, p.post) in chain else each}) for p in m.projections
            ],
        }
    )
    return spec.model_copy(update={"model": model})
