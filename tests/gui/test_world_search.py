"""The app's search bar finds a learned concept's photos (world model, learned "Fluffy")."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import WAIT_MS
from tests.world_search import OWN, owned


def test_typing_the_name_puts_its_photos_first(qtbot, world_home, world_window):
    window = world_window
    qtbot.keyClicks(window.search_bar.field, "Fluffy")
    qtbot.keyClick(window.search_bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: bool(window.model.items()) and window.model.item(0).score is not None,
        timeout=WAIT_MS,
    )
    top = [item.path for item in window.model.items()[:OWN]]
    assert owned(world_home[0], top) >= 5
