"""The UI thread while work runs: how long it goes without handling events, and work held
mid-task so that a test can check the UI meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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


class Hold:
    """Wraps a function so that its nth call stops until `release` is set (at most
    `timeout` seconds). While the worker waits there, mid-task, a test can show that the UI
    thread goes on handling events: it gets control back and finds the hold still waiting."""

    def __init__(self, real: Callable, nth: int = 1, timeout: float = 20.0):
        self.real, self.nth, self.timeout, self.calls = real, nth, timeout, 0
        self.reached, self.release, self.over = (threading.Event() for _ in range(3))
        self.in_ui_thread = False

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.nth:
            self.in_ui_thread = threading.current_thread() is threading.main_thread()
            self.reached.set()
            released = self.release.wait(self.timeout)
            self.over.set()
            if not released:
                raise TimeoutError("held work was never released: was the UI thread blocked?")
        return self.real(*args, **kwargs)

    def waiting(self) -> bool:
        """The held call has started and is still waiting to be released."""
        return self.reached.is_set() and not self.over.is_set()
