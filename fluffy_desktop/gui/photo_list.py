"""A list widget whose items are photos, each with its thumbnail as soon as it is loaded."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from fluffy_desktop.gui.icons import icon
from fluffy_desktop.gui.thumbnails import Thumbnails

PATH_ROLE = Qt.ItemDataRole.UserRole + 1  # an item's photo, as str(path); None for others


class PhotoList(QListWidget):
    """Shared by the concept dialog's strip, the review strip and the answers list."""

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        thumbnails.loaded.connect(self._thumbnail_loaded)

    def photo_item(self, path: Path, text: str) -> QListWidgetItem:
        """An item for the photo (not yet added): its text, its path as tooltip, and its
        thumbnail now if it is in memory, else when it is loaded."""
        item = QListWidgetItem(text)
        item.setData(PATH_ROLE, str(path))
        item.setToolTip(str(path))
        image = self.thumbnails.get(path)
        if image is not None:
            item.setIcon(_photo_icon(image))
        return item

    def _thumbnail_loaded(self, key: str, image: QImage) -> None:
        items = [self.item(row) for row in range(self.count())]
        found = [item for item in items if item.data(PATH_ROLE) == key]
        for item in found:
            item.setIcon(_photo_icon(image))
        if found:  # in icon mode an item keeps the size it had without its thumbnail until then
            self.scheduleDelayedItemsLayout()


def _photo_icon(image: QImage) -> QIcon:
    """A thumbnail as an icon; the cancel icon for a photo that cannot be shown."""
    return QIcon(QPixmap.fromImage(image)) if not image.isNull() else icon("cancel")
