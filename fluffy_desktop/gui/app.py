"""Starting the desktop app over an Album (the CLI's `fluffy` and `fluffy gui`)."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from fluffy_desktop import __version__
from fluffy_desktop.gui.crash import CrashReporter
from fluffy_desktop.gui.icons import APP_ID, app_icon
from fluffy_desktop.gui.main_window import MainWindow

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album

log = logging.getLogger(__name__)


def settings_for(album: Album) -> QSettings:
    """The app's own settings (window geometry, view choices), kept in the home directory."""
    return QSettings(str(album.home.root / "gui.ini"), QSettings.Format.IniFormat)


def application() -> QApplication:
    """The running QApplication, or a new one named for the desktop."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Fluffy")
    app.setApplicationDisplayName("Fluffy")
    app.setApplicationVersion(__version__)
    app.setOrganizationDomain("fluffy.github.io")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    return app


def end_process(code: int, album: Album | None) -> NoReturn:
    """End the process at once, closing album first (None: work that ignored cancel still uses
    it). Work left running dies with the process: the engine writes every file atomically, so
    nothing saved is lost. Python's own teardown is skipped too: with torch and open_clip
    loaded it takes seconds on a busy machine."""
    if album is None:
        log.warning("work still running when the window closed: the app ends without it")
    else:
        album.close()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(album: Album) -> NoReturn:
    """Show the main window over album (its model not loaded yet) until the user closes it,
    then end the process within seconds, whatever runs; an error nobody caught opens a crash
    dialog."""
    app = application()
    with CrashReporter(album.home.log_file, app).installed():
        window = MainWindow(album, settings_for(album))
        window.show()
        window.start()
        code = app.exec()
    end_process(code, album if window.stopped else None)
