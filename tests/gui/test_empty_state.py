"""The empty states: their advice is laid out whole, at a small and at a usual window size."""

from __future__ import annotations

import pytest

from tests.gui.conftest import WAIT_MS

LONG_QUERY = "a very long query about a dog asleep on the sofa in the living room"


@pytest.mark.parametrize("size", [(1280, 800), (800, 600)])
def test_no_strong_matches_explains_itself_in_full(qtbot, window, size):
    window.resize(*size)
    window.search_bar.set_cutoff(0.99)
    window.search_bar.search_for(LONG_QUERY)
    empty = window.empty
    qtbot.waitUntil(lambda: empty.isVisible() and "0.99" in empty.advice.text(), timeout=WAIT_MS)
    qtbot.wait(10)  # the layout settles
    advice = empty.advice
    assert empty.title.text() == "No strong matches" and LONG_QUERY in advice.text()
    assert advice.wordWrap()
    assert advice.height() >= advice.heightForWidth(advice.width())  # no line cut or overlaid
    bottom = advice.mapTo(empty, advice.rect().bottomRight())
    assert empty.rect().contains(bottom)
    assert not advice.geometry().intersects(empty.button.geometry())
