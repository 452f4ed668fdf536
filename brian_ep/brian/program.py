"""Compiled Brian2 programs (``cpp_standalone``, ``cuda_standalone``), each built once on a
device of its own and run many times with ``run_args``.

Brian2 keeps one standalone project per device, and a device that has built a project must
be re-initialised before it builds another. brian_ep needs two programs alive at once (the
training program and the shorter prediction program, alternating every epoch), and must not
disturb a device the user selected. So each :class:`StandaloneProgram` gets a fresh device
*instance* of the user's (or the spec's) standalone device class, activated only while the
program is built, run or read (Brian2's ``set_device`` accepts a device object, and the
objects' variables stay bound to the device they were created on). The user's device, its
``build_on_run`` setting and its state are left as they were: a script can call
:func:`brian_ep.train` any number of times.

Where a program lives: ``<directory>/<kind>`` with ``directory`` the one given to
``set_device(..., directory=D)``, else the engine's working directory (the run directory's
``standalone/`` folder), else a temporary folder removed by :meth:`StandaloneProgram.close`.
Compiled once per structure: a ``cpp_standalone`` program is generated into a fresh folder,
compiled only if :mod:`~brian_ep.brian.program_cache` holds no program with the same
generated code, and the compiled project is copied into the program's folder, where it runs
(its results and ``run_args`` files stay there). Everything a run changes (seed, weights,
learning rates, data) is a run argument, so another seed, a ``compare`` or a sweep over
learning rates reuses the program. With the cache off (``BRIAN_EP_CACHE=off``), or under
``cuda_standalone``, the program is built in its folder: building into a folder that holds
the same program again only re-runs ``make``, which finds nothing to compile.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import ArgumentError, BrianEPError
from .program_cache import cache_root, cached_build, copy_program, staging_folder
from .shield import compile_program, shield_program

__all__ = ["StandaloneProgram", "standalone_device", "NVCC_FLAGS", "HOST_STD"]

#: nvcc flags added under ``cuda_standalone``: CUDA 13's Thrust needs C++17, brian2cuda passes c++11
NVCC_FLAGS = ("-std=c++17",)
#: the host compiler's C++ standard under ``cuda_standalone`` (nvcc hands Brian2's gcc flags,
#: ``-std=c++11`` by default, to the host compiler, where Thrust refuses anything below C++17)
HOST_STD = "-std=c++17"


def standalone_device(run_device: str):
    """The standalone device class to build with, and the directory the user chose.

    Returns ``(device_class, directory)``: the class of the active device if the user selected
    a standalone device with ``set_device`` (and the ``directory`` given to it, or None), else
    the class that ``run_device`` names (``cpp_standalone``, ``cuda_standalone``), else
    ``(None, None)`` for runtime devices.
    """
    from brian2 import get_device
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    active = get_device()
    if isinstance(active, CPPStandaloneDevice):
        return type(active), (active.build_options or {}).get("directory")
    if run_device == "cpp_standalone":
        return CPPStandaloneDevice, None
    if run_device == "cuda_standalone":
        from brian2.devices.device import all_devices

        try:
            import brian2cuda  # noqa: F401  (registers the device)
        except ImportError:
            raise ArgumentError(
                "run.brian2.device 'cuda_standalone' needs brian2cuda (Python 3.12, brian2 2.10.1, an NVIDIA GPU "
                "with CUDA); install it with pip install 'brian_ep[cuda]' on Python 3.12"
            ) from None

        return type(all_devices["cuda_standalone"]), None
    return None, None


class StandaloneProgram:
    """One compiled program on a device instance of its own.

    Parameters
    ----------
    device_class : type
        A ``CPPStandaloneDevice`` subclass (``cpp_standalone``, ``cuda_standalone``).
    kind : str
        The program's name and sub-folder (``"train"``, ``"predict"``).
    base : str or Path, optional
        Folder that holds the program's folder; ``None``: a temporary folder, removed by
        :meth:`close`.
    prefs : dict, optional
        Brian2 preferences in force while the objects are created and the program built
        (e.g. ``{"core.default_float_dtype": numpy.float32}``); restored afterwards.
    """

    def __init__(self, device_class, kind: str, base=None, prefs=None):
        self.device = device_class()
        self.kind = kind
        self._temporary = base is None
        base = Path(tempfile.mkdtemp(prefix="brian_ep_")) if base is None else Path(base)
        self._base = base
        self.directory = str(base / kind)
        self.prefs = dict(prefs or {})
        # the program ignores SIGINT (shield.py) whatever this says; fixed, so that a program built
        # inside train's StopGuard (False) and one built by evaluate (True) have the same code
        self.prefs.setdefault("core.stop_on_keyboard_interrupt", False)
        if type(self.device).__name__ == "CUDAStandaloneDevice":
            key = "devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc"
            self.prefs.setdefault(key, _with_flags(key, NVCC_FLAGS))
            self.prefs.setdefault("codegen.cpp.extra_compile_args_gcc", _host_flags())
        self.net = None
        #: whether :meth:`build` compiled (``False``: the program came from the cache, or was not compiled)
        self.compiled = False
        #: wall time of :meth:`build` (s): objects, symbolic run, code generation, compilation or cache
        self.build_seconds = 0.0

    @contextmanager
    def active(self):
        """Make this program's device the active one (and restore the previous device)."""
        from brian2 import set_device
        from brian2.devices.device import reset_device

        set_device(self.device, build_on_run=False)
        try:
            yield self.device
        finally:
            reset_device()

    @contextmanager
    def _prefs(self):
        from brian2 import prefs

        previous = {key: prefs[key] for key in self.prefs}
        try:
            for key, value in self.prefs.items():
                prefs[key] = value
            yield
        finally:
            for key, value in previous.items():
                prefs[key] = value

    def build(self, make_network, compile: bool = True, profile: bool = False, info: dict | None = None):
        """Create the objects with ``make_network()`` (an :class:`EPNetwork`) on this program's
        device, run them symbolically and build (and compile) the project; returns the
        network, whose variables the ``run_args`` of :meth:`run` refer to. ``profile``:
        compile Brian2's per-code-object timers in (``brian2.profiling_summary``). ``info``:
        recorded with a cached program (``brian-ep cache list``).

        Objects of programs closed earlier in this process are collected first, so that Brian2
        gives the new code objects the same names (and so the same source files) as before,
        and the generated code depends on the network only."""
        t0 = time.perf_counter()
        gc.collect()
        with self.active(), self._prefs():
            net = make_network()
            net.network.run(net.duration, namespace={}, profile=profile)
            self.device.clocks = _ByName(self.device.clocks)
            _clock_settings_by_name(self.device)
            shield_program(self.device)
            killable = os.name != "nt" and type(self.device).__name__ == "CPPStandaloneDevice"
            root = cache_root() if compile and killable else None
            if root is not None:
                self._build_cached(root, info)
            else:
                self.device.build(directory=self.directory, compile=compile and not killable, run=False, with_output=False)
                if compile and killable:  # make in a process group that an interrupt ends (shield.py)
                    compile_program(self.directory)
                    self.compiled = True
        self.net = net
        self.build_seconds = time.perf_counter() - t0
        return net

    def _build_cached(self, root, info) -> None:
        """Generate the project into a staging folder of the cache, compile it there unless the
        cache holds it (:func:`~brian_ep.brian.program_cache.cached_build`), copy the compiled
        project into :attr:`directory` and point the device there (where ``run`` writes its
        ``run_args`` files and reads its results)."""
        staging = staging_folder(root)
        try:
            self.device.build(directory=str(staging), compile=False, run=False, with_output=False)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        from brian2 import __version__

        info = {"kind": self.kind, "device": type(self.device).__name__, "brian2": __version__, **(info or {})}
        entry, self.compiled = cached_build(root, staging, compile_program, info)
        copy_program(entry, self.directory)
        self.device.project_dir = self.directory
        self.device.results_dir = os.path.join(os.path.abspath(os.path.join(self.directory, "results")), "")

    def run(self, run_args: dict) -> None:
        """Run the compiled program once with ``run_args`` (``{variable_view or TimedArray: array}``).

        Brian2 checks the results for values above 1e50, which overflows when it casts that
        bound to float32 state (``run.dtype: float32``): numpy's overflow warning is silenced
        here (divergence is checked by the engine)."""
        import numpy as np

        with self.active(), np.errstate(over="ignore"):
            try:
                self.device.run(directory=self.directory, with_output=False, run_args=run_args)
            except RuntimeError as exc:  # the binary ended with an error (killed, out of memory...)
                raise BrianEPError(
                    f"the compiled program failed: {exc}; its output is in {self.directory}/results/stdout.txt. The "
                    "last checkpoint is kept; resume once the cause (memory, disk space, a killed process) is fixed"
                ) from None

    def read(self, function):
        """``function()`` evaluated with this program's device active (reading results)."""
        with self.active():
            return function()

    def close(self) -> None:
        """Forget the objects; remove the program's folder if it is a temporary one."""
        self.net = None
        if self._temporary:
            shutil.rmtree(self._base, ignore_errors=True)


