"""Noticing new and changed photos while the app runs: folder watching plus a slow rescan."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from fluffy_desktop.gui.workers import Jobs

MAX_WATCHED = 4000  # folders; a larger library relies on the periodic rescan for the rest
SETTLE_MS = 3000  # wait this long after the last change (a copy in progress) before indexing
RESCAN_MS = 10 * 60 * 1000  # the fallback rescan, for what watching misses (network drives…)


def folders_under(roots: list[Path]) -> list[str]:
    """The roots and their sub-folders (hidden ones skipped), at most MAX_WATCHED of them."""
    found: list[str] = []
    for root in roots:
        for folder, dirs, _ in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found.append(folder)
            if len(found) >= MAX_WATCHED:
                return found
    return found


class FolderWatcher(QObject):
    """Emits `changed()` once things settle after a change under a watched folder, and every
    RESCAN_MS in any case."""

    changed = Signal()

    def __init__(self, jobs: Jobs, parent: QObject | None = None):
        super().__init__(parent)
        self.jobs = jobs
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._touched)
        self.settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self.settle.timeout.connect(self.changed)
        self.rescan = QTimer(self, interval=RESCAN_MS)
        self.rescan.timeout.connect(self.changed)
        self.rescan.start()

    def watch(self, roots: list[Path]) -> None:
        """Watch these library folders and everything under them (listed in a worker)."""
        self.jobs.start(lambda progress, cancel: folders_under(roots), done=self._replace)

    def _replace(self, folders: list[str]) -> None:
        old = self.watcher.directories()
        if old:
            self.watcher.removePaths(old)
        if folders:
            self.watcher.addPaths(folders)

    def _touched(self, _folder: str) -> None:
        self.settle.start()
