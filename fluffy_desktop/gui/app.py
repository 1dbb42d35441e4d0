"""Starting the desktop app over an Album (the CLI's `fluffy` and `fluffy gui`)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from fluffy_desktop import __version__
from fluffy_desktop.gui.icons import APP_ID, app_icon
from fluffy_desktop.gui.main_window import MainWindow


def settings_for(album) -> QSettings:
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


def run(album) -> int:
    """Show the main window over album (its model not loaded yet) until the user quits."""
    app = application()
    window = MainWindow(album, settings_for(album))
    window.show()
    window.start()
    return app.exec()
