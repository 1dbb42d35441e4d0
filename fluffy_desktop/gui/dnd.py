"""What a drop carries: folders for the library, or photos for a new concept."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QMimeData

from fluffy_desktop.engine.images import is_image_name


@dataclass
class Dropped:
    folders: list[Path] = field(default_factory=list)
    photos: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.folders or self.photos)


def dropped(mime: QMimeData) -> Dropped:
    """Local folders and image files among the dropped URLs (anything else is ignored)."""
    found = Dropped()
    for url in mime.urls() if mime.hasUrls() else []:
        if not url.isLocalFile():
            continue
        path = Path(url.toLocalFile())
        if path.is_dir():
            found.folders.append(path)
        elif path.is_file() and is_image_name(path.name):
            found.photos.append(path)
    return found
