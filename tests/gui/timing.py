"""Measuring how long the UI thread goes without handling events."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer


class GapMeter:
    """Ticks every 10 ms in the UI thread and records the longest wait between two ticks."""

    def __init__(self):
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.longest = 0.0
        self.ticks = 0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now
        self.ticks += 1

    def __enter__(self) -> GapMeter:
        self.last = time.perf_counter()
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.stop()
