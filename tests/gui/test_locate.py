""" "Where is Fluffy?" in the preview: each concept outlined in its own colour (world model)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from fluffy_desktop.gui.preview import COLOURS, masks_image
from tests.gui.conftest import WAIT_MS
from tests.world_search import CAT

DOG = 1  # the world's dog, learned in a test as "Rexo"
SMALL_SCREEN_ROOM = 720  # what the preview may take of an 800 × 600 screen (9/10)


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    data = np.frombuffer(image.constBits(), dtype=np.uint8)
    return data.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width()]


def _outlined(image: QImage, colour: tuple[int, int, int]) -> int:
    """How many overlay pixels are drawn opaque in this colour."""
    pixels = _pixels(image)
    return int(((pixels[..., :3] == colour).all(-1) & (pixels[..., 3] == 255)).sum())


def _search_and_locate(qtbot, window, query: str, row: int):
    window.search_bar.search_for(query)
    qtbot.waitUntil(lambda: window.query == query and not window.jobs.busy(), timeout=WAIT_MS)
    window.open_preview(row)
    preview = window.preview
    qtbot.waitUntil(lambda: preview.view.image is not None, timeout=WAIT_MS)
    preview.locate_button.click()
    qtbot.waitUntil(lambda: bool(preview.located), timeout=WAIT_MS)
    return preview


def _row_of(window, path) -> int:
    paths = [item.path.resolve() for item in window.model.items()]
    return paths.index(path.resolve())


def test_fluffy_is_outlined_and_the_heat_map_is_a_toggle(qtbot, world_home, world_window):
    setup, window = world_home[0], world_window
    photo = setup.gallery[setup.world.target(CAT, "sofa")]
    window.search_bar.search_for("Fluffy")
    qtbot.waitUntil(lambda: window.query == "Fluffy" and not window.jobs.busy(), timeout=WAIT_MS)
    preview = _search_and_locate(qtbot, window, "Fluffy", _row_of(window, photo))
    assert preview.locate_button.text() == "Where is Fluffy?"
    assert "Fluffy" in preview.found_label.text() and "not in" not in preview.found_label.text()
    assert _outlined(preview.view.overlay, COLOURS[0]) > 50
    preview.heat_box.setChecked(True)
    assert _outlined(preview.view.overlay, COLOURS[0]) == 0
    preview.heat_box.setChecked(False)
    assert _outlined(preview.view.overlay, COLOURS[0]) > 50
    preview.locate_button.click()
    assert preview.view.overlay is None and preview.found_label.text() == ""


def test_two_concepts_get_two_colours_and_an_absent_one_says_so(qtbot, world_home, world_window):
    setup, window = world_home[0], world_window
    window.album.learn("Rexo", "dog", setup.shots[DOG])
    window.refresh_concepts()
    photo = setup.gallery[setup.world.target(CAT, "grass")]
    window.search_bar.search_for("Fluffy and Rexo")
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=WAIT_MS)
    preview = _search_and_locate(qtbot, window, "Fluffy and Rexo", _row_of(window, photo))
    assert preview.locate_button.text() == "Where are Fluffy and Rexo?"
    assert [where.target for where in preview.located] == ["Fluffy", "Rexo"]
    assert "Rexo: not in this photo" in preview.found_label.text()
    assert _outlined(preview.view.overlay, COLOURS[0]) > 50
    assert _outlined(preview.view.overlay, COLOURS[1]) == 0
    assert preview.minimumSizeHint().width() <= SMALL_SCREEN_ROOM  # the bar still fits


def test_each_mask_is_outlined_in_its_own_colour_over_a_shade():
    first, second = np.zeros((60, 90), bool), np.zeros((60, 90), bool)
    first[10:30, 10:30] = True
    second[20:50, 50:80] = True
    pixels = _pixels(masks_image([first, second]))
    assert tuple(pixels[10, 10]) == (*COLOURS[0], 255)  # on the first outline
    assert tuple(pixels[49, 79]) == (*COLOURS[1], 255)  # on the second
    assert tuple(pixels[20, 20, :3]) == COLOURS[0] and pixels[20, 20, 3] < 128  # a soft tint
    assert pixels[5, 45, 3] > 0 and tuple(pixels[5, 45, :3]) == (0, 0, 0)  # shade elsewhere
