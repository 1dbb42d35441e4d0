"""Where the app's file dialogs open, rather than in whatever folder the app was started from."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def pictures() -> str:
    """The user's Pictures folder where there is one, else their home folder."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return location if location and Path(location).is_dir() else str(Path.home())


def photos_of(folders: list[Path]) -> str:
    """For choosing photos: the first library folder still there, else `pictures()`."""
    return next((str(f) for f in folders if f.is_dir()), pictures())
