"""The preview: arrow keys move through the grid; "Where is Fluffy?" lays a heat map over it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from fluffy_desktop.gui.grid import GridItem
from tests.gui.conftest import WAIT_MS, close_until_deleted


def test_preview_moves_with_arrow_keys_and_locates_the_concept(qtbot, window, library):
    window.album.learn("Fluffy", "cat", library[1][:3])
    window.refresh_concepts()
    window.search_bar.search_for("Fluffy")
    qtbot.waitUntil(lambda: window.query_concepts == ["Fluffy"], timeout=WAIT_MS)

    window.grid.setCurrentIndex(window.model.index(0))
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    preview = window.preview
    assert preview is not None and preview.isVisible()
    qtbot.waitUntil(lambda: preview.view.image is not None, timeout=WAIT_MS)
    assert preview.locate_button.text() == "Where is Fluffy?"

    qtbot.keyClick(preview, Qt.Key.Key_Right)
    assert preview.row == 1 and window.grid.currentIndex().row() == 1
    qtbot.keyClick(preview, Qt.Key.Key_Left)
    assert preview.row == 0
    qtbot.keyClick(preview, Qt.Key.Key_Left)  # already the first photo
    assert preview.row == 0

    qtbot.waitUntil(lambda: preview.view.image is not None, timeout=WAIT_MS)
    preview.locate_button.click()
    qtbot.waitUntil(lambda: preview.view.overlay is not None, timeout=WAIT_MS)
    assert preview.view.overlay.width() > 1 and preview.view.overlay.height() > 1
    qtbot.keyClick(preview, Qt.Key.Key_Right)  # the overlay follows to the next photo
    qtbot.waitUntil(lambda: preview.view.overlay is not None, timeout=WAIT_MS)
    preview.locate_button.click()
    assert preview.view.overlay is None

    preview.locate_button.click()  # look, then move on with the heat map switched off
    assert preview.locate_button.text() == "Looking for Fluffy…"
    preview.locate_button.click()
    qtbot.keyClick(preview, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=WAIT_MS)
    assert preview.locate_button.text() == "Where is Fluffy?"
    assert preview.view.overlay is None


def test_a_closed_preview_lets_go_of_its_photo(qtbot, window):
    """Each preview stays a child of the window: its photo must not stay in memory with it."""
    window.open_preview(0)
    first = window.preview
    qtbot.waitUntil(lambda: first.view.image is not None, timeout=WAIT_MS)
    first.step(1)  # a decode still running when the user closes the preview
    first.reject()
    assert first.view.image is None and first.view.overlay is None
    window.open_preview(1)
    assert window.preview is not first
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=WAIT_MS)
    assert first.view.image is None  # the late result was ignored


def test_a_closed_preview_is_deleted_and_its_late_result_ignored(qtbot, window):
    window.open_preview(0)
    preview = window.preview
    qtbot.waitUntil(lambda: preview.view.image is not None, timeout=WAIT_MS)
    preview.step(1)  # a decode still running when the preview closes
    close_until_deleted(qtbot, preview)
    assert window.preview is None
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=WAIT_MS)  # no error comes of it


def test_the_preview_fits_the_screen(qtbot, window):
    window.open_preview(0)
    preview, room = window.preview, window.screen().availableGeometry()
    assert preview.width() <= room.width() and preview.height() <= room.height()
    preview.reject()
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=WAIT_MS)


def test_the_caption_of_a_photo_without_a_date_leaves_the_date_out(
    qtbot, window, library, tmp_path
):
    outside = tmp_path / "example.jpg"  # an example outside the library: no date is known
    outside.write_bytes(library[1][0].read_bytes())
    window.model.set_items([GridItem(outside, "", 0.5), GridItem(library[1][1], "", None)])
    window.open_preview(0)
    preview = window.preview
    assert preview.caption.text() == "example.jpg   ·   match 0.500   ·   1 of 2"
    preview.step(1)
    assert preview.caption.text() == f"{library[1][1].name}   ·   2 of 2"
    preview.reject()
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=WAIT_MS)
