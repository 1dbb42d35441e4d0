"""The head of a concept's page: its name, kind and album size above the grid, and what can be
done with it (review, its examples and answers, taking the album elsewhere) in plain sight."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QSizePolicy, QWidget

from fluffy_desktop.gui.concept_actions import TAKE_ELSEWHERE
from fluffy_desktop.gui.icons import icon
from fluffy_desktop.gui.words import counted


class AlbumHeader(QWidget):
    """Shown while the grid shows a concept's album. `action_requested(action, name)` asks for
    one of the concept menu's actions ("review", "answers", "tags", "copy"). Where it is too
    narrow for their words (a small screen) the buttons show only their icons, and the words
    as tooltips: the header never makes the window wider."""

    action_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = self.kind = ""
        self.photos: int | None = None  # the album's size, None while it is read
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.title.setFont(font)
        self.detail = QLabel(self)
        self.detail.setStyleSheet("color: palette(mid);")
        self.review_button = QPushButton(icon("concept"), "", self)
        self.answers_button = QPushButton(icon("photos"), "", self)
        self.more_button = QPushButton(icon("export"), "", self)
        menu = QMenu(self.more_button)
        for action, label, glyph in TAKE_ELSEWHERE:
            menu.addAction(icon(glyph), label, lambda action=action: self._request(action))
        self.more_button.setMenu(menu)
        self.review_button.clicked.connect(lambda: self._request("review"))
        self.answers_button.clicked.connect(lambda: self._request("answers"))
        self.row = row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 12, 4)
        row.addWidget(self.title)
        row.addSpacing(8)
        row.addWidget(self.detail, 1)
        for button in (self.review_button, self.answers_button, self.more_button):
            row.addWidget(button)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.labels = {  # each button's words (the review button's name its concept)
            self.review_button: "Review…",
            self.answers_button: "Examples and answers…",
            self.more_button: "Take elsewhere",
        }
        self.hide()

    def show_concept(self, name: str, kind: str) -> None:
        """Head the page of `name` (its album's size follows, from `show_count`)."""
        self.name, self.kind, self.photos = name, kind, None
        self.title.setText(name)
        self.labels[self.review_button] = f"Is this {name}? Review…"
        self._describe()
        self.show()

    def show_count(self, photos: int) -> None:
        self.photos = photos
        self._describe()

    def set_kind(self, kind: str) -> None:
        """The kind, once the concept list is read (a concept just learned)."""
        self.kind = kind
        self._describe()

    def _describe(self) -> None:
        photos = self.photos
        size = "…" if photos is None else counted(photos, "photo")
        self.detail.setText(f"{self.kind} · {size}" if self.kind else size)
        self._fit()  # a longer line may leave no room for the buttons' words

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """The buttons' words where the header has room for them, else shorter ones, else only
        their icons (with the words as tooltips)."""
        full = self.labels
        short = {self.review_button: "Review…", self.answers_button: "Examples…"}
        short[self.more_button] = "Export"
        for labels in (full, short, dict.fromkeys(full, "")):
            for button, text in labels.items():
                button.setText(text)
                button.setToolTip("" if text == full[button] else full[button])
                button.setAccessibleName(full[button])  # what a screen reader says
            self.row.invalidate()
            if self.width() >= self.row.sizeHint().width():
                return

    def _request(self, action: str) -> None:
        self.action_requested.emit(action, self.name)
