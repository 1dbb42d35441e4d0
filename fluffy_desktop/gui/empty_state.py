"""A friendly page for when the grid has nothing to show, saying why and what to do."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from fluffy_desktop.gui.icons import icon


class EmptyState(QWidget):
    """An icon, a title, a line of advice and an optional button."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.glyph = QLabel(self)
        self.title = QLabel(self)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.advice = QLabel(self)
        self.advice.setWordWrap(True)
        self.advice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.advice.setMaximumWidth(480)
        self.button = QPushButton(self)
        self.button.setMinimumHeight(34)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.glyph, self.title, self.advice, self.button):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self._action = None
        self.button.clicked.connect(lambda: self._action and self._action())

    def show_state(self, glyph: str, title: str, advice: str, button=None) -> None:
        """button: (icon name, text, callback) or None."""
        self.glyph.setPixmap(icon(glyph).pixmap(64, 64))
        self.title.setText(title)
        self.advice.setText(advice)
        self.button.setVisible(button is not None)
        if button is not None:
            glyph_name, text, self._action = button
            self.button.setIcon(icon(glyph_name))
            self.button.setText(text)
