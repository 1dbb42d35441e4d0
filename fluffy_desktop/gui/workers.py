"""Engine work off the UI thread: a QThread per job, engine callbacks turned into signals.

A job runs `work(progress, cancel)`: `progress(stage, done, total)` is the engine's callback
convention and `cancel` the threading.Event the engine checks. The outcome comes back as exactly
one of `succeeded(result)`, `failed(message)` or `cancelled()`, in the UI thread.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QDialog

from fluffy_desktop.engine.errors import Cancelled, FluffyError, first_line
from fluffy_desktop.engine.tasks import Progress

Work = Callable[[Progress, threading.Event], Any]
log = logging.getLogger(__name__)

# Progress reaches the UI at most this often (engine callbacks may come per photo).
PROGRESS_INTERVAL_S = 0.05
# The window waits this long at most for its jobs when it closes (then the app ends anyway).
STOP_TIMEOUT_S = 2.0
# Workers share the GIL with the UI thread, which waits this long at most before a busy worker
# is asked to let go of it (Python's default is 5 ms).
GIL_SWITCH_S = 0.001


def user_message(exc: BaseException) -> str:
    """The one line a user sees for an exception: ours as written, anything else named briefly."""
    line = first_line(exc)
    if isinstance(exc, FluffyError):
        return line
    detail = line[:160]
    return f"Something went wrong ({type(exc).__name__}{': ' + detail if detail else ''})"


class Job(QThread):
    """One piece of engine work in its own thread, with throttled progress and cancel."""

    progressed = Signal(str, int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, work: Work, parent: QObject | None = None):
        super().__init__(parent)
        self._work = work
        self.cancel_event = threading.Event()
        self._last_progress = 0.0

    def cancel(self) -> None:
        self.cancel_event.set()

    def _progress(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.progressed.emit(stage, int(done), int(total))

    def run(self) -> None:
        try:
            result = self._work(self._progress, self.cancel_event)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:
            if not isinstance(exc, FluffyError):
                log.exception("background work failed")
            self.failed.emit(user_message(exc))
        else:
            self.succeeded.emit(result)


class _FastSwitching:
    """Shortens the GIL switch interval while any job runs (in any window), then puts back
    the interval the process had. Used from the UI thread only."""

    def __init__(self) -> None:
        self.users = 0
        self.saved = sys.getswitchinterval()

    def acquire(self) -> None:
        if self.users == 0:
            self.saved = sys.getswitchinterval()
            sys.setswitchinterval(min(self.saved, GIL_SWITCH_S))
        self.users += 1

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            sys.setswitchinterval(self.saved)


_switching = _FastSwitching()
# Jobs still running past stop_all's limit. A QThread destroyed while it runs aborts the
# process, so they are kept here, silenced, until the process ends (gui.app.run ends it at once).
_abandoned: set[Job] = set()


class Jobs(QObject):
    """Keeps running jobs alive until they end, and stops them all when the window closes.

    `ended(job)` comes in the UI thread once a job's thread is over; with `is_running` it lets
    a watcher that connects after `start` (when the job may already be done) miss nothing.
    """

    ended = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: set[Job] = set()
        self._stopped = False

    def start(
        self,
        work: Work,
        *,
        done: Callable[[Any], None] | None = None,
        error: Callable[[str], None] | None = None,
        progress: Progress | None = None,
        cancelled: Callable[[], None] | None = None,
    ) -> Job:
        """Start work; `done(result)`, `error(message)`, `progress(stage, done, total)` and
        `cancelled()` run in the UI thread, connected before the thread starts so that none is
        missed. Once the window has closed (`stop_all`), new work is not started."""
        job = Job(work, self)
        for signal, slot in (
            (job.succeeded, done),
            (job.failed, error),
            (job.progressed, progress),
            (job.cancelled, cancelled),
        ):
            if slot is not None:
                signal.connect(slot)
        if self._stopped:
            return job
        self._running.add(job)
        _switching.acquire()
        job.finished.connect(lambda: self._forget(job))
        job.start()
        return job

    def _forget(self, job: Job) -> None:
        self._running.discard(job)
        _switching.release()
        self.ended.emit(job)
        job.deleteLater()

    def busy(self) -> bool:
        return bool(self._running)

    def is_running(self, job: Job) -> bool:
        """Whether job was started and has not ended yet (as the UI thread knows it)."""
        return job in self._running

    def stop_all(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Ask every job to stop and wait for them, timeout_s at most in all (called once,
        when the window closes). False when some still run: they are let go, and what they
        return reaches no one."""
        self._stopped = True
        for job in self._running:
            job.cancel()
        deadline = time.monotonic() + timeout_s
        for job in list(self._running):
            job.wait(max(0, int((deadline - time.monotonic()) * 1000)))
        left = [job for job in self._running if job.isRunning()]
        for job in left:
            log.warning("a job still runs %.1f s after it was cancelled", timeout_s)
            job.blockSignals(True)  # its window is going: nothing may reach it any more
            job.setParent(None)
            _abandoned.add(job)
            self._running.discard(job)
            _switching.release()
        return not left


class WorkerDialog(QDialog):
    """A dialog that starts jobs. A job's late result must not touch it once it has closed (it
    may be deleted by then): wrap a lambda callback in `while_open`. (Bound methods need no
    wrapping: PySide disconnects them when their object is deleted.)"""

    closed = False

    def done(self, result: int) -> None:
        self.closed = True
        super().done(result)

    def while_open(self, callback: Callable[..., None]) -> Callable[..., None]:
        return lambda *args: None if self.closed else callback(*args)
