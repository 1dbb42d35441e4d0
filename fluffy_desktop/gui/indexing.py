"""Background indexing, one run at a time: later requests wait and are merged."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from fluffy_desktop.gui.workers import Job, Jobs

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album


class Indexer(QObject):
    """Runs `album.index` in a worker. `started(job)` for each run, then one of
    `indexed(report)`, `failed(message)` or `stopped()` (cancelled: queued runs are dropped)."""

    started = Signal(object)
    indexed = Signal(object)
    failed = Signal(str)
    stopped = Signal()

    def __init__(self, album: Album, jobs: Jobs, parent: QObject | None = None):
        super().__init__(parent)
        self.album = album
        self.jobs = jobs
        self.job: Job | None = None
        self._queued_paths: list[Path] = []
        self._rescan_queued = False

    def running(self) -> bool:
        return self.job is not None

    def index(self, paths: Sequence[Path] = ()) -> None:
        """Index new folders (added to the library first), or with none re-scan them all."""
        if self.job is not None:
            self._queued_paths += [Path(p) for p in paths]
            self._rescan_queued |= not paths
            return
        paths = [Path(p) for p in paths]
        self.job = self.jobs.start(
            lambda progress, cancel: self.album.index(paths, progress=progress, cancel=cancel),
            done=self._done,
            error=self._failed,
            cancelled=self._cancelled,
        )
        self.started.emit(self.job)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _done(self, report) -> None:
        self.job = None
        self.indexed.emit(report)
        self._next()

    def _failed(self, message: str) -> None:
        self.job = None
        self.failed.emit(message)
        self._next()

    def _cancelled(self) -> None:
        self.job = None
        self._queued_paths, self._rescan_queued = [], False
        self.stopped.emit()

    def _next(self) -> None:
        if self._queued_paths:
            paths, self._queued_paths = self._queued_paths, []
            self.index(paths)
        elif self._rescan_queued:
            self._rescan_queued = False
            self.index()
