"""The ``compiles`` marker kept honest: a count of the code generation and compilation that a
test starts in this process, so that a test that compiles without the marker fails.

``python -m pytest -m "not compiles"`` is the fast inner loop; it stays fast only if every
test that generates or compiles code carries the marker. Counted here (a call is counted
whether or not a cache then spares the compiler):

* a Brian2 standalone project written (``CPPStandaloneDevice.build``, also with
  ``compile=False``: cpp_standalone and, through its subclass, cuda_standalone);
* a Cython extension asked for by Brian2's runtime ``cython`` target
  (``CythonExtensionManager.create_extension``);
* a frame traced by ``torch.compile`` (TorchDynamo's frame counter, read only if torch was
  imported).

Compilation in another process (a forked or spawned ``brian-ep``) is not seen.
"""

from __future__ import annotations

import functools
import sys

__all__ = ["install_if_loaded", "compilations", "check"]

_CALLS = {"brian2 standalone build": 0, "Cython extension": 0}


def _counting(cls, name: str, what: str) -> None:
    original = getattr(cls, name)
    if getattr(original, "_counted", False):
        return

    @functools.wraps(original)
    def counted(*args, **kwargs):
        _CALLS[what] += 1
        return original(*args, **kwargs)

    counted._counted = True
    setattr(cls, name, counted)


def install_if_loaded() -> None:
    """Count the calls of Brian2's standalone build and of its Cython extension manager, once
    Brian2 is imported (importing it here would slow down every test run that needs no Brian2;
    a test that is the first to import Brian2 is therefore not checked)."""
    device = sys.modules.get("brian2.devices.cpp_standalone.device")
    if device is not None:
        _counting(device.CPPStandaloneDevice, "build", "brian2 standalone build")
    cython = sys.modules.get("brian2.codegen.runtime.cython_rt.extension_manager")
    if cython is not None:
        _counting(cython.CythonExtensionManager, "create_extension", "Cython extension")


def compilations() -> dict:
    """The counts so far, by kind (``torch.compile``: frames TorchDynamo has traced)."""
    counts = dict(_CALLS)
    utils = sys.modules.get("torch._dynamo.utils")
    counts["torch.compile frame"] = 0 if utils is None else utils.counters["frames"]["total"]
    return counts


def check(item, before: dict, phase: str, now: dict | None = None) -> None:
    """Fail ``item`` if it compiled something in ``phase`` (from the counts ``before`` to
    ``now``, default the present ones) without the ``compiles`` marker."""
    if item.get_closest_marker("compiles") is not None:
        return
    now = compilations() if now is None else now
    started = [f"{what} ({now[what] - n:+d})" for what, n in before.items() if now[what] != n]
    if started:
        raise AssertionError(
            f"{item.nodeid} generated or compiled code in its {phase} ({', '.join(started)}) but is not marked "
            "'compiles': add @pytest.mark.compiles (or pytestmark = pytest.mark.compiles for a module), so that "
            "the fast loop `python -m pytest -m \"not compiles\"` leaves it out"
        )
