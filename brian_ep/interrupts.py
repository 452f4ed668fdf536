"""Ctrl-C during training: the first one stops at the next safe point, the second at once.

:class:`StopGuard` replaces the SIGINT (and SIGTERM) handler while a run trains. The first
Ctrl-C only sets :attr:`StopGuard.requested`; the trainer finishes the current chunk, writes
its checkpoint and then stops with :class:`~brian_ep.errors.Interrupted`. A second Ctrl-C (or
SIGTERM) raises :class:`~brian_ep.errors.Interrupted` wherever Python is: a child process
being waited for (the C++ compiler, the standalone binary) is killed by the code that waits
for it, and the checkpoint of the last finished chunk stays as it was (checkpoints are
written atomically).

Brian2 has its own Ctrl-C handling (``prefs.core.stop_on_keyboard_interrupt``): it ends a
running simulation early, which would leave a chunk half-learned. The guard switches it off
while it is active, and the standalone program ignores SIGINT (see
:mod:`brian_ep.brian.program`), so a Ctrl-C from the terminal, which reaches the whole
process group, is handled here only.
"""

from __future__ import annotations

import signal
import sys
import threading

from .errors import Interrupted

__all__ = ["StopGuard"]

_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class StopGuard:
    """A context manager that turns SIGINT and SIGTERM into a stop at a safe point.

    Outside the main thread (where Python cannot install signal handlers) it does nothing.

    Attributes
    ----------
    requested : bool
        A first Ctrl-C arrived: stop at the next safe point.
    immediate : bool
        A second Ctrl-C (or SIGTERM) arrived and :class:`Interrupted` was raised.
    signal_name : str or None
        What stopped the run (``"Ctrl-C"``, ``"SIGTERM"``).
    """

    def __init__(self, stream=None):
        self.stream = stream
        self.requested = False
        self.immediate = False
        self.signal_name = None
        self._previous = {}
        self._brian_pref = None

    def __enter__(self) -> "StopGuard":
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in _NAMES:
            self._previous[signum] = signal.signal(signum, self._handle)
        self._brian_pref = _set_brian_stop_pref(False)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        if self._brian_pref is not None:
            _set_brian_stop_pref(self._brian_pref)
            self._brian_pref = None

    def _handle(self, signum, frame) -> None:
        self.signal_name = _NAMES.get(signum, f"signal {signum}")
        if self.requested or signum != signal.SIGINT:
            self.immediate = True
            raise Interrupted(f"stopped at once by {self.signal_name}", exit_code=128 + signum)
        self.requested = True
        print(
            "\nbrian-ep: Ctrl-C: stopping after this chunk and its checkpoint (press Ctrl-C again to stop at once)",
            file=self.stream or sys.stderr,
            flush=True,
        )

    @property
    def stopped(self) -> bool:
        """Whether a stop was asked for (at a safe point or at once)."""
        return self.requested or self.immediate


def _set_brian_stop_pref(value: bool):
    """Set ``prefs.core.stop_on_keyboard_interrupt``; returns the previous value."""
    from brian2 import prefs

    previous = prefs.core.stop_on_keyboard_interrupt
    prefs.core.stop_on_keyboard_interrupt = value
    return previous
