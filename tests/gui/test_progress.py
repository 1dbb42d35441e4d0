"""The status-bar progress: it follows the jobs it is given and goes away when they end."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QWidget

from fluffy_desktop.engine.errors import Cancelled
from fluffy_desktop.gui.progress import TaskProgress
from fluffy_desktop.gui.workers import Jobs
from tests.gui.conftest import WAIT_MS


@pytest.fixture
def shown(qtbot):
    """(jobs, progress) in a shown window; every job is over when the test ends."""
    window = QWidget()
    qtbot.addWidget(window)
    jobs = Jobs(window)
    progress = TaskProgress(jobs, window)
    window.show()
    yield jobs, progress
    jobs.stop_all()


def test_a_job_that_ended_before_it_was_tracked_leaves_no_progress_behind(qtbot, shown):
    """A fast job (a small model loading) may end before the window tracks it."""
    jobs, progress = shown
    quick = jobs.start(lambda progress, cancel: "loaded")
    qtbot.waitUntil(lambda: not jobs.busy(), timeout=WAIT_MS)
    progress.track(quick, "Loading the model…", cancellable=False)
    assert not progress.isVisible()

    release = threading.Event()
    slow = jobs.start(lambda progress, cancel: release.wait(WAIT_MS / 1000))
    progress.track(slow, "Indexing…")
    assert progress.isVisible() and progress.label.text() == "Indexing…"
    release.set()
    qtbot.waitUntil(lambda: not progress.isVisible(), timeout=WAIT_MS)


def test_the_latest_job_shows_and_the_earlier_one_returns_when_it_ends(qtbot, shown):
    jobs, progress = shown
    first, second = threading.Event(), threading.Event()
    indexing = jobs.start(lambda progress, cancel: first.wait(WAIT_MS / 1000))
    progress.track(indexing, "Indexing…")
    retuning = jobs.start(lambda progress, cancel: second.wait(WAIT_MS / 1000))
    progress.track(retuning, "Re-tuning Fluffy…", cancellable=False)
    assert progress.label.text() == "Re-tuning Fluffy…"
    assert not progress.cancel_button.isVisibleTo(progress)
    second.set()
    qtbot.waitUntil(lambda: progress.label.text() == "Indexing…", timeout=WAIT_MS)
    assert progress.cancel_button.isVisibleTo(progress)
    first.set()
    qtbot.waitUntil(lambda: not progress.isVisible(), timeout=WAIT_MS)


def test_callbacks_given_to_start_miss_nothing_a_quick_job_reports(qtbot, shown):
    jobs, _ = shown
    seen: list = []

    def work(progress, cancel):
        progress("Counting", 1, 1)
        raise Cancelled("cancelled")

    jobs.start(work, progress=lambda *report: seen.append(report), cancelled=lambda: seen.append(0))
    qtbot.waitUntil(lambda: not jobs.busy(), timeout=WAIT_MS)
    assert seen == [("Counting", 1, 1), 0]
