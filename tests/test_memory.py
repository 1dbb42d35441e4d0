"""Peak memory as the bench reports it for its fresh search process."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from fluffy_desktop.engine.memory import peak_rss_mb


def test_a_process_started_by_a_large_one_reports_its_own_peak():
    """ru_maxrss carries the parent's peak into a child across vfork + exec: the cold-start
    process of a 1M-vector bench would report the bench's memory, not its own."""
    held = np.ones(1 << 27)  # 1 GiB, touched
    assert peak_rss_mb() > 1024
    ask = "from fluffy_desktop.engine.memory import peak_rss_mb; print(peak_rss_mb())"
    child = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True)
    assert 1 < float(child.stdout) < 300 and held[-1] == 1
