"""Progress of background work in the status bar: what is happening, how far, and Cancel."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from fluffy_desktop.gui.icons import icon
from fluffy_desktop.gui.workers import Job, Jobs


def progress_text(stage: str, done: int, total: int) -> str:
    """'Embedding photos 120 of 500' (bytes are shown in MB)."""
    if total <= 0:
        return stage
    if stage.lower().startswith("download"):
        return f"{stage} {done / 1e6:.0f} of {total / 1e6:.0f} MB"
    return f"{stage} {done:,} of {total:,}"


def show_progress(bar: QProgressBar, done: int, total: int) -> None:
    """A bar that counts when the total is known and pulses while it is not."""
    if total <= 0:
        bar.setRange(0, 0)
        return
    scale = max(1, total // 1_000_000)  # QProgressBar counts in int32
    bar.setRange(0, total // scale)
    bar.setValue(min(done, total) // scale)


class TaskProgress(QWidget):
    """Shows the latest running job it was given; hides when none is left."""

    def __init__(self, jobs: Jobs, parent=None):
        super().__init__(parent)
        self.jobs = jobs
        jobs.ended.connect(self._drop)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip("Stop")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._jobs: list[tuple[Job, str, bool]] = []
        self.hide()

    def track(self, job: Job, title: str, cancellable: bool = True) -> None:
        """Follow job until it ends; `title` shows until its first progress report."""
        if not self.jobs.is_running(job):  # it ended before it was handed over
            return
        self._jobs.append((job, title, cancellable))
        job.progressed.connect(lambda stage, done, total: self._report(job, stage, done, total))
        self._show_latest(title)

    def current(self) -> Job | None:
        return self._jobs[-1][0] if self._jobs else None

    def cancel(self) -> None:
        job = self.current()
        if job is not None:
            job.cancel()
            self.label.setText("Stopping…")
            self.cancel_button.setEnabled(False)

    def _report(self, job: Job, stage: str, done: int, total: int) -> None:
        if job is self.current():
            self.label.setText(progress_text(stage, done, total))
            show_progress(self.bar, done, total)

    def _drop(self, job: Job) -> None:
        if not any(entry[0] is job for entry in self._jobs):
            return
        self._jobs = [entry for entry in self._jobs if entry[0] is not job]
        if self._jobs:
            self._show_latest(self._jobs[-1][1])
        else:
            self.hide()

    def _show_latest(self, title: str) -> None:
        _, _, cancellable = self._jobs[-1]
        self.label.setText(title)
        self.bar.setRange(0, 0)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        self.show()
