"""A photo's regions: its four quarters, each at the model's full input size."""

from __future__ import annotations

import numpy as np
from PIL import Image

from fluffy_desktop.engine.regions import (
    ALBUM_WEIGHT,
    REGIONS,
    album_scores,
    decode_side,
    region_crops,
    with_regions,
)


def test_the_regions_are_the_quarters_in_reading_order():
    photo = Image.new("RGB", (400, 300))
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    for (left, top), colour in zip([(0, 0), (200, 0), (0, 150), (200, 150)], colours, strict=True):
        photo.paste(colour, (left, top, left + 200, top + 150))
    crops = region_crops(photo, 64)
    assert len(crops) == REGIONS and all(crop.size == (64, 64) for crop in crops)
    for crop, colour in zip(crops, colours, strict=True):
        assert tuple(np.asarray(crop)[32, 32]) == colour


def test_photos_are_decoded_large_enough_for_full_size_regions():
    assert decode_side(224) == 448


def test_a_photo_scores_by_its_best_part_shifted_to_the_photos_scale():
    query = np.array([1.0, 0.0])
    regions = {7: np.array([[0.0, 1.0], [0.9, 0.1]]), 8: np.array([[0.5, 0.0]] * 4)}
    scores = with_regions([7, 8, 9], np.array([0.2, 0.4, 0.5]), regions, query)
    # the regions' best (0.9, 0.5) average 0.7, the photos' own (0.2, 0.4) 0.3: a shift of 0.4
    np.testing.assert_allclose(scores, [0.5, 0.4, 0.5], atol=1e-6)


def test_an_album_score_joins_the_photo_and_its_best_quarter():
    query = np.array([1.0, 0.0])
    quarters = np.array([[0.2, 0.9], [0.8, 0.6], [0.1, 0.9], [0.0, 1.0]])
    scores = album_scores(np.array([0.5, 0.4]), [quarters, None], query)
    # the second photo has no regions yet: it keeps its own score
    joined = (0.5 + ALBUM_WEIGHT * 0.8) / (1 + ALBUM_WEIGHT)
    np.testing.assert_allclose(scores, [joined, 0.4], rtol=1e-6)
