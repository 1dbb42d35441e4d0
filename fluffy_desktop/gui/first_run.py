"""The first-run screen: the model is not on this computer yet; download it or pick a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fluffy_desktop.engine.spec import DEFAULT_ARCH, ModelSpec
from fluffy_desktop.gui.icons import app_icon, icon
from fluffy_desktop.gui.progress import progress_text, show_progress
from fluffy_desktop.gui.workers import Jobs

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album

WEIGHT_FILES = "Model weights (*.safetensors *.bin *.pt *.pth);;All files (*)"


def welcome_text(spec: ModelSpec) -> str:
    """What the model is and that it runs here; the download size for the default model."""
    size = ", about 600 MB" if spec.arch == DEFAULT_ARCH else ""
    source = (
        f"the {spec.arch} model ({spec.pretrained}{size}, downloaded once)"
        if spec.pretrained and spec.weights is None
        else f"the {spec.arch} model"
    )
    return (
        "Fluffy reads your photos with a picture-and-language model that runs on this "
        f"computer: {source}. After that, nothing leaves your computer."
    )


class FirstRunPage(QWidget):
    """Offers the download (with progress) or a local weights file; `ready()` once loaded."""

    ready = Signal()

    def __init__(self, album: Album, jobs: Jobs, parent: QWidget | None = None):
        super().__init__(parent)
        self.album = album
        self.jobs = jobs
        self.busy = False
        self._build()

    def _build(self) -> None:
        spec = self.album.spec
        self.explain = QLabel(welcome_text(spec), self)
        self.explain.setWordWrap(True)
        self.download_button = QPushButton(icon("download"), "Download the model", self)
        self.download_button.setEnabled(bool(spec.pretrained))
        self.download_button.clicked.connect(self.download)
        self.file_button = QPushButton(icon("model-file"), "Use a model file…", self)
        self.file_button.setToolTip("An open_clip checkpoint you copied here (.safetensors, .bin)")
        self.file_button.clicked.connect(self.choose_file)
        for button in (self.download_button, self.file_button):
            button.setMinimumHeight(36)
        hint = QLabel(
            "No internet on this computer? Copy the model file (an open_clip checkpoint such "
            "as open_clip_model.safetensors) from another one and choose “Use a model file…”.",
            self,
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(mid);")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.hide()
        self._lay_out(hint)

    def _heading(self) -> tuple[QLabel, QLabel]:
        logo = QLabel(self)
        logo.setPixmap(app_icon().pixmap(96, 96))
        logo.setFixedSize(96, 96)
        title = QLabel("Welcome to Fluffy", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        return logo, title

    def _lay_out(self, hint: QLabel) -> None:
        """Everything on one rounded card in the middle of the page."""
        logo, title = self._heading()
        card = QFrame(self)
        card.setObjectName("card")
        card.setStyleSheet(
            "#card { background: palette(base); border: 1px solid palette(mid);"
            " border-radius: 14px; }"
        )
        card.setFixedWidth(560)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.file_button)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(32, 28, 32, 28)
        inner.setSpacing(14)
        inner.addWidget(logo, 0, Qt.AlignmentFlag.AlignHCenter)
        inner.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        inner.addWidget(self.explain)
        inner.addLayout(buttons)
        inner.addWidget(hint)
        inner.addWidget(self.bar)
        inner.addWidget(self.status)
        card.setMinimumHeight(inner.totalHeightForWidth(card.width()))  # wrapped text fits
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

    def say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #c62828;" if error else "")
        self.status.setText(text)

    def download(self) -> None:
        self._run(lambda progress, cancel: self.album.clip(progress, cancel), "Connecting…")

    def choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Model weights file", str(Path.home()), WEIGHT_FILES
        )
        if name:
            self.use_file(Path(name))

    def use_file(self, path: Path) -> None:
        self._run(lambda progress, cancel: self.album.use_model_file(path), f"Loading {path.name}…")

    def _run(self, work, title: str) -> None:
        if self.busy:
            return
        self._busy(True)
        self.say(title)
        self.jobs.start(work, done=self._done, error=self._failed, progress=self._progress)

    def _progress(self, stage: str, done: int, total: int) -> None:
        show_progress(self.bar, done, total)
        self.say(progress_text(stage, done, total))

    def _done(self, _result) -> None:
        self._busy(False)
        self.say("")
        self.ready.emit()

    def _failed(self, message: str) -> None:
        self._busy(False)
        self.say(message, error=True)

    def _busy(self, busy: bool) -> None:
        self.busy = busy
        self.bar.setVisible(busy)
        self.bar.setRange(0, 0)
        self.download_button.setEnabled(not busy and bool(self.album.spec.pretrained))
        self.file_button.setEnabled(not busy)
