"""One readable listing of a built network: for every Brian2 object, in the order Brian2 runs
them within a time step, its clock, its equations and the code of every operation it contains
(state update, thresholds, the phase schedule and learning rules of ``run_regularly``,
synaptic pathways, summed variables). This is the abstract code Brian2 generates its numpy,
Cython or C++ code from."""

from __future__ import annotations

__all__ = ["network_listing"]


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in str(text).strip().splitlines())


def _code_of(obj) -> str:
    code = getattr(obj, "abstract_code", None)
    if isinstance(code, dict):
        code = "\n".join(f"{k}: {v}" for k, v in code.items())
    if not code and hasattr(obj, "code") and isinstance(obj.code, str):
        code = obj.code
    return code or ""


def _slot(obj) -> str:
    return f"{obj.when} {obj.order:+d}, dt = {obj.clock.dt}"


def _describe(obj) -> list:
    lines = [f"{type(obj).__name__} {obj.name}  (N = {len(obj) if hasattr(obj, '__len__') and type(obj).__name__ != 'StateMonitor' else '-'}, {_slot(obj)})"]
    equations = getattr(obj, "equations", None)
    if equations is not None and str(equations).strip():
        lines += ["  equations:", _indent(equations)]
    subs = {sub.name: sub for sub in list(getattr(obj, "contained_objects", [])) + list(getattr(obj, "_pathways", []))}
    for sub in subs.values():
        code = _code_of(sub)
        if code.strip():
            lines += [f"  {sub.name}  ({_slot(sub)}):", _indent(code)]
    return lines


def network_listing(net) -> str:
    """The listing of an :class:`~brian_ep.brian.network.EPNetwork` (see the module notes)."""
    objects = sorted(net.objects, key=lambda o: (o.when, o.order, o.name))
    header = [
        f"# brian_ep network '{net.network.name}': {net.n_windows} sample windows of {net.window_steps} steps, dt = {net.dt}"
        + (" (prediction: free phase only)" if net.predict else ""),
    ]
    blocks = ["\n".join(_describe(obj)) for obj in objects]
    return "\n\n".join(header + blocks) + "\n"
