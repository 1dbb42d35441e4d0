"""Localisation: the heat map of a query peaks where the photo shows it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fluffy_desktop.engine.localise import MAX_COARSE, heatmap, windows_searched


def _object(side: int) -> Image.Image:
    """A distinctive striped red square with a yellow disc."""
    image = Image.new("RGB", (side, side), (240, 40, 40))
    draw = ImageDraw.Draw(image)
    for offset in range(0, 2 * side, 12):
        draw.line([(offset, 0), (0, offset)], fill=(20, 20, 240), width=4)
    draw.ellipse([side // 4, side // 4, 3 * side // 4, 3 * side // 4], fill=(255, 230, 0))
    return image


def _scene(size: tuple[int, int]) -> Image.Image:
    """A smooth green-blue gradient, nothing like the object."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    pixels = np.stack([40 + 60 * ys // height, 120 + 100 * xs // width, 160 + 0 * xs], axis=-1)
    return Image.fromarray(pixels.astype(np.uint8))


@pytest.mark.parametrize(
    ("size", "where"),
    [
        ((320, 240), (0, 0)),
        ((320, 240), (120, 80)),
        ((320, 240), (240, 160)),
        ((240, 320), (160, 0)),
        ((240, 320), (0, 240)),
    ],
)
def test_heat_peaks_over_the_object(tiny_clip, size, where):
    side = 80
    photo = _scene(size)
    thing = _object(side)
    photo.paste(thing, where)
    heat = heatmap(tiny_clip, photo, tiny_clip.encode_images([thing])[0])

    rows, cols = heat.shape
    assert heat.dtype == np.float32 and heat.min() == 0.0 and heat.max() == 1.0
    assert rows / cols == pytest.approx(size[1] / size[0], rel=0.1)
    row, col = np.unravel_index(heat.argmax(), heat.shape)
    peak_x, peak_y = (col + 0.5) * size[0] / cols, (row + 0.5) * size[1] / rows
    assert where[0] <= peak_x <= where[0] + side
    assert where[1] <= peak_y <= where[1] + side


def test_about_two_dozen_windows_inside_any_photo(tiny_clip):
    rng = np.random.default_rng(0)
    query = tiny_clip.encode_images([_object(40)])[0]
    for size in [(448, 448), (448, 336), (448, 100), (100, 448), (3, 2)]:
        noise = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        boxes, scores = windows_searched(tiny_clip, Image.fromarray(noise), query)
        assert len(boxes) == len(scores) <= MAX_COARSE + 12
        for left, top, side in boxes:
            assert left >= 0 and left + side <= size[0]
            assert top >= 0 and top + side <= size[1]


def test_a_flat_photo_gives_a_flat_map(tiny_clip):
    heat = heatmap(tiny_clip, Image.new("RGB", (64, 48), "grey"), np.ones(tiny_clip.dim))
    assert heat.shape == (12, 16)
    assert not heat.any()
