"""How much memory this process has held at most (light: no torch, for any process to ask)."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

STATUS = Path("/proc/self/status")


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    On Linux, VmHWM of /proc/self/status: ru_maxrss would be wrong for a process started by a
    large one, as it keeps the parent's peak across the fork (vfork) and exec that made it.
    Elsewhere ru_maxrss (KiB on Linux, bytes on macOS).
    """
    if STATUS.is_file():
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024
