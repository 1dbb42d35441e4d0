"""Where the app's windows and file dialogs open: windows no larger than the screen has room
for, file dialogs where the user's things are rather than in whatever folder the app was
started from."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, QStandardPaths
from PySide6.QtWidgets import QWidget


def fit_screen(widget: QWidget, size: QSize) -> QSize:
    """`size`, or less where the widget's screen has no room for it (9/10 of the screen)."""
    room = widget.screen().availableGeometry().size()
    return size.boundedTo(QSize(room.width() * 9 // 10, room.height() * 9 // 10))


def pictures() -> str:
    """The user's Pictures folder where there is one, else their home folder."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return location if location and Path(location).is_dir() else str(Path.home())


def photos_of(folders: list[Path]) -> str:
    """For choosing photos: the first library folder still there, else `pictures()`."""
    return next((str(f) for f in folders if f.is_dir()), pictures())
