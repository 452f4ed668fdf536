"""Resolve a spec into an :class:`~brian_ep.architecture.network.Architecture`: layers with their
neuron models, the chain, extra projections, residual skips and the softmax readout; the
feedback factors and energy weights come from :mod:`brian_ep.architecture.feedback`.

The result is cached by the spec's content, so every caller (spec validation, training,
the engines, analysis) gets the same immutable object for the same spec.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict

from ..engines.registry import engine_names, get_engine_entry
from ..errors import SpecError
from ..neurons import get_neuron_model
from ..spec.load import spec_to_dict
from ..spec.schema import HiddenStack
from ..topology import skip_pairs
from .feedback import resolve_feedback
from .names import check_names
from .network import Architecture, Conv, Layer, Projection

__all__ = ["build_architecture"]

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 64


def build_architecture(spec) -> Architecture:
    """Resolve a spec into an :class:`Architecture` (cached by the spec's content).

    Raises
    ------
    SpecError
        Unknown or duplicate layer names, projections into the input, duplicate edges,
        ``dt`` larger than a ``tau``, feedback factors that admit no energy (exact mode), or
        layers that cannot receive an error signal.
    """
    key = json.dumps(spec_to_dict(spec), sort_keys=True, default=str)
    arch = _CACHE.get(key)
    if arch is None:
        arch = _resolve(spec)
        _CACHE[key] = arch
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return arch


def _resolve(spec) -> Architecture:
    m = spec.model
    _check_readout(spec)
    layers = _layers(spec)
    names = [layer.name for layer in layers]
    projections = _chain(spec, names)
    pending_auto = []
    _add_extra_projections(m, layers, projections, pending_auto, spec.optim.lr_scale)
    residual_keys = _add_residual_skips(spec, names, projections, pending_auto)
    check_names(_layer_keys(m, names), [(p.name, p.pre, p.post) for p in projections.values()])
    readout = _split_readout(m, names, projections)
    _check_engine_features(spec, projections)
    free = [layer.name for layer in layers[1:] if not (readout is not None and layer.role == "output")]
    weights = resolve_feedback(spec, names[0], free, projections, pending_auto, residual_keys)
    index = {name: i for i, name in enumerate(names)}
    ordered = sorted(projections.values(), key=lambda p: (index[p.post], index[p.pre]))
    return Architecture(tuple(layers), tuple(ordered), readout, weights, spec.ep.mode)


def _check_readout(spec) -> None:
    m, ep = spec.model, spec.ep
    softmax = m.readout.kind == "softmax"
    if ep.readout_error != "free" and not softmax:
        raise SpecError(
            f"readout_error '{ep.readout_error}' sets how the softmax readout learns, but this model has no "
            "softmax readout (its output layer is part of the recurrent state)",
            key="ep.readout_error",
            allowed="readout_error: free, or model.readout: {kind: softmax}",
        )
    if softmax and not _hidden_sizes(m):
        raise SpecError(
            "a softmax readout needs at least one hidden layer (it reads the last hidden layer)",
            key="model.readout.kind",
            allowed="'none' for a network without hidden layers",
        )


def _hidden_sizes(m) -> list:
    """``(name, size, key of its neuron section)`` of every hidden layer."""
    if isinstance(m.hidden, HiddenStack):
        key = "model.hidden.neuron" if m.hidden.neuron is not None else "model.neuron"
        return [(f"h{i + 1}", m.hidden.size, key) for i in range(m.hidden.count)]
    return [
        (h.name or f"h{i + 1}", h.size, f"model.hidden[{i}].neuron" if h.neuron is not None else "model.neuron")
        for i, h in enumerate(m.hidden)
    ]


def _layers(spec) -> list:
    m, dt = spec.model, float(spec.ep.dt)
    output_key = "model.output.neuron" if m.output.neuron is not None else "model.neuron"
    entries = _hidden_sizes(m) + [(m.output.name or "output", m.output.size, output_key)]
    shapes = _layer_shapes(m)
    layers = [Layer(m.input.name or "input", 0, m.input.size, "input", shape=shapes[0], encoding=m.input.encoding)]
    for i, ((name, size, key), (_, neuron)) in enumerate(zip(entries, m.layer_neurons())):
        tau = float(neuron.tau)
        eps = dt / tau
        if eps > 1 + 1e-12:
            raise SpecError(
                f"dt ({dt * 1e3:g} ms) is larger than tau ({tau * 1e3:g} ms) of layer '{name}'; "
                "the Euler step dt/tau must be <= 1",
                key="ep.dt",
                allowed=f"dt <= {tau * 1e3:g} ms, or a larger tau",
            )
        role = "output" if i == len(entries) - 1 else "hidden"
        model = get_neuron_model(neuron.model)
        layer = Layer(
            name, i + 1, size, role, neuron.activation, tau, eps, neuron.bias, model, neuron.options,
            shape=shapes[i + 1],
        )
        _check_model(layer, spec.ep, key)
        _check_model_features(layer, spec.run.engine, key)
        layers.append(layer)
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"layer name '{name}' is used twice", key="model", allowed="distinct layer names")
    return layers


def _layer_shapes(m) -> list:
    """``(channels, height, width)`` of every layer from the input up (``()`` if flat)."""
    hidden = [None] * m.hidden.count if isinstance(m.hidden, HiddenStack) else [h.shape for h in m.hidden]
    return [tuple(s) if s is not None else () for s in [m.input.shape, *hidden, m.output.shape]]


def _layer_key(m, names, name) -> str:
    """The spec section of layer ``name``."""
    i = names.index(name)
    if i == 0:
        return "model.input"
    if i == len(names) - 1:
        return "model.output"
    return "model.hidden" if isinstance(m.hidden, HiddenStack) else f"model.hidden[{i - 1}]"


def _layer_keys(m, names) -> dict:
    """Layer name -> the spec key that names it (its section's ``name``; a stack of hidden
    layers is named by the stack), from the input up."""
    sections = {name: _layer_key(m, names, name) for name in names}
    return {name: key if key == "model.hidden" else f"{key}.name" for name, key in sections.items()}


def _conv_of(m, layers, p, key):
    """The :class:`Conv` geometry of the projection spec ``p`` (``None`` if dense), after
    checking that its layers are images whose shapes the convolution and pooling connect."""
    c = p.conv
    if c is None:
        return None
    names = [layer.name for layer in layers]
    if m.readout.kind == "softmax" and p.post == names[-1]:
        raise SpecError("the softmax readout is dense; it cannot be a convolution", key=f"{key}.conv",
                        allowed="remove 'conv' from this projection")
    pre, post = (layers[names.index(n)] for n in (p.pre, p.post))
    for layer in (pre, post):
        if not layer.shape:
            raise SpecError(
                f"a convolution needs image layers, but layer '{layer.name}' has no shape",
                key=f"{_layer_key(m, names, layer.name)}.shape",
                allowed=f"shape: [channels, height, width] with product {layer.size}",
            )
    (_, h, w), pool = pre.shape, c.pool_factor
    h_conv, w_conv = h + 2 * c.padding - c.kernel + 1, w + 2 * c.padding - c.kernel + 1
    what = f"a {c.kernel}x{c.kernel} convolution with padding {c.padding} maps '{pre.name}' ({h}x{w}) to {h_conv}x{w_conv}"
    if h_conv < 1 or w_conv < 1:
        raise SpecError(f"{what}: the kernel is larger than the padded image", key=f"{key}.conv.kernel")
    if h_conv % pool or w_conv % pool:
        raise SpecError(f"{what}, which {pool}x{pool} pooling does not divide", key=f"{key}.conv.pool_size",
                        allowed=f"a pool_size that divides {h_conv} and {w_conv}, or another padding")
    want = (post.shape[0], h_conv // pool, w_conv // pool)
    if post.shape != want:
        after = f" then {pool}x{pool} average pooling to {want[1]}x{want[2]}" if pool > 1 else ""
        raise SpecError(
            f"{what}{after}, but layer '{post.name}' has shape {list(post.shape)}",
            key=f"{_layer_key(m, names, post.name)}.shape",
            allowed=f"shape: {list(want)} (or change the kernel, padding or pooling of {key}.conv)",
        )
    return Conv(pre.shape, post.shape, c.kernel, c.padding, pool)


def _check_engine_features(spec, projections) -> None:
    """Refuse a convolution, or an event stream, under an engine that does not run it (with
    its reason), and a stream that does not fit the free phase."""
    entry = get_engine_entry(spec.run.engine)
    _check_events(spec, entry)
    reason = entry.refuses.get("conv")
    if reason is not None and any(p.conv is not None for p in projections.values()):
        raise SpecError(
            f"the '{entry.name}' engine does not run convolutional projections: {reason}",
            key="run.engine",
            allowed="an engine that runs them, e.g. 'numpy', or dense projections only",
        )


def _check_events(spec, entry) -> None:
    """An event stream (``data.events``): an engine that presents it, a current-encoded input,
    and ``bins * bin_steps <= ep.free_steps``."""
    ev = spec.data.events
    if ev is None:
        return
    reason = entry.refuses.get("events")
    if reason is not None:
        raise SpecError(f"the '{entry.name}' engine does not present event streams: {reason}", key="run.engine",
                        allowed="'numpy' or 'brian2'")
    if spec.model.input.encoding != "current":
        raise SpecError("an event stream enters as a current (its binned counts times data.events.scale); "
                        "spike-encoded event input is not built yet", key="model.input.encoding", allowed="current")
    if ev.bin_steps is not None and ev.bins * ev.bin_steps > spec.ep.free_steps:
        raise SpecError(
            f"the stream takes data.events.bins * bin_steps = {ev.bins} * {ev.bin_steps} = {ev.bins * ev.bin_steps} "
            f"free-phase steps, but ep.free_steps is {spec.ep.free_steps}", key="data.events.bin_steps",
            allowed=f"at most {spec.ep.free_steps // ev.bins} (or raise ep.free_steps)",
        )


def _check_model_features(layer, engine: str, key: str) -> None:
    """Refuse a feature of the layer's neuron model (``features``, e.g. a refractory period)
    that the engine does not implement (its entry's ``refuses``), at the feature's key in the
    layer's ``neuron`` section, naming the engines that implement it."""
    entry = get_engine_entry(engine)
    for feature in sorted(layer.neuron.features(layer)):
        reason = entry.refuses.get(feature)
        if reason is None:
            continue
        takers = [name for name in engine_names() if feature not in get_engine_entry(name).refuses]
        raise SpecError(
            f"the '{entry.name}' engine does not implement '{feature}' of the neuron model '{layer.neuron.name}' "
            f"(layer '{layer.name}'): {reason}. It would train another model than the engines that do",
            key=f"{key}.{feature}", allowed=f"run.engine: {', '.join(takers)}; or remove {key}.{feature}",
        )


def _check_model(layer, ep, key) -> None:
    """Ask the layer's neuron model whether it can work with the EP schedule; a plain
    ``ValueError`` is reported at the layer's neuron section ``key``, a ``SpecError`` whose key
    starts with ``.`` at that key inside the section."""
    try:
        layer.neuron.check(layer, ep)
    except SpecError as exc:
        if exc.key and exc.key.startswith("."):  # a key inside the neuron section
            raise SpecError(exc.message, key=key + exc.key, allowed=exc.allowed) from None
        raise
    except ValueError as exc:
        raise SpecError(str(exc), key=key) from None


def _per_projection(value, n, key):
    if isinstance(value, list):
        if len(value) != n:
            raise SpecError(
                f"has {len(value)} entries but the chain has {n} projections", key=key,
                allowed=f"one number, or a list of {n}",
            )
        return [float(v) for v in value]
    return [float(value)] * n


def weight_bounds(sign: str, bounds, key: str = "model.chain") -> tuple:
    """The interval ``(lower, upper)`` a projection's weights are kept in, from its ``sign``
    (``excitatory``: >= 0, ``inhibitory``: <= 0, ``any``) and its ``bounds`` (or None)."""
    lower, upper = (-math.inf, math.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if sign == "excitatory":
        lower = max(lower, 0.0)
    elif sign == "inhibitory":
        upper = min(upper, 0.0)
    if not lower < upper:
        raise SpecError(
            f"sign '{sign}' and bounds {list(bounds)} leave no weight value (the interval is [{lower:g}, {upper:g}])",
            key=f"{key}.bounds",
        )
    return (lower, upper)


def _chain(spec, names) -> dict:
    m = spec.model
    n_chain = len(names) - 1
    gammas = _per_projection(m.chain.gamma, n_chain, "model.chain.gamma")
    lrs = _per_projection(m.chain.lr, n_chain, "model.chain.lr")
    scale = spec.optim.lr_scale
    bounds = weight_bounds(m.chain.sign, m.chain.bounds)
    projections = {}
    for i in range(n_chain):
        pre, post = names[i], names[i + 1]
        projections[(pre, post)] = Projection(f"{pre}_{post}", pre, post, gammas[i], lrs[i] * scale, m.chain.init, "chain", bounds=bounds)
    return projections


def _chain_into(projections, names, post) -> Projection:
    return projections[(names[names.index(post) - 1], post)]


def _check_edge(m, names, pre, post, key) -> None:
    for end, what in ((pre, "pre"), (post, "post")):
        if end not in names:
            raise SpecError(f"unknown layer '{end}' as {what}", key=key, allowed=", ".join(repr(n) for n in names))
    if pre == post:
        raise SpecError(f"a projection from '{pre}' to itself is not allowed", key=key)
    if names.index(post) == 0:
        raise SpecError(
            f"'{post}' is the clamped input layer; no projection may end there",
            key=key,
            allowed="a hidden or output layer as post",
        )
    if m.readout.kind == "softmax" and (pre == names[-1] or (post == names[-1] and names.index(pre) != len(names) - 2)):
        raise SpecError(
            "with a softmax readout only the last hidden layer projects to the output, and the output "
            "projects nowhere (it is read outside the recurrent state)",
            key=key,
        )


def _add_extra_projections(m, layers, projections, pending_auto, lr_scale) -> None:
    """``model.projections``: new projections, or overrides of chain projections."""
    names = [layer.name for layer in layers]
    for i, p in enumerate(m.projections):
        key = f"model.projections[{i}]"
        _check_edge(m, names, p.pre, p.post, key)
        if (p.post, p.pre) in projections:
            raise SpecError(
                f"'{p.pre} -> {p.post}' duplicates the projection '{p.post} -> {p.pre}': one symmetric "
                "weight already couples these layers in both directions",
                key=key,
            )
        existing = projections.get((p.pre, p.post))
        if existing is not None and existing.kind != "chain":
            raise SpecError(f"duplicate projection '{p.pre} -> {p.post}'", key=key)
        into = _chain_into(projections, names, p.post)
        base = existing or Projection(f"{p.pre}_{p.post}", p.pre, p.post, into.gamma, into.lr, m.chain.init, "extra", bounds=into.bounds)
        gamma = base.gamma if p.gamma is None else p.gamma
        if gamma == "auto":
            pending_auto.append((p.pre, p.post, key))
            gamma = math.nan
        lr = base.lr if p.lr is None else p.lr * lr_scale
        init = base.init if p.init is None else p.init
        conv = _conv_of(m, layers, p, key)
        bounds = base.bounds
        if p.sign is not None or p.bounds is not None:
            bounds = weight_bounds(p.sign or m.chain.sign, p.bounds if p.bounds is not None else m.chain.bounds, key)
        projections[(p.pre, p.post)] = Projection(
            base.name, p.pre, p.post, gamma, lr, init, base.kind, conv=conv, bounds=bounds
        )


def _add_residual_skips(spec, names, projections, pending_auto) -> dict:
    """``model.residual``: skip projections from the topologies; returns ``{edge: key}``."""
    m = spec.model
    n_hidden = len(_hidden_sizes(m))
    residual_keys = {}
    for r_i, res in enumerate(m.residual):
        key = f"model.residual[{r_i}]"
        if n_hidden < 3:
            raise SpecError(f"residual skips need at least 3 hidden layers (this network has {n_hidden})", key=key)
        for a, b in skip_pairs(res, n_hidden, spec.run.seed):
            pre, post = names[a], names[b]
            if (pre, post) in projections or (post, pre) in projections:
                raise SpecError(f"the skip '{pre} -> {post}' duplicates an existing projection", key=key)
            residual_keys[(pre, post)] = key
            gamma = res.gamma
            if gamma == "auto":
                pending_auto.append((pre, post, key))
                gamma = math.nan
            lr = _chain_into(projections, names, post).lr if res.lr is None else res.lr * spec.optim.lr_scale
            init = m.chain.init if res.init is None else res.init
            bounds = weight_bounds(res.sign, res.bounds, key)
            projections[(pre, post)] = Projection(f"{pre}_{post}", pre, post, gamma, lr, init, "residual", bounds=bounds)
    return residual_keys


def _split_readout(m, names, projections):
    """Under a softmax readout, take the ``last hidden -> output`` projection out of the
    recurrent projections."""
    if m.readout.kind != "softmax":
        return None
    p = projections.pop((names[-2], names[-1]))
    return Projection(p.name, p.pre, p.post, 1.0, p.lr, p.init, "readout", bounds=p.bounds)
