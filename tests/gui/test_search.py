"""The main window: the library newest first, searching, the date toggle and the cut-off."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QMessageBox

from fluffy_desktop.gui.app import settings_for
from fluffy_desktop.gui.main_window import MainWindow
from fluffy_desktop.gui.search_bar import PLACEHOLDERS, SearchBar
from tests.gui.conftest import WAIT_MS, open_window, wait_idle


def test_library_shows_newest_first_and_search_field_has_focus(window, library):
    items = window.model.items()
    assert len(items) == len(library[1])
    assert [i.when for i in items] == sorted((i.when for i in items), reverse=True)
    assert all(i.score is None for i in items)
    assert QApplication.focusWidget() is window.search_bar.field
    assert window.count_label.text() == "24 photos"


def test_a_search_updates_the_grid_with_ranked_scores(qtbot, window, library):
    qtbot.keyClicks(window.search_bar.field, "a green ellipse")
    qtbot.keyClick(window.search_bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: bool(window.model.items()) and window.model.item(0).score is not None,
        timeout=WAIT_MS,
    )
    scores = [i.score for i in window.model.items()]
    assert len(scores) == len(library[1])
    assert scores == sorted(scores, reverse=True)
    assert window.count_label.text() == "24 of 24 matches"

    window.search_bar.by_date_button.click()
    dates = [i.when for i in window.model.items()]
    assert all(dates) and dates == sorted(dates, reverse=True)

    window.search_bar.set_cutoff((scores[0] + scores[-1]) / 2)
    shown = window.model.items()
    assert 0 < len(shown) < len(scores)
    assert all(i.score >= window.search_bar.cutoff() for i in shown)

    assert scores[0] < 0.5  # (the tiny model's text-image similarities are small)
    window.search_bar.set_cutoff(0.5)
    assert window.content.currentWidget() is window.empty
    assert "No strong matches" in window.empty.title.text()
    window.empty.button.click()  # "Show all matches"
    assert window.search_bar.cutoff() is None and window.model.rowCount() == len(scores)

    window.search_bar.field.clear()  # back to the whole library, newest first
    qtbot.waitUntil(
        lambda: window.model.rowCount() == 24 and window.model.item(0).score is None,
        timeout=WAIT_MS,
    )


def test_find_similar_puts_the_photo_first(qtbot, window, library):
    photo = library[1][5]
    window.find_similar(photo)
    qtbot.waitUntil(
        lambda: window.model.rowCount() > 0 and window.model.item(0).score is not None,
        timeout=WAIT_MS,
    )
    assert window.query == str(photo)
    assert window.model.item(0).path == photo
    assert window.model.item(0).score > 0.99


def test_a_bad_query_is_a_short_message_not_a_traceback(qtbot, window):
    window.search_bar.search_for("-cats")
    qtbot.waitUntil(lambda: bool(window.findChildren(QMessageBox)), timeout=WAIT_MS)
    box = window.findChildren(QMessageBox)[0]
    # the parser's own message, not "Something went wrong (…)" from a crash
    assert box.text() == "the query asks for nothing: add what to look for, e.g. 'beach -sunset'"
    assert window.content.currentWidget() is window.empty


def test_the_window_remembers_its_geometry_and_view(qtbot, indexed):
    first = open_window(qtbot, indexed)
    size = (first.minimumSizeHint().width() + 20, 520)  # fits the offscreen 800 × 600 screen
    first.resize(*size)
    first.search_bar.set_cutoff(0.3)
    first.search_bar.by_date_button.setChecked(True)
    wait_idle(qtbot, first)
    first.close()
    second = MainWindow(indexed, settings_for(indexed), scan_at_start=False)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == size
    assert second.search_bar.cutoff() == 0.3
    assert second.search_bar.by_date()


def test_at_a_first_start_the_window_fits_the_screen(qtbot, window):
    room = window.screen().availableGeometry()  # the offscreen screen is 800 × 600
    assert window.frameGeometry().width() <= room.width()
    assert window.frameGeometry().height() <= room.height()  # the status bar's counts show
    assert room.contains(window.frameGeometry())  # and all of it is on the screen, centred
    assert abs(window.frameGeometry().center().x() - room.center().x()) <= 4  # frame: 2 px
    toolbar = window.toolbar  # its buttons show, as icons, rather than behind the "»" overflow
    assert toolbar.widgetForAction(window.new_concept_action).isVisible()
    assert toolbar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
    window.resize(1280, window.height())
    assert toolbar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon


def test_a_narrow_search_field_shows_a_shorter_hint_that_fits(qtbot):
    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.resize(1100, 40)
    bar.show()
    qtbot.waitExposed(bar)
    assert bar.field.placeholderText() == PLACEHOLDERS[0]
    bar.resize(560, 40)
    qtbot.waitUntil(lambda: bar.field.placeholderText() != PLACEHOLDERS[0], timeout=WAIT_MS)
    hint = bar.field.placeholderText()
    assert "Fluffy on the sofa" in hint
    assert bar.field.fontMetrics().horizontalAdvance(hint) < bar.field.width()


def _highlighted_share(button) -> float:
    """The share of the button's pixels painted in the (active) highlight colour."""
    image = button.grab().toImage()
    on = button.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    target = on.getRgb()[:3]
    size = range(image.width()), range(image.height())
    pixels = [image.pixelColor(x, y).getRgb()[:3] for x in size[0] for y in size[1]]
    near = [max(abs(a - b) for a, b in zip(p, target, strict=True)) < 24 for p in pixels]
    return sum(near) / len(pixels)


def test_the_date_toggle_shows_plainly_when_it_is_on(qtbot):
    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.show()
    qtbot.waitExposed(bar)
    button = bar.by_date_button
    assert _highlighted_share(button) < 0.05
    button.click()
    assert button.isChecked() and _highlighted_share(button) > 0.5
    button.setEnabled(False)  # the library is always newest first
    assert _highlighted_share(button) < 0.05