class _ByName(set):
    """A set that iterates in name order. Brian2 writes ``main.cpp`` by iterating over the
    device's set of clocks, whose order follows object addresses: with it, the same program
    gives the same ``main.cpp``, and ``make`` has nothing to recompile."""

    def __iter__(self):
        return iter(sorted(set.__iter__(self), key=lambda obj: obj.name))


def _clock_settings_by_name(device) -> None:
    """Order the settings of clock variables that ``main`` makes before a run by clock name.

    Brian2 resets the clocks of a network by iterating over a set (``Network.run``), so the
    order of those lines in ``main.cpp`` follows object addresses and changes from one
    process to the next; the assignments are independent, and in name order the same network
    gives the same code (and the same cache key)."""
    names = {device.get_array_name(clock.variables[v], access_data=False): clock.name for clock in device.clocks for v in ("t", "timestep")}
    queue, start = device.main_queue, 0
    while start < len(queue):
        end = start
        while end < len(queue) and queue[end][0] == "set_by_single_value" and queue[end][1][0] in names:
            end += 1
        if end > start:
            block = list(enumerate(queue[start:end]))
            block.sort(key=lambda item: (names[item[1][1][0]], item[0]))
            queue[start:end] = [entry for _, entry in block]
        start = end + 1


def _host_flags() -> list:
    from brian2 import prefs

    flags = [f for f in prefs["codegen.cpp.extra_compile_args_gcc"] if not f.startswith("-std=")]
    return flags + [HOST_STD]


def _with_flags(key, flags) -> list:
    from brian2 import prefs

    current = list(prefs[key])
    return current + [f for f in flags if f not in current]
