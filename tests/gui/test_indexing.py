"""Indexing in the background: folders by drop, progress and cancel, watching, a responsive UI."""

from __future__ import annotations

import pytest

from tests.gui.conftest import WAIT_MS, open_window, wait_idle
from tests.gui.dropping import drop_files
from tests.gui.timing import GapMeter
from tests.photos import make_library, write_photo


@pytest.fixture
def big_library(tmp_path):
    root = tmp_path / "many"
    return root, make_library(root, 150)


def test_ui_stays_responsive_while_indexing_and_learning(qtbot, album, big_library):
    window = open_window(qtbot, album)
    wait_idle(qtbot, window)
    root, photos = big_library
    with GapMeter() as indexing:
        assert drop_files(window, [root])  # a folder dropped on the window joins the library
        qtbot.waitUntil(window.indexer.running, timeout=WAIT_MS)
        assert window.progress.isVisible()
        qtbot.waitUntil(lambda: not window.indexer.running(), timeout=WAIT_MS)
    assert album.catalog.count("ok") == len(photos)
    qtbot.waitUntil(lambda: window.model.rowCount() == len(photos), timeout=WAIT_MS)

    window.open_concept_dialog(photos[:6])
    dialog = window.concept_dialog
    dialog.name_field.setText("Fluffy")
    dialog.kind_box.setEditText("cat")
    with GapMeter() as learning:
        dialog.learn_button.click()
        qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT_MS)
    assert album.concepts.names() == ["Fluffy"]
    assert indexing.ticks >= 10 and learning.ticks >= 10  # both ran long enough to measure
    assert indexing.longest < 0.1, f"UI blocked {indexing.longest * 1000:.0f} ms while indexing"
    assert learning.longest < 0.1, f"UI blocked {learning.longest * 1000:.0f} ms while learning"


def test_indexing_can_be_cancelled(qtbot, album, big_library):
    window = open_window(qtbot, album)
    wait_idle(qtbot, window)
    root, photos = big_library
    window.add_folders([root])
    qtbot.waitUntil(window.indexer.running, timeout=WAIT_MS)
    window.progress.cancel_button.click()
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
