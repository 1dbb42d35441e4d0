"""A strip above the photos that says what is not ready for the model in use yet: photos still
to re-embed (search shows the others) and concepts to re-learn or that need photos."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from fluffy_desktop.engine.model_state import NEEDS_PHOTOS, RELEARN, ModelState
from fluffy_desktop.gui.icons import icon


def banner_text(state: ModelState | None, reembedding: bool, relearning: bool) -> str:
    """One line per thing that is not ready ("" when everything is)."""
    if state is None:
        return ""
    lines = []
    if state.notice:
        doing = "Re-embedding" if reembedding else "To re-embed"
        lines.append(
            f"{doing} your photos for the new model: {state.embedded:,} of {state.photos:,} "
            "done. Search shows those so far."
        )
    if state.named(RELEARN):
        doing = "Re-learning" if relearning else "To re-learn"
        lines.append(f"{doing} for the new model: {', '.join(state.named(RELEARN))}.")
    for name in state.named(NEEDS_PHOTOS):
        lines.append(
            f"{name} needs photos: none of its photos can be found (moved out of the library "
            "or deleted). Teach it again from new photos."
        )
    return "\n".join(lines)


class ModelBanner(QFrame):
    """Hidden while everything is ready. `resume_requested()`: the user wants re-embedding to
    go on (after it was stopped)."""

    resume_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("modelBanner")
        self.setStyleSheet(
            "#modelBanner { background: #fff4ce; border: 1px solid #e0c060; border-radius: 6px; }"
            " #modelBanner QLabel { color: #4a3b00; }"
        )
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.resume_button = QPushButton(icon("refresh"), "Re-embed now", self)
        self.resume_button.clicked.connect(self.resume_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.resume_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_state(self, state: ModelState | None, reembedding: bool, relearning: bool) -> None:
        text = banner_text(state, reembedding, relearning)
        self.label.setText(text)
        self.resume_button.setVisible(bool(state and state.notice) and not reembedding)
        self.setVisible(bool(text))
