"""Jobs: stopping has a limit, the GIL switch interval is changed only while work runs, and
callbacks are named."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from fluffy_desktop.gui.workers import GIL_SWITCH_S, Jobs
from tests.gui.conftest import WAIT_MS


@pytest.fixture
def jobs(qtbot):
    owner = QObject()
    yield Jobs(owner)
    owner.deleteLater()


def test_the_switch_interval_is_short_only_while_work_runs(qtbot, jobs):
    QApplication.processEvents()  # earlier tests' jobs have ended: their ends are handled
    before = sys.getswitchinterval()
    assert before > GIL_SWITCH_S  # Python's default (5 ms): the process's own setting
    release = threading.Event()
    jobs.start(lambda progress, cancel: release.wait(WAIT_MS / 1000))
    jobs.start(lambda progress, cancel: release.wait(WAIT_MS / 1000))
    assert sys.getswitchinterval() == GIL_SWITCH_S
    release.set()
    qtbot.waitUntil(lambda: not jobs.busy(), timeout=WAIT_MS)
    assert sys.getswitchinterval() == before


def test_stop_all_waits_for_cancelled_work_and_no_longer(qtbot, jobs):
    job = jobs.start(lambda progress, cancel: cancel.wait(WAIT_MS / 1000))  # stops when asked
    assert jobs.stop_all(timeout_s=WAIT_MS / 1000)
    assert not job.isRunning()

    late, release = [], threading.Event()
    stuck = Jobs()
    job = stuck.start(lambda progress, cancel: release.wait(WAIT_MS / 1000), done=late.append)
    started = time.monotonic()
    assert not stuck.stop_all(timeout_s=0.3)  # it ignores cancel: let go after the limit
    assert time.monotonic() - started < 0.3 + 1.0  # generous for a busy machine
    assert job.isRunning() and not stuck.busy()
    release.set()
    job.wait(WAIT_MS)
    qtbot.wait(50)
    assert late == []  # its result reaches no one


def test_callbacks_are_given_by_name(jobs):
    with pytest.raises(TypeError):
        jobs.start(lambda progress, cancel: None, print)
    assert not jobs.busy()
