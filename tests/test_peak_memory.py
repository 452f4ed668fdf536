"""The peak memory that training metrics record is the process's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


pytestmark = [pytest.mark.codegen_independent, pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc")]
REPO = Path(__file__).resolve().parents[1]


def _in_child(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO))).stdout


def test_peak_grows_with_memory_touched():
    """In a fresh process (this one may have peaked higher before)."""
    code = ("import numpy as np; from brian_ep.peak_memory import peak_rss_mib; a = peak_rss_mib(); "
            "block = np.ones(96 * 2**20 // 8); print(a, peak_rss_mib())")
    before, after = map(float, _in_child(code).split())
    assert 80 < after - before < 120


def test_a_child_does_not_inherit_its_parents_peak():
    """ru_maxrss survives exec (a child reports at least its parent's peak); VmHWM does not."""
    block = np.ones(300 * 2**20 // 8)  # this process now peaks above 300 MiB
    code = ("import resource; from brian_ep.peak_memory import peak_rss_mib; "
            "print(peak_rss_mib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    own, inherited = map(float, _in_child(code).split())
    assert own < 150 < 300 < inherited
    del block
