"""The app's search bar finds a learned concept's photos (world model, learned "Fluffy")."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import WAIT_MS, close_album, open_window, wait_idle
from tests.world_search import OWN, copy_home, owned


def test_typing_the_name_puts_its_photos_first(qtbot, world_home, tmp_path):
    setup, home = world_home
    album = copy_home(home, tmp_path / "home")
    try:
        window = open_window(qtbot, album)
        wait_idle(qtbot, window)
        qtbot.keyClicks(window.search_bar.field, "Fluffy")
        qtbot.keyClick(window.search_bar.field, Qt.Key.Key_Return)
        qtbot.waitUntil(
            lambda: bool(window.model.items()) and window.model.item(0).score is not None,
            timeout=WAIT_MS,
        )
        top = [item.path for item in window.model.items()[:OWN]]
        assert owned(setup, top) >= 5
    finally:
        close_album(album)
