"""Indexing in the background: folders by drop, progress and cancel, watching, a responsive UI."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer

from tests.gui.conftest import WAIT_MS, open_window, wait_idle
from tests.gui.dropping import drop_files
from tests.gui.timing import Hold
from tests.photos import make_library, write_photo


@pytest.fixture
def big_library(tmp_path):
    root = tmp_path / "many"
    return root, make_library(root, 40)  # two embedding batches: 32 photos, then 8


def hold(monkeypatch, clip, name: str, nth: int) -> Hold:
    """Hold the model's `name` at its nth call (the work is then mid-task)."""
    held = Hold(getattr(clip, name), nth, timeout=WAIT_MS / 1000)
    monkeypatch.setattr(clip, name, held)
    return held


def assert_ui_runs_while_held(qtbot, held: Hold) -> None:
    """The UI thread gets control back while the worker waits mid-task, and handles a timer."""
    qtbot.waitUntil(held.waiting, timeout=WAIT_MS)
    fired = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=WAIT_MS)
    assert held.waiting() and not held.in_ui_thread
    held.release.set()


def test_ui_stays_responsive_while_indexing_and_learning(qtbot, monkeypatch, album, big_library):
    window = open_window(qtbot, album)
    wait_idle(qtbot, window)
    root, photos = big_library
    embedding = hold(monkeypatch, album.clip(), "encode_image_batch", nth=2)
    assert drop_files(window, [root])  # a folder dropped on the window joins the library
    qtbot.waitUntil(embedding.waiting, timeout=WAIT_MS)
    assert window.indexer.running() and window.progress.isVisible()
    assert_ui_runs_while_held(qtbot, embedding)
    qtbot.waitUntil(lambda: not window.indexer.running(), timeout=WAIT_MS)
    assert album.catalog.count("ok") == len(photos)
    qtbot.waitUntil(lambda: window.model.rowCount() == len(photos), timeout=WAIT_MS)

    window.open_concept_dialog(photos[:6])
    dialog = window.concept_dialog
    dialog.name_field.setText("Fluffy")
    dialog.kind_box.setEditText("cat")
    wait_idle(qtbot, window)  # the kind suggestion is done: the learning is the only work
    tuning = hold(monkeypatch, album.clip(), "encode_tokens", nth=2)
    dialog.learn_button.click()
    qtbot.waitUntil(tuning.waiting, timeout=WAIT_MS)
    assert dialog.job is not None and dialog.bar.isVisible()
    assert_ui_runs_while_held(qtbot, tuning)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT_MS)
    assert album.concepts.names() == ["Fluffy"]


def test_indexing_can_be_cancelled(qtbot, monkeypatch, album, big_library):
    window = open_window(qtbot, album)
    wait_idle(qtbot, window)
    root, photos = big_library
    embedding = hold(monkeypatch, album.clip(), "encode_image_batch", nth=1)
    window.add_folders([root])
    qtbot.waitUntil(embedding.waiting, timeout=WAIT_MS)  # the first of two batches
    window.progress.cancel_button.click()
    embedding.release.set()
    qtbot.waitUntil(lambda: not window.indexer.running(), timeout=WAIT_MS)
    assert window.statusBar().currentMessage() == "Indexing stopped."
    assert album.catalog.count("ok") < len(photos)
    qtbot.waitUntil(lambda: not window.progress.isVisible(), timeout=WAIT_MS)


def test_new_photos_are_picked_up_while_the_app_runs(qtbot, window, library):
    root, photos = library
    window.watcher.settle.setInterval(100)
    qtbot.waitUntil(lambda: len(window.watcher.watcher.directories()) >= 3, timeout=WAIT_MS)
    write_photo(root / "album-1" / "new.jpg", 99, taken="2030:01:01 00:00:00")
    qtbot.waitUntil(lambda: window.model.rowCount() == len(photos) + 1, timeout=WAIT_MS)
    assert window.model.item(0).path == root / "album-1" / "new.jpg"  # newest first
