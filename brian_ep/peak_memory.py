"""The peak resident memory of the running process, as training metrics record it.

On Linux this is ``VmHWM`` of ``/proc/self/status``, the high-water mark of the process's
own address space. ``getrusage().ru_maxrss`` is not used there because it survives ``exec``:
a process started by a large parent reports at least the parent's peak. Elsewhere
``ru_maxrss`` is the best available measure.
"""

from __future__ import annotations

import sys

__all__ = ["peak_rss_mib"]


def peak_rss_mib() -> float | None:
    """Peak resident memory of this process so far, in MiB (``None`` if unknown)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
