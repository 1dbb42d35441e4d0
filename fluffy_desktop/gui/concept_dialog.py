"""Teaching Fluffy a concept: photos (dropped or chosen), a name, a kind, then Learn."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fluffy_desktop.engine.images import IMAGE_SUFFIXES
from fluffy_desktop.gui.dnd import dropped
from fluffy_desktop.gui.icons import icon
from fluffy_desktop.gui.photo_list import PATH_ROLE, PhotoList
from fluffy_desktop.gui.places import photos_of
from fluffy_desktop.gui.progress import progress_text, show_progress
from fluffy_desktop.gui.thumbnails import Thumbnails
from fluffy_desktop.gui.words import counted
from fluffy_desktop.gui.workers import Job, Jobs

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album

STRIP_ICON = 96
SUGGEST_DELAY_MS = 400  # let a burst of added photos settle before looking at them


def image_filter() -> str:
    patterns = " ".join(f"*{suffix}" for suffix in sorted(IMAGE_SUFFIXES))
    return f"Photos ({patterns})"


class PhotoStrip(PhotoList):
    """The concept's example photos as thumbnails; takes dropped image files."""

    photos_dropped = Signal(list)

    def __init__(self, thumbnails: Thumbnails, parent=None):
        super().__init__(thumbnails, parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(STRIP_ICON, STRIP_ICON))
        line = self.fontMetrics().height()  # the photo's name under its thumbnail
        self.setGridSize(QSize(STRIP_ICON + 16, STRIP_ICON + line + 12))
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setAcceptDrops(True)
        self.setMinimumHeight(STRIP_ICON + 40)

    def paths(self) -> list[Path]:
        return [Path(self.item(row).data(PATH_ROLE)) for row in range(self.count())]

    def add(self, paths: list[Path]) -> None:
        known = set(self.paths())
        for path in paths:
            if path in known:
                continue
            known.add(path)
            self.addItem(self.photo_item(path, path.name))

    def remove_selected(self) -> None:
        for item in self.selectedItems():
            self.takeItem(self.row(item))

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.count() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.viewport().rect(),
                Qt.AlignmentFlag.AlignCenter,
                "Drop photos of it here, or use Add photos…",
            )

    def dragEnterEvent(self, event) -> None:
        if dropped(event.mimeData()).photos:
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        photos = dropped(event.mimeData()).photos
        if photos:
            event.acceptProposedAction()
            self.photos_dropped.emit(photos)


