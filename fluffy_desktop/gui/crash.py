"""Crash reports: an error nobody caught opens a dialog with copyable details and the log's path.

The excepthook may run in any thread; it logs the error there (the log file and stderr) and
hands the report to the UI thread, which shows it. Further errors while the dialog is open are
added to it rather than opening more dialogs.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from fluffy_desktop import __version__

log = logging.getLogger(__name__)


def crash_details(
    exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None
) -> str:
    """What a bug report needs: versions, platform and the traceback."""
    versions = (
        f"Fluffy {__version__}, Python {platform.python_version()}, "
        f"PySide6 {pyside_version}, {platform.platform()}"
    )
    return versions + "\n" + "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()


class CrashDialog(QDialog):
    """Says that something went wrong, where the log is, and offers the details to copy."""

    def __init__(self, log_file: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.log_file = log_file
        self.setWindowTitle("Fluffy: something went wrong")
        self.resize(640, 420)
        self.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)  # the main window decides
        icon = QLabel()
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(48)
        )
        headline = QLabel(
            "<b>Fluffy ran into an error it did not expect.</b><br>"
            "Your photos are untouched and Fluffy keeps running, but what you just did may "
            "not have finished. To report the problem, copy the details below."
        )
        headline.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(headline, 1)
        self.log_label = QLabel()
        self.log_label.setWordWrap(True)
        self.log_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details, 1)
        layout.addWidget(self.log_label)
        layout.addWidget(buttons)

    def add(self, details: str) -> None:
        """Show one more error's details: below those shown, or alone if the dialog was closed."""
        shown = self.details.toPlainText() if self.isVisible() else ""
        self.details.setPlainText(f"{shown}\n\n{details}" if shown else details)
        if self.log_file.is_file():
            self.log_label.setText(f"The details are also saved in the log: {self.log_file}")
        else:
            self.log_label.setText(f"The log could not be written ({self.log_file}).")

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())


class CrashReporter(QObject):
    """The excepthook of the app (for the UI thread and every other thread)."""

    reported = Signal(str)

    def __init__(self, log_file: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.log_file = log_file
        self.dialog: CrashDialog | None = None  # made once, shown again for later errors
        self.reported.connect(self._show)  # queued when the error comes from another thread

    def excepthook(
        self, exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not issubclass(exc_type, Exception):  # Ctrl+C and the like: Python's own way
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("an error nobody caught", exc_info=(exc_type, exc, tb))
        self.reported.emit(crash_details(exc_type, exc, tb))

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, details: str) -> None:
        if self.dialog is None:
            self.dialog = CrashDialog(self.log_file)
        self.dialog.add(details)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    @contextmanager
    def installed(self) -> Iterator[CrashReporter]:
        """Be the excepthook (of every thread) within the block."""
        saved = sys.excepthook, threading.excepthook
        sys.excepthook, threading.excepthook = self.excepthook, self.thread_excepthook
        try:
            yield self
        finally:
            sys.excepthook, threading.excepthook = saved
