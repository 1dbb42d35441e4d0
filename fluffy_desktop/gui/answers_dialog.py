"""A concept's examples and answers ("yes" and "no" photos), as thumbnails, each removable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fluffy_desktop.gui.photo_list import PATH_ROLE, PhotoList
from fluffy_desktop.gui.thumbnails import Thumbnails
from fluffy_desktop.gui.workers import Jobs, WorkerDialog

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album

SECTIONS = (("photos", "Examples"), ("confirmed", "Said yes"), ("negatives", "Said no"))
ICON = 64


class AnswersDialog(WorkerDialog):
    """Lists what a concept was learned from; Remove forgets one photo and re-tunes.
    `changed(message)` is called once a removal is done, even if the dialog has closed since."""

    def __init__(
        self,
        album: Album,
        jobs: Jobs,
        thumbnails: Thumbnails,
        name: str,
        changed: Callable[[str], None],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.album, self.jobs, self.name, self.changed = album, jobs, name, changed
        self.setWindowTitle(f"{name}: examples and answers — Fluffy")
        self.resize(560, 560)
        self.list = PhotoList(thumbnails, self)
        self.list.setIconSize(QSize(ICON, ICON))
        self._bold = self.list.font()
        self._bold.setBold(True)
        self.note = QLabel("", self)
        self.note.setWordWrap(True)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip(
            "Forget this photo and re-tune the concept without it (Delete)"
        )
        self.remove_button.clicked.connect(self.remove_selected)
        QShortcut(QKeySequence.StandardKey.Delete, self.list).activated.connect(
            self.remove_button.click  # a no-op while a removal runs (the button is disabled)
        )
        column = QVBoxLayout(self)
        column.addWidget(self.list, 1)
        column.addWidget(self.note)
        column.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignRight)
        self.refresh()

    def refresh(self) -> None:
        """Read the concept again and list its photos under their sections."""
        self.list.clear()
        concept = self.album.concepts.get(self.name)
        for attribute, title in SECTIONS:
            refs = getattr(concept, attribute)
            header = QListWidgetItem(f"{title} ({len(refs)})")
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            header.setFont(self._bold)
            header.setForeground(self.palette().color(QPalette.ColorRole.WindowText))
            self.list.addItem(header)
            for ref in refs:
                path = Path(ref["path"])
                self.list.addItem(self.list.photo_item(path, f"{path.name}\n{path.parent}"))

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is None or item.data(PATH_ROLE) is None:
            self.note.setText("Choose a photo to remove.")
            return
        path = Path(item.data(PATH_ROLE))
        self.remove_button.setEnabled(False)
        self.note.setText(f"Re-tuning {self.name} without {path.name}…")
        message = f"Removed {path.name}; {self.name} is re-tuned."
        changed, shown = self.changed, self.while_open(self._done)

        def removed(_none) -> None:
            changed(message)  # the window hears of it even if this dialog has closed since
            shown(message)

        self.jobs.start(
            lambda progress, cancel: self.album.forget(self.name, path, progress, cancel),
            done=removed,
            error=self._done,
        )

    def _done(self, message: str) -> None:
        self.note.setText(message)
        self.remove_button.setEnabled(True)
        self.refresh()