class ConceptDialog(QDialog):
    """Emits `learned(report)` when a concept has been learned and saved, then closes."""

    learned = Signal(object)

    def __init__(
        self,
        album: Album,
        jobs: Jobs,
        thumbnails: Thumbnails,
        photos: list[Path] = (),  # type: ignore[assignment]
        known: list[str] = (),  # type: ignore[assignment]
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.album = album
        self.jobs = jobs
        self.known = {name.casefold() for name in known}
        self.job: Job | None = None
        self._kind_edited = False
        self._suggest_generation = 0
        self.setWindowTitle("New concept")
        self.resize(620, 560)
        self._build(thumbnails)
        self.suggest_timer = QTimer(self, singleShot=True, interval=SUGGEST_DELAY_MS)
        self.suggest_timer.timeout.connect(self._suggest)
        self.name_timer = QTimer(self, singleShot=True, interval=SUGGEST_DELAY_MS)
        self.name_timer.timeout.connect(self._check_name)
        self._name_generation = 0
        self.add_photos(list(photos))

    # --- layout ---------------------------------------------------------------------------
    def _build(self, thumbnails: Thumbnails) -> None:
        intro = QLabel(
            "Show Fluffy a few photos of something of yours: a pet, a person, a favourite "
            "mug. Give it a name, say what kind of thing it is, and press Learn. Then search "
            "for it by name, as in “Fluffy asleep on the sofa”.",
            self,
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(self._photo_section(thumbnails), 1)
        layout.addLayout(self._naming_form())
        layout.addLayout(self._action_row())

    def _photo_section(self, thumbnails: Thumbnails) -> QVBoxLayout:
        """The dropped photos, their count, Add photos… and Remove."""
        self.strip = PhotoStrip(thumbnails, self)
        self.strip.photos_dropped.connect(self.add_photos)
        self.strip.itemSelectionChanged.connect(
            lambda: self.remove_button.setEnabled(bool(self.strip.selectedItems()))
        )
        self.count_label = QLabel(self)
        self.add_button = QPushButton(icon("photos"), "Add photos…", self)
        self.add_button.clicked.connect(self._choose_photos)
        self.remove_button = QPushButton(icon("delete"), "Remove", self)
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove_selected)
        photo_buttons = QHBoxLayout()
        photo_buttons.addWidget(self.count_label, 1)
        photo_buttons.addWidget(self.add_button)
        photo_buttons.addWidget(self.remove_button)
        section = QVBoxLayout()
        section.addWidget(self.strip, 1)
        section.addLayout(photo_buttons)
        return section

    def _naming_form(self) -> QFormLayout:
        """Name, kind (editable, with the zero-shot suggestion under it)."""
        self.name_field = QLineEdit(self)
        self.name_field.setPlaceholderText("e.g. Fluffy")
        self.name_field.textChanged.connect(self._check_ready)
        self.name_field.textChanged.connect(lambda _text: self.name_timer.start())
        self.name_note = QLabel(self)
        self.name_note.setWordWrap(True)
        self.name_note.setStyleSheet("color: #8a6d00;")
        self.name_note.hide()
        self.kind_box = QComboBox(self)
        self.kind_box.setEditable(True)
        self.kind_box.lineEdit().setPlaceholderText("e.g. cat")
        self.kind_box.lineEdit().textEdited.connect(self._kind_typed)
        self.kind_box.currentTextChanged.connect(self._check_ready)
        self.suggestion = QLabel(self)
        self.suggestion.setStyleSheet("color: palette(mid);")
        form = QFormLayout()
        form.addRow("Name", self.name_field)
        form.addRow("", self.name_note)
        form.addRow("Kind of thing", self.kind_box)
        form.addRow("", self.suggestion)
        return form

    def _action_row(self) -> QVBoxLayout:
        """Messages, the learning progress bar, Close and Learn / Stop."""
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.hide()
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.reject)
        self.learn_button = QPushButton(icon("concept"), "Learn", self)
        self.learn_button.setDefault(True)
        self.learn_button.clicked.connect(self._learn_or_stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.bar, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.learn_button)
        row = QVBoxLayout()
        row.addWidget(self.message)
        row.addLayout(buttons)
        return row

    # --- photos ---------------------------------------------------------------------------
    def add_photos(self, photos: list[Path]) -> None:
        self.strip.add([Path(p) for p in photos])
        self._photos_changed()

    def _choose_photos(self) -> None:
        start = photos_of(self.album.folders())
        files, _ = QFileDialog.getOpenFileNames(
            self, "Photos of the concept", start, image_filter()
        )
        self.add_photos([Path(f) for f in files])

    def _remove_selected(self) -> None:
        self.strip.remove_selected()
        self._photos_changed()

    def _photos_changed(self) -> None:
        count = len(self.strip.paths())
        hint = "  (3–10 work best)" if 0 < count < 3 else ""
        self.count_label.setText(
            f"{counted(count, 'photo')}{hint}" if count else "Drop photos above"
        )
        self._check_ready()
        if count:
            self.suggest_timer.start()

    # --- kind suggestion ------------------------------------------------------------------
    def _kind_typed(self, _text: str) -> None:
        self._kind_edited = True

    def _suggest(self) -> None:
        photos = self.strip.paths()
        self._suggest_generation += 1
        generation = self._suggest_generation
        self.suggestion.setText("Looking at the photos…")
        self.jobs.start(
            lambda progress, cancel: self.album.suggest_kinds(photos, top=3),
            done=lambda kinds: self._suggested(generation, kinds),
            error=lambda message: self._suggest_failed(generation, message),
        )

    def _suggested(self, generation: int, kinds: list[tuple[str, float]]) -> None:
        if generation != self._suggest_generation or not kinds:
            return
        typed = self.kind_box.currentText()
        self.kind_box.clear()
        self.kind_box.addItems([kind for kind, _ in kinds])
        self.kind_box.setEditText(typed if self._kind_edited else kinds[0][0])
        shown = " · ".join(f"{kind} {probability:.0%}" for kind, probability in kinds)
        self.suggestion.setText(f"Looks like: {shown}")

    def _suggest_failed(self, generation: int, message: str) -> None:
        if generation == self._suggest_generation:
            self.suggestion.setText(message)

    # --- a name that is also an ordinary word ---------------------------------------------
    def _check_name(self) -> None:
        """Warn, from a worker, when the name is an ordinary word ("Cat", "Max")."""
        name = self.name()
        self._name_generation += 1
        generation = self._name_generation
        self.jobs.start(
            lambda progress, cancel: self.album.name_warning(name) if name else None,
            done=lambda warning: self._name_checked(generation, warning),
            error=lambda _message: self._name_checked(generation, None),
        )

    def _name_checked(self, generation: int, warning: str | None) -> None:
        if generation == self._name_generation:
            self.name_note.setText(f"Note: {warning}." if warning else "")
            self.name_note.setVisible(bool(warning))

    # --- learning -------------------------------------------------------------------------
    def name(self) -> str:
        return self.name_field.text().strip()

    def kind(self) -> str:
        return self.kind_box.currentText().strip()

    def _check_ready(self) -> None:
        if self.job is not None:
            return
        ready = bool(self.strip.paths() and self.name() and self.kind())
        self.learn_button.setEnabled(ready)
        if self.name().casefold() in self.known:
            self._say(f"There is a concept named {self.name()} already: Learn replaces it.")
        else:
            self._say("")

    def _learn_or_stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self._say("Stopping…")
            self.learn_button.setEnabled(False)
            return
        name, kind, photos = self.name(), self.kind(), self.strip.paths()
        self.job = self.jobs.start(
            lambda progress, cancel: self.album.learn(
                name, kind, photos, progress=progress, cancel=cancel
            ),
            done=self._learned,
            error=self._failed,
            progress=self._progress,
            cancelled=self._stopped,
        )
        self._busy(True)
        self._say(f"Learning {name}…")

    def _progress(self, stage: str, done: int, total: int) -> None:
        show_progress(self.bar, done, total)
        self._say(progress_text(stage, done, total))

    def _learned(self, report) -> None:
        self.job = None
        self._busy(False)
        self.learned.emit(report)
        self.accept()

    def _failed(self, message: str) -> None:
        self.job = None
        self._busy(False)
        self._say(message, error=True)

    def _stopped(self) -> None:
        self.job = None
        self._busy(False)
        self._say("Stopped. Nothing was saved.")

    def _busy(self, busy: bool) -> None:
        self.bar.setVisible(busy)
        self.bar.setRange(0, 0)
        for widget in (self.strip, self.name_field, self.kind_box, self.close_button):
            widget.setEnabled(not busy)
        self.learn_button.setText("Stop" if busy else "Learn")
        self.learn_button.setIcon(icon("cancel" if busy else "concept"))
        self.learn_button.setEnabled(True)
        if not busy:
            self._check_ready()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c62828;" if error else "")
        self.message.setText(text)

    def reject(self) -> None:
        """Closing while learning stops the learning (nothing is saved)."""
        if self.job is not None:
            self.job.cancel()
        super().reject()

    def done(self, result: int) -> None:
        """Closed: a kind suggestion still on its way is ignored (the dialog may be deleted)."""
        self.suggest_timer.stop()
        self.name_timer.stop()
        self._suggest_generation += 1
        self._name_generation += 1
        super().done(result)
