"""The preview: one photo large, arrow keys for the next and previous, and "Where is Fluffy?"
(each concept's mask outlined in its own colour over a soft shade, or the heat map)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fluffy_desktop.engine.images import DecodeFailure, load_display_image
from fluffy_desktop.gui.grid import GridItem, short_date
from fluffy_desktop.gui.icons import icon
from fluffy_desktop.gui.places import fit_screen
from fluffy_desktop.gui.workers import Jobs

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album
    from fluffy_desktop.engine.localise import Location

PREVIEW_SIDE = 2048  # pixels of the longer side the preview decodes
PREVIEW_SIZE = QSize(1000, 760)  # the dialog's size, where the screen has room for it
VEIL = 200  # opacity (of 255) of the heat map's shade over the regions that do not match at all
GLOW = (255, 190, 40)  # the heat map's tint of the best-matching region
SHADE = 110  # opacity of the shade outside every mask
TINT = 60  # opacity of a concept's colour inside its mask
# One colour per concept of the query, in its order (amber, sky blue, magenta, green).
COLOURS = ((255, 190, 40), (70, 190, 255), (255, 90, 200), (120, 230, 90))


@dataclass(frozen=True)
class LocateTarget:
    """What "Where is …?" looks for: the query to locate and the concept names it holds."""

    query: str
    names: tuple[str, ...]

    @property
    def what(self) -> str:
        if len(self.names) < 2:
            return self.names[0] if self.names else self.query
        return f"{', '.join(self.names[:-1])} and {self.names[-1]}"

    @property
    def label(self) -> str:
        return f"Where {'are' if len(self.names) > 1 else 'is'} {self.what}?"


def _rgba(rgba: np.ndarray) -> QImage:
    rows, cols = rgba.shape[:2]
    data = np.ascontiguousarray(rgba.round().clip(0, 255).astype(np.uint8))
    return QImage(data.data, cols, rows, cols * 4, QImage.Format.Format_RGBA8888).copy()


def heat_image(heat: np.ndarray) -> QImage:
    """A rows × cols RGBA spotlight: shade where the heat is low, a warm glow at the peak."""
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)
    shade = VEIL * (1.0 - heat) ** 1.5
    glow = 90 * np.clip((heat - 0.7) / 0.3, 0.0, 1.0)
    alpha = np.maximum(shade, glow)
    mix = (glow / np.maximum(alpha, 1e-6))[..., None]  # 0: black shade, 1: glow colour
    return _rgba(np.dstack([mix * np.array(GLOW, dtype=np.float32), alpha]))


def _edge(mask: np.ndarray, width: int) -> np.ndarray:
    """The mask's pixels within `width` of its outside."""
    inner = mask.copy()
    for _ in range(width):
        padded = np.pad(inner, 1)
        inner &= padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inner


def masks_image(masks: list[np.ndarray]) -> QImage:
    """Each mask (same size) outlined and softly tinted in its own colour, the rest shaded
    (at the masks' size: the view stretches it over the photo)."""
    rows, cols = masks[0].shape
    rgba = np.zeros((rows, cols, 4), dtype=np.float32)
    rgba[..., 3] = SHADE
    width = max(2, round(max(rows, cols) / 300))
    for mask, colour in zip(masks, COLOURS * len(masks), strict=False):
        rgba[mask] = (*colour, TINT)
        rgba[_edge(mask, width)] = (*colour, 255)
    return _rgba(rgba)


