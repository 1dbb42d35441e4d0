"""An error nobody caught opens a dialog with copyable details and the log's path."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from fluffy_desktop.engine.home import Home
from fluffy_desktop.engine.logs import log_to
from fluffy_desktop.gui.crash import CrashDialog, CrashReporter

WAIT_MS = 5_000


def open_the_album() -> None:
    raise KeyError("albums")


def shown_dialogs() -> list[CrashDialog]:
    widgets = QApplication.topLevelWidgets()
    return [w for w in widgets if isinstance(w, CrashDialog) and w.isVisible()]


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path / "home").ensure()


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_ui_slot_shows_the_details_and_the_log(qtbot, home):
    reporter = CrashReporter(home.log_file)
    with log_to(home), reporter.installed():
        QTimer.singleShot(0, open_the_album)
        qtbot.waitUntil(lambda: bool(shown_dialogs()), timeout=WAIT_MS)
    dialog = reporter.dialog
    qtbot.addWidget(dialog)
    details = dialog.details.toPlainText()
    assert details.startswith("Fluffy ") and "in open_the_album" in details
    assert details.endswith("KeyError: 'albums'")
    assert str(home.log_file) in dialog.log_label.text()
    assert "in open_the_album" in home.log_file.read_text()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == details


@pytest.mark.qt_no_exception_capture
def test_errors_from_other_threads_join_the_open_dialog(qtbot, home):
    reporter = CrashReporter(home.log_file)
    with reporter.installed():
        QTimer.singleShot(0, open_the_album)
        qtbot.waitUntil(lambda: bool(shown_dialogs()), timeout=WAIT_MS)
        qtbot.addWidget(reporter.dialog)
        worker = threading.Thread(target=lambda: 1 / 0)
        worker.start()
        worker.join()
        text = reporter.dialog.details.toPlainText
        qtbot.waitUntil(lambda: "ZeroDivisionError" in text(), timeout=WAIT_MS)
    assert "KeyError: 'albums'" in text()
    assert shown_dialogs() == [reporter.dialog]
    reporter.dialog.close()  # closed, the next error starts afresh
    reporter.excepthook(ValueError, ValueError("later"), None)
    qtbot.waitUntil(lambda: bool(shown_dialogs()), timeout=WAIT_MS)
    assert "ZeroDivisionError" not in text() and text().endswith("ValueError: later")


def test_a_log_that_could_not_be_written_is_not_claimed(qtbot, tmp_path):
    reporter = CrashReporter(tmp_path / "read-only" / "fluffy.log")
    reporter.excepthook(ValueError, ValueError("boom"), None)
    qtbot.addWidget(reporter.dialog)
    assert "could not be written" in reporter.dialog.log_label.text()
