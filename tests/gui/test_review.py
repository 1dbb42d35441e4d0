"""A concept's album in the app, "Is this Fluffy?" (Yes / No / Skip by key, with Undo), and its
examples and answers, each removable (world model, "Fluffy" learned)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from fluffy_desktop.gui.answers_dialog import PATH_ROLE
from fluffy_desktop.gui.grid import BADGE_ROLE
from fluffy_desktop.gui.review_dialog import BATCH, ReviewDialog
from tests.gui.conftest import WAIT_MS, close_until_deleted, tiled, wait_idle


def test_answers_by_key_with_undo_are_recorded_and_retune_the_concept(qtbot, world_window):
    window = world_window
    dialog = window.open_review("Fluffy")
    qtbot.waitUntil(lambda: len(dialog.photos) == BATCH, timeout=WAIT_MS)
    assert "Is this Fluffy?" in dialog.question.text() and "(1 of 10)" in dialog.question.text()
    first, second = dialog.photos[0], dialog.photos[1]
    strip = [dialog.strip.item(row) for row in range(dialog.strip.count())]
    assert [item.toolTip() for item in strip] == [str(p) for p in dialog.photos]
    qtbot.waitUntil(lambda: not any(item.icon().isNull() for item in strip), timeout=WAIT_MS)
    qtbot.keyClick(dialog, Qt.Key.Key_Y)
    qtbot.keyClick(dialog, Qt.Key.Key_S)
    assert [item.text() for item in strip[:4]] == ["Yes", "Skip", "Now", ""]
    qtbot.keyClick(dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the skip
    assert "(2 of 10)" in dialog.question.text()
    assert [item.text() for item in strip[:3]] == ["Yes", "Now", ""]
    qtbot.keyClick(dialog, Qt.Key.Key_N)
    with qtbot.waitSignal(dialog.answers_ready, timeout=WAIT_MS) as answers:
        for _ in range(BATCH - 2):
            qtbot.keyClick(dialog, Qt.Key.Key_S)
    assert answers.args == [[first], [second]]
    wait_idle(qtbot, window)
    assert "Fluffy: 1 yes, 1 no — re-tuned." in window.statusBar().currentMessage()
    concept = window.album.concepts.get("Fluffy")
    assert [r["path"] for r in concept.confirmed] == [str(first.resolve())]
    assert str(second.resolve()) in [r["path"] for r in concept.negatives]
    panel = window.side.concepts
    qtbot.waitUntil(
        lambda: panel.item(0).text() == "Fluffy\ncat · 5 examples · 1 yes", timeout=WAIT_MS
    )
    assert "1 said yes, 1 said no" in panel.item(0).toolTip()


def test_clicking_a_concept_shows_its_page_whatever_the_slider(qtbot, world_window):
    window = world_window
    window.search_bar.set_cutoff(0.9)  # the Match slider is for free-text search only
    window.search_bar.search_for("beach")
    wait_idle(qtbot, window)
    window.side.concepts.itemClicked.emit(window.side.concepts.item(0))
    qtbot.waitUntil(lambda: "Fluffy ·" in window.count_label.text(), timeout=WAIT_MS)
    _, members = window.album.concept_photos("Fluffy")
    assert [i.path for i in window.model.items()] == [m.path for m in members]
    assert window.count_label.text() == f"Fluffy · {len(members)} photos"
    badges = [window.model.index(row).data(BADGE_ROLE) for row in range(len(members))]
    marks = {"example": "★ ", "auto": ""}  # an example's badge says so, a found photo's does not
    assert badges == [f"{marks[m.state]}{m.score:.2f}" for m in members]
    assert {m.state for m in members} == {"example", "auto"}
    header = window.album_header  # the concept's page: its head, and no search text
    assert header.isVisible() and header.title.text() == "Fluffy"
    assert header.detail.text() == f"cat · {len(members)} photos"
    assert window.search_bar.text() == "" and window.album_name == "Fluffy"
    room = window.screen().availableGeometry()  # on a small screen: icons only, no wider window
    assert window.frameGeometry().width() <= room.width()
    assert header.review_button.text() == "" and header.review_button.toolTip() == (
        "Is this Fluffy? Review…"
    )
    assert header.review_button.accessibleName() == "Is this Fluffy? Review…"
    window.resize(1400, window.height())  # with room, the buttons say what they do
    qtbot.waitUntil(lambda: header.review_button.text() == "Is this Fluffy? Review…")
    assert header.answers_button.text() == "Examples and answers…"
    bar = window.search_bar  # the whole Match control is greyed out, its value too
    assert not any(w.isEnabled() for w in (bar.slider, bar.match_label, bar.cutoff_label))
    assert "Fluffy's own threshold" in bar.match_label.toolTip()
    window.search_bar.by_date_button.click()
    dates = [i.when for i in window.model.items()]  # examples outside the library too
    assert all(dates) and dates == sorted(dates, reverse=True)
    header.review_button.click()  # review from the page, not only from the concept's menu
    dialog = window.findChild(ReviewDialog)
    assert dialog is not None and dialog.name == "Fluffy"
    qtbot.waitUntil(lambda: len(dialog.photos) == BATCH, timeout=WAIT_MS)
    dialog.reject()
    window.search_bar.search_for("beach")  # a search leaves the page
    assert not header.isVisible() and window.album_name is None
    wait_idle(qtbot, window)


def test_examples_and_answers_are_listed_and_removable(qtbot, world_home, world_window):
    setup, window = world_home[0], world_window
    stranger = next(p for p, o in zip(setup.gallery, setup.world.owners, strict=True) if o < 0)
    window.album.answer("Fluffy", [stranger], False)
    window.refresh_concepts()
    panel = window.side.concepts
    qtbot.waitUntil(lambda: "1 said no" in panel.item(0).toolTip(), timeout=WAIT_MS)
    dialog = window.open_answers("Fluffy")
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert texts[0] == "Examples (5)" and "Said yes (0)" in texts and "Said no (1)" in texts
    row = next(
        i
        for i in range(dialog.list.count())
        if dialog.list.item(i).data(PATH_ROLE) == str(stranger.resolve())
    )
    assert dialog.list.item(row).text() == f"{stranger.name}\n{stranger.resolve().parent}"
    qtbot.waitUntil(lambda: not dialog.list.item(row).icon().isNull(), timeout=WAIT_MS)
    dialog.list.setCurrentRow(row)
    dialog.list.setFocus()
    qtbot.keyClick(dialog.list, Qt.Key.Key_Delete)  # the Remove button, by key
    qtbot.waitUntil(lambda: "is re-tuned" in dialog.note.text(), timeout=WAIT_MS)
    assert window.album.concepts.get("Fluffy").negatives == []
    assert "Said no (0)" in [dialog.list.item(i).text() for i in range(dialog.list.count())]
    qtbot.waitUntil(lambda: "0 said no" in panel.item(0).toolTip(), timeout=WAIT_MS)
    wait_idle(qtbot, window)


def test_the_review_strip_lays_out_thumbnails_that_load_late(qtbot, world_window):
    dialog = world_window.open_review("Fluffy")
    qtbot.waitUntil(lambda: len(dialog.photos) == BATCH, timeout=WAIT_MS)
    strip = dialog.strip
    items = [strip.item(row) for row in range(strip.count())]
    qtbot.waitUntil(lambda: not any(item.icon().isNull() for item in items), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tiled(strip), timeout=WAIT_MS)  # the re-layout may be delayed
    dialog.reject()
    wait_idle(qtbot, world_window)


def test_after_a_batch_the_dialog_offers_the_next_one_asked_with_the_retuned_concept(
    qtbot, world_window
):
    dialog = world_window.open_review("Fluffy")
    qtbot.waitUntil(lambda: len(dialog.photos) == BATCH, timeout=WAIT_MS)
    first = list(dialog.photos)
    for key in [Qt.Key.Key_Y, Qt.Key.Key_N] * (BATCH // 2):
        qtbot.keyClick(dialog, key)
    assert dialog.isVisible() and not dialog.more_button.isEnabled()  # re-tuning
    qtbot.waitUntil(dialog.more_button.isEnabled, timeout=WAIT_MS)
    _, members = world_window.album.concept_photos("Fluffy")
    assert f"its album holds {len(members)} photos" in dialog.view.note
    dialog.more_button.click()
    qtbot.waitUntil(lambda: len(dialog.photos) == BATCH, timeout=WAIT_MS)
    assert not set(dialog.photos) & set(first)  # none asked about again
    assert "(1 of 10)" in dialog.question.text() and dialog.buttons["yes"].isEnabled()
    dialog.reject()
    wait_idle(qtbot, world_window)


def test_closing_mid_batch_records_the_answers_given_so_far(qtbot, world_window):
    dialog = world_window.open_review("Fluffy")
    qtbot.waitUntil(lambda: len(dialog.photos) == BATCH, timeout=WAIT_MS)
    yes, no = dialog.photos[0], dialog.photos[2]
    for key in (Qt.Key.Key_Y, Qt.Key.Key_S, Qt.Key.Key_N):
        qtbot.keyClick(dialog, key)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    wait_idle(qtbot, world_window)
    concept = world_window.album.concepts.get("Fluffy")
    assert [r["path"] for r in concept.confirmed] == [str(yes.resolve())]
    assert [r["path"] for r in concept.negatives] == [str(no.resolve())]


def test_a_photo_indexed_while_the_album_shows_joins_it_there(qtbot, world_window, tmp_path):
    window = world_window
    window.show_album("Fluffy")
    qtbot.waitUntil(lambda: "Fluffy ·" in window.count_label.text(), timeout=WAIT_MS)
    before = len(window.model.items())
    _, members = window.album.concept_photos("Fluffy")
    new = tmp_path / "new photos"
    new.mkdir()
    found = next(m for m in members if m.state == "auto")  # not an example: its copy is found
    (new / "fluffy again.png").write_bytes(found.path.read_bytes())
    window.add_folders([new])
    qtbot.waitUntil(lambda: len(window.model.items()) == before + 1, timeout=WAIT_MS)
    assert window.album_name == "Fluffy" and window.album_header.isVisible()
    assert (new / "fluffy again.png") in [i.path for i in window.model.items()]
    assert not window.search_bar.slider.isEnabled()  # still the album, not a search
    wait_idle(qtbot, window)


def test_a_review_closed_before_its_photos_arrive_ignores_them(qtbot, world_window):
    dialog = world_window.open_review("Fluffy")  # its batch is still being chosen
    close_until_deleted(qtbot, dialog)
    wait_idle(qtbot, world_window)  # no error comes of the late batch


def test_answers_closed_while_a_removal_retunes_ignore_its_end(qtbot, world_window):
    dialog = world_window.open_answers("Fluffy")
    dialog.list.setCurrentRow(1)  # the first example
    dialog.remove_button.click()
    close_until_deleted(qtbot, dialog)
    wait_idle(qtbot, world_window)
    assert len(world_window.album.concepts.get("Fluffy").photos) == 4  # the removal holds,
    panel = world_window.side.concepts  # and the window hears of it
    qtbot.waitUntil(lambda: panel.item(0).text() == "Fluffy\ncat · 4 examples", timeout=WAIT_MS)
