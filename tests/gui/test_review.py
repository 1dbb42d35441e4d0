""" "Is this Fluffy?": Yes / No / Skip with the keyboard, Undo, answers recorded afterwards."""

from __future__ import annotations

from PySide6.QtCore import Qt

from fluffy_desktop.gui.review_dialog import BATCH
from tests.gui.conftest import WAIT_MS, close_album, open_window, wait_idle
from tests.world_search import copy_home


def test_answers_by_key_with_undo_are_recorded_and_retune_the_concept(qtbot, world_home, tmp_path):
    _, home = world_home
    album = copy_home(home, tmp_path / "home")
    try:
        window = open_window(qtbot, album)
        wait_idle(qtbot, window)
        dialog = window.open_review("Fluffy")
        qtbot.waitUntil(lambda: len(dialog.photos) == BATCH, timeout=WAIT_MS)
        assert "Is this Fluffy?" in dialog.question.text() and "(1 of 10)" in dialog.question.text()
        first, second = dialog.photos[0], dialog.photos[1]
        qtbot.keyClick(dialog, Qt.Key.Key_Y)
        qtbot.keyClick(dialog, Qt.Key.Key_S)
        qtbot.keyClick(dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the skip
        assert "(2 of 10)" in dialog.question.text()
        qtbot.keyClick(dialog, Qt.Key.Key_N)
        with qtbot.waitSignal(dialog.answers_ready, timeout=WAIT_MS) as answers:
            for _ in range(BATCH - 2):
                qtbot.keyClick(dialog, Qt.Key.Key_S)
        assert answers.args == [[first], [second]]
        wait_idle(qtbot, window)
        assert "Fluffy: 1 yes, 1 no — re-tuned." in window.statusBar().currentMessage()
        concept = album.concepts.get("Fluffy")
        assert [r["path"] for r in concept.confirmed] == [str(first.resolve())]
        assert str(second.resolve()) in [r["path"] for r in concept.negatives]
    finally:
        close_album(album)


def test_clicking_a_concept_shows_its_album_whatever_the_slider(qtbot, world_home, tmp_path):
    _, home = world_home
    album = copy_home(home, tmp_path / "home")
    try:
        window = open_window(qtbot, album)
        wait_idle(qtbot, window)
        window.search_bar.set_cutoff(0.9)  # the Match slider is for free-text search only
        item = window.side.concepts.item(0)
        window.side.concepts.itemClicked.emit(item)
        qtbot.waitUntil(lambda: "Fluffy ·" in window.count_label.text(), timeout=WAIT_MS)
        _, members = album.concept_photos("Fluffy")
        shown = [i.path for i in window.model.items()]
        assert shown == [m.path for m in members]
        assert window.count_label.text() == f"Fluffy · {len(members)} photos"
        assert not window.search_bar.slider.isEnabled()
        window.search_bar.by_date_button.click()
        dates = [i.when for i in window.model.items() if i.when]
        assert dates == sorted(dates, reverse=True)
    finally:
        close_album(album)


def test_examples_and_answers_are_listed_and_removable(qtbot, world_home, tmp_path):
    setup, home = world_home
    album = copy_home(home, tmp_path / "home")
    try:
        window = open_window(qtbot, album)
        wait_idle(qtbot, window)
        stranger = next(p for p, o in zip(setup.gallery, setup.world.owners, strict=True) if o < 0)
        album.answer("Fluffy", [stranger], False)
        dialog = window.open_answers("Fluffy")
        texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        assert texts[0] == "Examples (5)" and "Said yes (0)" in texts and "Said no (1)" in texts
        row = next(i for i, t in enumerate(texts) if t.strip() == str(stranger.resolve()))
        dialog.list.setCurrentRow(row)
        dialog.remove_button.click()
        qtbot.waitUntil(lambda: "is re-tuned" in dialog.note.text(), timeout=WAIT_MS)
        assert album.concepts.get("Fluffy").negatives == []
        assert "Said no (0)" in [dialog.list.item(i).text() for i in range(dialog.list.count())]
        wait_idle(qtbot, window)
    finally:
        close_album(album)
