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
def _tinted(name: str, color: str) -> QIcon:
    svg = resource(f"icons/{name}.svg").read_text().replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    icon = QIcon()
    for size in _SIZES:
        for ratio in (1, 2):
            pixmap = QPixmap(size * ratio, size * ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter, QRectF(0, 0, size * ratio, size * ratio))
            painter.end()
            pixmap.setDevicePixelRatio(ratio)
            icon.addPixmap(pixmap)
    return icon


def icon(name: str, color: QColor | None = None) -> QIcon:
    """A line icon from resources/icons/<name>.svg in the palette's text colour (or `color`)."""
    return _tinted(name, (color or _text_color()).name())
