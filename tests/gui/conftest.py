"""Fixtures for the desktop app: a photo library, Albums over it, and the main window."""

from __future__ import annotations

import traceback
from weakref import WeakKeyDictionary

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QListWidget

from fluffy_desktop.engine.album import Album
from fluffy_desktop.gui.app import settings_for
from fluffy_desktop.gui.main_window import MainWindow
from tests.photos import make_library

WAIT_MS = 20_000  # generous bound for worker results on a busy two-core machine


@pytest.fixture(autouse=True)
def no_thread_left_running(qtbot, monkeypatch):
    """Fails a test that leaves a QThread running once its windows are closed (napari's
    `_dangling_qthreads` is the model): closing the window must stop all of its work."""
    started: WeakKeyDictionary[QThread, str] = WeakKeyDictionary()
    base_start = QThread.start

    def start(thread: QThread, *args) -> None:
        started[thread] = "".join(traceback.format_stack(limit=4)[:-1])
        base_start(thread, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield
    running = [(thread, place) for thread, place in list(started.items()) if _running(thread)]
    for thread, _ in running:  # stop them, so the tests after this one are not disturbed
        thread.requestInterruption()
        getattr(thread, "cancel", lambda: None)()
        thread.wait(WAIT_MS)
    assert not running, "threads still running after the test, started at:\n" + "\n".join(
        place for _, place in running
    )


def _running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # its C++ object is gone: deleted, so not running
        return False


@pytest.fixture
def library(tmp_path):
    """A folder of 24 small dated photos (nested), and their paths."""
    root = tmp_path / "photos"
    return root, make_library(root, 24)


def close_album(album) -> None:
    """Close the windows (their workers stop and are waited for), then the album."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            widget.close()
    album.close()


@pytest.fixture
def album(tmp_path, tiny_spec):
    album = Album(tmp_path / "home", tiny_spec)
    yield album
    close_album(album)


@pytest.fixture
def indexed(album, library):
    album.index([library[0]])
    return album


def open_window(qtbot, album, scan_at_start: bool = False) -> MainWindow:
    """A started main window over album, shown offscreen, with its model loaded."""
    window = MainWindow(album, settings_for(album), scan_at_start=scan_at_start)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.search_bar.set_cutoff(None)
    window.start()
    return window


def tiled(photos: QListWidget) -> bool:
    """Whether each item of a photo list (icon mode, with a grid) is as large as its thumbnail
    and lies within its own grid cell, overlapping no other."""
    grid, size = photos.gridSize(), photos.iconSize()
    for item in (photos.item(row) for row in range(photos.count())):
        rect, thumbnail = photos.visualItemRect(item), item.icon().actualSize(size)
        within = (
            rect.left() // grid.width() == rect.right() // grid.width()
            and rect.top() // grid.height() == rect.bottom() // grid.height()
        )
        if rect.width() < thumbnail.width() or rect.height() < thumbnail.height() or not within:
            return False
    return True


def close_until_deleted(qtbot, dialog) -> None:
    """Close a dialog (Escape's way) and wait until Qt has deleted it."""
    deleted: list[bool] = []
    dialog.destroyed.connect(lambda: deleted.append(True))
    dialog.reject()
    qtbot.waitUntil(lambda: bool(deleted), timeout=WAIT_MS)


def wait_idle(qtbot, window) -> None:
    """Until no worker runs (model loaded, library and concepts read)."""
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=WAIT_MS)


@pytest.fixture
def window(qtbot, indexed):
    window = open_window(qtbot, indexed)
    wait_idle(qtbot, window)
    assert window.pages.currentWidget() is window.splitter
    return window


@pytest.fixture
def world_window(qtbot, world_home, tmp_path):
    """A started window over a copy of the world home (the world model, "Fluffy" learned)."""
    from tests.world_search import copy_home

    album = copy_home(world_home[1], tmp_path / "world-home")
    window = open_window(qtbot, album)
    wait_idle(qtbot, window)
    yield window
    close_album(album)
