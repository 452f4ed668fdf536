"""Feedback factors and energy weights: the part of the architecture that keeps
feedback-regulated EP exact.

A projection ``p: a -> b`` (weights ``W_p``) adds ``W_p r_a`` to the input current of ``b``
(feedforward gain 1) and ``gamma_p W_p^T r_b`` to that of ``a`` (feedback gain ``gamma_p``).
These dynamics descend the energy

    E = sum_l c_l [ sum_i G(r_li) - b_l . r_l ] - sum_p c_post(p) r_post(p)^T W_p r_pre(p)

(``G' = rho^{-1}``) when, for every projection between free layers, ``c_post = gamma_p c_pre``.
Taking logs, ``log c`` is a potential on the layer graph and ``log gamma_p`` its differences, so
a set of gammas admits an energy if and only if the product of the gammas around every cycle
of the graph (counting a projection walked backwards as ``1/gamma``) is 1. Projections from
the clamped input impose nothing (the input has no dynamics). We normalise ``c = 1`` at the
layer that receives the nudge, so the nudging force is ``beta * dC/dr`` unscaled; the EP
update of ``W_p`` is then multiplied by ``c_post(p)``. See ``docs/fre.md``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from ..errors import SpecError

__all__ = ["resolve_feedback", "energy_weights"]

_CONSISTENCY_RTOL = 1e-9


def resolve_feedback(spec, input_name, free, projections, pending_auto, residual_keys) -> dict:
    """Fill in every ``gamma: auto`` (in ``projections``, in place) and return the energy
    weights ``{layer: c_l}`` of the free layers (all 1 in vector-field mode).

    Parameters
    ----------
    free : list of str
        The free layers, bottom up; the last one receives the nudge (``c = 1``).
    projections : dict
        ``{(pre, post): Projection}`` of the recurrent projections.
    pending_auto : list of (pre, post, key)
        Projections whose ``gamma`` is ``auto``, with their spec keys.
    residual_keys : dict
        ``{(pre, post): key}`` of the residual skips, to name them in errors.
    """
    top = free[-1]
    if spec.ep.mode != "exact":
        for pre, post, _ in pending_auto:
            gamma = 1.0 if pre == input_name else _chain_gamma_into(projections, post)
            projections[(pre, post)] = replace(projections[(pre, post)], gamma=float(gamma))
        _check_reaches_top(projections, free, top, input_name)
        return {name: 1.0 for name in free}
    weights = energy_weights(projections, free, top, input_name, pending_auto)
    auto = {(pre, post) for pre, post, _ in pending_auto}
    for pre, post in auto:
        gamma = 1.0 if pre == input_name else weights[post] / weights[pre]
        projections[(pre, post)] = replace(projections[(pre, post)], gamma=float(gamma))
    for (pre, post), p in projections.items():
        if pre == input_name or (pre, post) in auto:
            continue
        want = weights[post] / weights[pre]
        if abs(p.gamma - want) > _CONSISTENCY_RTOL * max(want, p.gamma):
            skip = residual_keys.get((pre, post))
            raise SpecError(
                f"gamma of projection '{pre} -> {post}' is {p.gamma:g}, but the other projections fix "
                f"c_{post}/c_{pre} = {want:.6g}; with this gamma the network has no energy and exact EP "
                "does not hold",
                key=f"{skip}.gamma" if skip else _key_of(spec.model, pre, post),
                allowed=f"gamma: {want:.6g} or gamma: auto (or ep.mode: vector_field)",
            )
    return weights


def _chain_gamma_into(projections, post) -> float:
    """The gamma of the chain projection into ``post``."""
    for p in projections.values():
        if p.post == post and p.kind == "chain":
            return p.gamma
    raise KeyError(post)


def _key_of(m, pre, post):
    for i, p in enumerate(m.projections):
        if p.pre == pre and p.post == post:
            return f"model.projections[{i}].gamma"
    if m.residual:
        return "model.residual.gamma"
    return "model.chain.gamma"


def _check_reaches_top(projections, free, top, input_name):
    adj = {name: set() for name in free}
    for p in projections.values():
        if p.pre != input_name:
            adj[p.pre].add(p.post)
            adj[p.post].add(p.pre)
    seen, queue = {top}, deque([top])
    while queue:
        for nxt in adj[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    for name in free:
        if name not in seen:
            raise SpecError(
                f"layer '{name}' is not coupled to '{top}' through free layers, so it would never receive "
                "an error signal",
                key="model.projections",
                allowed="a projection linking it to the rest of the network",
            )
    return seen


def energy_weights(projections, free, top, input_name, pending_auto) -> dict:
    """Solve ``c_post = gamma c_pre`` over the free-layer graph with ``c_top = 1``."""
    auto = {(a, b) for a, b, _ in pending_auto}
    fixed = [p for p in projections.values() if p.pre != input_name and (p.pre, p.post) not in auto]
    # Chain projections first: they form a path, so they fix every c_l consistently, and a
    # conflicting gamma is then reported on the skip or extra projection that causes it.
    c = {top: 1.0}
    for allowed in ({"chain"}, {"chain", "extra", "residual"}):
        adj = {name: [] for name in free}
        for p in fixed:
            if p.kind in allowed:
                adj[p.pre].append((p.post, p.gamma))  # c_post = gamma c_pre
                adj[p.post].append((p.pre, 1.0 / p.gamma))
        queue = deque(c)
        while queue:
            a = queue.popleft()
            for b, factor in adj[a]:
                if b not in c:
                    c[b] = c[a] * factor
                    queue.append(b)
    for pre, post, key in pending_auto:
        if pre == input_name:
            continue
        if pre not in c or post not in c:
            raise SpecError(
                f"cannot derive gamma 'auto' for '{pre} -> {post}': its layers are not linked by projections "
                "with explicit gammas",
                key=key,
                allowed="an explicit gamma in (0, 1]",
            )
    _check_reaches_top(projections, free, top, input_name)
    for name in free:
        if name not in c:
            raise SpecError(
                f"the energy weight of layer '{name}' is undetermined: it is linked to '{top}' only through "
                "projections with gamma 'auto'",
                key="model.projections",
                allowed="an explicit gamma on one of its projections",
            )
    return {name: c[name] for name in free}
