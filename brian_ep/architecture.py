"""The network a spec describes, resolved: layers, projections, feedback factors and the
energy weights that keep feedback-regulated EP exact.

Knows nothing of Brian2 objects or files: the engines and :mod:`brian_ep.maths` read it.

Energy weights (exact mode)
---------------------------
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

import math
from collections import deque
from dataclasses import dataclass, field

from .spec.errors import SpecError
from .spec.schema import HiddenStack, InitSpec, Spec
from .topology import skip_pairs

__all__ = ["Layer", "Projection", "Architecture", "build_architecture"]

_CONSISTENCY_RTOL = 1e-9


@dataclass(frozen=True)
class Layer:
    """One layer. ``eps = dt / tau`` is the Euler step of its dynamics (dimensionless)."""

    name: str
    index: int
    size: int
    role: str  # "input", "hidden", "output"
    activation: str = "identity"
    tau: float = 0.0  # seconds
    eps: float = 1.0
    bias: bool = False

    @property
    def is_input(self) -> bool:
        return self.role == "input"


@dataclass(frozen=True)
class Projection:
    """A projection ``pre -> post`` with one weight matrix of shape ``(n_pre, n_post)``."""

    name: str
    pre: str
    post: str
    gamma: float
    lr: float
    init: InitSpec = field(default_factory=InitSpec)
    kind: str = "chain"  # "chain", "extra", "residual", "readout"


@dataclass(frozen=True)
class Architecture:
    """The resolved network: what every engine builds.

    Attributes
    ----------
    layers : tuple of Layer
        Input first, then hidden layers, then the output layer.
    projections : tuple of Projection
        Recurrent (energy) projections; the softmax readout, if any, is ``readout``.
    readout : Projection or None
        The ``last hidden -> output`` projection read through a softmax outside the
        recurrent state (``model.readout: softmax``), else None.
    energy_weights : dict
        ``c_l`` for every free layer (exact mode); all 1 in vector-field mode.
    mode : str
        ``"exact"`` or ``"vector_field"``.
    """

    layers: tuple
    projections: tuple
    readout: Projection | None
    energy_weights: dict
    mode: str

    # -- lookup -------------------------------------------------------------------------
    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def input(self) -> Layer:
        return self.layers[0]

    @property
    def output(self) -> Layer:
        return self.layers[-1]

    @property
    def free_layers(self) -> tuple:
        """The layers with dynamics (all but the input, and the output under a softmax readout)."""
        return tuple(
            layer for layer in self.layers[1:] if not (self.readout is not None and layer.role == "output")
        )

    @property
    def top(self) -> Layer:
        """The free layer that receives the nudging force."""
        return self.free_layers[-1]

    def incoming(self, name: str) -> tuple:
        return tuple(p for p in self.projections if p.post == name)

    def outgoing(self, name: str) -> tuple:
        return tuple(p for p in self.projections if p.pre == name)

    def projection(self, name: str) -> Projection:
        for p in self.all_projections:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def all_projections(self) -> tuple:
        return self.projections + ((self.readout,) if self.readout is not None else ())

    def weight_scale(self, projection: Projection) -> float:
        """``c_post``: the factor of the EP update of ``projection`` (1 in vector-field mode)."""
        if projection.kind == "readout":
            return 1.0
        return self.energy_weights[projection.post]

    def n_params(self) -> int:
        n = sum(self.layer(p.pre).size * self.layer(p.post).size for p in self.all_projections)
        return n + sum(layer.size for layer in self.free_layers if layer.bias)


def _layer_name(default, given):
    return given if given is not None else default


def build_architecture(spec: Spec) -> Architecture:
    """Resolve a spec into an :class:`Architecture`.

    Raises
    ------
    SpecError
        Unknown or duplicate layer names, projections into the input, duplicate edges,
        ``dt`` larger than a ``tau``, feedback factors that admit no energy (exact mode), or
        layers that cannot receive an error signal.
    """
    m, ep = spec.model, spec.ep
    dt = float(ep.dt)

    # -- layers ---------------------------------------------------------------------------
    if isinstance(m.hidden, HiddenStack):
        hidden_specs = [(f"h{i + 1}", m.hidden.size, m.hidden.neuron, "model.hidden") for i in range(m.hidden.count)]
    else:
        hidden_specs = [
            (_layer_name(f"h{i + 1}", h.name), h.size, h.neuron, f"model.hidden[{i}]") for i, h in enumerate(m.hidden)
        ]
    readout_softmax = m.readout.kind == "softmax"
    if ep.readout_error != "free" and not readout_softmax:
        raise SpecError(
            f"readout_error '{ep.readout_error}' sets how the softmax readout learns, but this model has no "
            "softmax readout (its output layer is part of the recurrent state)",
            key="ep.readout_error",
            allowed="readout_error: free, or model.readout: {kind: softmax}",
        )
    if readout_softmax and not hidden_specs:
        raise SpecError(
            "a softmax readout needs at least one hidden layer (it reads the last hidden layer)",
            key="model.readout.kind",
            allowed="'none' for a network without hidden layers",
        )

    layers = [Layer(_layer_name("input", m.input.name), 0, m.input.size, "input")]
    entries = hidden_specs + [(_layer_name("output", m.output.name), m.output.size, m.output.neuron, "model.output")]
    for i, (name, size, override, key) in enumerate(entries):
        neuron = m.neuron
        if override is not None:
            # attributes, not model_dump(): that serialises tau to text ("2 ms")
            given = {k: getattr(override, k) for k in type(override).model_fields}
            neuron = neuron.model_copy(update={k: v for k, v in given.items() if v is not None})
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
        layers.append(Layer(name, i + 1, size, role, neuron.activation, tau, eps, neuron.bias))
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"layer name '{name}' is used twice", key="model", allowed="distinct layer names")
    index = {name: i for i, name in enumerate(names)}

    # -- chain ------------------------------------------------------------------------------
    n_chain = len(layers) - 1
    gammas = _per_projection(m.chain.gamma, n_chain, "model.chain.gamma")
    lrs = _per_projection(m.chain.lr, n_chain, "model.chain.lr")
    scale = spec.optim.lr_scale
    projections: dict[tuple[str, str], Projection] = {}
    for i in range(n_chain):
        pre, post = names[i], names[i + 1]
        projections[(pre, post)] = Projection(f"{pre}_{post}", pre, post, gammas[i], lrs[i] * scale, m.chain.init)

    def chain_lr_into(post):
        return projections[(names[index[post] - 1], post)].lr

    def chain_gamma_into(post):
        return projections[(names[index[post] - 1], post)].gamma

    def check_edge(pre, post, key):
        for end, what in ((pre, "pre"), (post, "post")):
            if end not in index:
                raise SpecError(
                    f"unknown layer '{end}' as {what}", key=key, allowed=", ".join(repr(n) for n in names)
                )
        if pre == post:
            raise SpecError(f"a projection from '{pre}' to itself is not allowed", key=key)
        if index[post] == 0:
            raise SpecError(
                f"'{post}' is the clamped input layer; no projection may end there",
                key=key,
                allowed="a hidden or output layer as post",
            )
        if readout_softmax and (pre == names[-1] or (post == names[-1] and index[pre] != len(names) - 2)):
            raise SpecError(
                "with a softmax readout only the last hidden layer projects to the output, and the output "
                "projects nowhere (it is read outside the recurrent state)",
                key=key,
            )

    # -- extra projections / overrides ------------------------------------------------------
    pending_auto = []
    for i, p in enumerate(m.projections):
        key = f"model.projections[{i}]"
        check_edge(p.pre, p.post, key)
        if (p.post, p.pre) in projections:
            raise SpecError(
                f"'{p.pre} -> {p.post}' duplicates the projection '{p.post} -> {p.pre}': one symmetric "
                "weight already couples these layers in both directions",
                key=key,
            )
        existing = projections.get((p.pre, p.post))
        if existing is not None and existing.kind != "chain":
            raise SpecError(f"duplicate projection '{p.pre} -> {p.post}'", key=key)
        base = existing or Projection(
            f"{p.pre}_{p.post}", p.pre, p.post, chain_gamma_into(p.post), chain_lr_into(p.post), m.chain.init, "extra"
        )
        gamma = base.gamma if p.gamma is None else p.gamma
        if gamma == "auto":
            pending_auto.append((p.pre, p.post, key))
            gamma = math.nan
        projections[(p.pre, p.post)] = Projection(
            base.name,
            p.pre,
            p.post,
            gamma,
            base.lr if p.lr is None else p.lr * scale,
            base.init if p.init is None else p.init,
            base.kind,
        )

    # -- residual topologies ------------------------------------------------------------------
    n_hidden = len(hidden_specs)
    residual_keys = {}  # skip -> "model.residual[i]" of the entry that made it
    for r_i, res in enumerate(m.residual):
        key = f"model.residual[{r_i}]"
        if n_hidden < 3:
            raise SpecError(
                f"residual skips need at least 3 hidden layers (this network has {n_hidden})", key=key
            )
        for a, b in skip_pairs(res, n_hidden, spec.run.seed):
            pre, post = names[a], names[b]
            if (pre, post) in projections or (post, pre) in projections:
                raise SpecError(f"the skip '{pre} -> {post}' duplicates an existing projection", key=key)
            residual_keys[(pre, post)] = key
            gamma = res.gamma
            if gamma == "auto":
                pending_auto.append((pre, post, key))
                gamma = math.nan
            projections[(pre, post)] = Projection(
                f"{pre}_{post}",
                pre,
                post,
                gamma,
                chain_lr_into(post) if res.lr is None else res.lr * scale,
                m.chain.init if res.init is None else res.init,
                "residual",
            )

    readout = None
    if readout_softmax:
        readout = projections.pop((names[-2], names[-1]))
        readout = Projection(readout.name, readout.pre, readout.post, 1.0, readout.lr, readout.init, "readout")

    free = [layer for layer in layers[1:] if not (readout is not None and layer.role == "output")]
    top = free[-1].name

    # -- energy weights / gamma 'auto' --------------------------------------------------------
    if ep.mode == "exact":
        weights = _energy_weights(projections, [l.name for l in free], top, names[0], pending_auto)
        auto = {(pre, post) for pre, post, _ in pending_auto}
        for pre, post in auto:
            gamma = 1.0 if pre == names[0] else weights[post] / weights[pre]
            projections[(pre, post)] = _replace_gamma(projections[(pre, post)], gamma)
        for (pre, post), p in projections.items():
            if pre == names[0] or (pre, post) in auto:
                continue
            want = weights[post] / weights[pre]
            if abs(p.gamma - want) > _CONSISTENCY_RTOL * max(want, p.gamma):
                raise SpecError(
                    f"gamma of projection '{pre} -> {post}' is {p.gamma:g}, but the other projections fix "
                    f"c_{post}/c_{pre} = {want:.6g}; with this gamma the network has no energy and exact EP "
                    "does not hold",
                    key=f"{residual_keys[(pre, post)]}.gamma" if (pre, post) in residual_keys else _key_of(m, pre, post),
                    allowed=f"gamma: {want:.6g} or gamma: auto (or ep.mode: vector_field)",
                )
    else:
        for pre, post, key in pending_auto:
            gamma = 1.0 if pre == names[0] else chain_gamma_into(post)
            projections[(pre, post)] = _replace_gamma(projections[(pre, post)], gamma)
        weights = {layer.name: 1.0 for layer in free}
        _check_reaches_top(projections, [l.name for l in free], top, names[0])

    ordered = sorted(projections.values(), key=lambda p: (index[p.post], index[p.pre]))
    return Architecture(tuple(layers), tuple(ordered), readout, weights, ep.mode)


def _per_projection(value, n, key):
    if isinstance(value, list):
        if len(value) != n:
            raise SpecError(
                f"has {len(value)} entries but the chain has {n} projections", key=key,
                allowed=f"one number, or a list of {n}",
            )
        return [float(v) for v in value]
    return [float(value)] * n


def _replace_gamma(p: Projection, gamma: float) -> Projection:
    return Projection(p.name, p.pre, p.post, float(gamma), p.lr, p.init, p.kind)


def _key_of(m, pre, post):
    for i, p in enumerate(m.projections):
        if p.pre == pre and p.post == post:
            return f"model.projections[{i}].gamma"
    if m.residual:
        return "model.residual.gamma"
    return "model.chain.gamma"


def _free_edges(projections, input_name):
    return [(p.pre, p.post, p.gamma) for p in projections.values() if p.pre != input_name]


def _check_reaches_top(projections, free, top, input_name):
    adj = {name: set() for name in free}
    for pre, post, _ in _free_edges(projections, input_name):
        adj[pre].add(post)
        adj[post].add(pre)
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


def _energy_weights(projections, free, top, input_name, pending_auto):
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
