"""The search bar: a query field that completes concept names, a date toggle, a cut-off."""

from __future__ import annotations

import re

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QToolButton,
    QWidget,
)

from fluffy_desktop.gui.icons import icon, toggle_icon

# The cut-off slider runs over cosine similarities 0.00 … CUTOFF_MAX in steps of 0.01; its
# left end shows every match.
CUTOFF_MAX = 1.0
# A toggle that is on is painted in the highlight colour (Fusion only darkens it a little);
# greyed while it does not apply.
ON_LOOK = (
    "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text);"
    " border: 1px solid palette(highlight); border-radius: 3px; }"
    "QToolButton:checked:disabled { background: palette(midlight); color: palette(mid);"
    " border: 1px solid palette(mid); }"
)
# The field's hint, longest first: the longest that fits the field is shown.
PLACEHOLDERS = (
    "Search your photos: “Fluffy on the sofa”, “beach at sunset -people”…",
    "Search: “Fluffy on the sofa”…",
    "Search…",
)
_WORD = re.compile(r"[\w'’-]+$")


class QueryField(QLineEdit):
    """A line edit whose completer offers concept names for the word being typed."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.names = QStringListModel(self)
        self.completer_ = QCompleter(self.names, self)
        self.completer_.setWidget(self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_.activated.connect(self._insert)
        self.textEdited.connect(self._suggest)
        self.setPlaceholderText(PLACEHOLDERS[0])

    def resizeEvent(self, event) -> None:
        """Show the longest hint that fits between the search icon and the clear button."""
        super().resizeEvent(event)
        room = self.width() - 2 * self.height()
        fits = [t for t in PLACEHOLDERS if self.fontMetrics().horizontalAdvance(t) <= room]
        self.setPlaceholderText(fits[0] if fits else PLACEHOLDERS[-1])

    def _word_before_cursor(self) -> re.Match | None:
        return _WORD.search(self.text()[: self.cursorPosition()])

    def _suggest(self) -> None:
        word = self._word_before_cursor()
        if word is None or word.group(0).startswith("-") or not self.names.rowCount():
            self.completer_.popup().hide()
            return
        self.completer_.setCompletionPrefix(word.group(0))
        if self.completer_.completionCount() == 0:
            self.completer_.popup().hide()
            return
        self.completer_.complete()

    def _insert(self, name: str) -> None:
        word = self._word_before_cursor()
        if word is None:
            return
        cursor = self.cursorPosition()
        start = cursor - len(word.group(0))
        text = self.text()
        self.setText(text[:start] + name + text[cursor:])
        self.setCursorPosition(start + len(name))


class SearchBar(QWidget):
    """Emits `query_entered(text)` on Enter (empty text: back to the library, newest first)
    and `view_changed()` when the date toggle or the cut-off moves."""

    query_entered = Signal(str)
    view_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.field = QueryField(self)
        self.field.setClearButtonEnabled(True)
        self.field.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.field.setMinimumWidth(240)
        self._quiet = False  # set_text is changing the field
        self.field.returnPressed.connect(self.run)
        self.field.textChanged.connect(self._cleared)

        self.by_date_button = QToolButton(self)
        self.by_date_button.setIcon(toggle_icon("sort-date"))
        self.by_date_button.setText("By date")
        self.by_date_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.by_date_button.setCheckable(True)
        self.by_date_button.setStyleSheet(ON_LOOK)
        self.by_date_button.setToolTip("Sort the matches by date instead of by relevance")
        self.by_date_button.toggled.connect(self.view_changed)

        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, round(CUTOFF_MAX * 100))
        self.slider.setFixedWidth(160)
        self.slider.valueChanged.connect(self._cutoff_moved)
        self.cutoff_label = QLabel(self)
        self.cutoff_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("≥ 0.00 ") + 4)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.field, 1)
        layout.addSpacing(8)
        layout.addWidget(self.by_date_button)
        layout.addSpacing(8)
        self.match_label = QLabel("Match", self)
        layout.addWidget(self.match_label)
        layout.addWidget(self.slider)
        layout.addWidget(self.cutoff_label)
        self._cutoff_moved(self.slider.value())

    # --- state ----------------------------------------------------------------------------
    def text(self) -> str:
        return self.field.text().strip()

    def cutoff(self) -> float | None:
        """The lowest score shown, or None to show every match."""
        value = self.slider.value()
        return value / 100 if value else None

    def set_cutoff(self, cutoff: float | None) -> None:
        self.slider.setValue(round((cutoff or 0) * 100))

    def by_date(self) -> bool:
        return self.by_date_button.isChecked()

    def set_ranked(self, ranked: bool, album: str | None = None) -> None:
        """The date toggle applies to ranked matches; the cut-off to free-text search only (a
        concept's album is cut at the concept's own threshold)."""
        self.by_date_button.setEnabled(ranked)
        tip = (
            f"{album}'s album holds the photos that reach {album}'s own threshold: "
            "the Match slider is for free-text search"
            if album
            else "Hide matches scoring below this (left end: show all)"
        )
        for widget in (self.slider, self.match_label, self.cutoff_label):
            widget.setEnabled(ranked and not album)
            widget.setToolTip(tip)

    def set_concepts(self, names: list[str]) -> None:
        self.field.names.setStringList(names)

    # --- actions --------------------------------------------------------------------------
    def run(self) -> None:
        self.query_entered.emit(self.text())

    def set_text(self, text: str) -> None:
        """Put text in the field without running it."""
        self._quiet = True  # the field's own clear button still follows the text
        self.field.setText(text)
        self._quiet = False

    def search_for(self, text: str) -> None:
        """Put text in the field and run it ("Find similar")."""
        self.set_text(text)
        self.run()

    def _cleared(self, text: str) -> None:
        # the clear button, or everything deleted (not set_text): back to the whole library
        if not text and not self._quiet:
            self.run()

    def _cutoff_moved(self, value: int) -> None:
        self.cutoff_label.setText(f"≥ {value / 100:.2f}" if value else "all")
        self.view_changed.emit()
