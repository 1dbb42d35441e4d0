""" "Is this Fluffy?": the photos whose answer helps most, answered Yes / No / Skip (Y / N / S).

The dialog asks `Album.review` for a batch, shows one photo at a time above a strip of the
whole batch (each photo's answer under it), and keeps the answers until the batch ends; Undo
(Ctrl+Z) takes the last answer back. The main window then records the answers with
`Album.answer` in a worker, which re-tunes the concept in the background, and tells the dialog
(`recorded`), which then offers the next batch. Closing the dialog mid-batch hands on the
answers given so far.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
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
from fluffy_desktop.gui.words import counted
from fluffy_desktop.gui.workers import Jobs, WorkerDialog

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album

BATCH = 10
ANSWERS = {"yes": "Yes", "no": "No", "skip": "Skip"}
KEYS = {"yes": "Y", "no": "N", "skip": "S"}
STRIP_ICON = 60  # ten of them fit across the dialog
NOW = "Now"  # the label under the photo being asked about


class ReviewDialog(WorkerDialog):
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
        self.handed_on = False  # this batch's answers went to the window
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
        self.more_button = QPushButton(f"Review {BATCH} more", self)
        self.done_button = QPushButton("Done", self)
        self._layout()
        self.more_button.clicked.connect(self.review_more)
        self.done_button.clicked.connect(self.accept)
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
        for button in (*self.buttons.values(), self.more_button, self.done_button):
            row.addWidget(button)
        self._show_end(False)
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
        self.undo_button.setEnabled(bool(self.answers) and not self.handed_on)

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
            done=self.while_open(lambda image, path=path: self._decoded(path, image)),
            error=self.while_open(lambda message: self.view.show_image(None, message)),
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
        if self.answers and not self.handed_on:
            self.answers.pop()
            self._show_current()

    def _hand_on(self) -> bool:
        """Hand the batch's Yes and No answers to the window, once; whether there were any."""
        yes = [p for p, key in self.answers if key == "yes"]
        no = [p for p, key in self.answers if key == "no"]
        if self.handed_on or not (yes or no):
            return False
        self.handed_on = True
        self.answers_ready.emit(yes, no)
        return True

    def _submit(self) -> None:
        """At the batch's end: hand the answers on and wait for the re-tune (only skips: close)."""
        if not self._hand_on():
            self.accept()
            return
        self._enable(False)
        self._show_end(True)
        self.more_button.setEnabled(False)
        self.question.setText(f"Is this {self.name}?   All {len(self.photos)} answered")
        self.view.show_image(None, f"Re-tuning {self.name} with your answers…")

    def recorded(self, name: str, ok: bool) -> None:
        """The window has recorded this batch's answers (ok) or has said why it could not."""
        if name != self.name or not self.handed_on or self.closed:
            return
        if not ok:
            self.view.show_image(None, "Your answers were not recorded (see the message).")
            return
        self.jobs.start(
            lambda progress, cancel: len(self.album.concept_photos(self.name)[1]),
            done=self._retuned,
            error=self._failed,
        )

    def _retuned(self, count: int) -> None:
        self.view.show_image(
            None,
            f"{self.name} is re-tuned with your answers: its album holds "
            f"{counted(count, 'photo')}.",
        )
        self.more_button.setEnabled(True)
        self.more_button.setDefault(True)
        self.more_button.setFocus()

    def review_more(self) -> None:
        """The next batch, asked about with the re-tuned concept."""
        self.photos, self.answers, self.handed_on = [], [], False
        self.strip.clear()
        self._show_end(False)
        self.question.setText(f"Is this {self.name}?")
        self._ask()

    def _show_end(self, end: bool) -> None:
        """At a batch's end, "Review 10 more" and "Done" instead of Yes / No / Skip."""
        for button in self.buttons.values():
            button.setVisible(not end)
        self.more_button.setVisible(end)
        self.done_button.setVisible(end)

    def reject(self) -> None:
        """Closing keeps the answers given so far: the window records them."""
        self._hand_on()
        super().reject()


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
