"""Concepts in the app: drop photos, learn in a worker (or stop it), then use and manage them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from fluffy_desktop.gui.side_panel import MOSAIC, mosaic_cells
from tests.gui.conftest import WAIT_MS, close_until_deleted, tiled, wait_idle
from tests.gui.dropping import drop_files


def _dialog(qtbot, window, photos):
    assert drop_files(window.side.drop_area, photos)
    dialog = window.concept_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.strip.paths() == photos
    return dialog


def test_dropping_photos_creates_a_concept_through_the_worker(qtbot, window, library):
    photos = library[1][:4]
    dialog = _dialog(qtbot, window, photos)
    qtbot.waitUntil(lambda: dialog.suggestion.text().startswith("Looks like"), timeout=WAIT_MS)
    assert dialog.kind()  # the zero-shot suggestion fills the kind
    dialog.name_field.setText("Fluffy")
    dialog.kind_box.setEditText("cat")
    dialog.learn_button.click()
    assert dialog.job is not None and dialog.learn_button.text() == "Stop"

    qtbot.waitUntil(
        lambda: window.query_concepts == ["Fluffy"] and window.model.rowCount() > 0,
        timeout=WAIT_MS,
    )  # a search for the new concept ran
    assert window.concept_dialog is None  # it closed (and was deleted)
    qtbot.waitUntil(lambda: window.side.concepts.count() == 1, timeout=WAIT_MS)
    assert window.side.concepts.item(0).text().startswith("Fluffy\ncat · 4 examples")
    assert window.album.concepts.get("Fluffy").kind == "cat"
    assert window.query == "Fluffy"
    assert window.model.item(0).score is not None


def test_learning_can_be_stopped_and_saves_nothing(qtbot, window, library):
    dialog = _dialog(qtbot, window, library[1][:5])
    dialog.name_field.setText("Rex")
    dialog.kind_box.setEditText("dog")
    dialog.learn_button.click()
    dialog.learn_button.click()  # "Stop"
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT_MS)
    assert dialog.message.text() == "Stopped. Nothing was saved."
    assert dialog.isVisible() and dialog.learn_button.text() == "Learn"
    assert window.album.concepts.names() == []


def test_a_bad_name_is_a_one_line_message_in_the_dialog(qtbot, window, library):
    dialog = _dialog(qtbot, window, library[1][:2])
    dialog.name_field.setText("!!!")
    dialog.kind_box.setEditText("cat")
    dialog.learn_button.click()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT_MS)
    assert "cannot name a concept" in dialog.message.text()
    assert "\n" not in dialog.message.text()
    assert window.album.concepts.names() == []


def test_not_concept_retunes_and_panel_actions_manage_concepts(
    qtbot, window, library, tmp_path, monkeypatch
):
    window.album.learn("Fluffy", "cat", library[1][:3])
    window.refresh_concepts()
    window.search_bar.search_for("Fluffy")
    qtbot.waitUntil(lambda: window.query_concepts == ["Fluffy"], timeout=WAIT_MS)
    row = next(r for r, item in enumerate(window.model.items()) if item.path not in library[1][:3])
    stranger = window.model.item(row).path
    menu = {action.text(): action for action in window.photo_menu(row).actions()}
    assert {"Open", "Show in folder", "Find similar", "This is Fluffy", "Not Fluffy"} <= set(menu)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    menu["Show in folder"].trigger()
    assert opened == [str(stranger.parent)]
    menu["Not Fluffy"].trigger()
    assert window.progress.isVisible()  # "Re-tuning Fluffy…"
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=WAIT_MS)
    negatives = window.album.concepts.get("Fluffy").negatives
    assert [ref["path"] for ref in negatives] == [str(stranger.resolve())]
    window.grid.selectAll()  # the photo menu answers for the whole selection
    menu = {action.text(): action for action in window.photo_menu(0).actions()}
    menu["These are Fluffy"].trigger()
    wait_idle(qtbot, window)
    count = len(window.model.items())
    assert window.statusBar().currentMessage() == f"Fluffy: {count} yes, 0 no — re-tuned."
    concept = window.album.concepts.get("Fluffy")
    assert len(concept.photos) + len(concept.confirmed) == count
    assert not concept.negatives

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Whiskers", True))
    window.concept_actions.run("rename", "Fluffy")
    wait_idle(qtbot, window)
    assert window.album.concepts.names() == ["Whiskers"]
    assert window.query == "Whiskers"

    exported = tmp_path / "whiskers.safetensors"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(exported), ""))
    window.concept_actions.run("export", "Whiskers")
    wait_idle(qtbot, window)
    assert exported.is_file()

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.concept_actions.run("delete", "Whiskers")
    wait_idle(qtbot, window)
    assert window.album.concepts.names() == []
    assert window.side.concepts.count() == 0

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(exported), ""))
    window.concept_actions.import_file()
    wait_idle(qtbot, window)
    assert window.album.concepts.names() == ["Whiskers"]
    assert window.side.concepts.count() == 1


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_a_concepts_examples_fill_its_mosaic_without_overlap(count):
    cells = mosaic_cells(count)
    assert len(cells) == count
    square = QRect(0, 0, MOSAIC, MOSAIC)
    assert all(square.contains(cell) for cell in cells)
    assert not any(a.intersects(b) for i, a in enumerate(cells) for b in cells[i + 1 :])
    covered = sum(cell.width() * cell.height() for cell in cells)
    assert covered > 0.9 * MOSAIC * MOSAIC  # no empty grey corners when there are few photos


def test_a_closed_concept_dialog_is_deleted_and_its_late_suggestion_ignored(qtbot, window, library):
    dialog = _dialog(qtbot, window, library[1][:3])
    dialog.suggest_timer.timeout.emit()  # a kind suggestion still on its way when it closes
    close_until_deleted(qtbot, dialog)
    assert window.concept_dialog is None
    wait_idle(qtbot, window)  # no error comes of it
    window.open_concept_dialog(library[1][:2])  # a new one opens as before
    assert window.concept_dialog is not None and window.concept_dialog.isVisible()


def test_a_search_reads_the_concept_files_once(qtbot, window, library, monkeypatch):
    window.album.learn("Fluffy", "cat", library[1][:3])
    store = window.album.concepts
    reads: list[int] = []
    listed = store.list
    monkeypatch.setattr(store, "list", lambda: reads.append(1) or listed())
    window.search_bar.search_for("Fluffy asleep -blanket")
    qtbot.waitUntil(lambda: window.query_concepts == ["Fluffy"], timeout=WAIT_MS)
    wait_idle(qtbot, window)
    assert len(reads) == 1  # by the search itself, which also names the query's concepts


def test_the_page_shown_follows_its_concept_renamed_and_leaves_when_it_is_deleted(
    qtbot, window, library, monkeypatch
):
    window.album.learn("Fluffy", "cat", library[1][:3])
    window.refresh_concepts()
    wait_idle(qtbot, window)
    window.show_album("Fluffy")
    wait_idle(qtbot, window)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Whiskers", True))
    window.concept_actions.run("rename", "Fluffy")
    wait_idle(qtbot, window)
    assert window.album_name == "Whiskers" and window.album_header.title.text() == "Whiskers"
    assert window.count_label.text().startswith("Whiskers · ")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.concept_actions.run("delete", "Whiskers")
    wait_idle(qtbot, window)
    assert window.album_name is None and not window.album_header.isVisible()
    assert window.count_label.text() == f"{window.photo_count:,} photos"  # the whole library


def test_add_photos_opens_in_the_library_not_where_the_app_was_started(
    qtbot, window, library, monkeypatch
):
    dialog = _dialog(qtbot, window, library[1][:1])
    opened: list[str] = []
    monkeypatch.setattr(
        QFileDialog, "getOpenFileNames", lambda *a, **k: opened.append(a[2]) or ([], "")
    )
    dialog.add_button.click()
    assert opened == [str(window.album.folders()[0])]
    dialog.reject()
    wait_idle(qtbot, window)


def test_the_dialogs_thumbnails_show_whole_with_their_names(qtbot, world_home, world_window):
    window = world_window
    window.open_concept_dialog(world_home[0].shots[1])
    strip = window.concept_dialog.strip
    items = [strip.item(row) for row in range(strip.count())]
    qtbot.waitUntil(lambda: not any(item.icon().isNull() for item in items), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tiled(strip), timeout=WAIT_MS)
    line = strip.fontMetrics().height()
    for item in items:  # the name under each thumbnail is not cut off by its cell
        thumbnail = item.icon().actualSize(strip.iconSize())
        assert strip.visualItemRect(item).height() >= thumbnail.height() + line
    window.concept_dialog.reject()
    wait_idle(qtbot, window)