class PhotoView(QWidget):
    """Paints a photo fitted to the widget, with an optional heat map stretched over it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.overlay: QImage | None = None
        self.note = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    def show_image(self, image: QImage | None, note: str = "") -> None:
        self.image, self.overlay, self.note = image, None, note
        self.update()

    def show_overlay(self, overlay: QImage | None) -> None:
        self.overlay = overlay
        self.update()

    def photo_rect(self) -> QRect:
        if self.image is None or self.image.isNull():
            return QRect()
        size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        rect = QRect(0, 0, size.width(), size.height())
        rect.moveCenter(self.rect().center())
        return rect

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 28))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self.image is None or self.image.isNull():
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.note)
            return
        target = self.photo_rect()
        painter.drawImage(target, self.image)
        if self.overlay is not None:
            painter.drawImage(QRectF(target), self.overlay)


class PreviewDialog(QDialog):
    """Shows items[row]; Left/Right (or the buttons) move through the grid's photos."""

    row_changed = Signal(int)

    def __init__(
        self,
        album: Album,
        jobs: Jobs,
        items: list[GridItem],
        row: int,
        targets: list[LocateTarget],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.album = album
        self.jobs = jobs
        self.items = items
        self.row = row
        self._generation = 0
        self._heat_on = False
        self.located: list[Location] = []
        self.setWindowTitle("Preview")
        self.resize(fit_screen(self, PREVIEW_SIZE))  # a small screen gets a smaller one
        self.view = PhotoView(self)
        self._build(targets)
        for key, step in ((Qt.Key.Key_Left, -1), (Qt.Key.Key_Right, 1)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.activated.connect(lambda step=step: self.step(step))
        self.show_row(row)

    def _build(self, targets: list[LocateTarget]) -> None:
        self.previous_button = QToolButton(self)
        self.previous_button.setIcon(icon("previous"))
        self.previous_button.setToolTip("Previous photo (Left arrow)")
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QToolButton(self)
        self.next_button.setIcon(icon("next"))
        self.next_button.setToolTip("Next photo (Right arrow)")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.caption = QLabel(self)
        # the file line gives way (clipped) so that the bar fits a small screen
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.targets = targets
        self.target_box = QComboBox(self)
        self.target_box.addItems([target.label for target in targets])
        self.target_box.setVisible(len(targets) > 1)
        self.target_box.currentIndexChanged.connect(self._target_changed)
        self.found_label = QLabel(self)
        self.heat_box = QCheckBox("Heat map", self)
        self.heat_box.setToolTip("Show how strongly each part of the photo matches")
        self.heat_box.setEnabled(False)
        self.heat_box.toggled.connect(lambda _on: self._draw())
        self.locate_button = QPushButton(icon("locate"), "", self)
        self.locate_button.setCheckable(True)
        self.locate_button.setEnabled(bool(targets))
        self.locate_button.setToolTip(
            "Outline it in the photo" if targets else "Learn a concept or search first"
        )
        self.locate_button.toggled.connect(self._toggle_heat)
        self._label()
        bar = QHBoxLayout()
        bar.addWidget(self.previous_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.target_box)
        bar.addWidget(self.found_label)
        bar.addWidget(self.heat_box)
        bar.addWidget(self.locate_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.addWidget(self.view, 1)
        wrapper = QHBoxLayout()
        wrapper.setContentsMargins(10, 0, 10, 0)
        wrapper.addLayout(bar)
        layout.addLayout(wrapper)

    def target(self) -> LocateTarget | None:
        index = self.target_box.currentIndex()
        return self.targets[index] if 0 <= index < len(self.targets) else None

    def done(self, result: int) -> None:
        """Closing lets go of the photo (up to PREVIEW_SIDE²·3 bytes) and ignores late results."""
        self._generation += 1
        self.view.show_image(None)
        super().done(result)

    # --- moving ---------------------------------------------------------------------------
    def step(self, delta: int) -> None:
        row = self.row + delta
        if 0 <= row < len(self.items):
            self.show_row(row)

    def show_row(self, row: int) -> None:
        self.row = row
        self._generation += 1
        generation = self._generation
        item = self.items[row]
        parts = [
            item.path.name,
            short_date(item.when) if item.when else "",  # "" when the file gives no date
            f"match {item.score:.3f}" if item.score is not None else "",
            f"{row + 1} of {len(self.items):,}",
        ]
        self.caption.setText("   ·   ".join(part for part in parts if part))
        self.setWindowTitle(f"{item.path.name} — Fluffy")
        self.previous_button.setEnabled(row > 0)
        self.next_button.setEnabled(row < len(self.items) - 1)
        self.view.show_image(None, "Loading…")
        self._show([])
        self._label()  # a search still running for the last photo is no longer shown
        path = item.path
        self.jobs.start(
            lambda progress, cancel: decode_for_display(path),
            done=lambda image: self._decoded(generation, image),
            error=lambda message: self._decoded(generation, message),
        )
        self.row_changed.emit(row)

    def _decoded(self, generation: int, image: QImage | str) -> None:
        if generation != self._generation:
            return
        if isinstance(image, str):
            self.view.show_image(None, image)
            return
        self.view.show_image(image)
        if self._heat_on:
            self._locate()

    # --- where is it? ---------------------------------------------------------------------
    def _label(self) -> None:
        target = self.target()
        self.locate_button.setText(target.label if target else "Where is it?")

    def _target_changed(self, _index: int) -> None:
        self._label()
        if self._heat_on:
            self._locate()

    def _toggle_heat(self, on: bool) -> None:
        self._heat_on = on
        if on:
            self._locate()
        else:
            self._show([])

    def _locate(self) -> None:
        target = self.target()
        if self.view.image is None or target is None:
            return  # the photo is still loading; _decoded comes back here
        generation, path = self._generation, self.items[self.row].path
        self.locate_button.setText(f"Looking for {target.what}…")
        self.jobs.start(
            lambda progress, cancel: self.album.locate(target.query, path),
            done=lambda located: self._located(generation, target, located),
            error=lambda message: self._locate_failed(generation, message),
        )

    def _located(self, generation: int, target: LocateTarget, located: list[Location]) -> None:
        if generation != self._generation or target != self.target():
            return  # a newer photo or target is being looked for: its label stays
        self._label()
        if self._heat_on:
            self._show(located)

    def _show(self, located: list[Location]) -> None:
        """Keep and draw these locations, and say which were found (none: clear it all)."""
        self.located = located
        self.heat_box.setEnabled(bool(located))
        parts = []
        for where, colour in zip(located, COLOURS * len(located), strict=False):
            if where.found:
                parts.append(f"<span style='color: rgb{colour}'>●</span> {escape(where.target)}")
            else:
                parts.append(f"{escape(where.target)}: not in this photo")
        self.found_label.setText("   ".join(parts))
        self._draw()

    def _draw(self) -> None:
        located = self.located
        if not located:
            self.view.show_overlay(None)
        elif self.heat_box.isChecked():
            self.view.show_overlay(heat_image(np.maximum.reduce([w.heat for w in located])))
        else:
            self.view.show_overlay(masks_image([where.mask for where in located]))

    def _locate_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return  # closed (and deleted), or moved on: the newer photo's own look decides
        self.locate_button.setChecked(False)
        self._label()
        self.caption.setText(message)


def decode_for_display(path: Path) -> QImage | str:
    """The photo as a QImage (in a worker), or the reason it cannot be shown."""
    decoded = load_display_image(path, PREVIEW_SIDE)
    if isinstance(decoded, DecodeFailure):
        return f"Cannot show {path.name}: {decoded.reason}"
    data = decoded.convert("RGB").tobytes()
    width, height = decoded.size
    return QImage(data, width, height, width * 3, QImage.Format.Format_RGB888).copy()
