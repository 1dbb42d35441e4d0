"""Icons shipped in resources/icons: the app icon, and line icons tinted to the palette."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from fluffy_desktop.engine.resources import resource

APP_ID = "io.github.fluffy.Fluffy"
_SIZES = (16, 20, 24, 32, 48, 64)


def app_icon() -> QIcon:
    return QIcon(str(resource(f"icons/{APP_ID}.svg")))


def _text_color() -> QColor:
    return QGuiApplication.palette().color(QPalette.ColorRole.WindowText)


@cache
def _pixmaps(name: str, color: str) -> tuple[QPixmap, ...]:
    """The SVG drawn in color at every size the icons offer, for normal and 2× screens."""
    svg = resource(f"icons/{name}.svg").read_text().replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    pixmaps = []
    for size in _SIZES:
        for ratio in (1, 2):
            pixmap = QPixmap(size * ratio, size * ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter, QRectF(0, 0, size * ratio, size * ratio))
            painter.end()
            pixmap.setDevicePixelRatio(ratio)
            pixmaps.append(pixmap)
    return tuple(pixmaps)


def _tinted(name: str, color: str, on: tuple[str, str] | None = None) -> QIcon:
    """The icon in color; when on (a checked button) and `on` is given, in its first colour,
    or its second while disabled."""
    icon = QIcon()
    for pixmap in _pixmaps(name, color):
        icon.addPixmap(pixmap, QIcon.Mode.Normal, QIcon.State.Off)
    if on is not None:
        for mode, shade in zip((QIcon.Mode.Normal, QIcon.Mode.Disabled), on, strict=True):
            for pixmap in _pixmaps(name, shade):
                icon.addPixmap(pixmap, mode, QIcon.State.On)
    return icon


def icon(name: str, color: QColor | None = None) -> QIcon:
    """A line icon from resources/icons/<name>.svg in the palette's text colour (or `color`)."""
    return _tinted(name, (color or _text_color()).name())


def toggle_icon(name: str) -> QIcon:
    """A line icon for a toggle button painted in the highlight colour when on (ON_LOOK in
    search_bar): the text colour when off, the highlighted text's colour when on."""
    palette = QGuiApplication.palette()
    on = palette.color(QPalette.ColorRole.HighlightedText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    return _tinted(name, _text_color().name(), (on.name(), disabled.name()))
