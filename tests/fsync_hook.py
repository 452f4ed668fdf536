"""A replacement for ``os.fsync`` that sends signals to this process at the n-th fsync of a
checkpoint's temporary file: after its bytes are written, before its rename (the middle of an
atomic checkpoint write). Used in-process and by a driver process in test_interrupts.py."""

from __future__ import annotations

import os


def fsync_that_signals(fsync, n: int, signals):
    """``fsync`` wrapped: its ``n``-th call on a ``.checkpoint.npz.*`` file first sends ``signals``."""
    seen = [0]

    def hooked(fd):
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".checkpoint.npz."):
            seen[0] += 1
            if seen[0] == n:
                for s in signals:
                    os.kill(os.getpid(), s)
        return fsync(fd)

    return hooked
