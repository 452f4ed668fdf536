"""Names that must stay distinct once the Brian2 builder has joined them.

Layer and projection names become parts of Brian2 object names (``ep_<layer>``,
``ep_<pre>_<post>``, ``ep_<layer>_schedule``...), of variable names (``I_<pre>_<post>``) and
of the arrays in ``weights.npz``. Two different networks elements whose joined names agree
(layers ``a``, ``b_c`` and ``a_b``, ``c`` both give the projection ``a_b_c``), or a layer
named like an object the builder adds itself (``readout``, ``stim``...), would otherwise fail
deep inside Brian2 or silently share weights. :func:`check_names` refuses them when the
spec is loaded.
"""

from __future__ import annotations

from ..errors import SpecError

__all__ = ["BUILDER_OBJECTS", "LAYER_SUFFIXES", "PROJECTION_SUFFIXES", "check_names", "object_names"]

#: Objects the Brian2 builder names ``<prefix>_<name>`` besides layers and projections.
BUILDER_OBJECTS = (
    "readout", "readout_latch", "normaliser", "clock", "window_clock", "stim", "target", "mask", "signs",
    "outputs", "network", "readout_clear",
)
#: Objects named ``<prefix>_<layer>_<suffix>`` (per-layer operations).
LAYER_SUFFIXES = ("load", "schedule", "divergence", "nudge_error", "optim", "clear", "clear_spikes", "relay", "relay_clear")
#: Objects named ``<prefix>_<projection>_<suffix>`` (per-projection operations).
PROJECTION_SUFFIXES = ("ep", "optim")


def object_names(layer_names, projection_names) -> dict:
    """Every name (without the ``<prefix>_``) the builder may give an object, mapped to the
    list of ``(what it belongs to, layer name or None)`` that would make it."""
    owners = {}

    def add(name, owner, layer=None):
        owners.setdefault(name, []).append((owner, layer))

    for name in BUILDER_OBJECTS:
        add(name, f"the builder's own '{name}' object")
    for layer in layer_names:
        add(layer, f"layer '{layer}'", layer)
        for suffix in LAYER_SUFFIXES:
            add(f"{layer}_{suffix}", f"layer '{layer}'", layer)
    for proj in projection_names:
        add(proj, f"projection '{proj}'")
        for suffix in PROJECTION_SUFFIXES:
            add(f"{proj}_{suffix}", f"projection '{proj}'")
    return owners


def check_names(layer_keys: dict, projections) -> None:
    """Refuse layer names whose joined Brian2 names collide.

    Parameters
    ----------
    layer_keys : dict of str to str
        Layer name -> the spec key that names it (``model.hidden[1].name``), from the input up.
    projections : sequence of (name, pre, post)

    Raises
    ------
    SpecError
        At the key of a layer involved, naming the layers and the name they share.
    """
    layer_names = list(layer_keys)
    names = [name for name, _, _ in projections]
    for i, (name, pre, post) in enumerate(projections):
        for other, o_pre, o_post in projections[:i]:
            if other == name:
                raise SpecError(
                    f"the projections '{o_pre} -> {o_post}' and '{pre} -> {post}' would both be named '{name}' "
                    "(projection names join the layer names with '_'), so Brian2 objects and weights would collide",
                    key=layer_keys[post],
                    allowed="layer names that stay distinct when joined, e.g. without underscores",
                )
    for name, owners in object_names(layer_names, names).items():
        distinct = list(dict.fromkeys(owner for owner, _ in owners))
        if len(owners) > 1:
            key = next((layer_keys[layer] for _, layer in reversed(owners) if layer in layer_keys), "model")
            what = " and ".join(distinct) if len(distinct) > 1 else f"{distinct[0]} (twice)"
            raise SpecError(
                f"{what} would both make a Brian2 object named '<prefix>_{name}'; rename the layer",
                key=key,
                allowed=f"layer names other than {', '.join(repr(n) for n in BUILDER_OBJECTS)}, that stay distinct "
                "when joined with '_'",
            )
