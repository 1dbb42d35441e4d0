"""The side panel: library folders, learned concepts (with example thumbnails), and the
"New concept" drop area."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fluffy_desktop.gui.concept_actions import TAKE_ELSEWHERE
from fluffy_desktop.gui.dnd import dropped
from fluffy_desktop.gui.icons import icon
from fluffy_desktop.gui.thumbnails import Thumbnails
from fluffy_desktop.gui.words import counted

NAME_ROLE = Qt.ItemDataRole.UserRole + 1
MOSAIC = 56  # pixels of a concept's 2 × 2 example mosaic


@dataclass(frozen=True)
class ConceptSummary:
    """What the panel shows of a concept."""

    name: str
    kind: str
    photos: tuple[Path, ...]
    said_yes: int = 0
    said_no: int = 0

    @classmethod
    def of(cls, concept) -> ConceptSummary:
        photos = tuple(Path(p["path"]) for p in concept.photos)
        return cls(
            concept.name, concept.kind, photos, len(concept.confirmed), len(concept.negatives)
        )

    def line(self) -> str:
        """The kind and what the concept learned from: "cat · 5 examples · 12 yes"."""
        count = len(self.photos)
        text = f"{self.kind} · {counted(count, 'example')}"
        return f"{text} · {self.said_yes} yes" if self.said_yes else text


def _header(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text.upper(), parent)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 0.85)
    label.setFont(font)
    label.setStyleSheet("color: palette(mid); letter-spacing: 1px;")
    return label


def _tool(name: str, tip: str, parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setIcon(icon(name))
    button.setToolTip(tip)
    button.setAutoRaise(True)
    return button


class DropArea(QFrame):
    """A dashed box that takes photos dropped from a file manager (or dragged from the grid);
    clicking it asks for the concept dialog."""

    photos_dropped = Signal(list)
    clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setObjectName("dropArea")
        self._style(False)
        title = QLabel("New concept", self)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        hint = QLabel("Drop 3–10 photos of a pet, a person or a thing here to teach Fluffy", self)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(mid);")
        glyph = QLabel(self)
        glyph.setPixmap(icon("concept-new").pixmap(28, 28))
        layout = QHBoxLayout(self)
        layout.addWidget(glyph, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(hint)
        layout.addLayout(text, 1)

    def _style(self, hovered: bool) -> None:
        border = "palette(highlight)" if hovered else "palette(mid)"
        self.setStyleSheet(f"#dropArea {{ border: 2px dashed {border}; border-radius: 10px; }}")

    def dragEnterEvent(self, event) -> None:
        if dropped(event.mimeData()).photos:
            self._style(True)
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self._style(False)

    def dropEvent(self, event) -> None:
        self._style(False)
        photos = dropped(event.mimeData()).photos
        if photos:
            event.acceptProposedAction()
            self.photos_dropped.emit(photos)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()


def mosaic_cells(count: int) -> list[QRect]:
    """How 1–4 examples share the mosaic: whole, two columns, one tall and two small, 2 × 2."""
    full, half = MOSAIC, MOSAIC // 2
    tall_left = QRect(0, 0, half - 1, full)
    layouts = {
        1: [QRect(0, 0, full, full)],
        2: [tall_left, QRect(half, 0, half - 1, full)],
        3: [tall_left, QRect(half, 0, half - 1, half - 1), QRect(half, half, half - 1, half - 1)],
    }
    grid = [QRect((s % 2) * half, (s // 2) * half, half - 1, half - 1) for s in range(4)]
    return layouts.get(count, grid)


class ConceptList(QListWidget):
    """Concepts with a mosaic of their example photos; right-click for rename, delete, export."""

    action_requested = Signal(str, str)  # action, concept name

    def __init__(self, thumbnails: Thumbnails, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.setIconSize(QSize(MOSAIC, MOSAIC))
        self.setSpacing(2)
        self.setWordWrap(True)  # a narrow panel wraps "cat · 5 examples · 12 yes"
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self._concepts: dict[str, ConceptSummary] = {}
        thumbnails.loaded.connect(self._thumbnail_loaded)

    def set_concepts(self, concepts: list[ConceptSummary]) -> None:
        self.clear()
        self._concepts = {c.name: c for c in concepts}
        for concept in concepts:
            item = QListWidgetItem(f"{concept.name}\n{concept.line()}")
            item.setData(NAME_ROLE, concept.name)
            item.setToolTip(
                f"Show the photos of {concept.name} ({counted(len(concept.photos), 'example')}, "
                f"{concept.said_yes} said yes, {concept.said_no} said no)"
            )
            item.setIcon(self._mosaic(concept))
            self.addItem(item)

    def kind_of(self, name: str) -> str:
        """The kind of the concept listed under `name` ("" if none is)."""
        concept = self._concepts.get(name)
        return concept.kind if concept else ""

    def select(self, query: str) -> None:
        """Highlight the concept whose smart album the grid shows (none for other queries)."""
        key = query.strip().casefold()
        for row in range(self.count()):
            if self.item(row).data(NAME_ROLE).casefold() == key:
                self.setCurrentRow(row)
                return
        self.clearSelection()
        self.setCurrentItem(None)

    def _mosaic(self, concept: ConceptSummary) -> QIcon:
        """Up to four example thumbnails filling one square (grey while loading)."""
        canvas = QPixmap(MOSAIC * 2, MOSAIC * 2)
        canvas.setDevicePixelRatio(2)
        canvas.fill(Qt.GlobalColor.transparent)
        painter = QPainter(canvas)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        examples = concept.photos[:4]
        for slot, cell in enumerate(mosaic_cells(max(1, len(examples)))):
            image = self.thumbnails.get(examples[slot]) if slot < len(examples) else None
            if image is None or image.isNull():
                painter.fillRect(cell, QColor(128, 128, 128, 60))
            else:
                painter.drawImage(cell, _cropped_to(image, cell))
        painter.end()
        return QIcon(canvas)

    def _thumbnail_loaded(self, key: str, _image: QImage) -> None:
        for row in range(self.count()):
            item = self.item(row)
            concept = self._concepts.get(item.data(NAME_ROLE))
            if concept is not None and key in {str(p) for p in concept.photos[:4]}:
                item.setIcon(self._mosaic(concept))

    def _menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        name = item.data(NAME_ROLE)
        menu = QMenu(self)
        for group in (
            (
                ("show", f"Show {name}", "photos"),
                ("review", f"Is this {name}? Review…", "concept"),
                ("answers", "Examples and answers…", "photos"),
            ),
            TAKE_ELSEWHERE,
            (
                ("rename", "Rename…", "rename"),
                ("export", "Save as a concept file…", "export"),
                ("delete", "Delete", "delete"),
            ),
        ):
            menu.addSeparator()
            for action, label, glyph in group:
                menu.addAction(icon(glyph), label).setData(action)
        chosen = menu.exec(self.viewport().mapToGlobal(pos))
        menu.deleteLater()
        if chosen is not None:
            self.action_requested.emit(chosen.data(), name)


def _cropped_to(image: QImage, cell: QRect) -> QImage:
    """The centre of image with the cell's aspect ratio (so drawing it does not stretch it)."""
    scale = min(image.width() / cell.width(), image.height() / cell.height())
    width, height = round(cell.width() * scale), round(cell.height() * scale)
    return image.copy((image.width() - width) // 2, (image.height() - height) // 2, width, height)


class SidePanel(QWidget):
    """Folders and concepts. Signals carry what the user asked for; the window does it."""

    add_folder_requested = Signal()
    remove_folder_requested = Signal(object)
    concept_clicked = Signal(str)
    concept_action = Signal(str, str)  # action, name: show, rename, export, delete
    import_requested = Signal()
    new_concept_requested = Signal(list)  # photos (maybe none: open an empty dialog)

    def __init__(self, thumbnails: Thumbnails, parent=None):
        super().__init__(parent)
        self.setMinimumWidth(230)
        self.folders = QListWidget(self)
        self.folders.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.folders.setMaximumHeight(150)
        self.folders.itemSelectionChanged.connect(self._folder_selected)
        add_folder = _tool("folder-add", "Add a folder of photos…", self)
        add_folder.clicked.connect(self.add_folder_requested)
        self.remove_folder = _tool("folder-remove", "Remove the selected folder", self)
        self.remove_folder.setEnabled(False)
        self.remove_folder.clicked.connect(self._remove_selected_folder)

        self.concepts = ConceptList(thumbnails, self)
        self.concepts.itemClicked.connect(
            lambda item: self.concept_clicked.emit(item.data(NAME_ROLE))
        )
        self.concepts.action_requested.connect(self.concept_action)
        import_concept = _tool("import", "Import a concept file…", self)
        import_concept.clicked.connect(self.import_requested)
        self.empty_concepts = QLabel("No concepts yet.", self)
        self.empty_concepts.setStyleSheet("color: palette(mid);")

        self.drop_area = DropArea(self)
        self.drop_area.photos_dropped.connect(self.new_concept_requested)
        self.drop_area.clicked.connect(lambda: self.new_concept_requested.emit([]))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 6, 10)
        layout.addLayout(self._section("Library folders", add_folder, self.remove_folder))
        layout.addWidget(self.folders)
        layout.addSpacing(10)
        layout.addLayout(self._section("Concepts", import_concept))
        layout.addWidget(self.concepts, 1)
        layout.addWidget(self.empty_concepts)
        layout.addWidget(self.drop_area)

    def _section(self, title: str, *buttons: QToolButton) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(_header(title, self))
        row.addStretch(1)
        for button in buttons:
            row.addWidget(button)
        return row

    def set_folders(self, folders: list[Path]) -> None:
        self.folders.clear()
        for folder in folders:
            item = QListWidgetItem(icon("folder"), folder.name or str(folder))
            item.setToolTip(str(folder))
            item.setData(NAME_ROLE, folder)
            self.folders.addItem(item)
        self.remove_folder.setEnabled(False)

    def set_concepts(self, concepts: list[ConceptSummary]) -> None:
        self.concepts.set_concepts(concepts)
        self.empty_concepts.setVisible(not concepts)

    def _folder_selected(self) -> None:
        self.remove_folder.setEnabled(bool(self.folders.selectedItems()))

    def _remove_selected_folder(self) -> None:
        for item in self.folders.selectedItems():
            self.remove_folder_requested.emit(item.data(NAME_ROLE))
