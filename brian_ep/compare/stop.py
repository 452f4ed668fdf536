"""Ctrl-C during ``brian-ep compare``: the same as during ``brian-ep train``.

Each run trains in a child process with a process group of its own (:func:`brian_ep.compare.runner.train_run`),
so the terminal's Ctrl-C reaches only ``compare``, and :class:`ChildStop` forwards each signal
to the running child once: the first Ctrl-C lets the child finish its chunk and write its
checkpoint, a second one (or SIGTERM) stops it at once, as in ``train``. Between runs, a first
Ctrl-C stops before the next run and a second at once. ``compare`` then raises
:class:`~brian_ep.errors.Interrupted` (exit status 130) with the command that continues: the
same ``compare`` command, which reads finished runs and resumes the interrupted one. While
the guard is active, Brian2's own SIGINT handler (which calls whatever handler was there
before Brian2 was imported, and fails where that was ``SIG_IGN``) is not installed.
"""

from __future__ import annotations

import signal
import threading

from ..errors import Interrupted

__all__ = ["ChildStop"]

_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class ChildStop:
    """A context manager owning SIGINT and SIGTERM while ``compare`` trains (main thread only).

    Attributes
    ----------
    child : subprocess.Popen or None
        The training process now running; signals are forwarded to it.
    signal_name : str or None
        The first signal that arrived (``"Ctrl-C"``, ``"SIGTERM"``), ``None`` if none.
    exit_code : int
        ``128 + signal number`` of the last signal (130 for Ctrl-C).
    """

    def __init__(self):
        self.child = None
        self.signal_name = None
        self.exit_code = 130
        self._count = 0
        self._previous = {}

    def __enter__(self) -> "ChildStop":
        if threading.current_thread() is threading.main_thread():
            for signum in _NAMES:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    @property
    def stopped(self) -> bool:
        """Whether a stop was asked for."""
        return self._count > 0

    def _handle(self, signum, frame) -> None:
        self._count += 1
        self.signal_name = self.signal_name or _NAMES.get(signum, f"signal {signum}")
        self.exit_code = 128 + signum
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)  # the child stops as train does; compare waits for it
            return
        if self._count > 1 or signum != signal.SIGINT:
            raise Interrupted(f"compare stopped at once by {self.signal_name}", exit_code=self.exit_code)

    def check(self, what: str, command: str) -> None:
        """Raise :class:`Interrupted` if a stop was asked for; ``what`` says what was kept."""
        if self.stopped:
            raise Interrupted(
                f"compare stopped by {self.signal_name}: {what}. Continue with: {command} (finished runs are read, "
                "an interrupted one resumes from its checkpoint)",
                exit_code=self.exit_code,
            )
