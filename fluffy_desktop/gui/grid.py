"""The photo grid: a list model over plain items, a painting delegate, an icon-mode view.

The model holds a Python list and answers rowCount/data in O(1); thumbnails are asked of
`Thumbnails` only for the rows the view paints, so 100,000 photos cost one list, no widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from fluffy_desktop.gui.thumbnails import Thumbnails

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
BADGE_ROLE = Qt.ItemDataRole.UserRole + 2  # "0.71", or "★ 0.71" for an example
CELL = QSize(188, 184)  # one grid cell, spacing included
IMAGE_HEIGHT = 146  # of the thumbnail area inside a cell
LAYOUT_BATCH = 2000  # cells laid out per event-loop turn (100,000 at once block for ~0.2 s)


@dataclass(frozen=True, slots=True)
class GridItem:
    """One photo in the grid: where it is, when it was taken (ISO text), its score if ranked,
    and in a concept's album whether it is an example or was confirmed ("example", "confirmed";
    "" for a photo found by the concept's threshold, or by a search)."""

    path: Path
    when: str
    score: float | None = None
    state: str = ""


MARKS = {"example": "★", "confirmed": "✓"}  # on the badge of an album's examples and "yes" photos
SAID = {"example": "an example", "confirmed": "you said yes"}


def short_date(iso: str) -> str:
    """'2020-03-12T10:00:00' → '12 Mar 2020' (the text as given when it is not a date)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{moment.day} {moment:%b %Y}"


def _badge(item: GridItem) -> str | None:
    if item.score is None:
        return None
    mark = MARKS.get(item.state)
    return f"{mark} {item.score:.2f}" if mark else f"{item.score:.2f}"


class PhotoModel(QAbstractListModel):
    """The photos the grid shows, in order."""

    def __init__(self, thumbnails: Thumbnails, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._items: list[GridItem] = []
        self._waiting: dict[str, int] = {}
        thumbnails.loaded.connect(self._thumbnail_loaded)

    # --- contents -------------------------------------------------------------------------
    def set_items(self, items: list[GridItem]) -> None:
        self.beginResetModel()
        self._items = items
        self._waiting.clear()
        self.endResetModel()

    def items(self) -> list[GridItem]:
        return self._items

    def item(self, row: int) -> GridItem:
        return self._items[row]

    # --- Qt model -------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0):
        if not index.isValid():
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            image = self.thumbnails.get(item.path)
            if image is None:
                self._wait_for(str(item.path), index.row())
            return image
        if role == Qt.ItemDataRole.DisplayRole:
            return short_date(item.when) if item.when else item.path.name
        if role == Qt.ItemDataRole.ToolTipRole:
            score = f"\nmatch {item.score:.3f}" if item.score is not None else ""
            said = f" ({SAID[item.state]})" if item.state in SAID else ""
            return f"{item.path}\n{short_date(item.when)}{score}{said}"
        if role == PATH_ROLE:
            return item.path
        if role == BADGE_ROLE:
            return _badge(item)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes) -> QMimeData:
        """Dragged photos travel as file URLs (to the concept area or a file manager)."""
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(self._items[i.row()].path)) for i in indexes])
        return mime

    # --- thumbnails -----------------------------------------------------------------------
    def _wait_for(self, key: str, row: int) -> None:
        if len(self._waiting) > 4096:  # requests the loader dropped; visible rows ask again
            self._waiting.clear()
        self._waiting[key] = row

    def _thumbnail_loaded(self, key: str, _image: QImage) -> None:
        row = self._waiting.pop(key, None)
        if row is not None and row < len(self._items) and str(self._items[row].path) == key:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class PhotoDelegate(QStyledItemDelegate):
    """Paints a cell: the thumbnail fitted and centred, a score badge, a date caption."""

    def sizeHint(self, option, index) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        cell = option.rect.adjusted(4, 4, -4, -4)
        palette = option.palette
        if option.state & QStyle.StateFlag.State_Selected:
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            highlight.setAlpha(90)
            painter.setPen(palette.color(QPalette.ColorRole.Highlight))
            painter.setBrush(highlight)
            painter.drawRoundedRect(cell, 8, 8)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
            painter.drawRoundedRect(cell, 8, 8)
        area = QRect(cell.left() + 6, cell.top() + 6, cell.width() - 12, IMAGE_HEIGHT)
        self._paint_image(painter, area, index.data(Qt.ItemDataRole.DecorationRole), palette)
        badge = index.data(BADGE_ROLE)
        if badge is not None:
            self._paint_badge(painter, area, badge)
            painter.setFont(option.font)
        caption = QRect(cell.left() + 4, area.bottom() + 4, cell.width() - 8, 20)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        text = option.fontMetrics.elidedText(
            index.data(Qt.ItemDataRole.DisplayRole), Qt.TextElideMode.ElideMiddle, caption.width()
        )
        painter.drawText(caption, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    @staticmethod
    def _paint_image(painter: QPainter, area: QRect, image: QImage | None, palette) -> None:
        if image is None or image.isNull():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.Mid).lighter(130))
            painter.drawRoundedRect(area.adjusted(16, 10, -16, -10), 6, 6)
            if image is not None:  # decoded and found broken
                painter.setPen(palette.color(QPalette.ColorRole.Text))
                painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "cannot show")
            return
        size = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(area.center())
        clip = QPainterPath()
        clip.addRoundedRect(target, 5, 5)
        painter.setClipPath(clip)
        painter.drawImage(target, image)
        painter.setClipping(False)

    @staticmethod
    def _paint_badge(painter: QPainter, area: QRect, text: str) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        font.setBold(True)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text) + 12
        badge = QRect(area.left() + 4, area.top() + 4, width, painter.fontMetrics().height() + 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 20, 170))
        painter.drawRoundedRect(badge, 8, 8)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)


class PhotoGrid(QListView):
    """Icon-mode list of photos; Enter or double-click asks for a preview."""

    preview_requested = Signal(int)

    def __init__(self, model: PhotoModel, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(LAYOUT_BATCH)
        self.setGridSize(CELL)
        self.setWrapping(True)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setDragDropMode(QListView.DragDropMode.DragOnly)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(CELL.height() // 3)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setItemDelegate(PhotoDelegate(self))
        self.setModel(model)
        self.doubleClicked.connect(lambda index: self.preview_requested.emit(index.row()))

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.preview_requested.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        """Spread the columns over the whole width (no empty band on the right)."""
        scrollbar = self.verticalScrollBar().sizeHint().width()
        available = self.width() - 2 * self.frameWidth() - scrollbar - 1
        columns = max(1, available // CELL.width())
        width = max(CELL.width(), available // columns)
        if self.gridSize().width() != width:
            self.setGridSize(QSize(width, CELL.height()))
        super().resizeEvent(event)

    def photo_model(self) -> PhotoModel:
        return self.model()  # type: ignore[return-value]

    def selected_paths(self) -> list[Path]:
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        return [self.photo_model().item(row).path for row in rows]
