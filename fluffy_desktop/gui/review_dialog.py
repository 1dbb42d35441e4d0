""" "Is this Fluffy?": the photos whose answer helps most, answered Yes / No / Skip (Y / N / S).

The dialog asks `Album.review` for a batch, shows one photo at a time above a strip of the
whole batch (each photo's answer under it), and keeps the answers until the batch ends; Undo
(Ctrl+Z) takes the last answer back. The main window then records
the answers with `Album.answer` in a worker, which re-tunes the concept in the background.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fluffy_desktop.gui.photo_list import PhotoList
from fluffy_desktop.gui.preview import PhotoView, decode_for_display
from fluffy_desktop.gui.thumbnails import Thumbnails
from fluffy_desktop.gui.workers import Jobs

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album

BATCH = 10
ANSWERS = {"yes": "Yes", "no": "No", "skip": "Skip"}
KEYS = {"yes": "Y", "no": "N", "skip": "S"}
STRIP_ICON = 60  # ten of them fit across the dialog
NOW = "Now"  # the label under the photo being asked about


class ReviewDialog(QDialog):
    """One batch of review questions for a concept."""

    answers_ready = Signal(list, list)  # the photos answered Yes, and No, at the batch's end

    def __init__(
        self,
        album: Album,
        jobs: Jobs,
        thumbnails: Thumbnails,
        name: str,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.album, self.jobs, self.name = album, jobs, name
        self.photos: list[Path] = []
        self.answers: list[tuple[Path, str]] = []
        self.setWindowTitle(f"Is this {name}? — Fluffy")
        self.resize(720, 560)  # fits an 800 × 600 screen
        self.view = PhotoView(self)
        self.strip = _strip(thumbnails, self)
        self.question = QLabel(f"Is this {name}?", self)
        self.question.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.buttons = {
            key: QPushButton(f"{text} ({KEYS[key]})", self) for key, text in ANSWERS.items()
        }
        self.undo_button = QPushButton("Undo (Ctrl+Z)", self)
        self._layout()
        for key, button in self.buttons.items():
            button.clicked.connect(lambda _=False, key=key: self.answer(key))
            QShortcut(QKeySequence(KEYS[key]), self).activated.connect(
                lambda key=key: self.answer(key)
            )
        self.undo_button.clicked.connect(self.undo)
        QShortcut(QKeySequence.StandardKey.Undo, self).activated.connect(self.undo)
        self._ask()

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.undo_button)
        row.addStretch(1)
        for button in self.buttons.values():
            row.addWidget(button)
        column = QVBoxLayout(self)
        column.addWidget(self.view, 1)
        column.addWidget(self.question)
        column.addLayout(row)
        column.addWidget(self.strip)

    def _ask(self) -> None:
        self.view.show_image(None, "Finding the photos to ask about…")
        self._enable(False)
        self.jobs.start(
            lambda progress, cancel: [m.path for m in self.album.review(self.name, BATCH)],
            done=self._asked,
            error=self._failed,
        )

    def _asked(self, photos: list[Path]) -> None:
        self.photos = photos
        for path in photos:
            self.strip.addItem(self.strip.photo_item(path, ""))
        if not photos:
            self.view.show_image(None, f"Nothing left to ask about {self.name}.")
            return
        self._show_current()

    def _failed(self, message: str) -> None:
        self.view.show_image(None, message)

    def _enable(self, on: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(on)
        self.undo_button.setEnabled(bool(self.answers))

    def _mark_strip(self) -> None:
        """Each answered photo's answer under it, and the one asked about now highlighted."""
        position = len(self.answers)
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        for row in range(self.strip.count()):
            item = self.strip.item(row)
            if row < position:
                item.setText(ANSWERS[self.answers[row][1]])
            else:
                item.setText(NOW if row == position else "")
            item.setBackground(highlight if row == position else Qt.GlobalColor.transparent)
        if position < self.strip.count():
            self.strip.scrollToItem(self.strip.item(position))

    def _show_current(self) -> None:
        self._mark_strip()
        position = len(self.answers)
        if position >= len(self.photos):
            self._submit()
            return
        path = self.photos[position]
        self.question.setText(f"Is this {self.name}?   ({position + 1} of {len(self.photos)})")
        self.view.show_image(None, "Loading…")
        self._enable(True)
        self.jobs.start(
            lambda progress, cancel: decode_for_display(path),
            done=lambda image, path=path: self._decoded(path, image),
            error=lambda message: self.view.show_image(None, message),
        )

    def _decoded(self, path: Path, image: QImage | str) -> None:
        current = len(self.answers)
        if current >= len(self.photos) or self.photos[current] != path:
            return  # answered (or undone) while it loaded
        if isinstance(image, str):
            self.view.show_image(None, image)
        else:
            self.view.show_image(image)

    def answer(self, key: str) -> None:
        """Record Yes / No / Skip for the photo shown and move on."""
        if len(self.answers) >= len(self.photos) or not self.buttons[key].isEnabled():
            return
        self.answers.append((self.photos[len(self.answers)], key))
        self._show_current()

    def undo(self) -> None:
        """Take the last answer back and show its photo again."""
        if self.answers:
            self.answers.pop()
            self._show_current()

    def _submit(self) -> None:
        """Hand the batch's answers on (the window records them in the background) and close."""
        yes = [p for p, key in self.answers if key == "yes"]
        no = [p for p, key in self.answers if key == "no"]
        if yes or no:
            self.answers_ready.emit(yes, no)
        self.accept()


def _strip(thumbnails: Thumbnails, parent: QWidget) -> PhotoList:
    """One row of thumbnails, the whole batch; it shows, it takes no clicks or keys."""
    strip = PhotoList(thumbnails, parent)
    strip.setViewMode(QListView.ViewMode.IconMode)
    strip.setFlow(QListView.Flow.LeftToRight)
    strip.setWrapping(False)
    strip.setMovement(QListView.Movement.Static)
    strip.setIconSize(QSize(STRIP_ICON, STRIP_ICON))
    strip.setGridSize(QSize(STRIP_ICON + 8, STRIP_ICON + 26))
    strip.setResizeMode(QListView.ResizeMode.Adjust)  # laid out again when the dialog resizes
    strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll_bar = strip.horizontalScrollBar().sizeHint().height()
    strip.setFixedHeight(STRIP_ICON + 34 + scroll_bar)  # room for a scroll bar when narrow
    strip.setSelectionMode(QListView.SelectionMode.NoSelection)
    strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return strip
