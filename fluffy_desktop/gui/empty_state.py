"""A friendly page for when the grid has nothing to show, saying why and what to do."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from fluffy_desktop.gui.icons import icon

COLUMN_WIDTH = 480  # the advice wraps at this width at most, for an easy read


class EmptyState(QWidget):
    """An icon, a title, a line of advice and an optional button, in a centred column."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.glyph = QLabel(self)
        self.title = QLabel(self)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.advice = QLabel(self)
        self.advice.setWordWrap(True)
        self.advice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.button = QPushButton(self)
        self.button.setMinimumHeight(34)
        self._lay_out()
        self._action: Callable[[], object] | None = None
        self.button.clicked.connect(lambda: self._action and self._action())

    def _lay_out(self) -> None:
        """The texts fill the column's width, so their wrapped height is laid out for the
        width they get (a word-wrapped label placed at its own size hint overlaps itself)."""
        column = QWidget(self)
        column.setMaximumWidth(COLUMN_WIDTH)
        column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        inner = QVBoxLayout(column)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.glyph, 0, Qt.AlignmentFlag.AlignHCenter)
        inner.addWidget(self.title)
        inner.addWidget(self.advice)
        inner.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        row.addStretch(0)
        row.addWidget(column, 1)
        row.addStretch(0)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)

    def show_state(
        self,
        glyph: str,
        title: str,
        advice: str,
        button: tuple[str, str, Callable[[], object]] | None = None,
    ) -> None:
        """button: (icon name, text, callback) or None."""
        self.glyph.setPixmap(icon(glyph).pixmap(64, 64))
        self.title.setText(title)
        self.advice.setText(advice)
        self.button.setVisible(button is not None)
        if button is not None:
            glyph_name, text, self._action = button
            self.button.setIcon(icon(glyph_name))
            self.button.setText(text)
